"""End to end: the first deck, built from source/ and imported into a real Anki collection."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import deckgen
from conftest import read_record

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "source" / "llm-interview.md"
LIST_LINE_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
HEADING_RE = re.compile(r"^#{1,3}(?:\s|$)")


def source_answers() -> dict[int, list[str]]:
    """Straight from the file: each question's heading line -> its non-blank answer lines."""
    answers: dict[int, list[str]] = {}
    current = None
    for number, line in enumerate(SEED.read_text(encoding="utf-8").split("\n"), start=1):
        if HEADING_RE.match(line):
            current = number if line.startswith("### ") else None
            if current:
                answers[current] = []
        elif current and line.strip():
            answers[current].append(line)
    return answers


def text_lines(html: str) -> list[str]:
    """The lines a reader sees: every <br> and block boundary breaks a line."""
    soup = BeautifulSoup(html, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    return [line.strip() for line in soup.get_text("\n").split("\n") if line.strip()]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from conftest import AnkiProfile

    tmp = tmp_path_factory.mktemp("seed")
    shutil.copytree(ROOT / "source", tmp / "source")
    report = deckgen.build_decks(tmp / "source", tmp / "build")
    (apkg,) = [d.path for d in report.packages]
    profile = AnkiProfile(tmp / "collection.anki2")
    log = profile.import_package(apkg)
    yield apkg, log, profile
    profile.close()


def test_one_versioned_package_and_the_committed_identities_are_up_to_date(imported):
    apkg, _, _ = imported
    committed = ROOT / "source" / ".deckgen" / "identity.jsonl"
    version = read_record(committed).packages["llm-interview"].version
    assert apkg.name == f"llm-interview-{version}.apkg"
    assert [p.name for p in apkg.parent.glob("*.apkg")] == [apkg.name]
    # Building the committed sources changes nothing: the identity record in git matches them.
    assert (apkg.parent.parent / "source" / ".deckgen" / committed.name).read_bytes() == committed.read_bytes()
    settings = ROOT / "source" / "deckgen.toml"  # committed with its namespace: no build writes it again
    assert (apkg.parent.parent / "source" / settings.name).read_bytes() == settings.read_bytes()


def test_all_notes_import_as_new(imported):
    _, log, profile = imported
    assert (len(log.new), len(log.updated), len(log.duplicate), len(log.conflicting)) == (106, 0, 0, 0)
    assert profile.col.note_count() == 106
    assert profile.col.card_count() == 106


def test_every_answer_shows_what_the_author_wrote(imported):
    _, _, profile = imported
    answers = source_answers()
    assert len(answers) == 106
    for note in profile.notes():
        line = int(note["Source"].rsplit(":", 1)[1])
        source_lines = answers[line]
        html = note["Answer"]
        assert html.count("<li>") == sum(bool(LIST_LINE_RE.match(s)) for s in source_lines), line
        assert text_lines(html) == [LIST_LINE_RE.sub("", s).strip() for s in source_lines], line


def test_every_note_has_a_topic_beyond_its_section(imported):
    _, _, profile = imported
    for note in profile.notes():
        assert "题集" in note.tags
        assert any(tag.startswith("topic::") for tag in note.tags), note["Question"]


def test_duplicate_question_gives_two_distinct_notes(imported):
    _, _, profile = imported
    same = [n for n in profile.notes() if n["Question"] == "有哪些省内存的大语言模型训练/微调/推理方法？"]
    assert sorted(n["Source"] for n in same) == ["llm-interview.md:324", "llm-interview.md:632"]
    assert len({n.guid for n in same}) == 2
    assert same[0]["Answer"] != same[1]["Answer"]


def test_deck_description_holds_every_reference_link(imported):
    _, _, profile = imported
    deck = profile.col.decks.by_name("LLM Interview Questions")
    links = BeautifulSoup(deck["desc"], "html.parser").find_all("a")
    assert len(links) == 12
    assert all(a["href"].startswith("https://") and a["href"] == a.get_text() for a in links)
    version = read_record(ROOT / "source" / ".deckgen" / "identity.jsonl").packages["llm-interview"].version
    assert f"Version {version}" in deck["desc"]


def test_check_database_is_ok(imported):
    _, _, profile = imported
    _, ok = profile.check_database()
    assert ok
    assert profile.col.note_count() == 106


def test_without_its_identity_record_a_deck_gets_its_guids_back_from_the_namespace(tmp_path):
    # New GUIDs come from the folder's namespace (its committed deckgen.toml), the deck and the question text:
    # losing the identity record costs no review history of notes first built with a namespace.
    shutil.copytree(ROOT / "source", tmp_path / "source", ignore=shutil.ignore_patterns(".deckgen"))
    deckgen.build_decks(tmp_path / "source", tmp_path / "build")
    first = read_record(tmp_path / "source" / ".deckgen" / "identity.jsonl")
    shutil.rmtree(tmp_path / "source" / ".deckgen")
    deckgen.build_decks(tmp_path / "source", tmp_path / "build")
    again = read_record(tmp_path / "source" / ".deckgen" / "identity.jsonl")
    assert sorted((n.question, n.guid) for n in again.notes.values()) == \
        sorted((n.question, n.guid) for n in first.notes.values())
    # The seed's own GUIDs were minted by deckgen 0.1, before namespaces: only its record knows them.
    committed = {n.guid for n in read_record(ROOT / "source" / ".deckgen" / "identity.jsonl").notes.values()}
    assert len(committed) == 106 and not committed & {n.guid for n in first.notes.values()}
