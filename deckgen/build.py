"""The build pipeline, one stage after the other, each using only what the ones before it made:

1. `sources`: the library's decks and settings, each deck file's text;
2. `parse`: each deck's questions and description, as Markdown;
3. `identify`: the record and what this machine delivered, which recorded note each question continues, GUIDs
   for new ones, each deck's package and note type;
4. `render`: the HTML and tags of every note, removed ones too, through the render cache (which also keeps
   each file's structure for `parse`);
5. `plan`: each note's time and each package's version, the changes, the new record (writing nothing);
6. `output`: the files, staged and then renamed into place together;
7. `deliver` (`deckgen sync`): the newest packages into an Anki collection, with what Anki owns kept.

Each stage returns its diagnostics with what it made; a SourceError stops the pipeline where it is met.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BuildError, Diagnostic, SourceError
from .identify.decks import identify_library
from .identify.delivered import Delivered, read_delivered
from .identify.held import HeldLibrary, hold_back
from .identify.history import read_history
from .identify.plugin_files import leave_out_plugin_files
from .identify.record import IdentityRecord, parse_record, record_bytes
from .names import package_file_name
from .output.staging import StagedFiles, project_lock
from .output.stamp import (CheckReport, build_fingerprint, forget_stamp, held_back, last_build, library_to_build,
                           sources_fingerprint)
from .output.write import PackageBuild, write_build
from .parse.questions import parse_decks
from .plan.model import BuildPlan
from .plan.packages import plan_next_build
from .render.cache import RenderCache, library_cache
from .render.decks import render_library
from .render.media import MediaChanged
from .sources.library import Library, find_library, read_decks
from .sources.settings import read_library_settings

if TYPE_CHECKING:  # stage 7 is loaded by the commands that deliver, not by a build
    from .deliver.collection import DeliveredNote, DeliveryReport, PackageToDeliver
    from .deliver.profiles import Target
    from .deliver.pull import PullReport
    from .deliver.status import LibraryStatus


@dataclass(frozen=True)
class LibraryCheck:
    """Everything a build would do, before it writes anything."""

    library: Library
    plan: BuildPlan | None
    """None when an error stopped the pipeline before planning."""
    diagnostics: tuple[Diagnostic, ...]
    """Every problem found, sorted."""
    new_namespace: str | None = None
    """The namespace a build makes for a notes folder that has none yet, and writes into its `deckgen.toml`."""
    new_slug: str | None = None
    """With a new namespace, the library's package key written down beside it (unless a slug is set)."""
    delivered: Delivered | None = None
    """What this machine's builds delivered before (see `delivered`); None when it has no record of that."""
    held: tuple[Diagnostic, ...] = ()
    """The errors that held their deck files at their last good state instead of stopping the build (see
    `identify.held`)."""

    @property
    def delivered_unknown(self) -> bool:
        """Built before, but not here (a fresh clone, a deleted output folder): the build cannot know what
        Anki holds from this machine's earlier builds, and works from the committed record alone."""
        return self.delivered is None and self.plan is not None and bool(self.plan.previous.packages)


@dataclass(frozen=True)
class BuildReport:
    """Every package built, and the warnings met on the way; or, when nothing changed, the last build's report."""

    packages: tuple[PackageBuild, ...]
    diagnostics: tuple[Diagnostic, ...]
    unchanged: dict | None = None
    """With `skip_unchanged`, when nothing a build reads has changed: the last build's lines and warnings."""
    created_settings: Path | None = None
    """The notes folder's `deckgen.toml`, when this build wrote its namespace into it."""
    delivered_unknown: bool = False
    """See `LibraryCheck.delivered_unknown`."""
    held: tuple[Diagnostic, ...] = ()
    """See `LibraryCheck.held`: when any, the build wrote the other files' notes, and did not succeed."""
    record: IdentityRecord | None = None
    """The identity record the build wrote, or found unchanged."""
    previous: dict[str, DeliveredNote] | None = None
    """What the build before this one delivered, note by note (see `deliver.collection.delivered_by`)."""


def check_library(source: Path, output: Path | None = None, now: float | None = None,
                  allow_new_note_type: bool = False, rerender: bool = False, progress=None,
                  trust_record: bool = False) -> LibraryCheck:
    """Run every stage up to the plan for the library `source` names, writing nothing but the render cache.

    Rendered HTML found in `output`'s cache (see `render.cache`) is used instead
    of rendering again, and what was rendered is added to it when `output`
    exists (a library built there); `progress(done, total)` follows the
    rendering. Files under `output` are never read as decks.
    """
    return _checked(find_library(source, output), now, allow_new_note_type, rerender, progress, trust_record)


def check_report(library: Library, allow_new_note_type: bool = False, trust_record: bool = False) -> CheckReport:
    """What `deckgen check` says of `library` (see `sources.library.find_library`) when the last build's stamp
    cannot say it (`stamp.last_check`, which the command line asks first, without loading the pipeline): what
    `check_library` finds."""
    return report_of(_checked(library, None, allow_new_note_type, False, None, trust_record))


def _checked(library: Library, now: float | None, allow_new_note_type: bool, rerender: bool, progress,
             trust_record: bool) -> LibraryCheck:
    check, cache = _check(library, now, allow_new_note_type, rerender, progress, trust_record, hold=False)
    _keep_rendered(library, cache)
    return check


def report_of(check: LibraryCheck) -> CheckReport:
    """`check`'s diagnostics, and the questions and cards of every deck a build would make."""
    parts = [part for package in check.plan.packages for part in package.decks] if check.plan else []
    return CheckReport(check.diagnostics, tuple(sorted((part.deck.path, len(part.deck.notes), part.card_count,
                                                        len(part.deck.identified.parsed.description))
                                                       for part in parts)))


def plan_library(source: Path, output: Path | None = None, now: float | None = None,
                 allow_new_note_type: bool = False, rerender: bool = False, progress=None,
                 trust_record: bool = False, strict: bool = False) -> LibraryCheck:
    """`check_library` as a build plans it, raising BuildError (with every problem) when an error stops it."""
    check, cache = _check(find_library(source, output), now, allow_new_note_type, rerender, progress, trust_record,
                          hold=not strict)
    _keep_rendered(check.library, cache)
    return _planned(source, check, cache)[0]


def _keep_rendered(library: Library, cache: RenderCache | None) -> None:
    """Keep what a command that writes nothing else rendered, for the next one: only for a library built into its
    output folder already (`check` of a folder never built leaves nothing behind)."""
    if cache is not None and library.output is not None and library.output.is_dir():
        cache.save()


def build_decks(source: Path, out_dir: Path, now: float | None = None, allow_new_note_type: bool = False,
                rerender: bool = False, progress=None, skip_unchanged: bool = False,
                trust_record: bool = False, strict: bool = False) -> BuildReport:
    """Build every deck `source` names into `out_dir`: under the library's lock, unless `skip_unchanged` finds
    that nothing a build reads has changed since the last one (see `stamp`: the report then says so), run
    every stage up to the plan, stopping before anything is written if there is an error (a deck file's own
    error holds that file back instead, unless `strict`: see `identify.held`), then write it (see
    `output.write`)."""
    return build_library(source, library_to_build(source, out_dir), now, allow_new_note_type, rerender, progress,
                         skip_unchanged, trust_record, strict)


def build_library(source: Path, library: Library, now: float | None = None, allow_new_note_type: bool = False,
                  rerender: bool = False, progress=None, skip_unchanged: bool = False,
                  trust_record: bool = False, strict: bool = False, previous: bool = False) -> BuildReport:
    """`build_decks` of a library already found (see `output.stamp.library_to_build`; `source` is what the
    user named); with `previous`, the report says what the build before delivered (`BuildReport.previous`)."""
    now = time.time() if now is None else now
    with project_lock(library.root):
        last = last_build(library, allow_new_note_type, rerender) if skip_unchanged else None
        if last is not None:
            return BuildReport(packages=(), diagnostics=(), unchanged=last, held=held_back(last))
        # Before reading: a deck saved meanwhile is a change. With --rerender, every file is read again, and the
        # images' digests the last stamp kept (see `render.media`) are taken afresh.
        sources = sources_fingerprint(library, known={}) if rerender else build_fingerprint(library)
        try:
            check, cache = _planned(source, *_check(library, now, allow_new_note_type, rerender, progress,
                                                    trust_record, hold=not strict, known=sources.known))
            # A build that held files back keeps their errors in its stamp, to say them again after no change;
            # what check says then is found by the pipeline, which reads those files as they are (see
            # `identify.held`).
            said = {"held": [d.to_json() for d in check.held],
                    "check": None if check.held else report_of(check).to_stamp(trust_record, library.diagnostics)}
            built = write_build(library, check.plan, check.delivered, check.new_namespace, check.new_slug,
                                [str(d) for d in check.diagnostics if d.severity != "note" and not d.once and
                                 d not in check.held], sources, now, said)
        except MediaChanged:  # an image's bytes are not those its digest says: the stamp's may have misled the
            forget_stamp(library)  # build, so the next one reads every file again
            raise
        cache.save()
    return BuildReport(packages=tuple(built), diagnostics=check.diagnostics,
                       created_settings=library.settings_path if check.new_namespace else None,
                       delivered_unknown=check.delivered_unknown, held=check.held, record=check.plan.record,
                       previous=_delivered_by(check.plan.previous) if previous else None)


def sync_library(source: Path, library: Library, target: Target, now: float | None = None, progress=None,
                 strict: bool = False, overwrite: bool = False) -> tuple[BuildReport, DeliveryReport]:
    """Open the collection of `target` (nothing is built while Anki has it open), build the library (see
    `build_library`; when nothing a build reads has changed, the last build's packages, as `deckgen build`
    finds them), then bring the collection up to date with each of its packages' newest version (see
    `deliver.collection`)."""
    from .deliver.collection import PackageToDeliver, deliver, delivered_by, open_collection

    col = open_collection(target.collection)
    try:
        last = None if strict else _last_packages(library)
        if last is not None:
            built, packages, guids = last
        else:
            built = build_library(source, library, now, progress=progress, strict=strict, previous=True)
            packages = [PackageToDeliver(package.plan.key, package.plan.version, package.plan.digest, package.path)
                        for package in built.packages]
            guids = set(built.record.notes)  # every note of the library, removed ones too
        namespace = read_library_settings(library.settings_path).namespace  # the build wrote it, if it was new
        return built, deliver(col, target, library.root.name, namespace, packages, guids,
                              library.settings.suspend_removed, overwrite, built.previous or delivered_by(built.record),
                              _built_here(library))
    finally:
        col.close()


def status_of_library(source: Path, library: Library, target: Target, command: str = "status"
                      ) -> tuple[LibraryCheck, LibraryStatus]:
    """Compare the collection of `target` with `library` (see `sources.library.find_library`; `source` is what
    the user named; see `deliver.status`), writing nothing: neither the collection (a copy of it is read) nor the
    library's files. `command` is what messages say to run again."""
    from .deliver.collection import collection_copy
    from .deliver.status import library_status

    check = _planned(source, *_check(library, now=None, allow_new_note_type=False, rerender=False, progress=None,
                                     trust_record=False, hold=True))[0]
    namespace = library.settings.namespace or check.new_namespace
    with collection_copy(target.collection, command) as col:
        return check, library_status(check.plan, col, str(target.collection), namespace, _built_here(library))


def pull_library(source: Path, output: Path, target: Target, write: bool = False, allow_dirty: bool = False,
                 take_anki: bool = False) -> tuple[LibraryCheck, PullReport]:
    """The edits made in Anki to notes whose source is unchanged since delivery (with `take_anki`, to those whose
    source changed too, Anki's copy winning), as edits of the Markdown (see `deliver.pull`); with `write`,
    written, with the record of when Anki made them, all together. Files with uncommitted changes are left alone
    unless `allow_dirty`. The collection is only read."""
    from contextlib import nullcontext

    from .deliver.pull import leave_out_dirty, plan_pull, write_pull

    library = find_library(source, output)
    with project_lock(library.root) if write else nullcontext():
        check, status = status_of_library(source, library, target, "pull")
        report = plan_pull(check.plan, status, check.library.root, take_anki)
        if not allow_dirty:
            leave_out_dirty(report, check.library.root)
        if write and report.pulled:
            with StagedFiles() as files:
                write_pull(report, check.plan.previous, check.library.record_path, files)
                files.commit()
    return check, report


def _built_here(library: Library):
    """`built_here(key, version, digest)`: the package file of a version this machine built (its content
    `digest`), as it wrote it, or None; what this machine built is read once, when first asked."""

    @functools.cache
    def delivered() -> Delivered | None:
        committed = record_bytes(library.record_path)
        return read_delivered(library.root, committed) if committed else None

    def built_here(key: str, version: str, digest: str) -> Path | None:
        path = library.output / package_file_name(key, version)
        known = delivered()
        if known is None or known.versions.get(key, {}).get(version) != digest or not known.built(path):
            return None
        return path

    return built_here


def _delivered_by(record: IdentityRecord) -> dict[str, DeliveredNote]:
    from .deliver.collection import delivered_by

    return delivered_by(record)


def _last_packages(library: Library) -> tuple[BuildReport, list[PackageToDeliver], set[str]] | None:
    """When nothing a build reads has changed since the last build (see `stamp`): its report, its packages (each
    the very file this machine wrote, see `delivered`) and the GUIDs of its record; else None."""
    from .deliver.collection import PackageToDeliver

    last = last_build(library)
    committed = record_bytes(library.record_path) if last is not None else None
    if not committed:
        return None
    record = parse_record(library.record_path, committed)
    delivered = read_delivered(library.root, committed)
    if delivered is None:
        return None
    packages = []
    for key, package in sorted(record.packages.items()):
        path = library.output / package_file_name(key, package.version)
        if str(path) not in last["outputs"]:  # a package the library no longer makes
            continue
        digest = delivered.versions.get(key, {}).get(package.version)
        if digest is None or not delivered.built(path):
            return None
        packages.append(PackageToDeliver(key, package.version, digest, path))
    report = BuildReport(packages=(), diagnostics=(), unchanged=last, record=record, held=held_back(last))
    return (report, packages, set(record.notes)) if packages else None


def _check(library: Library, now: float | None, allow_new_note_type: bool, rerender: bool, progress,
           trust_record: bool, hold: bool, known: dict | None = None) -> tuple[LibraryCheck, RenderCache | None]:
    """The pipeline up to the plan: every stage's diagnostics, and the plan unless an error stopped it; with
    `hold`, each deck file with an error is held at its last good state (see `identify.held`); `known`, what the
    last build's stamp keeps of the files it read (see `output.stamp.Fingerprint`), spares reading again the
    images unchanged since."""
    now = time.time() if now is None else now
    found, cache = list(library.diagnostics), None

    def said(stage):  # what a stage made, its diagnostics kept
        found.extend(stage.diagnostics)
        return stage

    try:
        cache = library_cache(library)  # each file's structure, and then each text's HTML
        parsed = parse_decks(read_decks(library), library.settings.prefix, cache)
        try:
            history = said(read_history(library, now, trust_record))
        except SourceError:
            said(parsed)  # what the files hold is said with a record that cannot be read, too
            raise
        parsed = said(leave_out_plugin_files(parsed, history.record, library.settings))
        held = hold_back(parsed, library, history.record) if hold else HeldLibrary(parsed, ())
        parsed = held.parsed
        identified = said(identify_library(parsed.decks, history, library, allow_new_note_type))
        rendered = said(render_library(identified.decks, library, cache, progress, known))
        plan = said(plan_next_build(rendered, identified, library.settings, now, rerender))
    except SourceError as err:  # a record that cannot be read, a topic pattern that runs too long
        return LibraryCheck(library, None, tuple(sorted(found + [err.diagnostic]))), cache
    return LibraryCheck(library, plan, tuple(sorted(found)), history.new_namespace, identified.new_slug,
                        history.delivered, held.held), cache


def _planned(source: Path, check: LibraryCheck, cache: RenderCache | None) -> tuple[LibraryCheck, RenderCache]:
    held = set(check.held)
    if check.plan is None or any(d.severity == "error" and d not in held for d in check.diagnostics):
        raise BuildError(list(check.diagnostics))
    if not check.plan.packages and check.held:  # every deck file has an error, and none was built before
        raise BuildError(list(check.diagnostics))
    if not check.plan.packages:  # said with what the files hold (a heading level that would give questions)
        raise BuildError([*check.diagnostics, Diagnostic(
            source, 0, "no decks found (Markdown files ending in .md, with ### questions)", "error", "no-decks")])
    return check, cache
