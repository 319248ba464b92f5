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

from .errors import Diagnostic
from .identify import stable_hash
from .identity_file import DeckRecord, IdentityRecord, NoteRecord, NoteTypeRecord, PackageRecord
from .media import MediaRef
from .note_types import NOTE_TYPES, NoteType
from .render import RenderedDeck, RenderedText, note_media
from .syntax import CLOZE_RE

CHANGE_KINDS = ("new", "changed", "renamed", "restored", "removed")  # in the order reports list them
REMOVED_TAG = "deckgen::removed"
FIRST_VERSION = "1.0.0"
REMOVED_STATUS = "Removed from the source: this note is no longer in the Markdown."
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


class PackageNote(msgspec.Struct, frozen=True):
    """One note as it goes into the package."""

    guid: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mtime: int
    """Seconds; Anki updates an existing note only when this is newer than its own."""


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
    """None, or what happens to the note type: "new", "styling updated", "schema changed"."""
    rerender_pending: int = 0
    """Notes that would look different with this deckgen's rendering (see `--rerender`)."""

    @property
    def is_new_version(self) -> bool:
        return self.previous_version != self.version


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


def deck_id(deck_name: str) -> int:
    """Anki matches decks by name, so the id derives from the name alone (never 0)."""
    return (1 << 30) + int.from_bytes(stable_hash("deck", deck_name)[:8], "big") % (1 << 30)


def plan_build(decks: Sequence[RenderedDeck], previous: IdentityRecord, now: float, render_version: int,
               allow_new_note_type: bool = False, rerender: bool = False) -> BuildPlan:
    """Plan the next build of `decks` after the ones `previous` records."""
    stamp = max(int(now), previous.max_mtime() + 1)
    plans, diagnostics = [], []
    notes, packages = dict(previous.notes), dict(previous.packages)
    deck_records, note_types = dict(previous.decks), dict(previous.note_types)
    for deck in decks:
        plan, records, found = _plan_deck(deck, previous, stamp, render_version, allow_new_note_type, rerender)
        plans.append(plan)
        diagnostics.extend(found)
        key = deck.identified.parsed.source.file.key
        if plan.note_type_change == "schema changed":  # a fresh start: the old notes stay in Anki as they are
            notes = {guid: note for guid, note in notes.items() if note.deck != key}
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


def _plan_deck(deck: RenderedDeck, previous: IdentityRecord, stamp: int, render_version: int,
               allow_new_note_type: bool, rerender: bool) -> tuple[DeckPlan, _DeckRecords, list[Diagnostic]]:
    source = deck.identified.parsed.source
    settings, key, display = source.settings, source.file.key, source.file.display
    note_type = NOTE_TYPES[settings.cards]
    old_deck = previous.decks.get(key)
    old_package = previous.packages.get(settings.slug)
    old_type = previous.note_types.get(old_deck.model) if old_deck else None
    type_record, type_change, diagnostics = _plan_note_type(note_type, old_type, stamp, source.path,
                                                            allow_new_note_type)
    if type_change == "schema changed" and allow_new_note_type:
        known = sum(1 for note in previous.notes.values() if note.deck == key)
        diagnostics.append(Diagnostic(source.path, 0, (
            f"new note type {note_type.name}: every note is imported as a new note; the {known} notes "
            f"of {old_type.name} stay in Anki with their history until you delete them"),
            code="note-type-fresh-start"))
    old_render = old_package.render if old_package else render_version
    records, package_notes, changes, media, pending = [], [], [], {}, 0
    for note in deck.notes:
        identified, question = note.identified, note.identified.question
        record = identified.record
        if note_type.cloze and not CLOZE_RE.search(note.answer.html):
            diagnostics.append(Diagnostic(question.path, question.answer_line, (
                "no cloze deletion such as {{c1::…}} in this answer: Anki would make no card for it"),
                "error", "no-cloze"))
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
        # The HTML's hash matters only for what changes, and where deckgen's rendering may reach cards.
        delivered = html_hash(fields, note.tags) if kind is not None or rerender or old_render < render_version \
            or not record.html else record.html
        if kind is None and record.html != delivered:
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
            mtime, source_line, html = record.mtime, record.source, record.html or delivered
        else:
            mtime, source_line, html = stamp, f"{display}:{question.line}", delivered
            changes.append(NoteChange(kind, question.title, source_line,
                                      record.question if identified.reworded else None, rendering))
        records.append(NoteRecord(guid=identified.guid, deck=key, question=question.title, answer=question.answer,
                                  sections=question.sections, tags=note.tags, fingerprint=fingerprint, html=html,
                                  mtime=mtime, source=source_line, explicit_id=question.explicit_id))
        package_notes.append(PackageNote(identified.guid, (*fields[:2], source_line, fields[2]), note.tags, mtime))
        media.update((ref.name, ref) for ref in images)

    tombstones = []
    for tombstone in deck.tombstones:
        record = tombstone.record
        tags = tuple(sorted(set(record.tags) | {REMOVED_TAG}))
        fields = (tombstone.question.html, tombstone.answer.html, REMOVED_STATUS)
        if not record.removed:
            changes.append(NoteChange("removed", record.question, record.source))
        tombstones.append((record, tags, fields))
        package_notes.append(PackageNote(record.guid, (*fields[:2], record.source, fields[2]), tags,
                                         record.mtime if record.removed else stamp))
        media.update((ref.name, ref) for ref in note_media(tombstone.question, tombstone.answer))

    description = _hash(deck.identified.parsed.description)
    if old_deck is not None and old_deck.name != settings.name:
        diagnostics.append(Diagnostic(source.path, 0, (
            f"the deck's name changed from {old_deck.name!r} to {settings.name!r}: Anki finds decks by name, so "
            "it will make a new deck for new notes while existing cards stay in the old one"),
            code="deck-renamed"))
    deck_changed = old_deck is not None and (old_deck.name != settings.name or old_deck.description not in (
        "", description))
    content_changed = old_package is not None and (bool(changes) or type_change is not None or deck_changed)
    version = _next_version(settings.version, old_package, content_changed)
    is_new = old_package is None or version != old_package.version
    version_mtime = stamp if is_new else old_package.version_mtime

    for record, tags, fields in tombstones:
        if not record.removed:
            record = msgspec.structs.replace(record, tags=tags, mtime=stamp, html=html_hash(fields, tags),
                                             removed=stamp, removed_in=version)
        records.append(record)
    deck_record = DeckRecord(deck=key, name=settings.name, model=note_type.model_id, description=description,
                             mtime=stamp if old_deck is None or deck_changed or type_change else old_deck.mtime)
    package_record = PackageRecord(package=settings.slug, version=version, version_mtime=version_mtime,
                                   render=render_version if old_package is None or rerender else old_render)
    package = PackagePlan(
        deck_name=settings.name, deck_id=deck_id(settings.name),
        description=deck.description_html + f'\n<p class="dg-version">Version {version}</p>',
        note_type=note_type, note_type_mtime=type_record.mtime, notes=tuple(package_notes),
        first_id=version_mtime * 1000, media=tuple(media[name] for name in sorted(media)))
    plan = DeckPlan(deck=deck, key=settings.slug, name=settings.name,
                    previous_version=old_package.version if old_package else None, version=version,
                    package=package, changes=tuple(changes),
                    unchanged=len(deck.notes) - sum(c.kind != "removed" for c in changes),
                    note_type_change=type_change, rerender_pending=pending)
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


def forks(recorded: NoteTypeRecord, note_type: NoteType) -> bool:
    """Whether Anki would take `note_type` for another note type than the one `recorded` (and fork it)."""
    templates = tuple(name for name, _, _ in note_type.templates)
    return (recorded.note_type, recorded.fields, recorded.templates) != (note_type.model_id, note_type.fields,
                                                                        templates)


def _plan_note_type(note_type: NoteType, recorded: NoteTypeRecord | None, stamp: int, source_path,
                    allow_new: bool) -> tuple[NoteTypeRecord, str | None, list[Diagnostic]]:
    templates = tuple(name for name, _, _ in note_type.templates)
    if recorded is None:
        change, mtime = "new", stamp
    elif forks(recorded, note_type):
        change, mtime = "schema changed", stamp
    elif recorded.fingerprint != note_type.fingerprint:
        change, mtime = "styling updated", stamp
    else:
        change, mtime = None, recorded.mtime
    diagnostics = []
    if change == "schema changed" and not allow_new:
        diagnostics.append(Diagnostic(source_path, 0, (
            f"the note type would change from {recorded.name} (id {recorded.note_type}, fields "
            f"{', '.join(recorded.fields)}; cards {', '.join(recorded.templates)}) to {note_type.name} "
            f"(id {note_type.model_id}, fields {', '.join(note_type.fields)}; cards {', '.join(templates)}). "
            "Anki would add it as a second note type and every note already imported would become "
            "'conflicting': never updated again by any later build. If you really want that, build with "
            "--new-note-type."), "error", "note-type-fork"))
    record = NoteTypeRecord(note_type=note_type.model_id, name=note_type.name, fields=note_type.fields,
                            templates=templates, sort_field=note_type.sort_field, cloze=note_type.cloze,
                            fingerprint=note_type.fingerprint, mtime=mtime)
    return record, change, diagnostics


def _next_version(wanted: str | None, previous: PackageRecord | None, content_changed: bool) -> str:
    """The author's version on a first build or when it is higher; else a patch bump when anything changed.

    The settings' version is a floor: once builds have gone past it, it has no say (and no complaint).
    """
    if previous is None:
        return wanted or FIRST_VERSION
    if wanted and _version_key(wanted) > _version_key(previous.version):
        return wanted
    if not content_changed:
        return previous.version
    major, minor, patch = _version_key(previous.version)
    return f"{major}.{minor}.{patch + 1}"


def _version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def _clashes(plans: list[DeckPlan]) -> list[Diagnostic]:
    """Decks may share no name (Anki matches decks by name), no package and no note GUID."""
    found, owners = [], {}
    for plan in plans:
        source = plan.deck.identified.parsed.source
        keys = [("deck name", plan.name), ("slug", plan.key)]
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
