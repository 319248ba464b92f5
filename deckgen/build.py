"""The build pipeline, one stage after the other, each using only what the ones before it made:

1. `library`: the decks the source names, and the identity record (deckgen 0.1's per-deck files folded in);
2. `parse`: each deck's questions and description, as Markdown;
3. `identify`: which recorded note each question continues, and GUIDs for new ones;
4. `render`: the HTML and tags of every note, removed ones too, through the render cache;
5. `plan`: each note's time and each package's version, the changes, the new record (writing nothing);
6. `package` and `changelog`: the files, staged and then renamed into place together.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .render import cache as render_cache
from .errors import BuildError, DeckgenError, Diagnostic, SourceError
from .sources.library import Library, find_library
from .places import output_folder
from .output.staging import project_lock, remove_stale_temporaries
from .output.stamp import sources_fingerprint, up_to_date, write_stamp

if TYPE_CHECKING:
    from .identify.delivered import Delivered
    from .identify.record import IdentityRecord
    from .plan.plan import BuildPlan, VersionPlan
    from .render.cache import RenderCache

# The stages are imported where they are used: a build that finds nothing changed (see `stamp`) loads none.


@dataclass(frozen=True)
class PackageBuild:
    """What one package's build wrote."""

    plan: VersionPlan
    path: Path
    """Its package, written now or (when this version's package was already there) before."""


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

    @property
    def delivered_unknown(self) -> bool:
        """Built before, but not here (a fresh clone, a deleted output folder): the build cannot know what
        Anki holds from this machine's earlier builds, and works from the committed record alone."""
        return self.delivered is None and self.plan is not None and bool(self.plan.previous.packages)


def check_library(source: Path, output: Path | None = None, now: float | None = None,
                  allow_new_note_type: bool = False, rerender: bool = False, progress=None,
                  trust_record: bool = False) -> LibraryCheck:
    """Run every stage up to the plan for the library `source` names, writing nothing.

    Rendered HTML found in `output`'s cache (see `render_cache`) is used instead
    of rendering again; `progress(done, total)` follows the rendering. Files
    under `output` are never read as decks.
    """
    return _check(find_library(source, output), output, now, allow_new_note_type, rerender, progress,
                  trust_record)[0]


def _check(library: Library, output: Path | None, now: float | None, allow_new_note_type: bool, rerender: bool,
           progress, trust_record: bool = False) -> tuple[LibraryCheck, RenderCache]:
    from .identify.delivered import packages_of_others, read_delivered
    from .identify.matcher import identify_decks
    from .identify.record import EMPTY, parse_record, record_bytes
    from .identify.ids import new_namespace
    from .identify.legacy import convert
    from .names import folder_deck
    from .sources.library import legacy_deck_key, link_outside, read_deck
    from .render.media import MediaResolver
    from .identify.note_type_guard import choose_note_types
    from .identify.ownership import foreign_notes, minted_in_history
    from .parse.questions import parse_source
    from .plan.plan import plan_build
    from .render.decks import render_decks
    from .render.cache import RenderCache
    from .identify.grouping import homes, library_key, package_keys

    now = time.time() if now is None else now
    diagnostics = list(library.diagnostics)
    # Nothing outside the library goes into a package.
    resolver = MediaResolver(library.root, int(library.settings.max_image_mib * 1024 * 1024))
    cache = RenderCache(render_cache.cache_path(library.root) if output else None,
                        f"{library.root.resolve()}|{resolver.size_limit}")
    outside = [d for d in [link_outside(library.record_path, library.root)] if d]
    diagnostics.extend(outside)
    settings = library.settings
    settings_failed = any(d.path == library.settings_path and d.severity == "error" for d in diagnostics)
    try:
        committed = record_bytes(library.record_path) if not outside else None  # read once: for the record and
        record = EMPTY if committed is None else parse_record(  # and for `delivered`
            library.record_path, committed, None if trust_record else now)
        record = convert(record, [(path, legacy_deck_key(path, library.root)) for path in library.legacy_records],
                         None if trust_record else now)
    except SourceError as err:
        return LibraryCheck(library, None, tuple(sorted(diagnostics + [err.diagnostic]))), cache
    namespace = settings.namespace
    created = None if namespace else new_namespace()  # not written when the settings have an error
    if created and record.notes and not outside and not settings_failed:  # built before, by 0.1 or with a
        # deckgen.toml since deleted
        diagnostics.append(Diagnostic(library.settings_path, 0, (
            "no namespace yet, though this folder has been built before: the build writes a new one into it. If "
            "the folder had a deckgen.toml that was deleted or changed, restore it instead (git checkout -- "
            "deckgen.toml), so that the GUIDs of the notes added from now on derive from the same namespace as "
            "before"), code="namespace-new", once=True))
    delivered = read_delivered(library.root, committed or b"", output, now) if not outside else None
    vouched, proven = delivered is not None and delivered.vouches, {}
    if not trust_record and not (vouched and delivered.matches_record):
        foreign = foreign_notes(record, namespace, delivered.notes if vouched else ())
        if foreign:  # minted before deckgen recorded what from, reworded since: the record's history may show it
            proven = minted_in_history(library.root, library.record_path, record, namespace, foreign)
            foreign = [note for note in foreign if note.guid not in proven]
        diagnostics.extend(_foreign(library.record_path, committed or b"", foreign))
    if delivered is not None and not delivered.vouches and delivered.notes:  # deckgen 0.2's, in the output folder
        refused = {note.guid for note in foreign_notes(replace(record, notes=delivered.notes), namespace)}
        delivered = replace(delivered, notes={guid: note for guid, note in delivered.notes.items()
                                              if guid not in refused})
    decks, recorded = [], {note.deck for note in record.notes.values()}
    if delivered is not None and not library.single_file:  # after a set-back, decks the record no longer knows
        recorded |= {note.deck for note in delivered.notes.values()}
    for file in library.decks:
        try:
            source_file = read_deck(file, library.root)
        except SourceError as err:
            diagnostics.append(err.diagnostic)
            continue
        parsed = parse_source(source_file)
        describes = folder_deck(file.key, settings.prefix) and bool(parsed.description.strip())
        diagnostics.extend(source_file.diagnostics + tuple(
            d for d in parsed.diagnostics if not (describes and d.code == "no-questions")))
        if parsed.questions or file.key in recorded or describes:
            decks.append(parsed)  # a file with no questions, no notes recorded and no folder to describe is no deck
    present = {deck.source.file.key for deck in decks}
    if library.single_file:
        diagnostics.extend(_orphans(library, recorded))
        vanished = []
    else:  # a deck whose file is gone: its questions may be anywhere now, or its notes are removed
        vanished = sorted(recorded - present - {file.key for file in library.decks})
    library_decks = [(deck.source.file.key, deck.source.settings.slug) for deck in decks]
    found_homes, packages = homes(sorted(present), vanished,
                                  package_keys(library_decks, vanished, settings, library.name))
    taken = packages_of_others(output, library.root, namespace or created) if output else {}
    for key in sorted(set(packages.values()) & set(taken)):
        diagnostics.append(Diagnostic(library.settings_path, 0, (
            f"{output} holds packages named {key}-….apkg that the library {taken[key]} built: a package name "
            f"belongs to one library, or each would overwrite the other's. Build this one into another folder "
            f"(-o), or give its package another name (slug = \"…\" in {library.settings_path})"), "error",
            "package-taken"))
    del committed
    record = _with_delivered(record, delivered, present | set(vanished))
    note_types = choose_note_types(decks, record, namespace or created, allow_new_note_type)
    identified = identify_decks(decks, record, note_types, namespace or created, found_homes)
    try:
        rendered = render_decks(identified, library.root, resolver, cache, progress)
    except SourceError as err:  # a topic pattern that runs too long
        return LibraryCheck(library, None, tuple(sorted(diagnostics + [err.diagnostic]))), cache
    plan = plan_build(rendered, record, now, render_cache.RENDER_VERSION, packages, rerender, delivered, settings,
                      namespace or created, proven)
    for deck in identified:
        diagnostics.extend(deck.diagnostics)
    for deck in rendered:
        diagnostics.extend(deck.diagnostics)
    diagnostics.extend(plan.diagnostics)
    slug = library_key(library_decks, settings, library.name) if created and not settings.slug else None
    return LibraryCheck(library, plan, tuple(sorted(diagnostics)), created, new_slug=slug, delivered=delivered), cache


FOREIGN_SHOWN = 20


def _foreign(path: Path, committed: bytes, notes: list) -> list[Diagnostic]:
    """An error at each line of the record that claims a note nothing shows to be this folder's (see
    `ownership`)."""
    found = []
    for note in notes[:FOREIGN_SHOWN]:
        at = re.search(rb'"guid"\s*:\s*"%s"' % re.escape(note.guid.encode("utf-8")), committed)
        found.append(Diagnostic(path, committed.count(b"\n", 0, at.start()) + 1 if at else 0, (
            f"the note {note.guid} ({note.question[:60]!r}) is not this notes folder's: its GUID is none its "
            "namespace makes. A record from someone else could otherwise take over notes another deck has in your "
            "collection, with the next import. If this folder is yours, built elsewhere by a deckgen before 0.3 "
            "and its questions reworded since, build once with --trust-record"), "error", "foreign-note"))
    if len(notes) > FOREIGN_SHOWN:
        found.append(Diagnostic(path, 0, f"and {len(notes) - FOREIGN_SHOWN} more notes that are not this notes "
                                         "folder's", "error", "foreign-note"))
    return found


def _with_delivered(record: IdentityRecord, delivered: Delivered | None, decks: set[str]) -> IdentityRecord:
    """The record, with what this machine delivered since it was written (after a set-back: a revert, a branch
    switch, a checkout of an older commit):

    - the notes of `decks` it delivered that the record no longer knows, with their decks and note types
      where the record lacks them: their questions are matched, or they are marked removed, like any
      recorded note;
    - for a note it delivered with the very content the record holds, but later, that later time (and the
      source line it gave the card): Anki holds the note so, and would skip as older the next change stamped
      from the record's time.
    """
    import msgspec

    from .identify.record import same_delivery

    if delivered is None or not delivered.notes:
        return record
    notes, changed = dict(record.notes), set()
    for guid, last in delivered.notes.items():
        note = notes.get(guid)
        if note is None and last.deck in decks:
            notes[guid] = last
        elif note is not None and last.mtime > note.mtime and same_delivery(last, note):
            notes[guid] = msgspec.structs.replace(note, mtime=last.mtime, source=last.source)
        else:
            continue
        changed.add(guid)
    if not changed:
        return record
    merged = {notes[guid].deck for guid in changed} - set(record.decks)
    deck_records = {**record.decks, **{key: delivered.decks[key] for key in merged if key in delivered.decks}}
    models = {notes[guid].model for guid in changed} | {deck_records[key].model for key in merged
                                                        if key in deck_records}
    note_types = {**record.note_types, **{model: delivered.note_types[model] for model in models
                                          if model not in record.note_types and model in delivered.note_types}}
    lines = dict(record.lines)  # the file's lines of those notes no longer say what the record does
    lines["guid"] = {guid: line for guid, line in lines.get("guid", {}).items() if guid not in changed}
    return replace(record, notes=notes, decks=deck_records, note_types=note_types, lines=lines, tidy=False)


def plan_library(source: Path, output: Path | None = None, now: float | None = None,
                 allow_new_note_type: bool = False, rerender: bool = False, progress=None,
                 trust_record: bool = False) -> LibraryCheck:
    """`check_library`, raising BuildError (with every problem) when any is an error."""
    return _planned(source, *_check(find_library(source, output), output, now, allow_new_note_type, rerender,
                                    progress, trust_record))[0]


def _planned(source: Path, check: LibraryCheck, cache: RenderCache) -> tuple[LibraryCheck, RenderCache]:
    if check.plan is None or any(d.severity == "error" for d in check.diagnostics):
        raise BuildError(list(check.diagnostics))
    if not check.plan.packages:
        raise SourceError(source, 0, "no decks found (Markdown files ending in .md, with ### questions)",
                          "no-decks")
    return check, cache


def build_decks(source: Path, out_dir: Path, now: float | None = None, allow_new_note_type: bool = False,
                rerender: bool = False, progress=None, skip_unchanged: bool = False,
                trust_record: bool = False) -> BuildReport:
    """Build every deck `source` names into `out_dir`.

    1. take the project's lock and clear what a killed build left behind;
    2. with `skip_unchanged`, stop here if nothing a build reads has changed
       since the last one (see `stamp`): the report then says so;
    3. run every stage up to the plan (`plan_library`), stopping before
       anything is written if there is an error;
    4. write the identity record, what this machine delivers (see
       `delivered`), and every package's changelog and new version's package to
       temporary files, then rename them all into place, in that order: a
       build killed in between leaves a record from which the next build
       remakes the very same packages.
    """
    now = time.time() if now is None else now
    library = find_library(source, out_dir)
    output_folder(out_dir)
    with project_lock(library.root):
        if skip_unchanged and not allow_new_note_type and not rerender:
            last = up_to_date(library, out_dir)
            if last is not None:
                return BuildReport(packages=(), diagnostics=(), unchanged=last)
        sources = sources_fingerprint(library)  # before reading: a deck saved meanwhile is a change
        check, cache = _planned(source, *_check(library, out_dir, now, allow_new_note_type, rerender, progress,
                                                trust_record))
        plan = check.plan
        from .output.changelog import changelog_path, updated_changelog
        from .identify.delivered import delivered_path, write_delivered_to
        from .names import package_file_name
        from .places import mark_output_folder, same_path

        # What a killed build of this library left behind: its own files' temporary names only (another
        # library's build may be writing into a shared output folder right now).
        state = delivered_path(library.root)
        for folder, name in ((library.root, library.settings_path.name), (library.record_path.parent, "*"),
                             (state.parent, state.name),
                             *((out_dir, name) for package in plan.packages for name in (
                                 package_file_name(package.key, "*"), changelog_path(out_dir, package.key).name))):
            remove_stale_temporaries(folder, name)
        from .output.package import write_package_to
        from .reading import regular_digest
        from .output.staging import StagedFiles

        built = []
        with StagedFiles() as files:
            if check.new_namespace:  # first: the GUIDs the record will hold derive from it
                from .sources.settings import with_namespace

                _ensure_inside(library.settings_path, library.root, "the notes folder's settings")
                files.stage(library.settings_path, with_namespace(library.settings_path, check.new_namespace,
                                                                  check.new_slug))
            # The record, then what this machine delivers (see `delivered`: a copy of it), put in place before
            # the packages: a build killed in between leaves a record from which the next one remakes the very
            # packages. A package is written unless the output folder holds the very bytes written there.
            _stage_record(files, library, plan.record, plan.previous)
            packages = {}
            for package in plan.packages:
                path = out_dir / package.file_name
                log = changelog_path(out_dir, package.key)
                changelog = updated_changelog(log, package, now)
                if changelog is not None:
                    files.stage(log, changelog.encode("utf-8"), order=2)
                if package.is_new_version or check.delivered is None or not check.delivered.built(path):
                    files.stage(path, partial(write_package_to, package.package), order=2)
                    packages[same_path(path)] = (package.key, regular_digest(files.staged(path) or path))
                built.append(PackageBuild(plan=package, path=path))
            try:
                state.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise DeckgenError(f"cannot write deckgen's state folder {state.parent}: {err.strerror} "
                                   "(DECKGEN_STATE_DIR names another)") from None
            files.stage(state, partial(
                write_delivered_to, previous=check.delivered, root=library.root,
                record=files.staged(library.record_path) or library.record_path,
                written=[(package.key, package.version, package.digest) for package in plan.packages],
                packages=packages, namespace=library.settings.namespace or check.new_namespace or ""), order=1)
            files.commit()
        mark_output_folder(out_dir)  # not staged: other libraries' builds may write it too
        for legacy in check.delivered.legacy if check.delivered is not None else ():  # now in the state folder
            legacy.unlink(missing_ok=True)
        cache.save()
        write_stamp(library, out_dir, sources, sorted({ref.path for b in built for ref in b.plan.package.media}),
                    [b.path for b in built] + [changelog_path(out_dir, b.plan.key) for b in built],
                    [f"{b.plan.name} {b.plan.version}: {summary_line(b.plan)} -> {b.path}" for b in built],
                    [str(d) for d in check.diagnostics if d.severity != "note" and not d.once])
    return BuildReport(packages=tuple(built), diagnostics=check.diagnostics,
                       created_settings=library.settings_path if check.new_namespace else None,
                       delivered_unknown=check.delivered_unknown)


def summary_line(plan: VersionPlan) -> str:
    """How many notes a package holds, in how many decks."""
    decks = f" in {len(plan.decks)} decks" if len(plan.decks) > 1 else ""
    return f"{plan.note_count} notes{decks}"


def _stage_record(files, library: Library, record: IdentityRecord, previous: IdentityRecord) -> None:
    """The identity record, when it changed (or the file is not in order), and the files that go with it."""
    from .identify.record import EMPTY, GITATTRIBUTES, write_record_to

    _ensure_inside(library.record_path, library.root, "the record")
    if record != previous or not previous.tidy or previous is EMPTY:
        files.stage(library.record_path, partial(write_record_to, record, previous=previous))
    attributes = library.record_path.with_name(".gitattributes")
    if not attributes.exists():
        files.stage(attributes, GITATTRIBUTES)
    for path in record.legacy:
        files.remove(path)


def _ensure_inside(path: Path, root: Path, what: str) -> None:
    from .sources.library import link_outside

    if link_outside(path, root):
        raise DeckgenError(f"{path}: a symbolic link leads it outside {root}, where deckgen writes nothing: remove "
                           f"the link, and {what} is written inside the notes folder")


def _orphans(library: Library, recorded: set[str]) -> list[Diagnostic]:
    """For a single file's build: the decks of its folder the record holds notes of whose file is gone
    (renamed or moved, most likely)."""
    present = {deck.key for deck in library.decks}
    gone = sorted(key for key in recorded - present if not (library.root / f"{key}.md").is_file())
    return [Diagnostic(library.record_path, 0, (
        f"the identity record holds the notes of {key}.md, which is not in {library.root} any more. If you "
        "renamed or moved that file, give it its old name back: deckgen does not yet follow a deck file to a new "
        "name, and its notes would be duplicated in Anki; if you deleted it on purpose, delete its notes' lines "
        "(\"deck\":\"" + key + "\") from the record too."), "error", "orphan-identity") for key in gone]
