"""Which Anki collection `deckgen sync` delivers to: a profile's, found where Anki desktop keeps it, or a file.

Anki desktop keeps its profiles in one folder (`ANKI_BASE`, or per platform:
`%APPDATA%\\Anki2`, `~/Library/Application Support/Anki2`,
`$XDG_DATA_HOME/Anki2` or `~/.local/share/Anki2`, Flatpak's
`~/.var/app/net.ankiweb.Anki/data/Anki2`): one sub-folder a profile, holding
`collection.anki2` and `backups/`, and `prefs21.db`, whose rows name the
profiles. A row's data is a pickle that may hold Qt objects: only the names
are read.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ..errors import DeckgenError

ANKI_BASE_ENV = "ANKI_BASE"
COLLECTION_FILE = "collection.anki2"
BACKUPS_FOLDER = "backups"


@dataclass(frozen=True)
class Target:
    """The collection a sync delivers to, and the folder its backups go to (where Anki's "Open Backup" looks)."""

    collection: Path
    backups: Path
    profile: str | None = None


def anki_base() -> Path:
    """The folder Anki desktop keeps its profiles in, as Anki finds it."""
    given = os.environ.get(ANKI_BASE_ENV)
    if given:
        return Path(given)
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming") / "Anki2"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Anki2"
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "Anki2"
    flatpak = home / ".var" / "app" / "net.ankiweb.Anki" / "data" / "Anki2"
    return flatpak if not data.is_dir() and flatpak.is_dir() else data


def profile_names(base: Path) -> list[str]:
    """The profiles `prefs21.db` in `base` names, sorted; DeckgenError when there is none to read."""
    prefs = base / "prefs21.db"
    if not prefs.is_file():
        raise DeckgenError(f"no Anki profiles in {base} (no prefs21.db): start Anki desktop once, name the "
                           f"folder Anki keeps its profiles in with {ANKI_BASE_ENV}, or name the collection file "
                           "with --collection")
    try:
        with closing(sqlite3.connect(f"{prefs.resolve().as_uri()}?mode=ro", uri=True)) as db:
            names = [name for (name,) in db.execute("select name from profiles") if isinstance(name, str)]
    except sqlite3.Error as err:
        raise DeckgenError(f"{prefs}: cannot read Anki's profiles ({err}); name the collection file with "
                           "--collection") from None
    return sorted(name for name in names if name != "_global")


def find_target(profile: str | None, collection: Path | None) -> Target:
    """The collection `--profile` or `--collection` names; without either, the one profile there is."""
    if collection is not None:
        if profile is not None:
            raise DeckgenError("name either a profile (--profile) or a collection file (--collection), not both")
        if not collection.is_file():
            raise DeckgenError(f"{collection}: no such collection file (Anki's is collection.anki2 in a profile's "
                               "folder)")
        collection = collection.resolve()  # through a link: Anki keeps media and backups beside the real file
        return Target(collection, collection.parent / BACKUPS_FOLDER)
    base = anki_base()
    names = profile_names(base)
    if profile is None:
        if len(names) != 1:
            raise DeckgenError(f"{base} holds {len(names)} Anki profiles"
                               + (f" ({', '.join(names)})" if names else "")
                               + ": say which with --profile NAME")
        profile = names[0]
    else:  # never a path made of what was typed: only a name Anki lists (Anki compares them without case)
        named = [name for name in names if name.casefold() == profile.casefold()]
        if not named:
            raise DeckgenError(f"no Anki profile named {profile!r} in {base}"
                               + (f"; its profiles: {', '.join(names)}" if names else ""))
        profile = named[0]
    if profile in (".", "..") or Path(profile).name != profile or "\\" in profile:
        raise DeckgenError(f"{base / 'prefs21.db'}: the profile name {profile!r} is no folder name Anki makes")
    folder = base / profile
    if not (folder / COLLECTION_FILE).is_file():
        raise DeckgenError(f"profile {profile!r} has no collection yet ({folder / COLLECTION_FILE}): open it in "
                           "Anki desktop once")
    return Target(folder / COLLECTION_FILE, folder / BACKUPS_FOLDER, profile)
