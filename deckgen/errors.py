"""Errors and warnings that point at a place in the sources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem found in a source file; `line` is 1-based, 0 when it concerns the whole file."""

    path: Path
    line: int
    message: str
    severity: str = "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.severity}: {self.message}"


class DeckgenError(Exception):
    """Base of every error deckgen reports to a user (never with a traceback)."""


class SourceError(DeckgenError):
    """Bad input at a place in a source file."""

    def __init__(self, path: Path, line: int, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {message}")
