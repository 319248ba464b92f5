"""The build pipeline: sources -> parse -> render -> identity (plan) -> write."""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .changelog import changelog_path, updated_changelog
from .errors import DeckgenError, Diagnostic, SourceError
from .files import StagedFiles, project_lock, remove_stale_temporaries
from .identity_file import identity_path, orphaned_identity_files, read_identity, write_identity_to
from .parse import parse_source
from .plan import DeckPlan, plan_deck
from .render import MarkdownRenderer, render_deck
from .media import MediaResolver
from .render_cache import RenderCache
from .sources import find_deck_files, link_outside, read_deck_source
from .stamp import sources_fingerprint, write_stamp
from .write import write_package_to


CACHE_FOLDER = ".cache"  # in the output folder; safe to delete


class BuildError(DeckgenError):
    """The sources have errors (found before anything was written)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the sources")


@dataclass(frozen=True)
class DeckBuild:
    """What one deck's build wrote."""

    plan: DeckPlan
    path: Path


@dataclass(frozen=True)
class BuildReport:
    """Every deck built, and the warnings met on the way."""

    decks: tuple[DeckBuild, ...]
    diagnostics: tuple[Diagnostic, ...]


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection meanwhile: a build makes many long-lived objects and nearly no
    cycles, and the collector would scan them all again and again (a tenth of a rebuild's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_gc_paused()
def check_decks(source: Path, now: float | None = None, allow_new_note_type: bool = False,
                cache_dir: Path | None = None, progress=None, exclude: Path | None = None
                ) -> tuple[list[DeckPlan], list[Diagnostic]]:
    """Read, parse, render and identify every deck under `source`; every problem found, sorted; no writing.

    Rendered HTML found in `cache_dir` (see `render_cache`) is used instead of
    rendering again; `progress(done, total)` follows the rendering. Deck
    files under `exclude` (the output folder) are not read.
    """
    now = time.time() if now is None else now
    plans, diagnostics = [], []
    root = source if source.is_dir() else source.parent
    resolver = MediaResolver(root)  # nothing outside the folder being built goes into a package
    deck_files, skipped = find_deck_files(source, exclude)
    diagnostics.extend(skipped)
    for path in deck_files:
        try:
            source_file = read_deck_source(path, root)
            diagnostics.extend(source_file.diagnostics)
            parsed = parse_source(source_file)
            skipped = link_outside(identity_path(path), root)
            previous = read_identity(identity_path(path)) if skipped is None else None
            diagnostics.extend([skipped] if skipped else [])
            diagnostics.extend(parsed.diagnostics)
            if not parsed.questions and previous is None:
                continue  # nothing to build, and no notes to keep
            renderer = MarkdownRenderer(path.parent, resolver)
            cache = RenderCache(cache_dir / f"{parsed.source.settings.slug}.sqlite" if cache_dir else None,
                                path.parent, resolver)
            rendered = render_deck(parsed, renderer, cache, progress)
            plan, found = plan_deck(rendered, previous, _display_path(path, source), now, renderer,
                                    allow_new_note_type)
        except SourceError as err:
            diagnostics.append(err.diagnostic)
            continue
        diagnostics.extend(rendered.diagnostics + found)
        plans.append(plan)
    diagnostics.extend(_clashes(plans))
    if source.is_dir():
        diagnostics.extend(Diagnostic(path, 0, (
            "identity file without its deck file. If you renamed or moved the deck's .md file, rename this "
            "file to match (<deck>.identity.jsonl) so its notes keep their identities instead of being "
            "duplicated in Anki; if you deleted the deck on purpose, delete this file too."), "error",
            "orphan-identity")
            for path in orphaned_identity_files(source))
    return plans, sorted(diagnostics)


def plan_decks(source: Path, **options) -> tuple[list[DeckPlan], list[Diagnostic]]:
    """`check_decks`, raising BuildError (with every problem) when any is an error."""
    plans, diagnostics = check_decks(source, **options)
    if any(d.severity == "error" for d in diagnostics):
        raise BuildError(diagnostics)
    if not plans:
        raise SourceError(source, 0, "no decks found (Markdown files ending in .md, with ### questions)",
                          "no-decks")
    return plans, diagnostics


@_gc_paused()
def build_decks(source: Path, out_dir: Path, now: float | None = None, allow_new_note_type: bool = False,
                progress=None) -> BuildReport:
    """Build every deck under `source` into `out_dir`.

    1. take the project's lock and clear what a killed build left behind;
    2. read, parse, render and identify every deck (`plan_decks`), stopping
       before anything is written if there is an error;
    3. write every deck's changelog, identity file and .apkg to temporary
       files, then rename them all into place, in that order: a build killed
       in between leaves an identity file from which the next build remakes
       the very same .apkg.
    """
    now = time.time() if now is None else now
    project = source if source.is_dir() else source.parent
    with project_lock(project):
        for folder in (project, out_dir):
            if folder.is_dir():
                remove_stale_temporaries(folder)
        sources = sources_fingerprint(source, out_dir)  # before reading: a deck saved meanwhile is a change
        plans, diagnostics = plan_decks(source, now=now, allow_new_note_type=allow_new_note_type,
                                        cache_dir=out_dir / CACHE_FOLDER, progress=progress, exclude=out_dir)
        decks = []
        with StagedFiles() as files:
            for plan in plans:
                deck_path, slug = plan.deck.parsed.source.path, plan.deck.parsed.source.settings.slug
                path = out_dir / f"{slug}-{plan.version}.apkg"
                log = changelog_path(out_dir, slug)
                changelog = updated_changelog(log, plan, now)
                if changelog is not None:
                    files.stage(log, changelog.encode("utf-8"))
                if plan.identity != plan.previous:
                    files.stage(identity_path(deck_path), partial(write_identity_to, plan.identity,
                                                                       previous=plan.previous))
                files.stage(path, partial(write_package_to, plan.package))
                decks.append(DeckBuild(plan=plan, path=path))
            files.commit()
        for plan in plans:
            plan.deck.cache.save()
        write_stamp(source, out_dir, sources, sorted({ref.path for d in decks for ref in d.plan.package.media}),
                    [d.path for d in decks] + [changelog_path(out_dir, d.plan.identity.slug) for d in decks],
                    [f"{d.plan.identity.name} {d.plan.version}: {len(d.plan.deck.notes)} notes -> {d.path}"
                     for d in decks],
                    [str(d) for d in diagnostics])
    return BuildReport(decks=tuple(decks), diagnostics=tuple(diagnostics))


def _display_path(path: Path, root: Path) -> str:
    """The deck file as the card shows it: relative to the source folder, with `/`."""
    try:
        return path.relative_to(root).as_posix() if root.is_dir() else path.name
    except ValueError:
        return path.name


def _clashes(plans: list[DeckPlan]) -> list[Diagnostic]:
    """Decks may share no name (Anki matches decks by name), no output file and no note GUID."""
    found, owners = [], {}
    for plan in plans:
        source = plan.deck.parsed.source
        keys = [("deck name", source.settings.name), ("slug", source.settings.slug)]
        keys += [("note GUID", note.guid) for note in plan.identity.notes]
        for what, key in keys:
            owner = owners.setdefault((what, key), source.path)
            if owner != source.path:
                found.append(Diagnostic(source.path, 0, f"{what} {key!r} is also used by {owner}", "error",
                                        "clash"))
    return found
