"""Per-note decisions: for each deck, what each note becomes in the next version (unchanged, new, changed,
renamed, restored, removed or replaced), its time, its record, and what its package carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from ..errors import Diagnostic
from ..hashing import digest
from ..identify.delivered import Delivered
from ..identify.note_type_guard import REPLACED_TAG, DeckNoteType, fresh_start_warning, note_type_of_record
from ..identify.note_types import NoteType
from ..identify.ownership import Minted, proof
from ..identify.record import DeckRecord, IdentityRecord, NoteRecord, NoteTypeRecord, same_delivery
from ..names import safe_tag
from ..parse.syntax import question_key
from ..render.anki_cloze import ClozeField
from ..render.card_html import REMOVED_STATUS, REPLACED_STATUS, source_field
from ..render.decks import RenderedDeck, RenderedNote, RenderedTombstone, held_in_description, note_media
from ..render.media import MediaRef
from ..render.renderer import RenderedText
from .cleaning import CLEANING, held_before
from .fingerprints import author_fingerprint, html_hash
from .lint import cloze_warnings, moved_warnings, restored_warning
from .model import REMOVED_SUBDECK, REMOVED_TAG, MediaFiles, NoteChange, PackageNote, add_media


@dataclass(frozen=True)
class Tombstone:
    """A removed or replaced note as its package may carry it."""

    record: NoteRecord
    tags: tuple[str, ...] | None
    """None for a record kept as it is (it names a note type the record lacks)."""
    fields: tuple[str, str, str] | None
    mtime: int
    rendered: RenderedTombstone | None
    note_type: int
    deck: str
    """Where a first import puts its cards."""
    marked: bool = False
    """Marked removed (or replaced) by this build: its bound counts from this version."""


@dataclass(frozen=True)
class DeckShare:
    """One deck's notes, records and changes, before its package's version is known."""

    deck: RenderedDeck
    name: str
    notes: list[PackageNote]
    records: list[NoteRecord]
    changes: list[NoteChange]
    tombstones: list[Tombstone]
    media: MediaFiles
    diagnostics: list[Diagnostic]
    deck_record: DeckRecord
    note_type_record: NoteTypeRecord
    other_note_types: dict[int, tuple[NoteType, int]]
    type_change: str | None
    deck_changed: bool
    pending: int
    description: str = ""
    """The hash of its description (see `description_hash`) that a new version of its package records: the one
    `deck_record` has, or, where that is a hash deckgen 0.6.1 made, of its Markdown alone, the full one."""
    description_changed: bool = False


@dataclass(frozen=True)
class _Deck:
    """What every note of one deck is planned against."""

    previous: IdentityRecord
    delivered: Delivered
    stamp: int
    """The time of whatever this build changes."""
    render_version: int
    old_render: int
    """The oldest render version the record's packages were delivered with."""
    rerender: bool
    source_url: str | None
    namespace: str | None
    proofs: Mapping[str, Minted]
    key: str
    display: str
    cards: str
    name: str
    note_type: NoteType
    replaced: DeckNoteType | None
    type_change: str | None
    held: bool = False
    """The deck's file has an error: its notes are the record's, kept as they are (see `identify.held`)."""
    holding: bool = False
    """Some deck file is held back: a question gone from this one may have moved into it, so none is marked
    removed by this build."""


@dataclass
class _Planned:
    """What a deck's notes add up to, as they are planned one by one."""

    records: list[NoteRecord] = field(default_factory=list)
    notes: list[PackageNote] = field(default_factory=list)
    changes: list[NoteChange] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)
    media: MediaFiles = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    other_note_types: dict[int, tuple[NoteType, int]] = field(default_factory=dict)
    moved: list = field(default_factory=list)
    pending: int = 0
    postponed: int = 0


def plan_deck(deck: RenderedDeck, previous: IdentityRecord, delivered: Delivered, stamp: int, render_version: int,
              rerender: bool, source_url: str | None, namespace: str | None,
              proofs: Mapping[str, Minted], holding: bool = False) -> DeckShare:
    """What each note of `deck` becomes in the next version, and the deck's own record."""
    source = deck.identified.parsed.source
    settings, key = source.settings, source.file.key
    choice = deck.identified.note_type
    note_type, replaced = choice.note_type, choice.replaced
    old_deck = previous.decks.get(key)
    name = settings.name if (settings.name_set and not deck.identified.parsed.held) or old_deck is None \
        else old_deck.name
    type_record = note_type_record(note_type, stamp if choice.change else previous.note_types[note_type.model_id].mtime)
    context = _Deck(previous, delivered, stamp, render_version,
                    min((p.render for p in previous.packages.values()), default=render_version), rerender,
                    source_url, namespace, proofs, key, source.file.display, settings.cards, name, note_type, replaced,
                    "fresh start" if replaced is not None else choice.change, deck.identified.parsed.held, holding)
    planned = _Planned(diagnostics=[choice.problem] if choice.problem else [])
    if replaced is not None:
        left = sum(1 for t in deck.tombstones if t.record.model is None and not t.record.removed)
        planned.diagnostics.append(fresh_start_warning(deck.identified.parsed, choice, left))
    for note in deck.notes:
        _plan_note(note, context, planned)
    for tombstone in deck.tombstones:
        _plan_tombstone(tombstone, context, planned)
    if planned.postponed:
        planned.diagnostics.append(Diagnostic(source.path, 0, (
            f"{planned.postponed} question(s) gone from this file are not marked removed while files are held "
            "back (they may have moved into one): the first build that holds none back marks them"), "warning",
            "removal-postponed"))
    full = description_hash(deck.identified.parsed.description, deck.description_media)
    alone = digest(deck.identified.parsed.description, length=16)
    # deckgen 0.6.1 and before hashed the Markdown alone: such a hash stands while the Markdown is the same (an
    # upgrade makes no new version); the package's next version records the full one (see `_plan_package`).
    description = alone if old_deck is not None and old_deck.description == alone else full
    if old_deck is not None and old_deck.name != name:
        planned.diagnostics.append(Diagnostic(source.path, 0, (
            f"the deck's name changed from {old_deck.name!r} to {name!r}: Anki finds decks by name, so "
            "it will make a new deck for new notes while existing cards stay in the old one"),
            code="deck-renamed", once=True))
    compared = old_deck is not None and not context.held
    description_changed = compared and old_deck.description not in ("", description)
    deck_changed = compared and (description_changed or old_deck.name != name)
    deck_record = old_deck if context.held and old_deck is not None else DeckRecord(
        deck=key, name=name, model=note_type.model_id, description=description,
        mtime=stamp if old_deck is None or deck_changed or context.type_change else old_deck.mtime)
    planned.diagnostics.extend(moved_warnings(planned.moved, name, note_type))
    return DeckShare(deck, name, planned.notes, planned.records, planned.changes, planned.tombstones, planned.media,
                     planned.diagnostics, deck_record, type_record, planned.other_note_types, context.type_change,
                     deck_changed, planned.pending, deck_record.description if context.held else full,
                     description_changed)


def description_hash(markdown: str, images: tuple[MediaRef, ...]) -> str:
    """What the record keeps of a deck's description, to know when it changed: a hash of its Markdown and, when it
    names images, of what its HTML holds of each (the image, by its content's name, or not: see
    `render.decks._images_inline`); so a new version carries an image that appears, changes or goes."""
    if not images:
        return digest(markdown, length=16)
    return digest(markdown, *(f"{ref.src} {ref.name if held_in_description(ref) else 'not included'}"
                              for ref in images), length=16)


def _plan_note(note: RenderedNote, deck: _Deck, planned: _Planned) -> None:
    """A live note: unchanged (its very record kept), or new, changed, renamed or restored at the build's time."""
    previous, delivered, key, name, note_type = deck.previous, deck.delivered, deck.key, deck.name, deck.note_type
    rerender, display = deck.rerender, deck.display
    identified, question = note.identified, note.identified.question
    record = identified.record
    diagnostics = planned.diagnostics
    if deck.held:  # the record's note, as the last build delivered it: Anki skips it, the record keeps its line
        if record is not None and record.deck == key:
            _kept_as_recorded(record, note.question, note.answer, note.tags, note_type.model_id, name, deck, planned)
        return
    if record is not None and record.deck != key and record.deck in previous.decks \
            and previous.decks[record.deck].name != name:
        planned.moved.append((question, previous.decks[record.deck].name, note.question.html))
    if note_type.cloze and not ClozeField(note.answer.html).numbers:
        diagnostics.append(Diagnostic(question.path, question.answer_line, (
            "no cloze deletion such as {{c1::…}} in this answer: Anki would make no card for it"),
            "error", "no-cloze"))
    elif note_type.cloze and record is not None and record.answer != question.answer:
        diagnostics.extend(cloze_warnings(question, record.answer))
    fields = (note.question.html, note.answer.html, "")
    named = note.question.media or note.answer.media  # any image at all, bundled or not
    images = note_media(note.question, note.answer) if named else ()
    if (not named and record is not None and record.fingerprint and not record.removed
            and (record.question, record.answer, record.sections, record.tags, record.deck)
            == (question.title, question.answer, question.sections, note.tags, key) and deck.type_change is None):
        fingerprint = record.fingerprint  # the very same inputs: no need to hash them again
    else:
        fingerprint = author_fingerprint(question.title, question.answer, question.sections, note.tags,
                                         deck.cards, display, images)
    if note.syntax_tags and record is not None and record.fingerprint and fingerprint != record.fingerprint \
            and record.fingerprint == author_fingerprint(
                question.title, question.answer, question.sections,
                tuple(t for t in note.tags if t not in note.syntax_tags), deck.cards, display, images):
        # Only the tags deckgen now reads from how the text is written differ: a change of deckgen's, not of
        # the note, brought to it by --rerender like any new rendering.
        fingerprint = record.fingerprint if not rerender else fingerprint
        kind, rendering = (None, False) if not rerender else ("changed", True)
    else:
        kind, rendering = _change(record, identified.reworded, question, note.tags, fingerprint), False
    reverted = kind is None and behind(record, delivered)
    if reverted:
        kind = "restored" if delivered.notes[record.guid].removed else "changed"
    if kind == "restored":
        removed_in = record.removed_in if record.removed else delivered.notes[record.guid].removed_in
        diagnostics.append(restored_warning(question, name, removed_in, note_type.fields[0],
                                             note.question.html))
    # The HTML's hash matters only for what changes, and where deckgen's rendering may reach cards.
    html_now = html_hash(fields, note.tags) if kind is not None or rerender or deck.old_render < deck.render_version \
        or not record.html else record.html
    cleaned = False
    if kind is None and record.html != html_now:
        if rerender:
            kind, rendering = "changed", True
        elif deck.old_render < CLEANING and (held_before(question.title, note.question)
                                             or held_before(question.answer, note.answer)):
            kind, rendering, cleaned = "changed", True, True
        elif deck.old_render < deck.render_version:
            planned.pending += 1
    if kind is None and record.fingerprint and record.html and (record.deck, record.explicit_id) == (
            key, question.explicit_id) and (record.minted or record.guid not in deck.proofs):
        planned.records.append(record)  # the very record read: the file keeps its line as it is
        mtime, source_line = record.mtime, record.source
    else:
        if kind is None:
            mtime, source_line, html = record.mtime, record.source, record.html or html_now
        else:
            # An edit pulled from Anki (see `deliver.pull`) takes Anki's time for it, and its Source stays as Anki has
            # it: the collection it came from holds the very note, and skips it.
            pulled = record is not None and record.pulled and record.pulled_html == html_now and \
                record.mtime < record.pulled <= deck.stamp and record.source.rpartition(":")[0] == display
            mtime, source_line, html = (record.pulled, record.source, html_now) if pulled else \
                (deck.stamp, f"{display}:{question.line}", html_now)
            planned.changes.append(NoteChange(kind, question.title, source_line,
                                              record.question if identified.reworded else None, rendering, cleaned,
                                              reverted))
        planned.records.append(NoteRecord(
            guid=identified.guid, deck=key, question=question.title, answer=question.answer,
            sections=question.sections, tags=note.tags, fingerprint=fingerprint, html=html, mtime=mtime,
            source=source_line, explicit_id=question.explicit_id,
            minted=_minted(identified, record, key, previous, deck.namespace, deck.proofs)))
    planned.notes.append(PackageNote(identified.guid, (*fields[:2], source_field(
        source_line, question.title, deck.source_url), fields[2]), note.tags, mtime, note_type.model_id, name))
    add_media(planned.media, note.question, note.answer)


def _plan_tombstone(tombstone: RenderedTombstone, deck: _Deck, planned: _Planned) -> None:
    """A removed or replaced note: marked so once, then delivered as it was marked."""
    previous, delivered, key, name, note_type = deck.previous, deck.delivered, deck.key, deck.name, deck.note_type
    record = tombstone.record
    if deck.holding and not record.removed and record.model is None and deck.replaced is None:
        # Gone from its file while another is held back, where it may be now: kept as it was delivered.
        recorded = previous.decks.get(record.deck)
        _kept_as_recorded(record, tombstone.question, tombstone.answer, record.tags,
                          recorded.model if recorded else note_type.model_id, recorded.name if recorded else name,
                          deck, planned)
        planned.postponed += 1
        return
    if deck.replaced is not None and record.model is None and record.deck == key:  # left behind by this fresh start
        record = msgspec.structs.replace(record, model=deck.replaced.note_type)
    model = record.model or (previous.decks[record.deck].model if record.deck in previous.decks
                             else note_type.model_id)
    home = f"{previous.decks[record.deck].name if record.deck in previous.decks else name}::{REMOVED_SUBDECK}"
    if model not in previous.note_types and model != note_type.model_id:
        planned.tombstones.append(Tombstone(record, None, None, record.mtime, None, model, home))  # a hand-made
        return  # record, naming a note type it lacks: kept as it is
    # A note comes to be replaced or removed once; from then on it is shown as it was marked, and
    # delivered with the time it was marked at (unless this machine has delivered it since: see `behind`).
    replacing = record.model is not None and not record.removed
    marker = REPLACED_TAG if replacing or (record.removed and REPLACED_TAG in record.tags) else REMOVED_TAG
    tags = tuple(sorted({safe_tag(tag) for tag in record.tags} - {""} | {marker}))
    fields = (tombstone.question.html, tombstone.answer.html,
              REPLACED_STATUS if marker == REPLACED_TAG else REMOVED_STATUS)
    reverted = bool(record.removed) and behind(record, delivered)
    if not record.removed or reverted:
        planned.changes.append(NoteChange("replaced" if replacing else "removed", record.question, record.source,
                                  reverted=reverted))
    cleaned = bool(record.removed) and not reverted and deck.old_render < CLEANING and (
        held_before(record.question, tombstone.question) or held_before(record.answer, tombstone.answer)) \
        and record.html != html_hash(fields, tags)
    if cleaned:
        planned.changes.append(NoteChange("changed", record.question, record.source, rendering=True, cleaned=True))
    planned.tombstones.append(Tombstone(record, tags, fields, deck.stamp if not record.removed or reverted or cleaned
                                        else record.mtime, tombstone, model, home,
                                        marked=not record.removed or reverted))
    if model != note_type.model_id:
        recorded = previous.note_types[model]
        planned.other_note_types[model] = (note_type_of_record(recorded), recorded.mtime)


def _kept_as_recorded(record: NoteRecord, question: RenderedText, answer: RenderedText, tags: tuple[str, ...],
                      model: int, deck_name: str, deck: _Deck, planned: _Planned) -> None:
    """A note this build leaves as the last build delivered it (its file is held back, or it may have moved into
    one): its very record kept, its content delivered with the record's time, which Anki skips."""
    planned.records.append(record)
    planned.notes.append(PackageNote(record.guid, (question.html, answer.html, source_field(
        record.source, record.question, deck.source_url), ""), tags, record.mtime, model, deck_name))
    add_media(planned.media, question, answer)


def _change(record: NoteRecord | None, reworded: bool, question, tags: tuple[str, ...], fingerprint: str
            ) -> str | None:
    """What happened to a note since the record: None when nothing did."""
    if record is None:
        return "new"
    if record.removed:
        return "restored"
    if not record.fingerprint:  # converted from deckgen 0.1: the same Markdown is the same note
        same = (record.question, record.answer, record.tags) == (question.title, question.answer, tags)
        return None if same else "renamed" if reworded else "changed"
    if record.fingerprint == fingerprint:
        return None
    return "renamed" if reworded else "changed"


def _minted(identified, record: NoteRecord | None, key: str, previous: IdentityRecord, namespace: str | None,
            proofs: Mapping[str, Minted]) -> Minted:
    """What the record keeps of what a note's GUID was minted from: a new note's, when it says it; the record's
    as it was; or, for a note reworded or moved now (or before, as `proofs` shows), what shows it was minted
    from its text and deck as they were, which the record will no longer hold (see `ownership`)."""
    if record is None:
        return identified.minted
    if record.minted:
        return record.minted
    question = identified.question
    was = (record.deck, record.explicit_id or question_key(record.question))
    if record.guid in proofs or was != (key, question.explicit_id or question.key):
        return proofs.get(record.guid) or proof(previous, namespace, record) or ()
    return ()


def behind(record: NoteRecord | None, delivered: Delivered) -> bool:
    """Whether this machine last delivered other content for the note, at a time Anki would not go back from:
    the record's content must then be delivered again, later."""
    if record is None:
        return False
    last = delivered.notes.get(record.guid)
    return last is not None and last is not record and last.mtime >= record.mtime and not same_delivery(last, record)


def note_type_record(note_type: NoteType, mtime: int) -> NoteTypeRecord:
    return NoteTypeRecord(note_type=note_type.model_id, name=note_type.name, fields=note_type.fields,
                          templates=tuple(name for name, _, _ in note_type.templates), sort_field=note_type.sort_field,
                          cloze=note_type.cloze, fingerprint=note_type.fingerprint, mtime=mtime)
