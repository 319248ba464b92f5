"""Rendered HTML kept between builds, so a rebuild renders only what changed.

The cache lives in build/.cache/<deck>.sqlite and is safe to delete. An entry is keyed by
the text, whether it is a question line, the deck's folder and the versions
of everything that shapes the HTML; an entry whose images changed on disk
is not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path

import msgspec

from .media import MediaRef, MediaResolver

PARALLEL_MIN = 1500  # texts to render before a second process pays for its start
CHUNK = 250


class RenderedText(msgspec.Struct, frozen=True):
    """HTML made from some Markdown, with the images it shows and what was removed for safety."""

    html: str
    media: tuple[MediaRef, ...] = ()
    """Every local image the text names, bundled or not."""
    removed: tuple[str, ...] = ()
    """What the sanitizer removed (see `sanitize`)."""
    timed_out: bool = False
    """It took too long to render (see `render.TIME_LIMIT`), and is shown as plain text."""


class RenderCache:
    """The cache of one deck, an SQLite file; `path` None keeps nothing between builds.

    A build loads every entry in one query (far faster than one a text);
    new ones are written by `save`, after the build succeeded.
    """

    def __init__(self, path: Path | None, folder: Path, resolver: MediaResolver):
        self.path = path
        self.folder, self.resolver = folder, resolver
        self.salt = _salt(folder, resolver)
        self.new: dict[str, str | tuple[str, str]] = {}
        self.used: set[str] = set()
        self._stored: dict[str, str | tuple[str, str]] = {}  # HTML, or (HTML, JSON of images and removals)
        if path is not None and path.exists():
            try:
                with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                    if db.execute("select value from meta where name = 'salt'").fetchone() == (self.salt,):
                        self._stored = dict(db.execute("select key, html from entries where extra is null"))
                        self._stored.update((key, (html, extra)) for key, html, extra in db.execute(
                            "select key, html, extra from entries where extra is not null"))
            except sqlite3.Error:
                pass  # a damaged cache is an empty one

    def render_all(self, texts: list[tuple[str, bool]], renderer, progress=None) -> list[RenderedText | None]:
        """Each (text, inline) rendered, from the cache where possible; None where it nests too deep."""
        keys = [_key(text, inline) for text, inline in texts]
        results: list[RenderedText | None] = [self._get(key) for key in keys]
        missing = [i for i, result in enumerate(results) if result is None]
        total = len(texts)
        if progress:
            progress(total - len(missing), total)
        for index, result in zip(missing, _render(renderer, [texts[i] for i in missing], progress, total - len(missing),
                                                  total)):
            results[index] = result
            if result is not None:
                self.new[keys[index]] = self._stored[keys[index]] = _to_entry(result)
        self.used.update(keys)
        self.used.difference_update(keys[i] for i in missing if results[i] is None)
        return results

    def save(self) -> None:
        """Add what this build rendered, drop what it no longer uses; best effort (a cache can always go)."""
        if self.path is None:
            return
        for _ in range(2):
            try:
                self._write()
                return
            except sqlite3.DatabaseError:  # not a database (any more): start it afresh
                self.path.unlink(missing_ok=True)
            except (OSError, sqlite3.Error):
                return

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            db.execute("create table if not exists meta (name text primary key, value text)")
            db.execute("create table if not exists entries (key text primary key, html text, extra text)")
            if db.execute("select value from meta where name = 'salt'").fetchone() != (self.salt,):
                db.execute("delete from entries")
                db.execute("insert or replace into meta values ('salt', ?)", (self.salt,))
            db.executemany("insert or replace into entries values (?, ?, ?)",
                           (_row(key, entry) for key, entry in self.new.items()))
            stored = db.execute("select count(*) from entries").fetchone()[0]
            if stored > 2 * len(self.used) + 100:  # now and then, forget what no note uses any more
                db.execute("create temp table used (key text primary key)")
                db.executemany("insert or ignore into used values (?)", ((key,) for key in self.used))
                db.execute("delete from entries where key not in (select key from used)")

    def _get(self, key: str) -> RenderedText | None:
        entry = self._stored.get(key)
        if entry is None:
            return None
        if type(entry) is str:  # most texts: HTML alone
            return RenderedText(entry)
        result = _from_entry(entry)
        if result is None:
            return None
        for ref in result.media:  # an image changed, appeared or went since: render again
            if not self.resolver.still_valid(ref, self.folder):
                return None
        return result


def _key(text: str, inline: bool) -> str:
    return hashlib.sha256((("1\x1f" if inline else "0\x1f") + text).encode("utf-8")).hexdigest()


def _render(renderer, texts: list[tuple[str, bool]], progress, done: int, total: int):
    """Render texts in this process, or in two when there are many; same results either way."""
    workers = min(os.cpu_count() or 1, 4)
    if len(texts) < PARALLEL_MIN or workers < 2:
        for number, (text, inline) in enumerate(texts, start=1):
            yield _render_one(renderer, text, inline)
            if progress and number % CHUNK == 0:
                progress(done + number, total)
        return
    import multiprocessing  # only big renders pay for loading these
    from concurrent.futures import ProcessPoolExecutor

    chunks = [texts[i:i + CHUNK] for i in range(0, len(texts), CHUNK)]
    # Spawned, not forked: a forked worker would inherit the project lock and, if the build were
    # killed, hold it on; a spawned one starts clean and ends when the build does.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [(renderer.folder, renderer.resolver.root, renderer.resolver.size_limit, c) for c in chunks]
        for chunk, results in zip(chunks, pool.map(_render_chunk, jobs)):
            done += len(chunk)
            if progress:
                progress(done, total)
            yield from results


def _render_chunk(job: tuple[Path, Path, int, list[tuple[str, bool]]]) -> list[RenderedText | None]:
    from .render import MarkdownRenderer

    folder, root, size_limit, texts = job
    if (folder, root, size_limit) not in _WORKER_RENDERERS:
        _WORKER_RENDERERS[folder, root, size_limit] = MarkdownRenderer(folder, MediaResolver(root, size_limit))
    renderer = _WORKER_RENDERERS[folder, root, size_limit]
    return [_render_one(renderer, text, inline) for text, inline in texts]


_WORKER_RENDERERS: dict[tuple[Path, Path, int], object] = {}


def _render_one(renderer, text: str, inline: bool) -> RenderedText | None:
    try:
        return renderer.render(text, inline=inline)
    except RecursionError:
        return None


class _Extra(msgspec.Struct, frozen=True, array_like=True):
    media: tuple[MediaRef, ...]
    removed: tuple[str, ...]
    timed_out: bool


_EXTRA = msgspec.json.Decoder(_Extra)


def _to_entry(result: RenderedText) -> str | tuple[str, str]:
    """The HTML, or (HTML, JSON of the images and removals) for the few texts that have any."""
    if not result.media and not result.removed and not result.timed_out:
        return result.html
    extra = _Extra(result.media, result.removed, result.timed_out)
    return result.html, msgspec.json.encode(extra).decode("utf-8")


def _from_entry(entry: tuple[str, str]) -> RenderedText | None:
    """The text back from an entry that has images or removals (plain HTML needs no unpacking)."""
    html, extra = entry
    try:
        unpacked = _EXTRA.decode(extra)
    except msgspec.DecodeError:  # written by another version: as good as missing
        return None
    return RenderedText(html, unpacked.media, unpacked.removed, unpacked.timed_out)


def _row(key: str, entry: str | tuple[str, str]) -> tuple[str, str, str | None]:
    return (key, entry, None) if type(entry) is str else (key, *entry)


def _salt(folder: Path, resolver: MediaResolver) -> str:
    """Everything besides the text that decides the HTML: the deck's folder and what may be bundled
    (images), and the code, deckgen's own files one by one and the renderers' installs (see
    `stamp.code_signature`)."""
    from .stamp import code_signature

    parts = [str(folder.resolve()), str(resolver.root), str(resolver.size_limit), code_signature()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
