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
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from .delivered import Delivered, content_digest, version_key
from .errors import Diagnostic
from .identity_file import DeckRecord, IdentityRecord, NoteRecord, NoteTypeRecord, PackageRecord
from .ids import deck_id, package_file_name
from .media import MediaRef
from .note_type_guard import REPLACED_TAG, fresh_start_warning, note_type_of_record
from .note_types import NoteType
from .render import RenderedDeck, RenderedText, note_media
from .settings import LibrarySettings
from .syntax import CLOZE_RE, cloze_changes

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


class NoteChange(msgspec.Struct, frozen=True):
    """A note this build adds, changes, renames, removes or restores."""

    kind: str
    """One of CHANGE_KINDS."""
    question: str
    source: str
    """`file:line` of the question (for a removed note, where it last was)."""
    previous_question: str | None = None
    rendering: bool = False
    """Changed only by deckgen's rendering (`rerender`), not by its source."""
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
    note_type: int | None = None
    """The id of its note type, when it is not the package's own (a note a fresh start left behind)."""
    removed: bool = False
    """A removed or replaced note: a first-time import puts its cards in the deck's `Removed` subdeck."""


@dataclass(frozen=True)
class PackagePlan:
    """Everything one .apkg holds."""

    deck_name: str
    deck_id: int
    description: str
    note_type: NoteType
    note_type_mtime: int
    notes: tuple[PackageNote, ...]
    first_id: int
    """Base of the note and card ids inside the package (Anki only makes them unique)."""
    media: tuple[MediaRef, ...] = ()
    """The images to bundle (checked: see `media`), sorted by their names in Anki's media folder."""
    other_note_types: tuple[tuple[NoteType, int], ...] = ()
    """The note types (with their mtimes) of notes a fresh start left behind, by id."""

    @property
    def removed_deck_name(self) -> str:
        return f"{self.deck_name}::{REMOVED_SUBDECK}"

    def note_type_of(self, note: PackageNote) -> NoteType:
        if note.note_type is None:
            return self.note_type
        return next(note_type for note_type, _ in self.other_note_types if note_type.model_id == note.note_type)


@dataclass(frozen=True)
class DeckPlan:
    """The next build of one deck, and its package."""

    deck: RenderedDeck
    key: str
    """The package's key: its files are `<key>-<version>.apkg` and `<key>.changelog.md`."""
    name: str
    previous_version: str | None
    """The version last built; None on the first build."""
    version: str
    package: PackagePlan
    changes: tuple[NoteChange, ...]
    unchanged: int
    note_type_change: str | None
    """None, or what happens to the note type: "new", "styling updated", "fresh start" (see `note_type_guard`)."""
    rerender_pending: int = 0
    """Notes that would look different with this deckgen's rendering (see `--rerender`)."""
    digest: str = ""
    """A digest of the version's content (see `delivered`): one version, one content."""
    removed_carried: int = 0
    removed_dropped: int = 0
    """Removed notes this version's package carries, and those past the bound (see `LibrarySettings`)."""

    @property
    def is_new_version(self) -> bool:
        return self.previous_version != self.version

    @property
    def file_name(self) -> str:
        """The name of this version's package (see `ids.package_file_name`)."""
        return package_file_name(self.key, self.version)


@dataclass(frozen=True)
class BuildPlan:
    """The next build of a library: each deck's plan, and the identity record to write."""

    decks: tuple[DeckPlan, ...]
    record: IdentityRecord
    previous: IdentityRecord
    diagnostics: tuple[Diagnostic, ...]


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


def plan_build(decks: Sequence[RenderedDeck], previous: IdentityRecord, now: float, render_version: int,
               rerender: bool = False, delivered: Delivered | None = None,
               settings: LibrarySettings = LibrarySettings()) -> BuildPlan:
    """Plan the next build of `decks` after the ones `previous` records, and the ones `delivered` says this
    machine built (see `delivered`); `settings` bound how long removed notes are carried."""
    delivered = delivered or Delivered()
    stamp = max(int(now), previous.max_mtime() + 1, delivered.max_mtime() + 1)
    plans, diagnostics = [], []
    notes, packages = dict(previous.notes), dict(previous.packages)
    deck_records, note_types = dict(previous.decks), dict(previous.note_types)
    for deck in decks:
        plan, records, found = _plan_deck(deck, previous, delivered, settings, stamp, render_version, rerender)
        plans.append(plan)
        diagnostics.extend(found)
        key = deck.identified.parsed.source.file.key
        notes.update((note.guid, note) for note in records.notes)
        packages[plan.key] = records.package
        deck_records[key] = records.deck
        note_types[records.note_type.note_type] = records.note_type
    diagnostics.extend(_clashes(plans))
    record = IdentityRecord(packages=packages, decks=deck_records, note_types=note_types, notes=notes,
                            lines=previous.lines, tidy=previous.tidy, legacy=previous.legacy)
    return BuildPlan(decks=tuple(plans), record=_same_where_unchanged(record, previous), previous=previous,
                     diagnostics=tuple(diagnostics))


@dataclass(frozen=True)
class _DeckRecords:
    package: PackageRecord
    deck: DeckRecord
    note_type: NoteTypeRecord
    notes: tuple[NoteRecord, ...]


def _plan_deck(deck: RenderedDeck, previous: IdentityRecord, delivered: Delivered, library: LibrarySettings,
               stamp: int, render_version: int, rerender: bool) -> tuple[DeckPlan, _DeckRecords, list[Diagnostic]]:
    source = deck.identified.parsed.source
    settings, key, display = source.settings, source.file.key, source.file.display
    choice = deck.identified.note_type
    note_type, replaced = choice.note_type, choice.replaced
    old_deck = previous.decks.get(key)
    old_package = previous.packages.get(settings.slug)
    type_record = _note_type_record(note_type, stamp if choice.change else previous.note_types[note_type.model_id].mtime)
    type_change = "fresh start" if replaced is not None else choice.change
    diagnostics = [choice.problem] if choice.problem else []
    if replaced is not None:
        left = sum(1 for t in deck.tombstones if t.record.model is None and not t.record.removed)
        diagnostics.append(fresh_start_warning(deck.identified.parsed, choice, left))
    old_render = old_package.render if old_package else render_version
    records, package_notes, changes, media, pending = [], [], [], {}, 0
    for note in deck.notes:
        identified, question = note.identified, note.identified.question
        record = identified.record
        if note_type.cloze and not CLOZE_RE.search(note.answer.html):
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
        kind, rendering = _change(record, identified.reworded, question, note.tags, fingerprint)
        reverted = kind is None and _behind(record, delivered)
        if reverted:
            kind = "restored" if delivered.notes[record.guid].removed else "changed"
        if kind == "restored":
            removed_in = record.removed_in if record.removed else delivered.notes[record.guid].removed_in
            diagnostics.append(_restored_warning(question, settings.name, removed_in))
        # The HTML's hash matters only for what changes, and where deckgen's rendering may reach cards.
        html_now = html_hash(fields, note.tags) if kind is not None or rerender or old_render < render_version \
            or not record.html else record.html
        if kind is None and record.html != html_now:
            if rerender:
                kind, rendering = "changed", True
            elif old_render < render_version:
                pending += 1
        if kind is None and record.fingerprint and record.html and (record.deck, record.explicit_id) == (
                key, question.explicit_id):
            records.append(record)  # the very record read: the file keeps its line as it is
            package_notes.append(PackageNote(identified.guid, (*fields[:2], record.source, fields[2]), note.tags,
                                             record.mtime))
            media.update((ref.name, ref) for ref in images)
            continue
        if kind is None:
            mtime, source_line, html = record.mtime, record.source, record.html or html_now
        else:
            mtime, source_line, html = stamp, f"{display}:{question.line}", html_now
            changes.append(NoteChange(kind, question.title, source_line,
                                      record.question if identified.reworded else None, rendering, reverted))
        records.append(NoteRecord(guid=identified.guid, deck=key, question=question.title, answer=question.answer,
                                  sections=question.sections, tags=note.tags, fingerprint=fingerprint, html=html,
                                  mtime=mtime, source=source_line, explicit_id=question.explicit_id))
        package_notes.append(PackageNote(identified.guid, (*fields[:2], source_line, fields[2]), note.tags, mtime))
        media.update((ref.name, ref) for ref in images)

    tombstones = []
    for tombstone in deck.tombstones:
        record = tombstone.record
        if replaced is not None and record.model is None:  # left behind by this fresh start, as the old type
            record = msgspec.structs.replace(record, model=replaced.note_type)
        if record.model is not None and record.model not in previous.note_types:
            tombstones.append((record, None, None, None, None))  # a hand-made record names a note type it lacks: kept
            continue
        # A note comes to be replaced or removed once; from then on it is shown as it was marked, and
        # delivered with the time it was marked at (unless this machine has delivered it since: see `_behind`).
        replacing = record.model is not None and not record.removed
        marker = REPLACED_TAG if replacing or (record.removed and REPLACED_TAG in record.tags) else REMOVED_TAG
        tags = tuple(sorted(set(record.tags) | {marker}))
        fields = (tombstone.question.html, tombstone.answer.html,
                  REPLACED_STATUS if marker == REPLACED_TAG else REMOVED_STATUS)
        reverted = bool(record.removed) and _behind(record, delivered)
        if not record.removed or reverted:
            changes.append(NoteChange("replaced" if replacing else "removed", record.question, record.source,
                                      reverted=reverted))
        tombstones.append((record, tags, fields, stamp if not record.removed or reverted else record.mtime,
                           tombstone))

    description = _hash(deck.identified.parsed.description)
    if old_deck is not None and old_deck.name != settings.name:
        diagnostics.append(Diagnostic(source.path, 0, (
            f"the deck's name changed from {old_deck.name!r} to {settings.name!r}: Anki finds decks by name, so "
            "it will make a new deck for new notes while existing cards stay in the old one"),
            code="deck-renamed", once=True))
    deck_changed = old_deck is not None and (old_deck.name != settings.name or old_deck.description not in (
        "", description))
    content_changed = old_package is not None and (bool(changes) or type_change is not None or deck_changed)
    digest = content_digest([settings.name, description, note_type.fingerprint, str(type_record.mtime),
                             *sorted(f"{n.guid} {n.mtime}" for n in package_notes),
                             *sorted(f"{t[0].guid} {t[3]} removed" for t in tombstones if t[1] is not None)])
    written = delivered.versions.get(settings.slug, {})
    version = _next_version(settings.version, old_package, content_changed, written, digest)
    is_new = old_package is None or version != old_package.version
    version_mtime = stamp if is_new else old_package.version_mtime
    serial = (old_package.serial + is_new) if old_package else 0

    other_types, carried, dropped = {}, 0, 0
    for record, tags, fields, mtime, tombstone in tombstones:
        if tags is None:
            records.append(record)
            continue
        if mtime != record.mtime:  # marked now: its bound counts from this version
            record = msgspec.structs.replace(record, tags=tags, mtime=mtime, html=html_hash(fields, tags),
                                             removed=stamp, removed_in=version, removed_serial=serial)
        records.append(record)
        if serial - record.removed_serial >= library.keep_removed_versions and \
                version_mtime - record.removed >= library.keep_removed_days * DAY:
            dropped += 1  # past the bound: no longer carried, its GUID still reserved by the record
            continue
        carried += 1
        package_notes.append(PackageNote(record.guid, (*fields[:2], record.source, fields[2]), tags, mtime,
                                         note_type=record.model, removed=True))
        if record.model is not None:
            recorded = previous.note_types[record.model]
            other_types[record.model] = (note_type_of_record(recorded), recorded.mtime)
        media.update((ref.name, ref) for ref in note_media(tombstone.question, tombstone.answer))
    deck_record = DeckRecord(deck=key, name=settings.name, model=note_type.model_id, description=description,
                             mtime=stamp if old_deck is None or deck_changed or type_change else old_deck.mtime)
    package_record = PackageRecord(package=settings.slug, version=version, version_mtime=version_mtime,
                                   serial=serial,
                                   render=render_version if old_package is None or rerender else old_render)
    package = PackagePlan(
        deck_name=settings.name, deck_id=deck_id(settings.name),
        description=deck.description_html + f'\n<p class="dg-version">Version {version}</p>',
        note_type=note_type, note_type_mtime=type_record.mtime, notes=tuple(package_notes),
        first_id=version_mtime * 1000, media=tuple(media[name] for name in sorted(media)),
        other_note_types=tuple(other_types[model] for model in sorted(other_types)))
    plan = DeckPlan(deck=deck, key=settings.slug, name=settings.name,
                    previous_version=old_package.version if old_package else None, version=version,
                    package=package, changes=tuple(changes),
                    unchanged=len(deck.notes) - sum(c.kind not in ("removed", "replaced") for c in changes),
                    note_type_change=type_change, rerender_pending=pending, digest=digest,
                    removed_carried=carried, removed_dropped=dropped)
    return plan, _DeckRecords(package_record, deck_record, type_record, tuple(records)), diagnostics


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
                  written: dict[str, str], digest: str) -> str:
    """The author's version on a first build or when it is higher; else a patch bump when anything changed.

    The settings' version is a floor: once builds have gone past it, it has no say (and no complaint).
    A version this machine wrote (`written`: version to content digest) is never given to other content:
    the bump then goes past every version written.
    """
    if previous is None:
        version = wanted or FIRST_VERSION
    elif wanted and version_key(wanted) > version_key(previous.version):
        version = wanted
    elif not content_changed:
        version = previous.version
    else:
        version = _bump(max([previous.version, *written], key=version_key))
    if written.get(version, digest) != digest:
        version = _bump(max([version, *written], key=version_key))
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
    return last is not None and last is not record and last.mtime >= record.mtime and bool(last.html) \
        and bool(record.html) and last.html != record.html


def _restored_warning(question, deck_name: str, removed_in: str | None) -> Diagnostic:
    return Diagnostic(question.path, question.line, (
        f"this question was removed{f' in version {removed_in}' if removed_in else ''} and is back: its note keeps "
        "its review history and is updated in Anki, losing the tag deckgen::removed. If you suspended its cards, "
        f"unsuspend them: in Anki's Browse, search deck:\"{deck_name}\" is:suspended, select them and choose "
        "Cards > Toggle Suspend (Ctrl+J). Who first imported the deck while it was removed has its card in the "
        f"\"{deck_name}::{REMOVED_SUBDECK}\" subdeck: Cards > Change Deck moves it."), code="restored", once=True)


def _clashes(plans: list[DeckPlan]) -> list[Diagnostic]:
    """Decks may share no name (Anki matches decks by name), no package and no note GUID."""
    found, owners = [], {}
    for plan in plans:
        source = plan.deck.identified.parsed.source
        keys = [("deck name", plan.name), ("slug", plan.key), ("package file", plan.file_name)]
        keys += [("note GUID", note.guid) for note in plan.package.notes]
        for what, key in keys:
            owner = owners.setdefault((what, key), source.path)
            if owner != source.path:
                found.append(Diagnostic(source.path, 0, f"{what} {key!r} is also used by {owner}", "error",
                                        "clash"))
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
