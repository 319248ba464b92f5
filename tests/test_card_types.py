"""Opt-in card types: reversed cards and cloze notes, each its own frozen note type, in real Anki."""

from __future__ import annotations

import re

from click.testing import CliRunner

from deckgen import build_decks
from deckgen.build import check_library
from deckgen.cli import main
from deckgen.errors import BuildError
from deckgen.identify.note_types import CLOZE, REVERSED

from conftest import write_deck


def test_reversed_cards_ask_both_ways(tmp_path, anki):
    write_deck(tmp_path / "src", "deck", "### LoRA\nLow-rank adaptation\n### RAG\nRetrieval-augmented generation\n",
               'cards = "basic-and-reversed"\n')
    report = build_decks(tmp_path / "src", tmp_path / "out", now=1_800_000_000)
    log = anki.import_package(report.packages[0].path)
    assert len(log.new) == 2
    assert anki.col.card_count() == 4
    model = anki.col.models.get(REVERSED.model_id)
    assert [t["name"] for t in model["tmpls"]] == ["Recall", "Reverse"]
    reverse = next(anki.col.get_card(c) for c in anki.col.find_cards("card:Reverse RAG"))
    assert "Retrieval-augmented generation" in reverse.question() and "RAG" in reverse.answer()
    assert anki.check_database()[1]


def test_cloze_notes_make_one_card_per_deletion(tmp_path, anki):
    write_deck(tmp_path / "src", "deck", (
        "### Attention\nsoftmax of {{c1::QK^T / sqrt(d)}} times {{c2::V::values}}\n"
        "### LoRA\nLoRA trains {{c1::two low-rank matrices}}.\n"), 'cards = "cloze"\n')
    report = build_decks(tmp_path / "src", tmp_path / "out", now=1_800_000_000)
    log = anki.import_package(report.packages[0].path)
    assert len(log.new) == 2 and anki.col.card_count() == 3
    assert anki.col.models.get(CLOZE.model_id)["type"] == 1  # Anki's cloze kind
    card = anki.col.get_card(anki.col.find_cards("LoRA")[0])
    assert "two low-rank matrices" not in card.question() and "two low-rank matrices" in card.answer()
    assert anki.check_database()[1]


def test_the_preview_shows_each_cloze_card_as_anki_does(tmp_path, anki):
    write_deck(tmp_path / "src", "deck", (
        "### Attention\nsoftmax of {{c1::QK^T / sqrt(d)}} times {{c2::V::values}}, {{c1,2::both}}\n"), 'cards = "cloze"\n')
    report = build_decks(tmp_path / "src", tmp_path / "out")
    anki.import_package(report.packages[0].path)
    result = CliRunner().invoke(main, ["preview", str(tmp_path / "src"), "-o", str(tmp_path / "preview")])
    assert result.exit_code == 0, result.output
    page = next((tmp_path / "preview").glob("*-preview.html")).read_text(encoding="utf-8")
    shown = 0
    for card_id in anki.col.find_cards(""):
        output = anki.col.get_card(card_id).render_output(reload=True)
        for side in (output.question_text, output.answer_text):
            for deletion in re.findall(r'<span class="cloze[^>]*>[^<]*</span>', side):
                assert deletion in page
                shown += 1
    assert shown == 2 * 3 * 2  # two cards, three deletions, front and back


def test_a_cloze_note_without_a_deletion_is_an_error(tmp_path):
    write_deck(tmp_path / "src", "deck", "### Q\nNo deletion here.\n", 'cards = "cloze"\n')
    diagnostics = check_library(tmp_path / "src").diagnostics
    assert [(d.line, d.code, d.severity) for d in diagnostics] == [(2, "no-cloze", "error")]


def test_switching_card_type_later_is_a_note_type_fork(tmp_path):
    write_deck(tmp_path / "src", "deck", "### LoRA\nLow-rank adaptation\n")
    build_decks(tmp_path / "src", tmp_path / "out", now=1_800_000_000)
    (tmp_path / "src" / "deck.deck.toml").write_text('cards = "basic-and-reversed"\n')
    try:
        build_decks(tmp_path / "src", tmp_path / "out", now=1_800_000_100)
    except BuildError as err:
        assert [d.code for d in err.diagnostics] == ["note-type-fork"]
    else:
        raise AssertionError("switching the card type must not build silently")


def test_a_new_note_type_on_purpose_imports_every_note_afresh(tmp_path, anki):
    write_deck(tmp_path / "src", "deck", "### LoRA\nLow-rank {{c1::adaptation}}\n### RAG\nRetrieval {{c1::first}}\n")
    first = build_decks(tmp_path / "src", tmp_path / "out", now=1_800_000_000).packages[0]
    assert len(anki.import_package(first.path).new) == 2
    (tmp_path / "src" / "deck.deck.toml").write_text('cards = "cloze"\n')
    second = build_decks(tmp_path / "src", tmp_path / "out", now=1_800_000_100, allow_new_note_type=True)
    assert [d.code for d in second.diagnostics] == ["note-type-fresh-start"]
    log = anki.import_package(second.packages[0].path)
    assert (len(log.new), len(log.conflicting)) == (2, 0)
    assert anki.col.note_count() == 4 and len(anki.col.find_cards(f"mid:{CLOZE.model_id}")) == 2
    third = build_decks(tmp_path / "src", tmp_path / "out", now=1_800_000_200).packages[0]  # and then as usual
    assert third.plan.changes == () and third.plan.version == second.packages[0].plan.version
    assert anki.check_database()[1]
