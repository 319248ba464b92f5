"""Errors and warnings that point at a place in the sources."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem found in a source file; `line` is 1-based, 0 when it concerns the whole file.

    `severity`: "error" stops a build, "warning" does not, "note" is only listed by `deckgen check`.
    """

    path: Path
    line: int
    message: str
    severity: str = "warning"
    code: str = ""
    """A short name for the kind of problem (`empty-answer`), for editors and CI."""
    column: int = 1
    once: bool = field(default=False, compare=False)
    """About what this build changes (a note type replaced, cloze numbers moved) rather than about the sources as
    they are: a build that finds nothing changed does not say it again."""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else f"{self.path}"
        code = f" [{self.code}]" if self.code else ""
        return f"{where}: {self.severity}: {self.message}{code}"

    def as_error(self) -> Diagnostic:
        """This diagnostic as an error (`--strict`); a note stays a note."""
        return replace(self, severity="note" if self.severity == "note" else "error")

    def to_json(self) -> dict:
        found = {**asdict(self), "path": str(self.path)}
        del found["once"]
        return found


class DeckgenError(Exception):
    """Base of every error deckgen reports to a user (never with a traceback)."""


class SourceError(DeckgenError):
    """Bad input at a place in a source file."""

    def __init__(self, path: Path, line: int, message: str, code: str = "", column: int = 1):
        self.diagnostic = Diagnostic(path, line, message, "error", code, column)
        self.path, self.line, self.message = path, line, message
        super().__init__(str(self.diagnostic).replace(": error: ", ": ", 1))


class BuildError(DeckgenError):
    """The sources have errors (found before anything was written); `diagnostics` holds every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the sources")
