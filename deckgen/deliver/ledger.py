"""What each library delivered to a collection, kept in that collection's own config: one key per library.

The key is the library's namespace (see `identify.ids`), so a library moved
or cloned to another computer is the same one; it syncs with the collection,
so a second computer, or a backup restored, knows what it holds. Per
library: the version of each package delivered, and for each note delivered
the deck it was put in and the tags deckgen wrote on it (decks and tag sets
listed once, notes pointing into those lists), and the cards deckgen
suspended because their note had been removed. Nothing is kept in notes.

A collection comes from anywhere (a shared profile, a synced device): a
value that does not read as a ledger is ignored, and said.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

KEY_PREFIX = "deckgen:"
FORMAT = 1


def ledger_key(namespace: str) -> str:
    return f"{KEY_PREFIX}{namespace}"


class _Stored(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    deckgen_ledger: int
    library: str = ""
    packages: dict[str, str] = {}
    decks: list[str] = []
    tag_sets: list[list[str]] = []
    notes: dict[str, tuple[int, int]] = {}
    """GUID: (index in `decks`, index in `tag_sets`)."""
    suspended: dict[str, list[int]] = {}


@dataclass
class Ledger:
    """What one library delivered to one collection (see the module)."""

    library: str
    """The notes folder's name, for messages."""
    packages: dict[str, str] = field(default_factory=dict)
    """Package key: the version delivered."""
    notes: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """GUID: the deck its cards were put in, and the tags deckgen wrote on it."""
    suspended: dict[str, list[int]] = field(default_factory=dict)
    """GUID of a removed note: the ids of the cards deckgen suspended (unsuspended if the question comes back)."""

    def to_config(self) -> dict:
        decks: dict[str, int] = {}
        tag_sets: dict[tuple[str, ...], int] = {}
        notes = {guid: (decks.setdefault(deck, len(decks)), tag_sets.setdefault(tags, len(tag_sets)))
                 for guid, (deck, tags) in sorted(self.notes.items())}
        return msgspec.to_builtins(_Stored(
            deckgen_ledger=FORMAT, library=self.library, packages=dict(sorted(self.packages.items())),
            decks=list(decks), tag_sets=[list(tags) for tags in tag_sets], notes=notes,
            suspended={guid: sorted(cards) for guid, cards in sorted(self.suspended.items()) if cards}))


class LedgerProblem(ValueError):
    """A config value under deckgen's prefix that does not read as a ledger."""


def read_ledger(value: object) -> Ledger:
    """A ledger from its config value; LedgerProblem when it is not one this deckgen reads."""
    try:
        stored = msgspec.convert(value, _Stored)
    except msgspec.ValidationError as err:
        raise LedgerProblem(str(err)) from None
    if stored.deckgen_ledger != FORMAT:
        raise LedgerProblem(f"written by another deckgen (format {stored.deckgen_ledger}, this one reads {FORMAT})")
    tag_sets = [tuple(tags) for tags in stored.tag_sets]
    notes = {}
    for guid, (deck, tags) in stored.notes.items():
        if not (0 <= deck < len(stored.decks) and 0 <= tags < len(tag_sets)):
            raise LedgerProblem(f"note {guid} points outside the ledger's decks or tags")
        notes[guid] = (stored.decks[deck], tag_sets[tags])
    return Ledger(stored.library, dict(stored.packages), notes, {g: list(c) for g, c in stored.suspended.items()})
