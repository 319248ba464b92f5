"""deckgen's version, in one place: the package's metadata (setup.cfg) and `deckgen --version` read it."""

__version__ = "0.6.3"
