"""The build pipeline: sources -> parse -> render -> identity -> write."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .errors import DeckgenError, Diagnostic, SourceError
from .identity import deck_id, new_guid
from .model import BASIC
from .parse import normalise_question, parse_source
from .render import RenderedDeck, render_deck
from .sources import find_deck_files, read_deck_source
from .write import PackageNote, PackagePlan, write_package


class BuildError(DeckgenError):
    """The sources have errors; nothing was written."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the sources; nothing was written")


@dataclass(frozen=True)
class DeckBuild:
    """What one deck's build wrote."""

    deck_name: str
    path: Path
    notes: int


@dataclass(frozen=True)
class BuildReport:
    """Every deck built, and the warnings met on the way."""

    decks: tuple[DeckBuild, ...]
    diagnostics: tuple[Diagnostic, ...]


def build_decks(source: Path, out_dir: Path, now: float | None = None) -> BuildReport:
    """Build every deck under `source` into `out_dir`.

    1. find and read every deck, 2. parse and render it, 3. stop if anything
    is an error, 4. only then write one .apkg per deck.
    """
    now = time.time() if now is None else now
    rendered, diagnostics = [], []
    for path in find_deck_files(source):
        try:
            parsed = parse_source(read_deck_source(path))
        except SourceError as err:
            diagnostics.append(Diagnostic(err.path, err.line, err.message, "error"))
            continue
        diagnostics.extend(parsed.diagnostics)
        rendered.append(render_deck(parsed))
    diagnostics.extend(_name_clashes(rendered))
    diagnostics.sort()
    if any(d.severity == "error" for d in diagnostics):
        raise BuildError(diagnostics)
    if not rendered:
        raise SourceError(source, 0, "no decks found (expected Markdown files ending in .md)")

    decks = []
    for deck in rendered:
        settings = deck.parsed.source.settings
        path = out_dir / f"{settings.slug}-{settings.version}.apkg"
        write_package(package_plan(deck, source, int(now)), path)
        decks.append(DeckBuild(deck_name=settings.name, path=path, notes=len(deck.notes)))
    return BuildReport(decks=tuple(decks), diagnostics=tuple(diagnostics))


def package_plan(deck: RenderedDeck, root: Path, now: int) -> PackagePlan:
    """The package contents of one rendered deck."""
    settings = deck.parsed.source.settings
    display_path = _display_path(deck.parsed.source.path, root)
    seen: dict[str, int] = {}
    notes = []
    for note in deck.notes:
        key = normalise_question(note.question.title)
        seen[key] = seen.get(key, 0) + 1
        notes.append(PackageNote(
            guid=new_guid(settings.slug, note.question, seen[key]),
            fields=(note.question_html, note.answer_html, f"{display_path}:{note.question.line}", ""),
            tags=note.tags,
            mtime=now,
        ))
    description = deck.description_html + f'\n<p class="dg-version">Version {settings.version}</p>'
    return PackagePlan(deck_name=settings.name, deck_id=deck_id(settings.name), description=description,
                       note_type=BASIC, note_type_mtime=now, notes=tuple(notes), first_id=now * 1000)


def _display_path(path: Path, root: Path) -> str:
    """The deck file as the card shows it: relative to the source folder, with `/`."""
    try:
        return path.relative_to(root).as_posix() if root.is_dir() else path.name
    except ValueError:
        return path.name


def _name_clashes(decks: list[RenderedDeck]) -> list[Diagnostic]:
    """Two files may not build the same deck (Anki matches decks by name) or the same output file."""
    found, names, slugs = [], {}, {}
    for deck in decks:
        source = deck.parsed.source
        for key, seen, what in ((source.settings.name, names, "deck name"), (source.settings.slug, slugs, "slug")):
            if key in seen:
                found.append(Diagnostic(source.path, 0, f"{what} {key!r} is also used by {seen[key]}", "error"))
            else:
                seen[key] = source.path
    return found
