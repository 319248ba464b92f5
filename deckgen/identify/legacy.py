"""Identity files of deckgen 0.1, read as they are and converted into the library's identity record.

deckgen 0.1 kept `notes.identity.jsonl` beside each deck: a header line (the
deck's slug, name, version and note type) and a line per note. Converting
keeps every GUID, time, version, deck name and note type as it was. What 0.1
did not record is left unknown, for the next build to adopt without
stamping anything: the fingerprint of what the author wrote (0.1 hashed the
HTML instead; that hash is kept as what the package delivered), the
description's hash, the sections. An image edited after the last build of
0.1 is therefore only picked up at its note's next change.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import msgspec

from ..reading import RECORD_LIMIT, read_target
from .note_types import NOTE_TYPES
from .record import (DeckRecord, IdentityRecord, Name, NoteRecord, NoteTypeRecord, PackageRecord, Positive, Version,
                     check_times, damaged, decode_line, identity_lines, newer)

FORMAT = 1


class _Note(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    guid: Annotated[str, msgspec.Meta(min_length=1)]
    question: str
    answer: str
    tags: tuple[str, ...]
    fingerprint: str
    """0.1's hash of the fields and tags written to the package."""
    mtime: Positive
    source: str
    explicit_id: str | None = None
    removed: bool = False


class _NoteType(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model_id: Positive
    name: str
    fields: tuple[Name, ...]
    templates: tuple[Name, ...]
    fingerprint: str
    mtime: Positive


class _Header(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    deckgen_identity: int
    slug: str
    name: str
    version: Version
    version_mtime: Positive
    description: str
    note_type: _NoteType


_HEADER = msgspec.json.Decoder(_Header)
_NOTE = msgspec.json.Decoder(_Note)
_CLOZE_IDS = frozenset(t.model_id for t in NOTE_TYPES.values() if t.cloze)


def convert(record: IdentityRecord, files: Iterable[tuple[Path, str]], now: float | None = None) -> IdentityRecord:
    """`record` with the 0.1 identity files `(path, deck key)` folded in; a file's notes already in the record
    (converted before, then brought back by git) are left to the newer of the two. With `now`, a time later than
    it is an error naming its line (see `record.check_times`)."""
    files = list(files)
    if not files:
        return record
    packages, decks = dict(record.packages), dict(record.decks)
    note_types, notes = dict(record.note_types), dict(record.notes)
    for path, deck_key in files:
        header, old_notes = _read(path, now)
        packages.setdefault(header.slug, PackageRecord(package=header.slug, version=header.version,
                                                       version_mtime=header.version_mtime, render=1))
        decks.setdefault(deck_key, DeckRecord(deck=deck_key, name=header.name, model=header.note_type.model_id,
                                              mtime=header.version_mtime))
        kind = header.note_type
        note_types.setdefault(kind.model_id, NoteTypeRecord(
            note_type=kind.model_id, name=kind.name, fields=kind.fields, templates=kind.templates,
            cloze=kind.model_id in _CLOZE_IDS, fingerprint=kind.fingerprint, mtime=kind.mtime))
        for old in old_notes:
            note = NoteRecord(guid=old.guid, deck=deck_key, question=old.question, answer=old.answer,
                              tags=old.tags, html=old.fingerprint, mtime=old.mtime, source=old.source,
                              explicit_id=old.explicit_id, removed=old.mtime if old.removed else 0,
                              removed_in=header.version if old.removed else None)
            known = notes.get(note.guid)
            notes[note.guid] = note if known is None else newer(known, note, b"", b"")
    return IdentityRecord(packages=packages, decks=decks, note_types=note_types, notes=notes,
                          lines=record.lines, tidy=False, legacy=record.legacy + tuple(p for p, _ in files))


def _read(path: Path, now: float | None) -> tuple[_Header, list[_Note]]:
    try:
        data = read_target(path, RECORD_LIMIT)
    except OSError as err:
        raise damaged(path, 0, err.strerror or str(err)) from None
    lines = identity_lines(path, data, (FORMAT,), "identity file")
    header = decode_line(path, 1, _HEADER, lines[0])
    check_times(path, 1, (header.version_mtime, header.note_type.mtime), now)
    notes = [decode_line(path, number, _NOTE, line) for number, line in enumerate(lines[1:], start=2)]
    seen: dict[str, int] = {}
    for number, note in enumerate(notes, start=2):
        check_times(path, number, (note.mtime,), now)
        if seen.setdefault(note.guid, number) != number:
            raise damaged(path, number, f"GUID {note.guid} is also on line {seen[note.guid]}")
    return header, notes
