"""A question that does not identify its card alone ("Def" under ten lectures) shows its section path above it."""

from __future__ import annotations

import textwrap
import time

from bs4 import BeautifulSoup

from deckgen import build_decks

from conftest import record_path, write_deck

LECTURES = """\
    # Analysis
    ## Lecture 1: Limits
    ### Def
    A limit is what a sequence approaches.
    ### Examples
    1/n tends to 0.
    ## Lecture 2: `Series`
    ### Def
    A series is a sum of a sequence's terms.
    ### Theorem?
    Comparison.
    """


def fronts(anki) -> dict[str, str]:
    return {BeautifulSoup(n["Question"], "html.parser").get_text("|"): n["Answer"] for n in anki.notes()}


def test_a_question_asked_again_elsewhere_in_the_deck_shows_its_sections(tmp_path, anki):
    write_deck(tmp_path / "notes", "analysis", LECTURES)
    (package,) = build_decks(tmp_path / "notes", tmp_path / "build").packages
    anki.import_package(package.path)
    shown = fronts(anki)
    # The file's title is above every question, so it tells nothing; the lecture does.
    assert set(shown) == {"Lecture 1: Limits|Def", "Lecture 2: |Series|Def", "Examples", "Theorem?"}
    question = next(n["Question"] for n in anki.notes() if "Limits" in n["Question"])
    assert question == '<small class="dg-context">Lecture 1: Limits</small><br>Def'


def test_question_context_always_or_never(tmp_path):
    for setting, expected in (("always", {"Lecture 1: Limits|Def", "Lecture 1: Limits|Examples",
                                          "Lecture 2: |Series|Def", "Lecture 2: |Series|Theorem?"}),
                              ("never", {"Def", "Examples", "Theorem?"})):
        write_deck(tmp_path / setting, "analysis", LECTURES, f'question_context = "{setting}"\n')
        (package,) = build_decks(tmp_path / setting, tmp_path / f"build-{setting}").packages
        assert {BeautifulSoup(n.fields[0], "html.parser").get_text("|") for n in package.plan.package.notes} \
            == expected


def test_the_context_reaches_existing_cards_only_through_rerender(tmp_path, monkeypatch):
    from deckgen.render import cache

    notes = tmp_path / "notes"
    write_deck(notes, "analysis", LECTURES, 'question_context = "never"\n')  # as the previous release showed them
    build_decks(notes, tmp_path / "build", now=time.time())
    record = record_path(notes).read_text(encoding="utf-8")
    (notes / "analysis.deck.toml").unlink()
    monkeypatch.setattr(cache, "RENDER_VERSION", cache.RENDER_VERSION + 1)  # the release that brings it
    report = build_decks(notes, tmp_path / "build", now=time.time())
    (package,) = report.packages
    assert not package.plan.changes and package.plan.rerender_pending == 2  # the two "Def"s, not re-stamped
    assert [line for line in record_path(notes).read_text(encoding="utf-8").splitlines()
            if line not in record.splitlines() and '"guid"' in line] == []
    rerendered = build_decks(notes, tmp_path / "build", now=time.time(), rerender=True)
    assert sorted(c.question for c in rerendered.packages[0].plan.changes) == ["Def", "Def"]


def test_a_heading_asked_again_in_another_section_is_no_duplicate(tmp_path):
    from deckgen.build import check_library

    write_deck(tmp_path / "notes", "analysis", textwrap.dedent(LECTURES) + "### Def\nTwice in lecture 2.\n")
    duplicates = [d.line for d in check_library(tmp_path / "notes").diagnostics if d.code == "duplicate-question"]
    assert duplicates == [12]  # the second "Def" of lecture 2, not lecture 1's


def test_a_question_asked_in_another_deck_too_shows_its_decks_name(tmp_path, anki):
    write_deck(tmp_path / "notes", "Binary Search", "### Implementation\nHalve the range.\n### Cost?\nlog n.\n")
    write_deck(tmp_path / "notes", "Bubble Sort", "### Implementation\nSwap neighbours.\n")
    (package,) = build_decks(tmp_path / "notes", tmp_path / "build").packages
    anki.import_package(package.path)
    assert set(fronts(anki)) == {"Binary Search|Implementation", "Bubble Sort|Implementation", "Cost?"}
