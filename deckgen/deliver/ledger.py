"""What each library delivered to a collection, kept in that collection's own config: one key per library.

The key is the library's namespace (see `identify.ids`), so a library moved
or cloned to another computer is the same one; it syncs with the collection,
so a second computer, or a backup restored, knows what it holds. Nothing is
kept in notes.

Anki sends the whole config on every sync (rslib's `changed_config`), from
every device, so a ledger stays small whatever the size of the library: no
list of notes, but

- the version of each package delivered;
- the notes delivered, as progressions of note ids (a package numbers its
  notes in a row, and Anki keeps those numbers where it can: a few
  progressions a library), to refuse updating another library's notes;
- every tag deckgen wrote on them, and every deck it put their cards in (so
  that a tag or deck that is not deckgen's is the user's), as 5 bytes of a
  hash of each name, compared without case, as Anki compares them (a
  library of 1,777 tags and 1,233 decks: 20 KB, where the names took 121 KB;
  a name of the user's is taken for deckgen's once in 2^40 / names);
- the cards deckgen suspended because their note was removed, as
  progressions of card ids.

A collection comes from anywhere (a shared profile, a synced device): a
value that does not read as a ledger is ignored, and said.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

import msgspec

from ..hashing import raw_digest

KEY_PREFIX = "deckgen:"
FORMAT = 1
Id = Annotated[int, msgspec.Meta(ge=1, lt=1 << 62)]
Count = Annotated[int, msgspec.Meta(ge=1, lt=1 << 62)]


def ledger_key(namespace: str) -> str:
    return f"{KEY_PREFIX}{namespace}"


class IdRanges:
    """A set of ids kept as arithmetic progressions (first, step, count): a package numbers its notes and cards
    from one counter, so a deck's notes are every second id (every third with two cards a note), and a few
    progressions hold a library. Never expanded: a crafted progression of a billion ids costs nothing."""

    def __init__(self, runs: Iterable[tuple[int, int, int]] = ()):
        self.runs = sorted(runs)
        self._firsts = [first for first, _, _ in self.runs]

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdRanges:
        runs: list[list[int]] = []
        for id_ in sorted(set(ids)):
            if runs:
                first, step, count = runs[-1]
                last = first + step * (count - 1)
                if count == 1 or id_ - last == step:
                    runs[-1] = [first, id_ - first if count == 1 else step, count + 1]
                    continue
            runs.append([id_, 1, 1])
        return cls((first, step, count) for first, step, count in runs)

    def __contains__(self, id_: int) -> bool:
        at = bisect.bisect_right(self._firsts, id_) - 1
        if at < 0:
            return False
        first, step, count = self.runs[at]
        return (id_ - first) % step == 0 and (id_ - first) // step < count


class NameHashes:
    """A set of names (tags, decks), compared without case, kept as 5 bytes of each one's hash."""

    SIZE = 5

    def __init__(self, hashes: Iterable[bytes] = ()):
        self.hashes = set(hashes)

    @staticmethod
    def hash(name: str) -> bytes:
        return raw_digest("deckgen ledger name", name.casefold())[:NameHashes.SIZE]

    @classmethod
    def of(cls, names: Iterable[str]) -> NameHashes:
        return cls(map(cls.hash, names))

    @classmethod
    def decode(cls, text: str) -> NameHashes:
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise LedgerProblem("a list of names that is not base64") from None
        if len(data) % cls.SIZE:
            raise LedgerProblem(f"a list of names that is not {cls.SIZE} bytes a name")
        return cls(data[at:at + cls.SIZE] for at in range(0, len(data), cls.SIZE))

    def encode(self) -> str:
        return base64.b64encode(b"".join(sorted(self.hashes))).decode()

    def __contains__(self, name: str) -> bool:
        return self.hash(name) in self.hashes

    def __or__(self, other: NameHashes) -> NameHashes:
        return NameHashes(self.hashes | other.hashes)


class _Stored(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    deckgen_ledger: int
    library: str = ""
    packages: dict[str, tuple[str, str]] = {}
    """Package key: the version delivered and a digest of its content."""
    notes: list[tuple[Id, Count, Count]] = []
    """Note ids, as (first, step, count)."""
    tags: str = ""
    decks: str = ""
    """Each a `NameHashes`, encoded."""
    suspended: list[tuple[Id, Count, Count]] = []


@dataclass
class Ledger:
    """What one library delivered to one collection (see the module)."""

    library: str
    """The notes folder's name, for messages."""
    packages: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Package key: the version delivered and a digest of its content (two computers may each build a version of
    one number from different notes)."""
    notes: IdRanges = field(default_factory=IdRanges)
    tags: NameHashes = field(default_factory=NameHashes)
    decks: NameHashes = field(default_factory=NameHashes)
    suspended: IdRanges = field(default_factory=IdRanges)

    def to_config(self) -> dict:
        return msgspec.to_builtins(_Stored(
            deckgen_ledger=FORMAT, library=self.library, packages=dict(sorted(self.packages.items())),
            notes=self.notes.runs, tags=self.tags.encode(), decks=self.decks.encode(), suspended=self.suspended.runs))


class LedgerProblem(ValueError):
    """A config value under deckgen's prefix that does not read as a ledger."""

    newer = False
    """It is a ledger of a newer deckgen's, which this one must not overwrite."""


def read_ledger(value: object) -> Ledger:
    """A ledger from its config value; LedgerProblem when it is not one this deckgen reads."""
    if isinstance(value, dict) and isinstance(value.get("deckgen_ledger"), int) and value["deckgen_ledger"] > FORMAT:
        problem = LedgerProblem(f"written by a newer deckgen (format {value['deckgen_ledger']}, this one reads "
                                f"{FORMAT})")
        problem.newer = True
        raise problem
    try:
        stored = msgspec.convert(value, _Stored)
    except (msgspec.ValidationError, RecursionError) as err:
        raise LedgerProblem(str(err)) from None
    if stored.deckgen_ledger != FORMAT:
        problem = LedgerProblem(f"written by another deckgen (format {stored.deckgen_ledger}, this one reads "
                                f"{FORMAT})")
        problem.newer = stored.deckgen_ledger > FORMAT
        raise problem
    return Ledger(stored.library, {key: tuple(value) for key, value in stored.packages.items()},
                  IdRanges(stored.notes), NameHashes.decode(stored.tags), NameHashes.decode(stored.decks),
                  IdRanges(stored.suspended))
