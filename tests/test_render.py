"""Rendering fixtures: tests/render/NAME.md must render to tests/render/NAME.html."""

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import assume, given, settings, strategies as st

from deckgen.render.media import MediaResolver
from deckgen.render.renderer import MAY_LINK_RE, MarkdownRenderer

def renderer_here() -> MarkdownRenderer:
    return MarkdownRenderer(MediaResolver(Path(".")))


CASES = sorted(Path(__file__).with_name("render").glob("*.md"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture(case):
    expected = case.with_suffix(".html").read_text(encoding="utf-8")
    assert renderer_here().render(case.read_text(encoding="utf-8")).html + "\n" == expected


def test_one_renderer_gives_the_same_html_every_time():
    renderer = renderer_here()
    expected = [c.with_suffix(".html").read_text(encoding="utf-8") for c in CASES]
    for _ in range(2):  # nothing one text leaves in the renderer shows in the next
        assert [renderer.render(c.read_text(encoding="utf-8")).html + "\n" for c in CASES] == expected


def test_question_is_inline_html():
    renderer = renderer_here()
    assert renderer.render("What is `x_y` in $a_b$?", inline=True).html == r"What is <code>x_y</code> in \(a_b\)?"
    assert [renderer.render(t, inline=True).html for t in ("1. First?", "- Dash?", "> Quote?", "# Hash?")] == [
        "1. First?", "- Dash?", "&gt; Quote?", "# Hash?"]


def test_math_content_is_escaped_not_interpreted():
    assert renderer_here().render("$a<b$ and $a_1 *b* c_2$").html == r"<p>\(a&lt;b\) and \(a_1 *b* c_2\)</p>"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40)
       | st.sampled_from(["What is LoRA?", "大模型（LLMs）评测有那些方法？", "GPT-3.5 vs. GPT-4 (2023)", "a - b + c",
                          "Why O(n) / 2?", "10% of 'quoted' \"text\"", "x.y.z", "e.g. www.example.org"]))
def test_the_plain_line_shortcut_renders_what_markdown_would(title):
    renderer = renderer_here()
    title = title.strip()
    if title:
        assert renderer.render(title, inline=True).html == renderer.convert(title, inline=True).html


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["see", "https://example.org/a_b", "www.example.com", "ftp.example.org", "me@x.org",
                                 "`code`", "**b**", "- item", "\n", " ", "$x$", "<b>", "#1", "@user", "ftp://f/x",
                                 "``", "~~", "    indented", "\t", "```py", "~~~", ":::"])
                | st.text(max_size=30), max_size=12).map(" ".join))
def test_text_without_links_or_fences_renders_the_same_without_magiclink_or_superfences(text):
    renderer = renderer_here()
    full = renderer._markdown(links=True, fences=True).reset().convert(text)
    if not MAY_LINK_RE.search(text):
        assert renderer._markdown(links=False, fences=True).reset().convert(text) == full
    if "```" not in text and "~~~" not in text:
        assert renderer._markdown(links=True, fences=False).reset().convert(text) == full


PIECES = ["word", " ", "\n", "\n\n", "*", "**", "_", "`", "``", "[a](https://x.org)", "[", "]", "(", ")", "<b>", "</b>",
          "<span\nclass=x>", "  \n", "- ", "1. ", "> ", "| a | b |\n|---|---|\n| c | d |\n", "    code\n", "```\n",
          "\\", "![i](x.png)", "&amp;", "<!-- c\nd -->", "<div>\nblock\n</div>\n", "# h\n", "~~", "==", "$x$",
          "$x\ny$", "\\(a\nb\\)", "==m\nn==", "~~s\nt~~", "[[wiki\nlink]]", "> [!note]\n> a\n> b\n", "https://x.org/a\n",
          "a@b.org\n", "```\nc\nd\n```\n", "- [ ] task\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_line_ends_become_breaks_just_as_python_markdowns_nl2br_made_them(pieces):
    """The line breaks are made once the inline patterns are done (in linear time), where nl2br made them as an
    inline pattern (in quadratic time): the very same HTML, with every extension deckgen uses but footnotes
    (whose text Python-Markdown treats apart: one random text in thousands differs there, seen on both sides)."""
    import markdown
    from markdown.extensions.nl2br import Nl2BrExtension
    from markdown.extensions.tables import TableExtension
    from pymdownx.magiclink import MagiclinkExtension
    from pymdownx.mark import MarkExtension
    from pymdownx.superfences import SuperFencesCodeExtension
    from pymdownx.tilde import DeleteSubExtension

    from deckgen.render import markdown_ext as ext

    def made(line_breaks) -> str:
        md = markdown.Markdown(extensions=[
            TableExtension(), MagiclinkExtension(), SuperFencesCodeExtension(css_class="highlight"), line_breaks,
            ext.MathExtension(), ext.BlockStartExtension(), ext.ListIndentExtension(), ext.MediaExtension(),
            ext.LinearTimeExtension(), ext.ObsidianExtension(), MarkExtension(), DeleteSubExtension(subscript=False)])
        return md.convert(text)

    text = "".join(pieces)
    nl2br = made(Nl2BrExtension())
    # Where nl2br's pattern made a link inside a link's text (which HTML does not allow), the line breaks leave
    # the inner one as it is written: the one difference, found by this test (`[[[wiki\nlink]][a](x)\[a](x)`).
    assume(not re.search(r"<a [^>]*>(?:(?!</a>).)*<a ", nl2br, re.DOTALL))
    assert made(ext.LineBreakExtension()) == nl2br


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES + ["[^1]", "[^1]: note\n", "<https://x.org>", "<a@b.org>", "&#42;", "\\*",
                                          "![[img.png]]", "@", "!["]), max_size=30))
def test_texts_tried_only_against_the_patterns_they_can_match_render_as_against_all(pieces):
    """`markdown_ext.triggers` leaves out the inline patterns a text holds no trigger of: the very same HTML as
    with every pattern tried, whatever the text (with every extension, footnotes and links too)."""
    text = "".join(pieces)
    filtered = renderer_here()._markdown(links=True, fences=True, marks=True, notes=True).reset().convert(text)
    with _every_pattern_tried() as every_pattern:
        assert every_pattern._markdown(links=True, fences=True, marks=True, notes=True).reset().convert(text) \
            == filtered


@contextmanager
def _every_pattern_tried():
    """A renderer whose inline patterns have no triggers: each is tried on every text."""
    from deckgen.render.markdown_ext import triggers

    saved = dict(triggers.TRIGGERS)
    triggers.TRIGGERS.clear()
    try:
        yield renderer_here()
    finally:
        triggers.TRIGGERS.update(saved)


def test_the_triggers_name_patterns_deckgen_has():
    """A trigger kept for a pattern Python-Markdown renamed would skip nothing, silently: every name in
    `TRIGGERS` but a few of older Python-Markdowns is a pattern of deckgen's fullest Markdown."""
    from deckgen.render.markdown_ext.triggers import TRIGGERS

    names = set(renderer_here()._markdown(links=True, fences=True, marks=True, notes=True).inlinePatterns._data)
    assert set(TRIGGERS) - names <= {"em_strong2", "not_strong"}
    assert {"link", "html", "entity", "em_strong", "backtick"} <= set(TRIGGERS) & names


def test_the_linear_time_processors_take_python_markdowns_own_places():
    """They replace Python-Markdown's link processors, table and heading tests at the priorities it gives its
    own (written down in `linear_time.LINKS`): a Python-Markdown that moved them would fail here, not on cards."""
    import markdown
    from markdown.extensions.tables import TableExtension

    from deckgen.render.markdown_ext import LinearTimeExtension
    from deckgen.render.markdown_ext.linear_time import LINKS

    def order(registry, names):
        return sorted(names, key=registry.get_index_for_name)

    plain = markdown.Markdown(extensions=[TableExtension()])
    linear = markdown.Markdown(extensions=[TableExtension(), LinearTimeExtension()])
    inline = ["backtick", "escape", *LINKS, "autolink", "html", "em_strong"]
    blocks = ["empty", "indent", "code", "table", "hashheader", "setextheader", "hr", "paragraph"]
    assert order(linear.inlinePatterns, inline) == order(plain.inlinePatterns, inline)
    assert order(linear.parser.blockprocessors, blocks) == order(plain.parser.blockprocessors, blocks)
    assert all(type(linear.inlinePatterns[name]) is faster for name, (_, faster, _) in LINKS.items())
    assert type(linear.parser.blockprocessors["table"]).__module__ == "deckgen.render.markdown_ext.linear_time"


def test_code_blocks_share_what_is_the_same_for_all_of_them(monkeypatch):
    """pymdownx makes a Pygments formatter and finds a lexer for every block: the style's stylesheet is worked out
    once, and each language's lexer looked up once (see `markdown_ext.code_highlighting`), with the same HTML."""
    from pygments import lexers
    from pygments.formatters.html import HtmlFormatter

    from deckgen.render.markdown_ext import code_highlighting

    sheets, lookups = [], []
    create = HtmlFormatter._create_stylesheet
    monkeypatch.setattr(HtmlFormatter, "_create_stylesheet", lambda self: sheets.append(1) or create(self))
    find = lexers.get_lexer_by_name
    monkeypatch.setattr(lexers, "get_lexer_by_name", lambda *a, **k: lookups.append(a[0]) or find(*a, **k))
    monkeypatch.setattr(code_highlighting, "_SHEETS", {})
    monkeypatch.setattr(code_highlighting, "_LEXERS", {})
    from pymdownx import highlight

    monkeypatch.setattr(highlight, "get_lexer_by_name", lexers.get_lexer_by_name)  # as pymdownx imported it
    text = "".join(f"```{lang}\nx = {i}\n```\n\n" for i, lang in enumerate(["python", "kotlin", "python", "nope"] * 3))
    html = renderer_here().render(text).html
    assert len(sheets) == 1 and sorted(lookups) == ["kotlin", "nope", "python", "text"]
    assert html.count('<div class="highlight">') == 12 and "x</span> <span class=\"o\">=</span>" in html
