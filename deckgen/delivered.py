"""What this machine last built: the notes its packages delivered, and the content of every version it wrote.

The identity record is committed, so `git revert` or a branch switch takes it
back in time with the Markdown; but the notes in Anki do not go back, and
Anki updates a note only when the package's time for it is later than its
own. This record, kept in the output folder beside the cache and never
committed, remembers what was built here last, so that the next build can
(see `plan`):

- stamp anew every note whose delivered content differs from what the
  record now says, at a time later than the one delivered;
- mark removed the notes it delivered that the record no longer knows;
- never give a version number already written here to other content.

It is one file per library built into the folder: a line of its own (the
notes folder, and each package's versions with a digest of their content),
then a copy of the identity record as the last build here wrote it. While the committed record is that very
copy, as after any build here, nothing more is read. Without the file (a
fresh clone, a deleted output folder) a build works from the committed
record alone, and says it cannot know what was delivered before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import msgspec

from .errors import SourceError
from .identity_file import NoteRecord, parse_record
from .library import DELIVERED_PREFIX

FORMAT = 1


class _Header(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    deckgen_delivered: int
    library: str
    """The notes folder built (resolved): an output folder may serve several."""
    versions: dict[str, dict[str, str]] = {}
    """Per package key, each version written here and a digest of its content."""
    namespace: str = ""
    """The library's namespace (see `ids`): the same library, moved to another folder, is not another one."""


@dataclass(frozen=True)
class Delivered:
    """What this machine's builds of one notes folder delivered (see the module)."""

    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, NoteRecord] = field(default_factory=dict)
    """By GUID, as the last build here left them; empty when the committed record is just that."""
    matches_record: bool = False
    """The committed record is the very one the last build here wrote (every note of it built here)."""

    def max_mtime(self) -> int:
        return max((note.mtime for note in self.notes.values()), default=0)


def delivered_path(output: Path, root: Path) -> Path:
    """The file of what was built from the library `root` into `output`: one per library, so that libraries
    built into one folder keep theirs."""
    tag = hashlib.sha256(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return output / f"{DELIVERED_PREFIX}-{tag}.jsonl"


def _shared_path(output: Path) -> Path:
    """Where builds before the per-library files kept one library's (read while there is no file of its own)."""
    return output / f"{DELIVERED_PREFIX}.jsonl"


def _header(path: Path, whole: bool = True) -> tuple[_Header, bytes] | None:
    """The file's header line, and (`whole`) the copy of the record after it; None for no readable file."""
    try:
        with path.open("rb") as file:
            header = msgspec.json.decode(file.readline(), type=_Header)
            built = file.read() if whole else b""
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return (header, built) if header.deckgen_delivered == FORMAT else None


def packages_of_others(output: Path, root: Path, namespace: str | None) -> dict[str, str]:
    """The package keys other libraries have built into `output`, each with that library's folder (a library
    of the same namespace is this one, moved or copied: not another)."""
    found, library, own = {}, str(root.resolve()), delivered_path(output, root)
    for path in sorted(output.glob(f"{DELIVERED_PREFIX}*.jsonl")):
        read = _header(path, whole=False) if path != own else None  # its own, read_delivered reads
        if read is not None and read[0].library != library and not (namespace and read[0].namespace == namespace):
            found.update(dict.fromkeys(read[0].versions, read[0].library))
    return found


def stale_shared_file(output: Path, root: Path) -> Path | None:
    """The file of the builds before per-library files, when it holds this library's: replaced by its own."""
    read = _header(_shared_path(output), whole=False)
    return _shared_path(output) if read is not None and read[0].library == str(root.resolve()) else None


def read_delivered(output: Path, root: Path, committed: bytes) -> Delivered | None:
    """What was built here from `root` into `output`, against the committed record (`committed`: its file's
    bytes, b"" when there is none); None when there is no record of it (or it is unreadable, which a build then
    replaces: it is never the only copy of anything that matters)."""
    path = delivered_path(output, root)
    read = _header(path) if path.exists() else _header(_shared_path(output))
    if read is None or read[0].library != str(root.resolve()):
        return None
    header, built = read
    if built == committed:  # as after every build here: what was delivered is what the record says
        return Delivered(versions=header.versions, matches_record=True)
    try:
        notes = parse_record(path, built).notes if built else {}
    except SourceError:
        return None
    return Delivered(versions=header.versions, notes=notes)


def write_delivered_to(file: BinaryIO, previous: Delivered | None, root: Path, record: Path,
                       written: Iterable[tuple[str, str, str]], namespace: str = "") -> None:
    """Write the file once a build has written the identity record (the file `record`) and each (package,
    version, digest) of `written`; the record is copied in pieces, never held whole."""
    import shutil

    versions = {key: dict(value) for key, value in (previous.versions if previous else {}).items()}
    for package, version, digest in written:
        versions.setdefault(package, {})[version] = digest
    header = _Header(deckgen_delivered=FORMAT, library=str(root.resolve()), versions=versions, namespace=namespace)
    file.write(msgspec.json.encode(header) + b"\n")
    with open(record, "rb") as source:
        shutil.copyfileobj(source, file, 1 << 20)


def content_digest(parts: Iterable[str]) -> str:
    """A digest of a package's content, from the parts that make it (each free of newlines)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]
