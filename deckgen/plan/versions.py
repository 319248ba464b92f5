"""Version and retention policy: each package's next version, and how long removed notes are carried."""

from __future__ import annotations

from ..identify.record import IdentityRecord, NoteRecord, PackageRecord
from ..sources.settings import LibrarySettings, version_key

FIRST_VERSION = "1.0.0"
DAY = 86400


def next_version(wanted: str | None, previous: PackageRecord | None, content_changed: bool,
                 written: dict[str, str], digest: str, continued: str | None = None) -> str:
    """The author's version on a first build or when it is higher; else a patch bump when anything changed.

    The settings' version is a floor: once builds have gone past it, it has no say (and no complaint).
    A version this machine wrote (`written`: version to content digest) is never given to other content,
    and the version never goes back below the highest one written (after a set-back, Anki has had that
    one): the bump then goes past it (a package, once written, is never written again under its name with
    other bytes, nor its changelog entry rewritten).
    """
    if previous is None and continued is not None:
        version = wanted if wanted and version_key(wanted) > version_key(continued) else _bump(continued)
    elif previous is None:
        version = wanted or FIRST_VERSION
    elif wanted and version_key(wanted) > version_key(previous.version):
        version = wanted
    elif not content_changed:
        version = previous.version
    else:
        version = _bump(max([previous.version, *written], key=version_key))
    highest = max(written, key=version_key, default=version)
    if version_key(version) < version_key(highest) or written.get(version, digest) != digest:
        version = _bump(max(version, highest, key=version_key))
    return version


def _bump(version: str) -> str:
    major, minor, patch = version_key(version)
    return f"{major}.{minor}.{patch + 1}"


def continued_from(key: str, shares: list, previous: IdentityRecord) -> str | None:
    """For a package first built now (of `shares`, see `notes.DeckShare`) that continues notes built before (in
    packages of their own, before deckgen made one package of a library, or under another key), the highest
    version recorded: the new package's versions go on from it, so that no version number comes back."""
    if key in previous.packages or not any(share.tombstones or any(note.identified.record is not None
                                                                   for note in share.deck.notes) for share in shares):
        return None
    return max((p.version for p in previous.packages.values()), key=version_key, default=None)


def past_bound(record: NoteRecord, serial: int, version_mtime: int, settings: LibrarySettings) -> bool:
    """Whether a removed note has been carried long enough: in `keep_removed_versions` versions and for
    `keep_removed_days` days since it was removed (its GUID stays reserved by the record)."""
    return serial - record.removed_serial >= settings.keep_removed_versions and \
        version_mtime - record.removed >= settings.keep_removed_days * DAY
