"""Where deckgen keeps what is neither notes nor packages: outside the notes folder and the output folder.

A cloned repository decides what its notes folder holds, and may commit its
output folder too (`build/`): nothing deckgen trusts lives in either.

- The **state folder** (per user: `~/.local/state/deckgen` on Linux, as
  platformdirs says for each platform; `DECKGEN_STATE_DIR` overrides it)
  holds what this machine built and delivered, for each library (see
  `delivered`): deleting an output folder loses none of it.
- The **cache folder** (`~/.cache/deckgen`; `DECKGEN_CACHE_DIR`) holds the
  render cache and the build stamps (see `render_cache`, `stamp`): safe to
  delete, only slower next time.
- An **output folder** holds packages, changelogs and preview pages, and
  `OUTPUT_MARKER`, so that a walk of the notes never reads it as notes.
"""

from __future__ import annotations

import os
from pathlib import Path

from .hashing import digest

STATE_ENV, CACHE_ENV = "DECKGEN_STATE_DIR", "DECKGEN_CACHE_DIR"
OUTPUT_MARKER = ".deckgen-output"
OUTPUT_MARKER_TEXT = b"deckgen builds packages into this folder: it holds no notes, and is never read as notes.\n"
# What deckgen 0.2 kept in an output folder: a folder holding one of these is an output folder too, and
# `delivered` converts the first, once, into the state folder.
LEGACY_DELIVERED_PREFIX = ".deckgen-delivered"  # <prefix>-<library tag>.jsonl (0.2), <prefix>.jsonl (before)
LEGACY_CACHE_FOLDER = ".cache"  # the render cache and stamps, `stamp-….json` (0.1 and 0.2)
LEGACY_STAMP_PREFIX = "stamp-"


def state_folder() -> Path:
    return _folder(STATE_ENV, "user_state_dir")


def cache_folder() -> Path:
    return _folder(CACHE_ENV, "user_cache_dir")


def _folder(variable: str, kind: str) -> Path:
    given = os.environ.get(variable)
    if given:
        return Path(given)
    import platformdirs

    return Path(getattr(platformdirs, kind)("deckgen", appauthor=False))


def library_tag(root: Path) -> str:
    """A short name for the library `root` (resolved): its files in the state and cache folders are named by it."""
    return digest(str(root.resolve()), length=12)


def output_folder(folder: Path) -> Path:
    """`folder`, to write packages, changelogs or previews into: never a symbolic link (a cloned repository could
    make `build/` lead anywhere); DeckgenError otherwise."""
    from .errors import DeckgenError

    if folder.is_symlink():
        raise DeckgenError(f"{folder} is a symbolic link: deckgen writes only into a real folder (a cloned "
                           "repository could make build/ lead anywhere); name the folder it leads to with -o")
    return folder


def mark_output_folder(folder: Path) -> None:
    """Put the marker into an output folder that lacks it, in place and exclusively (never through a link, never
    over the one another build is writing): libraries building into one folder at once never touch each
    other's files. Its presence is what counts, so a build killed while writing it leaves a marker still."""
    try:
        descriptor = os.open(folder / OUTPUT_MARKER,
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "wb") as file:
        file.write(OUTPUT_MARKER_TEXT)


def same_path(path: Path) -> str:
    """`path` as the state folder keys it: absolute, `..` resolved, in the case the system compares."""
    return os.path.normcase(os.path.abspath(path))


def is_output_folder(folder: Path, names: list[str]) -> bool:
    """Whether deckgen built into `folder`, from the names a walk listed in it (its changelogs are Markdown, but no
    notes)."""
    return OUTPUT_MARKER in names or any(
        name.startswith(LEGACY_DELIVERED_PREFIX) and name.endswith(".jsonl") for name in names) or (
        LEGACY_CACHE_FOLDER in names
        and any((folder / LEGACY_CACHE_FOLDER).glob(f"{LEGACY_STAMP_PREFIX}*.json")))
