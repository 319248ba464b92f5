"""The identity record: what Anki knows a library's notes by, committed with the notes.

One file for the whole library, `.deckgen/identity.jsonl` in its root: JSON
lines, one record a line, each with its key first, in this order: the
format line, the packages (version), the decks (name), the note types, then
every note sorted by GUID. A change to one note changes one line, and no
line is rewritten by every build, so two people adding or editing different
questions merge without a conflict. The folder's `.gitattributes` asks git to
keep both sides' lines where they do meet (`merge=union`); the reader then
keeps, for each key, the record changed last (the later time, the higher
version), and the next build writes the file in order again.

deckgen 0.1 wrote one identity file beside each deck (`notes.identity.jsonl`);
they are read as they are, converted into this record by the next build, and
removed. The record is the truth about identities: a note keeps the GUID
recorded here for as long as it lives, and its GUID is reserved after.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, BinaryIO

import msgspec

from ..errors import SourceError
from ..reading import RECORD_LIMIT, read_target
from ..sources.settings import VERSION_RE, version_key

FORMAT = 4  # 3: notes record what their GUIDs were minted from (`minted`); 4: an edit pulled from Anki (`pulled`)
READABLE = (2, 3, 4)
CLOCK_SKEW = 3600
"""Seconds a recorded time may be ahead of this machine's clock (another machine's clock may be ahead)."""
GITATTRIBUTES = b"# deckgen: when two branches change the identity record, keep both sides' lines;\n" \
                b"# deckgen keeps the newer record of each key on its next build.\n" \
                b"identity.jsonl merge=union\n"

Positive = Annotated[int, msgspec.Meta(gt=0)]
Version = Annotated[str, msgspec.Meta(pattern=VERSION_RE.pattern)]
# A field or card name as Anki allows one (no ": { }", not starting with "# / ^"), and no markup: it is written
# into the card templates of the package.
Name = Annotated[str, msgspec.Meta(pattern=r'^[^#/^:{}<>"&\x00-\x1f][^:{}<>"&\x00-\x1f]*\Z')]


class NoteRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One note as the last build that changed it left it (a line of the record)."""

    guid: Annotated[str, msgspec.Meta(min_length=1)]
    deck: str
    """The key of the deck its question was in (its file's path in the library, without `.md`)."""
    question: str
    """The question's Markdown, to recognise it when it comes back reworded or moved."""
    answer: str
    """The answer's Markdown: recognises a reworded question, and shows a removed note."""
    sections: tuple[str, ...] = ()
    """The headings above the question."""
    tags: tuple[str, ...] = ()
    fingerprint: str = ""
    """Hash of what the author wrote for the note (see `plan.fingerprints.author_fingerprint`); "" until known."""
    html: str = ""
    """Hash of the fields and tags the package delivered with `mtime` (see `plan.fingerprints.html_hash`)."""
    mtime: Positive
    """When the delivered content last changed (seconds); Anki updates notes only when it grows."""
    source: str
    """`file:line` of the question when its content last changed."""
    explicit_id: str | None = None
    removed: int = 0
    """When the question left the source (seconds), or 0 while it is there; the note is then a tombstone."""
    removed_in: str | None = None
    """The version whose package first marked it removed."""
    removed_serial: int = 0
    """The `serial` of that version (0 for notes removed before deckgen counted versions)."""
    model: int | None = None
    """Its note type, when it is not its deck's (a note left behind by a new note type)."""
    minted: tuple[str, ...] = ()
    """What its GUID was minted from (kind, deck, note type, text, occurrence: see `ids.note_guid`), so that a
    build can tell it is this notes folder's own (see `ownership`); empty for notes minted before deckgen 0.3."""

    pulled: int = 0
    """When Anki last changed a note whose edit `deckgen pull` wrote into the source (seconds), or 0: the next
    build that delivers the note as `pulled_html` says stamps it with this time, so that the collection the edit
    came from, which holds it already, skips it, and every other one takes it."""
    pulled_html: str = ""
    """`html` of the note as the pulled edit makes it."""

    def times(self) -> tuple[int, ...]:
        return self.mtime, self.removed, self.pulled


def same_delivery(a: NoteRecord, b: NoteRecord) -> bool:
    """Whether two records of a note delivered the same note: the same HTML and tags, and the same author's
    inputs (the file, which the card's source names, is one of them); where a record does not say (made by
    deckgen 0.1), as good as the same."""
    return (not (a.html and b.html) or a.html == b.html) and \
        (not (a.fingerprint and b.fingerprint) or a.fingerprint == b.fingerprint)


class PackageRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One package (one .apkg of successive versions)."""

    package: str
    """Its key: the `<key>-<version>.apkg` of its file name."""
    version: Version
    version_mtime: Positive
    """When this version was built: the base of the package's internal ids."""
    serial: int = 0
    """How many versions were built before this one, counted since deckgen started counting them."""
    render: int = 0
    """The render version (`render.cache.RENDER_VERSION`) its notes' HTML hashes were last all made with."""

    def times(self) -> tuple[int, ...]:
        return (self.version_mtime,)


class DeckRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One Anki deck."""

    deck: str
    """Its key: the path of its file in the library, without `.md`."""
    name: str
    """The Anki deck name, which Anki finds decks by."""
    model: Positive
    """The note type its notes get."""
    description: str = ""
    """Hash of the description's Markdown and of what became of its images (see `plan.notes.description_hash`);
    "" until known."""
    mtime: Positive
    """When its name or description last changed."""

    def times(self) -> tuple[int, ...]:
        return (self.mtime,)


class NoteTypeRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One note type as the last build wrote it: Anki forks it if its schema ever changes."""

    note_type: Positive
    """Its id (Anki's model id)."""
    name: str
    fields: tuple[Name, ...]
    templates: tuple[Name, ...]
    sort_field: int = 0
    cloze: bool = False
    fingerprint: str
    """Hash of everything Anki stores for it, CSS and template text too."""
    mtime: Positive

    def times(self) -> tuple[int, ...]:
        return (self.mtime,)


class _FormatLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    deckgen_identity: int


@dataclass(frozen=True)
class IdentityRecord:
    """Everything the next build needs to know about the last ones."""

    packages: dict[str, PackageRecord]
    decks: dict[str, DeckRecord]
    note_types: dict[int, NoteTypeRecord]
    notes: dict[str, NoteRecord]
    """By GUID."""
    lines: dict[str, dict] = field(default_factory=dict, compare=False, repr=False)
    """Each record's line as read, by kind ("guid" for notes) and key: written again as it is while the record
    is the same."""
    tidy: bool = True
    """The file was in order (False after a merge): the next build writes it afresh."""
    legacy: tuple[Path, ...] = ()
    """deckgen 0.1 identity files folded into this record, to remove when it is written."""

    def max_mtime(self, notes: Iterable[NoteRecord] | None = None) -> int:
        """The latest time recorded; a change must be stamped later."""
        notes = self.notes.values() if notes is None else notes
        times = [p.version_mtime for p in self.packages.values()] + [t.mtime for t in self.note_types.values()]
        times += [d.mtime for d in self.decks.values()] + [n.mtime for n in notes]
        return max(times, default=0)


EMPTY = IdentityRecord(packages={}, decks={}, note_types={}, notes={})

_KINDS = (  # the key each kind of line starts with, its type, and its key field
    (b'{"guid":', NoteRecord, "guid"), (b'{"package":', PackageRecord, "package"),
    (b'{"deck":', DeckRecord, "deck"), (b'{"note_type":', NoteTypeRecord, "note_type"),
)
_DECODERS = {kind: msgspec.json.Decoder(kind) for _, kind, _ in _KINDS}
_KIND_ORDER = {"package": 1, "deck": 2, "note_type": 3, "guid": 4}
_ANY = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


def record_bytes(path: Path) -> bytes | None:
    """The identity record's file as it is; None when the library has never been built."""
    try:
        return read_target(path, RECORD_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise damaged(path, 0, err.strerror or str(err)) from None


def identity_lines(path: Path, data: bytes, formats: tuple[int, ...], what: str) -> list[bytes]:
    """The lines of an identity file whose first line says it is of one of `formats` (a `what`); else damaged."""
    if b"\r" in data:  # line ends as Windows or old Macs write them
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise damaged(path, 1, "the file is empty")
    header = decode_line(path, 1, _ANY, lines[0])
    if not isinstance(header, dict) or header.get("deckgen_identity") not in formats:
        newer_hint = (": written by a newer deckgen? Upgrade deckgen (pip install -U deckgen)"
                      if isinstance(header, dict) and isinstance(header.get("deckgen_identity"), int)
                      and header["deckgen_identity"] > max(formats) else "")
        listed = " or ".join(filter(None, (", ".join(map(str, formats[:-1])), str(formats[-1]))))
        raise damaged(path, 1, f"not a deckgen {what} of format {listed}{newer_hint}")
    return lines


def parse_record(path: Path, data: bytes, now: float | None = None) -> IdentityRecord:
    """Decode and check every line (msgspec checks each field's type); any damage names its line. With `now`, a
    time later than now (give or take CLOCK_SKEW) is damage too: builds never write one, and Anki would skip the
    real author's later versions as older than it."""
    lines = identity_lines(path, data, READABLE, "identity record")
    decode_line(path, 1, msgspec.json.Decoder(_FormatLine), lines[0])
    found: dict[str, dict] = {"package": {}, "deck": {}, "note_type": {}, "guid": {}}
    read_lines: dict[str, dict] = {kind: {} for kind in found}
    tidy, last = True, (0, None)  # in order: kinds in _KIND_ORDER, and keys ascending within each
    for number, line, item, kind in _items(path, lines):
        key = getattr(item, kind)
        check_times(path, number, item.times(), now)
        table, table_lines = found[kind], read_lines[kind]
        if key in table:  # two branches changed it: the newer record wins
            tidy = False
            if newer(table[key], item, table_lines[key], line) is table[key]:
                continue
        elif tidy:
            position = (_KIND_ORDER[kind], key)
            tidy = position[0] > last[0] or (position[0] == last[0] and key > last[1])
            last = position
        table[key] = item
        table_lines[key] = line
    notes = found["guid"]
    record = IdentityRecord(packages=found["package"], decks=found["deck"], note_types=found["note_type"],
                            notes=notes, lines=read_lines)
    return replace(record, tidy=False) if not tidy else record


def check_times(path: Path, number: int, times: Iterable[int], now: float | None) -> None:
    """SourceError when a recorded time (of line `number` of an identity file) is later than `now` give or take
    CLOCK_SKEW: builds never write one, and Anki would skip the real author's later versions as older."""
    latest = max(times, default=0)
    if now is None or latest <= int(now) + CLOCK_SKEW:
        return
    import time

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(latest)) if latest < 253402300800 else \
        "after the year 9999"
    raise SourceError(path, number, code="future-time", message=(
        f"identity record: a time later than now ({when}), which no build writes: a record from someone who wants "
        "Anki to take their package for the latest and skip yours as older, or from a machine whose clock was "
        "ahead. If it is your own, build with --trust-record (the times stay as they are, as Anki has them)"))


def _items(path: Path, lines: list[bytes]) -> Iterator[tuple[int, bytes, object, str]]:
    """(line number, line, record, kind) of every line after the first, decoded and checked."""
    decode_note = _DECODERS[NoteRecord].decode
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith(b'{"guid":'):  # most lines: the quick way first, the careful one on a problem
            try:
                yield number, line, decode_note(line), "guid"
                continue
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                pass
        decoder, kind = _kind_of(path, number, line)
        yield number, line, decode_line(path, number, decoder, line), kind


def _kind_of(path: Path, number: int, line: bytes) -> tuple[msgspec.json.Decoder, str]:
    for prefix, kind, key_field in _KINDS:
        if line.startswith(prefix):
            return _DECODERS[kind], key_field
    item = decode_line(path, number, _ANY, line)  # a line someone wrote by hand, keys in another order
    if isinstance(item, dict):
        for _, kind, key_field in _KINDS:
            if key_field in item:
                return _DECODERS[kind], key_field
    raise damaged(path, number, "not a record of a note, package, deck or note type")


def newer(a, b, line_a: bytes, line_b: bytes):
    """Of two records of one key, the one changed last; the same choice whichever comes first."""
    def when(item, line: bytes):
        if isinstance(item, PackageRecord):
            return version_key(item.version), item.version_mtime, line
        return item.mtime, line
    return a if when(a, line_a) >= when(b, line_b) else b


def decode_line(path: Path, number: int, decoder: msgspec.json.Decoder, line: bytes):
    """Line `number` of an identity file, decoded and checked; any damage is an error naming the line."""
    try:
        return decoder.decode(line)
    except msgspec.ValidationError as err:
        raise damaged(path, number, f"a record lacks or mistypes a field ({err})") from None
    except RecursionError:
        raise damaged(path, number, "not a record: nested too deeply") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as not_text:
            raise damaged(path, number, f"not UTF-8 text (byte 0x{line[not_text.start]:02x} at column "
                                         f"{not_text.start + 1})") from None
        raise damaged(path, number, f"not a JSON record ({err})") from None


def damaged(path: Path, line: int, what: str) -> SourceError:
    """The error for a damaged identity file, saying how to recover."""
    return SourceError(path, line, code="damaged-identity", message=(
        f"damaged identity record: {what}. It records the identities Anki knows your notes by, so "
        "deckgen will not build without it (new identities would duplicate every card). Restore it from "
        f"git (git checkout -- {path}) or a backup, or move it away to start afresh (see README)."))


def _tables(record: IdentityRecord) -> dict[str, dict]:
    """The record's entries, by kind of line, in the file's order of kinds."""
    return {"package": record.packages, "deck": record.decks, "note_type": record.note_types, "guid": record.notes}


def write_record_to(record: IdentityRecord, file: BinaryIO, previous: IdentityRecord | None = None) -> None:
    """Write the record to an open file, a line at a time.

    A record `previous` (as read from the file) holds unchanged, the very same
    object, keeps its line as it was: most lines of a rebuild, at no cost.
    """
    file.writelines(record_lines(record, previous))


def record_lines(record: IdentityRecord, previous: IdentityRecord | None = None) -> Iterator[bytes]:
    """The record's file, a line at a time (see `write_record_to`)."""
    yield b'{"deckgen_identity":%d}\n' % FORMAT
    old = _tables(previous) if previous is not None else {}
    for kind, table in _tables(record).items():
        old_table, old_lines = old.get(kind, {}), previous.lines.get(kind, {}) if previous is not None else {}
        for key in sorted(table):
            item = table[key]
            line = old_lines.get(key) if old_table.get(key) is item else None
            yield line + b"\n" if line is not None else _ENCODER.encode(item) + b"\n"
