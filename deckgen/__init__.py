"""deckgen: Markdown notes to Anki decks that update in place.

The API: `deckgen.build_decks(source, out_dir)` builds every deck under `source`.
It is imported on first use, so `deckgen --help` stays fast.
"""

from .version import __version__

__all__ = ["build_decks", "__version__"]


def __getattr__(name):
    if name == "build_decks":
        from .build import build_decks

        return build_decks
    raise AttributeError(f"module 'deckgen' has no attribute {name!r}")
