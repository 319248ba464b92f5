"""Where deckgen keeps what is neither notes nor packages: outside the notes folder and the output folder.

A cloned repository decides what its notes folder holds, and may commit its
output folder too (`build/`): nothing deckgen trusts lives in either.

Every path deckgen writes outside the notes folder is made here:

- The **state folder** (per user: `~/.local/state/deckgen` on Linux, as
  platformdirs says for each platform; `DECKGEN_STATE_DIR` overrides it)
  holds what this machine built and delivered, one file a library
  (`delivered_path`, see `identify.delivered`): deleting an output folder
  loses none of it.
- The **cache folder** (`~/.cache/deckgen`; `DECKGEN_CACHE_DIR`) holds the
  render cache and the build stamps (`render_cache_path`, `stamp_path`; see
  `render.cache`, `output.stamp`): safe to delete, only slower next time.
- An **output folder** holds packages (`<key>-<version>.apkg`, see
  `names.package_file_name`), changelogs (`changelog_path`), preview pages
  (`preview_path`), and `OUTPUT_MARKER`, so that a walk of the notes never
  reads it as notes; a library of deckgen 0.2 kept what it delivered there
  too (`legacy_delivered_paths`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DeckgenError
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


def is_output_folder(folder: Path, files: list[str], subfolders: list[str]) -> bool:
    """Whether deckgen built into `folder`, from the names a walk listed in it (its changelogs are Markdown, but no
    notes)."""
    return OUTPUT_MARKER in files or any(
        name.startswith(LEGACY_DELIVERED_PREFIX) and name.endswith(".jsonl") for name in files) or (
        LEGACY_CACHE_FOLDER in subfolders
        and any((folder / LEGACY_CACHE_FOLDER).glob(f"{LEGACY_STAMP_PREFIX}*.json")))


def changelog_path(out_dir: Path, key: str) -> Path:
    return out_dir / f"{key}.changelog.md"


def preview_path(out_dir: Path, slug: str) -> Path:
    return out_dir / f"{slug}-preview.html"


def delivered_path(root: Path) -> Path:
    """The file of what was built here from the library `root`."""
    return delivered_folder() / f"{library_tag(root)}.jsonl"


def delivered_folder() -> Path:
    return state_folder() / "delivered"


def legacy_delivered_paths(output: Path, root: Path) -> list[Path]:
    """Where deckgen 0.2 kept this library's file in `output`, then before it, the one library's."""
    return [output / f"{LEGACY_DELIVERED_PREFIX}-{library_tag(root)}.jsonl",
            output / f"{LEGACY_DELIVERED_PREFIX}.jsonl"]


def render_cache_path(root: Path) -> Path:
    """The render cache of the library `root`, in the cache folder."""
    return cache_folder() / f"render-{library_tag(root)}.sqlite"


def stamp_path(scope: Path, out_dir: Path) -> Path:
    """The stamp of the builds of a library's folder (or of one file, for a file's build) into `out_dir`."""
    return cache_folder() / "stamps" / f"{library_tag(scope)}-{library_tag(out_dir)}.json"
