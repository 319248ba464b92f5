"""Markdown files an Obsidian plugin keeps its data in are no decks: an Excalidraw drawing is compressed JSON.

Such a file (named `*.excalidraw.md`, or marked by its front matter's
`excalidraw-plugin` or `kanban-plugin`) is left out, with a note, unless the
library's `plugin_files = true` reads it. One the identity record holds notes
of stays a deck, as it was built before, with a warning that says how to drop
it: a new default never removes notes by itself.
"""

from __future__ import annotations

from collections import Counter

from ..errors import Diagnostic
from ..names import deck_settings_path
from ..parse.questions import ParsedLibrary
from ..sources.settings import LibrarySettings
from .record import IdentityRecord


def leave_out_plugin_files(parsed: ParsedLibrary, record: IdentityRecord, settings: LibrarySettings
                           ) -> ParsedLibrary:
    """`parsed` without the plugin data files the record holds no notes of, nor what parsing them found."""
    if settings.plugin_files or not any(deck.source.plugin for deck in parsed.decks):
        return parsed
    recorded = Counter(note.deck for note in record.notes.values() if not note.removed)
    decks, left, found = [], set(), []
    for deck in parsed.decks:
        kind = deck.source.plugin
        if kind is None:
            decks.append(deck)
        elif recorded[deck.key]:
            decks.append(deck)
            found.append(Diagnostic(deck.path, 0, (
                f"{kind}, a plugin's data, which deckgen leaves out of a library; it stays a deck because the "
                f"identity record holds {recorded[deck.key]} note(s) of it. To drop it (its notes are then marked "
                "removed), add it to exclude in deckgen.toml; to keep every such file, set plugin_files = true"),
                "warning", "plugin-file"))
        else:
            left.update((deck.path, deck_settings_path(deck.path)))
            found.append(Diagnostic(deck.path, 0, (
                f"not a deck: {kind}, a plugin's data (plugin_files = true in deckgen.toml reads such files as "
                "decks)"), "note", "plugin-file"))
    return ParsedLibrary(tuple(decks), tuple(d for d in parsed.diagnostics if d.path not in left) + tuple(found))
