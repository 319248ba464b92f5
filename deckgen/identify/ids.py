"""Ids derived from text, the same on every machine: new notes' GUIDs, deck ids, package file names.

A new note's GUID derives from the notes folder's namespace (a random value
kept in its `deckgen.toml`, see `settings`), its deck's key, its note type
and its question text or explicit id: two projects that did not copy each
other's files never mint the same GUID, nor do two decks of one project.
Once minted, a GUID lives in the identity record and is never derived again.
"""

from __future__ import annotations

import base64
import secrets

from ..hashing import raw_digest

NAMESPACE_BYTES = 8  # 64 random bits: two notes folders picking the same namespace is out of reach


def new_namespace() -> str:
    """A notes folder's namespace, made once by its first build."""
    return secrets.token_hex(NAMESPACE_BYTES)


def note_guid(namespace: str, deck: str, note_type: int, kind: str, text: str, occurrence: int) -> str:
    """The GUID of a note seen for the first time: `kind` "id" with the author's explicit id as `text`, or
    "question" with its question's key; `occurrence` tells apart identical questions of one deck."""
    digest = raw_digest(kind, namespace, deck, str(note_type), text, str(occurrence))
    return base64.b32encode(digest[:10]).decode("ascii").lower()


def deck_id(deck_name: str) -> int:
    """Anki matches decks by name, so the id derives from the name alone (never 0)."""
    return (1 << 30) + int.from_bytes(raw_digest("deck", deck_name)[:8], "big") % (1 << 30)


def successor_note_type_id(namespace: str, base: int, generation: int) -> int:
    """The id of the `generation`-th note type to take the place of note type `base` in a notes folder, once
    `base` can no longer change as deckgen's would (see `note_type_guard`)."""
    digest = raw_digest("note type", namespace, str(base), str(generation))
    return (1 << 30) + int.from_bytes(digest[:8], "big") % (1 << 30)



