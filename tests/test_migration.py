"""Notes built by deckgen 0.1 (tests/fixtures/release-0.1) go on as they were: nothing re-stamped, no GUID changed."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from deckgen import build_decks
from deckgen.errors import BuildError

from conftest import answer_all_due, record_of, record_path, reviews_by_card

FIXTURE = Path(__file__).with_name("fixtures") / "release-0.1"
DECKS = ("Fixture::Basics", "Fixture::Cloze")


def legacy_notes(notes: Path) -> dict[str, dict]:
    """GUID -> the note's line in deckgen 0.1's identity files."""
    found = {}
    for path in sorted(notes.glob("*.identity.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        found.update((note["guid"], note) for note in map(json.loads, lines[1:]))
    return found


@pytest.fixture
def upgraded(tmp_path, anki):
    """A collection that imported 0.1's packages in order and was studied; the notes, copied for the upgrade."""
    shutil.copytree(FIXTURE / "notes", tmp_path / "notes")
    for name in ("basics-1.0.0.apkg", "cloze-1.0.0.apkg", "basics-1.0.1.apkg"):
        anki.import_package(FIXTURE / "build" / name)
    for deck in DECKS:
        answer_all_due(anki, deck)
    return tmp_path / "notes", anki


def test_the_first_build_after_the_upgrade_changes_nothing_and_makes_one_package_of_the_library(upgraded, tmp_path):
    notes, _ = upgraded
    before = legacy_notes(notes)
    shutil.copytree(FIXTURE / "build", tmp_path / "build")
    report = build_decks(notes, tmp_path / "build", now=time.time())
    # One package for the library now, its versions going on from the highest 0.1 built: no number comes back.
    # This release's card CSS updates the note types' styling (which no note, and no sync, notices).
    assert [(p.plan.key, p.plan.version, p.plan.changes, p.plan.note_type_change) for p in report.packages] == [
        ("notes", "1.0.2", (), "styling updated")]
    for name in ("basics-1.0.0.apkg", "cloze-1.0.0.apkg", "basics-1.0.1.apkg"):  # 0.1's packages left as they are
        assert (tmp_path / "build" / name).read_bytes() == (FIXTURE / "build" / name).read_bytes()
    record = record_of(notes)
    assert not list(notes.glob("*.identity.jsonl"))  # converted once, then removed
    assert report.created_settings == notes / "deckgen.toml"  # the namespace of the notes it adds from now on
    assert {guid: (n.mtime, n.source, n.question, bool(n.removed)) for guid, n in record.notes.items()} == {
        guid: (n["mtime"], n["source"], n["question"], n.get("removed", False)) for guid, n in before.items()}
    assert {d.deck: d.name for d in record.decks.values()} == {"basics": DECKS[0], "cloze": DECKS[1]}
    again = build_decks(notes, tmp_path / "build", now=time.time())
    assert [(p.plan.version, p.plan.changes) for p in again.packages] == [("1.0.2", ())]


def test_packages_the_new_release_writes_update_nothing_in_a_collection_of_the_old_ones(upgraded, tmp_path):
    notes, anki = upgraded
    reviews = reviews_by_card(anki)
    note_ids = {note.guid: note.id for note in anki.notes()}
    models = sorted(m["name"] for m in anki.col.models.all())
    report = build_decks(notes, tmp_path / "fresh-clone-build", now=time.time())  # no packages of 0.1 here
    for deck in report.packages:
        log = anki.import_package(deck.path)
        assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 0, 0)
    assert {note.guid: note.id for note in anki.notes()} == note_ids
    assert sorted(m["name"] for m in anki.col.models.all()) == models  # no note type forked
    # No deck renamed; the deck with removed notes gains the subdeck where a first-time import puts their cards,
    # empty here, since import moves no card.
    removed_deck = f"{DECKS[0]}::Removed"
    assert sorted(d.name for d in anki.col.decks.all_names_and_ids()) == sorted(
        ["Default", "Fixture", *DECKS, removed_deck])
    assert anki.col.find_cards(f'deck:"{removed_deck}"') == []
    assert reviews_by_card(anki) == reviews
    assert anki.check_database()[1]


def test_after_the_upgrade_an_edit_updates_exactly_its_note(upgraded, tmp_path):
    notes, anki = upgraded
    build_decks(notes, tmp_path / "build", now=time.time())
    deck = notes / "basics.md"
    deck.write_text(deck.read_text(encoding="utf-8").replace("look documents up", "look passages up"),
                    encoding="utf-8")
    report = build_decks(notes, tmp_path / "build", now=time.time() + 5)
    (basics,) = report.packages
    assert basics.path.name == "notes-1.0.3.apkg"
    assert [(c.kind, c.question) for c in basics.plan.changes] == [("changed", "What is RAG?")]
    log = anki.import_package(basics.path)
    assert [n.fields[0] for n in log.updated] == ["What is RAG?"] and len(log.new) == 0


def test_a_damaged_identity_file_of_0_1_stops_the_build_naming_its_line(tmp_path):
    from click.testing import CliRunner

    from deckgen.cli import main

    shutil.copytree(FIXTURE / "notes", tmp_path / "notes")
    path = tmp_path / "notes" / "cloze.identity.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:2] + [lines[2][:30]]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(tmp_path / "notes"), "-o", str(tmp_path / "build")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:3:1: error: damaged identity record: not a JSON record")
    assert not (tmp_path / "notes" / ".deckgen").exists() and len(list((tmp_path / "notes").glob("*.jsonl"))) == 2


# deckgen 0.2 (tests/fixtures/release-0.2): its record read as it is, its delivery record converted once, and
# the first build delivers again exactly the notes whose HTML held what the cleaning now removes.

FIXTURE_0_2 = Path(__file__).with_name("fixtures") / "release-0.2"
CLEANED = ["Which link did 0.2 let through?", "Which sound did 0.2 let through?", "Which box did 0.2 let through?",
           "Which id did 0.2 let through?"]  # and not "Which script did 0.2 remove itself?": 0.2 removed it


def copied_release(fixture: Path, into: Path, built_in: str | None = None) -> tuple[Path, Path]:
    """The fixture's notes and output folder copied into `into`; with `built_in`, the folder the release built
    from, the delivery record deckgen 0.2 kept in the output folder is made to name the copy, as if that release
    had built it there."""
    from deckgen.places import library_tag

    notes, build = into / "notes", into / "build"
    shutil.copytree(fixture / "notes", notes)
    shutil.copytree(fixture / "build", build)
    if built_in is not None:
        (old,) = build.glob(".deckgen-delivered-*.jsonl")
        def field(folder: str) -> str:
            return json.dumps({"library": folder}, separators=(",", ":"))[1:-1]

        text = old.read_text(encoding="utf-8")
        assert field(built_in) in text, f"{old} names another folder than {built_in}"
        old.unlink()
        (build / f".deckgen-delivered-{library_tag(notes)}.jsonl").write_text(
            text.replace(field(built_in), field(str(notes.resolve()))), "utf-8")
    return notes, build


@pytest.fixture
def upgraded_0_2(tmp_path, anki):
    """A collection that imported 0.2's packages in order and was studied; the notes and the output folder as that
    release left them on this machine (its delivery record there names the notes folder it built)."""
    copied_release(FIXTURE_0_2, tmp_path, built_in="/tmp/fix02/notes")
    for name in ("notes-1.0.0.apkg", "notes-1.0.1.apkg"):
        anki.import_package(FIXTURE_0_2 / "build" / name)
    assert sum(answer_all_due(anki, deck) for deck in ("basics", "cloze", "os::memory")) > 0
    return tmp_path / "notes", tmp_path / "build", anki


@pytest.mark.parametrize("output", ["its output folder", "a fresh clone's"])
def test_the_first_build_after_0_2_delivers_again_only_what_the_cleaning_changes(upgraded_0_2, tmp_path, output):
    from conftest import record_path
    from test_someone_elses_notes import dangers

    notes, build, anki = upgraded_0_2
    out = build if output == "its output folder" else tmp_path / "fresh-clone-build"
    before = {note.guid: note for note in anki.notes()}
    reviews, record = reviews_by_card(anki), record_path(notes).read_bytes()
    decks = sorted(d.name for d in anki.col.decks.all_names_and_ids())
    with pytest.raises(BuildError) as refused:  # a note reworded under 0.2, which nothing here shows to be its own
        build_decks(notes, out, now=time.time())
    reworded = [n for n, line in enumerate(record.splitlines(), 1) if b"What does a reranker do?" in line]
    assert [(d.line, d.code) for d in refused.value.diagnostics if d.severity == "error"] == [
        (reworded[0], "foreign-note")]
    (package,) = build_decks(notes, out, now=time.time(), trust_record=True).packages  # the author says so, once
    assert package.plan.version == "1.0.2" and package.plan.note_type_change is None
    assert [(c.kind, c.question, c.cleaned) for c in package.plan.changes] == [
        ("changed", question, True) for question in CLEANED]
    assert "Updated: deckgen's cleaning now removes what Anki would run, load or act on in them (4):" in (
        out / "notes.changelog.md").read_text(encoding="utf-8")
    log = anki.import_package(package.path)
    assert sorted(n.fields[0] for n in log.updated) == sorted(CLEANED)
    assert (len(log.new), len(log.conflicting)) == (0, 0)
    after = {note.guid: note for note in anki.notes()}
    assert after.keys() == before.keys() and all(after[g].id == before[g].id for g in before)  # no GUID changed
    assert [g for g in before if after[g].fields != before[g].fields] == [
        g for g in before if before[g].fields[0] in CLEANED]
    assert all(dangers(field) == [] for note in after.values() for field in note.fields)
    assert sorted(d.name for d in anki.col.decks.all_names_and_ids()) == decks  # no deck renamed, none added
    assert reviews_by_card(anki) == reviews and anki.check_database()[1]
    # The record is read as it was (format 2): its lines stay, but for the notes delivered again.
    kept = set(record.splitlines()[1:]) & set(record_path(notes).read_bytes().splitlines())
    assert len(kept) == len(record.splitlines()) - 1 - len(CLEANED) - 1  # and the package's line
    if output == "its output folder":  # converted once: what 0.2 delivered is this machine's from now on
        from deckgen.identify.delivered import read_delivered

        assert not list(build.glob(".deckgen-delivered-*.jsonl"))
        delivered = read_delivered(notes, record_path(notes).read_bytes())
        assert delivered.vouches and sorted(delivered.versions["notes"]) == ["1.0.0", "1.0.1", "1.0.2"]
    again = build_decks(notes, out, now=time.time() + 5).packages[0]
    assert (again.plan.version, again.plan.changes) == ("1.0.2", ())


# deckgen 0.2's cloze deck (tests/fixtures/release-0.2-cloze): what Anki's cloze filter made of its fields on
# cards (a hint played as a sound, a \href joined across a deletion) is cleaned, and only those notes change.

FIXTURE_0_2_CLOZE = Path(__file__).with_name("fixtures") / "release-0.2-cloze"


def test_the_first_build_after_0_2_delivers_again_the_cloze_notes_whose_cards_anki_made_live(tmp_path, anki):
    from test_someone_elses_notes import dangers, what_anki_cards_show

    notes, build = copied_release(FIXTURE_0_2_CLOZE, tmp_path, built_in="/tmp/fix02c/notes")
    anki.import_package(build / "deck-1.0.0.apkg")
    assert answer_all_due(anki, "deck") == 6
    live = [side for side in what_anki_cards_show(anki) if dangers(side)]
    assert any("[anki:play" in side for side in live) and any("\\href{javascript" in side for side in live)
    before, reviews = {note.guid: note for note in anki.notes()}, reviews_by_card(anki)

    (package,) = build_decks(notes, build, now=time.time()).packages
    assert [(c.kind, c.question, c.cleaned) for c in package.plan.changes] == [
        ("changed", "Sound hint?", True), ("changed", "Split href?", True)]
    log = anki.import_package(package.path)
    assert sorted(n.fields[0] for n in log.updated) == ["Sound hint?", "Split href?"] and not log.new
    after = {note.guid: note for note in anki.notes()}
    assert after.keys() == before.keys()  # no GUID changed
    assert [after[g].fields[0] for g in before if after[g].fields != before[g].fields] == ["Sound hint?", "Split href?"]
    assert [side for side in what_anki_cards_show(anki) if dangers(side)] == []
    assert reviews_by_card(anki) == reviews and anki.check_database()[1]


# deckgen 0.3.0 (tests/fixtures/release-0.3): read as it is; the first build after the upgrade delivers again
# only the note whose heading held two attribute blocks, which that release showed one of on the card.

FIXTURE_0_3 = Path(__file__).with_name("fixtures") / "release-0.3"


def test_the_first_build_after_0_3_changes_only_the_heading_whose_id_the_card_showed(tmp_path, anki):
    notes, build = copied_release(FIXTURE_0_3, tmp_path)
    for version in ("1.0.0", "1.0.1"):
        anki.import_package(build / f"notes-{version}.apkg")
    answer_all_due(anki, "ml::basics")
    answer_all_due(anki, "os::memory")
    before, reviews = {note.guid: note for note in anki.notes()}, reviews_by_card(anki)
    decks = sorted(anki.col.decks.all_names_and_ids(), key=lambda d: d.name)
    shown = [n["Question"] for n in before.values() if "{" in n["Question"]]
    assert shown == ["What was QUIC called at first? {#quic-name}"]
    record = record_path(notes).read_bytes()

    report = build_decks(notes, build, now=time.time())
    (package,) = report.packages
    assert [(c.kind, c.question) for c in package.plan.changes] == [("renamed", "What was QUIC called at first?")]
    assert not [d for d in report.diagnostics if d.code in ("unknown-was", "unknown-attribute", "restored")]
    log = anki.import_package(package.path)
    assert [n.fields[0] for n in log.updated] == ["What was QUIC called at first?"] and not log.new
    after = {note.guid: note for note in anki.notes()}
    assert after.keys() == before.keys()  # no GUID changed
    changed = [g for g in before if after[g].fields != before[g].fields or after[g].tags != before[g].tags]
    assert [after[g]["Question"] for g in changed] == ["What was QUIC called at first?"]
    recorded = {note.question: note for note in record_of(notes).notes.values()}
    assert recorded["What was QUIC called at first?"].explicit_id == "quic-name"
    assert sorted(anki.col.decks.all_names_and_ids(), key=lambda d: d.name) == decks  # no deck renamed or added
    assert reviews_by_card(anki) == reviews and anki.check_database()[1]
    old_lines = set(record.splitlines())
    new_lines = [line for line in record_path(notes).read_bytes().splitlines()
                 if line not in old_lines]
    # The format line (this deckgen's), the package's line and that note's alone.
    assert len(new_lines) == 3 and new_lines[0] == b'{"deckgen_identity":4}' and b"quic-name" in new_lines[2]


# deckgen 0.3.2 (tests/fixtures/release-0.3.2): the last release that split files by its own line scanner. The first
# build that reads them as CommonMark does lists each note whose answer that changes, updates exactly those, keeps
# every GUID (an answer and its sections may change at once), and adds the questions the scanner could not see.

FIXTURE_0_3_2 = Path(__file__).with_name("fixtures") / "release-0.3.2"


def test_the_first_build_read_as_commonmark_updates_exactly_the_notes_whose_answers_it_changes(tmp_path, anki):
    notes, build = copied_release(FIXTURE_0_3_2, tmp_path)
    anki.import_package(build / "notes-1.0.0.apkg")
    for deck in ("interview", "quiz", "cases"):
        answer_all_due(anki, deck)
    before, reviews = {note.guid: note for note in anki.notes()}, reviews_by_card(anki)
    assert len(before) == 7 and len(reviews) == 7

    report = build_decks(notes, build, now=time.time())
    (package,) = report.packages
    listed = sorted((d.path.name, d.line) for d in report.diagnostics if d.code == "structure-changed")
    assert listed == [("interview.md", 3), ("quiz.md", 5), ("quiz.md", 26)]
    toc = next(d for d in report.diagnostics if d.code == "structure-changed" and d.path.name == "interview.md")
    assert "answer is now lines 5–7 (it was lines 5–27)" in toc.message
    log = anki.import_package(package.path)
    after = {note.guid: note for note in anki.notes()}
    assert before.keys() <= after.keys()  # no GUID changed
    assert sorted(n.fields[0] for n in log.updated) == [
        "1. What's the output?", "2. What is 0.1 + 0.2 === 0.3?", "Table of Contents"]
    assert sorted(n.fields[0] for n in log.new) == [
        "What does typeof null give?", "What is a closure?", "What is hoisting?"]
    quiz = BeautifulSoup(after[next(g for g in before if before[g]["Question"].startswith("1."))]["Answer"],
                         "html.parser")
    assert quiz.find("details").find("h4").get_text() == "Answer: A" and "Answer_A" not in " ".join(
        after[next(g for g in before if before[g]["Question"].startswith("2."))].tags)
    assert reviews_by_card(anki) == reviews and anki.check_database()[1]

    again = build_decks(notes, build, now=time.time())
    assert not [d for d in again.diagnostics if d.code == "structure-changed"]
    assert not again.packages[0].plan.changes
