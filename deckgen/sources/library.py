"""The one walk of a library: which decks it holds, their settings, and reading each deck's text.

A library is the folder given to deckgen, or the nearest folder above it
that is one (its `deckgen.toml` holds a namespace, or it has an identity
record). build, check, diff, preview and the up-to-date check all see the
same decks: every `*.md` below the library's top, outside hidden folders,
the output folder, libraries of their own and what the `deckgen.toml` files'
`exclude` (and the top one's `include`) patterns leave out, with deck files
linked from outside skipped (with a warning). A deck's key is its path
inside the library, without `.md`, in Unicode NFC: the identity record files
its notes under it. Its name in Anki follows the folder tree
(`os/memory.md` is `os::memory`; a folder's `README.md` or `index.md` is
the folder's own deck), unless its settings name it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic, SourceError
from ..names import deck_settings_path, tree_name
from ..places import is_output_folder
from ..reading import MARKDOWN_LIMIT, SETTINGS_LIMIT, RealPaths, read_regular, read_target
from .front_matter import FrontMatter, front_matter, plugin_file
from .settings import (DeckDefaults, DeckSettings, LibrarySettings, file_name_problem, read_folder_settings,
                       read_library_settings, read_settings)

RECORD_FOLDER = ".deckgen"
DEFAULT_NAME = "notes"  # a library's name when its folder has none (the file system's root)
LIBRARY_SETTINGS = "deckgen.toml"  # the notes folder's own settings, at its top (see `settings`)
LEGACY_RECORD_SUFFIX = ".identity.jsonl"  # deckgen 0.1 kept one identity file beside each deck
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f])  # not text, tab and line ends aside
CONTROL_RE = re.compile("[" + re.escape(CONTROL_BYTES.decode("ascii")) + "]")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
NAMESPACE_LINE = re.compile(rb"(?m)^\s*namespace\s*=")


@dataclass(frozen=True)
class DeckFile:
    """One deck's Markdown file in the library."""

    path: Path
    key: str
    """Its path inside the library's root, without `.md`, `/`-separated and in Unicode NFC."""
    display: str
    """How cards name it as their source: its path inside the root."""
    name: str = ""
    """The deck name the folder tree gives it (see `tree_name`)."""
    defaults: DeckDefaults | None = None
    """What the `deckgen.toml` files above it set; None for deckgen's defaults."""


@dataclass(frozen=True)
class DeckSource:
    """One deck's Markdown text, where it came from, and its settings."""

    file: DeckFile
    text: str
    settings: DeckSettings
    diagnostics: tuple[Diagnostic, ...] = ()
    """What reading it noticed (a settings file that was skipped)."""
    plugin: str | None = None
    """The Obsidian plugin data it holds (`an Excalidraw drawing`), which is no deck unless recorded as one (see
    `identify.plugin_files`)."""

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
    """Deck files skipped on the way, and what is wrong with the settings read."""
    settings: LibrarySettings | None = None
    """The library's own settings (the defaults where its `deckgen.toml` has an error, which is then one of the
    diagnostics)."""
    settings_files: tuple[Path, ...] = ()
    """Every `deckgen.toml` read."""
    name: str = DEFAULT_NAME
    """The library's folder's name (NFC): its deck, when its top README has questions, and its package's
    default slug."""


def find_library(source: Path, output: Path | None = None) -> Library:
    """The library `source` names: a folder of decks, or a deck file, with the library they are in (or, for a
    file in no library, a library of that one deck)."""
    if source.is_file():
        if source.suffix != ".md":
            raise SourceError(source, 0, "not a deck: deck files are Markdown files ending in .md", "not-a-deck")
        start = source.parent
    elif source.is_dir():
        start = source
    else:
        hint = ("; to build the notes folder you are in, run the command with . (deckgen build .)"
                if source == Path("source") and (Path(LIBRARY_SETTINGS).is_file() or Path(RECORD_FOLDER).is_dir())
                else "")
        raise SourceError(source, 0, "no such file or folder" + hint, "no-source")
    root = library_root(start)
    single_file = root is None and source.is_file()
    root = root or start
    diagnostics: list[Diagnostic] = []
    settings_path = root / LIBRARY_SETTINGS
    settings, settings_files = LibrarySettings(), []
    outside = link_outside(settings_path, root) if settings_path.exists() else None
    if outside:
        diagnostics.append(outside)
    elif settings_path.exists():  # a folder, a pipe or a device too: reading it says what is wrong
        settings_files.append(settings_path)
        try:
            settings = read_library_settings(settings_path)
        except SourceError as err:
            diagnostics.append(err.diagnostic)
    if single_file:
        found, legacy, folders = [(source, None)], [_legacy_record(source)], []
    else:
        found, legacy, folders = _walk(root, output, settings, diagnostics)
    settings_files += folders
    name = unicodedata.normalize("NFC", root.resolve().name) or DEFAULT_NAME
    decks, real = [], RealPaths()
    for path, defaults in found:
        problem = link_outside(path, root, real) or _unreadable_name(path, root)
        if problem:
            diagnostics.append(problem)
        else:
            decks.append(deck_file(path, root, settings.prefix, defaults, name))
    legacy = {path: link_outside(path, root) for path in legacy if path.is_file()}  # each with its link, if any
    diagnostics += [d for d in (*legacy.values(), link_outside(record_path(root), root)) if d]
    return Library(root=root, decks=tuple(decks), single_file=single_file,
                   record_path=record_path(root), settings_path=settings_path,
                   legacy_records=tuple(path for path, link in legacy.items() if link is None),
                   output=output, diagnostics=tuple(diagnostics), settings=settings,
                   settings_files=tuple(settings_files), name=name)


def _unreadable_name(path: Path, root: Path) -> Diagnostic | None:
    """An error for a deck file whose path inside the library is not UTF-8 text (a name made on another system):
    its deck's name, its key in the record and Anki all need text."""
    try:
        path.relative_to(root).as_posix().encode("utf-8")
    except UnicodeEncodeError:
        return Diagnostic(path, 0, "its name is not UTF-8 text, which a deck's name, the identity record and Anki "
                                   "need: rename the file (or its folder)", "error", "invalid-file-name")
    return None


def record_path(root: Path) -> Path:
    """The identity record of the library `root`."""
    return root / RECORD_FOLDER / "identity.jsonl"


def library_root(start: Path) -> Path | None:
    """The nearest folder from `start` up that is a library: it has an identity record, or a `deckgen.toml`
    holding a namespace."""
    absolute = start.absolute()
    for folder in (absolute, *absolute.parents):
        if _is_library(folder):
            return start if folder == absolute else folder
    return None


def _skipped(folder: Path, files: list[str], subfolders: list[str]) -> Diagnostic | None:
    """Why the walk leaves out a sub-folder it has just listed (the names in it), if it does."""
    if is_output_folder(folder, files, subfolders):
        return Diagnostic(folder, 0, "skipped: a folder deckgen has built into (its packages and changelogs are no "
                                     "notes)", "note", "output-folder")
    if (RECORD_FOLDER in subfolders or LIBRARY_SETTINGS in files) and _is_library(folder):
        return Diagnostic(folder, 0, "skipped: a library of its own (it has its own identity record or namespace), "
                                     "built by itself", "note", "sub-library")
    return None


def _is_library(folder: Path) -> bool:
    if record_path(folder).is_file():
        return True
    try:  # any folder above the one given: its deckgen.toml is read only if it is a file of its own
        return bool(NAMESPACE_LINE.search(read_regular(folder / LIBRARY_SETTINGS, SETTINGS_LIMIT)))
    except OSError:
        return False



def deck_file(path: Path, root: Path, prefix: str | None = None, defaults: DeckDefaults | None = None,
              root_name: str = DEFAULT_NAME) -> DeckFile:
    display = unicodedata.normalize("NFC", path.relative_to(root).as_posix())
    key = display[:-len(".md")]
    return DeckFile(path=path, key=key, display=display, name=tree_name(key, prefix, root_name), defaults=defaults)


def legacy_deck_key(record: Path, root: Path) -> str:
    """The key of the deck a deckgen 0.1 identity file belongs to."""
    return unicodedata.normalize("NFC", record.relative_to(root).as_posix())[:-len(LEGACY_RECORD_SUFFIX)]


def _legacy_record(deck: Path) -> Path:
    return deck.with_name(deck.stem + LEGACY_RECORD_SUFFIX)


@dataclass
class Folder:
    """One folder as `walk` lists it."""

    path: Path
    subfolders: list[str]
    """Its sub-folders to walk into, sorted, hidden ones (a name starting with `.`) left out: remove a name to
    leave that one out too."""
    files: list[str]
    """Its files, sorted, hidden ones left out."""
    every_file: list[str]
    every_subfolder: list[str]
    """All its files and sub-folders, hidden ones too (the output folder's marker, the record's folder)."""


def walk(root: Path) -> Iterator[Folder]:
    """The one walk of a library's folders, top down: the decks' (see `find_library`), and the images Obsidian
    would find by their bare name (see `media`)."""
    for folder, subfolders, files in os.walk(root):
        every_subfolder = list(subfolders)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        yield Folder(Path(folder), subfolders, sorted(name for name in files if not name.startswith(".")), files,
                     every_subfolder)


def _walk(root: Path, output: Path | None, settings: LibrarySettings, diagnostics: list[Diagnostic]
          ) -> tuple[list[tuple[Path, DeckDefaults]], list[Path], list[Path]]:
    """Deck files (each with the defaults the folders above it set), deckgen 0.1 identity files, and the
    sub-folders' `deckgen.toml` files below `root`: sorted; hidden folders, `output`, libraries of their own and
    excluded paths left out. Problems with a sub-folder's settings go to `diagnostics`."""
    excluded = Path(os.path.realpath(output)) if output is not None else None
    include = _spec(settings.include)
    rules = {root: (settings.defaults, [(root, _spec(settings.exclude))] if settings.exclude else [])}
    decks, legacy, settings_files = [], [], []
    for folder in walk(root):
        here, subfolders = folder.path, folder.subfolders
        skipped = _skipped(here, folder.every_file, folder.every_subfolder) if here != root else None
        if skipped is not None:
            diagnostics.append(skipped)
            subfolders[:] = []
            continue
        defaults, excludes = rules[here]
        named = here != root and LIBRARY_SETTINGS in (*folder.every_file, *folder.every_subfolder)
        outside = link_outside(here / LIBRARY_SETTINGS, root) if named else None
        if outside is not None and (here / LIBRARY_SETTINGS).exists():
            diagnostics.append(outside)  # a link to settings from elsewhere: not read, as no outside file is
        elif named and (here / LIBRARY_SETTINGS).exists():
            settings_files.append(here / LIBRARY_SETTINGS)
            try:
                folder_settings = read_folder_settings(here / LIBRARY_SETTINGS, defaults)
            except SourceError as err:
                diagnostics.append(err.diagnostic)
            else:
                defaults = folder_settings.defaults
                if folder_settings.exclude:
                    excludes = [*excludes, (here, _spec(folder_settings.exclude))]
        kept = []
        for name in subfolders:
            path = here / name
            if (excluded is not None and Path(os.path.realpath(path)) == excluded) \
                    or _excluded(path, excludes, folder=True):
                continue
            kept.append(name)
            rules[path] = (defaults, excludes)
        subfolders[:] = kept
        for name in folder.files:
            path = here / name
            if name.endswith(LEGACY_RECORD_SUFFIX):
                legacy.append(path)
            elif name.endswith(".md") and path.is_file() and not _excluded(path, excludes) and (
                    include is None or include.match_file(path.relative_to(root).as_posix())):
                decks.append((path, defaults))
    return sorted(decks, key=lambda item: item[0]), sorted(legacy), sorted(settings_files)


def _spec(patterns: tuple[str, ...]):
    if not patterns:
        return None
    import pathspec  # .gitignore semantics, as git itself reads them

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _excluded(path: Path, excludes, folder: bool = False) -> bool:
    """Whether a pattern of a `deckgen.toml` above `path` (relative to its folder) leaves it out."""
    for base, spec in excludes:
        relative = path.relative_to(base).as_posix() + ("/" if folder else "")
        if spec is not None and spec.match_file(relative):
            return True
    return False


def link_outside(path: Path, root: Path, real: RealPaths | None = None) -> Diagnostic | None:
    """A warning when `path`, or a folder on the way to it, is a symbolic link to somewhere outside `root`
    (it is then not read); `real`, the real paths one reading of the library found so far."""
    real = real or os.path.realpath
    target = Path(real(path))
    if target.is_relative_to(real(root)):
        return None
    return Diagnostic(path, 0, f"skipped: a symbolic link to {target}, outside the notes folder "
                               f"{root}; only files inside it are read", code="link-outside")


def read_decks(library: Library) -> Iterator[DeckSource | Diagnostic]:
    """Each deck of `library`, read in turn; for a file that is not text, or whose name makes no deck name, the
    errors that say so (and what else reading it found, such as an error in its settings)."""
    real = RealPaths()
    for file in library.decks:
        try:
            source = read_deck(file, library.root, real)
        except SourceError as err:
            yield err.diagnostic
            continue
        unnamed = file_name_problem(source.path, source.settings)
        if unnamed is None:
            yield source
        else:  # never a deck: its name would reach every later message, and the terminal
            yield from (*source.diagnostics, unnamed)


def read_deck(file: DeckFile, root: Path, real: RealPaths | None = None) -> DeckSource:
    """One deck's Markdown and its settings (`real`: see `link_outside`); SourceError for a file that is not
    text."""
    path = file.path
    try:
        data = read_target(path, MARKDOWN_LIMIT)
        if data[:2] in UTF16_BOMS:  # UTF-16 with its BOM, as some Windows editors save: from here on, as UTF-8
            data = data.decode("utf-16").encode("utf-8")
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
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # These bytes are never part of a longer UTF-8 character: a check on the bytes (fast) is exact.
    control = CONTROL_RE.search(text) if len(data.translate(None, CONTROL_BYTES)) != len(data) else None
    if control:
        line_start = text.rfind("\n", 0, control.start()) + 1
        raise SourceError(path, text.count("\n", 0, control.start()) + 1,
                          f"control character U+{ord(control.group()):04X}: not text (Anki would also take U+001F "
                          "for a field separator)", "control-character", column=control.start() - line_start + 1)
    front = front_matter(path, text) if text.startswith("---") else None
    if front is not None:
        text = front.text
    settings, found = deck_settings(file, root, front, real)
    return DeckSource(file=file, text=text, settings=settings,
                      diagnostics=tuple(found) + (front.diagnostics if front else ()),
                      plugin=plugin_file(path.name, front))


def deck_settings(file: DeckFile, root: Path, front: FrontMatter | None = None, real: RealPaths | None = None
                  ) -> tuple[DeckSettings, list[Diagnostic]]:
    """A deck's settings: its folders', its settings file's and its front matter's (`front`, when read); and
    what reading them found. An error in the settings file is said, and the folder's settings are used."""
    path = file.path
    settings_file = deck_settings_path(path)
    outside = link_outside(settings_file, root, real)
    found = [d for d in [outside] if d]
    defaults = file.defaults or DeckDefaults()
    tags = front.tags if front else ()
    try:
        settings = read_settings(path, None if outside else settings_file, file.name or None, defaults,
                                 front.settings if front else None, tags)
    except SourceError as err:  # reported with what the Markdown has, which is read with the folder's settings
        found.append(err.diagnostic)
        settings = read_settings(path, None, file.name or None, defaults, tags=tags)
    return settings, found



def author_files(library: Library) -> list[Path]:
    """Every file an author writes that a build reads: the decks, their settings files, the sub-folders'
    `deckgen.toml`s (the library's own is a file builds write: see `stamp`)."""
    folders = [path for path in library.settings_files if path != library.settings_path]
    return [*folders, *(path for deck in library.decks for path in (deck.path, deck_settings_path(deck.path)))]


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
