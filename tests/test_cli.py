import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from click.testing import CliRunner

from deckgen import __version__
from deckgen.cli import main

from conftest import record_of, record_path, write_deck


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
    assert result.stderr == (f"{deck}:3:1: warning: question has no answer: Empty? [empty-answer]\n"
                             f"{deck}:4:1: warning: duplicate question (also at line 1): Q? [duplicate-question]\n")
    assert result.stdout == (f"wrote {tmp_path / 'src' / 'deckgen.toml'}: this notes folder's namespace, which keeps "
                             "the GUIDs of its new notes its own; commit it with your notes\n"
                             f"My deck 2.1.0: 3 notes (first build) -> {tmp_path / 'out' / 'deck-2.1.0.apkg'}\n")


def test_source_error_exits_1_without_traceback_and_writes_nothing(tmp_path):
    write_deck(tmp_path / "src", "deck", "### Q?\nA.\n", "name = 'D'\nversion = 'one'\n")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output == (f"{tmp_path / 'src' / 'deck.deck.toml'}:2:1: error: invalid version 'one': "
                             "expected MAJOR.MINOR.PATCH, e.g. 1.0.0 [invalid-settings]\n"
                             "Error: 1 error(s) in the sources; nothing was written\n")
    assert not (tmp_path / "out").exists()


def test_missing_source_folder(tmp_path):
    result = run("build", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope'}: no such file or folder [no-source]\n"


def test_python_m_deckgen_works():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "deckgen", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout == f"deckgen, version {__version__}\n"


def test_the_program_keeps_main_s_exit_status_and_output(tmp_path):
    import subprocess
    import sys
    write_deck(tmp_path / "src", "deck", "### A?\na\n")

    def program(*args):
        return subprocess.run([sys.executable, "-m", "deckgen", *args], capture_output=True, text=True)

    (tmp_path / "src" / "deckgen.toml").write_text('namespace = "test"\n')
    built = program("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    apkg = tmp_path / "out" / "deck-1.0.0.apkg"
    assert (built.returncode, built.stdout) == (0, f"deck 1.0.0: 1 notes (first build) -> {apkg}\n")
    missing = program("build", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert missing.stderr == f"Error: {tmp_path / 'nope'}: no such file or folder [no-source]\n"
    assert program("no-such-command").returncode == 2
    checked = subprocess.run(["sh", "-c", f'"{sys.executable}" -m deckgen check "{tmp_path / "src"}" >&- 2>&-'])
    assert checked.returncode == 0  # started without stdout and stderr: nothing to flush, still a success


def test_diff_shows_the_plan_and_writes_nothing(tmp_path):
    b = "Bees make honey from nectar they collect."
    deck = write_deck(tmp_path / "src", "deck", f"### A?\na\n### B?\n{b}\n### C?\nc\n", 'name = "D"\n')
    assert run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out")).exit_code == 0
    deck.write_text(f"### New?\nn\n### A?\na, changed\n### C?\nc\n### B, reworded?\n{b}\n")
    identity = record_path(tmp_path / "src").read_bytes()
    result = run("diff", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "D: 1.0.0 -> 1.0.1\n"
        "  1 new, 1 changed, 1 renamed, 1 unchanged; note type: unchanged\n"
        "  new      deck.md:1  New?\n"
        "  changed  deck.md:3  A?\n"
        "  renamed  deck.md:7  B? -> B, reworded?\n")
    assert record_path(tmp_path / "src").read_bytes() == identity
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".deckgen-output", "deck-1.0.0.apkg",
                                                                     "deck.changelog.md"]
    deck.write_text("What this deck is about.\n\n### A?\na\n### B?\n{b}\n### C?\nc\n".replace("{b}", b))
    result = run("diff", str(tmp_path / "src"), "-o", str(tmp_path / "out"))  # a version for the description
    assert result.stdout == "D: 1.0.0 -> 1.0.1\n  3 unchanged; note type: unchanged\n  description changed: D\n"
    result = run("diff", str(tmp_path / "src"), "-o", str(tmp_path / "out"), "--format", "json")
    assert json.loads(result.stdout)["packages"][0]["descriptions_changed"] == ["D"]


def test_damaged_identity_record_stops_the_build_and_says_how_to_recover(tmp_path):
    write_deck(tmp_path / "src", "deck", "### A?\na\n### B?\nb\n")
    assert run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out")).exit_code == 0
    path = record_path(tmp_path / "src")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:5] + [lines[5][:20]]) + "\n")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:6:1: error: damaged identity record: not a JSON record")
    assert f"git checkout -- {path}" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("damage, line, what, detail", [
    (lambda lines: lines[:5] + [lines[5].replace(b'"B?"', b'"B\xff?"')] + lines[6:], 6, "not UTF-8 text", "0xff"),
    (lambda lines: lines[:4] + [b"[1, 2]"] + lines[5:], 5, "not a record of a note, package, deck or note type",
     ""),
    (lambda lines: lines[:5] + [lines[5].replace(b'"mtime":', b'"mtime":-')] + lines[6:], 6,
     "a record lacks or mistypes a field", "`$.mtime`"),
    (lambda lines: lines[:5] + [lines[5].replace(b'{', b'{"colour":"red",', 1)] + lines[6:], 6,
     "a record lacks or mistypes a field", "`colour`"),
    (lambda lines: lines[:1] + [lines[1].replace(b'"version":"1.0.0"', b'"version":"one"')] + lines[2:], 2,
     "a record lacks or mistypes a field", "`$.version`"),
    (lambda lines: [b"[" * 100_000] + lines[1:], 1, "not a record", "nested too deeply"),
    (lambda lines: [lines[0].replace(b'"deckgen_identity":4', b'"deckgen_identity":5')] + lines[1:], 1,
     "not a deckgen identity record of format 2, 3 or 4", "written by a newer deckgen? Upgrade deckgen"),
    (lambda lines: [lines[0].replace(b'"deckgen_identity":4', b'"deckgen_identity":"4"')] + lines[1:], 1,
     "not a deckgen identity record of format 2, 3 or 4", "or 4. It records"),

])
def test_every_kind_of_identity_damage_names_its_line(tmp_path, damage, line, what, detail):
    """The details come from msgspec, whose wording may change: the test holds to ours and to what it names."""
    write_deck(tmp_path / "src", "deck", "### A?\na\n### B?\nb\n")
    assert run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out")).exit_code == 0
    path = record_path(tmp_path / "src")
    lines = path.read_bytes().split(b"\n")
    lines[4:6] = sorted(lines[4:6], key=lambda record: b'"B?"' in record)  # A on line 5, B on line 6
    path.write_bytes(b"\n".join(damage(lines)))
    result = run("check", str(tmp_path / "src"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    (message,) = [text for text in result.output.splitlines() if "damaged identity record" in text]
    assert message.startswith(f"{path}:{line}:1: error: damaged identity record: {what}") and detail in message


def test_a_renamed_deck_file_keeps_its_notes(tmp_path):
    deck = write_deck(tmp_path / "src", "old", "### A?\na\n")
    assert run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out")).exit_code == 0
    guids = set(record_of(tmp_path / "src").notes)
    deck.rename(tmp_path / "src" / "new.md")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"), "-v")
    assert result.exit_code == 0, result.output
    assert "\n  changed  new.md:1  A?\n" in result.stdout and "\n  new " not in result.stdout
    assert set(record_of(tmp_path / "src").notes) == guids


def test_a_deck_file_must_be_markdown(tmp_path):
    write_deck(tmp_path / "src", "deck", "### A?\na\n", "")
    result = run("build", str(tmp_path / "src" / "deck.deck.toml"))
    assert result.exit_code == 1
    assert result.output == (f"Error: {tmp_path / 'src' / 'deck.deck.toml'}: not a deck: deck files are "
                             "Markdown files ending in .md [not-a-deck]\n")


def test_a_deck_named_without_ascii_gets_a_stable_slug(tmp_path):
    write_deck(tmp_path / "src", "面试", "### 问?\n答。\n")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256("面试".encode()).hexdigest()[:8]  # stable: the slug keys new notes' GUIDs
    assert [p.name for p in (tmp_path / "out").glob("*.apkg")] == [f"deck-{digest}-1.0.0.apkg"]


def test_an_unwritable_output_is_an_error_not_a_traceback(tmp_path):
    write_deck(tmp_path / "src", "deck", "### A?\na\n")
    (tmp_path / "file").write_text("")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "file" / "out"))
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'file' / 'out'}: Not a directory\n"


def test_check_lists_everything_sorted_writes_nothing_and_sets_the_exit_status(tmp_path):
    src = tmp_path / "src"
    write_deck(src, "b", "### Same?\nx\n### Same?\ny\n")
    write_deck(src, "a", "### Q?\n```\n### R?\n")
    before = sorted(p.name for p in src.iterdir())
    result = run("check", str(src))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{src / 'a.md'}:2:1: error: this code fence is never closed, so it runs to the end of the file and "
        "swallows the heading at line 3 ('### R?') and everything after it; close it with a matching fence line "
        "[unclosed-fence]\n"
        f"{src / 'b.md'}:3:1: warning: duplicate question (also at line 1): Same? [duplicate-question]\n"
        f"{src / 'a.md'}: 1 question(s), 1 card(s)\n"
        f"{src / 'b.md'}: 2 question(s), 2 card(s)\n")
    assert result.stderr == "1 error(s), 1 warning(s); 3 card(s) from 2 file(s)\n"
    assert sorted(p.name for p in src.iterdir()) == before


def test_check_strict_and_json(tmp_path):
    src = tmp_path / "src"
    write_deck(src, "b", "### Same?\nx\n### Same?\ny\n")
    assert run("check", str(src)).exit_code == 0
    strict = run("check", "--strict", "--format", "json", str(src))
    assert strict.exit_code == 1
    found = json.loads(strict.stdout)
    assert found.pop("files") == [{"path": str(src / "b.md"), "questions": 2, "cards": 2, "description": 0}]
    assert found == {"ok": False, "errors": 1, "warnings": 0, "notes": 0, "diagnostics": [{
        "path": str(src / "b.md"), "line": 3, "column": 1, "severity": "error", "code": "duplicate-question",
        "message": "duplicate question (also at line 1): Same?"}]}


FIXTURES = Path(__file__).with_name("fixtures")


@pytest.mark.parametrize("library, options", [
    ("seed", ()), ("showcase", ()), ("release-0.2/notes", ("--trust-record",)), ("notes", ())])
def test_a_check_after_a_build_that_changed_nothing_says_what_the_whole_pipeline_says(tmp_path, machine,
                                                                                      monkeypatch, library, options):
    """Read from the stamp the build kept, without the pipeline; the same JSON and text as a check that runs it
    (in an output folder never built). A check with --trust-record after a build without it runs the pipeline."""
    import deckgen.build

    src = tmp_path / "src"
    if library == "seed":
        shutil.copytree(Path(__file__).parents[1] / "source", src,
                        ignore=shutil.ignore_patterns("*.identity.jsonl"))
    elif library == "notes":  # notes (a remote image, a file without questions), a warning, a question_level hint
        write_deck(src, "a", "### A?\n![x](https://example.org/x.png)\n### A?\nb\n")
        write_deck(src, "plain", "Just text.\n")
        write_deck(src, "deep", "###### Why?\nx\n###### How?\ny\n")
    else:
        shutil.copytree(FIXTURES / library, src, ignore=shutil.ignore_patterns("build"))
    assert run("build", str(src), "-o", str(tmp_path / "out"), *options).exit_code == 0
    piped = [run("check", str(src), "-o", str(tmp_path / "never"), *options, *form)
             for form in ((), ("--format", "json"))]

    def no_pipeline(*args, **kwargs):
        raise AssertionError("the pipeline ran")

    with monkeypatch.context() as patched:
        patched.setattr(deckgen.build, "_check", no_pipeline)
        stamped = [run("check", str(src), "-o", str(tmp_path / "out"), *options, *form)
                   for form in ((), ("--format", "json"))]
    assert [(r.exit_code, r.stdout, r.stderr) for r in stamped] == [(r.exit_code, r.stdout, r.stderr) for r in piped]
    assert json.loads(stamped[1].stdout)["files"]
    if options:  # the record read otherwise than the build read it: the pipeline runs
        other = run("check", str(src), "-o", str(tmp_path / "out"))
        assert (other.exit_code, other.output) == (0, run("check", str(src), "-o", str(tmp_path / "never")).output)
        with monkeypatch.context() as patched:
            patched.setattr(deckgen.build, "_check", no_pipeline)
            assert run("check", str(src), "-o", str(tmp_path / "out")).exit_code == 1


def test_after_a_build_check_and_build_see_an_image_that_appears_and_a_link_that_leads_outside(tmp_path, machine):
    """What the stamp is read for covers the images the notes name but the build could not bundle, and check
    says afresh what finding the library says (a link that leads outside it): found by a review, each failed
    before (check said 'image not found' from the stamp; the build said 'nothing changed')."""
    import base64
    import os

    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "img", "### Img?\n![](pic.png)\n")
    assert run("build", str(src), "-o", str(out)).exit_code == 0
    assert "[missing-media]" in run("check", str(src), "-o", str(out)).output
    (src / "pic.png").write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="))
    checked = run("check", str(src), "-o", str(out), "--strict")
    assert checked.exit_code == 0 and "[missing-media]" not in checked.output
    built = run("build", str(src), "-o", str(out))
    assert "(nothing changed)" not in built.stdout and "1 changed" in built.stdout
    assert "(nothing changed)" in run("build", str(src), "-o", str(out)).stdout
    (tmp_path / "outside.md").write_text("### Theirs?\nx\n", encoding="utf-8")
    os.symlink(tmp_path / "outside.md", src / "theirs.md")
    assert "[link-outside]" in run("check", str(src), "-o", str(out)).output


PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.parametrize("written, there, added", [
    ("![[pic.png]]", (), "attachments/Pic.PNG"),  # by name, anywhere, ignoring case
    ("![](img/pic.png)", (), "img/pic.png"),  # from the folder's top
    ("![](.assets/pic.png)", (), ".assets/pic.png"),  # from the top, into a hidden folder
    ("![[pic.png]]", ("a/pic.png",), "b/pic.png"),  # found by name; then a second one: which is meant?
    ("![[pic.png]]", ("a/pic.png",), "topic/pic.png"),  # found by name; then one next to the note
])
def test_after_a_build_an_image_that_appears_where_obsidian_finds_it_is_seen(tmp_path, machine, written, there,
                                                                            added):
    """An image that appears where Obsidian looks for one the notes name (a bare name anywhere, ignoring case;
    a path from the folder's top) is seen by check and build after a build, as a build without the stamp sees
    it; they said 'image not found' (or kept the image found before) and 'nothing changed'. An image that
    stays where it is changes nothing, nor does a file of another name."""
    import base64

    src, out = tmp_path / "src", tmp_path / "out"
    (src / "topic").mkdir(parents=True)
    write_deck(src, "topic/img", f"### Img?\n{written}\n")
    for path in (*there, added):
        (src / path).parent.mkdir(parents=True, exist_ok=True)
    for path in there:
        (src / path).write_bytes(base64.b64decode(PIXEL))
    assert ("[missing-media]" in run("build", str(src), "-o", str(out)).output) == (not there)
    assert "(nothing changed)" in run("build", str(src), "-o", str(out)).stdout
    (src / "elsewhere.txt").write_text("a file of another name", encoding="utf-8")
    assert "(nothing changed)" in run("build", str(src), "-o", str(out)).stdout
    (src / added).write_bytes(base64.b64decode(PIXEL) + b"\0")  # another image than any before
    checked = run("check", str(src), "-o", str(out))
    assert checked.output == run("check", str(src), "-o", str(tmp_path / "never")).output
    built = run("build", str(src), "-o", str(out))
    assert "(nothing changed)" not in built.stdout and "1 changed" in built.stdout, built.output
    assert "(nothing changed)" in run("build", str(src), "-o", str(out)).stdout


def test_a_folder_whose_name_is_not_utf8_beside_a_missing_image_breaks_no_build(tmp_path, machine):
    """The stamp keeps the paths of the files named like a missing image: one in a folder whose name is not
    UTF-8 (made on another system) is kept as an escape; the build ended in a traceback before."""
    import base64
    import os

    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "img", "### Img?\n![](pic.png)\n")
    try:
        os.mkdir(os.path.join(os.fsencode(src), b"z\xff"))
    except OSError:
        pytest.skip("this file system takes only UTF-8 names")
    for folder in (b"a", b"b", b"z\xff"):
        os.makedirs(os.path.join(os.fsencode(src), folder), exist_ok=True)
        with open(os.path.join(os.fsencode(src), folder, b"pic.png"), "wb") as file:
            file.write(base64.b64decode(PIXEL))
    built = run("build", str(src), "-o", str(out))
    assert built.exit_code == 0 and built.exception is None and "did you mean" in built.output
    assert "(nothing changed)" in run("build", str(src), "-o", str(out)).stdout


def test_check_and_diff_fill_the_render_cache_only_for_a_library_built_into_its_output_folder(tmp_path, machine):
    src = tmp_path / "src"
    write_deck(src, "deck", "### A?\nAn *answer*.\n")
    assert run("check", str(src), "-o", str(tmp_path / "out")).exit_code == 0
    assert run("diff", str(src), "-o", str(tmp_path / "out")).exit_code == 0
    assert not (machine / "cache").exists()  # nothing built there: nothing kept
    assert run("build", str(src), "-o", str(tmp_path / "out")).exit_code == 0
    caches = list((machine / "cache").glob("render-*.sqlite"))
    for command, answer in (("check", "A *checked* answer."), ("diff", "A *diffed* answer.")):
        (src / "deck.md").write_text(f"### A?\n{answer}\n", encoding="utf-8")
        assert run(command, str(src), "-o", str(tmp_path / "out")).exit_code == 0
        stored = sqlite3.connect(caches[0]).execute("select html from entries").fetchall()
        assert (f"<p>{answer.replace('*', '<em>', 1).replace('*', '</em>', 1)}</p>",) in stored, command


def test_quiet_prints_errors_only_and_verbose_lists_changes(tmp_path):
    src = tmp_path / "src"
    deck = write_deck(src, "d", "### A?\na\n### A?\nb\n")
    quiet = run("build", "-q", str(src), "-o", str(tmp_path / "out"))
    assert (quiet.exit_code, quiet.output) == (0, "")
    deck.write_text("### A?\na\n### A?\nb\n### C?\nc\n")
    verbose = run("build", "-v", str(src), "-o", str(tmp_path / "out"))
    assert verbose.stdout.splitlines()[1:] == ["  new      d.md:5  C?"]


def test_a_build_with_nothing_changed_writes_nothing_and_says_so(tmp_path):
    write_deck(tmp_path / "src", "deck", "### A?\na\n### A?\nb\n", 'name = "D"\n')
    out = tmp_path / "out"
    assert run("build", str(tmp_path / "src"), "-o", str(out)).exit_code == 0
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    again = run("build", str(tmp_path / "src"), "-o", str(out))
    assert again.exit_code == 0
    assert again.stdout == f"D 1.0.0: 2 notes -> {out / 'deck-1.0.0.apkg'} (nothing changed)\n"
    assert again.stderr == f"{tmp_path / 'src' / 'deck.md'}:3:1: warning: duplicate question (also at line 1): A? " \
                           "[duplicate-question]\n"
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before
    (out / "deck-1.0.0.apkg").unlink()  # an output gone: build again, to the same bytes
    assert "(nothing changed)" not in run("build", str(tmp_path / "src"), "-o", str(out)).stdout
    assert (out / "deck-1.0.0.apkg").read_bytes() == before[out / "deck-1.0.0.apkg"][1]


def test_a_build_reads_only_the_files_whose_status_changed_and_sees_every_change(tmp_path, monkeypatch):
    """The stamp keeps each file's hash with its status: a build that changed nothing reads no note again, one
    after an edit reads the edited file; an edit that keeps the size and the modification time is still seen
    (the change time moves), as is one made right after the file was read (hashed again: see RACY_NS)."""
    import os

    from deckgen.output import stamp

    src, out = tmp_path / "src", tmp_path / "out"
    decks = [write_deck(src, name, f"### {name}?\nan answer\n") for name in ("a", "b", "c")]
    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)  # as if the files had been written long before
    assert run("build", str(src), "-o", str(out)).exit_code == 0
    read = []
    read_file = stamp.read_with_status
    monkeypatch.setattr(stamp, "read_with_status",
                        lambda path, limit, follow=False: read.append(path.name) or read_file(path, limit, follow))
    assert "(nothing changed)" in run("build", str(src), "-o", str(out)).stdout
    assert read == []
    decks[1].write_text("### b?\nan edited\n", encoding="utf-8")  # the same size
    times = decks[1].stat()
    os.utime(decks[1], ns=(times.st_atime_ns, decks[0].stat().st_mtime_ns))
    edited = run("build", str(src), "-o", str(out))
    assert "1 changed" in edited.stdout and [name for name in read if name.endswith(".md")] == ["b.md"]
    monkeypatch.setattr("deckgen.reading.RACY_NS", 10 ** 18)  # every file just written: its status is not enough
    decks[2].write_text("### c?\nan answer!\n", encoding="utf-8")
    assert "1 changed" in run("build", str(src), "-o", str(out)).stdout


def test_help_and_version_load_no_heavy_library():
    import subprocess
    import sys
    code = ("import sys; from deckgen.cli import main\n"
            "for args in (['--help'], ['--version'], ['build', '--help']):\n"
            "    try: main(args)\n"
            "    except SystemExit: pass\n"
            "print(sorted(m for m in ('markdown', 'genanki', 'bs4', 'pygments', 'anki') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_deck_saved_while_a_build_runs_is_built_next_time(tmp_path, monkeypatch):
    from deckgen import build as build_module

    deck = write_deck(tmp_path / "src", "deck", "### A?\na\n", 'name = "D"\n')
    original = build_module._check

    def save_meanwhile(*args, **kwargs):
        result = original(*args, **kwargs)
        deck.write_text("### A?\na, saved during the build\n")
        return result

    monkeypatch.setattr(build_module, "_check", save_meanwhile)
    assert run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out")).exit_code == 0
    monkeypatch.setattr(build_module, "_check", original)
    again = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    assert "(nothing changed)" not in again.stdout and "1 changed" in again.stdout


def test_build_says_every_rename_it_inferred(tmp_path):
    b = "Bees make honey from the nectar they collect."
    deck = write_deck(tmp_path / "src", "deck", f"### A?\na\n### B?\n{b}\n", 'name = "D"\n')
    assert run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out")).exit_code == 0
    deck.write_text(f"### A?\na, changed\n### Why do bees matter?\n{b}\n")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"))
    assert result.stdout.splitlines()[1:] == ["  renamed  deck.md:3  B? -> Why do bees matter?"]


def test_a_quiz_with_its_questions_at_another_level_says_which_setting_gives_its_cards(tmp_path, anki):
    """0 cards and "no decks found", with no hint of which level would work: now the build says it, and with
    the setting the questions are cards in Anki."""
    src = tmp_path / "quiz"
    src.mkdir()
    (src / "quiz.md").write_text("# Quiz\n\n###### 1. What is 2+2?\n\nFour.\n\n###### 2. Which is prime, 7 or 8?\n\n"
                                 "Seven.\n", encoding="utf-8")
    failed = run("build", str(src), "-o", str(tmp_path / "out"))
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert (f"{src / 'quiz.md'}: warning: no heading of level 3 (###), but 2 at ###### (2 ending in '?'): to make "
            "them questions, set question_level = 6 in quiz.deck.toml") in failed.stderr
    assert f"{src}: error: no decks found" in failed.stderr and not (tmp_path / "out").exists()
    (src / "quiz.deck.toml").write_text("question_level = 6\n", encoding="utf-8")
    built = run("build", str(src), "-o", str(tmp_path / "out"))
    assert built.exit_code == 0 and "question-level" not in built.output
    (package,) = (tmp_path / "out").glob("*.apkg")
    anki.import_package(package)
    assert sorted((note["Question"], note["Answer"]) for note in anki.notes()) == [
        ("1. What is 2+2?", "<p>Four.</p>"), ("2. Which is prime, 7 or 8?", "<p>Seven.</p>")]
