"""Decide what the next build is: each note's time, each package's version, what changed, the new record.

Per-note decisions are in `notes`, version and retention policy in `versions`, warnings in `lint`, what
decides a change in `fingerprints` and `cleaning`; here, each package's share of them, and the new record.

A pure function of the rendered decks and the identity record, with the
clock passed in: no renderer, no cache, no writing. What decides whether a
note changed is a fingerprint of what its author wrote (`fingerprints.author_fingerprint`),
never its HTML: a new version of a rendering library changes no note, and
two people with different ones build the same versions. Anki updates a note
only when its time grows, so only notes whose fingerprint changed get a new
time, later than any the record holds; the HTML delivered with it is
recorded too (`html_hash`), so that `rerender` can later bring deckgen's
new rendering to exactly the notes it changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import msgspec

from ..identify.decks import IdentifiedLibrary
from ..identify.delivered import Delivered, content_digest
from ..identify.note_types import NOTE_TYPES, NoteType
from ..identify.ownership import Minted
from ..identify.record import DeckRecord, IdentityRecord, NoteRecord, PackageRecord
from ..render import cache as render_cache
from ..render.card_html import REMOVED_SUBDECK_DESCRIPTION, source_field, with_version_line
from ..render.decks import RenderedDeck, RenderedLibrary
from ..sources.settings import LibrarySettings, version_key
from .fingerprints import html_hash
from .lint import clashes
from .model import BuildPlan, DeckPart, PackageContent, PackageDeck, PackageNote, VersionPlan, add_media
from .notes import DeckShare, plan_deck
from .versions import continued_from, next_version, past_bound


def plan_next_build(rendered: RenderedLibrary, identified: IdentifiedLibrary, settings: LibrarySettings, now: float,
                    rerender: bool = False) -> BuildPlan:
    """The plan stage of a library (see `plan_build`)."""
    return plan_build(rendered.decks, identified.record, now, render_cache.RENDER_VERSION, identified.packages,
                      rerender, identified.history.delivered, settings, identified.history.namespace,
                      identified.history.proven)


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
    holding = any(deck.identified.parsed.held for deck in decks)
    parts = [plan_deck(deck, previous, delivered, stamp, render_version, rerender, settings.source_url, namespace,
                       proofs or {}, holding) for deck in decks]
    for part in parts:
        diagnostics.extend(part.diagnostics)
        deck_records[part.deck_record.deck] = part.deck_record
        note_types[part.note_type_record.note_type] = part.note_type_record
    for key in sorted(set(packages.values())):
        members = [part for part in parts if packages[part.deck.key] == key]
        plan, package_record, records, decks = _plan_package(key, members, previous, delivered, settings, stamp,
                                                             render_version, rerender)
        deck_records.update((deck.deck, deck) for deck in decks)
        plans.append(plan)
        package_records[key] = package_record
        notes.update((note.guid, note) for note in records)
    diagnostics.extend(clashes(plans))
    record = IdentityRecord(packages=package_records, decks=deck_records, note_types=note_types, notes=notes,
                            lines=previous.lines, tidy=previous.tidy, legacy=previous.legacy)
    return BuildPlan(packages=tuple(plans), record=_same_where_unchanged(record, previous), previous=previous,
                     diagnostics=tuple(diagnostics))


def _plan_package(key: str, shares: list[DeckShare], previous: IdentityRecord, delivered: Delivered,
                  library: LibrarySettings, stamp: int, render_version: int, rerender: bool
                  ) -> tuple[VersionPlan, PackageRecord, list[NoteRecord], list[DeckRecord]]:
    old_package = previous.packages.get(key)
    old_render = old_package.render if old_package else render_version
    changes = [change for share in shares for change in share.changes]
    content_changed = old_package is not None and (bool(changes) or any(
        share.type_change is not None or share.deck_changed for share in shares))
    if content_changed:  # a new version comes: a description hashed as deckgen 0.6.1 did is hashed in full
        shares = [dataclasses.replace(share, deck_record=msgspec.structs.replace(
            share.deck_record, description=share.description)) if share.description != share.deck_record.description
            else share for share in shares]
    package_notes = [note for share in shares for note in share.notes]
    tombstones = [t for share in shares for t in share.tombstones]
    digest = content_digest([
        *(f"{s.name} {s.deck_record.description} {s.note_type_record.fingerprint} {s.note_type_record.mtime}"
          for s in shares),
        *sorted(f"{n.guid} {n.mtime}" for n in package_notes),
        *sorted(f"{t.record.guid} {t.mtime} removed" for t in tombstones if t.tags is not None)])
    wanted = max([v for v in [library.version, *(s.deck.settings.version for s in shares)]
                  if v], key=version_key, default=None)
    continued = continued_from(key, shares, previous)
    version = next_version(wanted, old_package, content_changed, delivered.versions.get(key, {}), digest,
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
        if past_bound(record, serial, version_mtime, library):
            dropped += 1  # past the bound: no longer carried, its GUID still reserved by the record
            continue
        carried += 1
        values = (*fields[:2], source_field(record.source, record.question, None), fields[2])
        package_notes.append(PackageNote(record.guid, _fitted(values, note_types[tombstone.note_type][0]), tags,
                                         tombstone.mtime, tombstone.note_type, tombstone.deck, removed=True))
        add_media(media, tombstone.rendered.question, tombstone.rendered.answer)
    used = {note.note_type for note in package_notes} | {s.note_type_record.note_type for s in shares}
    note_types = {model: note_type for model, note_type in note_types.items() if model in used}  # the decks'
    # own, and those of the left-behind notes it carries
    descriptions: dict[str, str] = {}  # several files may feed one deck: the first that describes it does
    for share in shares:
        if not descriptions.get(share.name, "").strip():
            descriptions[share.name] = share.deck.description_html
    decks = [PackageDeck(name, with_version_line(text, version))
             for name, text in descriptions.items()]
    decks += [PackageDeck(name, REMOVED_SUBDECK_DESCRIPTION)
              for name in sorted({note.deck for note in package_notes if note.removed})]
    package = PackageContent(
        decks=tuple(decks), notes=tuple(package_notes), first_id=version_mtime * 1000,
        note_types=tuple(note_types[model] for model in sorted(note_types)),
        media=tuple(media[key] for key in sorted(media)))
    parts = tuple(DeckPart(s.deck, s.name, tuple(s.changes), len(s.deck.notes) - sum(
        c.kind not in ("removed", "replaced") for c in s.changes), s.type_change, s.description_changed)
        for s in shares)
    plan = VersionPlan(key=key, decks=parts, previous_version=old_package.version if old_package else continued,
                       version=version, package=package, changes=tuple(changes),
                       rerender_pending=sum(s.pending for s in shares), digest=digest,
                       removed_carried=carried, removed_dropped=dropped)
    # Once no note would look different, the package's notes are all of this render version.
    package_record = PackageRecord(package=key, version=version, version_mtime=version_mtime, serial=serial,
                                   render=render_version if old_package is None or rerender or not plan.rerender_pending
                                   else old_render)
    return plan, package_record, records, [share.deck_record for share in shares]


def _fitted(values: tuple[str, ...], note_type: NoteType) -> tuple[str, ...]:
    """A removed or replaced note's fields (`values`, in the order of deckgen's note types today: question,
    answer, source, status) as its own note type has them, which may be an older one with other fields: each
    by its name, the first two by their place, and a field deckgen no longer knows empty."""
    today = NOTE_TYPES["cloze" if note_type.cloze else "basic"].fields
    if note_type.fields == today:
        return values
    by_name = dict(zip(today, values))
    return tuple(by_name.get(name, values[index] if index < 2 else "") for index, name in enumerate(note_type.fields))


def _same_where_unchanged(record: IdentityRecord, previous: IdentityRecord) -> IdentityRecord:
    """`record`, with each entry equal to the one read from the file replaced by that very object, so the
    file keeps its line as it was (and a build that changes nothing writes nothing)."""
    def keep(new: dict, old: dict) -> dict:
        return {key: old[key] if old.get(key) is not value and old.get(key) == value else value
                for key, value in new.items()}

    return dataclasses.replace(
        record, packages=keep(record.packages, previous.packages), decks=keep(record.decks, previous.decks),
        note_types=keep(record.note_types, previous.note_types), notes=keep(record.notes, previous.notes))


