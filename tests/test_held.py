"""One bad file never stops the library: a deck file with an error is held at its last good state."""

from __future__ import annotations

from click.testing import CliRunner

from deckgen.cli import main

from conftest import answer_all_due, reviews_by_card


def build(library, out, *options):
    return CliRunner().invoke(main, ["build", str(library), "-o", str(out), *options])


def test_a_file_with_an_error_is_held_and_everything_else_is_built(tmp_path, anki):
    library, out = tmp_path / "notes", tmp_path / "build"
    library.mkdir()
    (library / "good.md").write_text("### Good one?\nYes.\n\n### Good two?\nYes too.\n", encoding="utf-8")
    (library / "bad.md").write_text("# Topic\n### Bad one?\nFine for now.\n\n### Bad two?\nAlso fine.\n",
                                    encoding="utf-8")
    (library / "binary.md").write_text("### Binary one?\nText for now.\n", encoding="utf-8")
    first = build(library, out)
    assert first.exit_code == 0, first.output
    anki.import_package(next(out.glob("*.apkg")))
    for deck in ("good", "bad", "binary"):
        answer_all_due(anki, deck)
    before, reviews = {note.guid: note for note in anki.notes()}, reviews_by_card(anki)

    (library / "good.md").write_text("### Good one?\nYes, edited.\n\n### Good two?\nYes too.\n", encoding="utf-8")
    (library / "bad.md").write_text("# Topic\n### Bad one?\nChanged, but held.\n\n###\n\n### Bad two?\nAlso fine.\n",
                                    encoding="utf-8")
    (library / "binary.md").write_text("### Binary one?\nNow with a \x01 control character.\n", encoding="utf-8")
    (library / "never.md").write_text("### Never built?\n```\nnever closed\n### Swallowed?\n", encoding="utf-8")
    held = build(library, out)
    assert held.exit_code == 1
    end = held.stderr[held.stderr.index("held back 3 file(s) with errors"):]  # said last, where it is seen
    assert "bad.md:5:1: error: question heading has no text" in end and "binary.md:2:" in end
    assert "never.md:2:1: error: this code fence is never closed" in end
    assert "(1 changed, 4 unchanged)" in held.stdout
    packages = sorted(out.glob("*.apkg"), key=lambda p: p.stat().st_mtime)
    assert len(packages) == 2
    log = anki.import_package(packages[-1])
    after = {note.guid: note for note in anki.notes()}
    assert after.keys() == before.keys() and not log.new  # nothing removed, nothing of never.md
    assert [n.fields[0] for n in log.updated] == ["Good one?"]
    assert [after[g]["Answer"] for g in after if after[g]["Question"] == "Bad one?"] == ["<p>Fine for now.</p>"]
    assert not any("removed" in note.tags for note in after.values())
    assert reviews_by_card(anki) == reviews

    again = build(library, out)  # nothing changed: the held files' errors said again, from the stamp, as last
    assert again.exit_code == 1 and "(nothing changed)" in again.stdout
    assert again.stderr[again.stderr.index("held back 3 file(s) with errors"):] == end
    assert len(list(out.glob("*.apkg"))) == 2
    checked = CliRunner().invoke(main, ["check", str(library), "-o", str(out)])  # read as they are
    assert checked.exit_code == 1 and "never.md:2:1: error: this code fence is never closed" in checked.stdout
    strict_again = build(library, out, "--strict")  # --strict writes nothing while a file has an error: it says so
    assert strict_again.exit_code == 1 and "nothing was written" in strict_again.output
    assert "(nothing changed)" not in strict_again.output

    (library / "bad.md").write_text("# Topic\n### Bad one?\nChanged, but held.\n\n### Bad two?\nAlso fine.\n",
                                    encoding="utf-8")
    strict = build(library, out, "--strict")
    assert strict.exit_code == 1 and "nothing was written" in strict.output
    assert len(list(out.glob("*.apkg"))) == 2

    (library / "binary.md").write_text("### Binary one?\nText for now.\n", encoding="utf-8")
    (library / "never.md").unlink()
    fixed = build(library, out)
    assert fixed.exit_code == 0, fixed.output
    log = anki.import_package(max(out.glob("*.apkg"), key=lambda p: p.stat().st_mtime))
    assert [n.fields[0] for n in log.updated] == ["Bad one?"]
    assert reviews_by_card(anki) == reviews and anki.check_database()[1]


def test_a_question_moved_into_a_held_file_is_not_marked_removed(tmp_path, anki):
    library, out = tmp_path / "notes", tmp_path / "build"
    library.mkdir()
    (library / "a.md").write_text("### Staying?\nYes.\n", encoding="utf-8")
    (library / "b.md").write_text("### Kept?\nYes.\n\n### Moved?\nTo a.md.\n", encoding="utf-8")
    assert build(library, out).exit_code == 0
    anki.import_package(max(out.glob("*.apkg"), key=lambda p: p.stat().st_mtime))
    # Moved into a.md, which in the same edit gets an empty heading: a.md is held, and "Moved?" is nowhere else.
    (library / "a.md").write_text("### Staying?\nYes.\n\n### Moved?\nTo a.md.\n\n###\n", encoding="utf-8")
    (library / "b.md").write_text("### Kept?\nYes.\n", encoding="utf-8")
    held = build(library, out)
    assert held.exit_code == 1 and "removed" not in held.stdout
    assert "1 question(s) gone from this file are not marked removed while files are held back" in held.stderr
    log = anki.import_package(max(out.glob("*.apkg"), key=lambda p: p.stat().st_mtime))
    assert not log.updated and not any("deckgen::removed" in n.tags for n in anki.notes())
    (library / "a.md").write_text("### Staying?\nYes.\n\n### Moved?\nTo a.md.\n", encoding="utf-8")
    fixed = build(library, out, "-v")
    assert fixed.exit_code == 0 and "removed" not in fixed.stdout, fixed.output  # it moved, with its note


def test_a_held_deck_keeps_its_note_type_whatever_its_broken_settings_say(tmp_path):
    library, out = tmp_path / "notes", tmp_path / "build"
    library.mkdir()
    (library / "c.md").write_text("### Capital?\n{{c1::Paris}} is the capital.\n", encoding="utf-8")
    (library / "c.deck.toml").write_text('cards = "cloze"\n', encoding="utf-8")
    (library / "d.md").write_text("### Other?\nYes.\n", encoding="utf-8")
    assert build(library, out).exit_code == 0
    (library / "c.deck.toml").write_text('cards = "cloze"\nname = \n', encoding="utf-8")
    held = build(library, out)
    assert held.exit_code == 1 and "held back 1 file(s)" in held.stderr
    assert "note-type" not in held.output and "replaced" not in held.stdout


def test_diff_shows_what_the_build_would_do_and_says_which_files_it_would_hold(tmp_path):
    library, out = tmp_path / "notes", tmp_path / "build"
    library.mkdir()
    (library / "a.md").write_text("### One?\nYes.\n", encoding="utf-8")
    assert build(library, out).exit_code == 0
    (library / "a.md").write_text("### One?\nYes.\n\n###\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(library), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("held back 1 file(s)") and "a.md:4:1: error: question heading has no text" \
        in result.stderr
