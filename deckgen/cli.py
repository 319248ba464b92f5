"""The `deckgen` command line: a thin layer over `deckgen.build`.

Exit status: 0 when all went well, 1 for problems in the sources (or a
build that could not be written), 2 for a wrong command line.

Each command imports what it runs when it runs: `deckgen --help` loads none of deckgen's stages, and a build
that finds nothing changed (`output.stamp.last_build`) none of the pipeline.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections import Counter
from pathlib import Path

import click

from .errors import BuildError, DeckgenError, Diagnostic
from .version import __version__

SOURCE = click.argument("source", type=click.Path(path_type=Path), default=Path("source"))
OUTPUT = click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
                      show_default=True, help="Folder of the .apkg files and changelogs (never read as "
                                              "decks).")
NEW_NOTE_TYPE = click.option(
    "--new-note-type", is_flag=True,
    help="Start afresh where a deck's note type would change (e.g. after changing 'cards' in its settings), "
         "which Anki cannot apply to notes it has: every question of that deck becomes a new note, of a note "
         "type Anki adds without forking one, and the notes already imported stay in Anki with their history, "
         "tagged deckgen::replaced. Only for a deliberate fresh start.")
TRUST_RECORD = click.option(
    "--trust-record", is_flag=True,
    help="Take every note the identity record holds as this notes folder's own, even those whose GUIDs do not show "
         "it (see README, Safety): only for your own folder, first built on another machine by a deckgen before "
         "0.3. A record from someone else could take over notes of other decks in your collection.")
FORMAT = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="json: print one JSON object on stdout (also when the command fails: then with \"error\"), for scripts "
         "and editors; README, \"Scripting\", documents its fields.")
STRICT = click.option(
    "--strict", is_flag=True, help="Write nothing when any file has an error. Without it, a deck file with an error "
    "is held at its last good state (its notes as the last build left them; a file never built is left out), the "
    "rest is built, and the exit status is 1.")
PROFILE = click.option(
    "--profile", metavar="NAME", help="The Anki profile whose collection is meant (default: the only one; ANKI_BASE "
    "names the folder Anki keeps its profiles in).")
COLLECTION = click.option(
    "--collection", "collection_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The collection file (collection.anki2), instead of a profile's.")
RERENDER = click.option(
    "--rerender", is_flag=True,
    help="Bring deckgen's current rendering to cards already in Anki: every note whose HTML or tags came out "
         "different from what its last package delivered is updated (and edits made to it in Anki are "
         "overwritten); every file and image is read again. Without it, a new deckgen or rendering library "
         "changes no note.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckgen")
def main() -> None:
    """Turn Markdown notes into Anki decks you can rebuild without losing progress.

    Start with `deckgen build`: it turns every deck in source/ into an .apkg
    in build/ for Anki's File > Import. `deckgen COMMAND --help` tells more.
    """


def run() -> None:
    """The `deckgen` program: `main`, with the collector tuned, exiting without freeing what the commands computed.

    Neither the commands (`_OUTLIVING`) nor the exit free a build's objects one
    by one: that took 0.045 s of a 10,000-note rebuild (measured with
    bench/run.py). By then every file is closed and renamed into place; output
    is flushed, and the exit status is main's (mypy exits the same way).
    """
    global _OUTLIVING
    _OUTLIVING = []
    # The cyclic collector looks less often: what start-up made is set aside (freeze), and a collection comes
    # after 100,000 allocations instead of 700. Measured (bench/run.py's one-edit case, 10,000 questions): a
    # rebuild takes 0.79 s instead of 0.86 s, as with the collector off; rendering 700 HTML-heavy answers in
    # one process peaks at 56 MiB (44 MiB as Python sets it, 95 MiB off: BeautifulSoup's trees are cycles;
    # bench/memory.py).
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        main(prog_name="deckgen")
        code = 0
    except SystemExit as done:
        if not isinstance(done.code, (int, type(None))):
            raise  # a message to print: Python's own exit does that
        code = done.code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: started without one (a closed descriptor, pythonw)
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (deckgen ... | head): nothing more can be said
            pass
    os._exit(code)


@main.command()
@SOURCE
@OUTPUT
@NEW_NOTE_TYPE
@RERENDER
@TRUST_RECORD
@click.option("-v", "--verbose", is_flag=True, help="List every note that changes (renamed ones are always listed), "
              "every warning however many of one kind, and the files without questions.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@STRICT
@FORMAT
def build(source: Path, output: Path, new_note_type: bool, rerender: bool, trust_record: bool, verbose: bool,
          quiet: bool, strict: bool, output_format: str) -> None:
    """Build a library of notes into a versioned .apkg.

    SOURCE is a notes folder (default: source/), or a file or folder inside
    one: the library it is in is built. Its folder tree makes a deck tree, all
    of it in one package, OUTPUT/<slug>-<version>.apkg (or one package per
    top-level folder, with packages = "folder" in its deckgen.toml); open it
    in Anki (File > Import) to add new notes and update changed ones in place,
    with their review history. The identity record, .deckgen/identity.jsonl
    in the library, records what Anki knows the notes by, and its deckgen.toml
    holds the namespace new notes' GUIDs derive from: commit both with your
    notes.
    """
    from .output.stamp import held_back, last_build, library_to_build

    if output_format == "json":  # the whole report, every time: no shortcut through the last build's stamp
        def built():
            from .build import build_library

            return _build_json(build_library(source, library_to_build(source, output),
                                             allow_new_note_type=new_note_type, rerender=rerender,
                                             trust_record=trust_record, strict=strict))
        return _json_command(built)
    library = _run(lambda: library_to_build(source, output), quiet, after_errors="; nothing was written")
    last = last_build(library, new_note_type, rerender)
    if last is not None and not (strict and held_back(last)):  # nothing read or written has changed: nothing to
        # do, and nothing is written (with --strict and files held back, the build stops, saying so)
        _echo_unchanged(last, quiet)
        return _echo_held(held_back(last))
    from .build import build_library

    with _Progress(enabled=not quiet) as progress:  # the library found once: a large one is walked once
        report = _run(lambda: build_library(source, library, allow_new_note_type=new_note_type, rerender=rerender,
                                            progress=progress, trust_record=trust_record, strict=strict),
                      quiet, after_errors="; nothing was written")
    _echo_diagnostics([d for d in report.diagnostics if d not in report.held], quiet, verbose)
    if not quiet:
        _echo_built(report, verbose)
    _echo_held(report.held)


def _echo_unchanged(last: dict, quiet: bool) -> None:
    """What a build that finds nothing changed says: the last build's warnings and lines (see `stamp`)."""
    for line in ([] if quiet else last["warnings"] + [f"{line} (nothing changed)" for line in last["lines"]]):
        click.echo(line, err=line in last["warnings"])


def _echo_held(held) -> None:
    """The errors that held files back, last, where they are seen; then exit status 1."""
    if not held:
        return
    files = sorted({d.path for d in held})
    click.echo(f"held back {len(files)} file(s) with errors, at their last good state (their notes as the last "
               "build left them; a file never built is left out); everything else is built. Fix these and build "
               "again (--strict writes nothing while any file has an error):", err=True)
    for diagnostic in held:
        click.echo(str(diagnostic), err=True)
    raise SystemExit(1)


def _echo_built(report, verbose: bool) -> None:
    from .plan.model import summary_line

    if report.created_settings is not None:
        click.echo(f"wrote {report.created_settings}: this notes folder's namespace, which keeps the GUIDs of its "
                   "new notes its own; commit it with your notes")
    if report.delivered_unknown:
        _echo_delivered_unknown()
    for built in report.packages:
        plan = built.plan
        click.echo(f"{plan.name} {plan.version}: {summary_line(plan)} ({_summary(plan)}) -> {built.path}")
        # Every rename deckgen inferred is said, since it decides whose review history a question carries.
        _echo_changes(plan, kinds=None if verbose else ("renamed",))
        _echo_hints(plan, verbose)


@main.command()
@SOURCE
@OUTPUT
@NEW_NOTE_TYPE
@RERENDER
@TRUST_RECORD
@FORMAT
def diff(source: Path, output: Path, new_note_type: bool, rerender: bool, trust_record: bool,
         output_format: str) -> None:
    """Show what the next build would change, writing nothing.

    For each package of the library SOURCE names (default: source/): the version the build would
    make, and which notes would be new, changed, renamed, restored, removed
    or left unchanged, against the last build recorded in the identity
    record, and whether the note type changes.
    """
    from .build import plan_library

    def planned():
        return plan_library(source, output=output, allow_new_note_type=new_note_type, rerender=rerender,
                            trust_record=trust_record)

    if output_format == "json":
        return _json_command(lambda: _diff_json(planned()))
    check = _run(planned, quiet=False)
    _echo_diagnostics([d for d in check.diagnostics if d not in check.held], quiet=False)
    if check.new_namespace:
        click.echo(f"{check.library.settings_path}: the build writes this notes folder's namespace into it")
    if check.delivered_unknown:
        _echo_delivered_unknown()
    for plan in check.plan.packages:
        click.echo(f"{plan.name}: {plan.previous_version or 'not built yet'} -> {plan.version}")
        click.echo(f"  {_summary(plan)}; note type: {plan.note_type_change or 'unchanged'}")
        if plan.descriptions_changed:
            click.echo(f"  description changed: {', '.join(plan.descriptions_changed)}")
        _echo_changes(plan)
        _echo_hints(plan, verbose=True)
    _echo_held(check.held)


@main.command()
@SOURCE
@OUTPUT
@PROFILE
@COLLECTION
@STRICT
@FORMAT
@click.option("--overwrite-anki-edits", "overwrite", is_flag=True,
              help="Deliver the newest packages again, updating also the notes whose copy in Anki is newer than the "
                   "package (edited in Anki after the build, or rewritten by a note-type change made there): "
                   "what was edited in Anki is overwritten by what the source says.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
def sync(source: Path, output: Path, profile: str | None, collection_path: Path | None, strict: bool,
         output_format: str, overwrite: bool, quiet: bool) -> None:
    """Build, then bring an Anki collection up to date, keeping what Anki owns.

    Anki must be closed (deckgen opens the collection itself, with the anki
    package: pip install 'deckgen[anki]'). The library SOURCE names is built
    as `deckgen build` builds it; then its newest packages are imported with
    Anki's own importer and fixed, safe options, after a backup Anki's File >
    Switch Profile > Open Backup lists. When Anki's verdict is that a note
    would not be updated, or every device would need a full sync, the import
    is undone and nothing changes. Otherwise: the tags you or Anki put on
    notes (marked, leech, your own) stay, cards of questions moved to another
    deck move with them, cards of removed questions are suspended (setting
    suspend_removed), and Anki's Import dialog keeps your defaults.
    """
    from .build import sync_library
    from .deliver.profiles import find_target
    from .output.stamp import library_to_build

    def synced():
        library = library_to_build(source, output)
        return sync_library(source, library, find_target(profile, collection_path), strict=strict,
                            overwrite=overwrite)

    if output_format == "json":
        return _json_command(lambda: _sync_json(*synced()))
    built, delivery = _run(synced, quiet, after_errors="; nothing was written")
    done = SYNC_DOES if delivery.stopped is None else ()  # the hands-on steps they give, sync has taken
    _echo_diagnostics([d for d in built.diagnostics if d not in built.held and d.code not in done], quiet,
                      verbose=False)
    if built.unchanged is not None:
        _echo_unchanged(built.unchanged, quiet)
    elif not quiet:
        _echo_built(built, verbose=False)
    _echo_delivery(delivery, quiet)
    _echo_held(built.held)
    if delivery.stopped:
        raise SystemExit(1)


SYNC_DOES = ("deck-changed",)
"""Warnings that tell what to do in Anki by hand after an import (move cards), which sync does. `[restored]` is
still said: sync unsuspends only what it suspended itself."""


def _echo_delivery(delivery, quiet: bool) -> None:
    for problem in delivery.problems:
        click.echo(f"{delivery.collection}: warning: ignored a config value that is no deckgen ledger: {problem}",
                   err=True)
    if delivery.up_to_date:
        if not quiet:
            click.echo(f"{delivery.collection}: up to date (it holds every package's newest version)")
        return
    if delivery.backup and not quiet:
        click.echo(f"backup: {delivery.backup}")
    for package in delivery.packages:
        what = f"{package.previous} -> {package.version}" if package.previous else f"{package.version} (first sync)"
        if delivery.stopped:
            _echo_notes(package.conflicts, "not updated by Anki")
            continue
        if not quiet:
            click.echo(f"{package.key} {what} -> {delivery.collection}: {_delivery_summary(package)}")
        if package.kept and not quiet:
            click.echo(f"warning: Anki kept its own copy of {len(package.kept)} note(s) the source changed: theirs "
                       "is newer than the package (edited in Anki after the build, or rewritten by a change to the "
                       "note type made there). `deckgen sync --overwrite-anki-edits` replaces them with what the "
                       "source says:", err=True)
            _echo_notes(package.kept, "kept as Anki has it")
        if package.overwritten:
            click.echo(f"warning: the edits made in Anki to {len(package.overwritten)} note(s) were replaced by what "
                       "the source says (--overwrite-anki-edits; the backup above holds them):", err=True)
            _echo_notes(package.overwritten, "edit made in Anki overwritten")
        if package.edited and not quiet:
            click.echo(f"  {package.edited} note(s) edited in Anki, their source unchanged, keep their edits: "
                       "`deckgen pull` brings them into the Markdown")
    if delivery.gone and not quiet:
        click.echo(f"  {delivery.gone} card(s) suspended whose notes no package carries any more (removed from the "
                   "source long before this collection got a package marking them removed)")
    if delivery.stopped:
        click.echo(f"Error: {delivery.stopped}", err=True)


def _echo_notes(notes, what: str) -> None:
    for note in notes[:SUMMARY_LIMIT]:
        click.echo(f"  {note.source}: {what}: {note.question}", err=True)
    if len(notes) > SUMMARY_LIMIT:
        click.echo(f"  ... and {len(notes) - SUMMARY_LIMIT} more (--format json lists them all)", err=True)


def _delivery_summary(package) -> str:
    parts = [f"{package.new} new", f"{package.updated} updated", f"{package.unchanged} unchanged"]
    parts += [f"{count} {what}" for count, what in (
        (package.moved, "card(s) moved"), (package.suspended, "card(s) suspended"),
        (package.restored, "card(s) unsuspended"), (package.tags_kept, "note(s) kept their own tags")) if count]
    return ", ".join(parts)


@main.command()
@SOURCE
@OUTPUT
@PROFILE
@COLLECTION
@FORMAT
@click.option("-v", "--verbose", is_flag=True, help="List every note of each kind, not the first 20.")
def status(source: Path, output: Path, profile: str | None, collection_path: Path | None, output_format: str,
           verbose: bool) -> None:
    """Show what an Anki collection holds of the library, writing nothing.

    For each note of the library SOURCE names (default: source/): whether
    Anki holds what deckgen delivered last, an edit made in Anki since (and
    in which fields), a change in the source not delivered yet, or both (a
    conflict, shown in its three versions); then notes missing from the
    collection, removed notes whose cards are not suspended, cards in
    another deck than their question's, notes whose note type was changed in
    Anki, and which version of each package the collection holds. Anki must
    be closed: it keeps its collection locked while it runs.
    """
    from .build import status_of_library
    from .deliver.profiles import find_target
    from .sources.library import find_library

    def compared():
        return status_of_library(source, find_library(source, output), find_target(profile, collection_path))

    if output_format == "json":
        return _json_command(lambda: _status_json(compared()[1]))
    check, found = _run(compared, quiet=False)
    _echo_diagnostics([d for d in check.diagnostics if d.severity == "error"], quiet=False)
    _echo_status(found, verbose)


@main.command()
@SOURCE
@OUTPUT
@PROFILE
@COLLECTION
@click.option("--dry-run/--write", "dry_run", default=True, show_default=True,
              help="Show the edits as a diff (the default), or write them into the Markdown.")
@click.option("--allow-dirty", is_flag=True, help="Write also into files with changes git has not committed.")
@click.option("--take-anki", is_flag=True,
              help="Settle each conflict (a note edited in Anki whose source changed too) for Anki's copy: it "
                   "replaces what the source says now.")
@FORMAT
def pull(source: Path, output: Path, profile: str | None, collection_path: Path | None, dry_run: bool,
         allow_dirty: bool, take_anki: bool, output_format: str) -> None:
    """Bring edits made in Anki into the Markdown, in place.

    Each note of the library SOURCE names (default: source/) that was edited
    in Anki since deckgen delivered it, and whose source has not changed
    since, gets the change made in Anki (not Anki's whole field) at its
    question's lines; each edit is checked by rendering it again, and one that
    does not render to what Anki holds is listed as needing a hand edit, with
    both versions. Shown as a diff first; --write writes the files, and
    records when Anki made each edit, so that the next sync leaves that
    collection's copy as it is and brings the edit to every other one. Files
    with uncommitted changes are left alone (--allow-dirty). A note changed
    on both sides is a conflict: shown, never settled unless --take-anki.
    Anki must be closed.
    """
    from .build import pull_library
    from .deliver.profiles import find_target

    def pulled():
        return pull_library(source, output, find_target(profile, collection_path), write=not dry_run,
                            allow_dirty=allow_dirty, take_anki=take_anki)[1]

    if output_format == "json":
        return _json_command(lambda: _pull_json(pulled()))
    report = _run(pulled, quiet=False)
    _echo_pull(report, dry_run)


def _echo_pull(report, dry_run: bool) -> None:
    import difflib

    from .deliver.pull import edited_files

    files = edited_files(report) if dry_run else {}
    for path, (before, after) in files.items():
        click.echo("".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                                f"{path}", f"{path}", n=1)), nl=False)
    for note, why in report.by_hand:
        click.echo(f"{note.source}: needs a hand edit: {why}: {note.question}", err=True)
        _echo_three_versions(note, sides=("delivered", "in Anki"), field=0 if "Answer" not in note.fields else 1)
    for note in report.dirty:
        click.echo(f"{note.source}: left alone: its file has changes git has not committed (--allow-dirty): "
                   f"{note.question}", err=True)
    taken = {pulled.note.guid for pulled in report.pulled}
    conflicts = [note for note in report.status.notes if note.state == "conflict" and note.guid not in taken]
    for note in conflicts:
        click.echo(f"{note.source}: conflict, not pulled (edited in Anki, and changed in the source): "
                   f"{note.question}", err=True)
        _echo_three_versions(note)
    if conflicts:
        click.echo("To keep the source's version: `deckgen sync --overwrite-anki-edits`; to keep Anki's: `deckgen "
                   "pull --take-anki --write`", err=True)
    done = "to write into" if dry_run else "written into"
    click.echo(f"{len(report.pulled)} edit(s) made in Anki {done} the Markdown, {len(report.by_hand)} needing a "
               f"hand edit, {len(conflicts)} conflict(s)" + (f", {len(report.dirty)} left alone" if report.dirty
                                                              else ""))
    if dry_run and report.pulled:
        click.echo("deckgen pull --write writes them; the next deckgen sync then updates the other collections")


def _pull_json(report) -> dict:
    from .deliver.pull import edited_files

    files = edited_files(report) if not report.written else {}
    return {"ok": True, "written": report.written,
            "pulled": [{"question": p.note.question, "source": p.note.source, "fields": list(p.note.fields),
                        "before": p.before, "after": p.after} for p in report.pulled],
            "files": sorted(str(path) for path in files) if files else sorted({str(p.path) for p in report.pulled}),
            "by_hand": [{"question": n.question, "source": n.source, "why": why} for n, why in report.by_hand],
            "dirty": [{"question": n.question, "source": n.source} for n in report.dirty],
            "conflicts": [{"question": n.question, "source": n.source, "delivered_markdown": n.delivered_markdown,
                           "source_markdown": n.source_markdown}
                          for n in report.status.notes if n.state == "conflict"]}


STATE_WORDS = {"delivered": "as delivered", "edited": "edited in Anki", "changed": "changed in the source",
               "conflict": "conflicts", "missing": "missing from the collection",
               "pending": "holding an earlier version"}


def _echo_status(found, verbose: bool) -> None:
    import time

    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.synced)) if found.synced else None
    earlier = "synced by an earlier deckgen, which did not record when" if any(p.held for p in found.packages) \
        else "no deckgen sync recorded"
    click.echo(f"{found.collection}: " + (f"last synced {when}" if when else earlier))
    for package in found.packages:
        click.echo(f"  {package.key}: Anki holds {package.held or 'no synced version'}; last built "
                   f"{package.built or 'never'}" + (f"; the next build makes {package.next}"
                                                     if package.next != package.built else ""))
    click.echo(f"{len(found.notes)} notes: " + ", ".join(
        f"{count} {STATE_WORDS[state]}" for state, count in found.counts.items() if count or state == "delivered"))
    limit = None if verbose else SUMMARY_LIMIT
    for state, say in (("edited", "edited in Anki"), ("conflict", "conflict"), ("changed", "changed in the source"),
                       ("missing", "not in the collection"), ("pending", "an earlier version in Anki")):
        notes = [note for note in found.notes if note.state == state]
        for note in notes[:limit]:
            fields = f" ({', '.join(note.fields)})" if note.fields else ""
            click.echo(f"  {note.source}: {say}{fields}: {note.question}")
            if state == "conflict":
                _echo_three_versions(note)
        if limit is not None and len(notes) > limit:
            click.echo(f"  ... and {len(notes) - limit} more {say} (-v lists them all)")
    for note in found.removed_active:
        what = "edited in Anki since it was delivered (copy what you want to keep into the Markdown)" \
            if note.fields else "its cards not suspended"
        click.echo(f"  {note.source}: removed from the source, {what}: {note.question}")
    for flag, say in (("misplaced", "a card in another deck than its question's (deckgen sync moves it)"),
                      ("note_type_changed", "its note type was changed in Anki: Anki refuses every update of it")):
        for note in [note for note in found.notes if getattr(note, flag)][:limit]:
            click.echo(f"  {note.source}: {say}: {note.question}")
    edited = found.counts.get("edited", 0)
    if edited:
        click.echo(f"`deckgen pull` shows how the {edited} edit(s) made in Anki would go into the Markdown "
                   "(`--write` writes them)")
    if found.counts.get("conflict"):
        click.echo("A conflict is never settled by deckgen alone: to keep the source's version, `deckgen sync "
                   "--overwrite-anki-edits`; to keep Anki's, `deckgen pull --take-anki --write`")


def _echo_three_versions(note, sides=("delivered", "in Anki", "source"), field: int = 1) -> None:
    """A note's answer (`field` 1; 0: its question) as deckgen delivered it, as Anki holds it (as Markdown), and as
    the source says now."""
    from .deliver.edits import as_markdown

    anki = as_markdown(note.anki[field]) if len(note.anki) > field else ""
    texts = {"delivered": note.delivered_markdown, "in Anki": anki, "source": note.source_markdown}
    if field == 0:
        texts["delivered"] = as_markdown(note.delivered[0]) if note.delivered else ""
    for label, text in ((side, texts[side]) for side in sides):
        lines = (text or "").splitlines() or [""]
        click.echo(f"      {label + ':':<10} {lines[0]}")
        for line in lines[1:]:
            click.echo(f"      {'':<10} {line}")


def _status_json(found) -> dict:
    def note_json(note):
        return {"state": note.state, "question": note.question, "source": note.source, "package": note.package,
                "fields": list(note.fields), "note_type_changed": note.note_type_changed,
                "misplaced": note.misplaced, "delivered_markdown": note.delivered_markdown,
                "source_markdown": note.source_markdown}

    return {"ok": True, "collection": found.collection, "synced": found.synced or None, "counts": found.counts,
            "packages": [{"key": p.key, "held": p.held, "built": p.built, "next": p.next} for p in found.packages],
            "notes": [note_json(note) for note in found.notes
                      if note.state != "delivered" or note.misplaced or note.note_type_changed],
            "removed_active": [note_json(note) for note in found.removed_active]}


@main.command()
@SOURCE
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="Folder the preview pages are written to (never read as decks).")
@click.option("--open", "open_page", is_flag=True, help="Open the page(s) in the web browser.")
def preview(source: Path, output: Path, open_page: bool) -> None:
    """Write a page showing every card of each deck, as Anki will.

    One self-contained HTML file per package (every deck of the library, or
    of a top-level folder), OUTPUT/<slug>-preview.html, with every card's
    front and back in its deck's own style, a night-mode and a
    phone-width switch, and filters by tag and text. Nothing is loaded from
    the network; math is shown as its TeX source (Anki typesets it). The
    identity record is not touched.
    """
    import webbrowser

    from .build import plan_library
    from .output.preview import preview_page
    from .output.staging import atomic_write
    from .places import output_folder, preview_path

    _run(lambda: output_folder(output), quiet=False)
    check = _run(lambda: plan_library(source, output=output, strict=True), quiet=False)  # all the cards, or none
    _echo_diagnostics(check.diagnostics, quiet=False)
    for plan in check.plan.packages:
        path = preview_path(output, plan.key)
        _run(lambda: atomic_write(path, preview_page(plan).encode("utf-8")), quiet=False)
        click.echo(f"{plan.name}: {len(plan.package.notes)} notes -> {path}")
        if open_page:
            webbrowser.open(path.resolve().as_uri())


@main.command()
@SOURCE
@OUTPUT
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit status 1).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one object with a list of diagnostics, for editors and CI.")
@NEW_NOTE_TYPE
@TRUST_RECORD
@click.option("-v", "--verbose", is_flag=True, help="List every diagnostic, however many of one kind there are.")
def check(source: Path, output: Path, strict: bool, output_format: str, new_note_type: bool, trust_record: bool,
          verbose: bool) -> None:
    """Report problems and cards, writing nothing.

    Every problem a build would meet, and the cards it would make.

    Lists all diagnostics at once, sorted, as path:line:col: severity:
    message [code], notes too (such as images the cards load from the
    network, or files without questions), then each file's questions and
    cards. Exit status 1 when there are errors (or, with --strict,
    warnings), else 0. With --format json it always prints one JSON object,
    even when the source cannot be read at all.
    """
    from .output.stamp import last_check
    from .sources.library import find_library

    def run_check():
        library = find_library(source, output)
        kept = last_check(library, new_note_type, trust_record)  # nothing changed since the last build
        if kept is not None:
            return kept
        from .build import check_report

        return check_report(library, new_note_type, trust_record)

    if output_format == "json":  # always JSON, even when the source cannot be read at all
        try:
            check = run_check()
        except (DeckgenError, OSError) as err:
            check = None
            fatal = getattr(err, "diagnostic", None) or Diagnostic(source, 0, str(err), "error", "fatal")
    else:
        check = _run(run_check, quiet=False)
    diagnostics, files = (list(check.diagnostics), check.files) if check else ([fatal], [])
    if strict:
        diagnostics = [d.as_error() for d in diagnostics]
    errors = sum(d.severity == "error" for d in diagnostics)
    notes = sum(d.severity == "note" for d in diagnostics)
    warnings = len(diagnostics) - errors - notes
    if output_format == "json":
        click.echo(json.dumps({"ok": not errors, "errors": errors, "warnings": warnings, "notes": notes,
                               "diagnostics": [d.to_json() for d in diagnostics],
                               "files": [{"path": str(path), "questions": questions, "cards": cards,
                                          "description": described}
                                         for path, questions, cards, described in files]}, ensure_ascii=False,
                              indent=2))
    else:
        for line in _summarised(diagnostics, verbose):
            click.echo(line)
        for path, questions, cards, described in files:
            click.echo(f"{path}: {questions} question(s), {cards} card(s)"
                       + (f", {described:,} characters of description" if described else ""))
        click.echo(f"{errors} error(s), {warnings} warning(s)" + (f", {notes} note(s)" if notes else "")
                   + (f"; {sum(f[2] for f in files)} card(s) from {len(files)} file(s)" if files else ""), err=True)
    if errors:
        raise SystemExit(1)


class _Progress:
    """A progress bar for long renders, on a terminal only; `progress(done, total)` as render_decks calls it."""

    MIN_TOTAL = 2000

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar, self.done = None, 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.MIN_TOTAL or done >= total and self.bar is None:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Rendering", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


_OUTLIVING: list | None = None  # in the deckgen program, what its commands computed, left to the exit to free (see run)


def _run(action, quiet: bool, after_errors: str = ""):
    try:
        result = action()
        if _OUTLIVING is not None:
            _OUTLIVING.append(result)
        return result
    except BuildError as err:
        _echo_diagnostics(err.diagnostics, quiet)
        raise click.ClickException(str(err) + after_errors) from None
    except DeckgenError as err:
        raise click.ClickException(str(err)) from None
    except OSError as err:  # an output folder that cannot be written, a full disk
        raise click.ClickException(f"{err.filename or ''}: {err.strerror or err}".lstrip(": ")) from None
    except KeyboardInterrupt:  # Ctrl-C: files are written aside and renamed into place at the end (`staging`)
        click.echo("interrupted: what earlier builds wrote is intact; run the command again to finish", err=True)
        sys.exit(130)  # 128 + SIGINT, as shells report it: not 1, which says the sources have problems


SUMMARY_LIMIT = 20
"""Diagnostics of one kind listed before the rest are summarised in one line (all of them with -v)."""


def _echo_diagnostics(diagnostics, quiet: bool, verbose: bool = False) -> None:
    """Errors and warnings (only errors when `quiet`); notes are for `deckgen check`, and counted here."""
    shown = [d for d in diagnostics if d.severity == "error" or (not quiet and d.severity == "warning")]
    for line in _summarised(shown, verbose):
        click.echo(line, err=True)
    empty = sum(d.code == "no-questions" for d in diagnostics)
    if empty and not quiet:
        click.echo(f"{empty} Markdown file(s) without questions, not made into decks"
                   + ("" if verbose else " (-v lists them)"), err=True)
        if verbose:
            for diagnostic in diagnostics:
                if diagnostic.code == "no-questions":
                    click.echo(f"  {diagnostic.path}", err=True)


def _summarised(diagnostics, verbose: bool) -> list[str]:
    """The diagnostics' lines (errors always all of them): a warning or note of one kind said once a file, with
    how many more there are, and those of a kind past the first SUMMARY_LIMIT folded into one line per kind.
    What a build changes (`Diagnostic.once`: a note whose answer changes, a renamed deck) is listed as it is."""
    lines, listed, left = [], {}, {}
    repeated = Counter() if verbose else Counter(
        (d.path, d.code) for d in diagnostics if d.severity != "error" and d.code and not d.once)
    said_in_file = set()
    for diagnostic in diagnostics:
        code = diagnostic.code
        again = repeated[diagnostic.path, code] - 1 if diagnostic.severity != "error" and not diagnostic.once else 0
        if again > 0:
            if (diagnostic.path, code) in said_in_file:
                continue
            said_in_file.add((diagnostic.path, code))
        if verbose or diagnostic.severity == "error" or listed.get(code, 0) < SUMMARY_LIMIT:
            lines.append(str(diagnostic) + (f" (and {again} more in this file: -v lists them)" if again > 0 else ""))
            listed[code] = listed.get(code, 0) + 1
        else:
            left[code] = left.get(code, 0) + 1 + max(again, 0)  # and those said with it
    lines += [f"... and {count} more [{code}] (-v lists them all)" for code, count in left.items()]
    return lines


def _echo_delivered_unknown() -> None:
    click.echo("note: this machine has no record of building this notes folder before (a fresh clone?), so this "
               "build goes by the identity record alone. If the notes were set back (git revert, or a checkout of an "
               "older commit or another branch) after a build made elsewhere, this build cannot see it: questions "
               "that build added stay unmarked in Anki instead of marked removed, and notes it changed are not "
               "changed back until they are next edited (see README, Identities, \"Going back\")")


def _echo_changes(plan, kinds: tuple[str, ...] | None = None) -> None:
    for change in plan.changes:
        if kinds is not None and change.kind not in kinds:
            continue
        what = f"{change.previous_question} -> {change.question}" if change.previous_question else change.question
        click.echo(f"  {change.kind:<8} {change.source}  {what}")


def _echo_hints(plan, verbose: bool) -> None:
    cleaned = sum(change.cleaned for change in plan.changes)
    if cleaned:
        click.echo(f"  {cleaned} note(s) delivered again: deckgen's cleaning now removes what Anki would run, load "
                   "or act on in them (the changelog lists them; edits made to them in Anki are overwritten)")
    reverted = sum(change.reverted for change in plan.changes)
    if reverted:
        click.echo(f"  {reverted} note(s) differ from what the last build here delivered (a revert, or another "
                   "branch): delivered again, later, so that Anki goes back to what the source says")
    if verbose and plan.removed_dropped:
        click.echo(f"  {plan.removed_dropped} removed note(s) no longer carried in the package (past "
                   "keep_removed_versions and keep_removed_days); their GUIDs stay reserved")
    if plan.rerender_pending:
        click.echo(f"  {plan.rerender_pending} note(s) would look different with this deckgen's rendering; "
                   "`deckgen build --rerender` updates them in Anki (overwriting edits made to them there)")


def _summary(plan) -> str:
    if plan.previous_version is None:
        return "first build"
    return ", ".join(f"{count} {kind}" for kind, count in plan.change_counts.items() if count or kind == "unchanged")


def _json_command(action) -> None:
    """Print the JSON object `action` returns, or, when it fails, one saying why; exit status 1 unless "ok"."""
    try:
        result = action()
    except BuildError as err:
        result = {"ok": False, "error": str(err) + "; nothing was written",
                  "diagnostics": [d.to_json() for d in err.diagnostics]}
    except DeckgenError as err:
        found = getattr(err, "diagnostic", None)
        result = {"ok": False, "error": str(err), "diagnostics": [found.to_json()] if found else []}
    except OSError as err:
        result = {"ok": False, "error": f"{err.filename or ''}: {err.strerror or err}".lstrip(": "), "diagnostics": []}
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    if not result["ok"]:
        raise SystemExit(1)


def _package_json(plan, path: Path | None = None) -> dict:
    found = {"key": plan.key, "name": plan.name, "version": plan.version, "previous_version": plan.previous_version,
             "notes": plan.note_count, "decks": [part.name for part in plan.decks],
             "note_type_change": plan.note_type_change, "counts": plan.change_counts,
             "descriptions_changed": plan.descriptions_changed,
             "changes": [{"kind": c.kind, "question": c.question, "source": c.source,
                          "previous_question": c.previous_question} for c in plan.changes],
             "rerender_pending": plan.rerender_pending}
    return {**found, "path": str(path)} if path is not None else found


def _diff_json(check) -> dict:
    return {"ok": not check.held, "diagnostics": [d.to_json() for d in check.diagnostics],
            "held": [d.to_json() for d in check.held],
            "packages": [_package_json(plan) for plan in check.plan.packages]}


def _build_json(report) -> dict:
    return {"ok": not report.held, "nothing_changed": report.unchanged is not None,
            "diagnostics": [d.to_json() for d in report.diagnostics], "held": [d.to_json() for d in report.held],
            "created_settings": str(report.created_settings) if report.created_settings else None,
            "packages": [_package_json(built.plan, built.path) for built in report.packages]}


def _sync_json(built, delivery) -> dict:
    build = _build_json(built)
    return {"ok": build["ok"] and delivery.stopped is None, "build": build,
            "collection": str(delivery.collection), "backup": str(delivery.backup) if delivery.backup else None,
            "up_to_date": delivery.up_to_date, "stopped": delivery.stopped, "problems": list(delivery.problems),
            "gone": delivery.gone,
            "packages": [{"key": p.key, "version": p.version, "previous_version": p.previous, "new": p.new,
                          "updated": p.updated, "unchanged": p.unchanged, "moved": p.moved, "suspended": p.suspended,
                          "restored": p.restored, "tags_kept": p.tags_kept, "edited": p.edited,
                          "conflicting": p.conflicting,
                          "conflicts": [{"question": c.question, "source": c.source} for c in p.conflicts],
                          "kept": [{"question": c.question, "source": c.source} for c in p.kept],
                          "overwritten": [{"question": c.question, "source": c.source} for c in p.overwritten]}
                         for p in delivery.packages]}
