"""Deliver a library's newest packages into an Anki collection, with Anki's own importer, all or nothing; the
only module that imports `anki` (an optional extra: `pip install 'deckgen[anki]'`).

Anki's import never moves a card, replaces the tags of every note it updates, never touches a note removed
from the source, and saves the options it ran with as the Import dialog's defaults. A delivery therefore:

1. opens the collection, which fails while Anki desktop has it open (nothing is written then);
2. refuses when another library delivered any of the packages' notes to this collection (see `ledger`);
3. writes a backup where Anki's "Open Backup" finds it;
4. imports each package with fixed options (no note-type merge, no scheduling, no deck options; notes and note
   types updated when the package's are newer) and reads Anki's log: when a note would not be updated
   (conflicting: its note type was changed in Anki) or the import changed the collection's schema time (every
   device would need a full sync, and lose the reviews made since the last one), everything is undone;
5. puts back the tags deckgen did not write on every note it updated (Anki's `leech` and `marked`, the user's
   own: any tag deckgen never wrote here), moves the cards of questions that moved to another file or deck
   (only cards still in a deck deckgen put this library's cards in: one the user moved to a deck of their own
   stays), suspends the cards of notes removed from the source (and unsuspends them, if deckgen suspended
   them, when the question comes back), restores the user's import presets, and writes the ledger;

steps 4 and 5 in one SQLite transaction (a process killed half-way leaves the collection as it was) and one undo
step of deckgen's own, which is undone when Anki's verdict is bad or anything fails on the way.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..errors import DeckgenError
from ..identify.record import IdentityRecord, NoteRecord
from ..plan.fingerprints import html_hash
from ..plan.model import REMOVED_TAG
from ..render.card_html import without_context
from .edits import normal_form
from .ledger import KEY_PREFIX, IdSet, Ledger, LedgerProblem, NameHashes, ledger_key, read_ledger
from .package import SOURCE_FIELD, PackagedNote, field_text, packaged_notes, source_file
from .profiles import Target

PRESET_KEYS = ("mergeNotetypes", "withScheduling", "withDeckConfigs", "updateNotes", "updateNotetypes")
"""The collection config an import writes its options into, which Anki's Import dialog reads as its defaults."""
SUSPENDED = -1  # a card's queue when suspended
ANKI_TAGS = frozenset({"leech", "marked"})
"""Tags Anki itself puts on notes: the user's, even where a note's `#marked` made deckgen write one too."""
DECKGEN_TAGS = "deckgen::"
"""deckgen's own tags (`deckgen::removed`): always deckgen's to write or take away."""
FIXED_OPTIONS = dict(merge_notetypes=False, with_scheduling=False, with_deck_configs=False)
"""The import options no delivery changes: note types never merged (a full sync), no scheduling, no deck options."""
_MISSING = object()
FIELD_NAMES = ("Question", "Answer")
"""The fields an edit made in Anki is looked for in, the first of every note type's (Source and Status are
deckgen's; a field the user added is theirs)."""
FIELDS_EDITED = len(FIELD_NAMES)


@dataclass(frozen=True)
class PackageToDeliver:
    key: str
    version: str
    digest: str
    """Of its content (see `identify.delivered.content_digest`): another computer's version of that number may
    hold other notes."""
    path: Path


@dataclass(frozen=True, order=True)
class NoteRef:
    """A note, as a report names it: its question and where it is."""

    question: str
    source: str


@dataclass
class PackageDelivery:
    """What delivering one package did, in deckgen's terms."""

    key: str
    version: str
    previous: str | None
    """The version this library delivered to the collection before; None for a first sync."""
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    """Cards moved to the deck their question is in now."""
    suspended: int = 0
    """Cards of notes removed from the source, suspended."""
    restored: int = 0
    """Cards of notes whose question came back, unsuspended."""
    tags_kept: int = 0
    """Notes the import updated on which tags deckgen did not write were put back."""
    conflicting: int = 0
    """Notes Anki would not update: every note of a note type changed in Anki (a field added, say)."""
    conflicts: list[NoteRef] = field(default_factory=list)
    """Those of them that carry a change from the source."""
    kept: list[NoteRef] = field(default_factory=list)
    """Notes Anki did not update, its copy being newer than the package's and different: edited in Anki after the
    build that changed them (or rewritten by a note-type change made in Anki)."""
    edited: int = 0
    """Notes edited in Anki whose source did not change since: Anki keeps them, and `deckgen pull` takes them."""
    overwritten: list[NoteRef] = field(default_factory=list)
    """Notes whose edits made in Anki were replaced by the package's (told to: `overwrite`)."""


@dataclass(frozen=True)
class DeliveryReport:
    collection: Path
    packages: tuple[PackageDelivery, ...]
    backup: Path | None = None
    stopped: str | None = None
    """Why nothing was delivered after all (the collection is as it was); None when it was."""
    problems: tuple[str, ...] = ()
    """Config values under deckgen's prefix that are no ledger, ignored."""
    gone: int = 0
    """Cards suspended whose notes no package carries any more (see `_Delivery._suspend_gone`)."""

    @property
    def up_to_date(self) -> bool:
        return not self.packages and self.stopped is None


def deliver(col, target: Target, library: str, namespace: str, packages: list[PackageToDeliver],
            library_guids: set[str], suspend_removed: bool = True, overwrite: bool = False,
            previous: dict[str, DeliveredNote] | None = None, built_here=None) -> DeliveryReport:
    """Bring `col`, the collection of `target` (see `open_collection`), up to date with the packages (see the
    module); `library_guids` are every note the library's identity record holds, removed ones too, `previous`
    what the build before the one that made the packages delivered (see `delivered_by`; when no build ran, what
    the packages' own build delivered), and
    `built_here(key, version, digest)` the file of a package version this machine built, or None. With
    `overwrite`, even notes whose copy in Anki is newer (edited in Anki), and packages it holds already."""
    try:
        return _Delivery(col, target, library, namespace, library_guids, suspend_removed, overwrite,
                         previous, built_here).run(packages)
    except DeckgenError:
        raise
    except Exception as err:  # Anki's backend: a backup that cannot be written, a damaged collection
        raise DeckgenError(f"{target.collection}: {type(err).__name__}: {err}; nothing was changed in the "
                           "collection") from None


@contextmanager
def collection_copy(path: Path, command: str) -> Iterator:
    """A copy of the collection at `path`, opened with the `anki` package, to read: the collection itself is only
    read, in one SQLite read transaction (its backup), and never opened by Anki's backend, which may upgrade what
    it opens. DeckgenError, saying so, while Anki has it open (it holds the file locked)."""
    if not path.is_file():
        raise DeckgenError(f"{path}: no such collection file")
    with tempfile.TemporaryDirectory(prefix="deckgen-") as scratch:
        copy = Path(scratch) / "collection.anki2"
        try:
            with closing(sqlite3.connect(path, timeout=0)) as source, closing(sqlite3.connect(copy)) as target:
                source.execute("begin")  # a read transaction: fails at once while Anki holds its lock, and keeps
                source.execute("select count() from col")  # Anki from taking it until the copy is made
                source.backup(target)  # (which would wait for a lock as long as Anki holds it)
        except sqlite3.OperationalError as err:
            if "locked" in str(err):
                raise DeckgenError(f"{path}: Anki has this collection open (it keeps it locked while it runs), and "
                                   f"nothing was read. Close Anki and run deckgen {command} again") from None
            raise DeckgenError(f"{path}: cannot read this collection: {err}") from None
        except sqlite3.Error as err:
            raise DeckgenError(f"{path}: cannot read this collection: {err}") from None
        col = open_collection(copy)
        try:
            yield col
        finally:
            col.close()


def open_collection(path: Path):
    """The collection at `path`, opened with the `anki` package; DeckgenError, with what to do, when it cannot be."""
    try:
        from anki.collection import Collection
        from anki.errors import DBError
    except ImportError as err:
        missing = getattr(err, "name", None) in ("anki", "anki.collection")
        raise DeckgenError(
            "deckgen sync needs the anki package: pip install 'deckgen[anki]'" if missing else
            f"the anki package cannot be loaded here ({err}); its wheels need glibc 2.35 or later on Linux. "
            "Import the package into Anki by hand instead (File > Import)") from None
    try:
        return Collection(str(path))
    except DBError as err:
        text = str(err)
        if "FileTooNew" in text:
            raise DeckgenError(f"{path}: this collection was written by a newer Anki than the anki package installed "
                               "here can open; upgrade it (pip install -U 'deckgen[anki]')") from None
        if "already open" in text:
            raise DeckgenError(f"{path}: Anki has this collection open (or is syncing its media), and nothing was "
                               "written. Close Anki and run deckgen sync again, or import the package by hand "
                               "(File > Import) while it runs") from None
        if "NotADatabase" in text:
            raise DeckgenError(f"{path}: not an Anki collection (not an SQLite database); nothing was written") \
                from None
        raise DeckgenError(f"{path}: Anki cannot open this collection: {text}") from None
    except Exception as err:  # the backend's other errors: a damaged or foreign file
        raise DeckgenError(f"{path}: Anki cannot open this collection: {err}") from None


class Found(NamedTuple):
    """A note of the collection, as the delivery reads it."""

    id: int
    tags: tuple[str, ...]
    stored: str
    """Its fields as Anki stores them (separated by 0x1f), split only where they are read."""
    mtime: int
    """When it last changed (seconds): the package's time for it when an import last updated it."""
    note_type: int

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.stored.split("\x1f"))

    @property
    def source(self) -> str:
        """The file its Source field names."""
        return source_file(field_text(self.fields, SOURCE_FIELD))

    def holds(self, note: PackagedNote, count: int | None = None) -> bool:
        """Whether it holds the fields the package has for it (a field the user added in Anki aside; the first
        `count` only), in the normal form of `edits.normal_form` (Anki's editor writes `<b>` for bold, say)."""
        theirs = note.fields[:count]
        return same_fields(self.fields[:len(theirs)], theirs)


def same_field(ours: str, theirs: str) -> bool:
    """Whether two notes' copies of a field are the same, in the normal form of `edits.normal_form`, the context
    deckgen puts above a question left out (deckgen's to write: see `render.card_html`)."""
    return ours == theirs or normal_form(without_context(ours)) == normal_form(without_context(theirs))


def same_fields(ours: Sequence[str], theirs: Sequence[str]) -> bool:
    """Whether two notes' fields are the same, each by `same_field`."""
    return len(ours) == len(theirs) and all(map(same_field, ours, theirs))


def edited_fields(ours: Sequence[str], theirs: Sequence[str]) -> tuple[str, ...]:
    """The names of FIELD_NAMES whose copies in two notes are not the same (by `same_field`)."""
    return tuple(name for name, a, b in zip(FIELD_NAMES, ours, theirs) if not same_field(a, b))


def collection_notes(col, guids) -> dict[str, Found]:
    """The notes of the collection with these GUIDs."""
    return {guid: Found(nid, tuple(tags.split()), fields, mtime, note_type)
            for guid, nid, tags, fields, mtime, note_type in col.db.execute(
                "select guid, id, tags, flds, mod, mid from notes") if guid in guids}


class DeliveredNote(NamedTuple):
    """A note as a build delivered it: the hash of its fields and tags (see `plan.fingerprints.html_hash`), and its
    tags; and when Anki last changed it, if `deckgen pull` wrote that change into the source."""

    html: str
    tags: tuple[str, ...]
    pulled: int = 0


def delivered_by(record: IdentityRecord) -> dict[str, DeliveredNote]:
    """What the build that wrote `record` delivered, note by note (by GUID)."""
    return {guid: DeliveredNote(note.html, note.tags, note.pulled) for guid, note in record.notes.items()
            if note.html}


def delivered_notes(ledger: Ledger | None, keys, built_here) -> dict[str, PackagedNote]:
    """The notes of the packages `keys` as the collection of `ledger` was last delivered them, where this machine
    has the package it delivered (`built_here(key, version, digest)` finds its file), by GUID."""
    found: dict[str, PackagedNote] = {}
    for key in keys:
        delivered = ledger.packages.get(key) if ledger is not None else None
        path = built_here(key, *delivered) if delivered is not None and built_here is not None else None
        found.update(packaged_notes(path) if path is not None else {})
    return found


def note_hash(fields, tags) -> str:
    """The hash the identity record keeps of a note's delivered fields and tags (`NoteRecord.html`)."""
    return html_hash((*fields[:FIELDS_EDITED], ""), tags)


def unedited(found: Found, last: DeliveredNote | NoteRecord | None) -> bool:
    """Whether a note's fields are those `last` delivered (the build before, or its record: a change of tags alone
    is no edit), or the ones `deckgen pull` took into the source, unchanged since."""
    if last is None:
        return False
    if last.html and note_hash(found.fields, last.tags) == last.html:
        return True
    return bool(last.pulled) and found.mtime == last.pulled


def edited_in_anki(found: Found, ledger: Ledger | None, last: DeliveredNote | NoteRecord | None,
                   held: PackagedNote | None = None) -> bool | None:
    """Whether the fields of a note were edited in Anki since deckgen delivered it: not when `unedited`; else, where
    this machine has the package the collection was delivered (`held`), when they differ from it and Anki's time
    for the note is not the package's (that copy is then one an earlier rendering of deckgen's made); else, by the
    ledger's clock, when Anki changed it at or after the second the last sync ended, or kept it as its own then
    (see `ledger`). None when nothing tells (no ledger, or one of deckgen 0.5's)."""
    if unedited(found, last):
        return False
    if held is not None:
        return found.mtime != held.mtime and not found.holds(held, FIELDS_EDITED)
    if ledger is None or not ledger.synced:
        return None
    return found.mtime >= ledger.synced or found.id in ledger.edited


def own_ledger(col, namespace: str) -> Ledger | None:
    """This library's ledger in the collection; None when there is none, or none this deckgen reads."""
    try:
        value = col.get_config(ledger_key(namespace), None)
        return read_ledger(value) if value is not None else None
    except LedgerProblem:
        return None


class _Delivery:
    def __init__(self, col, target: Target, library: str, namespace: str, library_guids: set[str],
                 suspend_removed: bool, overwrite: bool, previous: dict[str, DeliveredNote] | None, built_here):
        self.col, self.target, self.suspend_removed, self.overwrite = col, target, suspend_removed, overwrite
        self.previous = previous or {}
        self.built_here = built_here
        self.library_guids = library_guids
        self.key = ledger_key(namespace)
        self.others, problems = {}, []
        for key in col.db.list("select key from config where key like ?", KEY_PREFIX + "%"):
            try:
                self.others[key] = read_ledger(col.get_config(key))
            except LedgerProblem as err:
                if err.newer and key == self.key:
                    raise DeckgenError(f"{target.collection}: a newer deckgen delivered this notes folder to this "
                                       f"collection ({err}): upgrade deckgen (pip install -U deckgen) to sync it; "
                                       "nothing was changed in the collection") from None
                problems.append(f"{key}: {err}")
        self.problems = tuple(problems)
        own = self.others.pop(self.key, None)
        self.first = own is None
        """No ledger of this library here: the collection holds what imports by hand brought, if anything."""
        self.ledger = own if own is not None else Ledger(library)
        self.ledger.library = library
        self.step: int | None = None

    def run(self, packages: list[PackageToDeliver]) -> DeliveryReport:
        col, ledger = self.col, self.ledger
        pending = [p for p in packages if ledger.packages.get(p.key) != (p.version, p.digest) or self.overwrite]
        if not pending:
            return DeliveryReport(self.target.collection, (), problems=self.problems)
        everything = {p.key: packaged_notes(p.path) for p in packages}
        contents = {p.key: everything[p.key] for p in pending}
        carried = {guid for notes in everything.values() for guid in notes}
        self.decks_now = {note.deck.casefold() for notes in everything.values() for note in notes.values()}
        self.packaged = {guid: note for notes in everything.values() for guid, note in notes.items()}
        before = self._notes(carried)
        self.kept: set[str] = set()  # notes Anki keeps as its own copy against a change of their source
        self.pending, self._held = list(contents), None
        self.overwriting: set[str] = set()
        self._refuse_others(contents, before)
        self._refuse_overwriting(contents, before)
        presets = {key: col.get_config(key, _MISSING) for key in PRESET_KEYS}
        schema = col.db.scalar("select scm from col")
        backup = self._backup()
        reports = [PackageDelivery(p.key, p.version, ledger.packages.get(p.key, (None,))[0]) for p in pending]
        outcome = []
        try:  # one SQLite transaction: a process killed half-way leaves the collection as it was
            col.db.transact(lambda: outcome.append(self._deliver(pending, contents, carried, before, presets, schema,
                                                                 reports)))
        except Exception as err:  # Anki's backend said no: undone, and rolled back
            raise DeckgenError(f"{self.target.collection}: the delivery stopped ({type(err).__name__}: {err}); "
                               "it was undone, and the collection is as it was") from None
        (stopped, gone), = outcome
        return DeliveryReport(self.target.collection, tuple(reports), backup, stopped, self.problems, gone)

    def _deliver(self, pending, contents, carried, before, presets, schema, reports) -> tuple[str | None, int]:
        """Import, judge, and keep what Anki owns (see the module); (why it was undone, or None; cards of gone
        notes suspended)."""
        col, ledger = self.col, self.ledger
        # The cards deckgen suspended that are suspended still: one the user unsuspended is theirs again.
        ledger.suspended = IdSet(card for card in col.db.list("select id from cards where queue = ?", SUSPENDED)
                                 if card in ledger.suspended)
        delivered_before = ledger.notes
        # One undo step of deckgen's own, which every change below joins: an import that changes nothing makes
        # no step of Anki's to join.
        self.step = col.add_custom_undo_entry("deckgen sync")
        try:
            for package, report in zip(pending, reports):
                self._import(package, contents[package.key], before, report)
            conflicts = sum(r.conflicting for r in reports)
            if conflicts or col.db.scalar("select scm from col") != schema:
                col.undo()
                return self._stopped(conflicts), 0
            notes = {guid: note for package in contents.values() for guid, note in package.items()}
            # What deckgen wrote here: the ledger's, or on a first sync, what these packages write.
            written = {tag for note in notes.values() for tag in note.tags}
            decks = ledger.decks | NameHashes.of(note.deck for note in notes.values())
            for package, report in zip(pending, reports):
                package_notes = contents[package.key]
                self._keep_tags(package_notes, before, ledger.tags | NameHashes.of(written), report)
                self._move(package_notes, before, decks, report)
                self._suspend_or_restore(package_notes, before, report)
                ledger.packages[package.key] = (package.version, package.digest)
            gone = self._suspend_gone(carried, delivered_before)
            library = self._notes(carried | self.library_guids)
            ledger.notes = IdSet(note.id for guid, note in library.items() if guid in carried)
            # A tag deckgen wrote is known as its own while it writes it, or any of the library's notes has it.
            present = NameHashes.of(tag for note in library.values() for tag in note.tags)
            ledger.tags = NameHashes.of(written) | NameHashes(ledger.tags.hashes & present.hashes)
            ledger.decks = decks
            edited = {guid for guid, found in library.items() if guid in self.packaged
                      and found.mtime != self.packaged[guid].mtime and not found.holds(self.packaged[guid])}
            ledger.edited = IdSet(library[guid].id for guid in edited)
            ledger.conflicts = IdSet(library[guid].id for guid in edited
                                     if guid in self.kept or library[guid].id in ledger.conflicts)
            ledger.synced = int(time.time())  # the clock of the last resort (see `edited_in_anki`)
            for key, value in presets.items():  # the Import dialog's defaults, as the user left them
                if col.get_config(key, _MISSING) != value:
                    self._merged(col.remove_config(key) if value is _MISSING else col.set_config(key, value,
                                                                                                 undoable=True))
            self._merged(col.set_config(self.key, ledger.to_config(), undoable=True))
            if col.db.scalar("select scm from col") != schema:
                col.undo()
                return self._stopped(0), 0
            return None, gone
        except BaseException:
            try:
                col.undo()
            except Exception:  # the transaction is rolled back all the same
                pass
            raise

    def _notes(self, guids) -> dict[str, Found]:
        return collection_notes(self.col, guids)

    def _refuse_others(self, contents: dict[str, dict[str, PackagedNote]], before: dict[str, Found]) -> None:
        for key, other in self.others.items():
            taken = [note for notes in contents.values() for guid, note in notes.items()
                     if guid in before and before[guid].id in other.notes]
            if taken:
                raise DeckgenError(
                    f"{len(taken)} note(s) of this library's packages were delivered to this collection by another "
                    f"library ({other.library or 'unnamed'!r}, config key {key!r}), and deckgen never updates "
                    "another library's notes "
                    f"(the first: {taken[0].question!r}, {taken[0].source}). Nothing was changed in the collection. "
                    "Is this a copy "
                    "of that library with a namespace of its own? Give it back its namespace (deckgen.toml) or "
                    "deliver only one of the two to this collection")

    def _edited(self, guid: str, before: dict[str, Found]) -> bool | None:
        """Whether the collection's copy of a note was edited in Anki since it was delivered (see `edited_in_anki`);
        the package delivered before is read only when the record leaves it open."""
        last = self.previous.get(guid)
        if unedited(before[guid], last):
            return False
        return edited_in_anki(before[guid], self.ledger, last, self.held.get(guid))

    def _refuse_overwriting(self, contents: dict[str, dict[str, PackagedNote]], before: dict[str, Found]) -> None:
        """Stop, unless told to overwrite them, when the import would replace an edit made in Anki since the last
        sync: a note whose source changed too (a later time in the package than Anki's) is a conflict. Told to,
        note which edits are overwritten (`self.overwriting`), to say so."""
        if self.overwrite:
            self.overwriting = {guid for notes in contents.values() for guid, note in notes.items()
                                if guid in before and not before[guid].holds(note, FIELDS_EDITED)
                                and self._edited(guid, before) is not False}
            return
        if self.first:
            return
        lost = sorted((NoteRef(note.question, note.source), note.removed) for notes in contents.values()
                      for guid, note in notes.items() if guid in before and note.mtime > before[guid].mtime
                      and not before[guid].holds(note) and self._edited(guid, before))
        if lost:
            listed = "".join(f"\n  {note.source}: {note.question}" + (
                " (removed from the source: copy what you want to keep of it into the Markdown)" if removed else "")
                for note, removed in lost[:20])
            more = f"\n  ... and {len(lost) - 20} more" if len(lost) > 20 else ""
            raise DeckgenError(
                f"{len(lost)} note(s) were edited in Anki since the last sync, and their source changed too: the "
                f"import would overwrite the edits made in Anki. Nothing was changed in the collection.{listed}{more}"
                "\n`deckgen status` shows the versions of each. To keep Anki's, `deckgen pull --take-anki --write`, "
                "then sync; to keep the source's, `deckgen sync --overwrite-anki-edits`")

    def _backup(self) -> Path | None:
        """A backup of the collection as it is, named and placed as Anki desktop's own (it thins them as its
        own, too). Its name says the second: never in a second that already has one, which it would replace."""
        folder = self.target.backups
        folder.mkdir(parents=True, exist_ok=True)
        before = set(folder.glob("backup-*.colpkg"))
        while (folder / time.strftime("backup-%Y-%m-%d-%H.%M.%S.colpkg")).exists():
            time.sleep(0.1)
        started = time.time()
        self.col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
        made = [path for path in folder.glob("backup-*.colpkg")
                if path not in before or path.stat().st_mtime >= started - 1]
        return max(made, key=lambda path: path.stat().st_mtime, default=None)

    def _import(self, package: PackageToDeliver, notes: dict[str, PackagedNote], before: dict[str, Found],
                report: PackageDelivery) -> None:
        from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
        from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_ALWAYS as ALWAYS
        from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER as IF_NEWER

        options = ImportAnkiPackageOptions(update_notes=ALWAYS if self.overwrite else IF_NEWER,
                                           update_notetypes=IF_NEWER, **FIXED_OPTIONS)
        log = self.col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package.path),
                                                                    options=options)).log
        self.col.merge_undo_entries(self.step)
        report.new, report.updated, report.unchanged = len(log.new), len(log.updated), len(log.duplicate)
        # Anki's log names a conflicting note by its id in the package, a duplicate by its id in the collection.
        in_package = {note.id: note for note in notes.values()}
        in_collection = {before[guid].id: note for guid, note in notes.items() if guid in before}

        def changed(entries, by_id, edited: bool = False) -> list[NoteRef]:
            """The notes of `entries` whose fields in the collection are not the package's, by where they are; with
            `edited`, only those whose time in Anki is not the package's (a copy with the package's time is one a
            package delivered, in another rendering of deckgen's if its fields differ)."""
            found = [by_id.get(entry.id.nid) for entry in entries]
            return sorted(NoteRef(note.question, note.source) for note in found
                          if note is not None and note.guid in before and not before[note.guid].holds(note)
                          and not (edited and before[note.guid].mtime == note.mtime))

        # Anki calls every note of a note type changed in Anki conflicting: those with changes are the ones named.
        report.conflicting = len(log.conflicting)
        report.conflicts = changed(log.conflicting, in_package)
        mine = self.overwriting & notes.keys()
        now = self._notes(mine) if mine else {}
        report.overwritten = sorted(NoteRef(notes[guid].question, notes[guid].source) for guid in mine
                                    if guid in now and now[guid].holds(notes[guid], FIELDS_EDITED))
        different = changed(log.duplicate, in_collection, edited=True)  # Anki's copy is newer: edited in Anki
        by_source = {NoteRef(note.question, note.source): note for note in notes.values()} if different else {}
        report.kept = [ref for ref in different if self._source_changed(by_source[ref], before)]
        self.kept.update(by_source[ref].guid for ref in report.kept)
        report.edited = len(different) - len(report.kept)
        report.unchanged -= len(different)

    @property
    def held(self) -> dict[str, PackagedNote]:
        """The notes of the pending packages as this collection was last delivered them, where this machine has
        the package it delivered (by GUID); read when first needed."""
        if self._held is None:
            self._held = delivered_notes(self.ledger, self.pending, self.built_here)
        return self._held

    def _source_changed(self, note: PackagedNote, before: dict[str, Found]) -> bool:
        """Whether the package changes the note since it was last delivered here (or an earlier sync found it so,
        and Anki kept its own copy then too): against the package this machine delivered, else when its time is
        later than the last sync (a ledger of deckgen 0.5's cannot tell: yes)."""
        if note.guid in before and before[note.guid].id in self.ledger.conflicts:
            return True
        held = self.held.get(note.guid)
        if held is not None:
            return not same_fields(held.fields[:FIELDS_EDITED], note.fields[:FIELDS_EDITED]) or \
                set(held.tags) != set(note.tags)
        return not self.ledger.synced or note.mtime > self.ledger.synced

    def _keep_tags(self, notes: dict[str, PackagedNote], before: dict[str, Found], written: NameHashes,
                   report: PackageDelivery) -> None:
        """Put back, on the notes the import updated, the tags deckgen never wrote here: those it wrote before and
        writes no more stay gone (Anki compares tags without case)."""
        now = {guid: {tag.casefold() for tag in found.tags} for guid, found in self._notes(notes).items()}
        missing: dict[tuple[str, ...], list[int]] = {}
        for guid in notes.keys() & before.keys() & now.keys():
            kept = tuple(tag for tag in before[guid].tags if tag.casefold() not in now[guid] and (
                tag.casefold() in ANKI_TAGS or tag not in written and not tag.casefold().startswith(DECKGEN_TAGS)))
            if kept:
                missing.setdefault(kept, []).append(before[guid].id)
        for tags, nids in missing.items():
            self._merged(self.col.tags.bulk_add(nids, " ".join(tags)))
            report.tags_kept += len(nids)

    def _cards(self, guids) -> dict[str, list[tuple[int, int, int]]]:
        """The cards of these notes in the collection, by GUID: (card id, home deck, queue)."""
        found: dict[str, list[tuple[int, int, int]]] = {}
        for guid, card, deck, home, queue in self.col.db.execute(
                "select n.guid, c.id, c.did, c.odid, c.queue from cards c join notes n on n.id = c.nid"):
            if guid in guids:
                found.setdefault(guid, []).append((card, home or deck, queue))
        return found

    def _move(self, notes: dict[str, PackagedNote], before: dict[str, Found], decks: NameHashes,
              report: PackageDelivery) -> None:
        """Move the cards of questions now in another deck than their cards: those whose question moved to
        another file, came back from removal, or whose deck no package of the library has (renamed), and only cards
        in a deck deckgen put this library's cards in (in a filtered deck, by their home deck)."""
        names = {deck.id: deck.name for deck in self.col.decks.all_names_and_ids()}
        moves: dict[str, list[int]] = {}
        for guid, cards in self._cards(notes).items():
            note, found = notes[guid], before.get(guid)
            if note.removed or found is None:
                continue
            changed = found.source != source_file(note.source) or REMOVED_TAG in found.tags
            for card, home, _ in cards:
                name = names.get(home, "")
                if name.casefold() != note.deck.casefold() and name in decks and (
                        changed or name.casefold() not in self.decks_now):
                    moves.setdefault(note.deck, []).append(card)
        for deck, cards in moves.items():
            deck_id = self.col.decks.id_for_name(deck)
            if deck_id is None:
                deck_id = self._merged(self.col.decks.add_normal_deck_with_name(deck)).id
            self._merged(self.col.set_deck(cards, deck_id))
            report.moved += len(cards)

    def _suspend_or_restore(self, notes: dict[str, PackagedNote], before: dict[str, Found],
                            report: PackageDelivery) -> None:
        """Suspend the cards of notes newly removed (not those the user unsuspended since; on a first sync, every
        removed note's); unsuspend the cards deckgen suspended of notes whose question is back (on a first sync,
        those of notes the collection has as removed: the README has asked users to suspend them by hand)."""
        suspend, unsuspend = [], []
        for guid, cards in self._cards(notes).items():
            note, found = notes[guid], before.get(guid)
            was_removed = found is not None and REMOVED_TAG in found.tags
            if note.removed and self.suspend_removed and (self.first or not was_removed):
                suspend += [card for card, _, queue in cards if queue != SUSPENDED]
            elif not note.removed:
                unsuspend += [card for card, _, queue in cards if queue == SUSPENDED and (
                    card in self.ledger.suspended or self.first and was_removed)]
        self._suspend(suspend)
        report.suspended += len(suspend)
        if unsuspend:
            self._merged(self.col.sched.unsuspend_cards(unsuspend))
            report.restored += len(unsuspend)
            self.ledger.suspended = IdSet(self.ledger.suspended.ids - set(unsuspend))

    def _suspend_gone(self, carried: set[str], delivered_before: IdSet) -> int:
        """Suspend, once, the cards of the library's notes (its identity record's) that no package carries any
        more: removed, and past the versions and days removed notes are carried for, before this collection got
        a package marking them removed. Once: a note leaves the ledger's notes when no package carries it, so
        only those the last sync delivered (all of them on a first sync) are suspended. Return how many."""
        if not self.suspend_removed:
            return 0
        gone = {guid for guid, found in self._notes(self.library_guids - carried).items()
                if self.first or found.id in delivered_before}
        suspend = [card for cards in self._cards(gone).values() for card, _, queue in cards if queue != SUSPENDED]
        self._suspend(suspend)
        return len(suspend)

    def _suspend(self, cards: list[int]) -> None:
        if cards:
            self._merged(self.col.sched.suspend_cards(cards))
            self.ledger.suspended = IdSet(self.ledger.suspended.ids | set(cards))

    def _merged(self, changes):
        """An undoable operation's result, the operation merged into the delivery's one undo step."""
        self.col.merge_undo_entries(self.step)
        return changes

    def _stopped(self, conflicts: int) -> str:
        if conflicts:
            return (f"Anki would not update {conflicts} note(s): their note type in this collection is not the one "
                    "deckgen delivered (a field or card type added, removed or renamed in Anki: Tools > Manage Note "
                    "Types). Nothing was changed. Undo that change in Anki, then run `deckgen sync "
                    "--overwrite-anki-edits` (undoing it rewrites every note of the type, which then looks newer "
                    "than the package to Anki); or, to start afresh, `deckgen build --new-note-type` (see README, "
                    "\"Note types are frozen\")")
        return ("this import would change the collection's schema, which makes every device choose between a "
                "full upload and a full download (losing the reviews made on the other side since the last "
                "sync). Nothing was changed; import the package by hand if that is what you want")
