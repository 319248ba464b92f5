"""The identity file: what Anki knows a deck's notes by, kept in git beside the deck.

`source/notes.md` has `source/notes.identity.jsonl`: a header line for the deck
(version, note type), then one line per note, sorted by GUID, so that a
change to one note changes one line. The file is the truth about identities:
a note keeps the GUID recorded here for as long as it lives.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import SourceError
from .sources import VERSION_RE

FORMAT = 1
SUFFIX = ".identity.jsonl"


@dataclass(frozen=True)
class NoteIdentity:
    """One note as the last build wrote it."""

    guid: str
    question: str
    """The question's Markdown, to recognise it when it comes back reworded."""
    answer: str
    """The answer's Markdown: recognises a reworded question, and shows a removed note."""
    tags: tuple[str, ...]
    fingerprint: str
    """Hash of the note's content as written to the package (fields and tags)."""
    mtime: int
    """When that content last changed (seconds); Anki updates notes only when it grows."""
    source: str
    """`file:line` of the question when its content last changed."""
    explicit_id: str | None = None
    removed: bool = False
    """The question is gone from the source; the note stays as a tombstone."""


@dataclass(frozen=True)
class NoteTypeIdentity:
    """The note type as the last build wrote it: Anki forks it if the schema ever changes."""

    model_id: int
    name: str
    fields: tuple[str, ...]
    templates: tuple[str, ...]
    fingerprint: str
    mtime: int


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
    lines: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)
    """For an identity read from a file: each note's line, by GUID (written again as it is when unchanged)."""

    def max_mtime(self) -> int:
        """The latest time ever written for this deck; the next change must be later."""
        return max([self.version_mtime, self.note_type.mtime, *(n.mtime for n in self.notes)])


NOTE_FIELDS = tuple(f.name for f in fields(NoteIdentity))


def identity_path(deck_path: Path) -> Path:
    """Where a deck's identity file lives: beside the deck, never in build/."""
    return deck_path.with_name(deck_path.stem + SUFFIX)


def orphaned_identity_files(folder: Path) -> list[Path]:
    """Identity files under `folder` whose deck file is gone (renamed or moved, most likely)."""
    return sorted(p for p in folder.rglob("*" + SUFFIX)
                  if not p.with_name(p.name[:-len(SUFFIX)] + ".md").is_file())


def dumps(identity: DeckIdentity) -> str:
    """The file's text: the header, then one note per line sorted by GUID."""
    return "".join(_lines(identity))


def write_identity_to(identity: DeckIdentity, file: BinaryIO, previous: DeckIdentity | None = None) -> None:
    """Write the identity file to an open file, a line at a time.

    A note `previous` (as read from the file) holds unchanged, the very same
    record, keeps its line as it was: most notes of a rebuild, at no cost.
    """
    for line in _lines(identity, previous):
        file.write(line.encode("utf-8"))


def _lines(identity: DeckIdentity, previous: DeckIdentity | None = None) -> Iterator[str]:
    header = {f.name: getattr(identity, f.name) for f in fields(DeckIdentity) if f.name not in ("notes", "lines")}
    header["note_type"] = asdict(identity.note_type)
    yield _line({"deckgen_identity": FORMAT, **header}) + "\n"
    as_read = {note.guid: note for note in previous.notes} if previous and previous.lines else {}
    for note in sorted(identity.notes, key=lambda n: n.guid):
        if as_read.get(note.guid) is note:
            yield previous.lines[note.guid] + "\n"
            continue
        # By hand, not asdict(): it deep-copies every value, the slowest part of a rebuild.
        record = {name: getattr(note, name) for name in NOTE_FIELDS}
        if record["explicit_id"] is None:
            del record["explicit_id"]
        if not record["removed"]:
            del record["removed"]
        yield _line(record) + "\n"


def read_identity(path: Path) -> DeckIdentity | None:
    """The recorded identities, or None when the deck has never been built."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise _damaged(path, 0, str(err)) from None
    return loads(path, text)


def loads(path: Path, text: str) -> DeckIdentity:
    """Parse an identity file's text; any damage is an error that says how to recover."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    try:  # all lines in one call to the JSON parser; line by line only to find a damaged one
        records = json.loads("[" + ",".join(lines) + "]")
    except json.JSONDecodeError:
        records = None
    if records is None or len(records) != len(lines) or not all(type(r) is dict for r in records):
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise _damaged(path, number, f"not a JSON record ({err.msg} at column {err.colno})") from None
            if not isinstance(record, dict):
                raise _damaged(path, number, "not a JSON object")
    if not records:
        raise _damaged(path, 1, "the file is empty")
    header = records[0]
    if header.get("deckgen_identity") != FORMAT:
        raise _damaged(path, 1, f"not a deckgen identity file of format {FORMAT}")
    notes = tuple(_record(path, number, NoteIdentity, record, ("tags",))
                  for number, record in enumerate(records[1:], start=2))
    fields = {k: v for k, v in header.items() if k not in ("deckgen_identity", "note_type")}
    note_type = _record(path, 1, NoteTypeIdentity, header.get("note_type"), ("fields", "templates"))
    identity = _record(path, 1, DeckIdentity, {**fields, "note_type": note_type, "notes": notes}, ())
    _check(path, identity)
    identity.lines.update(zip((note.guid for note in notes), lines[1:]))
    return identity


def _record(path: Path, line: int, kind, record, lists: tuple[str, ...]):
    """Build one record, its JSON lists as tuples, naming the line when a field is missing or unknown."""
    try:
        for name in lists:
            if type(record.get(name)) is list:
                record[name] = tuple(record[name])
        return kind(**record)
    except (TypeError, AttributeError) as err:
        raise _damaged(path, line, f"a record lacks or mistypes a field ({err})") from None


def _check(path: Path, identity: DeckIdentity) -> None:
    if not isinstance(identity.version, str) or not VERSION_RE.match(identity.version):
        raise _damaged(path, 1, f"invalid version {identity.version!r}")
    if not all(isinstance(v, str) for v in (identity.slug, identity.name, identity.description)) \
            or not _strings(identity.note_type.fields) or not _strings(identity.note_type.templates):
        raise _damaged(path, 1, "the deck record has a field of the wrong type")
    for value in (identity.version_mtime, identity.note_type.mtime, identity.note_type.model_id):
        if type(value) is not int or value <= 0:
            raise _damaged(path, 1, "the deck's times and note type id must be positive whole numbers")
    seen: dict[str, int] = {}
    for number, note in enumerate(identity.notes, start=2):
        if not (type(note.guid) is str and note.guid and type(note.question) is str and type(note.answer) is str
                and type(note.fingerprint) is str and type(note.source) is str and _strings(note.tags)
                and type(note.mtime) is int and note.mtime > 0
                and (note.explicit_id is None or type(note.explicit_id) is str) and type(note.removed) is bool):
            raise _damaged(path, number, "a note record has a field of the wrong type")
        if seen.setdefault(note.guid, number) != number:
            raise _damaged(path, number, f"GUID {note.guid} is also on line {seen[note.guid]}")


def _strings(values) -> bool:
    """A tuple of strings (as the JSON list it was read from)."""
    return type(values) is tuple and all(type(value) is str for value in values)


def _damaged(path: Path, line: int, what: str) -> SourceError:
    return SourceError(path, line, code="damaged-identity", message=(
        f"damaged identity file: {what}. It records the identities Anki knows this deck's notes by, so "
        "deckgen will not build without it (new identities would duplicate every card). Restore it from "
        f"git (git checkout -- {path}) or a backup, or move it away to start afresh (see README)."))


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))  # one, not one a line: much faster


def _line(record: dict) -> str:
    return _ENCODER.encode(record)  # keys in the records' field order
