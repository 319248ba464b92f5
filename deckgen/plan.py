"""Decide what the next build of a deck is: identities, timestamps, version, and what changed.

It reads the rendered deck and the recorded identities and returns the new
identities and the package to write, writing nothing; the clock comes in as
a value. Its one side effect: removed notes are rendered through the deck's
render cache, since only matching tells which notes are gone.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass

from .errors import Diagnostic
from .identity import deck_id, identify
from .identity_file import DeckIdentity, NoteIdentity, NoteTypeIdentity
from .model import BASIC_MODEL_ID, NOTE_TYPES, NoteType
from .render import MarkdownRenderer, RenderedDeck, note_media
from .render_cache import RenderedText
from .write import PackageNote, PackagePlan

CLOZE_RE = re.compile(r"\{\{c\d+::")
CHANGE_KINDS = ("new", "changed", "renamed", "restored", "removed")  # in the order reports list them
REMOVED_TAG = "deckgen::removed"
FIRST_VERSION = "1.0.0"
REMOVED_STATUS = "Removed from the source: this note is no longer in the Markdown."


@dataclass(frozen=True)
class NoteChange:
    """A note this build adds, changes, renames, removes or restores."""

    kind: str
    """One of CHANGE_KINDS."""
    question: str
    source: str
    previous_question: str | None = None


@dataclass(frozen=True)
class DeckPlan:
    """The next build of one deck."""

    deck: RenderedDeck
    previous: DeckIdentity | None
    identity: DeckIdentity
    package: PackagePlan
    changes: tuple[NoteChange, ...]
    unchanged: int
    note_type_change: str | None
    """None, or what happens to the note type: "new", "styling updated", "schema changed"."""

    @property
    def version(self) -> str:
        return self.identity.version

    @property
    def is_new_version(self) -> bool:
        return self.previous is None or self.previous.version != self.identity.version


def plan_deck(deck: RenderedDeck, previous: DeckIdentity | None, display_path: str, now: float,
              renderer: MarkdownRenderer, allow_new_note_type: bool = False
              ) -> tuple[DeckPlan, tuple[Diagnostic, ...]]:
    """Plan the next build of `deck` after the one `previous` records (None: the first build)."""
    settings = deck.parsed.source.settings
    note_type = NOTE_TYPES[settings.cards]
    source_path = deck.parsed.source.path
    stamp = int(now) if previous is None else max(int(now), previous.max_mtime() + 1)
    type_identity, type_change, diagnostics = _plan_note_type(
        note_type, previous, stamp, source_path, allow_new_note_type)
    known = previous.notes if previous else ()
    if type_change == "schema changed" and allow_new_note_type:
        # A fresh start: the notes already imported keep the old note type, and these are new notes
        # of the new one (with the old GUIDs Anki would only report them as conflicting).
        diagnostics.append(Diagnostic(source_path, 0, (
            f"new note type {note_type.name}: every note is imported as a new note; the {len(known)} notes "
            f"of {previous.note_type.name} stay in Anki with their history until you delete them"),
            code="note-type-fresh-start"))
        known = ()
    # GUIDs of notes of another type than the first one are minted apart, so the two never collide.
    namespace = settings.slug if note_type.model_id == BASIC_MODEL_ID else f"{settings.slug}@{note_type.model_id}"
    identified, found = identify(namespace, [n.question for n in deck.notes], known)
    diagnostics.extend(found)
    records, package_notes, changes = [], [], []
    media: dict[str, object] = {}

    for identity, note in zip(identified, deck.notes):
        question, record = note.question, identity.record
        if note_type.cloze and not CLOZE_RE.search(note.answer_html):
            diagnostics.append(Diagnostic(question.path, question.answer_line, (
                "no cloze deletion such as {{c1::…}} in this answer: Anki would make no card for it"),
                "error", "no-cloze"))
        fields = (note.question_html, note.answer_html, "")
        fingerprint = content_fingerprint(fields, note.tags)
        same_content = record is not None and not record.removed and record.fingerprint == fingerprint
        if same_content:
            mtime, source = record.mtime, record.source
        else:
            mtime, source = stamp, f"{display_path}:{question.line}"
            kind = ("new" if record is None else "restored" if record.removed
                    else "renamed" if identity.reworded else "changed")
            changes.append(NoteChange(kind, question.title, source,
                                      record.question if identity.reworded else None))
        if not same_content or (record.question, record.answer, record.explicit_id, record.tags) != (
                question.title, question.answer, question.explicit_id, note.tags):
            record = NoteIdentity(guid=identity.guid, question=question.title, answer=question.answer,
                                  tags=note.tags, fingerprint=fingerprint, mtime=mtime, source=source,
                                  explicit_id=question.explicit_id)
        records.append(record)  # when unchanged, the very record read: the file keeps its line as it is
        package_notes.append(PackageNote(identity.guid, _with_source(fields, source), note.tags, mtime))
        media.update((ref.name, ref) for ref in note.media)

    live = {r.guid for r in records}
    gone = [record for record in sorted(known, key=lambda r: r.guid) if record.guid not in live]
    texts = deck.cache.render_all([(text, inline) for record in gone
                              for text, inline in ((record.question, True), (record.answer, False))], renderer)
    for record, question, answer in zip(gone, texts[0::2], texts[1::2]):
        tombstone, fields = _tombstone(record, question or RenderedText(html.escape(record.question)),
                                       answer or RenderedText(html.escape(record.answer)), stamp)
        media.update((ref.name, ref) for ref in note_media(*(text for text in (question, answer) if text)))
        if not record.removed:
            changes.append(NoteChange("removed", record.question, record.source))
        records.append(tombstone)
        package_notes.append(PackageNote(tombstone.guid, _with_source(fields, tombstone.source),
                                         tombstone.tags, tombstone.mtime))

    description = _fingerprint(deck.description_html)
    if previous is not None and previous.name != settings.name:
        diagnostics.append(Diagnostic(source_path, 0, (
            f"the deck's name changed from {previous.name!r} to {settings.name!r}: Anki finds decks by name, so "
            "it will make a new deck for new notes while existing cards stay in the old one"),
            code="deck-renamed"))

    # The stamp is later than anything recorded, so whatever carries it changed in this build.
    content_changed = previous is not None and (
        any(r.mtime == stamp for r in records) or type_change is not None
        or previous.description != description or previous.name != settings.name)
    version = _next_version(settings.version, previous, content_changed)
    version_mtime = stamp if previous is None or version != previous.version else previous.version_mtime
    identity = DeckIdentity(slug=settings.slug, name=settings.name, version=version, version_mtime=version_mtime,
                            description=description, note_type=type_identity,
                            notes=tuple(sorted(records, key=lambda r: r.guid)))
    package = PackagePlan(
        deck_name=settings.name, deck_id=deck_id(settings.name),
        description=deck.description_html + f'\n<p class="dg-version">Version {version}</p>',
        note_type=note_type, note_type_mtime=type_identity.mtime, notes=tuple(package_notes),
        first_id=version_mtime * 1000, media=tuple(media[name] for name in sorted(media)))
    plan = DeckPlan(deck=deck, previous=previous, identity=identity, package=package, changes=tuple(changes),
                    unchanged=len(deck.notes) - sum(c.kind != "removed" for c in changes),
                    note_type_change=type_change)
    return plan, tuple(diagnostics)


def content_fingerprint(fields: tuple[str, ...], tags: tuple[str, ...]) -> str:
    """Hash of what Anki would store for a note, less its source line (which moves with every insert above)."""
    return _fingerprint("\x1f".join(fields) + "\x1e" + " ".join(tags))  # \x1f cannot occur in a field


def _tombstone(record: NoteIdentity, question: RenderedText, answer: RenderedText, stamp: int
               ) -> tuple[NoteIdentity, tuple[str, str, str]]:
    """The note a removed question leaves behind: its last content, marked and tagged as removed."""
    tags = tuple(sorted(set(record.tags) | {REMOVED_TAG}))
    fields = (question.html, answer.html, REMOVED_STATUS)
    fingerprint = content_fingerprint(fields, tags)
    if record.removed and (record.fingerprint, record.tags) == (fingerprint, tags):
        return record, fields  # as the last build left it (and its line in the identity file)
    return NoteIdentity(guid=record.guid, question=record.question, answer=record.answer, tags=tags,
                        fingerprint=fingerprint, mtime=stamp, source=record.source,
                        explicit_id=record.explicit_id, removed=True), fields


def _plan_note_type(note_type: NoteType, previous: DeckIdentity | None, stamp: int, source_path,
                    allow_new: bool) -> tuple[NoteTypeIdentity, str | None, list[Diagnostic]]:
    templates = tuple(name for name, _, _ in note_type.templates)
    recorded = previous.note_type if previous else None
    schema = (note_type.model_id, note_type.fields, templates)
    if recorded is None:
        change, mtime = "new", stamp
    elif (recorded.model_id, recorded.fields, recorded.templates) != schema:
        change, mtime = "schema changed", stamp
    elif recorded.fingerprint != note_type.fingerprint:
        change, mtime = "styling updated", stamp
    else:
        change, mtime = None, recorded.mtime
    diagnostics = []
    if change == "schema changed" and not allow_new:
        diagnostics.append(Diagnostic(source_path, 0, (
            f"the note type would change from {recorded.name} (id {recorded.model_id}, fields "
            f"{', '.join(recorded.fields)}; cards {', '.join(recorded.templates)}) to {note_type.name} "
            f"(id {note_type.model_id}, fields {', '.join(note_type.fields)}; cards {', '.join(templates)}). "
            "Anki would add it as a second note type and every note already imported would become "
            "'conflicting': never updated again by any later build. If you really want that, build with "
            "--new-note-type."), "error", "note-type-fork"))
    return NoteTypeIdentity(model_id=note_type.model_id, name=note_type.name, fields=note_type.fields,
                            templates=templates, fingerprint=note_type.fingerprint, mtime=mtime), change, diagnostics


def _next_version(wanted: str | None, previous: DeckIdentity | None, content_changed: bool) -> str:
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


def _with_source(fields: tuple[str, str, str], source: str) -> tuple[str, ...]:
    """The note type's field order: Question, Answer, Source, Status."""
    question, answer, status = fields
    return question, answer, source, status


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
