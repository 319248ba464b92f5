"""The `deckgen` command line: a thin layer over `deckgen.build`."""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckgen")
def main() -> None:
    """Turn Markdown notes into Anki decks you can rebuild without losing progress."""


@main.command()
@click.argument("source", type=click.Path(path_type=Path), default=Path("source"))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="Folder the .apkg files are written to.")
def build(source: Path, output: Path) -> None:
    """Build each deck into a versioned .apkg.

    SOURCE is a folder of Markdown decks (default: source/) or one .md file.
    Each deck becomes OUTPUT/<slug>-<version>.apkg; open it in Anki (File >
    Import) to add the notes or update the ones you imported before.
    """
    from .build import BuildError, build_decks
    from .errors import DeckgenError

    try:
        report = build_decks(source, output)
    except BuildError as err:
        for diagnostic in err.diagnostics:
            click.echo(str(diagnostic), err=True)
        raise click.ClickException(str(err)) from None
    except DeckgenError as err:
        raise click.ClickException(str(err)) from None
    for diagnostic in report.diagnostics:
        click.echo(str(diagnostic), err=True)
    for deck in report.decks:
        click.echo(f"{deck.deck_name}: {deck.notes} notes -> {deck.path}")
