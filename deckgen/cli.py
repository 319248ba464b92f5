"""The `deckgen` command line: a thin layer over `deckgen.build`."""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__

SOURCE = click.argument("source", type=click.Path(path_type=Path), default=Path("source"))
NEW_NOTE_TYPE = click.option(
    "--new-note-type", is_flag=True,
    help="Accept a note type whose fields or cards changed. Anki then makes a second note type and "
         "never updates the notes already imported: only for a deliberate fresh start.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckgen")
def main() -> None:
    """Turn Markdown notes into Anki decks you can rebuild without losing progress."""


@main.command()
@SOURCE
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="Folder the .apkg files and changelogs are written to.")
@NEW_NOTE_TYPE
def build(source: Path, output: Path, new_note_type: bool) -> None:
    """Build each deck into a versioned .apkg.

    SOURCE is a folder of Markdown decks (default: source/) or one .md file.
    Each deck becomes OUTPUT/<slug>-<version>.apkg; open it in Anki (File >
    Import) to add new notes and update changed ones in place, with their
    review history. The identity file beside each deck (<deck>.identity.jsonl)
    records what Anki knows the notes by: commit it with your notes.
    """
    from .build import build_decks

    report = _run(lambda: build_decks(source, output, allow_new_note_type=new_note_type))
    _echo_diagnostics(report.diagnostics)
    for deck in report.decks:
        plan = deck.plan
        click.echo(f"{plan.identity.name} {plan.version}: {len(plan.deck.notes)} notes "
                   f"({_summary(plan)}) -> {deck.path}")


@main.command()
@SOURCE
@NEW_NOTE_TYPE
def diff(source: Path, new_note_type: bool) -> None:
    """Show what the next build would change, writing nothing.

    For each deck in SOURCE (default: source/): the version the build would
    make, and which notes would be new, changed, renamed, restored, removed
    or left unchanged, against the last build recorded in the deck's
    identity file, and whether the note type changes.
    """
    from .build import plan_decks

    plans, diagnostics = _run(lambda: plan_decks(source, allow_new_note_type=new_note_type))
    _echo_diagnostics(diagnostics)
    for plan in plans:
        before = plan.previous.version if plan.previous else "not built yet"
        click.echo(f"{plan.identity.name}: {before} -> {plan.version}")
        click.echo(f"  {_summary(plan)}; note type: {plan.note_type_change or 'unchanged'}")
        for change in plan.changes:
            what = f"{change.previous_question} -> {change.question}" if change.previous_question else change.question
            click.echo(f"  {change.kind:<8} {change.source}  {what}")


def _run(action):
    from .build import BuildError
    from .errors import DeckgenError

    try:
        return action()
    except BuildError as err:
        _echo_diagnostics(err.diagnostics)
        raise click.ClickException(str(err)) from None
    except DeckgenError as err:
        raise click.ClickException(str(err)) from None
    except OSError as err:  # an output folder that cannot be written, a full disk
        raise click.ClickException(f"{err.filename or ''}: {err.strerror}".lstrip(": ")) from None


def _echo_diagnostics(diagnostics) -> None:
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)


def _summary(plan) -> str:
    if plan.previous is None:
        return "first build"
    counts = {}
    for change in plan.changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    parts = [f"{counts[kind]} {kind}" for kind in ("new", "changed", "renamed", "restored", "removed") if kind in counts]
    parts.append(f"{plan.unchanged} unchanged")
    return ", ".join(parts)
