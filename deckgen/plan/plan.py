"""Decide what the next build is: each note's time, each package's version, what changed, the new record.

A pure function of the rendered decks and the identity record, with the
clock passed in: no renderer, no cache, no writing. What decides whether a
note changed is a fingerprint of what its author wrote (`author_fingerprint`),
never its HTML: a new version of a rendering library changes no note, and
two people with different ones build the same versions. Anki updates a note
only when its time grows, so only notes whose fingerprint changed get a new
time, later than any the record holds; the HTML delivered with it is
recorded too (`html_hash`), so that `rerender` can later bring deckgen's
new rendering to exactly the notes it changes.
"""

from __future__ import annotations

import dataclasses
import html
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import msgspec

from ..render.anki_cloze import ClozeField
from ..identify.delivered import Delivered, content_digest
from ..errors import Diagnostic
from ..identify.record import DeckRecord, IdentityRecord, NoteRecord, NoteTypeRecord, PackageRecord, same_delivery
from ..names import package_file_name
from ..render.media import MediaRef
from ..identify.note_type_guard import REPLACED_TAG, fresh_start_warning, note_type_of_record
from ..identify.note_types import NOTE_TYPES, NoteType
from ..identify.ownership import Minted, proof
from ..identify.decks import IdentifiedLibrary
from ..render import cache as render_cache
from ..render.decks import RenderedDeck, RenderedLibrary, RenderedText, RenderedTombstone, note_media
from ..sources.settings import LibrarySettings, version_key
from ..render.sanitize import SYNTAX, UNSAFE, inert, kind_of
from ..parse.syntax import cloze_changes, question_key
from ..names import safe_tag

CHANGE_KINDS = ("new", "changed", "renamed", "restored", "removed", "replaced")  # in the order reports list them
REMOVED_TAG = "deckgen::removed"
FIRST_VERSION = "1.0.0"
REMOVED_STATUS = "Removed from the source: this note is no longer in the Markdown."
REPLACED_STATUS = ("Replaced: this deck's questions are now notes of another note type, and this note is no "
                   "longer updated.")
REMOVED_SUBDECK = "Removed"
REMOVED_SUBDECK_DESCRIPTION = (
    "Questions removed from this deck's source, or left behind by a new note type: who imports the deck for the "
    "first time finds their cards here, out of the way. Cards you had before stay where they were.")
DAY = 86400
FINGERPRINT_FORMAT = 1
CLEANING = 3
"""The render version from which every field is cleaned by one allowlist (deckgen 0.3): a note delivered by an
earlier one whose HTML differs from today's, and held what the cleaning now removes (`_held_before`: maybe
script), is delivered again by the next build, without --rerender (an upgrade's one re-stamp, on purpose)."""
# What deckgen 0.2 cleaned (its `sanitize`), to tell which of today's removals its packages held: it cleaned a
# text's HTML only where its Markdown (tabs and line ends taken out) held one of these; it broke these MathJax
# commands, as written; it removed a style holding these; it kept `id`, `name`, `class` and data: images.
_CLEANED_BY_0_2 = re.compile(r"<[A-Za-z!/?]|&|script\s*:|data\s*:", re.IGNORECASE)
_TEX_BROKEN_BY_0_2 = frozenset({"href", "url", "style", "class", "cssId", "data", "csname"})
_STYLE_REMOVED_BY_0_2 = re.compile(r"expression\s*\(|url\s*\(|javascript:|@import|behavior\s*:", re.IGNORECASE)
_ID_KEPT_BY_0_2 = re.compile(r' id="dg-(?!fn:|fnref:)')


class NoteChange(msgspec.Struct, frozen=True):
    """A note this build adds, changes, renames, removes or restores."""

    kind: str
    """One of CHANGE_KINDS."""
    question: str
    source: str
    """`file:line` of the question (for a removed note, where it last was)."""
    previous_question: str | None = None
    rendering: bool = False
    """Changed only by deckgen's rendering (`rerender`, or `cleaned`), not by its source."""
    cleaned: bool = False
    """Delivered again because deckgen's cleaning now removes what its delivered HTML held (see CLEANING)."""
    reverted: bool = False
    """Unchanged in the record, but this machine last delivered other content for it (a revert, another
    branch): delivered again, later, so that Anki goes back to what the source says."""


class PackageNote(msgspec.Struct, frozen=True):
    """One note as it goes into the package."""

    guid: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mtime: int
    """Seconds; Anki updates an existing note only when this is newer than its own."""
    note_type: int
    """The id of its note type."""
    deck: str
    """The Anki deck a first import puts its cards in (an import never moves the cards of a note it has)."""
    removed: bool = False
    """A removed or replaced note: a first import puts its cards in a `Removed` subdeck."""


@dataclass(frozen=True)
class PackageDeck:
    """One Anki deck of a package."""

    name: str
    description: str
    """HTML; "" for none (Anki then keeps the description it has)."""


@dataclass(frozen=True)
class PackageContent:
    """Everything one .apkg holds."""

    decks: tuple[PackageDeck, ...]
    note_types: tuple[tuple[NoteType, int], ...]
    """Each note type its notes have, with its mtime, by id."""
    notes: tuple[PackageNote, ...]
    first_id: int
    """Base of the note and card ids inside the package (Anki only makes them unique)."""
    media: tuple[MediaRef, ...] = ()
    """The images to bundle (checked: see `media`), sorted by their names in Anki's media folder."""

    def note_type_of(self, note: PackageNote) -> NoteType:
        return next(note_type for note_type, _ in self.note_types if note_type.model_id == note.note_type)


@dataclass(frozen=True)
class DeckPart:
    """One deck's share of a package's next version."""

    deck: RenderedDeck
    name: str
    """Its Anki name: as recorded, unless its settings name it (Anki finds decks by name)."""
    changes: tuple[NoteChange, ...]
    unchanged: int
    note_type_change: str | None
    """None, or what happens to the note type: "new", "styling updated", "fresh start" (see `note_type_guard`)."""

    @property
    def key(self) -> str:
        return self.deck.identified.parsed.source.file.key

    @property
    def note_type(self) -> NoteType:
        return self.deck.identified.note_type.note_type

    @property
    def card_count(self) -> int:
        """The cards its notes make: one a template, or for cloze one a deletion number."""
        if self.note_type.cloze:
            return sum(len(ClozeField(note.answer.html).numbers) for note in self.deck.notes)
        return len(self.deck.notes) * len(self.note_type.templates)


@dataclass(frozen=True)
class VersionPlan:
    """The next build of one package: its decks' changes, its version, and its content."""

    key: str
    """The package's key: its files are `<key>-<version>.apkg` and `<key>.changelog.md`."""
    decks: tuple[DeckPart, ...]
    previous_version: str | None
    """The version last built; None on the first build."""
    version: str
    package: PackageContent
    changes: tuple[NoteChange, ...]
    """Every deck's, in deck order; removed notes of decks whose file is gone too."""
    rerender_pending: int = 0
    """Notes that would look different with this deckgen's rendering (see `--rerender`)."""
    digest: str = ""
    """A digest of the version's content (see `delivered`): one version, one content."""
    removed_carried: int = 0
    removed_dropped: int = 0
    """Removed notes this version's package carries, and those past the bound (see `LibrarySettings`)."""

    @property
    def name(self) -> str:
        """What reports call it: its deck's name, or its key when it holds several decks."""
        return self.decks[0].name if len(self.decks) == 1 else self.key

    @property
    def note_count(self) -> int:
        return sum(len(part.deck.notes) for part in self.decks)

    @property
    def unchanged(self) -> int:
        return sum(part.unchanged for part in self.decks)

    @property
    def note_type_change(self) -> str | None:
        """The weightiest of its decks' note-type changes."""
        changes = [part.note_type_change for part in self.decks if part.note_type_change]
        return max(changes, key=("styling updated", "new", "fresh start").index, default=None)

    @property
    def is_new_version(self) -> bool:
        return self.previous_version != self.version

    @property
    def file_name(self) -> str:
        """The name of this version's package (see `ids.package_file_name`)."""
        return package_file_name(self.key, self.version)


@dataclass(frozen=True)
class BuildPlan:
    """The next build of a library: each package's plan, and the identity record to write."""

    packages: tuple[VersionPlan, ...]
    record: IdentityRecord
    previous: IdentityRecord
    diagnostics: tuple[Diagnostic, ...]


def summary_line(plan: VersionPlan) -> str:
    """How many notes a package holds, in how many decks."""
    decks = f" in {len(plan.decks)} decks" if len(plan.decks) > 1 else ""
    return f"{plan.note_count} notes{decks}"


def author_fingerprint(question: str, answer: str, sections: Sequence[str], tags: Sequence[str], cards: str,
                       source_file: str, media: Sequence[MediaRef]) -> str:
    """Hash of what the author controls about a note: its Markdown, sections and tags (from the headings and
    topic rules), its card type, the file it is in, and the bytes of the images it shows."""
    # \x1e and \x1f cannot occur in any of the parts (sources with control characters are refused).
    parts = (str(FINGERPRINT_FORMAT), question, answer, "\x1f".join(sections), "\x1f".join(tags), cards,
             source_file, "\x1f".join(sorted(ref.digest for ref in media)))
    return _hash("\x1e".join(parts))


def html_hash(fields: Sequence[str], tags: Sequence[str]) -> str:
    """Hash of a note's fields and tags as a package delivers them, less its source line (deckgen 0.1's
    fingerprint, kept the same so that its records say what their packages delivered)."""
    return _hash("\x1f".join(fields) + "\x1e" + " ".join(tags))  # \x1f cannot occur in a field


def plan_next_build(rendered: RenderedLibrary, identified: IdentifiedLibrary, settings: LibrarySettings, now: float,
                    rerender: bool = False) -> BuildPlan:
    """The plan stage of a library (see `plan_build`)."""
    return plan_build(rendered.decks, identified.record, now, render_cache.RENDER_VERSION, identified.packages, rerender,
                      identified.delivered, settings, identified.namespace, identified.proven)


def plan_build(decks: Sequence[RenderedDeck], previous: IdentityRecord, now: float, render_version: int,
               packages: Mapping[str, str], rerender: bool = False, delivered: Delivered | None = None,
               settings: LibrarySettings = LibrarySettings(), namespace: str | None = None,
               proofs: Mapping[str, Minted] | None = None) -> BuildPlan:
    """Plan the next build of `decks` after the ones `previous` records, and the ones `delivered` says this
    machine built (see `delivered`). `packages` gives each deck's package (by deck key); `settings` bound how
    long removed notes are carried, and may ask for a version. `namespace` and `proofs` (what the record's
    history shows notes to be minted from) let a note reworded or moved keep what its GUID was minted from
    (see `ownership`)."""
    delivered = delivered or Delivered()
    stamp = max(int(now), previous.max_mtime() + 1, delivered.max_mtime() + 1)
    plans, diagnostics = [], []
    notes, package_records = dict(previous.notes), dict(previous.packages)
    deck_records, note_types = dict(previous.decks), dict(previous.note_types)
    parts = [_plan_deck(deck, previous, delivered, stamp, render_version, rerender, settings.source_url, namespace,
                        proofs or {}) for deck in decks]
    for part in parts:
        diagnostics.extend(part.diagnostics)
        deck_records[part.deck_record.deck] = part.deck_record
        note_types[part.note_type_record.note_type] = part.note_type_record
    for key in sorted(set(packages.values())):
        members = [part for part in parts if packages[part.deck.identified.parsed.source.file.key] == key]
        plan, package_record, records = _plan_package(key, members, previous, delivered, settings, stamp,
                                                      render_version, rerender)
        plans.append(plan)
        package_records[key] = package_record
        notes.update((note.guid, note) for note in records)
    diagnostics.extend(_clashes(plans))
    record = IdentityRecord(packages=package_records, decks=deck_records, note_types=note_types, notes=notes,
                            lines=previous.lines, tidy=previous.tidy, legacy=previous.legacy)
    return BuildPlan(packages=tuple(plans), record=_same_where_unchanged(record, previous), previous=previous,
                     diagnostics=tuple(diagnostics))


@dataclass(frozen=True)
class _Tombstone:
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
class _DeckShare:
    """One deck's notes, records and changes, before its package's version is known."""

    deck: RenderedDeck
    name: str
    notes: list[PackageNote]
    records: list[NoteRecord]
    changes: list[NoteChange]
    tombstones: list[_Tombstone]
    media: dict[str, MediaRef]
    diagnostics: list[Diagnostic]
    deck_record: DeckRecord
    note_type_record: NoteTypeRecord
    other_note_types: dict[int, tuple[NoteType, int]]
    type_change: str | None
    deck_changed: bool
    pending: int


def _plan_deck(deck: RenderedDeck, previous: IdentityRecord, delivered: Delivered, stamp: int, render_version: int,
               rerender: bool, source_url: str | None, namespace: str | None,
               proofs: Mapping[str, Minted]) -> _DeckShare:
    source = deck.identified.parsed.source
    settings, key, display = source.settings, source.file.key, source.file.display
    choice = deck.identified.note_type
    note_type, replaced = choice.note_type, choice.replaced
    old_deck = previous.decks.get(key)
    name = settings.name if settings.name_set or old_deck is None else old_deck.name
    old_render = min((p.render for p in previous.packages.values()), default=render_version)
    type_record = _note_type_record(note_type, stamp if choice.change else previous.note_types[note_type.model_id].mtime)
    type_change = "fresh start" if replaced is not None else choice.change
    diagnostics = [choice.problem] if choice.problem else []
    if replaced is not None:
        left = sum(1 for t in deck.tombstones if t.record.model is None and not t.record.removed)
        diagnostics.append(fresh_start_warning(deck.identified.parsed, choice, left))
    records, package_notes, changes, media, pending, moved = [], [], [], {}, 0, []
    for note in deck.notes:
        identified, question = note.identified, note.identified.question
        record = identified.record
        if record is not None and record.deck != key and record.deck in previous.decks \
                and previous.decks[record.deck].name != name:
            moved.append((question, previous.decks[record.deck].name, note.question.html))
        if note_type.cloze and not ClozeField(note.answer.html).numbers:
            diagnostics.append(Diagnostic(question.path, question.answer_line, (
                "no cloze deletion such as {{c1::…}} in this answer: Anki would make no card for it"),
                "error", "no-cloze"))
        elif note_type.cloze and record is not None and record.answer != question.answer:
            diagnostics.extend(_cloze_warnings(question, record.answer))
        fields = (note.question.html, note.answer.html, "")
        named = note.question.media or note.answer.media  # any image at all, bundled or not
        images = note_media(note.question, note.answer) if named else ()
        if (not named and record is not None and record.fingerprint and not record.removed
                and (record.question, record.answer, record.sections, record.tags, record.deck)
                == (question.title, question.answer, question.sections, note.tags, key) and type_change is None):
            fingerprint = record.fingerprint  # the very same inputs: no need to hash them again
        else:
            fingerprint = author_fingerprint(question.title, question.answer, question.sections, note.tags,
                                             settings.cards, display, images)
        if note.syntax_tags and record is not None and record.fingerprint and fingerprint != record.fingerprint \
                and record.fingerprint == author_fingerprint(
                    question.title, question.answer, question.sections,
                    tuple(t for t in note.tags if t not in note.syntax_tags), settings.cards, display, images):
            # Only the tags deckgen now reads from how the text is written differ: a change of deckgen's, not of
            # the note, brought to it by --rerender like any new rendering.
            fingerprint = record.fingerprint if not rerender else fingerprint
            kind, rendering = (None, False) if not rerender else ("changed", True)
        else:
            kind, rendering = _change(record, identified.reworded, question, note.tags, fingerprint)
        reverted = kind is None and _behind(record, delivered)
        if reverted:
            kind = "restored" if delivered.notes[record.guid].removed else "changed"
        if kind == "restored":
            removed_in = record.removed_in if record.removed else delivered.notes[record.guid].removed_in
            diagnostics.append(_restored_warning(question, name, removed_in, note_type.fields[0],
                                                 note.question.html))
        # The HTML's hash matters only for what changes, and where deckgen's rendering may reach cards.
        html_now = html_hash(fields, note.tags) if kind is not None or rerender or old_render < render_version \
            or not record.html else record.html
        cleaned = False
        if kind is None and record.html != html_now:
            if rerender:
                kind, rendering = "changed", True
            elif old_render < CLEANING and (_held_before(question.title, note.question)
                                            or _held_before(question.answer, note.answer)):
                kind, rendering, cleaned = "changed", True, True
            elif old_render < render_version:
                pending += 1
        if kind is None and record.fingerprint and record.html and (record.deck, record.explicit_id) == (
                key, question.explicit_id) and (record.minted or record.guid not in proofs):
            records.append(record)  # the very record read: the file keeps its line as it is
            package_notes.append(PackageNote(identified.guid, (*fields[:2], _source(record.source, question.title,
                                                                                     source_url), fields[2]),
                                             note.tags, record.mtime, note_type.model_id, name))
            media.update((ref.name, ref) for ref in images)
            continue
        if kind is None:
            mtime, source_line, html = record.mtime, record.source, record.html or html_now
        else:
            mtime, source_line, html = stamp, f"{display}:{question.line}", html_now
            changes.append(NoteChange(kind, question.title, source_line,
                                      record.question if identified.reworded else None, rendering, cleaned, reverted))
        records.append(NoteRecord(guid=identified.guid, deck=key, question=question.title, answer=question.answer,
                                  sections=question.sections, tags=note.tags, fingerprint=fingerprint, html=html,
                                  mtime=mtime, source=source_line, explicit_id=question.explicit_id,
                                  minted=_minted(identified, record, key, previous, namespace, proofs)))
        package_notes.append(PackageNote(identified.guid, (*fields[:2], _source(source_line, question.title, source_url),
                                                           fields[2]), note.tags, mtime, note_type.model_id, name))
        media.update((ref.name, ref) for ref in images)

    tombstones, other_types = [], {}
    for tombstone in deck.tombstones:
        record = tombstone.record
        if replaced is not None and record.model is None and record.deck == key:  # left behind by this fresh start
            record = msgspec.structs.replace(record, model=replaced.note_type)
        model = record.model or (previous.decks[record.deck].model if record.deck in previous.decks
                                 else note_type.model_id)
        home = f"{previous.decks[record.deck].name if record.deck in previous.decks else name}::{REMOVED_SUBDECK}"
        if model not in previous.note_types and model != note_type.model_id:
            tombstones.append(_Tombstone(record, None, None, record.mtime, None, model, home))  # a hand-made record
            continue  # names a note type it lacks: kept as it is
        # A note comes to be replaced or removed once; from then on it is shown as it was marked, and
        # delivered with the time it was marked at (unless this machine has delivered it since: see `_behind`).
        replacing = record.model is not None and not record.removed
        marker = REPLACED_TAG if replacing or (record.removed and REPLACED_TAG in record.tags) else REMOVED_TAG
        tags = tuple(sorted({safe_tag(tag) for tag in record.tags} - {""} | {marker}))
        fields = (tombstone.question.html, tombstone.answer.html,
                  REPLACED_STATUS if marker == REPLACED_TAG else REMOVED_STATUS)
        reverted = bool(record.removed) and _behind(record, delivered)
        if not record.removed or reverted:
            changes.append(NoteChange("replaced" if replacing else "removed", record.question, record.source,
                                      reverted=reverted))
        cleaned = bool(record.removed) and not reverted and old_render < CLEANING and (
            _held_before(record.question, tombstone.question) or _held_before(record.answer, tombstone.answer)) \
            and record.html != html_hash(fields, tags)
        if cleaned:
            changes.append(NoteChange("changed", record.question, record.source, rendering=True, cleaned=True))
        tombstones.append(_Tombstone(record, tags, fields, stamp if not record.removed or reverted or cleaned
                                     else record.mtime, tombstone, model, home, marked=not record.removed or reverted))
        if model != note_type.model_id:
            recorded = previous.note_types[model]
            other_types[model] = (note_type_of_record(recorded), recorded.mtime)

    description = _hash(deck.identified.parsed.description)
    if old_deck is not None and old_deck.name != name:
        diagnostics.append(Diagnostic(source.path, 0, (
            f"the deck's name changed from {old_deck.name!r} to {name!r}: Anki finds decks by name, so "
            "it will make a new deck for new notes while existing cards stay in the old one"),
            code="deck-renamed", once=True))
    deck_changed = old_deck is not None and (old_deck.name != name or old_deck.description not in (
        "", description))
    deck_record = DeckRecord(deck=key, name=name, model=note_type.model_id, description=description,
                             mtime=stamp if old_deck is None or deck_changed or type_change else old_deck.mtime)
    diagnostics.extend(_moved_warnings(moved, name, note_type))
    return _DeckShare(deck, name, package_notes, records, changes, tombstones, media, diagnostics, deck_record,
                      type_record, other_types, type_change, deck_changed, pending)


def _plan_package(key: str, shares: list[_DeckShare], previous: IdentityRecord, delivered: Delivered,
                  library: LibrarySettings, stamp: int, render_version: int, rerender: bool
                  ) -> tuple[VersionPlan, PackageRecord, list[NoteRecord]]:
    old_package = previous.packages.get(key)
    old_render = old_package.render if old_package else render_version
    changes = [change for share in shares for change in share.changes]
    content_changed = old_package is not None and (bool(changes) or any(
        share.type_change is not None or share.deck_changed for share in shares))
    package_notes = [note for share in shares for note in share.notes]
    tombstones = [t for share in shares for t in share.tombstones]
    digest = content_digest([
        *(f"{s.name} {s.deck_record.description} {s.note_type_record.fingerprint} {s.note_type_record.mtime}"
          for s in shares),
        *sorted(f"{n.guid} {n.mtime}" for n in package_notes),
        *sorted(f"{t.record.guid} {t.mtime} removed" for t in tombstones if t.tags is not None)])
    wanted = max([v for v in [library.version, *(s.deck.identified.parsed.source.settings.version for s in shares)]
                  if v], key=version_key, default=None)
    continued = _continued_from(key, shares, previous)
    version = _next_version(wanted, old_package, content_changed, delivered.versions.get(key, {}), digest,
                            continued)
    is_new = old_package is None or version != old_package.version
    version_mtime = stamp if is_new else old_package.version_mtime
    serial = (old_package.serial + is_new) if old_package else 0

    records = [record for share in shares for record in share.records]
    note_types = {s.note_type_record.note_type: (s.deck.identified.note_type.note_type, s.note_type_record.mtime)
                  for s in shares}
    for share in shares:
        for model, note_type in share.other_note_types.items():
            note_types.setdefault(model, note_type)
    carried, dropped, media = 0, 0, {}
    for share in shares:
        media.update(share.media)
    for tombstone in tombstones:
        record, tags, fields = tombstone.record, tombstone.tags, tombstone.fields
        if tags is None:
            records.append(record)
            continue
        if tombstone.marked:  # its bound counts from this version
            record = msgspec.structs.replace(record, tags=tags, mtime=tombstone.mtime, html=html_hash(fields, tags),
                                             removed=stamp, removed_in=version, removed_serial=serial)
        elif tombstone.mtime != record.mtime:  # delivered again as it was marked, cleaned (see CLEANING)
            record = msgspec.structs.replace(record, mtime=tombstone.mtime, html=html_hash(fields, tags))
        records.append(record)
        if serial - record.removed_serial >= library.keep_removed_versions and \
                version_mtime - record.removed >= library.keep_removed_days * DAY:
            dropped += 1  # past the bound: no longer carried, its GUID still reserved by the record
            continue
        carried += 1
        values = (*fields[:2], _source(record.source, record.question, None), fields[2])
        package_notes.append(PackageNote(record.guid, _fitted(values, note_types[tombstone.note_type][0]), tags,
                                         tombstone.mtime, tombstone.note_type, tombstone.deck, removed=True))
        media.update((ref.name, ref) for ref in note_media(tombstone.rendered.question, tombstone.rendered.answer))
    used = {note.note_type for note in package_notes} | {s.note_type_record.note_type for s in shares}
    note_types = {model: note_type for model, note_type in note_types.items() if model in used}  # the decks'
    # own, and those of the left-behind notes it carries
    descriptions: dict[str, str] = {}  # several files may feed one deck: the first that describes it does
    for share in shares:
        if not descriptions.get(share.name, "").strip():
            descriptions[share.name] = share.deck.description_html
    decks = [PackageDeck(name, text + f'\n<p class="dg-version">Version {version}</p>')
             for name, text in descriptions.items()]
    decks += [PackageDeck(name, REMOVED_SUBDECK_DESCRIPTION)
              for name in sorted({note.deck for note in package_notes if note.removed})]
    package = PackageContent(
        decks=tuple(decks), notes=tuple(package_notes), first_id=version_mtime * 1000,
        note_types=tuple(note_types[model] for model in sorted(note_types)),
        media=tuple(media[name] for name in sorted(media)))
    parts = tuple(DeckPart(s.deck, s.name, tuple(s.changes), len(s.deck.notes) - sum(
        c.kind not in ("removed", "replaced") for c in s.changes), s.type_change) for s in shares)
    plan = VersionPlan(key=key, decks=parts, previous_version=old_package.version if old_package else continued,
                       version=version, package=package, changes=tuple(changes),
                       rerender_pending=sum(s.pending for s in shares), digest=digest,
                       removed_carried=carried, removed_dropped=dropped)
    # Once no note would look different, the package's notes are all of this render version.
    package_record = PackageRecord(package=key, version=version, version_mtime=version_mtime, serial=serial,
                                   render=render_version if old_package is None or rerender or not plan.rerender_pending
                                   else old_render)
    return plan, package_record, records


def _fitted(values: tuple[str, ...], note_type: NoteType) -> tuple[str, ...]:
    """A removed or replaced note's fields (`values`, in the order of deckgen's note types today: question,
    answer, source, status) as its own note type has them, which may be an older one with other fields: each
    by its name, the first two by their place, and a field deckgen no longer knows empty."""
    today = NOTE_TYPES["cloze" if note_type.cloze else "basic"].fields
    if note_type.fields == today:
        return values
    by_name = dict(zip(today, values))
    return tuple(by_name.get(name, values[index] if index < 2 else "") for index, name in enumerate(note_type.fields))


def _continued_from(key: str, shares: list[_DeckShare], previous: IdentityRecord) -> str | None:
    """For a package first built now that continues notes built before (in packages of their own, before
    deckgen made one package of a library, or under another key), the highest version recorded: the new
    package's versions go on from it, so that no version number comes back."""
    if key in previous.packages or not any(share.tombstones or any(note.identified.record is not None
                                                                   for note in share.deck.notes) for share in shares):
        return None
    return max((p.version for p in previous.packages.values()), key=version_key, default=None)


def _change(record: NoteRecord | None, reworded: bool, question, tags: tuple[str, ...], fingerprint: str
            ) -> tuple[str | None, bool]:
    """What happened to a note since the record: None when nothing did."""
    if record is None:
        return "new", False
    if record.removed:
        return "restored", False
    if not record.fingerprint:  # converted from deckgen 0.1: the same Markdown is the same note
        same = (record.question, record.answer, record.tags) == (question.title, question.answer, tags)
        return (None if same else "renamed" if reworded else "changed"), False
    if record.fingerprint == fingerprint:
        return None, False
    return ("renamed" if reworded else "changed"), False


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


def _held_before(markdown: str, rendered: RenderedText) -> bool:
    """Whether deckgen 0.2's HTML of this Markdown held something today's cleaning removes (see CLEANING): what it
    never cleaned (Anki's syntax, a style's position, `name`, an `id` now prefixed, MathJax's other commands, a
    data: image, mathjax_process), or what it did not see as written (a scheme split by a code span, `\\href`
    spelt with an entity, `u\\72l(`), or anything in a text whose Markdown it never cleaned at all."""
    if _ID_KEPT_BY_0_2.search(rendered.html):
        return True
    if not rendered.removed:
        return False
    cleaned = _CLEANED_BY_0_2.search(markdown.translate(_TABS_AND_LINE_ENDS)) is not None
    for reason in rendered.removed:
        tex = re.fullmatch(r"\\(\w+) in math", reason)
        style = re.fullmatch(r"([\w-]+)(\(\))? in a style", reason)
        if kind_of(reason) == SYNTAX or (tex and (tex.group(1) not in _TEX_BROKEN_BY_0_2
                                                  or f"\\{tex.group(1)}" not in markdown)):
            return True
        if tex:
            continue
        if not cleaned and kind_of(reason) == UNSAFE:
            return True
        if style and not (style.group(2) and _STYLE_REMOVED_BY_0_2.search(markdown)) or \
                reason in ("class mathjax_process", "name= attribute") or reason.startswith("data:"):
            return True
    return False


_TABS_AND_LINE_ENDS = dict.fromkeys(map(ord, "\t\n\r"))


def _note_type_record(note_type: NoteType, mtime: int) -> NoteTypeRecord:
    return NoteTypeRecord(note_type=note_type.model_id, name=note_type.name, fields=note_type.fields,
                          templates=tuple(name for name, _, _ in note_type.templates), sort_field=note_type.sort_field,
                          cloze=note_type.cloze, fingerprint=note_type.fingerprint, mtime=mtime)


def _cloze_warnings(question, old_answer: str) -> list[Diagnostic]:
    """Cloze numbers that changed under the cards' history: Anki keeps a card's reviews by its number."""
    moves, gone = cloze_changes(old_answer, question.answer)
    found = []
    if moves:
        line = question.answer_line + question.answer.count("\n", 0, moves[0].offset)
        moved = ", ".join(f"{_excerpt(m.text)!r} from {_numbers(m.was)} to {_numbers(m.now)}" for m in moves)
        found.append(Diagnostic(question.path, line, (
            f"cloze deletions moved to other numbers: {moved}. Anki keeps each card's review history by its "
            "number, so the card that learned a deletion now asks for another one. To keep each history with its "
            "text, keep the numbers as they were and give a new deletion the next free number."), code="cloze-moved",
            once=True))
    if gone:
        names = ", ".join(f"c{number} ({_excerpt(text)!r})" for number, text in gone)
        found.append(Diagnostic(question.path, question.answer_line, (
            f"{names} no longer in this note: Anki keeps {'its card' if len(gone) == 1 else 'their cards'}, "
            "blank, with the review history (Tools > Empty Cards in Anki deletes blank cards)"),
            code="cloze-gone", once=True))
    return found


def _numbers(numbers) -> str:
    return ", ".join(f"c{number}" for number in numbers)


def _excerpt(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _next_version(wanted: str | None, previous: PackageRecord | None, content_changed: bool,
                  written: dict[str, str], digest: str, continued: str | None = None) -> str:
    """The author's version on a first build or when it is higher; else a patch bump when anything changed.

    The settings' version is a floor: once builds have gone past it, it has no say (and no complaint).
    A version this machine wrote (`written`: version to content digest) is never given to other content,
    and the version never goes back below the highest one written (after a set-back, Anki has had that
    one): the bump then goes past it (a package, once written, is never written again under its name with
    other bytes, nor its changelog entry rewritten).
    """
    if previous is None and continued is not None:
        version = wanted if wanted and version_key(wanted) > version_key(continued) else _bump(continued)
    elif previous is None:
        version = wanted or FIRST_VERSION
    elif wanted and version_key(wanted) > version_key(previous.version):
        version = wanted
    elif not content_changed:
        version = previous.version
    else:
        version = _bump(max([previous.version, *written], key=version_key))
    highest = max(written, key=version_key, default=version)
    if version_key(version) < version_key(highest) or written.get(version, digest) != digest:
        version = _bump(max(version, highest, key=version_key))
    return version


def _bump(version: str) -> str:
    major, minor, patch = version_key(version)
    return f"{major}.{minor}.{patch + 1}"


def _behind(record: NoteRecord | None, delivered: Delivered) -> bool:
    """Whether this machine last delivered other content for the note, at a time Anki would not go back from:
    the record's content must then be delivered again, later."""
    if record is None:
        return False
    last = delivered.notes.get(record.guid)
    return last is not None and last is not record and last.mtime >= record.mtime and not same_delivery(last, record)


def _source(source_line: str, heading: str, template: str | None) -> str:
    """A card's Source field: `file:line`, a link when the library has a `source_url` template (see `settings`:
    it starts with `https:` or `obsidian:`, and takes each part URL-encoded). Made as safe as every field (see
    `sanitize.inert`), since it may come from the record, anyone's to edit: it holds no element but deckgen's."""
    text = html.escape(source_line, quote=False)
    if template is not None:
        path, _, line = source_line.rpartition(":")
        url = template.format(path=quote(path, safe="/"), line=quote(line, safe=""), heading=quote(heading, safe=""))
        text = f'<a class="dg-source-link" href="{html.escape(url)}">{text}</a>'
    return inert(text)[0]


def _moved_warnings(moved, name: str, note_type: NoteType) -> list[Diagnostic]:
    """One warning for each deck notes came from: where their cards are, and how to move them in Anki."""
    by_deck: dict[str, list] = {}
    for question, old, field_html in moved:
        by_deck.setdefault(old, []).append((question, field_html))
    found = []
    for old, notes in by_deck.items():
        field = note_type.fields[0]
        shown = notes[:MOVED_SEARCH_LIMIT]  # the question field as Anki holds it: its HTML
        search = f'deck:"{_search_text(old)}" (' + " OR ".join(
            f'"{field}:{_search_text(field_html)}"' for _, field_html in shown) + ")"
        questions = [question for question, _ in notes]
        more = (f" (the first {len(shown)} of them; `deckgen build -v` lists them all as changed)"
                if len(questions) > len(shown) else "")
        found.append(Diagnostic(questions[0].path, questions[0].line, (
            f"{len(questions)} note(s) moved here from the deck {old!r}: Anki's import never moves a card, so their "
            f"cards stay in {old!r}. To move them into {name!r}, search in Anki's Browse for {search}{more}, "
            "select them all (Ctrl+A) and choose Cards > Change Deck (Ctrl+D)"), code="deck-changed", once=True))
    return found


MOVED_SEARCH_LIMIT = 10


def _search_text(text: str) -> str:
    """`text` inside a double-quoted term of Anki's search: its wildcards and quotes taken literally."""
    return "".join("\\" + c if c in '\\"*_' else c for c in text)


def _restored_warning(question, deck_name: str, removed_in: str | None, field: str, field_html: str) -> Diagnostic:
    search = f'deck:"{_search_text(deck_name)}" is:suspended "{field}:{_search_text(field_html)}"'
    return Diagnostic(question.path, question.line, (
        f"this question was removed{f' in version {removed_in}' if removed_in else ''} and is back: its note keeps "
        "its review history and is updated in Anki, losing the tag deckgen::removed. If you suspended its cards, "
        f"unsuspend them: in Anki's Browse, search {search}, select them and choose "
        "Cards > Toggle Suspend (Ctrl+J). Who first imported the deck while it was removed has its card in the "
        f"\"{deck_name}::{REMOVED_SUBDECK}\" subdeck: Cards > Change Deck moves it."), code="restored", once=True)


def _clashes(plans: list[VersionPlan]) -> list[Diagnostic]:
    """Packages may share no file, notes no GUID; decks whose names differ only in case are one to Anki (several
    files may feed one deck, named alike)."""
    found, owners = [], {}

    def claim(what: str, key: str, shown: str, owner: str, path: Path, by: str | None = None) -> None:
        first = owners.setdefault((what, key), (owner, by))
        if first[0] != owner:
            found.append(Diagnostic(path, 0, f"{what} {shown!r} is also used by {first[1] or first[0]}", "error",
                                    "clash"))

    for plan in plans:
        claim("package file", plan.file_name, plan.file_name, plan.key,
              plan.decks[0].deck.identified.parsed.source.path, f"the package {plan.key!r}")
        for part in plan.decks:
            path = part.deck.identified.parsed.source.path
            levels = part.name.split("::")
            for depth in range(1, len(levels) + 1):  # coding::Python and coding::python::x meet in Anki too
                name = "::".join(levels[:depth])
                claim("deck name", name.casefold(), name, name, path,
                      f"{path} in another case (Anki takes them for one deck)")
            for note in part.deck.notes:
                claim("note GUID", note.identified.guid, note.identified.guid, str(path), path)
    return found


def _same_where_unchanged(record: IdentityRecord, previous: IdentityRecord) -> IdentityRecord:
    """`record`, with each entry equal to the one read from the file replaced by that very object, so the
    file keeps its line as it was (and a build that changes nothing writes nothing)."""
    def keep(new: dict, old: dict) -> dict:
        return {key: old[key] if old.get(key) is not value and old.get(key) == value else value
                for key, value in new.items()}

    return dataclasses.replace(
        record, packages=keep(record.packages, previous.packages), decks=keep(record.decks, previous.decks),
        note_types=keep(record.note_types, previous.note_types), notes=keep(record.notes, previous.notes))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
