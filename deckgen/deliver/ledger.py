"""What each library delivered to a collection, kept in that collection's own config: one key per library.

The key is the library's namespace (see `identify.ids`), so a library moved
or cloned to another computer is the same one; it syncs with the collection,
so a second computer, or a backup restored, knows what it holds. Nothing is
kept in notes.

Anki sends the whole config on every sync (rslib's `changed_config`), from
every device, so a ledger stays small whatever the size of the library: no
list of notes, but

- the version of each package delivered;
- the notes delivered, as their ids (see `IdSet`: a package numbers its
  notes in a row, and Anki keeps those numbers where it can), to refuse
  updating another library's notes;
- every tag deckgen wrote on them, and every deck it put their cards in (so
  that a tag or deck that is not deckgen's is the user's), as 5 bytes of a
  hash of each name, compared without case, as Anki compares them (a
  library of 1,777 tags and 1,233 decks: 20 KB, where the names took 121 KB;
  a name of the user's is taken for deckgen's once in 2^40 / names);
- the cards deckgen suspended because their note was removed, as their ids;
- when the last sync ended, and the notes whose copy in Anki was not the
  package's after it (Anki kept its own, newer copy), as their ids, with
  those of them whose source had changed (conflicts): an edit made in Anki
  is a note changed after that time, or one of those (see
  `deliver.status`).

A collection comes from anywhere (a shared profile, a synced device): a
value that does not read as a ledger is ignored, and said.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from ..hashing import raw_digest

KEY_PREFIX = "deckgen:"
FORMAT = 2  # 2: when the last sync ended, and the notes edited in Anki it kept
READABLE = (1, FORMAT)


def ledger_key(namespace: str) -> str:
    return f"{KEY_PREFIX}{namespace}"


class IdSet:
    """A set of note or card ids, kept as the differences between them (sorted), each as a varint, compressed:
    a package numbers its notes and cards from one counter, so the differences repeat (2 between the notes of
    a deck of one card a note) and compress to almost nothing; a note added by a later build costs about 6
    bytes. Decoding is bounded (MAX_BYTES), so a crafted value cannot make it large."""

    MAX_BYTES = 1 << 20

    def __init__(self, ids: Iterable[int] = ()):
        self.ids = frozenset(ids)

    def __contains__(self, id_: int) -> bool:
        return id_ in self.ids

    def __len__(self) -> int:
        return len(self.ids)

    def encode(self) -> str:
        out, last = bytearray(), 0
        for id_ in sorted(self.ids):
            delta, last = id_ - last, id_
            while delta >= 0x80:
                out.append(delta & 0x7F | 0x80)
                delta >>= 7
            out.append(delta)
        return base64.b64encode(zlib.compress(bytes(out), 9)).decode() if out else ""

    @classmethod
    def decode(cls, text: str) -> IdSet:
        if not text:
            return cls()
        try:
            inflate = zlib.decompressobj()
            data = inflate.decompress(base64.b64decode(text, validate=True), cls.MAX_BYTES)
            if inflate.unconsumed_tail or not inflate.eof:
                raise LedgerProblem(f"a list of ids larger than {cls.MAX_BYTES:,} bytes, or cut short")
        except (binascii.Error, ValueError, zlib.error):
            raise LedgerProblem("a list of ids that is not compressed base64") from None
        ids, last, delta, shift = [], 0, 0, 0
        for byte in data:
            delta |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                last += delta
                ids.append(last)
                delta, shift = 0, 0
            elif shift > 63:
                raise LedgerProblem("a list of ids with a number over 64 bits")
        if shift:
            raise LedgerProblem("a list of ids cut short")
        return cls(ids)


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
    notes: str = ""
    suspended: str = ""
    """Each an `IdSet`, encoded."""
    tags: str = ""
    decks: str = ""
    """Each a `NameHashes`, encoded."""
    synced: int = 0
    edited: str = ""
    conflicts: str = ""
    """Each an `IdSet`, encoded."""


@dataclass
class Ledger:
    """What one library delivered to one collection (see the module)."""

    library: str
    """The notes folder's name, for messages."""
    packages: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Package key: the version delivered and a digest of its content (two computers may each build a version of
    one number from different notes)."""
    notes: IdSet = field(default_factory=IdSet)
    """The notes delivered live by the last sync (a note no package carries any more leaves it once its cards
    are suspended)."""
    tags: NameHashes = field(default_factory=NameHashes)
    decks: NameHashes = field(default_factory=NameHashes)
    suspended: IdSet = field(default_factory=IdSet)
    """Cards deckgen suspended (their notes removed) that are suspended still."""
    synced: int = 0
    """When the last sync ended (seconds; 0 for a ledger of deckgen 0.5): a note Anki changed later was edited
    there."""
    edited: IdSet = field(default_factory=IdSet)
    """The notes whose fields in Anki were not their package's after the last sync: edited in Anki, and kept."""
    conflicts: IdSet = field(default_factory=IdSet)
    """Those of them whose source changed too (Anki kept its copy against a change of the source): what was
    delivered is no base to read their edit against."""

    def to_config(self) -> dict:
        return msgspec.to_builtins(_Stored(
            deckgen_ledger=FORMAT, library=self.library, packages=dict(sorted(self.packages.items())),
            notes=self.notes.encode(), suspended=self.suspended.encode(), tags=self.tags.encode(),
            decks=self.decks.encode(), synced=self.synced, edited=self.edited.encode(),
            conflicts=self.conflicts.encode()))


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
    if stored.deckgen_ledger not in READABLE:
        raise LedgerProblem(f"written by another deckgen (format {stored.deckgen_ledger}, this one reads {FORMAT})")
    return Ledger(stored.library, {key: tuple(value) for key, value in stored.packages.items()},
                  IdSet.decode(stored.notes), NameHashes.decode(stored.tags), NameHashes.decode(stored.decks),
                  IdSet.decode(stored.suspended), stored.synced, IdSet.decode(stored.edited),
                  IdSet.decode(stored.conflicts))
