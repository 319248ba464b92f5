"""The one walk of a notes folder: which decks it holds, and reading each deck's text and settings.

build, check, diff, preview and the up-to-date check all see the same decks:
every `*.md` below the folder, outside hidden folders and outside the output
folder, with deck files linked from outside the folder skipped (with a
warning). A deck's key in the library is its path inside the folder, without
`.md`: the identity record files its notes under it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Diagnostic, SourceError

if TYPE_CHECKING:
    from .settings import DeckSettings

RECORD_FOLDER = ".deckgen"
LIBRARY_SETTINGS = "deckgen.toml"  # the notes folder's own settings, at its top (see `settings`)
SETTINGS_SUFFIX = ".deck.toml"  # notes.md has its settings in notes.deck.toml: the Markdown stays as written
LEGACY_RECORD_SUFFIX = ".identity.jsonl"  # deckgen 0.1 kept one identity file beside each deck
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f])  # not text, tab and line ends aside
CONTROL_RE = re.compile("[" + re.escape(CONTROL_BYTES.decode("ascii")) + "]")


@dataclass(frozen=True)
class DeckFile:
    """One deck's Markdown file in the library."""

    path: Path
    key: str
    """Its path inside the library's root, without `.md`, `/`-separated and in Unicode NFC."""
    display: str
    """How cards name it as their source: its path inside the root."""


@dataclass(frozen=True)
class DeckSource:
    """One deck's Markdown text, where it came from, and its settings."""

    file: DeckFile
    text: str
    settings: DeckSettings
    diagnostics: tuple[Diagnostic, ...] = ()
    """What reading it noticed (a settings file that was skipped)."""

    @property
    def path(self) -> Path:
        return self.file.path


@dataclass(frozen=True)
class Library:
    """A notes folder as one build sees it."""

    root: Path
    """The folder being built (for a single deck file, its folder): nothing outside it is read into a package."""
    decks: tuple[DeckFile, ...]
    """The decks this build covers, sorted by path."""
    single_file: bool
    """The build was asked for one deck file, not a folder."""
    record_path: Path
    """The library's identity record."""
    settings_path: Path
    """The notes folder's own settings file (`deckgen.toml`), which holds its namespace."""
    legacy_records: tuple[Path, ...]
    """Identity files deckgen 0.1 wrote beside the decks (read, converted, then removed)."""
    output: Path | None
    """The output folder, whose files are never decks."""
    diagnostics: tuple[Diagnostic, ...] = ()
    """Deck files skipped on the way."""


def find_library(source: Path, output: Path | None = None) -> Library:
    """The library `source` names: a folder of decks, or one deck file (a library of one deck)."""
    if source.is_file():
        if source.suffix != ".md":
            raise SourceError(source, 0, "not a deck: deck files are Markdown files ending in .md", "not-a-deck")
        root, found, legacy = source.parent, [source], [_legacy_record(source)]
    elif source.is_dir():
        root = source
        found, legacy = _walk(source, output)
    else:
        raise SourceError(source, 0, "no such file or folder", "no-source")
    decks, skipped = [], []
    for path in found:
        outside = link_outside(path, root)
        if outside:
            skipped.append(outside)
        else:
            decks.append(deck_file(path, root))
    legacy = [path for path in legacy if path.is_file()]
    skipped += [d for d in (link_outside(path, root) for path in legacy) if d]
    return Library(root=root, decks=tuple(decks), single_file=source.is_file(),
                   record_path=root / RECORD_FOLDER / "identity.jsonl", settings_path=root / LIBRARY_SETTINGS,
                   legacy_records=tuple(path for path in legacy if link_outside(path, root) is None),
                   output=output, diagnostics=tuple(skipped))


def deck_file(path: Path, root: Path) -> DeckFile:
    display = unicodedata.normalize("NFC", path.relative_to(root).as_posix())
    return DeckFile(path=path, key=display[:-len(".md")], display=display)


def legacy_deck_key(record: Path, root: Path) -> str:
    """The key of the deck a deckgen 0.1 identity file belongs to."""
    return unicodedata.normalize("NFC", record.relative_to(root).as_posix())[:-len(LEGACY_RECORD_SUFFIX)]


def _legacy_record(deck: Path) -> Path:
    return deck.with_name(deck.stem + LEGACY_RECORD_SUFFIX)


def _walk(root: Path, output: Path | None) -> tuple[list[Path], list[Path]]:
    """Deck files and deckgen 0.1 identity files below `root`: sorted, hidden folders and `output` left out."""
    excluded = Path(os.path.realpath(output)) if output is not None else None
    decks, legacy = [], []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith(".")
                               and (excluded is None or Path(os.path.realpath(here / name)) != excluded))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if name.endswith(LEGACY_RECORD_SUFFIX):
                legacy.append(here / name)
            elif name.endswith(".md") and (here / name).is_file():
                decks.append(here / name)
    return sorted(decks), sorted(legacy)


def link_outside(path: Path, root: Path) -> Diagnostic | None:
    """A warning when `path`, or a folder on the way to it, is a symbolic link to somewhere outside `root`
    (it is then not read)."""
    target = Path(os.path.realpath(path))
    if target.is_relative_to(os.path.realpath(root)):
        return None
    return Diagnostic(path, 0, f"skipped: a symbolic link to {target}, outside the notes folder "
                               f"{root}; only files inside it are read", code="link-outside")


def read_deck(file: DeckFile, root: Path) -> DeckSource:
    """One deck's Markdown and its settings; SourceError for a file that is not text."""
    path = file.path
    try:
        data = path.read_bytes()
        if b"\0" in data:
            raise SourceError(path, _line_of_offset(data, data.index(b"\0")),
                              "contains NUL bytes: a binary file, not Markdown text", "binary-file")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceError(path, _line_of_offset(data, err.start),
                          f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})",
                          "not-utf8") from None
    except OSError as err:
        raise SourceError(path, 0, f"cannot read: {err.strerror}", "unreadable") from None
    if b"\r" in data:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # These bytes are never part of a longer UTF-8 character: a check on the bytes (fast) is exact.
    control = CONTROL_RE.search(text) if len(data.translate(None, CONTROL_BYTES)) != len(data) else None
    if control:
        line_start = text.rfind("\n", 0, control.start()) + 1
        raise SourceError(path, text.count("\n", 0, control.start()) + 1,
                          f"control character U+{ord(control.group()):04X}: not text (Anki would also take U+001F "
                          "for a field separator)", "control-character", column=control.start() - line_start + 1)
    from .settings import DeckSettings, default_slug, read_settings  # not for the up-to-date check

    settings_file = settings_path(path)
    skipped = link_outside(settings_file, root)
    settings = (read_settings(path, settings_file) if skipped is None
                else DeckSettings(name=path.stem, slug=default_slug(path.stem)))
    return DeckSource(file=file, text=text, settings=settings, diagnostics=(skipped,) if skipped else ())


def settings_path(deck_path: Path) -> Path:
    """Where a deck's settings file lives."""
    return deck_path.with_name(deck_path.stem + SETTINGS_SUFFIX)


def author_files(library: Library) -> list[Path]:
    """Every file an author writes that a build reads: the decks and their settings files."""
    return [path for deck in library.decks for path in (deck.path, settings_path(deck.path))]


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
