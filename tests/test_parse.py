import re
from pathlib import Path

from hypothesis import given, settings, strategies as st

from deckgen.sources.library import deck_file, read_deck
from deckgen.parse.questions import parse_source

from conftest import write_deck


def parse(tmp_path: Path, markdown: str, settings: str | None = None):
    return parse_source(read_deck(deck_file(write_deck(tmp_path, "deck", markdown, settings), tmp_path), tmp_path))


def test_questions_sections_and_lines(tmp_path):
    deck = parse(tmp_path, """\
        # Part
        ## Chapter
        ### First?
        Answer one.

        ### Second?
        - a
        - b
        ## Other chapter
        ### Third?
        Three.
        """)
    assert [(q.line, q.title, q.sections, q.answer, q.answer_line) for q in deck.questions] == [
        (3, "First?", ("Part", "Chapter"), "Answer one.", 4),
        (6, "Second?", ("Part", "Chapter"), "- a\n- b", 7),
        (10, "Third?", ("Part", "Other chapter"), "Three.", 11),
    ]
    assert all(q.path == tmp_path / "deck.md" for q in deck.questions)


def test_heading_inside_code_fence_is_not_a_heading(tmp_path):
    deck = parse(tmp_path, """\
        ### Which shell comment?
        ```bash
        # comment
        ### not a question
        ```
        ~~~
        ## not a section
        ~~~
        ### Next?
        Yes.
        """)
    assert [q.title for q in deck.questions] == ["Which shell comment?", "Next?"]
    assert "### not a question" in deck.questions[0].answer
    assert "## not a section" in deck.questions[0].answer


def test_deeper_headings_belong_to_the_answer(tmp_path):
    deck = parse(tmp_path, "### Q?\n#### Detail\ntext\n")
    assert deck.questions[0].answer == "#### Detail\ntext"


def test_text_outside_questions_is_the_description(tmp_path):
    deck = parse(tmp_path, """\
        Intro line.
        ## Sources
        https://example.org
        ## Questions
        ### Q?
        A.
        """)
    assert deck.description == "Intro line.\n\n## Sources\nhttps://example.org"
    assert deck.questions[0].sections == ("Questions",)


def test_empty_answer_is_a_warning_not_a_crash(tmp_path):
    deck = parse(tmp_path, "### Empty?\n\n### Full?\nYes.\n")
    assert [q.answer for q in deck.questions] == ["", "Yes."]
    assert [str(d) for d in deck.diagnostics] == [
        f"{tmp_path / 'deck.md'}:1:1: warning: question has no answer: Empty? [empty-answer]"]


def test_duplicate_question_warning_names_both_lines(tmp_path):
    deck = parse(tmp_path, "### Same?\nA.\n### Other?\nB.\n###   same? \nC.\n")
    assert len(deck.questions) == 3
    assert [str(d) for d in deck.diagnostics] == [
        f"{tmp_path / 'deck.md'}:5:1: warning: duplicate question (also at line 1): same? [duplicate-question]"]


def test_a_copied_answer_is_a_warning_that_names_the_first_copy(tmp_path):
    deck = parse(tmp_path, "### One?\nSame text.\n### Two?\nOther text.\n### Three?\n\nSame text.\n")
    assert [str(d) for d in deck.diagnostics] == [
        f"{tmp_path / 'deck.md'}:5:1: warning: same answer as the question at line 1 (One?): "
        "is one of them a mistake? [duplicate-answer]"]


def test_explicit_id_is_taken_off_the_title(tmp_path):
    deck = parse(tmp_path, "### What is LoRA? {#lora}\nLow-rank adapters.\n")
    assert (deck.questions[0].title, deck.questions[0].explicit_id) == ("What is LoRA?", "lora")


def test_every_attribute_block_is_read_and_one_deckgen_cannot_read_is_said_at_its_line(tmp_path):
    deck = parse(tmp_path, """\
        ### First? {#one} {was="Old first?"}
        A.

        ### Second? {was=GUID1} {new} {#two}
        B.

        ### Third? {#two words}
        C.

        ### Fourth? {#a} {#b}
        D.
        """)
    first, second, third, fourth = deck.questions
    assert (first.title, first.explicit_id, first.attributes.was_text) == ("First?", "one", "Old first?")
    assert (second.title, second.explicit_id, second.attributes.was_guid, second.attributes.new) == (
        "Second?", "two", "GUID1", True)
    assert (third.title, third.explicit_id, fourth.title, fourth.explicit_id) == ("Third?", None, "Fourth?", "b")
    assert sorted((d.line, d.code) for d in deck.diagnostics) == [
        (4, "new-and-was"), (7, "unknown-attribute"), (10, "unknown-attribute")]


def test_question_level_is_configurable(tmp_path):
    deck = parse(tmp_path, "# Topic\n## Q?\nA.\n### Detail\nD.\n", 'question_level = 2\n')
    assert [(q.title, q.sections, q.answer) for q in deck.questions] == [("Q?", ("Topic",), "A.\n### Detail\nD.")]


def test_heading_without_text_is_an_error(tmp_path):
    deck = parse(tmp_path, "###\nA.\n")
    assert [(d.line, d.severity, d.code) for d in deck.diagnostics] == [(1, "error", "empty-heading")]


def test_unclosed_code_fence_is_an_error_at_its_line(tmp_path):
    deck = parse(tmp_path, "### Q?\n```\ncode\n### Swallowed?\nA.\n")
    assert [(d.line, d.severity) for d in deck.diagnostics] == [(2, "error")]
    assert "never closed" in deck.diagnostics[0].message


def test_an_explicit_id_used_twice_is_an_error(tmp_path):
    deck = parse(tmp_path, "### One {#x}\nA.\n### Two {#x}\nB.\n")
    assert [(d.line, d.severity, d.message) for d in deck.diagnostics] == [
        (3, "error", "explicit id {#x} is also used at line 1: each note needs its own")]


def test_a_file_without_questions_is_a_note(tmp_path):
    deck = parse(tmp_path, "Just some notes.\n## Not a question\n")
    assert [(d.line, d.severity, d.message) for d in deck.diagnostics] == [
        (0, "note", "no questions: no heading of level 3 (###) in this file")]


OLD_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=" \t#ab{}\\", max_size=20))
def test_headings_are_read_as_the_pattern_read_them_without_its_backtracking(line):
    """The pattern took time in the square of a line's length on long runs of spaces (6 min for 1 MiB of such
    lines): `heading` reads the same level and text in one pass."""
    from deckgen.parse.syntax import heading

    old = OLD_HEADING_RE.match(line)
    assert heading(line) == (None if old is None else (len(old.group(1)), old.group(2)))


def test_a_long_heading_line_of_spaces_is_read_in_linear_time():
    import time

    from deckgen.parse.syntax import heading, heading_attributes

    start = time.perf_counter()
    for _ in range(50):
        heading("# x" + " " * 19_990 + "y")
    heading_attributes("What is it? {" + "#anew" * 40 + " x}")  # 40 of them: days, before
    assert time.perf_counter() - start < 5


def test_an_answer_is_scanned_for_code_and_math_once_for_every_step_after_parsing():
    """Its `#tags` and its unbalanced math are read from one scan of its fenced code, code spans and math."""
    from deckgen.parse import syntax
    from deckgen.parse.questions import unbalanced_math
    from deckgen.render.tags import inline_tags

    answer = "A #tag, `#not` and $$x$$ then $$ alone.\n```\n#also-not $$\n```\n"
    syntax.scan.cache_clear()
    assert inline_tags(answer) == {"tag"} and unbalanced_math(answer) == [(0, "$$")]
    assert (syntax.scan.cache_info().misses, syntax.scan.cache_info().hits) == (1, 1)


def test_a_file_whose_questions_sit_at_another_level_is_told_which_setting_makes_them_questions(tmp_path):
    """A quiz keeps its questions at ######: no card, and once only a note that the file has none."""
    deck = parse(tmp_path, "# Quiz\n\n###### 1. What is 2+2?\n4\n\n###### 2. A prime?\n7\n\n###### Key\n\n## Notes\n")
    hints = [d for d in deck.diagnostics if d.code == "question-level"]
    assert [(d.severity, d.message) for d in hints] == [("warning", (
        "no heading of level 3 (###), but 3 at ###### (2 ending in '?'): to make them questions, set "
        "question_level = 6 in deck.deck.toml (this file's settings) or in a deckgen.toml of its folder"))]
    assert parse(tmp_path, "### Q?\nA.\n###### Deeper?\n").diagnostics == ()  # questions where they are asked
    plain = parse(tmp_path, "# Title\n\n## Section\nText.\n## Another\n")  # no heading asks anything
    assert [d.code for d in plain.diagnostics] == ["no-questions"]
    fenced = parse(tmp_path, "```\n###### Not a heading?\n```\n")
    assert [d.code for d in fenced.diagnostics] == ["no-questions"]


def test_an_escaped_bracket_is_a_bracket_not_math_left_open(tmp_path):
    """`jmp \\[var_mem]` warned "unbalanced math" (99 of 162 warnings on one vault): CommonMark reads `\\[` as an
    escaped bracket, and the card shows `[var_mem]`. Math left open is still said."""
    from deckgen.parse.questions import unbalanced_math
    from deckgen.render.media import MediaResolver
    from deckgen.render.renderer import MarkdownRenderer

    assert [unbalanced_math(text) for text in ("mov eax, \\[var_mem]", "f\\(x) = 1", "[a\\] b")] == [[], [], []]
    assert MarkdownRenderer(MediaResolver(tmp_path)).render("jmp \\[var_mem]").html == "<p>jmp &#91;var_mem]</p>"
    assert unbalanced_math("It is \\[x + 1\nand $$y\nthen x \\) alone") == [(0, "\\["), (1, "$$"), (2, "\\)")]


def test_a_large_description_is_said_with_how_much_of_the_file_it_took(tmp_path):
    from click.testing import CliRunner

    from deckgen.cli import main

    intro = "".join(f"Paragraph {i} of an introduction that belongs to no question.\n\n" for i in range(400))
    write_deck(tmp_path / "notes", "deck", "# Course\n" + intro + "### Q?\nA.\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "notes")])
    assert re.search(r"deck\.md: warning: 2\d,\d{3} characters of this file \(\d+%\) are under no question and go to "
                     r"the deck's description.*\[large-description\]", result.stdout), result.stdout
    assert re.search(r"deck\.md: 1 question\(s\), 1 card\(s\), 2\d,\d{3} characters of description", result.stdout)
    small = tmp_path / "small"
    write_deck(small, "deck", "# Course\nA short introduction.\n### Q?\nA.\n")
    quiet = CliRunner().invoke(main, ["check", str(small)])
    assert "large-description" not in quiet.stdout and "1 card(s), 30 characters of description" in quiet.stdout


def test_messages_that_say_where_to_look(tmp_path):
    from deckgen.build import check_library

    # A folder's README is its deck's description: no "no questions" note; but questions at another level say so
    # (translations of a quiz in folders, each README asking at ######, made decks of 0 notes without a word).
    write_deck(tmp_path / "q" / "de", "README", "# Fragen\n\n###### 1. Was ist A?\n\nA.\n\n###### 2. Was ist B?\nB.\n")
    write_deck(tmp_path / "q", "quiz", "### Q?\nA.\n")
    (hint,) = [d for d in check_library(tmp_path / "q").diagnostics if d.code == "question-level"]
    assert hint.path == tmp_path / "q" / "de" / "README.md" and "question_level = 6" in hint.message
    write_deck(tmp_path / "q" / "de", "README", "# Fragen\n\nAbout this folder.\n")
    assert not [d for d in check_library(tmp_path / "q").diagnostics if d.code in ("question-level", "no-questions")]

    # One "?" among a file's topics is no layout of questions: no hint to make the title a card.
    write_deck(tmp_path / "a", "notes", "# Notes\n# Be genuine\nText.\n# Own it\nText.\n# Any questions?\nSome.\n")
    assert not [d for d in check_library(tmp_path / "a").diagnostics if d.code == "question-level"]
    # A stray fence shifts every pair after it: the fence said to be open is a bare one meant to close.
    write_deck(tmp_path / "b", "deck", "### Q?\n```py\nx\n```\n```\n### R?\nr\n")
    (fence,) = [d for d in check_library(tmp_path / "b").diagnostics if d.code == "unclosed-fence"]
    assert fence.line == 5 and "a stray fence line above shifts every pair after it" in fence.message
    # A template's placeholder in front matter is said as one.
    write_deck(tmp_path / "c", "template", "---\ncreated: {{date}}\n---\n### Q?\nA.\n")
    (front,) = [d for d in check_library(tmp_path / "c").diagnostics if d.code == "front-matter"]
    assert "it holds a template's placeholder" in front.message


def test_an_attribute_a_card_drops_is_said_as_one(tmp_path):
    from deckgen.build import check_library

    write_deck(tmp_path / "d", "deck", '### Q?\nSee <a href="https://example.org" target="_blank">this</a>.\n')
    said = [d.message for d in check_library(tmp_path / "d").diagnostics if d.code == "unknown-html"]
    assert said == ["not on the card: target= attribute (an attribute cards do not keep; the element itself stays)"]


def test_a_table_of_contents_at_the_question_level_is_said(tmp_path):
    deck = parse(tmp_path, """\
        ### Table of Contents
        | No. | Questions |
        | --- | --------- |
        | 1 | [What is a closure](#what-is-a-closure) |
        | 2 | [What is hoisting](#what-is-hoisting) |
        | 3 | [What is a promise](#what-is-a-promise) |

        ### JavaScript
        <details>
        <summary>View contents</summary>

        * [What is a closure?](#what-is-a-closure)
        * [What is hoisting?](#what-is-hoisting)
        * [What is a promise?](#what-is-a-promise)
        </details>

        ### What is a closure?
        A function and its scope; see [hoisting](#what-is-hoisting), [promises](#what-is-a-promise) and
        [back to the top](#table-of-contents).
        """)
    said = [d.line for d in deck.diagnostics if d.code == "table-of-contents"]
    assert said == [1, 8]  # not the real question, whose text is more than links
