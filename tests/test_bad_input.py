"""Every bad input gets a clear message and a non-zero exit, and leaves build/ and the identity record as they were."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.cli import main

GOOD = "### What is LoRA?\nLow-rank adapters.\n"


def snapshot(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path):
    """A project whose deck was built once: source/ with its identity record, and build/."""
    src = tmp_path / "source"
    src.mkdir()
    (src / "good.md").write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "build")])
    assert result.exit_code == 0, result.output
    return tmp_path


def deep_list(levels: int) -> str:
    return "### Deep?\n" + "\n".join("  " * i + "- x" for i in range(levels)) + "\n"


ERRORS = {  # name: (file to write, its content, the expected error lines with {src} for the source folder)
    "not UTF-8": ("bad.md", b"### Q?\n\xff\n", "{src}/bad.md:2:1: error: not UTF-8 text (byte 0xff at offset 7) [not-utf8]"),
    "binary file named .md": ("bin.md", b"PK\x03\x04\x00\x00", "{src}/bin.md:1:1: error: contains NUL bytes: a binary file, "
                              "not Markdown text [binary-file]"),
    "control character": ("ctl.md", b"### Q?\nfield\x1fseparator\n", "{src}/ctl.md:2:6: error: control character "
                          "U+001F: not text (Anki would also take U+001F for a field separator) [control-character]"),
    "very long line": ("long.md", b"### Q?\n" + b"x" * 20_001 + b"\n",
                       "{src}/long.md:2:1: error: line too long (20,001 characters; at most 20,000) [line-too-long]"),
    "settings not TOML": ("good.deck.toml", b'name = "x\n', "{src}/good.deck.toml:1:10: error: invalid settings: "
                          "Illegal character '\\n' (at line 1, column 10) [invalid-settings]"),
    "bad topic pattern": ("good.deck.toml", b'[[topics]]\ntag = "t"\npatterns = ["("]\n',
                          "{src}/good.deck.toml:1:1: error: invalid pattern '(': missing ) "
                          "at position 1 [invalid-settings]"),
    "invalid tag": ("good.deck.toml", b'[[topics]]\ntag = "my topic"\nkeywords = ["x"]\n',
                    "{src}/good.deck.toml:1:1: error: invalid tag 'my topic': a tag has letters, digits and _ . + - / "
                    "only, and no empty '::' levels; did you mean 'my_topic'? [invalid-settings]"),
    "unclosed fence swallowing a heading": ("fence.md", b"### Q?\n```\ncode\n### Lost?\nA.\n",
                       "{src}/fence.md:2:1: error: this code fence is never closed, so it runs to the end of the "
                       "file and swallows the heading at line 4 ('### Lost?') and everything after it; close it with "
                       "a matching fence line [unclosed-fence]"),
    "explicit id twice": ("ids.md", b"### A {#x}\na\n### B {#x}\nb\n",
                          "{src}/ids.md:3:1: error: explicit id {{#x}} is also used at line 1: each note needs its own "
                          "[duplicate-id]"),
    "heading without text": ("empty-heading.md", b"###\nA.\n",
                             "{src}/empty-heading.md:1:1: error: question heading has no text [empty-heading]"),
    # The deck-name rule holds for names made from file names too, as for names from settings.
    "empty deck level in a file name": ("x::::y.md", GOOD.encode(), "{src}/x::::y.md: error: this file's name "
                                        "makes the deck name 'x::::y', which has an empty '::' level: rename the "
                                        "file, or name the deck (name = \"…\" in {src}/x::::y.deck.toml) "
                                        "[invalid-deck-name]"),
    "control character in a file name": ("a\x1b[31mred.md", GOOD.encode(), "{src}/ared.md: error: this file's name "
                                         "makes the deck name 'a\\x1b[31mred', which holds control characters (a "
                                         "terminal would obey them): rename the file, or name the deck (name = "
                                         "\"…\" in {src}/ared.deck.toml) [invalid-deck-name]"),  # shown inert
}


@pytest.mark.parametrize("name", ERRORS)
def test_bad_input_is_an_error_that_changes_nothing(project, name):
    file_name, content, expected = ERRORS[name]
    src, out = project / "source", project / "build"
    before = snapshot(src, out)
    (src / file_name).write_bytes(content)
    before.pop(str(src / file_name), None)
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out), "--strict"])
    assert result.exit_code == 1
    assert result.stderr == expected.format(src=src) + "\n" + \
        "Error: 1 error(s) in the sources; nothing was written\n"
    after = snapshot(src, out)
    after.pop(str(src / file_name), None)
    assert after == before


@pytest.mark.parametrize("name", ERRORS)
def test_bad_input_in_a_deck_file_holds_that_file_and_loses_nothing(project, name):
    """Without --strict the file is held at its last good state (see test_held): the error is said last, the
    exit status is 1, and no note, package or record line already made changes."""
    file_name, content, expected = ERRORS[name]
    src, out = project / "source", project / "build"
    before = snapshot(src, out)
    (src / file_name).write_bytes(content)
    before.pop(str(src / file_name), None)
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("held back 1 file(s) with errors")
    assert result.stderr.endswith(expected.format(src=src) + "\n")
    after = snapshot(src, out)
    after.pop(str(src / file_name), None)
    assert after == before


def test_a_text_nested_too_deeply_to_render_is_an_error_that_changes_nothing(project, monkeypatch):
    """Python-Markdown before 3.11.4 ran out of stack on deep nesting (400 list levels); newer releases stop nesting
    by themselves. Where it still runs out, the build names the text and writes nothing."""
    from deckgen.render import renderer as render

    original = render.MarkdownRenderer.render

    def out_of_stack(self, text, *args, **kwargs):
        if text.startswith("- x\n  - x"):
            raise RecursionError
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(render.MarkdownRenderer, "render", out_of_stack)
    src, out = project / "source", project / "build"
    before = snapshot(src, out)
    (src / "deep.md").write_text(deep_list(400), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == (f"{src}/deep.md:2:1: error: nested too deeply to render [too-deep]\n"
                             "Error: 1 error(s) in the sources; nothing was written\n")
    after = snapshot(src, out)
    after.pop(str(src / "deep.md"))
    assert after == before


def test_a_deep_list_builds_into_a_card(project):
    src, out = project / "source", project / "build"
    (src / "deep.md").write_text(deep_list(400), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output


def test_damaged_identity_record(project):
    src, out = project / "source", project / "build"
    identity = src / ".deckgen" / "identity.jsonl"
    identity.write_text(re.sub(r'"version_mtime":(\d+)', r'"version_mtime":"\1"', identity.read_text()))
    before = snapshot(src, out)
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{identity}:2:1: error: damaged identity record: a record lacks or mistypes a "
                                    "field (")  # msgspec's words follow: they name the field
    assert "`$.version_mtime`). It records the identities Anki knows" in result.stderr
    assert snapshot(src, out) == before


WARNINGS = {  # files that build (exit 0) with a warning, leaving the good deck's outputs as they were
    # Ordinary notes without questions are counted, not warned about one by one (`-v` lists them).
    "empty file": ("empty.md", b"", "1 Markdown file(s) without questions, not made into decks (-v lists them)"),
    "no question": ("notes.md", b"# Just notes\nSome text.\n",
                    "1 Markdown file(s) without questions, not made into decks (-v lists them)"),
    "missing image": ("img.md", b"### Q?\nSee:\n![diagram](img/missing.png)\n",
                      "{src}/img.md:3:12: warning: image not found, not included: img/missing.png (looked for "
                      "{src}/img/missing.png) [missing-media]"),
    "unclosed fence at the end": ("fence.md", b"### Q?\n```\ncode\n",
                                  "{src}/fence.md:2:1: warning: this code fence is never closed, so it runs to the "
                                  "end of the file (as CommonMark says); close it with a matching fence line "
                                  "[unclosed-fence]"),
    "unbalanced math": ("math.md", b"### Q?\nIt is $$x + 1\n", "{src}/math.md:2:1: warning: $$ has no partner, so "
                        "Anki will show the TeX as text [unbalanced-math]"),
    "empty answer": ("empty-answer.md", b"### Q?\n", "{src}/empty-answer.md:1:1: warning: question has no answer: Q? "
                     "[empty-answer]"),
}


@pytest.mark.parametrize("name", WARNINGS)
def test_suspicious_input_is_a_warning(project, name):
    file_name, content, expected = WARNINGS[name]
    src, out = project / "source", project / "build"
    good_apkg = (out / "good-1.0.0.apkg").read_bytes()
    (src / file_name).write_bytes(content)
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr == expected.format(src=src) + "\n"
    assert (out / "good-1.0.0.apkg").read_bytes() == good_apkg


def test_utf8_bom_and_windows_line_ends_are_fine(tmp_path):
    src = tmp_path / "source"
    src.mkdir()
    (src / "bom.md").write_bytes("\ufeff### Q?\r\nA.\r\n".encode("utf-8"))
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "build")])
    assert result.exit_code == 0 and result.stderr == ""


def test_other_files_in_the_source_folder_are_ignored(project):
    (project / "source" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = CliRunner().invoke(main, ["build", str(project / "source"), "-o", str(project / "build")])
    assert result.exit_code == 0 and result.stderr == ""


def test_usage_errors_exit_2(tmp_path):
    assert CliRunner().invoke(main, ["build", "--no-such-option"]).exit_code == 2
    assert CliRunner().invoke(main, ["check", "--format", "xml"]).exit_code == 2
    assert CliRunner().invoke(main, ["frobnicate"]).exit_code == 2


def test_a_second_build_at_the_same_time_stops_with_a_clear_message(project):
    from deckgen.output.staging import project_lock

    src = project / "source"
    (src / "good.md").write_text(GOOD + "### Another?\nYes.\n", encoding="utf-8")  # so there is work to do
    with project_lock(src):
        result = CliRunner().invoke(main, ["build", str(src), "-o", str(project / "build")])
    assert result.exit_code == 1
    assert result.output == (f"Error: another deckgen build is running on {src} (it holds {src / '.deckgen.lock'}); "
                             "run this one when it has finished\n")


def test_a_deck_name_with_control_characters_is_an_error_not_a_terminal_command(tmp_path):
    """A name is printed by every build: ESC ] 0 ; … BEL would retitle the terminal (or worse)."""
    from click.testing import CliRunner

    from deckgen.cli import main

    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "d.md").write_text("### Q?\nA.\n")
    (tmp_path / "n" / "d.deck.toml").write_text('name = "Deck\\u001b]0;PWNED\\u0007"\n')
    result = CliRunner().invoke(main, ["build", str(tmp_path / "n"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and "\x1b" not in result.output and "control characters" in result.output


def test_a_deck_name_with_an_emoji_sequence_is_a_name(tmp_path):
    """ZWJ emoji and no-break spaces are not printable to str.isprintable, but they are names people use."""
    from deckgen import build_decks

    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "d.md").write_text("### Q?\nA.\n")
    (tmp_path / "n" / "d.deck.toml").write_text('name = "\U0001F469\u200d\U0001F4BB Coding\u00a0notes"\n')
    (package,) = build_decks(tmp_path / "n", tmp_path / "o", now=1_800_000_000).packages
    assert [part.name for part in package.plan.decks] == ["\U0001F469\u200d\U0001F4BB Coding\u00a0notes"]


def test_a_deck_name_prefix_with_control_characters_is_an_error_too(tmp_path):
    """A prefix goes into every deck name the folder tree gives, and so into every build's output."""
    from click.testing import CliRunner

    from deckgen.cli import main

    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "d.md").write_text("### Q?\nA.\n")
    (tmp_path / "n" / "deckgen.toml").write_text('prefix = "Study\\u001b]0;PWNED\\u0007"\n')
    result = CliRunner().invoke(main, ["build", str(tmp_path / "n"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and "\x1b" not in result.output and "control characters" in result.output


def test_a_file_name_that_is_not_utf8_is_an_error_naming_the_file(tmp_path):
    """A name made on another system (bytes that are no UTF-8): the build crashed with a traceback."""
    import os

    src = tmp_path / "src"
    src.mkdir()
    try:
        with open(os.path.join(os.fsencode(src), b"d\xffe.md"), "wb") as file:
            file.write(b"### Q?\nA.\n")
    except OSError:
        pytest.skip("this file system takes only UTF-8 names")
    (src / "ok.md").write_text("### R?\nB.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert "e.md: error: its name is not UTF-8 text" in result.stderr and "[invalid-file-name]" in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.apkg"))


def test_a_file_name_that_makes_no_deck_name_is_said_with_its_settings_error(tmp_path):
    """The error in the file's settings was lost: only the deck-name error, from the fallback read, was said."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "x::::y.md").write_text("### Q?\nA.\n", encoding="utf-8")
    (src / "x::::y.deck.toml").write_text('name = "Fine"\nquestion_level = [\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(src)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{src / 'x::::y.deck.toml'}:" in result.stdout and "[invalid-deck-name]" in result.stdout
