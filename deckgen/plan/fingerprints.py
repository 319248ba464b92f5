"""What decides whether a note changed: a fingerprint of what its author wrote, never its HTML; and the
hash of the HTML a package delivered, which tells what `--rerender` would change.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..hashing import digest
from ..render.media import MediaRef

FINGERPRINT_FORMAT = 1


def author_fingerprint(question: str, answer: str, sections: Sequence[str], tags: Sequence[str], cards: str,
                       source_file: str, media: Sequence[MediaRef]) -> str:
    """Hash of what the author controls about a note: its Markdown, sections and tags (from the headings and
    topic rules), its card type, the file it is in, and the bytes of the images it shows."""
    # \x1e and \x1f cannot occur in any of the parts (sources with control characters are refused).
    parts = (str(FINGERPRINT_FORMAT), question, answer, "\x1f".join(sections), "\x1f".join(tags), cards,
             source_file, "\x1f".join(sorted(ref.digest for ref in media)))
    return digest("\x1e".join(parts), length=16)


def html_hash(fields: Sequence[str], tags: Sequence[str]) -> str:
    """Hash of a note's fields and tags as a package delivers them, less its source line (deckgen 0.1's
    fingerprint, kept the same so that its records say what their packages delivered)."""
    return digest("\x1f".join(fields) + "\x1e" + " ".join(tags), length=16)  # \x1f cannot occur in a field



