"""What a collection holds of a library, note by note, against what deckgen delivered and what the source says
now: read only, nothing written (`deckgen status`, and what `deckgen pull` starts from).

Three versions of a note meet here: what deckgen last delivered to the collection, what Anki holds, and what
the next build would deliver (the source now). No clock decides between them where what was delivered is known:
from the package this machine delivered (the collection's ledger names its version), or from the next build's
fields where they are the last build's and the collection has that build. Then an edit is a field that differs
from what was delivered, field by field. Elsewhere (another machine, a collection no sync wrote) a note whose
fields are those of the last build (the identity record keeps their hash) was not edited, and another was edited
when Anki changed it after the last sync (Anki keeps a package's time for a note it imports, and gives its own
time to a note it changes) or kept its own copy then (the ledger keeps both: see `ledger`). The tags Anki and the
user put on notes (`leech`, `marked`, their own) are never taken for edits: only a tag deckgen wrote and Anki no
longer has is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from ..identify.record import NoteRecord
from ..plan.model import BuildPlan, PackageNote
from .collection import (FIELD_NAMES, FIELDS_EDITED, Found, collection_notes, delivered_notes, edited_fields,
                         edited_in_anki, note_hash, own_ledger, same_fields)
from .ledger import Ledger
from .package import PackagedNote, field_text

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
    """Notes removed from the source with cards not suspended in Anki, or edited there (`fields`), in file order."""
    synced: int = 0
    """When the last sync of this library into the collection ended (0: never, or by deckgen 0.5)."""
    counts: dict[str, int] = field(default_factory=dict)


def library_status(plan: BuildPlan, col, collection: str, namespace: str, built_here=None) -> LibraryStatus:
    """Compare the collection `col` with the library whose next build `plan` plans (see the module);
    `built_here(key, version, digest)` is the file of a package version this machine built, or None."""
    ledger = own_ledger(col, namespace)
    held = delivered_notes(ledger, [version.key for version in plan.packages], built_here)
    previous = plan.previous
    notes = {note.guid: note for version in plan.packages for note in version.package.notes}
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
        # The last build's version is the one this collection was delivered.
        has_last_build = ledger is not None and ledger.packages.get(version.key, (None,))[0] == \
            version.previous_version
        for part in version.decks:
            for rendered in part.deck.notes:
                guid = rendered.identified.guid
                if guid not in notes:  # left out of the package (an error held it back)
                    continue
                question = rendered.identified.question
                where = f"{question.path}:{question.line}"
                status = _note_status(notes[guid], found.get(guid), previous.notes.get(guid),
                                      plan.record.notes.get(guid), ledger, held.get(guid), version.key, where,
                                      has_last_build)
                misplaced = guid in found and bool(homes.get(found[guid].id, set()) - {part.name.casefold()})
                live.append(replace(status, misplaced=misplaced))
        for note in version.package.notes:
            if note.removed and note.guid in found:
                copy = found[note.guid]
                edited = edited_in_anki(copy, ledger, previous.notes.get(note.guid), held.get(note.guid))
                # Which fields, where what was delivered is known.
                fields = ((edited_fields(copy.fields, held[note.guid].fields) if note.guid in held else ())
                          or FIELD_NAMES) if edited else ()
                if copy.id in active or edited:
                    removed.append(NoteStatus(note.guid, field_text(note.fields, 0), field_text(note.fields, 2),
                                              version.key, "removed", fields, copy.fields))
    removed.sort(key=lambda note: (note.package, _place(note.source)))
    packages = tuple(PackageStatus(version.key, ledger.packages.get(version.key, (None,))[0] if ledger else None,
                                   version.previous_version, version.version) for version in plan.packages)
    counts = Counter(note.state for note in live)
    return LibraryStatus(collection, packages, tuple(live), tuple(removed), ledger.synced if ledger else 0,
                         {state: counts[state] for state in STATES})


def _place(source: str) -> tuple[str, int]:
    """`file:line` as (file, line), to sort by."""
    path, _, line = source.rpartition(":")
    return (path, int(line)) if line.isdigit() else (source, 0)


def _note_status(note: PackageNote, found: Found | None, last: NoteRecord | None, now: NoteRecord | None,
                 ledger: Ledger | None, held: PackagedNote | None, package: str, where: str,
                 has_last_build: bool) -> NoteStatus:
    """How the note stands (see STATES). What the collection was delivered is known exactly from the package this
    machine delivered to it (`held`), or from the next build's fields where they are the last build's and the
    collection has that build; else an edit is told by `edited_in_anki`, without knowing which fields."""
    question = field_text(note.fields, 0)
    if found is None:
        return NoteStatus(note.guid, question, where, package, "missing")
    anki = found.fields
    owned = {tag.casefold() for tag in found.tags}
    fields: tuple[str, ...] = ()
    base: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # the fields and tags the collection was delivered
    if same_fields(anki[:FIELDS_EDITED], note.fields[:FIELDS_EDITED]) and all(tag.casefold() in owned
                                                                              for tag in note.tags):
        changed, edited = False, False  # Anki holds what the source says now (an edit pulled, say)
    elif found.mtime in {last.mtime if last is not None else 0, held.mtime if held is not None else 0} - {0}:
        # Anki's copy has a time deckgen stamped: it is as a package delivered it (an edit gives Anki's own time),
        # in deckgen's rendering of then if its fields differ, which the next sync does not change.
        changed, edited = note.mtime != found.mtime, False
    elif last is not None and last.pulled and found.mtime == last.pulled:
        changed, edited = True, False  # its edit is in the source (`deckgen pull`), which changed again since
    elif ledger is not None and found.id in ledger.conflicts:
        changed, edited = True, True  # Anki kept its copy against a change of the source
    else:
        # The next build delivers what the last one did (the source and deckgen's rendering unchanged), and the
        # collection has the last build's note.
        as_last = last is not None and note.mtime == last.mtime and note_hash(note.fields, note.tags) == last.html
        has_last = last is not None and (found.mtime == last.mtime or has_last_build)
        base = (held.fields, held.tags) if held is not None else \
            (note.fields, note.tags) if as_last and has_last else None
        if base is not None:
            changed = bool(edited_fields(note.fields, base[0])) or set(note.tags) != set(base[1])
            fields = edited_fields(anki, base[0]) + (("Tags",) if any(tag.casefold() not in owned
                                                                      for tag in base[1]) else ())
            edited = bool(fields)
        else:
            changed = not (as_last and has_last)
            edited = edited_in_anki(found, ledger, last)
            if edited is None and last is not None and found.mtime > last.mtime:
                edited = True  # delivered by hand, and Anki's copy is newer than the last build's
    if edited is None:
        state = "pending" if changed else "delivered"
    else:
        state = ("conflict" if changed else "edited") if edited else ("changed" if changed else "delivered")
    return NoteStatus(note.guid, question, where, package, state, fields, anki, base[0] if base else (), found.mtime,
                      last.answer if last is not None else None, now.answer if now is not None else None,
                      note_type_changed=found.note_type != note.note_type)
