"""Reorganising a library keeps every note and its history, proven in a real collection with reviews."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deckgen import build_decks
from deckgen.errors import BuildError
from conftest import answer_all_due, record_of, reviews_by_card

T = 1_800_000_000
OS = {"What is a process?": "A program in execution.", "What is a thread?": "A path of execution in a process.",
      "What is a page?": "A fixed-size block of memory.", "What is a TLB?": "A cache of page translations.",
      "What is a syscall?": "A request to the kernel.", "What is an inode?": "A file's metadata on disk."}
RAID = {"What is RAID?": "Disks combined for speed or safety."}


def markdown(questions) -> str:
    return "".join(f"### {q}\n{a}\n\n" for q, a in questions.items())


def write(root: Path, files: dict[str, dict]) -> None:
    for relative, questions in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown(questions), encoding="utf-8")


def first(questions: dict, *names: str) -> dict:
    return {q: questions[q] for q in names}


def split(src: Path) -> None:  # os/all.md grows, and becomes three files
    (src / "os" / "all.md").unlink()
    write(src, {"os/processes.md": first(OS, "What is a process?", "What is a thread?"),
                "os/memory.md": first(OS, "What is a page?", "What is a TLB?"),
                "os/files.md": first(OS, "What is a syscall?", "What is an inode?")})


def move_question(src: Path) -> None:
    write(src, {"os/all.md": {q: a for q, a in OS.items() if q != "What is an inode?"},
                "storage/disks.md": {**RAID, **first(OS, "What is an inode?")}})


MOVES = {  # what the user does, and which questions end up in which Anki deck
    "question to another file": (move_question, {"What is an inode?": "storage::disks"}),
    "file renamed": (lambda src: (src / "os" / "all.md").rename(src / "os" / "basics.md"),
                     {q: "os::basics" for q in OS}),
    "file moved": (lambda src: (src / "systems").mkdir() or (src / "os" / "all.md").rename(src / "systems" / "all.md"),
                   {q: "systems::all" for q in OS}),
    "folder renamed": (lambda src: (src / "os").rename(src / "operating-systems"),
                       {q: "operating-systems::all" for q in OS}),
    "file split into three": (split, {**{q: "os::processes" for q in list(OS)[:2]},
                                      **{q: "os::memory" for q in list(OS)[2:4]},
                                      **{q: "os::files" for q in list(OS)[4:]}}),
}


@pytest.mark.parametrize("move", MOVES)
def test_a_move_keeps_every_note_and_its_history_and_says_how_to_move_the_cards(tmp_path, anki, move):
    src, out = tmp_path / "notes", tmp_path / "build"
    write(src, {"os/all.md": OS, "storage/disks.md": RAID})
    (v1,) = build_decks(src, out, now=T).packages
    anki.import_package(v1.path)
    answer_all_due(anki, "os::all")
    ids, reviews, guids = {n["Question"]: n.id for n in anki.notes()}, reviews_by_card(anki), set(record_of(src).notes)
    action, moved = MOVES[move]
    action(src)

    report = build_decks(src, out, now=T + 100)
    (v2,) = report.packages
    assert {c.kind for c in v2.plan.changes} == {"changed"}  # the card's source follows the question
    assert {c.question for c in v2.plan.changes} == set(moved)
    assert set(record_of(src).notes) == guids
    log = anki.import_package(v2.path)
    assert not log.new and not log.conflicting
    assert {n["Question"]: n.id for n in anki.notes()} == ids and reviews_by_card(anki) == reviews

    # Anki kept the cards in "os::all"; the build said which moved, and the search it gave finds exactly them.
    warnings = [d for d in report.diagnostics if d.code == "deck-changed"]
    assert {re.search(r"into '(.*?)'", d.message).group(1) for d in warnings} == set(moved.values())
    col = anki.col
    for warning in warnings:
        search = re.search(r"Browse for (.*), select them all", warning.message).group(1)
        found = {col.get_note(nid)["Question"] for nid in col.find_notes(search)}
        target = re.search(r"into '(.*?)'", warning.message).group(1)
        assert found == {q for q, deck in moved.items() if deck == target}
        col.set_deck([cid for nid in col.find_notes(search) for cid in col.card_ids_of_note(nid)],
                     col.decks.id(target))  # Cards > Change Deck
    for question, deck in moved.items():
        (note,) = [n for n in anki.notes() if n["Question"] == question]
        assert {col.decks.name(card.did) for card in note.cards()} == {deck}
    assert anki.check_database()[1]


def test_the_search_for_moved_notes_finds_questions_with_formatting_too(tmp_path, anki):
    src, out = tmp_path / "notes", tmp_path / "build"
    tricky = {"What does `x_y` \"quoted\" mean (C*)?": "A name.", "Is 5 < 6 & 7 > 3: *really*?": "Yes."}
    write(src, {"a.md": tricky, "b.md": first(OS, "What is a page?")})
    anki.import_package(build_decks(src, out, now=T).packages[0].path)
    write(src, {"a.md": {}, "b.md": {**first(OS, "What is a page?"), **tricky}})
    report = build_decks(src, out, now=T + 100)
    anki.import_package(report.packages[0].path)
    (warning,) = [d for d in report.diagnostics if d.code == "deck-changed"]
    search = re.search(r"Browse for (.*), select them all", warning.message).group(1)
    assert len(anki.col.find_notes(search)) == 2


def two_decks_with_ids(tmp_path) -> tuple[Path, Path]:
    """A library of two files, a question with an explicit id in each, built once."""
    src, out = tmp_path / "notes", tmp_path / "build"
    src.mkdir()
    (src / "a.md").write_text("### One? {#shared}\n1\n", encoding="utf-8")
    (src / "b.md").write_text("### Two? {#other}\n2\n", encoding="utf-8")
    build_decks(src, out, now=T)
    return src, out


def test_explicit_ids_are_unique_in_the_library(tmp_path):
    src, out = two_decks_with_ids(tmp_path)
    (src / "b.md").write_text("### Two? {#shared}\n2\n", encoding="utf-8")  # a new duplicate: an error
    with pytest.raises(BuildError) as failure:
        build_decks(src, out, now=T + 10)
    (error,) = [d for d in failure.value.diagnostics if d.code == "duplicate-id"]
    assert error.severity == "error" and f"also used at {src / 'a.md'}:1" in error.message


def test_an_id_two_decks_already_share_keeps_working_with_a_warning(tmp_path):
    src, out = two_decks_with_ids(tmp_path)
    record = src / ".deckgen" / "identity.jsonl"  # as deckgen 0.1, whose ids were per deck, left it
    record.write_text(record.read_text().replace('"explicit_id":"other"', '"explicit_id":"shared"'))
    (src / "b.md").write_text("### Two? {#shared}\n2\n", encoding="utf-8")
    report = build_decks(src, out, now=T + 10)
    (warning,) = [d for d in report.diagnostics if d.code == "duplicate-id"]
    assert warning.severity == "warning" and "both keep working" in warning.message
    assert {n.question for n in record_of(src).notes.values()} == {"One?", "Two?"}


def test_several_files_may_feed_one_deck(tmp_path, anki):
    src, out = tmp_path / "notes", tmp_path / "build"
    write(src, {"a.md": first(OS, "What is a process?"), "b.md": first(OS, "What is a page?")})
    for name in ("a", "b"):
        (src / f"{name}.deck.toml").write_text('name = "Systems"\n', encoding="utf-8")
    (package,) = build_decks(src, out, now=T).packages
    anki.import_package(package.path)
    col = anki.col
    assert {col.decks.name(col.get_card(cid).did) for cid in col.find_cards("")} == {"Systems"}
    (src / "b.deck.toml").write_text('name = "systems"\n', encoding="utf-8")  # the same deck to Anki, by case
    with pytest.raises(BuildError) as failure:
        build_decks(src, out, now=T + 10)
    assert any(d.code == "clash" and "in another case" in d.message for d in failure.value.diagnostics)


def test_a_file_deck_and_a_folder_deck_named_alike_but_for_case_are_a_clash(tmp_path):
    """coding/Python.md is the deck coding::Python, coding/python/x.md the deck coding::python::x: Anki puts
    the second under the first, as it takes names in any case for one deck."""
    src = tmp_path / "notes"
    write(src, {"coding/Python.md": first(OS, "What is a process?"), "coding/python/x.md": first(OS, "What is a page?")})
    with pytest.raises(BuildError) as failure:
        build_decks(src, tmp_path / "build", now=T)
    assert any(d.code == "clash" and "deck name 'coding::python' is also used by" in d.message
               and "in another case" in d.message for d in failure.value.diagnostics)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_two_branches_adding_questions_merge_without_a_conflict_and_keep_both_sets_of_guids(tmp_path):
    repo, out = tmp_path / "notes", tmp_path / "build"
    write(repo, {"os.md": first(OS, "What is a process?")})

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                              check=True, capture_output=True, text=True).stdout

    git("init", "-q", "-b", "main")
    build_decks(repo, out, now=T)
    git("add", "-A")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "other")
    write(repo, {"os.md": first(OS, "What is a process?", "What is a thread?")})
    build_decks(repo, tmp_path / "their-build", now=T + 10)
    git("commit", "-qam", "theirs")
    theirs = set(record_of(repo).notes)
    git("checkout", "-q", "main")
    write(repo, {"os.md": first(OS, "What is a process?", "What is a page?")})
    build_decks(repo, out, now=T + 20)
    git("commit", "-qam", "ours")
    ours = set(record_of(repo).notes)
    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "merge", "-q",
                             "--no-edit", "other"], cwd=repo, capture_output=True, text=True)
    conflicts = git("diff", "--name-only", "--diff-filter=U")
    assert ".deckgen/identity.jsonl" not in conflicts  # the record merges by itself (merge=union)
    if result.returncode != 0:  # the Markdown itself conflicts (both added after the same line): resolve it
        write(repo, {"os.md": first(OS, "What is a process?", "What is a thread?", "What is a page?")})
        git("commit", "-qam", "merged")
    (merged,) = build_decks(repo, out, now=T + 30).packages
    assert set(record_of(repo).notes) == ours | theirs and len(ours | theirs) == 3
    assert not [c for c in merged.plan.changes if c.kind == "new"]
