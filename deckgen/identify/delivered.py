"""What this machine built and delivered, for each library: kept in the state folder, outside notes and output.

The identity record is committed, so `git revert` or a branch switch takes it
back in time with the Markdown; but the notes in Anki do not go back, and
Anki updates a note only when the package's time for it is later than its
own. This record, which no repository can hold (see `places`), remembers
what was built here last, so that the next build can (see `plan`):

- stamp anew every note whose delivered content differs from what the
  record now says, at a time later than the one delivered;
- mark removed the notes it delivered that the record no longer knows;
- never give a version number already written here to other content;
- take a package in an output folder for one it built only when its bytes
  are the ones it wrote there (their SHA-256 is kept): anything else under
  that name is written again;
- vouch for the notes it built, whatever a record says (see `ownership`).

It is one file per library: a line of its own (the notes folder, each
package's versions with a digest of their content, each package file written
with its SHA-256), then a copy of the identity record as the last build here
wrote it. While the committed record is that very copy, as after any build
here, nothing more is read. Without the file (a fresh clone, another
machine) a build works from the committed record alone, and says it cannot
know what was delivered before.

deckgen 0.2 kept this file in the output folder (`.deckgen-delivered-….jsonl`,
before that `.deckgen-delivered.jsonl`), where a cloned repository could put
one: the first build reads this library's there once, vouching for none of
its notes (they are checked as the record's are), writes it here, and
removes it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import msgspec

from ..errors import SourceError
from ..hashing import digest
from ..places import LEGACY_DELIVERED_PREFIX, delivered_folder, delivered_path, legacy_delivered_paths, same_path
from ..reading import RECORD_LIMIT, open_regular, regular_digest
from .record import DeckRecord, NoteRecord, NoteTypeRecord, parse_record

FORMAT = 2  # 2: in the state folder, with the packages written
LEGACY_FORMAT = 1  # deckgen 0.2's, in the output folder
READABLE = (LEGACY_FORMAT, FORMAT)


class _Header(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    deckgen_delivered: int
    library: str
    """The notes folder built (resolved)."""
    versions: dict[str, dict[str, str]] = {}
    """Per package key, each version written here and a digest of its content."""
    namespace: str = ""
    """The library's namespace (see `ids`): the same library, moved to another folder, is not another one."""
    packages: dict[str, tuple[str, str]] = {}
    """Each package file written (its absolute path): its package's key and the SHA-256 of its bytes."""


@dataclass(frozen=True)
class Delivered:
    """What this machine's builds of one notes folder delivered (see the module)."""

    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, NoteRecord] = field(default_factory=dict)
    """By GUID, as the last build here left them; empty when the committed record is just that."""
    decks: dict[str, DeckRecord] = field(default_factory=dict)
    note_types: dict[int, NoteTypeRecord] = field(default_factory=dict)
    """The decks and note types of that record (with `notes`): those of notes the committed record lacks."""
    matches_record: bool = False
    """The committed record is the very one the last build here wrote (every note of it built here)."""
    packages: dict[str, tuple[str, str]] = field(default_factory=dict)
    """See `_Header.packages`."""
    vouches: bool = True
    """Read from the state folder: this machine's own. False for deckgen 0.2's file, read from an output folder."""
    legacy: tuple[Path, ...] = ()
    """deckgen 0.2's files of this library in the output folder, to remove once this is in the state folder."""

    def max_mtime(self) -> int:
        return max((note.mtime for note in self.notes.values()), default=0)

    def built(self, path: Path) -> bool:
        """Whether `path` holds, as a regular file, the very bytes this machine wrote there."""
        recorded = self.packages.get(same_path(path))
        try:
            return recorded is not None and regular_digest(path) == recorded[1]
        except OSError:
            return False


def _header(path: Path, whole: bool = True) -> tuple[_Header, bytes] | None:
    """The file's header line, and (`whole`) the copy of the record after it; None for no readable file (never
    through a link, see `reading`)."""
    try:
        with open_regular(path) as file:
            header = msgspec.json.decode(file.readline(RECORD_LIMIT), type=_Header)
            built = file.read(RECORD_LIMIT) if whole else b""
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return (header, built) if header.deckgen_delivered in READABLE else None


def packages_of_others(output: Path, root: Path, namespace: str | None) -> dict[str, str]:
    """The package keys other libraries have built into `output`, each with that library's folder (a library
    of the same namespace is this one, moved or copied: not another)."""
    found, library, folder = {}, str(root.resolve()), same_path(output)
    own = delivered_path(root)
    for path in sorted(delivered_folder().glob("*.jsonl")) if delivered_folder().is_dir() else []:
        read = _header(path, whole=False) if path != own else None
        if read is not None and _other(read[0], library, namespace):
            found.update({key: read[0].library for file, (key, _) in read[0].packages.items()
                          if os.path.dirname(file) == folder})
    for path in sorted(output.glob(f"{LEGACY_DELIVERED_PREFIX}*.jsonl")):  # libraries deckgen 0.2 built there
        read = _header(path, whole=False)
        if read is not None and _other(read[0], library, namespace):
            found.update(dict.fromkeys(read[0].versions, read[0].library))
    return found


def _other(header: _Header, library: str, namespace: str | None) -> bool:
    return header.library != library and not (namespace and header.namespace == namespace)


def read_delivered(root: Path, committed: bytes, output: Path | None = None, now: float | None = None
                   ) -> Delivered | None:
    """What was built here from `root`, against the committed record (`committed`: its file's bytes, b"" when
    there is none); None when there is no record of it (or it is unreadable, which a build then replaces: it is
    never the only copy of anything that matters). With no file in the state folder, deckgen 0.2's in `output`,
    whose times may not be later than `now` (a repository may have put it there: see `record`)."""
    library = str(root.resolve())
    legacy = [(path, read) for path in (legacy_delivered_paths(output, root) if output is not None else [])
              if (read := _header(path)) is not None and read[0].library == library
              and read[0].deckgen_delivered == LEGACY_FORMAT]  # what a repository can put there: 0.2's alone
    path = delivered_path(root)
    own = _header(path)
    if own is not None and own[0].library == library:
        (header, built), vouches = own, True
    elif legacy:
        (path, (header, built)), vouches = legacy[0], False
    else:
        return None
    found = Delivered(versions=header.versions, packages=dict(header.packages) if vouches else {},
                      vouches=vouches, legacy=tuple(file for file, _ in legacy))
    if built == committed:  # as after every build here: what was delivered is what the record says
        return dataclasses.replace(found, matches_record=True)
    try:
        record = parse_record(path, built, None if vouches else now) if built else None
    except SourceError:
        return None
    if record is None:
        return found
    return dataclasses.replace(found, notes=record.notes, decks=record.decks, note_types=record.note_types)


def write_delivered_to(file: BinaryIO, previous: Delivered | None, root: Path, record: Path,
                       written: Iterable[tuple[str, str, str]], packages: dict[str, tuple[str, str]],
                       namespace: str = "") -> None:
    """Write the file once a build has written the identity record (the file `record`), each (package, version,
    digest) of `written`, and the package files of `packages` (see `_Header.packages`); the record is copied in
    pieces, never held whole."""
    import shutil

    versions = {key: dict(value) for key, value in (previous.versions if previous else {}).items()}
    for package, version, content in written:
        versions.setdefault(package, {})[version] = content
    files = {**(previous.packages if previous else {}), **packages}
    header = _Header(deckgen_delivered=FORMAT, library=str(root.resolve()), versions=versions, namespace=namespace,
                     packages=dict(sorted(files.items())))
    file.write(msgspec.json.encode(header) + b"\n")
    with open(record, "rb") as source:
        shutil.copyfileobj(source, file, 1 << 20)


def content_digest(parts: Iterable[str]) -> str:
    """A digest of a package's content, from the parts that make it (each free of newlines)."""
    return digest("".join(part + "\n" for part in parts), length=16)
