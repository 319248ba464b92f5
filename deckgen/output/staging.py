"""Writing files so that a crash never leaves a half-written one, and one build at a time."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import DeckgenError

LOCK_NAME = ".deckgen.lock"
TEMP_SUFFIX = ".deckgen-tmp"


class StagedFiles:
    """Files written under temporary names, then renamed into place together; on failure, none is.

    Each temporary file sits in its target's folder, so the rename is atomic:
    a reader (or a build killed at any moment) sees every old file or a whole
    new one, never a part.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, Path, int]] = []
        self._removals: list[Path] = []

    def stage(self, path: Path, content: bytes | Callable[[BinaryIO], None], order: int = 0) -> None:
        """Write `content` (bytes, or a function writing to a file) for `path` under a temporary name.

        When `path` already holds exactly that, the temporary file goes and
        nothing is staged: a build that changes nothing rewrites nothing.
        Content is streamed, so a large deck is never held in memory whole.
        Files are put in place by `order`, then in the order they were staged.
        """
        import filecmp
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
        self._staged.append((tmp_name, path, order))
        with os.fdopen(fd, "wb") as tmp:
            if isinstance(content, bytes):
                tmp.write(content)
            else:
                content(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        if path.is_file() and not path.is_symlink() and filecmp.cmp(tmp_name, path, shallow=False):
            self._staged.pop()
            os.unlink(tmp_name)
            return
        os.chmod(tmp_name, 0o644)

    def staged(self, path: Path) -> Path | None:
        """The temporary file staged for `path` (None when none is: it holds that content already)."""
        return next((Path(tmp) for tmp, target, _ in self._staged if target == path), None)

    def remove(self, path: Path) -> None:
        """Delete `path` when the staged files are committed (after they are all in place)."""
        self._removals.append(path)

    def commit(self) -> None:
        self._staged.sort(key=lambda staged: staged[2])
        while self._staged:
            tmp_name, path, _ = self._staged.pop(0)
            os.replace(tmp_name, path)
        while self._removals:
            self._removals.pop(0).unlink(missing_ok=True)

    def discard(self) -> None:
        self._removals.clear()
        while self._staged:
            Path(self._staged.pop()[0]).unlink(missing_ok=True)

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()  # anything not committed


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step."""
    with StagedFiles() as files:
        files.stage(path, data)
        files.commit()


def remove_stale_temporaries(folder: Path, name: str) -> None:
    """Delete the temporary files a killed build left behind in `folder` for the files named `name` (a pattern)."""
    if folder.is_dir():
        for path in folder.glob(f".{name}.*{TEMP_SUFFIX}"):
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def project_lock(folder: Path):
    """Hold the project's lock while building, on every platform (`filelock`: flock on POSIX, LockFileEx on
    Windows); a second build at the same time stops with a clear message. The lock file is never opened through
    a symbolic link (it would make or lock a file anywhere; filelock opens it with O_NOFOLLOW) nor waited on as a
    pipe."""
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / LOCK_NAME
    if lock_path.is_symlink():
        raise DeckgenError(f"{lock_path} is a symbolic link: deckgen makes that file itself; delete the link and "
                           "build again")
    if lock_path.exists() and not lock_path.is_file():
        raise DeckgenError(f"{lock_path} is not a file: deckgen makes that file itself; delete it and build again")
    import filelock  # a build that finds nothing changed takes no lock, and never loads it

    lock = filelock.FileLock(lock_path, is_singleton=False)
    try:
        lock.acquire(blocking=False)
    except filelock.Timeout:
        raise DeckgenError(f"another deckgen build is running on {folder} (it holds {lock_path}); run this one when "
                           "it has finished") from None
    except OSError as err:  # a link put there meanwhile: not followed
        raise DeckgenError(f"{lock_path}: cannot take deckgen's lock: {err.strerror}") from None
    try:
        yield
    finally:
        lock.release()
