"""What the notes of a library were before this build: the committed identity record (deckgen 0.1's files
folded in), what this machine delivered since, and which recorded notes are the folder's own.

The record is someone else's as much as the notes are: a note it claims that nothing shows to be this
folder's (see `ownership`) is an error at its line, and what this machine delivered (see `delivered`) is
merged in only for the decks this build covers.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ..errors import Diagnostic
from ..sources.library import Library, legacy_deck_key, link_outside
from .delivered import Delivered, read_delivered
from .ids import new_namespace
from .legacy import convert
from .ownership import Minted, foreign_notes, minted_in_history
from .record import EMPTY, IdentityRecord, parse_record, record_bytes, same_delivery

FOREIGN_SHOWN = 20


@dataclass(frozen=True)
class History:
    """The notes a build continues: what the record holds and what this machine delivered."""

    record: IdentityRecord
    """The committed record, deckgen 0.1's files folded in (EMPTY when it is a link out of the library)."""
    delivered: Delivered | None
    """What this machine's builds delivered before; None when it has no record of that."""
    namespace: str
    """The notes folder's namespace, which new GUIDs derive from: its own, or `new_namespace`."""
    new_namespace: str | None
    """The namespace a build makes for a notes folder that has none yet, and writes into its `deckgen.toml`."""
    proven: dict[str, Minted]
    """For recorded notes minted before deckgen recorded what from, what the record's history shows."""
    diagnostics: tuple[Diagnostic, ...]


def read_history(library: Library, now: float | None = None, trust_record: bool = False) -> History:
    """The record and what this machine delivered, for `library`; SourceError for a record that cannot be read.
    With `trust_record`, the record's notes are taken as the folder's and its times as they are."""
    now = time.time() if now is None else now
    found = []
    outside = link_outside(library.record_path, library.root) is not None  # said by `find_library`: not read
    committed = record_bytes(library.record_path) if not outside else None  # read once: the record, `delivered`
    record = EMPTY if committed is None else parse_record(library.record_path, committed,
                                                          None if trust_record else now)
    record = convert(record, [(path, legacy_deck_key(path, library.root)) for path in library.legacy_records],
                     None if trust_record else now)
    settings_failed = any(d.path == library.settings_path and d.severity == "error" for d in library.diagnostics)
    namespace = library.settings.namespace
    created = None if namespace else new_namespace()  # not written when the settings have an error
    if created and record.notes and not outside and not settings_failed:  # built before, by 0.1 or with a
        # deckgen.toml since deleted
        found.append(Diagnostic(library.settings_path, 0, (
            "no namespace yet, though this folder has been built before: the build writes a new one into it. If "
            "the folder had a deckgen.toml that was deleted or changed, restore it instead (git checkout -- "
            "deckgen.toml), so that the GUIDs of the notes added from now on derive from the same namespace as "
            "before"), code="namespace-new", once=True))
    delivered = read_delivered(library.root, committed or b"", library.output, now) if not outside else None
    vouched, proven = delivered is not None and delivered.vouches, {}
    if not trust_record and not (vouched and delivered.matches_record):
        foreign = foreign_notes(record, namespace, delivered.notes if vouched else ())
        if foreign:  # minted before deckgen recorded what from, reworded since: the record's history may show it
            proven = minted_in_history(library.root, library.record_path, record, namespace, foreign)
            foreign = [note for note in foreign if note.guid not in proven]
        found.extend(_foreign(library.record_path, committed or b"", foreign))
    if delivered is not None and not delivered.vouches and delivered.notes:  # deckgen 0.2's, in the output folder
        refused = {note.guid for note in foreign_notes(dataclasses.replace(record, notes=delivered.notes), namespace)}
        delivered = dataclasses.replace(delivered, notes={guid: note for guid, note in delivered.notes.items()
                                                          if guid not in refused})
    return History(record=record, delivered=delivered, namespace=namespace or created, new_namespace=created,
                   proven=proven, diagnostics=tuple(found))


def _foreign(path: Path, committed: bytes, notes: list) -> list[Diagnostic]:
    """An error at each line of the record that claims a note nothing shows to be this folder's (see
    `ownership`)."""
    found = []
    for note in notes[:FOREIGN_SHOWN]:
        at = re.search(rb'"guid"\s*:\s*"%s"' % re.escape(note.guid.encode("utf-8")), committed)
        found.append(Diagnostic(path, committed.count(b"\n", 0, at.start()) + 1 if at else 0, (
            f"the note {note.guid} ({note.question[:60]!r}) is not this notes folder's: its GUID is none its "
            "namespace makes. A record from someone else could otherwise take over notes another deck has in your "
            "collection, with the next import. If this folder is yours, built elsewhere by a deckgen before 0.3 "
            "and its questions reworded since, build once with --trust-record"), "error", "foreign-note"))
    if len(notes) > FOREIGN_SHOWN:
        found.append(Diagnostic(path, 0, f"and {len(notes) - FOREIGN_SHOWN} more notes that are not this notes "
                                         "folder's", "error", "foreign-note"))
    return found


def with_delivered(record: IdentityRecord, delivered: Delivered | None, decks: set[str]) -> IdentityRecord:
    """The record, with what this machine delivered since it was written (after a set-back: a revert, a branch
    switch, a checkout of an older commit):

    - the notes of `decks` it delivered that the record no longer knows, with their decks and note types
      where the record lacks them: their questions are matched, or they are marked removed, like any
      recorded note;
    - for a note it delivered with the very content the record holds, but later, that later time (and the
      source line it gave the card): Anki holds the note so, and would skip as older the next change stamped
      from the record's time.
    """
    if delivered is None or not delivered.notes:
        return record
    notes, changed = dict(record.notes), set()
    for guid, last in delivered.notes.items():
        note = notes.get(guid)
        if note is None and last.deck in decks:
            notes[guid] = last
        elif note is not None and last.mtime > note.mtime and same_delivery(last, note):
            notes[guid] = msgspec.structs.replace(note, mtime=last.mtime, source=last.source)
        else:
            continue
        changed.add(guid)
    if not changed:
        return record
    merged = {notes[guid].deck for guid in changed} - set(record.decks)
    deck_records = {**record.decks, **{key: delivered.decks[key] for key in merged if key in delivered.decks}}
    models = {notes[guid].model for guid in changed} | {deck_records[key].model for key in merged
                                                        if key in deck_records}
    note_types = {**record.note_types, **{model: delivered.note_types[model] for model in models
                                          if model not in record.note_types and model in delivered.note_types}}
    lines = dict(record.lines)  # the file's lines of those notes no longer say what the record does
    lines["guid"] = {guid: line for guid, line in lines.get("guid", {}).items() if guid not in changed}
    return dataclasses.replace(record, notes=notes, decks=deck_records, note_types=note_types, lines=lines,
                               tidy=False)
