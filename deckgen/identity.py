"""Stable identities: note GUIDs and deck ids that never depend on the build."""

from __future__ import annotations

import base64
import hashlib

from .parse import Question, normalise_question


def stable_hash(*parts: str) -> bytes:
    """SHA-256 of the parts, unambiguously joined."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()


def deck_id(deck_name: str) -> int:
    """Anki matches decks by name, so the id derives from the name alone (never 0)."""
    return (1 << 30) + int.from_bytes(stable_hash("deck", deck_name)[:8], "big") % (1 << 30)


def new_guid(deck_slug: str, question: Question, occurrence: int) -> str:
    """GUID for a question seen for the first time.

    From the author's explicit id if there is one, else from the deck and the
    normalised question text; `occurrence` tells apart identical questions.
    """
    if question.explicit_id:
        key = ("id", deck_slug, question.explicit_id)
    else:
        key = ("question", deck_slug, normalise_question(question.title), str(occurrence))
    return base64.b32encode(stable_hash(*key)[:10]).decode("ascii").lower()
