"""Notes built by deckgen 0.1 (tests/fixtures/release-0.1) go on as they were: nothing re-stamped, no GUID changed."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from deckgen import build_decks

from conftest import answer_all_due, record_of, reviews_by_card

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
