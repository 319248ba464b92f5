"""What each library delivered to a collection, kept in that collection's own config: one key per library.

The key is the library's namespace (see `identify.ids`), so a library moved
or cloned to another computer is the same one; it syncs with the collection,
so a second computer, or a backup restored, knows what it holds. Nothing is
kept in notes.

Anki sends the whole config on every sync (rslib's `changed_config`), from
every device, so a ledger stays small whatever the size of the library: no
list of notes, but

- the version of each package delivered;
- the notes delivered, as ranges of note ids (a package's notes are numbered
  one after the other, and Anki keeps those numbers where it can: a few
  ranges a library);
- every tag deckgen wrote on them, and every deck it put their cards in (so
  that a tag or deck that is not deckgen's is the user's);
- the cards deckgen suspended because their note was removed, as ranges of
  card ids.

A collection comes from anywhere (a shared profile, a synced device): a
value that does not read as a ledger is ignored, and said.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

import msgspec

KEY_PREFIX = "deckgen:"
FORMAT = 1
Id = Annotated[int, msgspec.Meta(ge=1, lt=1 << 62)]
Count = Annotated[int, msgspec.Meta(ge=1, lt=1 << 62)]


def ledger_key(namespace: str) -> str:
    return f"{KEY_PREFIX}{namespace}"


class IdRanges:
    """A set of ids kept as sorted, disjoint runs of consecutive ids (never expanded: a crafted range of a
    billion ids costs nothing)."""

    def __init__(self, runs: Iterable[tuple[int, int]] = ()):
        merged: list[tuple[int, int]] = []
        for first, count in sorted(runs):
            if merged and first <= merged[-1][0] + merged[-1][1]:
                last_first, last_count = merged[-1]
                merged[-1] = (last_first, max(last_count, first + count - last_first))
            else:
                merged.append((first, count))
        self.runs = merged
        self._firsts = [first for first, _ in merged]

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdRanges:
        runs: list[tuple[int, int]] = []
        for id_ in sorted(set(ids)):
            if runs and runs[-1][0] + runs[-1][1] == id_:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((id_, 1))
        return cls(runs)

    def __contains__(self, id_: int) -> bool:
        at = bisect.bisect_right(self._firsts, id_) - 1
        return at >= 0 and id_ < self.runs[at][0] + self.runs[at][1]


class _Stored(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    deckgen_ledger: int
    library: str = ""
    packages: dict[str, str] = {}
    notes: list[tuple[Id, Count]] = []
    tags: list[str] = []
    decks: list[str] = []
    suspended: list[tuple[Id, Count]] = []


@dataclass
class Ledger:
    """What one library delivered to one collection (see the module)."""

    library: str
    """The notes folder's name, for messages."""
    packages: dict[str, str] = field(default_factory=dict)
    """Package key: the version delivered."""
    notes: IdRanges = field(default_factory=IdRanges)
    tags: set[str] = field(default_factory=set)
    decks: set[str] = field(default_factory=set)
    suspended: IdRanges = field(default_factory=IdRanges)

    def to_config(self) -> dict:
        return msgspec.to_builtins(_Stored(
            deckgen_ledger=FORMAT, library=self.library, packages=dict(sorted(self.packages.items())),
            notes=self.notes.runs, tags=sorted(self.tags), decks=sorted(self.decks), suspended=self.suspended.runs))


class LedgerProblem(ValueError):
    """A config value under deckgen's prefix that does not read as a ledger."""


def read_ledger(value: object) -> Ledger:
    """A ledger from its config value; LedgerProblem when it is not one this deckgen reads."""
    try:
        stored = msgspec.convert(value, _Stored)
    except (msgspec.ValidationError, RecursionError) as err:
        raise LedgerProblem(str(err)) from None
    if stored.deckgen_ledger != FORMAT:
        raise LedgerProblem(f"written by another deckgen (format {stored.deckgen_ledger}, this one reads {FORMAT})")
    return Ledger(stored.library, dict(stored.packages), IdRanges(stored.notes), set(stored.tags),
                  set(stored.decks), IdRanges(stored.suspended))
