"""The identity file: what Anki knows a deck's notes by, kept in git beside the deck.

`source/notes.md` has `source/notes.identity.jsonl`: a header line for the deck
(version, note type), then one line per note, sorted by GUID, so that a
change to one note changes one line. The file is the truth about identities:
a note keeps the GUID recorded here for as long as it lives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, BinaryIO

import msgspec

from .errors import SourceError
from .sources import VERSION_RE

FORMAT = 1
SUFFIX = ".identity.jsonl"

Positive = Annotated[int, msgspec.Meta(gt=0)]


class NoteIdentity(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One note as the last build wrote it (a line of the file, read and checked by msgspec)."""

    guid: Annotated[str, msgspec.Meta(min_length=1)]
    question: str
    """The question's Markdown, to recognise it when it comes back reworded."""
    answer: str
    """The answer's Markdown: recognises a reworded question, and shows a removed note."""
    tags: tuple[str, ...]
    fingerprint: str
    """Hash of the note's content as written to the package (fields and tags)."""
    mtime: Positive
    """When that content last changed (seconds); Anki updates notes only when it grows."""
    source: str
    """`file:line` of the question when its content last changed."""
    explicit_id: str | None = None
    removed: bool = False
    """The question is gone from the source; the note stays as a tombstone."""


class NoteTypeIdentity(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The note type as the last build wrote it: Anki forks it if the schema ever changes."""

    model_id: Positive
    name: str
    fields: tuple[str, ...]
    templates: tuple[str, ...]
    fingerprint: str
    mtime: Positive


class _Header(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The file's first line: the deck and its note type."""

    deckgen_identity: int
    slug: str
    name: str
    version: Annotated[str, msgspec.Meta(pattern=VERSION_RE.pattern)]
    version_mtime: Positive
    description: str
    note_type: NoteTypeIdentity


@dataclass(frozen=True)
class DeckIdentity:
    """Everything the next build of a deck needs to know about the last one."""

    slug: str
    name: str
    version: str
    version_mtime: int
    """When this version was built: the base of the package's internal ids."""
    description: str
    """Fingerprint of the deck description."""
    note_type: NoteTypeIdentity
    notes: tuple[NoteIdentity, ...]
    lines: dict[str, bytes] = field(default_factory=dict, init=False, compare=False, repr=False)
    """For an identity read from a file: each note's line, by GUID (written again as it is when unchanged)."""

    def max_mtime(self) -> int:
        """The latest time ever written for this deck; the next change must be later."""
        return max([self.version_mtime, self.note_type.mtime, *(n.mtime for n in self.notes)])


NOTE_FIELDS = NoteIdentity.__struct_fields__


def identity_path(deck_path: Path) -> Path:
    """Where a deck's identity file lives: beside the deck, never in build/."""
    return deck_path.with_name(deck_path.stem + SUFFIX)


def orphaned_identity_files(folder: Path) -> list[Path]:
    """Identity files under `folder` whose deck file is gone (renamed or moved, most likely)."""
    return sorted(p for p in folder.rglob("*" + SUFFIX)
                  if not p.with_name(p.name[:-len(SUFFIX)] + ".md").is_file())


def dumps(identity: DeckIdentity) -> str:
    """The file's text: the header, then one note per line sorted by GUID."""
    return b"".join(_lines(identity)).decode("utf-8")


def write_identity_to(identity: DeckIdentity, file: BinaryIO, previous: DeckIdentity | None = None) -> None:
    """Write the identity file to an open file, a line at a time.

    A note `previous` (as read from the file) holds unchanged, the very same
    record, keeps its line as it was: most notes of a rebuild, at no cost.
    """
    file.writelines(_lines(identity, previous))


def _lines(identity: DeckIdentity, previous: DeckIdentity | None = None) -> Iterator[bytes]:
    header = {name: getattr(identity, name) for name in _Header.__struct_fields__[1:]}  # the fields after the format
    header["note_type"] = msgspec.structs.asdict(identity.note_type)
    yield _line({"deckgen_identity": FORMAT, **header})
    as_read = {note.guid: note for note in previous.notes} if previous and previous.lines else {}
    for note in sorted(identity.notes, key=lambda n: n.guid):
        if as_read.get(note.guid) is note:
            yield previous.lines[note.guid] + b"\n"
            continue
        record = {name: getattr(note, name) for name in NOTE_FIELDS}
        if record["explicit_id"] is None:
            del record["explicit_id"]
        if not record["removed"]:
            del record["removed"]
        yield _line(record)


def read_identity(path: Path) -> DeckIdentity | None:
    """The recorded identities, or None when the deck has never been built."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise _damaged(path, 0, str(err)) from None
    return _parse(path, data)


def loads(path: Path, text: str) -> DeckIdentity:
    """Parse an identity file's text; any damage is an error that says how to recover."""
    return _parse(path, text.encode("utf-8"))


_ANY = msgspec.json.Decoder()
_HEADER = msgspec.json.Decoder(_Header)
_NOTE = msgspec.json.Decoder(NoteIdentity)


def _parse(path: Path, data: bytes) -> DeckIdentity:
    """Decode and check every line (msgspec checks each field's type); any damage names its line."""
    if b"\r" in data:  # line ends as Windows or old Macs write them
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    if not lines:
        raise _damaged(path, 1, "the file is empty")
    header = _decode(path, 1, _ANY, lines[0])
    if not isinstance(header, dict) or header.get("deckgen_identity") != FORMAT:
        raise _damaged(path, 1, f"not a deckgen identity file of format {FORMAT}")
    header = _decode(path, 1, _HEADER, lines[0])
    notes = [_decode(path, number, _NOTE, line) for number, line in enumerate(lines[1:], start=2)]
    identity = DeckIdentity(slug=header.slug, name=header.name, version=header.version,
                            version_mtime=header.version_mtime, description=header.description,
                            note_type=header.note_type, notes=tuple(notes))
    identity.lines.update(zip((note.guid for note in notes), lines[1:]))
    if len(identity.lines) != len(notes):
        seen: dict[str, int] = {}
        for number, note in enumerate(notes, start=2):
            if seen.setdefault(note.guid, number) != number:
                raise _damaged(path, number, f"GUID {note.guid} is also on line {seen[note.guid]}")
    return identity


def _decode(path: Path, number: int, decoder: msgspec.json.Decoder, line: bytes):
    try:
        return decoder.decode(line)
    except msgspec.ValidationError as err:
        raise _damaged(path, number, f"a record lacks or mistypes a field ({err})") from None
    except RecursionError:
        raise _damaged(path, number, "not a record: nested too deeply") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as not_text:
            raise _damaged(path, number, f"not UTF-8 text (byte 0x{line[not_text.start]:02x} at column "
                                         f"{not_text.start + 1})") from None
        raise _damaged(path, number, f"not a JSON record ({err})") from None


def _damaged(path: Path, line: int, what: str) -> SourceError:
    return SourceError(path, line, code="damaged-identity", message=(
        f"damaged identity file: {what}. It records the identities Anki knows this deck's notes by, so "
        "deckgen will not build without it (new identities would duplicate every card). Restore it from "
        f"git (git checkout -- {path}) or a backup, or move it away to start afresh (see README)."))


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))  # one, not one a line: much faster


def _line(record: dict) -> bytes:
    return _ENCODER.encode(record).encode("utf-8") + b"\n"  # keys in the records' field order
