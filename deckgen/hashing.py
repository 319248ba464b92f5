"""The one hash deckgen derives things from (SHA-256): GUIDs, deck and note-type ids, fingerprints, the render
cache's keys, image names, folder tags, content digests. Only this module imports hashlib.

Each use joins its parts with its own separators, as the records and packages written since deckgen 0.1
hold them: a change to any of them would re-stamp notes or change ids (`tests/test_fingerprints.py` pins them).
"""

from __future__ import annotations

import hashlib

SEPARATOR = "\x1f"
"""Joins the parts of a digest: a control character, which no text a build reads can hold."""


def digest(*parts: str | bytes, length: int = 64) -> str:
    """The first `length` hex digits of the SHA-256 of `parts` joined by SEPARATOR (text as UTF-8; a file
    name that is not valid UTF-8 keeps its bytes)."""
    return raw_digest(*parts).hex()[:length]


def raw_digest(*parts: str | bytes) -> bytes:
    """The SHA-256 of `parts` joined by SEPARATOR, as bytes."""
    if len(parts) == 1 and isinstance(parts[0], bytes):
        return hashlib.sha256(parts[0]).digest()
    try:
        joined = SEPARATOR.join(parts)  # text only, as most are: a build asks for tens of thousands
    except TypeError:
        joined = SEPARATOR.join(part if isinstance(part, str) else part.decode("utf-8", "surrogateescape")
                                for part in parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogateescape")).digest()


def stream():
    """A SHA-256 fed piece by piece (`update`), for files read in pieces."""
    return hashlib.sha256()
