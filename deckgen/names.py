"""Every name deckgen makes, and the rules they obey, defined once.

Deck names from the folder tree and whether a file is a folder's own deck; the deck-name rule, for names
from file names and from settings alike; slugs; package file names (never one Anki takes for a backup);
tags, from sections, settings, front matter or the record, made harmless.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .hashing import digest

TAG_SEPARATOR = "::"
TAG_UNSAFE_RE = re.compile(r"[^\w.+\-/]+")
FOLDER_DECKS = ("readme", "index")  # a folder's README.md or index.md is the folder's own deck
SETTINGS_SUFFIX = ".deck.toml"  # notes.md has its settings in notes.deck.toml: the Markdown stays as written


def tree_name(key: str, prefix: str | None, root_name: str) -> str:
    """The deck name the folder tree gives the deck `key`: its folders and file name joined by `::`, a
    folder's README or index naming the folder's own deck, under `prefix`."""
    parts = key.split("/")
    if parts[-1].casefold() in FOLDER_DECKS:
        parts.pop()
    if prefix:
        parts = [prefix, *parts]
    return "::".join(part.strip() for part in parts) if parts else root_name


def folder_deck(key: str, prefix: str | None) -> bool:
    """Whether the deck `key` is a folder's own (its README or index), under a deck the tree names."""
    return key.rsplit("/", 1)[-1].casefold() in FOLDER_DECKS and ("/" in key or bool(prefix))


def deck_settings_path(deck_path: Path) -> Path:
    """Where a deck's own settings file lives: beside it, `notes.deck.toml` for `notes.md`."""
    return deck_path.with_name(deck_path.stem + SETTINGS_SUFFIX)


def deck_name_problem(name: str) -> str | None:
    """None for a deck name (or prefix) Anki takes as it is; else what is wrong with it, to follow "it": control
    characters, which every build would print for a terminal to obey, or an empty `::` level."""
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "holds control characters (a terminal would obey them)"
    return "has an empty '::' level" if any(not part.strip() for part in name.split("::")) else None


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def default_slug(stem: str) -> str:
    """The slug of a deck file's name; a name with no ASCII letters or digits gets one from its hash."""
    return slugify(stem) or "deck-" + digest(stem, length=8)


def package_file_name(key: str, version: str) -> str:
    """`<key>-<version>.apkg`, or with `deck-` in front when Anki would take that name for a backup."""
    name = f"{key}-{version}.apkg"
    return f"deck-{name}" if anki_takes_for_backup(name) else name


def anki_takes_for_backup(file_name: str) -> bool:
    """Whether Anki desktop imports a file of this name as a whole-collection backup, offering to replace the
    user's collection with it (its rule, in aqt/import_export/importing.py: the name in lower case)."""
    name = file_name.lower()
    return name == "collection.apkg" or (name.startswith("backup-") and name.endswith(".apkg")) \
        or name.endswith(".colpkg")


def anki_tag(parts) -> str:
    """A valid, harmless Anki tag from path parts: letters, digits and `_ . + - /` only, no empty `::` levels.

    Anki puts tags into the card through {{Tags}} as they are, so a tag must
    carry no markup: a section heading "<img onerror=…>" must not become one.
    """
    cleaned = (TAG_UNSAFE_RE.sub("_", part.replace(TAG_SEPARATOR, "_").strip()).strip("_:") for part in parts)
    return TAG_SEPARATOR.join(part for part in cleaned if part)


def safe_tag(tag: str) -> str:
    """A tag read from elsewhere (the identity record), as harmless as `anki_tag` makes tags: a valid one is
    kept as it is."""
    return anki_tag(tag.split(TAG_SEPARATOR))


def path_tag(text: str) -> str:
    """The tag an Obsidian tag path names: `a/b` is `a::b` (see `anki_tag`)."""
    return anki_tag(text.split("/"))
