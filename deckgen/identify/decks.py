"""The identify stage of a library: which deck files are decks, which recorded decks have vanished and where
their notes go, each deck's package and note type, and which recorded note each question continues."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Diagnostic
from ..parse.legacy import COMMONMARK_SINCE, structure_changes
from ..parse.questions import ParsedDeck
from ..parse.syntax import question_key
from ..sources.library import Library
from .delivered import packages_of_others
from .grouping import homes, library_key, package_keys
from .history import History, with_delivered
from .matcher import IdentifiedDeck, identify_decks
from .note_type_guard import choose_note_types
from .record import IdentityRecord, NoteRecord


@dataclass(frozen=True)
class IdentifiedLibrary:
    """Every deck's questions with their identities, and what planning needs to continue the record."""

    decks: tuple[IdentifiedDeck, ...]
    record: IdentityRecord
    """The record the build continues: the committed one, with what this machine delivered merged in."""
    history: History
    """What it was continued from: what this machine delivered, the namespace, what the record's history shows."""
    packages: dict[str, str]
    """Each deck's package key, by deck key (vanished decks too)."""
    new_slug: str | None
    """With a new namespace, the library's package key written down beside it (unless a slug is set)."""
    diagnostics: tuple[Diagnostic, ...]


def identify_library(parsed: tuple[ParsedDeck, ...], history: History, library: Library,
                     allow_new_note_type: bool = False) -> IdentifiedLibrary:
    """Identify the questions of `parsed` against `history`. A file is a deck when it has questions, notes
    recorded, or a folder to describe; a recorded deck whose file is gone (in a folder's build) has vanished:
    its questions may be anywhere now, or its notes are removed."""
    record, delivered, settings = history.record, history.delivered, library.settings
    recorded = {note.deck for note in record.notes.values()}
    if delivered is not None and not library.single_file:  # after a set-back, decks the record no longer knows
        recorded |= {note.deck for note in delivered.notes.values()}
    decks = [deck for deck in parsed if deck.questions or deck.key in recorded or deck.describes_folder]
    present = {deck.key for deck in decks}
    found = []
    if library.single_file:
        found.extend(_orphans(library, recorded))
        vanished = []
    else:
        vanished = sorted(recorded - present - {file.key for file in library.decks})
    library_decks = [(deck.key, deck.settings.slug) for deck in decks]
    found_homes, packages = homes(sorted(present), vanished,
                                  package_keys(library_decks, vanished, settings, library.name))
    record = with_delivered(record, delivered, present | set(vanished))
    decks, changes = _structure_changes(decks, record, packages)
    found.extend(changes)
    note_types = choose_note_types(decks, record, history.namespace, allow_new_note_type)
    identified = identify_decks(decks, record, note_types, history.namespace, found_homes)
    for deck in identified:
        found.extend(deck.diagnostics)
    found.extend(_names_taken(library, packages, history.namespace))
    new_slug = library_key(library_decks, settings, library.name) \
        if history.new_namespace and not settings.slug else None
    return IdentifiedLibrary(decks=tuple(identified), record=record, history=history, packages=packages,
                             new_slug=new_slug,
                             diagnostics=tuple(found))


def _structure_changes(decks: list[ParsedDeck], record: IdentityRecord, packages: dict[str, str]
                       ) -> tuple[list[ParsedDeck], list[Diagnostic]]:
    """On the first build after deckgen read files as CommonMark does: the decks, with each question that
    continues a recorded note marked so, and what that reading changes in their notes (see `parse.legacy`)."""
    before = {deck.key for deck in decks if (package := record.packages.get(packages.get(deck.key, ""))) is not None
              and package.render < COMMONMARK_SINCE}
    if not before:
        return decks, []
    recorded: dict[str, dict[tuple[str, str], list[NoteRecord]]] = {}
    for note in record.notes.values():
        if note.deck in before and not note.removed:
            recorded.setdefault(note.deck, {}).setdefault((question_key(note.question), note.answer), []).append(note)
    found, changed = [], []
    for deck in decks:
        if deck.key in recorded:
            deck, said = structure_changes(deck, recorded[deck.key])
            found.extend(said)
        changed.append(deck)
    return changed, found


def _orphans(library: Library, recorded: set[str]) -> list[Diagnostic]:
    """For a single file's build: the decks of its folder the record holds notes of whose file is gone
    (renamed or moved, most likely)."""
    present = {deck.key for deck in library.decks}
    gone = sorted(key for key in recorded - present if not (library.root / f"{key}.md").is_file())
    return [Diagnostic(library.record_path, 0, (
        f"the identity record holds the notes of {key}.md, which is not in {library.root} any more. If you "
        "renamed or moved that file, give it its old name back: deckgen does not yet follow a deck file to a new "
        "name, and its notes would be duplicated in Anki; if you deleted it on purpose, delete its notes' lines "
        "(\"deck\":\"" + key + "\") from the record too."), "error", "orphan-identity") for key in gone]


def _names_taken(library: Library, packages: dict[str, str], namespace: str) -> list[Diagnostic]:
    """An error for each package name another library has built into the output folder: each would overwrite
    the other's."""
    if library.output is None:
        return []
    taken = packages_of_others(library.output, library.root, namespace)
    return [Diagnostic(library.settings_path, 0, (
        f"{library.output} holds packages named {key}-….apkg that the library {taken[key]} built: a package name "
        f"belongs to one library, or each would overwrite the other's. Build this one into another folder "
        f"(-o), or give its package another name (slug = \"…\" in {library.settings_path})"), "error",
        "package-taken") for key in sorted(set(packages.values()) & set(taken))]
