"""What a collection holds of a library, note by note, against what deckgen delivered and what the source says
now: read only, nothing written (`deckgen status`, and what `deckgen pull` starts from).

Three versions of a note meet here: what deckgen last delivered (the last build's, which the identity record
describes), what Anki holds, and what the next build would deliver (the source now). No clock decides between
them. Anki's copy of a note carries the package's time for it after an import (Anki keeps the incoming time),
and a later time after any change made in Anki; the collection's ledger says when the last sync ended and which
notes Anki kept as its own (see `ledger`). So a note was edited in Anki when its time is past that sync or it is
one of those, or, in a collection no sync has written (imports by hand), when its time is later than the last
build's for it. Which fields were edited is read by comparing them with what the source delivers, when the
source of the note has not changed since the last build (the very fields delivered). The tags Anki and the user
put on notes (`leech`, `marked`, their own) are never taken for edits: only a tag deckgen wrote and Anki no longer
has is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..identify.record import NoteRecord
from ..plan.model import BuildPlan, PackageNote
from ..render.card_html import without_context
from .collection import Found, collection_notes, edited_in_anki, own_ledger
from .edits import normal_form
from .ledger import Ledger
from .package import field_text

FIELD_NAMES = ("Question", "Answer")
"""The fields an edit in Anki is looked for in (Source and Status are deckgen's; fields the user added, theirs)."""
STATES = ("delivered", "edited", "changed", "conflict", "missing", "pending")
"""In the order reports list them:
- delivered: Anki holds what deckgen last delivered, and the source has not changed since;
- edited: edited in Anki since it was delivered, the source unchanged (`deckgen pull` brings it into the source);
- changed: the source changed since the last delivery, Anki's copy not edited (the next sync updates it);
- conflict: both;
- missing: not in the collection (new since the last sync, or deleted in Anki);
- pending: the collection holds an earlier delivery, and whether it was edited in Anki cannot be known (a
  collection no deckgen sync has written)."""


@dataclass(frozen=True)
class NoteStatus:
    guid: str
    question: str
    """The question as text."""
    source: str
    """`file:line` of the question now."""
    package: str
    state: str
    """One of STATES."""
    fields: tuple[str, ...] = ()
    """Of an edited note (or a conflict), the fields edited in Anki (names of FIELD_NAMES, and "Tags" when a tag
    deckgen wrote is gone); empty when they cannot be told apart (the source changed too)."""
    anki: tuple[str, ...] = ()
    """Anki's copy of the note's fields (when it is in the collection)."""
    delivered: tuple[str, ...] = ()
    """The fields deckgen delivered last, when they are known (the source unchanged since): what an edit is read
    against."""
    anki_mtime: int = 0
    delivered_markdown: str | None = None
    """The answer's Markdown as the last build delivered it (the record's)."""
    source_markdown: str | None = None
    """The answer's Markdown now."""
    note_type_changed: bool = False
    """Its note type in Anki is not the one deckgen delivered (a field or card type added or removed there): Anki
    refuses every update of it."""
    misplaced: bool = False
    """A card of it is in another deck than its question's."""


@dataclass(frozen=True)
class PackageStatus:
    key: str
    held: str | None
    """The version this collection was delivered (by `deckgen sync`); None when no sync delivered one."""
    built: str | None
    """The version the last build made."""
    next: str
    """The version the next build makes (the last build's, when nothing changed)."""


@dataclass(frozen=True)
class LibraryStatus:
    collection: str
    packages: tuple[PackageStatus, ...]
    notes: tuple[NoteStatus, ...]
    """Every live note of the library, in package and source order."""
    removed_active: tuple[NoteStatus, ...] = ()
    """Notes removed from the source with cards not suspended in Anki."""
    synced: int = 0
    """When the last sync of this library into the collection ended (0: never, or by deckgen 0.5)."""
    counts: dict[str, int] = field(default_factory=dict)


def library_status(plan: BuildPlan, col, collection: str, namespace: str) -> LibraryStatus:
    """Compare the collection `col` with the library whose next build `plan` plans (see the module)."""
    ledger = own_ledger(col, namespace)
    previous = plan.previous
    notes = {note.guid: (version.key, note) for version in plan.packages for note in version.package.notes}
    found = collection_notes(col, notes.keys())
    decks = {deck.id: deck.name for deck in col.decks.all_names_and_ids()}
    homes: dict[int, set[str]] = {}
    active: set[int] = set()
    for nid, deck, home, queue in col.db.execute("select nid, did, odid, queue from cards"):
        homes.setdefault(nid, set()).add(decks.get(home or deck, "").casefold())
        if queue != -1:
            active.add(nid)
    live, removed = [], []
    for version in plan.packages:
        for part in version.decks:
            for rendered in part.deck.notes:
                guid = rendered.identified.guid
                if guid not in notes:  # left out of the package (an error held it back)
                    continue
                question = rendered.identified.question
                where = f"{question.path}:{question.line}"
                status = _note_status(notes[guid][1], found.get(guid), previous.notes.get(guid),
                                      plan.record.notes.get(guid), ledger, version.key, where)
                misplaced = guid in found and bool(homes.get(found[guid].id, set()) - {part.name.casefold()})
                live.append(_with(status, misplaced=misplaced))
        for note in version.package.notes:
            if note.removed and note.guid in found and found[note.guid].id in active:
                removed.append(NoteStatus(note.guid, field_text(note.fields, 0), field_text(note.fields, 2),
                                          version.key, "removed"))
    packages = tuple(PackageStatus(version.key, ledger.packages.get(version.key, (None,))[0] if ledger else None,
                                   version.previous_version, version.version) for version in plan.packages)
    counts = Counter(note.state for note in live)
    return LibraryStatus(collection, packages, tuple(live), tuple(removed), ledger.synced if ledger else 0,
                         {state: counts[state] for state in STATES})


def _with(status: NoteStatus, **changes) -> NoteStatus:
    from dataclasses import replace

    return replace(status, **changes)


def _note_status(note: PackageNote, found: Found | None, last: NoteRecord | None, now: NoteRecord | None,
                 ledger: Ledger | None, package: str, where: str) -> NoteStatus:
    question = field_text(note.fields, 0)
    if found is None:
        return NoteStatus(note.guid, question, where, package, "missing")
    changed = last is None or note.mtime != last.mtime  # the source changed since the last build
    if ledger is not None and ledger.synced and last is not None and last.mtime > ledger.synced:
        changed = True  # built since the last sync: not delivered yet
    anki = found.fields
    edited = False if last is not None and found.mtime == last.mtime else edited_in_anki(found, ledger, last)
    if edited is None:  # delivered by hand: Anki's copy is newer than the last build's, or not
        edited = last is not None and found.mtime > last.mtime if not changed else None
    fields: tuple[str, ...] = ()
    if not changed:
        fields = tuple(name for index, name in enumerate(FIELD_NAMES)
                       if index < len(anki) and normal_form(without_context(anki[index]))
                       != normal_form(without_context(note.fields[index])))
        owned = {tag.casefold() for tag in found.tags}
        if any(tag.casefold() not in owned for tag in note.tags):
            fields += ("Tags",)
        edited = bool(fields)
    state = ("conflict" if changed else "edited") if edited else ("changed" if changed else "delivered")
    if edited is None:
        state = "pending"
    return NoteStatus(note.guid, question, where, package, state, fields, anki,
                      note.fields if not changed else (), found.mtime,
                      last.answer if last is not None else None, now.answer if now is not None else None,
                      note_type_changed=found.note_type != note.note_type)
