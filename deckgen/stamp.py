"""Knowing, without building, that a build would change nothing.

After each build, `build/.cache/stamp-….json` records a fingerprint of
everything the build read (deck files, settings, identity files, the images
it bundled, the code of deckgen and of its renderers) and what it wrote. If
all of that is the same next time, the outputs are up to date: the command
line says so and writes nothing, without loading Markdown or genanki.
Only the standard library is used here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

RENDERERS = ("genanki", "markdown", "pymdownx", "pygments", "bs4")


def stamp_path(source: Path, out_dir: Path) -> Path:
    key = hashlib.sha256(str(source.resolve()).encode("utf-8")).hexdigest()[:12]
    return out_dir / ".cache" / f"stamp-{key}.json"


def sources_fingerprint(source: Path, out_dir: Path) -> str:
    """Hash of the files an author writes (decks, settings) and of the code that reads them.

    A build takes it before reading anything, so a deck saved while the build
    runs makes the next check see a change.
    """
    return _hash(code_signature(), _files(source, out_dir, (".md", ".deck.toml")))


def _written_fingerprint(source: Path, out_dir: Path, media: list[str]) -> str:
    """Hash of the identity files (which builds write) and of the images the last build bundled."""
    return _hash("", _files(source, out_dir, (".identity.jsonl",)) + [Path(m) for m in media])


def _files(source: Path, out_dir: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if source.is_file():
        return [source.with_name(source.stem + suffix) for suffix in suffixes]
    return sorted(path for suffix in suffixes for path in source.rglob("*" + suffix)
                  if out_dir.resolve() not in path.resolve().parents)


def _hash(start: str, files: list[Path]) -> str:
    digest = hashlib.sha256(start.encode("utf-8"))
    for path in files:
        digest.update(str(path).encode("utf-8") + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing\0")
    return digest.hexdigest()


def write_stamp(source: Path, out_dir: Path, sources: str, media: list[str], outputs: list[Path],
                lines: list[str], warnings: list[str]) -> None:
    """Record what a successful build read (`sources`: its fingerprint taken before reading) and wrote.

    Best effort: without a stamp the next build is only slower.
    """
    from .files import atomic_write

    record = {"sources": sources, "written": _written_fingerprint(source, out_dir, media), "media": media,
              "outputs": {str(p): _signature(p) for p in outputs}, "lines": lines, "warnings": warnings}
    try:
        atomic_write(stamp_path(source, out_dir), json.dumps(record, ensure_ascii=False).encode("utf-8"))
    except OSError:
        pass


def up_to_date(source: Path, out_dir: Path) -> dict | None:
    """The last build's record if nothing it read or wrote has changed since; else None."""
    try:
        record = json.loads(stamp_path(source, out_dir).read_text(encoding="utf-8"))
        if any(_signature(Path(p)) != signature for p, signature in record["outputs"].items()):
            return None
        if record["written"] != _written_fingerprint(source, out_dir, record["media"]) \
                or record["sources"] != sources_fingerprint(source, out_dir):
            return None
        return record
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _signature(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]
    except OSError:
        return None


@functools.cache
def code_signature() -> str:
    """Changes whenever deckgen or a library that shapes its output is upgraded or reinstalled.

    Each package folder's identity and time stand in for its version: an
    upgrade or reinstall replaces files, which changes the folder's time.
    Far cheaper than reading package metadata, and never stale. deckgen's
    own files are checked one by one, since editing one in place leaves the
    folder's time alone.
    """
    from . import __version__

    parts = [__version__, sys.version]
    for module in ("deckgen", *RENDERERS):
        spec = importlib.util.find_spec(module)
        try:
            folder = Path(spec.origin).parent
            files = sorted(folder.glob("*.py")) if module == "deckgen" else [folder]
            parts.append(f"{module}:" + ",".join(f"{p.name}={s.st_ino}/{s.st_size}/{s.st_mtime_ns}"
                                                 for p in files for s in [p.stat()]))
        except (OSError, AttributeError, TypeError):
            parts.append(f"{module}:?")
    return "|".join(parts)
