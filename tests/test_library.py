"""A notes folder as people keep one: a folder tree of Markdown, READMEs, non-ASCII names, untidy notes.

Built with no configuration beyond what each case names, into one package,
and imported into a real Anki collection.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from click.testing import CliRunner

from deckgen import build_decks
from deckgen.cli import main
from conftest import png, record_of

CAFE_NFD = unicodedata.normalize("NFD", "café")  # as macOS writes file names
PROCESS_NFC = unicodedata.normalize("NFC", "进程")

VAULT = {  # path inside the library: content
    "README.md": "# My notes\nWhat this repository is about.\n",  # the repository's README: no questions
    "deckgen.toml": 'exclude = ["drafts/"]\n',
    "assets/diagram.png": png(3, 3, (0, 0, 200)),
    "os/README.md": "Operating systems.\n\n### What is a process?\nA program in execution.\n",
    "os/memory.md": ("### What is a page?\nA fixed-size block of memory.\n![page](img/page.png)\n\n"
                     "### What is a TLB?\nA cache of page translations.\n![diagram](diagram.png)\n"
                     "![which?](shared.png)\n"),  # found by its name alone; and a name two files have
    "os/img/shared.png": png(2, 3, (0, 90, 0)),
    "networks/shared.png": png(3, 2, (0, 0, 90)),
    "os/img/page.png": png(2, 2, (200, 0, 0)),
    "os/notes.md": "### What is a syscall?\nA request to the kernel.\n![gone](missing/diagram.png)\n",
    f"os/{PROCESS_NFC}.md": "### 什么是进程？\n运行中的程序。\n",
    "networks/index.md": "Networks, layer by layer.\n",
    "networks/notes.md": "### What is TCP?\nA reliable byte stream.\n\n### Show a socket\n```python\nsocket()\n",
    f"languages/{CAFE_NFD}.md": "### How do you order a coffee?\nUn café, s'il vous plaît.\n",
    "interview/deckgen.toml": "question_level = 2\n",
    "interview/basics.md": "# Interview\n## What is a hash map?\nKeys to values in O(1) on average.\n",
    "drafts/wip.md": "### Not ready?\nNo.\n",
}
DECKS = {"os", "os::memory", "os::notes", f"os::{PROCESS_NFC}", "networks", "networks::notes", "languages::café",
         "interview::basics"}


def write_vault(root: Path, files: dict = VAULT) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def card_decks(anki) -> dict[str, str]:
    col = anki.col
    return {col.get_card(cid).note()["Question"]: col.decks.name(col.get_card(cid).did) for cid in col.find_cards("")}


def test_a_notes_folder_builds_as_a_deck_tree_in_one_package(tmp_path, anki):
    vault = write_vault(tmp_path / "vault")
    out = tmp_path / "build"
    result = CliRunner().invoke(main, ["build", str(vault), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.glob("*.apkg")] == ["vault-1.0.0.apkg"]  # one package, named after the folder
    assert f"{vault / 'os' / 'memory.md'}:8:11: warning: image not found, not included: shared.png" in result.stderr
    assert "did you mean ../networks/shared.png or img/shared.png?" in result.stderr
    # A path with folders names its file: a file of that name elsewhere is only suggested, never taken.
    assert (f"{vault / 'os' / 'notes.md'}:3:9: warning: image not found, not included: missing/diagram.png "
            f"(looked for {vault / 'os' / 'missing' / 'diagram.png'}); did you mean ../assets/diagram.png?") \
        in result.stderr
    assert f"{vault / 'networks' / 'notes.md'}:5:1: warning: this code fence is never closed" in result.stderr
    assert "1 Markdown file(s) without questions" in result.stderr  # the repository's README
    assert "error" not in result.stderr

    log = anki.import_package(out / "vault-1.0.0.apkg")
    assert len(log.new) == 9 and not log.conflicting
    decks = card_decks(anki)
    assert set(decks.values()) == DECKS - {"networks"}  # networks/index.md describes its deck, holds no question
    assert decks["What is a process?"] == "os" and decks["What is a hash map?"] == "interview::basics"
    assert "Not ready?" not in decks  # drafts/ is excluded
    names = {d.name for d in anki.col.decks.all_names_and_ids()}
    assert DECKS <= names and "drafts" not in names
    networks = anki.col.decks.by_name("networks")
    assert "Networks, layer by layer." in networks["desc"]
    media = Path(anki.col.media.dir())
    assert sorted(p.read_bytes() for p in media.iterdir()) == sorted(
        [VAULT["os/img/page.png"], VAULT["assets/diagram.png"]])  # every image that resolves
    (socket,) = [n for n in anki.notes() if n["Question"] == "Show a socket"]
    assert "<pre>" in socket["Answer"] and ">socket<" in socket["Answer"]  # the open fence ran to the end
    keys = {note.deck for note in record_of(vault).notes.values()}
    assert "languages/café" in keys and all(unicodedata.is_normalized("NFC", key) for key in keys)
    assert anki.check_database()[1]


def test_check_shows_what_a_folder_of_ordinary_notes_would_make(tmp_path):
    vault = write_vault(tmp_path / "vault", {"journal.md": "# Monday\nNothing much.\n",
                                             "study/sql.md": "### What is a join?\nRows matched across tables.\n"})
    result = CliRunner().invoke(main, ["check", str(vault)])
    assert result.exit_code == 0, result.output
    assert f"{vault / 'study' / 'sql.md'}: 1 question(s), 1 card(s)" in result.stdout
    assert f"{vault / 'journal.md'}: note: no questions" in result.stdout
    assert not (vault / "deckgen.toml").exists() and not (vault / ".deckgen").exists()  # check writes nothing


def test_deleting_a_file_removes_its_notes_and_a_moved_file_keeps_them(tmp_path, anki):
    vault = write_vault(tmp_path / "vault")
    out = tmp_path / "build"
    (first,) = build_decks(vault, out, now=1_800_000_000).packages
    anki.import_package(first.path)
    ids = {n["Question"]: n.id for n in anki.notes()}
    (vault / "networks" / "notes.md").unlink()
    (vault / "os" / "notes.md").rename(vault / "os" / "kernel.md")
    (second,) = build_decks(vault, out, now=1_800_000_100).packages
    assert sorted((c.kind, c.question) for c in second.plan.changes) == [
        ("changed", "What is a syscall?"), ("removed", "Show a socket"), ("removed", "What is TCP?")]
    assert "Removed (2):" in (out / "vault.changelog.md").read_text(encoding="utf-8")
    log = anki.import_package(second.path)
    assert not log.new and {n["Question"]: n.id for n in anki.notes()} == ids  # nothing lost, nothing doubled
    removed = {n["Question"] for n in anki.notes() if "deckgen::removed" in n.tags}
    assert removed == {"What is TCP?", "Show a socket"}
    assert anki.check_database()[1]


def test_one_package_per_top_level_folder_when_asked(tmp_path):
    vault = write_vault(tmp_path / "vault")
    settings = vault / "deckgen.toml"
    settings.write_text(settings.read_text() + 'packages = "folder"\n')
    report = build_decks(vault, tmp_path / "build", now=1_800_000_000)
    assert sorted(p.path.name for p in report.packages) == [
        "interview-1.0.0.apkg", "languages-1.0.0.apkg", "networks-1.0.0.apkg", "os-1.0.0.apkg"]


def test_a_deck_keeps_its_recorded_name_until_its_settings_name_it(tmp_path):
    vault = write_vault(tmp_path / "vault", {"os/memory.md": "### What is a page?\nA block.\n"})
    out = tmp_path / "build"
    build_decks(vault, out, now=1_800_000_000)
    record = vault / ".deckgen" / "identity.jsonl"
    record.write_text(record.read_text().replace('"name":"os::memory"', '"name":"Memory"'))  # as 0.1 named it
    (again,) = build_decks(vault, out, now=1_800_000_100).packages
    assert [part.name for part in again.plan.decks] == ["Memory"] and again.plan.changes == ()
    (vault / "os" / "memory.deck.toml").write_text('name = "OS::Memory"\n')
    (renamed,) = build_decks(vault, out, now=1_800_000_200).packages
    assert [part.name for part in renamed.plan.decks] == ["OS::Memory"]


def test_building_inside_a_library_builds_the_library(tmp_path):
    vault = write_vault(tmp_path / "vault")
    build_decks(vault, tmp_path / "build", now=1_800_000_000)
    (report,) = build_decks(vault / "os" / "memory.md", tmp_path / "build", now=1_800_000_100).packages
    assert report.plan.key == "vault" and report.plan.changes == () and len(report.plan.decks) == 8


def test_a_folder_deckgen_built_into_is_no_part_of_the_library(tmp_path, monkeypatch):
    """`deckgen build .` in a notes folder writes build/ there; built from above next time, the old build/
    (its changelog is Markdown) must not become a deck, nor must a sub-folder's own build/."""
    vault = tmp_path / "vault"
    (vault / "sub").mkdir(parents=True)
    (vault / "deckgen.toml").write_text("question_level = 2\n")
    (vault / "a.md").write_text("## What is X?\nX.\n\n## What is Y?\nY.\n")
    (vault / "sub" / "b.md").write_text("## What is Z?\nZ.\n")
    monkeypatch.chdir(vault)
    assert CliRunner().invoke(main, ["build", "."]).exit_code == 0  # into vault/build
    monkeypatch.chdir(vault / "sub")
    (vault / "sub" / "b.md").write_text("## What is Z?\nZ, edited.\n")
    assert CliRunner().invoke(main, ["build", str(vault)]).exit_code == 0  # into vault/sub/build
    assert list((vault / "build").glob("*.changelog.md")) and list((vault / "sub" / "build").glob("*.changelog.md"))
    monkeypatch.chdir(tmp_path)
    (report,) = build_decks(vault, tmp_path / "elsewhere", now=1_800_000_000).packages
    assert sorted(part.name for part in report.plan.decks) == ["a", "sub::b"]
    assert [c.kind for c in report.plan.changes] == []  # the same three notes as before, nothing new
    assert report.plan.package.notes and len(report.plan.package.notes) == 3
    checked = CliRunner().invoke(main, ["check", str(vault)])
    assert f"{vault / 'build'}: note: skipped: a folder deckgen has built into" in checked.stdout
    assert f"{vault / 'sub' / 'build'}: note: skipped: a folder deckgen has built into" in checked.stdout


def test_a_clone_under_another_folder_name_builds_the_same_package(tmp_path):
    """The package was named after the library's folder: a collaborator's clone called otherwise built
    another package (a new version, a new record line, "no note changed"); so did a second file."""
    import shutil

    vault = write_vault(tmp_path / "vault")
    (first,) = build_decks(vault, tmp_path / "build", now=1_800_000_000).packages
    assert 'slug = "vault"' in (vault / "deckgen.toml").read_text()  # written down with the namespace
    clone = shutil.copytree(vault, tmp_path / "clone-a")
    (again,) = build_decks(clone, tmp_path / "clone-build", now=1_800_000_100).packages
    assert (again.path.name, again.plan.changes) == (first.path.name, ())
    assert set(record_of(clone).packages) == {"vault"}

    one = tmp_path / "one"
    (one / "a.md").parent.mkdir()
    (one / "a.md").write_text("### Q?\nA.\n")
    (single,) = build_decks(one, tmp_path / "one-build", now=1_800_000_000).packages
    (one / "b.md").write_text("### R?\nB.\n")
    (grown,) = build_decks(one, tmp_path / "one-build", now=1_800_000_100).packages
    assert single.plan.key == grown.plan.key == "a"


def test_utf16_files_and_escaped_dollars_are_read_as_written(tmp_path, anki):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "prices.md").write_bytes("### What does it cost?\nIt costs \\$10, or \\$12 with tax.\n".encode("utf-16"))
    (package,) = build_decks(vault, tmp_path / "build", now=1_800_000_000).packages
    anki.import_package(package.path)
    (note,) = anki.notes()
    assert note["Answer"] == "<p>It costs $10, or $12 with tax.</p>"


def test_settings_errors_are_reported_with_the_markdowns_and_json_is_always_json(tmp_path):
    import json

    vault = write_vault(tmp_path / "vault", {"a.md": "### Q?\n```\n### R?\n", "a.deck.toml": "question_level = 9\n",
                                             "sub/deckgen.toml": 'slug = "x"\n', "sub/b.md": "### S?\ns\n"})
    result = CliRunner().invoke(main, ["check", str(vault)])
    assert result.exit_code == 1
    assert f"{vault / 'a.deck.toml'}:1:1: error: question_level must be between 1 and 6" in result.stdout
    assert f"{vault / 'a.md'}:2:1: error: this code fence is never closed" in result.stdout
    assert (f"{vault / 'sub' / 'deckgen.toml'}:1:1: error: 'slug' is a setting of the whole library: only the "
            "deckgen.toml at its top may set it") in result.stdout
    missing = CliRunner().invoke(main, ["check", "--format", "json", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and json.loads(missing.stdout)["errors"] == 1


def test_every_unknown_setting_is_named_at_once_with_a_suggestion(tmp_path):
    vault = write_vault(tmp_path / "vault", {"a.md": "### Q?\nA.\n", "deckgen.toml": 'colour = "red"\nquestion_levl = 2\n'})
    result = CliRunner().invoke(main, ["check", str(vault)])
    assert result.exit_code == 1
    assert (f"{vault / 'deckgen.toml'}:1:1: error: unknown settings 'colour' (line 1); 'question_levl' (line 2), did "
            "you mean 'question_level'?") in result.stdout


def test_many_warnings_of_one_kind_are_summarised(tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    for i in range(30):  # one a file: 20 listed, and one line for the rest
        (vault / f"deck{i:02}.md").write_text(f"### Empty {i}?\n### Full {i}?\nYes.\n", encoding="utf-8")
    (vault / "a-many.md").write_text("".join(f"### Void {i}?\n" for i in range(40)), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(vault), "-o", str(tmp_path / "build")])
    assert result.exit_code == 0
    assert result.stderr.count("[empty-answer]") == 21
    assert "... and 11 more [empty-answer] (-v lists them all)" in result.stderr  # 31 lines: 20, and 11
    # Forty in one file: said once, with how many more
    assert f"{vault / 'a-many.md'}:1:1: warning: question has no answer: Void 0? [empty-answer] (and 39 more in this " \
           "file: -v lists them)" in result.stderr
    verbose = CliRunner().invoke(main, ["build", str(vault), "-o", str(tmp_path / "build2"), "-v"])
    assert verbose.stderr.count("[empty-answer]") == 70
    other = tmp_path / "other"
    other.mkdir()
    for i in range(30):  # the rest of a kind counts every warning, those said once a file with a count too
        (other / f"deck{i:02}.md").write_text("".join(f"### Empty {i}-{j}?\n" for j in range(5)), encoding="utf-8")
    folded = CliRunner().invoke(main, ["build", str(other), "-o", str(tmp_path / "build3")])
    assert "... and 50 more [empty-answer] (-v lists them all)" in folded.stderr  # 10 files of 5 past the 20th
