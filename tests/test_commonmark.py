"""Questions and answers found where GitHub and Obsidian show them: the file read as CommonMark reads it.

Each fixture is modelled on a real repository's shape (an interview README of
`1. ### What is …?` list items, a quiz whose answers hide in `<details>`, the
fence, table and escape cases), built and imported into a real collection.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from deckgen.cli import main
from deckgen.parse.questions import parse_source
from deckgen.render.media import MediaResolver
from deckgen.render.renderer import MarkdownRenderer
from deckgen.sources.library import deck_file, read_deck

from conftest import write_deck

ROOT = Path(__file__).resolve().parent.parent

INTERVIEW = """\
    # JavaScript interview questions

    ### Table of Contents

    | No. | Questions |
    | --- | --------- |
    | 1 | [What is a closure](#what-is-a-closure) |

    1. ### What is a closure?

       A function with the variables of the scope it was made in.

       ```javascript
       function counter() {
         let n = 0;
         return () => ++n;
       }
    2. ### What is hoisting?

       Declarations are moved to the top of their scope.

       **[⬆ Back to Top](#table-of-contents)**

    3. ### What does `typeof null` give?
       `"object"`, a mistake kept for compatibility.
    """

QUIZ = """\
    # Quiz

    ---

    ###### 1. What's the output?

    ```javascript
    console.log(typeof NaN);
    ```

    - A: `"number"`
    - B: `"NaN"`

    <details><summary><b>Answer</b></summary>
    <p>

    #### Answer: A

    `NaN` is a *number* that is not a number.

    </p>
    </details>

    ---

    ###### 2. What is `0.1 + 0.2 === 0.3`?

    - A: `true`
    - B: `false`

    <details><summary><b>Answer</b></summary>
    <p>

    #### Answer: B

    Floating point: `0.1 + 0.2` is `0.30000000000000004`. Neither 0.1 nor 0.2 has an exact binary
    representation, so each is stored as the nearest double, and their sum rounds to a double that is not
    the one nearest to 0.3. Compare with a tolerance, `Math.abs(a - b) < Number.EPSILON`, or count in
    integers (cents, not dollars) where exact sums matter.

    </p>
    </details>
    """

CASES = """\
    ### Which flags does a table hold?

    | flag | meaning |
    | ---- | ------- |
    | -v   | verbose |
    #### Sub-heading
    Text after the table, not a row of it.

    ### What does \\<expr> stand for?
    Any expression: \\<expr>, \\$5 and jmp \\[var_mem].

    ### What does a quoted answer hold?
    > ### Not a question
    > A heading inside a quote belongs to what is quoted.

    ### What closes an unclosed fence in a list?
    - an item
      ```
      code
    - another item

    ### Last?
    Yes.
    """


def parse(tmp_path: Path, markdown: str, settings: str | None = None):
    return parse_source(read_deck(deck_file(write_deck(tmp_path, "deck", markdown, settings), tmp_path), tmp_path))


def test_headings_of_list_items_are_questions_with_their_answers(tmp_path):
    deck = parse(tmp_path, INTERVIEW)
    assert [(q.line, q.title, q.answer_line) for q in deck.questions] == [
        (3, "Table of Contents", 5), (9, "What is a closure?", 11), (18, "What is hoisting?", 20),
        (24, "What does `typeof null` give?", 25)]
    closure, hoisting, null = deck.questions[1:]
    # The item's indent is not the answer's; the fence the item left open is closed where the item ends.
    assert closure.answer == ("A function with the variables of the scope it was made in.\n\n```javascript\n"
                              "function counter() {\n  let n = 0;\n  return () => ++n;\n}\n```")
    assert hoisting.answer == ("Declarations are moved to the top of their scope.\n\n"
                               "**[⬆ Back to Top](#table-of-contents)**")
    assert null.answer == '`"object"`, a mistake kept for compatibility.'
    assert not [d for d in deck.diagnostics if d.severity == "error"]


def test_a_heading_inside_details_belongs_to_the_question_it_sits_in(tmp_path):
    deck = parse(tmp_path, QUIZ, "question_level = 6\n")
    assert [q.title for q in deck.questions] == ["1. What's the output?", "2. What is `0.1 + 0.2 === 0.3`?"]
    assert all(q.sections == ("Quiz",) for q in deck.questions)  # no "Answer: A" section, no tag from it
    first = deck.questions[0].answer
    assert first.startswith("```javascript") and "#### Answer: A" in first and first.endswith("</details>\n\n---")
    assert deck.description == "# Quiz\n\n---"


def test_a_details_never_closed_folds_no_heading(tmp_path):
    deck = parse(tmp_path, "### One?\n<details>\n\n### Two?\nB.\n")
    assert [q.title for q in deck.questions] == ["One?", "Two?"]


def test_fences_tables_escapes_and_quotes_end_where_commonmark_ends_them(tmp_path):
    deck = parse(tmp_path, CASES)
    assert [q.title for q in deck.questions] == [
        "Which flags does a table hold?", "What does \\<expr> stand for?", "What does a quoted answer hold?",
        "What closes an unclosed fence in a list?", "Last?"]
    assert deck.questions[2].answer.startswith("> ### Not a question")
    assert deck.questions[3].answer == "- an item\n  ```\n  code\n  ```\n- another item"
    assert not [d for d in deck.diagnostics if d.code in ("unclosed-fence", "unbalanced-math")]


def test_an_upper_case_end_tag_ends_its_raw_block_as_commonmark_says(tmp_path):
    deck = parse(tmp_path, "### One?\n<SCRIPT>x</SCRIPT>\n\n### Two?\nB.\n")
    assert [q.title for q in deck.questions] == ["One?", "Two?"]


def render(markdown: str) -> str:
    return MarkdownRenderer(MediaResolver(Path("."))).render(textwrap.dedent(markdown)).html


def test_the_renderer_reads_escapes_html_blocks_and_tables_as_commonmark_does():
    assert render("What is \\<expr>? \\$5, \\~x\\~") == "<p>What is &lt;expr&gt;? $5, ~x~</p>"
    folded = BeautifulSoup(render(textwrap.dedent(QUIZ).split("###### 1. What's the output?")[1]
                                  .split("---")[0]), "html.parser")
    details = folded.find("details")
    assert details.find("h4").get_text() == "Answer: A" and details.find("em").get_text() == "number"
    assert "####" not in details.get_text() and "`" not in details.get_text()
    table = BeautifulSoup(render("| a | b |\n|---|---|\n| 1 | 2 |\n#### Sub\ntext\n"), "html.parser")
    assert len(table.find_all("tr")) == 2 and table.find("h4").get_text() == "Sub"
    assert table.find_all("p")[-1].get_text() == "text"


def test_the_fixtures_build_into_the_cards_github_shows(tmp_path, anki):
    library = tmp_path / "notes"
    write_deck(library, "interview", INTERVIEW)
    write_deck(library, "quiz", QUIZ, "question_level = 6\n")
    write_deck(library, "cases", CASES)
    result = CliRunner().invoke(main, ["build", str(library), "-o", str(tmp_path / "build")])
    assert result.exit_code == 0, result.output
    # No false alarm: an escaped \<expr> is text, an escaped bracket no math left open, a fence its item closes
    assert not [line for line in result.stderr.splitlines() if "warning" in line], result.stderr
    (package,) = (tmp_path / "build").glob("*.apkg")
    anki.import_package(package)
    notes = {note["Question"]: note for note in anki.notes()}
    assert len(notes) == 11
    closure = BeautifulSoup(notes["What is a closure?"]["Answer"], "html.parser")
    assert "let n = 0;" in closure.find("pre").get_text() and "What is hoisting" not in closure.get_text()
    hoisting = notes["What is hoisting?"]["Answer"]  # "Back to Top" goes nowhere on a card: its text stays
    assert "Back to Top" in hoisting and 'href="#' not in hoisting
    quiz = BeautifulSoup(notes["1. What's the output?"]["Answer"], "html.parser")
    assert quiz.find("details").find("h4").get_text() == "Answer: A"
    assert "is a number that is not a number" in quiz.find("details").get_text()
    assert "Answer_A" not in " ".join(notes["2. What is <code>0.1 + 0.2 === 0.3</code>?"].tags)
    expr = notes["What does &lt;expr&gt; stand for?"]["Answer"]
    assert "&lt;expr&gt;" in expr and "$5" in expr
    for name in ("interview", "quiz"):  # no answer's text went into a description
        description = anki.col.decks.by_name(name)["desc"]
        assert "Answer" not in description and "closure" not in description.replace("a-closure", "")


def fixture_files() -> list[tuple[Path, str | None]]:
    found = [(path, None) for path in sorted((ROOT / "tests" / "fixtures").rglob("*.md"))
             if "build" not in path.parts and path.name != "README.md"]
    return [*found, (ROOT / "source" / "llm-interview.md", None), *(
        (Path(name), text) for name, text in (("interview", INTERVIEW), ("quiz", QUIZ), ("cases", CASES)))]


@pytest.mark.parametrize("path, text", fixture_files(), ids=lambda value: getattr(value, "name", None))
def test_the_renderer_sees_each_question_where_the_splitter_put_it(tmp_path, path, text):
    """No answer whose rendering swallows what the splitter put elsewhere: the whole file, rendered, shows each
    question's heading as a heading, and no answer, rendered, shows a heading the splitter would have split at."""
    if text is None:
        folder = path.parent
        deck = parse_source(read_deck(deck_file(path, folder), folder))
    else:
        deck = parse(tmp_path, text, "question_level = 6\n" if path.name == "quiz" else None)
    renderer = MarkdownRenderer(MediaResolver(deck.path.parent))
    level = deck.settings.question_level
    assert deck.questions
    whole = BeautifulSoup(renderer.convert(deck.source.text).html, "html.parser")
    shown = [h.get_text(" ", strip=True) for h in whole.find_all(f"h{level}")]
    for question in deck.questions:
        title = BeautifulSoup(renderer.render(question.title, inline=True).html, "html.parser").get_text(" ",
                                                                                                            strip=True)
        assert any(heading.startswith(title) for heading in shown), (question.line, title)  # and its {#id}
        answer = BeautifulSoup(renderer.convert(question.answer).html, "html.parser")
        split_at = [h for n in range(1, level + 1) for h in answer.find_all(f"h{n}")
                    if not h.find_parent(["details", "blockquote"])]
        assert not split_at, (question.line, split_at)


def test_a_rebuild_parses_only_the_files_that_changed(tmp_path, monkeypatch):
    from deckgen import build_decks
    from deckgen.parse import structure as module

    parsed = []
    original = module.structure
    monkeypatch.setattr(module, "structure", lambda text, lines: parsed.append(text) or original(text, lines))
    library = tmp_path / "notes"
    for name in ("a", "b", "c"):
        write_deck(library, name, f"### Question {name}?\nAnswer {name}.\n")
    build_decks(library, tmp_path / "build")
    assert len(parsed) == 3
    (library / "b.md").write_text("### Question b?\nAnswer b, edited.\n", encoding="utf-8")
    parsed.clear()
    (package,) = build_decks(library, tmp_path / "build").packages
    assert parsed == ["### Question b?\nAnswer b, edited.\n"]
    assert [c.question for c in package.plan.changes] == ["Question b?"]


def test_list_items_indented_with_tabs_as_obsidian_writes_them(tmp_path):
    deck = parse(tmp_path, "- ## What are the parts?\n\t- point one\n\t- point two\n- \t## What else?\n\tmore\n",
                 "question_level = 2\n")
    assert [(q.title, q.answer) for q in deck.questions] == [
        ("What are the parts?", "  - point one\n  - point two"), ("What else?", "more")]


def test_a_fence_its_list_item_ends_is_an_error_where_it_swallows_a_question(tmp_path):
    deck = parse(tmp_path, "- ## Q1?\n  ```\n  code\n  ## Q2?\n  a2\n", "question_level = 2\n")
    assert [q.title for q in deck.questions] == ["Q1?"]
    (error,) = [d for d in deck.diagnostics if d.code == "unclosed-fence"]
    assert error.severity == "error" and error.line == 2 and "runs to the end of its list item and swallows the " \
        "heading at line 4 ('## Q2?')" in error.message
    # A closing fence indented four columns past its opening one is code: the item still ends the fence.
    over = parse(tmp_path / "over", "## Q?\n- ```\n  code\n      ```\n- next\n", "question_level = 2\n")
    assert over.questions[0].answer == "- ```\n  code\n      ```\n  ```\n- next"


def test_the_upgrade_listing_counts_source_lines_not_the_closing_fence_it_adds(tmp_path):
    from deckgen.parse.legacy import structure_changes

    deck = parse(tmp_path, "## Q?\n- ```\n  code\n- next\n\n## R?\nr\n", "question_level = 2\n")
    old_answer = "- ```\n  code\n- next"  # the 0.3 scanner saw no fence after a list marker
    _, said = structure_changes(deck, {("q?", old_answer): [type("Note", (), {"guid": "g"})()]})
    assert [d.message.split("this question's answer ")[1] for d in said] == [
        "(lines 2–4) changes: a list item's indent is not the answer's, a fence its item ends is closed there: its "
        "note is updated"]


def test_a_section_heading_in_a_list_item_with_no_text_of_its_own_describes_nothing(tmp_path):
    deck = parse(tmp_path, "- # Topic\n\n  ### Q?\n  A.\n")
    assert deck.description == "" and [(q.title, q.sections) for q in deck.questions] == [("Q?", ("Topic",))]
