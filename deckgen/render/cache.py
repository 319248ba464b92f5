"""Rendered HTML kept between builds, so a rebuild renders only what changed.

One SQLite file per library in the cache folder (see `places`), safe to delete. An entry is
keyed by the text, whether it is a question line, and the deck's folder; the
whole cache by the library's root and by the code of deckgen and of every
library that shapes the HTML (`code_signature`), so an upgrade, a reinstall
or an edit of an installed file starts it afresh. Entries are opaque here:
`render.pool` decides what they hold and when one is still good.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import sys
from pathlib import Path

from ..hashing import digest
from ..places import render_cache_path
from ..sources.library import Library

RENDER_VERSION = 5  # 2: Obsidian syntax, front matter and #tags; 3: every field cleaned by one allowlist (0.3);
# 4: Obsidian's %%comments%% and ^block-ids hidden, a scheme-relative link saying https: (0.3.2);
# 5: read as CommonMark reads it: any punctuation escaped, HTML blocks ending at a blank line, tables at a heading
"""Raised on purpose when deckgen's HTML changes in a way that should reach existing cards: the next
build then says how many notes would look different, and `deckgen build --rerender` updates them."""
# The libraries that shape the HTML, by module and distribution name.
RENDERERS = {"markdown": "markdown", "pymdownx": "pymdown_extensions", "pygments": "pygments",
             "nh3": "nh3", "tinycss2": "tinycss2", "regex": "regex", "pyromark": "pyromark"}

Entry = str | tuple[str, str]
"""HTML alone (most texts), or (HTML, JSON of what else the render found)."""


class RenderCache:
    """The render cache, an SQLite file; `path` None keeps nothing between builds.

    A build loads every entry in one query (far faster than one a text); what
    it adds is written by `save`, after the build succeeded.
    """

    def __init__(self, path: Path | None, salt: str):
        self.path = path
        self.salt = digest(f"{salt}|{code_signature()}")
        self.new: dict[str, Entry] = {}
        self.used: set[str] = set()
        self._stored: dict[str, Entry] = {}
        if path is not None and path.exists():
            import sqlite3  # only a build that renders needs it

            try:
                with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                    if db.execute("select value from meta where name = 'salt'").fetchone() == (self.salt,):
                        self._stored = dict(db.execute("select key, html from entries where extra is null"))
                        self._stored.update((key, (html, extra)) for key, html, extra in db.execute(
                            "select key, html, extra from entries where extra is not null"))
            except sqlite3.Error:
                pass  # a damaged cache is an empty one

    def get(self, key: str) -> Entry | None:
        self.used.add(key)
        return self._stored.get(key)

    def put(self, key: str, entry: Entry) -> None:
        self.new[key] = self._stored[key] = entry
        self.used.add(key)

    def forget(self, key: str) -> None:
        """An entry that turned out stale is not kept."""
        self.used.discard(key)

    def save(self) -> None:
        """Add what this build rendered, drop what it no longer uses; best effort (a cache can always go)."""
        if self.path is None:
            return
        import sqlite3

        for _ in range(2):
            try:
                self._write()
                return
            except sqlite3.DatabaseError:  # not a database (any more): start it afresh
                self.path.unlink(missing_ok=True)
            except (OSError, sqlite3.Error):
                return

    def _write(self) -> None:
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            db.execute("create table if not exists meta (name text primary key, value text)")
            db.execute("create table if not exists entries (key text primary key, html text, extra text)")
            if db.execute("select value from meta where name = 'salt'").fetchone() != (self.salt,):
                db.execute("delete from entries")
                db.execute("insert or replace into meta values ('salt', ?)", (self.salt,))
            db.executemany("insert or replace into entries values (?, ?, ?)",
                           ((key, entry, None) if type(entry) is str else (key, *entry)
                            for key, entry in self.new.items()))
            stored = db.execute("select count(*) from entries").fetchone()[0]
            if stored > 2 * len(self.used) + 100:  # now and then, forget what no note uses any more
                db.execute("create temp table used (key text primary key)")
                db.executemany("insert or ignore into used values (?)", ((key,) for key in self.used))
                db.execute("delete from entries where key not in (select key from used)")


def library_cache(library: Library) -> RenderCache:
    """The render cache of `library`: kept only for a build into an output folder (`check` with no output
    folder keeps nothing); its entries good for this image size limit alone (it decides which images a card
    holds)."""
    return RenderCache(render_cache_path(library.root) if library.output else None,
                       f"{library.root.resolve()}|{library.settings.max_image_bytes}")


def cache_key(folder: str, text: str, inline: bool) -> str:
    return digest(folder, "1" if inline else "0", text)


@functools.cache
def code_signature(modules: tuple[tuple[str, str], ...] = tuple(RENDERERS.items())) -> str:
    """Changes whenever deckgen's code or a library that shapes its output changes, however it is installed.

    deckgen's own files and those of a library installed for editing (or
    from a checkout) are checked one by one, so an edit in place counts; a
    library installed from a package is known by its install record, which
    every upgrade or reinstall replaces. Far cheaper than hashing code or
    reading package metadata, and never stale.
    """
    parts = [sys.version]
    for module, distribution in (("deckgen", ""), *modules):
        spec = importlib.util.find_spec(module)
        try:
            folder = Path(spec.origin).parent
            parts.append(f"{module}:" + ",".join(f"{os.path.relpath(p, folder)}={s.st_ino}/{s.st_size}/{s.st_mtime_ns}"
                                                 for p in _code_files(distribution, folder) for s in [p.stat()]))
        except (OSError, AttributeError, TypeError):
            parts.append(f"{module}:?")
    return "|".join(parts)


def _code_files(distribution: str, folder: Path) -> list[Path]:
    """The files whose change must start the cache afresh: each source file where edits may happen in
    place (deckgen, an editable install), else the install's RECORD file and the package's folder."""
    prefix = distribution.lower() + "-"
    records = sorted(p / "RECORD" for p in folder.parent.glob("*.dist-info")
                     if distribution and p.name.lower().replace(".", "_").startswith(prefix))
    if records and records[-1].is_file() and not _editable(records[-1].parent):
        return [records[-1], folder]
    return sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".css") and p.is_file())


def _editable(dist_info: Path) -> bool:
    try:
        return json.loads((dist_info / "direct_url.json").read_text()).get("dir_info", {}).get("editable", False)
    except (OSError, ValueError, AttributeError):
        return False
