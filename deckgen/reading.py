"""Reading a file someone else may have put there: never through a link, never waiting on a pipe, never without end.

Notes, settings, the identity record and what an output folder holds may
come from a cloned repository, whose author chose what each name is: a link
to `/dev/zero` or to a secret, a FIFO that never delivers, a file of
gigabytes. `read_regular` opens a name without following a link at its last
step and without blocking, checks that what it opened is a regular file, and
reads at most a limit: anything else is an OSError whose `strerror` says
why, in the words a build's messages use ("cannot read: …").
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from .hashing import stream

KIB, MIB = 1024, 1024 * 1024
# The most read of each kind of file; a larger one is refused, naming it.
SETTINGS_LIMIT = MIB  # deckgen.toml, *.deck.toml
MARKDOWN_LIMIT = 128 * MIB  # a notes file (100,000 questions in one file make 79 MiB; each answer has its time limit)
RECORD_LIMIT = 1024 * MIB  # the identity record (100,000 notes make about 60 MiB), what a machine delivered
_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


@contextlib.contextmanager
def open_regular(path: Path, follow: bool = False):
    """The regular file `path`, open for reading in binary, never through a link at its last step (unless
    `follow`) nor blocking on a pipe (see the module)."""
    try:
        descriptor = os.open(path, _FLAGS & ~getattr(os, "O_NOFOLLOW", 0) if follow else _FLAGS)
    except OSError as err:
        if err.errno == errno.ELOOP and not follow:  # O_NOFOLLOW met a link
            raise OSError(errno.ELOOP, "a symbolic link, which deckgen does not follow there", str(path)) from None
        raise
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a folder, a pipe or a device)", str(path))
        yield file


def read_regular(path: Path, limit: int, follow: bool = False) -> bytes:
    """The bytes of the regular file `path` (or, with `follow`, the one it links to), if it is one and holds at
    most `limit` bytes (see the module)."""
    return read_with_status(path, limit, follow)[0]


def read_with_status(path: Path, limit: int, follow: bool = False) -> tuple[bytes, list[int]]:
    """`read_regular`, and the status (see `file_status`) of the very file read, as it was opened."""
    with open_regular(path, follow) as file:  # its size first (a regular file's is known), then what it holds
        info = os.fstat(file.fileno())
        too_large = info.st_size > limit
        data = b"" if too_large else file.read(limit + 1)
    if too_large or len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {_size(limit)}, the most deckgen reads of such a file", str(path))
    return data, status_of(info)


def regular_digest(path: Path) -> str:
    """The SHA-256 of the regular file `path` (see `open_regular`), read in pieces."""
    digest = stream()
    with open_regular(path) as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_status(path: Path | str) -> list[int] | None:
    """What tells that a file's content is as it was: its device, inode, size, modification and change times (a
    write changes the last, which no one can set); None if it is not there."""
    try:
        return status_of(os.stat(path))
    except (OSError, ValueError):
        return None


def status_of(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


RACY_NS = 2_000_000_000
"""A file whose times are this close to when it was hashed is hashed again, whatever its status says: it may have
changed again within the clock's resolution, keeping its size and times (git calls it racily clean)."""


def known_digest(entry, status: list[int] | None) -> str | None:
    """The digest of a file's content that `entry` keeps (as a build's stamp keeps each file it read: its status
    then, when it was hashed in nanoseconds, and the digest), if the file still has that status and was hashed
    more than RACY_NS after its last change; else None: read it. Limits: on Windows the "change time" is when
    the file was made, and NFS may give a status some seconds old, so there an edit that keeps the size and puts
    the modification time back, or one made from another machine a moment before, is not seen until the status
    changes."""
    if status is not None and type(entry) is list and len(entry) == 7 and entry[:5] == status \
            and type(entry[5]) is int and max(status[3], status[4]) < entry[5] - RACY_NS and _is_digest(entry[6]):
        return entry[6]
    return None


def _is_digest(text) -> bool:
    """A SHA-256 in hex, as `hashing.digest` gives it (a damaged stamp may hold anything)."""
    return type(text) is str and len(text) == 64 and not text.strip("0123456789abcdef")


def read_start(path: Path, count: int, status: list[int]) -> bytes | None:
    """The first `count` bytes of the regular file `path` (see `open_regular`), if, open, it still has `status`
    (see `file_status`); else None."""
    with open_regular(path) as file:
        return file.read(count) if status_of(os.fstat(file.fileno())) == status else None


def read_target(path: Path, limit: int) -> bytes:
    """`read_regular` of the file `path` leads to, its links followed: for a name inside the notes folder that may
    link to another file inside it (the caller checks that it does, see `library.link_outside`)."""
    return read_regular(path, limit, follow=True)


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB else f"{limit // KIB} KiB"


class RealPaths:
    """`os.path.realpath`, the real path of each folder found once: a thousand files in a few folders are a
    thousand looks at their own names, not at every folder above them. For one build's reading (a folder made a
    link meanwhile is not seen: make a new one for each build)."""

    def __init__(self):
        self._folders: dict[str, str] = {}

    def __call__(self, path: Path | str) -> str:
        folder, name = os.path.split(path)
        if name in ("", ".", ".."):
            return os.path.realpath(path)
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = os.path.realpath(folder)
        joined = os.path.join(real, name)
        return os.path.realpath(joined) if os.path.islink(joined) else joined
