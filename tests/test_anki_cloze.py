"""deckgen's copy of Anki's cloze filter writes each card side as Anki does, so that what the filter would make of
someone's notes is known before they reach a collection; and what it would make live is broken in the field."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deckgen.render.anki_cloze import ClozeField, LAST_CARD, filled
from deckgen.render.sanitize import TOO_LONG_TO_CHECK, clean_html, cloze_safe

# What cloze fields are made of, and what the filter treats specially: openings (several numbers, 0, past the
# last card, none), ends, hint separators, MathJax's delimiters, tags, entities, quotes, braces, a backslash.
PIECES = st.sampled_from([
    "{{c1::", "{{c2::", "{{c1,2::", "{{c0::", "{{c501::", "{{c,::", "{{c99999::", "}}", "::", ":", "{", "}",
    "\\(", "\\)", "\\[", "\\]", "\\", "<b>", "</b>", "<code>", "</code>", "&amp;", '"', "'", "é", "a", "h", "ref",
    " ", "\n",
])


@pytest.fixture(scope="module")
def cloze_type(tmp_path_factory):
    """A real collection with a cloze note type whose cards show the field through the filter, and nothing else."""
    from anki.collection import Collection

    col = Collection(str(tmp_path_factory.mktemp("anki") / "collection.anki2"))
    models = col.models
    model = models.new("Filter only")
    model["type"] = 1  # cloze
    models.add_field(model, models.new_field("Text"))
    template = models.new_template("Cloze")
    template["qfmt"] = template["afmt"] = "{{cloze:Text}}"
    models.add_template(model, template)
    models.add(model)
    yield col, models.by_name("Filter only")
    col.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(PIECES, min_size=1, max_size=30))
def test_each_card_side_is_what_anki_writes(cloze_type, pieces):
    col, model = cloze_type
    text = "".join(pieces)
    note = col.new_note(model)
    note["Text"] = text
    field = ClozeField(text)
    if not field.numbers:
        return  # Anki would make no card of it
    col.add_note(note, 1)
    cards = {card.ord + 1: card for card in note.cards()}
    assert sorted(cards) == field.numbers
    for number, card in cards.items():
        if number == LAST_CARD:
            continue  # shown only for a deletion numbered past it: Anki's message that the card has none
        output = card.render_output(reload=True)
        assert (filled(text, number, True), filled(text, number, False)) == (output.question_text,
                                                                              output.answer_text)


def test_ordinary_cloze_notes_are_left_as_they_are():
    """Hints, math with deletions inside, code: as written in real cloze decks, nothing joins into anything."""
    for text in ("{{c1::Paris::city}} is the capital of {{c2::France::country}}.",
                 "\\(E = {{c1::mc^2}}\\) and \\[\\frac{ {{c2::a}} }{b}\\]",
                 "<code>\\href{x}</code> is how {{c1::LaTeX::a language}} links",
                 "{{c1::a}}{{c2::b::\\(x\\)}} \\(\\frac{1}{2}\\) {{c3::{{c4::nested}}::both}}"):
        html, _ = clean_html(text)
        assert cloze_safe(html) == (html, ()), text


def test_a_text_too_long_to_check_has_its_deletions_shown_as_text():
    text = "\\(x\\) {{c1::a::b}} " * 200_000
    made, said = cloze_safe(text)
    assert said == (TOO_LONG_TO_CHECK,) and ClozeField(made).numbers == [] and "{&#123;c1::a::b}}" in made


STALLS = {  # each must be checked in time linear in its length
    "many hints to break": "{{c1::a::sound:x}} " * 50_000,
    "many unclosed MathJax openings": "\\(" * 300_000 + "{{c1::a::b}}",
    "many unclosed code spans in math": "\\(<code>\\)</code>" * 60_000 + "{{c1::a::b}}",
    "many image occlusions": "{{c1::image-occlusion:x}}" * 40_000,
    "deletions nested past the limit": "{{c1::" * 100_000 + "a::b" + "}}" * 100_000,
    # Anki writes an asked deletion's content into an attribute, encoded again at each level of nesting: written
    # out for every card, six of these (9 KB) took 163 s (found by a review of the check).
    "deletions nested ten deep, each on fifty cards": "\\(a\\) " + " ".join(
        ["{{c" + ",".join(map(str, range(1, 51))) + "::"] * 10 + ["x"] + ["}}"] * 10) * 6,
}


@pytest.mark.parametrize("name", STALLS)
def test_checking_takes_time_linear_in_the_text(name, tmp_path):
    script = "import sys; from deckgen.render.sanitize import cloze_safe; cloze_safe(sys.stdin.read())"
    subprocess.run([sys.executable, "-c", script], input=STALLS[name], text=True, check=True, timeout=30,
                   cwd=tmp_path)


def test_a_cloze_deck_has_the_cards_anki_makes_whatever_the_numbers(tmp_path, anki):
    """genanki's rule for cards read `{{c` and 5,000 digits as a number (Python refused it: a traceback), knew
    neither `{{c1,2::` nor Anki's last card, and took time quadratic in the field (75 s for the last note here)."""
    from click.testing import CliRunner

    from deckgen.cli import main

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "deck.md").write_text(
        "---\ndeckgen:\n  cards: cloze\n---\n"
        "### Numbers?\n{{c" + "1" * 5000 + "::x}} {{c1::y}} {{c2,3::z}} {{c０::w}} {{c700::v}}\n"
        "### Unclosed?\n{{c1::x}}\n" + "{{c1::a\n" * 40_000, encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "build")])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    anki.import_package(next((tmp_path / "build").glob("*.apkg")))

    def cards() -> list[tuple[int, int]]:
        return sorted((anki.col.get_card(c).nid, anki.col.get_card(c).ord + 1) for c in anki.col.find_cards(""))
    built = cards()
    assert sorted(number for _, number in built) == [1, 1, 2, 3, LAST_CARD]
    anki.check_database()  # Anki adds the cards its own rule wants, and removes none
    assert cards() == built
