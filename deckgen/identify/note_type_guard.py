"""Which note type each deck's notes get, so that no build makes Anki fork one or ask for a full sync.

Anki matches a note type by its id, and takes it for the same one only while
its kind (standard or cloze), its fields and its card templates (names and
order) stay the same: a change to any of them makes a second note type on
import, and every note already imported becomes "conflicting", never updated
again. A new sort field makes every device that syncs the collection do a
full sync. A note of one note type never becomes a note of another. So the
note type a deck's notes have is frozen, and a deck whose `cards` setting
(or a deckgen release) would change it stops the build, saying what it would
do, unless the author asks for a fresh start (`--new-note-type`): the deck
then gets a note type no collection has under its id, its questions get new
GUIDs (`identify`), and its old notes stay in Anki as they are, tagged
`deckgen::replaced` (`plan`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import Diagnostic
from ..names import deck_settings_path
from ..parse.questions import ParsedDeck
from .ids import successor_note_type_id
from .note_types import NOTE_TYPES, NoteType
from .record import IdentityRecord, NoteTypeRecord

REPLACED_TAG = "deckgen::replaced"


class Schema(NamedTuple):
    """What Anki compares when it imports a note type it has: any difference forks it or forces a full sync."""

    cloze: bool
    fields: tuple[str, ...]
    templates: tuple[str, ...]
    sort_field: int


def schema_of(note_type: NoteType | NoteTypeRecord) -> Schema:
    if isinstance(note_type, NoteType):
        return Schema(note_type.cloze, note_type.fields, tuple(name for name, _, _ in note_type.templates),
                      note_type.sort_field)
    return Schema(note_type.cloze, note_type.fields, note_type.templates, note_type.sort_field)


@dataclass(frozen=True)
class DeckNoteType:
    """The note type of a deck's notes in this build."""

    note_type: NoteType
    change: str | None
    """For the note type itself: None, "new" (no build recorded it) or "styling updated" (CSS or template text)."""
    replaced: NoteTypeRecord | None = None
    """On a fresh start, the note type the deck's notes had until now (they stay in Anki as that)."""
    problem: Diagnostic | None = None
    """The error of a change made without `--new-note-type`."""


def choose_note_types(decks: Sequence[ParsedDeck], record: IdentityRecord, namespace: str,
                      allow_new: bool) -> dict[str, DeckNoteType]:
    """Each deck's note type, by deck key: the one its `cards` setting names, under the id its notes have."""
    chosen = {}
    for deck in decks:
        source = deck.source
        target = NOTE_TYPES[source.settings.cards]
        deck_record = record.decks.get(source.file.key)
        current = record.note_types.get(deck_record.model) if deck_record is not None else None
        if current is not None and deck.held:  # a file held back changes nothing, its settings neither
            note_type = note_type_of_record(current)
            chosen[source.file.key] = DeckNoteType(note_type, _change(note_type, current))
            continue
        if current is not None and schema_of(current) == schema_of(target):
            note_type = _under(target, current)
            chosen[source.file.key] = DeckNoteType(note_type, _change(note_type, current))
            continue
        note_type = _unforked(target, record, namespace)
        fresh = current is not None
        problem = None
        if fresh and not allow_new:
            problem = Diagnostic(source.path, 0, _consequences(current, target, source.settings.cards,
                                                               deck_settings_path(source.path)), "error", "note-type-fork")
        chosen[source.file.key] = DeckNoteType(
            note_type, _change(note_type, record.note_types.get(note_type.model_id)),
            replaced=current if fresh and allow_new else None, problem=problem)
    return chosen


def fresh_start_warning(deck: ParsedDeck, choice: DeckNoteType, notes: int) -> Diagnostic:
    return Diagnostic(deck.path, 0, (
        f"a fresh start with the note type {choice.note_type.name}: every question is imported as a new note. "
        f"The {notes} notes of {choice.replaced.name} stay in Anki with their history, tagged {REPLACED_TAG} "
        f"(search tag:{REPLACED_TAG} to find them)"), code="note-type-fresh-start", once=True)


def note_type_of_record(recorded: NoteTypeRecord) -> NoteType:
    """A note type as a package carries it for the notes a fresh start left behind, as the record knows it:
    deckgen's own where it has that schema (its text may be newer: Anki keeps its copy, which is not older),
    else plain cards of its first two fields under the record's names (seen only by someone importing it anew)."""
    for known in NOTE_TYPES.values():
        if schema_of(known) == schema_of(recorded):
            return _under(known, recorded)
    fields = recorded.fields or ("Front",)
    ask, answer = fields[0], ("cloze:" if recorded.cloze else "") + fields[min(1, len(fields) - 1)]
    templates = tuple((name, f"{{{{{ask}}}}}" + (f"<br>{{{{{answer}}}}}" if recorded.cloze else ""),
                       f"{{{{{ask}}}}}<hr id=answer>{{{{{answer}}}}}") for name in recorded.templates)
    return NoteType(model_id=recorded.note_type, name=recorded.name, fields=fields, templates=templates,
                    css=NOTE_TYPES["basic"].css, cloze=recorded.cloze, sort_field=recorded.sort_field)


def _under(note_type: NoteType, recorded: NoteTypeRecord) -> NoteType:
    """`note_type` under the id and name of the recorded one of its schema."""
    if (recorded.note_type, recorded.name) == (note_type.model_id, note_type.name):
        return note_type
    return dataclasses.replace(note_type, model_id=recorded.note_type, name=recorded.name)


def _unforked(target: NoteType, record: IdentityRecord, namespace: str) -> NoteType:
    """`target` under an id whose recorded note type, if any, has its schema: its own id, or else the first of
    its successors in this notes folder."""
    for generation in itertools.count(1):
        candidate = target if generation == 1 else dataclasses.replace(
            target, model_id=successor_note_type_id(namespace, target.model_id, generation),
            name=f"{target.name} {generation}")
        recorded = record.note_types.get(candidate.model_id)
        if recorded is None or schema_of(recorded) == schema_of(target):
            return candidate if recorded is None else _under(candidate, recorded)
    raise AssertionError("unreachable")


def _change(note_type: NoteType, recorded: NoteTypeRecord | None) -> str | None:
    if recorded is None:
        return "new"
    return None if recorded.fingerprint == note_type.fingerprint else "styling updated"


def _consequences(current: NoteTypeRecord, target: NoteType, cards: str, settings_file) -> str:
    """What building a change of the deck's note type would do to its users, and how to start afresh."""
    was, now = schema_of(current), schema_of(target)
    differences = []
    if was.cloze != now.cloze:
        differences.append(f"kind {_kind(was)} -> {_kind(now)}")
    if was.fields != now.fields:
        differences.append(f"fields {', '.join(was.fields)} -> {', '.join(now.fields)}")
    if was.templates != now.templates:
        differences.append(f"cards {', '.join(was.templates)} -> {', '.join(now.templates)}")
    if was.sort_field != now.sort_field:
        differences.append(f"sort field {_field(was, was.sort_field)} -> {_field(now, now.sort_field)}")
    change = (f"the deck's note type would change from {current.name} (id {current.note_type}) to {target.name} "
              f"(id {target.model_id}): {'; '.join(differences)}. ")
    if current.note_type != target.model_id:
        effect = ("Anki never turns a note it has into a note of another note type: every note of this deck "
                  "already imported would be 'conflicting', never updated again by any later build.")
        before = [name for name, known in NOTE_TYPES.items() if schema_of(known) == was]
        if before and before[0] != cards:
            effect += f' To build as before, set cards = "{before[0]}" again in {settings_file}.'
    elif was._replace(sort_field=now.sort_field) != now:
        effect = ("Anki would add it as a second note type, and every note already imported would become "
                  "'conflicting': never updated again by any later build.")
    else:
        effect = ("Anki would make every device that syncs the collection do a full sync, and the side that loses "
                  "it loses every review made there since its last sync.")
    return change + effect + (
        " To start afresh on purpose, build with --new-note-type: every question becomes a new note of a new note "
        f"type, and the notes already imported stay in Anki with their history, tagged {REPLACED_TAG}.")


def _kind(schema: Schema) -> str:
    return "cloze" if schema.cloze else "standard"


def _field(schema: Schema, index: int) -> str:
    return schema.fields[index] if 0 <= index < len(schema.fields) else str(index)
