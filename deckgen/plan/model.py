"""What planning makes: each package's next version, with its notes, decks and the changes it brings.

Frozen records, read by `output` (the package, changelog, preview) and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ..errors import Diagnostic
from ..identify.note_types import NoteType
from ..identify.record import IdentityRecord
from ..names import package_file_name
from ..render.anki_cloze import ClozeField
from ..render.decks import RenderedDeck
from ..render.media import MediaRef
from ..render.renderer import RenderedText

CHANGE_KINDS = ("new", "changed", "renamed", "restored", "removed", "replaced")  # in the order reports list them
REMOVED_TAG = "deckgen::removed"
REMOVED_SUBDECK = "Removed"


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


MediaFiles = dict[tuple[str, str], MediaRef]
"""Images to bundle by their name in Anki's media folder and their file: two files of the same bytes share a name,
and the writer checks each file's bytes (a name taken from a stale digest would otherwise show one file's image
for another's)."""


def add_media(media: MediaFiles, *texts: RenderedText) -> None:
    """Add the files behind the bundled images of `texts`: each file, even where two share a name."""
    media.update(((ref.name, ref.path), ref) for text in texts for ref in text.media if ref.name)


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
    """The images to bundle (checked: see `media`), sorted by their names in Anki's media folder, then by their
    files: every file behind a name, each checked as it is written (see `MediaFiles`)."""

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
    description_changed: bool = False
    """Its description's text changed, or what it holds of its images (see `notes.description_hash`)."""

    @property
    def key(self) -> str:
        return self.deck.key

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
    def change_counts(self) -> dict[str, int]:
        """How many of its notes change in each way (every one of CHANGE_KINDS, in order), then `unchanged`."""
        counts = dict.fromkeys(CHANGE_KINDS, 0)
        for change in self.changes:
            counts[change.kind] += 1
        return {**counts, "unchanged": self.unchanged}

    @property
    def note_type_change(self) -> str | None:
        """The weightiest of its decks' note-type changes."""
        changes = [part.note_type_change for part in self.decks if part.note_type_change]
        return max(changes, key=("styling updated", "new", "fresh start").index, default=None)

    @property
    def descriptions_changed(self) -> list[str]:
        """The names of its decks whose description changed (see `DeckPart.description_changed`)."""
        return [part.name for part in self.decks if part.description_changed]

    @property
    def is_new_version(self) -> bool:
        return self.previous_version != self.version

    @property
    def file_name(self) -> str:
        """The name of this version's package (see `names.package_file_name`)."""
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
