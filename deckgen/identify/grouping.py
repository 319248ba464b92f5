"""Which package each deck goes into, and where the notes of a deck whose file is gone are carried.

By default a library is one package: one import brings every deck up to
date, with one version and one changelog. Its key (`<key>-<version>.apkg`) is
the library's `slug` setting, else its one deck's slug when it holds one deck
(so a library of one file keeps the name it always had), else a slug of its
folder's name. With `packages = "folder"`, each top-level folder is a package
of its own, keyed by the folder's name, and the files at the top make the
library's.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..names import default_slug
from ..sources.settings import LibrarySettings


def library_key(decks: Sequence[tuple[str, str]], settings: LibrarySettings, root_name: str) -> str:
    """The key of the library's own package: its `slug` setting, else its one deck's slug, else its folder's
    name (which is why the first build writes it down as the slug: a clone in a folder of another name, or a
    second file, would name the package otherwise)."""
    if settings.slug:
        return settings.slug
    if len(decks) == 1:
        return decks[0][1]
    return default_slug(root_name)


def package_keys(decks: Sequence[tuple[str, str]], vanished: Sequence[str], settings: LibrarySettings,
                 root_name: str) -> dict[str, str]:
    """The package key of every deck: `decks` are the (key, slug) of the decks built, `vanished` the keys of
    recorded decks whose file is gone."""
    library = library_key(decks, settings, root_name)

    def key_of(deck: str) -> str:
        if settings.packages == "folder" and "/" in deck:
            return default_slug(deck.split("/", 1)[0])
        return library

    return {deck: key_of(deck) for deck in [*(key for key, _ in decks), *vanished]}


def homes(decks: Sequence[str], vanished: Sequence[str], packages: dict[str, str]
          ) -> tuple[dict[str, str], dict[str, str]]:
    """For each vanished deck, the deck built now that carries its notes: the first of its own package, else
    the first of all; and `packages` with each vanished deck in its home's (a package no deck is left in, as
    after a top folder of `packages = "folder"` went, is not built)."""
    first: dict[str, str] = {}
    for deck in sorted(decks):
        first.setdefault(packages[deck], deck)
    fallback = min(decks) if decks else None
    found = {deck: first.get(packages[deck], fallback) for deck in vanished if fallback is not None}
    return found, {deck: packages[found.get(deck, deck)] for deck in [*decks, *found]}
