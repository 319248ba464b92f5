"""`deliver.edits`: an edit made in Anki carried back onto the Markdown, checked by rendering it again.

The property test edits the answers of the seed deck as a person would in Anki (bench/anki_edits.py), at random
places, and asks of every kind that what is carried over renders to what Anki holds and changes the Markdown only
where the edit is; of typos and added sentences, that every one is carried over.
"""

from __future__ import annotations

import difflib
import random
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckgen.deliver.edits import carry_edit, normal_form
from deckgen.parse.questions import parse_decks
from deckgen.render.media import MediaResolver
from deckgen.render.renderer import MarkdownRenderer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from anki_edits import KINDS  # noqa: E402

RENDERER = MarkdownRenderer(MediaResolver(ROOT / "source"))


def render(markdown: str) -> str:
    return RENDERER.render(markdown).html


@lru_cache(maxsize=1)
def seed_answers() -> list[str]:
    from deckgen.sources.library import find_library, read_decks

    library = find_library(ROOT / "source", ROOT / "build")
    parsed = parse_decks(read_decks(library), library.settings.prefix)
    return [question.answer for deck in parsed.decks for question in deck.questions if question.answer]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(KINDS)), which=st.integers(min_value=0), seed=st.integers(0, 2 ** 32))
def test_an_edit_of_any_kind_is_carried_over_only_as_what_renders_to_ankis_copy(kind, which, seed):
    answers = seed_answers()
    markdown = answers[which % len(answers)]
    delivered = render(markdown)
    edited = KINDS[kind](delivered, random.Random(seed))
    if edited is None:
        return
    carried = carry_edit(markdown, delivered, edited, render)
    if kind in ("typo", "sentence"):
        assert carried is not None, (markdown, edited)
    if carried is None:
        return
    assert normal_form(render(carried)) == normal_form(edited)
    changed = [code for code in difflib.SequenceMatcher(None, markdown, carried, autojunk=False).get_opcodes()
               if code[0] != "equal"]
    touched = sum(max(i2 - i1, j2 - j1) for _, i1, i2, j1, j2 in changed)
    assert touched <= len(edited) - len(delivered) + 40  # the edit's own size, give or take the markup around it


@pytest.mark.parametrize("markdown, change, expected", [
    ("A fast cta.", lambda h: h.replace("cta", "cat"), "A fast cat."),
    ("Costs 2 of 3.", lambda h: h.replace("2 of 3", "2*3 and 4*5"), "Costs 2*3 and 4\\*5."),  # escaped where it must be
    ("大模形很大。", lambda h: h.replace("模形", "模型"), "大模型很大。"),
    ("- one\n- two", lambda h: h.replace("<li>two</li>", "<li>two</li>\n<li>three</li>"), "- one\n- two\n- three"),
    ("1. one\n2. two", lambda h: h.replace("<li>two</li>", "<li>two</li>\n<li>three</li>"),
     "1. one\n2. two\n3. three"),
    ("Use the force.", lambda h: h.replace("force", "<b>force</b>"), "Use the **force**."),
    ("See the docs.", lambda h: h.replace("docs", '<a href="https://example.org">docs</a>'),
     "See the [docs](https://example.org)."),
    ("First.", lambda h: h.replace("First.", "First.<br>Second."), "First.\nSecond."),
    ("Area $\\pi r^2$.", lambda h: h.replace("r^2", "r^3"), "Area $\\pi r^3$."),
    ("A set.\n\nIt is mutable.\n\n- x\n- y", lambda h: h.replace("<p>It is mutable.</p>", ""),
     "A set.\n\n- x\n- y"),  # no run of blank lines where the paragraph was
])
def test_each_kind_of_edit_becomes_the_markdown_a_person_would_write(markdown, change, expected):
    assert carry_edit(markdown, render(markdown), change(render(markdown)), render) == expected


def test_the_text_of_a_wiki_link_is_never_changed_for_an_edit_of_what_it_shows():
    markdown = "See [[Other Note]] and [[Tuple]] here."
    delivered = render(markdown)
    assert "Other Note" in delivered and "[[" not in delivered
    assert carry_edit(markdown, delivered, delivered.replace("Other Note", "Another Note"), render) is None
    assert carry_edit(markdown, delivered, delivered.replace("here", "there"), render) == \
        "See [[Other Note]] and [[Tuple]] there."


def test_an_edit_that_renders_otherwise_is_not_carried_over():
    markdown = "A fast cat."
    styled = render(markdown).replace("fast", '<span style="color: red">fast</span>')
    assert carry_edit(markdown, render(markdown), styled, render) is None
    # Markdown that does not render to what was delivered (another deckgen's rendering): no base to read from.
    assert carry_edit(markdown, "<p>Something else.</p>", "<p>Something else!</p>", render) is None


def test_the_normal_form_leaves_out_only_what_does_not_change_the_card():
    assert normal_form("<p><b>a</b>&nbsp;<i>b</i><br/>\nc</p>\n") == \
        normal_form("<p><strong>a</strong> <em>b</em><br>c</p>")
    code = render("```python\nx = 1\n```")
    assert normal_form(code.replace('<span class="mi">1</span>', "2")) == normal_form(render("```python\nx = 2\n```"))
    assert normal_form("<p>a b</p>") != normal_form("<p>a  b</p>") and normal_form("<p>a</p>") != normal_form("a")


@pytest.mark.parametrize("unsafe", ['<a href="javascript:alert(1)">fast</a>', '<img src="x" onerror="alert(1)">',
                                    "<script>alert(1)</script>", '<b onmouseover="alert(1)">fast</b>'])
def test_nothing_deckgens_cleaning_removes_comes_into_the_markdown(unsafe):
    markdown = "A fast cat."
    delivered = render(markdown)
    assert carry_edit(markdown, delivered, delivered.replace("fast", unsafe), render) is None
