from click.testing import CliRunner

from deckgen import __version__
from deckgen.cli import main

from conftest import write_deck


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_every_command_has_help():
    result = run("--help")
    assert result.exit_code == 0
    for command in main.commands:
        sub = run(command, "--help")
        summary = main.commands[command].help.split("\n")[0]
        assert sub.exit_code == 0 and summary in sub.output and summary.strip()


def test_version():
    assert run("--version").output == f"deckgen, version {__version__}\n"


def test_build_prints_notes_path_and_warnings(tmp_path):
    write_deck(tmp_path / "src", "deck", "### Q?\nA.\n### Empty?\n### Q?\nB.\n", 'name = "My deck"\nversion = "2.1.0"\n')
    result = CliRunner().invoke(main, ["build", str(tmp_path / "src"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    deck = tmp_path / "src" / "deck.md"
    assert result.stderr == (f"{deck}:3: warning: question has no answer: Empty?\n"
                             f"{deck}:4: warning: duplicate question (also at line 1): Q?\n")
    assert result.stdout == f"My deck 2.1.0: 3 notes (first build) -> {tmp_path / 'out' / 'deck-2.1.0.apkg'}\n"


def test_source_error_exits_1_without_traceback_and_writes_nothing(tmp_path):
    write_deck(tmp_path / "src", "deck", "### Q?\nA.\n", "name = 'D'\nversion = 'one'\n")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output == (f"{tmp_path / 'src' / 'deck.deck.toml'}:2: error: invalid version 'one': "
                             "expected MAJOR.MINOR.PATCH, e.g. 1.0.0\n"
                             "Error: 1 error(s) in the sources; nothing was written\n")
    assert not (tmp_path / "out").exists()


def test_missing_source_folder(tmp_path):
    result = run("build", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope'}: no such file or folder\n"


def test_python_m_deckgen_works():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "deckgen", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout == f"deckgen, version {__version__}\n"
