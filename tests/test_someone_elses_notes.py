"""Someone else's notes cannot script a card, load from the network, clobber the reviewer's page, or make Anki act on
its own syntax: every vector found, each imported into a real collection and read as Anki renders the cards."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings, strategies as st

from deckgen.cli import main
from deckgen.render.media import MediaResolver
from deckgen.render.renderer import MarkdownRenderer
from deckgen.render.sanitize import UNSAFE_TEX, kind_of

from conftest import AnkiProfile

SAFE_SCHEMES = ("http:", "https:", "mailto:", "#")
# Anki's MathJax (3.2.2, as Anki ships it) would honour any of these; a broken one has a zero-width space after \.
UNSAFE_TEX_LEFT = re.compile(r"\\(" + "|".join(UNSAFE_TEX) + r")(?![A-Za-z])")
LOADING_CSS = re.compile(r"url\s*\(|image-set|image\(|@import|expression|position|\\", re.IGNORECASE)

VECTORS = {  # name: (Markdown in an answer, the warning it gets: what it names as removed, or shown as text)
    # Script from Markdown alone: a code span inside a link's destination hid the word from the old check.
    "a code span in a javascript: link": ("[see](java`script`:alert(1))", "link to "),
    "a file: link": ("[passwd](file:///etc/passwd)", "link to file:"),
    "an ms-msdt: link": ("[fix](ms-msdt:/id PCWDiagnostic /skip force)", "link to ms-msdt:"),
    "an intent: link": ("[app](intent://x#Intent;scheme=x;end)", "link to intent:"),
    "an smb: link": ("[share](smb://evil.example/share)", "link to smb:"),
    "a vbscript: link in raw HTML": ('<a href="vbscript:msgbox(1)">x</a>', "link to vbscript:"),
    # MathJax makes links, styles, ids and images from TeX.
    "MathJax \\mmlToken with a link and a style": (
        '$\\mmlToken{mi}[href="javascript:alert(1)" style="position:fixed;top:0;left:0;width:100%;height:100%"]{x}$',
        "\\mmlToken in math"),
    "MathJax \\bbox loading a background": ("$\\bbox[background-image:url(https://evil.example/t.png)]{x}$",
                                           "\\bbox in math"),
    "MathJax \\unicode with a font that is a style": ("$\\unicode[x;background:url(https://evil.example/u)]{65}$",
                                                       "\\unicode in math"),
    "MathJax \\fcolorbox with a style for a colour": (
        "$\\fcolorbox{red;background:url(https://evil.example/f)}{white}{x}$", "\\fcolorbox in math"),
    "MathJax \\cssId clobbering the page": ("$\\cssId{typeans}{x}$", "\\cssId in math"),
    "MathJax \\require loading code": ("$\\require{textmacros}\\text{y}$", "\\require in math"),
    "MathJax \\enclose setting data- attributes": ("$\\enclose{circle}[data-x=1]{x}$", "\\enclose in math"),
    # Raw HTML blocks pass Markdown as they are, and MathJax reads the text the browser makes of them.
    "MathJax \\href spelt with an entity in raw HTML": ("<div>\\(\\h&#114;ef{javascript:alert(2)}{x}\\)</div>",
                                                        "\\href in math"),
    "MathJax \\href joined across a comment": ("<div>\\(\\h<!-- -->ref{javascript:alert(3)}{x}\\)</div>",
                                               "\\href in math"),
    "MathJax \\href joined across <wbr>": ("<div>\\(\\h<wbr>ref{javascript:alert(4)}{x}\\)</div>", "\\href in math"),
    "MathJax told to read code": ('<code class="mathjax_process">\\(\\href{javascript:alert(5)}{x}\\)</code>',
                                  "class mathjax_process"),
    # CSS that loads, or places an element over the card.
    "a style's url() spelt with an escape": ('<span style="background:u\\72l(https://evil.example/e)">x</span>',
                                             "url() in a style"),
    "a style's image-set()": ("<span style=\"color: red; background-image: image-set('https://evil.example/i' 1x)\">x"
                              "</span>", "image-set() in a style"),
    "a style placing a box over the card": ('<div style="position:fixed;inset:0;z-index:9">x</div>',
                                            "position in a style"),
    # Attributes that clobber the reviewer's page (document.getElementById), or name things.
    "an image named getElementById": ('<img name="getElementById" src="https://example.org/a.png">', "name= attribute"),
    "an image with the id getElementById": ('<img id="getElementById" src="https://example.org/a.png">', None),
    "a form named like the page's functions": ('<form name="getElementById"><input name="x"></form>', "<form>"),
    # Anki's own field syntax, which it acts on wherever it stands.
    "a sound tag naming the collection": ("[sound:collection.anki2]", "[sound:…] shown as text"),
    "a sound tag inside an attribute": ('<span title="[sound:x.mp3]">x</span>', "[sound:…] shown as text"),
    "a play tag inside an attribute": ('<span title="[anki:play:q:0] &quot; <b>">x</span>', "[anki:…] shown as text"),
    "text to speak": ("[anki:tts lang=en_US]hello[/anki:tts]", "[anki:…] shown as text"),
    "LaTeX for desktop to run": ("[latex]\\input{/etc/passwd}[/latex]", "[latex] shown as text"),
    "inline LaTeX for desktop to run": ("<div>[$]x^2[/$]</div>", "[$] shown as text"),  # in Markdown, $…$ is math
    "display LaTeX for desktop to run": ("<div>[$$]x^2[/$$]</div>", "[$$] shown as text"),
    "a type-in box taking another field": ("<div>[[type:Source]]</div>", "[[type:…]] shown as text"),  # or a link
    "an image from bytes no check has seen": ("![x](data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==)",
                                              "data: image"),
}


def build(tmp: Path, answer: str, description: str = "") -> tuple[CliRunner, Path]:
    notes = tmp / "notes"
    notes.mkdir()
    (notes / "deck.md").write_text(f"{description}\n### Q?\nBefore.\n\n{answer}\n\nAfter.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp / "build"), "-v"])  # every warning
    assert result.exit_code == 0, result.output
    return result, next((tmp / "build").glob("*.apkg"))


def what_anki_shows(profile: AnkiProfile) -> list[str]:
    """Every field of every note as Anki holds it, and every deck's description; the cards as Anki renders them
    (checked here) hold no sound, text to speak or LaTeX image that Anki made of them."""
    for card_id in profile.col.find_cards(""):
        card = profile.col.get_card(card_id)
        assert card.question_av_tags() == [] and card.answer_av_tags() == [], "a sound or text to speak"
        rendered = card.question() + card.answer()
        assert "[anki:" not in rendered and "latex-" not in rendered and not re.search(r"id=.?typeans", rendered)
    return [field for note in profile.notes() for field in note.fields] + [
        deck["desc"] for deck in profile.col.decks.all()]


def dangers(page: str) -> list[str]:
    """What in this HTML could run script, load from the network, clobber the page or be read by Anki or MathJax."""
    found = []
    for element in BeautifulSoup(page, "html.parser").find_all(True):
        if element.name in {"script", "iframe", "object", "embed", "svg", "math", "form", "input", "style", "base",
                            "meta", "link", "wbr"}:
            found.append(f"<{element.name}>")
        for attribute, value in element.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            url = re.sub(r"[\x00-\x20\x7f]", "", value).lower()
            if attribute.lower().startswith("on") or attribute.lower() in ("name", "formaction", "srcdoc"):
                found.append(f"{attribute}=")
            if attribute == "id" and not value.startswith("dg-"):
                found.append(f"id={value}")
            if attribute == "href" and not url.startswith(SAFE_SCHEMES):
                found.append(f"href={value}")
            if attribute == "src" and not (url.startswith(("https:", "http:", "dg-", "data:image/"))):
                found.append(f"src={value}")
            if attribute == "style" and LOADING_CSS.search(value):
                found.append(f"style={value}")
            if attribute == "class" and "mathjax_process" in value:
                found.append("class=mathjax_process")
    soup = BeautifulSoup(page, "html.parser")
    for code in soup.find_all(["pre", "code"]):  # MathJax reads none of it
        code.decompose()
    text = soup.get_text()  # what MathJax reads
    found += [f"\\{m.group(1)}" for m in UNSAFE_TEX_LEFT.finditer(text)]
    found += [m.group() for m in re.finditer(r"\[(sound:|anki:|latex\]|\$\$?\]|\[type:)", page, re.IGNORECASE)]
    found += ["latex image"] * ("latex-" in page)
    return found


@pytest.mark.parametrize("name", VECTORS)
def test_no_note_scripts_loads_or_makes_anki_act_in_a_real_collection(tmp_path, name, anki):
    answer, warning = VECTORS[name]
    result, apkg = build(tmp_path, answer)
    anki.import_package(apkg)
    shown = what_anki_shows(anki)
    assert [(page, dangers(page)) for page in shown if dangers(page)] == []
    assert any("Before." in page and "After." in page for page in shown)  # the rest of the answer is there
    if warning is not None:
        (line,) = [line for line in result.stderr.splitlines() if warning in line]
        assert line.startswith(f"{tmp_path / 'notes' / 'deck.md'}:5:"), result.stderr
        assert line.endswith(f"[{kind_of(warning)}]"), line


def test_anki_syntax_shows_as_the_author_wrote_it(tmp_path, anki):
    """Made text, not removed: the card still reads `[sound:x.mp3]` (its [ is an entity, as Anki stores it)."""
    _, apkg = build(tmp_path, "Play [sound:x.mp3] and see [1].")
    anki.import_package(apkg)
    (note,) = anki.notes()
    assert "&#91;sound:x.mp3]" in note["Answer"]
    assert html.unescape(BeautifulSoup(note["Answer"], "html.parser").get_text()).count("[sound:x.mp3]") == 1


def test_a_description_with_a_script_link_shows_none_on_the_deck_overview(tmp_path, anki):
    _, apkg = build(tmp_path, "A.", description="# About\nSee [this](java`script`:alert(1)) and [[type:Answer]].\n")
    anki.import_package(apkg)
    description = anki.col.decks.by_name("deck")["desc"]
    assert "See " in description and dangers(description) == []


def test_a_removed_notes_source_from_a_tampered_record_is_text(tmp_path, anki):
    """The record is committed with the notes, so a cloned repository decides what it holds: a removed note's
    source reached its Source field as it was."""
    notes, out = tmp_path / "notes", tmp_path / "build"
    notes.mkdir()
    (notes / "deck.md").write_text("### Q1?\nA1.\n\n### Gone?\ngone\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["build", str(notes), "-o", str(out)]).exit_code == 0
    record = notes / ".deckgen" / "identity.jsonl"
    record.write_text(record.read_text(encoding="utf-8").replace(
        '"source":"deck.md:4"', '"source":"<img src=x onerror=alert(1)>\\\\(\\\\href{javascript:alert(2)}{x}\\\\)[sound:y]"'),
        encoding="utf-8")
    (notes / "deck.md").write_text("### Q1?\nA1, edited.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(out)])
    assert result.exit_code == 0, result.output
    anki.import_package(max(out.glob("*.apkg")))
    (gone,) = [n for n in anki.notes() if "gone" in n["Answer"]]
    assert "&lt;img src=x onerror=alert(1)&gt;" in gone["Source"] and dangers(gone["Source"]) == []
    assert [(page, dangers(page)) for page in what_anki_shows(anki) if dangers(page)] == []


# Markdown assembled from the pieces scripts hide in: links, code spans, entities, HTML, math, attributes.
PIECES = st.sampled_from([
    "[x](", "](", ")", "(", "`", "``", "java", "script", ":", "javascript:", "JaVaScRiPt:", "&#106;", "&#x6A;",
    "&colon;", "&Tab;", "\t", "\n", "\\", "<a href=", "<img src=", "<img/src=", '"', "'", "=", ">", "<", " onerror=",
    " onload=", "alert(1)", "<svg>", "<math>", "<details open ontoggle=alert(1)>", "$", "$$", "\\(", "\\)", "\\[",
    "\\]", "\\href{", "\\h", "ref", "{", "}", "<!--", "-->", "<wbr>", "<![CDATA[", "]]>", "data:", "text/html,",
    "vbscript:", "file:", "//", "#", "[sound:", "[anki:", "[latex]", "[$]", "style=", "url(", "u\\72l(",
    "class=mathjax_process", " name=", " id=", "<code>", "</code>", "![a](", "https://x.org", "*", "_", "~~",
])


@pytest.fixture(scope="module")
def renderer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notes")
    return MarkdownRenderer(MediaResolver(folder)), folder


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(PIECES, min_size=1, max_size=40), inline=st.booleans())
@example(pieces=["![a](", "//", ")"], inline=False)  # found by this test: an image's scheme-relative src
@example(pieces=["![a](", "//evil.example/x.png", ")"], inline=False)
def test_no_markdown_of_any_shape_yields_a_script_url_a_handler_or_a_loading_style(renderer, pieces, inline):
    markdown_renderer, folder = renderer
    field = markdown_renderer.render("".join(pieces), inline=inline, folder=folder).html
    assert dangers(field) == [], field



@pytest.mark.parametrize("markdown, href", [("[x](//x.org/a)", "https://x.org/a"),
                                            ('[x](//"[x](', "https://&quot;&#91;x")])  # found by the test above
def test_a_link_without_a_scheme_to_another_host_says_https(renderer, markdown, href):
    """`//host` takes the card's own scheme, which is a file's or an app's in some Anki, not the web's: a link
    keeps only http:, https: and mailto: (README, Safety), so it says https: itself."""
    markdown_renderer, folder = renderer
    field = markdown_renderer.render(markdown, folder=folder).html
    assert f'href="{href}"' in field and dangers(field) == []

CLEANING_STALLS = {  # the cleaning's own patterns run in C, beyond the time limit's reach: each took minutes or more
    "a handler then unclosed tags (found by the property test above)": (
        "<details open ontoggle=alert(1)>\\)script id=<details open ontoggle=alert(1)>java<\\[]]>&#x6A;"
        "javascript:#refdata:[x](\\[\n([latex]<a href=)java[sound:\\(&colon;data:\n{"),
    "many unclosed tags with a handler first": "<b onclick=x>b</b>" + "<a x=1 y " * 20_000,
    "many unclosed quotes": "<b onclick=x>b</b>" + '<a title="' * 20_000,
    "a long unclosed tag": "<b onclick=x>b</b><a " + "x" * 200_000,
    "script links with long gaps": "<a href=javascript:x>y</a>" + "j&amp;&amp;" * 3_000,
}


# What the build reads in C besides the cleaning, found by an attacker's review: each took minutes before.
SCANS = {
    "inline tags of an answer of unclosed <": ("deckgen.render.tags", "inline_tags", "#tag " + "\n".join(["<" * 19_999] * 20)),
    "inline tags of an answer of unclosed link targets": ("deckgen.render.tags", "inline_tags",
                                                        "#tag " + "\n".join(["](" * 9_999] * 20)),
    "inline tags of an answer of dotted words": ("deckgen.render.tags", "inline_tags", "#tag " + "\n".join(["a." * 9_999] * 50)),
    "cleaning a run of quoted <a": ("deckgen.render.sanitize", "clean_html",
                                    "<div><script>z</script><a" + ' "<a"' * 39_000 + "</div>"),
}


@pytest.mark.parametrize("name", SCANS)
def test_what_else_is_scanned_in_c_is_scanned_in_linear_time(name, tmp_path):
    import subprocess
    import sys

    module, function, text = SCANS[name]
    script = f"import sys; from {module} import {function}; {function}(sys.stdin.read())"
    subprocess.run([sys.executable, "-c", script], input=text, text=True, check=True, timeout=30, cwd=tmp_path)


@pytest.mark.parametrize("name", CLEANING_STALLS)
def test_what_the_cleaning_looks_for_is_found_in_linear_time(name, tmp_path):
    import subprocess
    import sys

    script = ("import sys; from pathlib import Path; from deckgen.render.renderer import MarkdownRenderer; "
              "from deckgen.render.media import MediaResolver; r = MarkdownRenderer(MediaResolver(Path('.'))); "
              "t = sys.stdin.read(); [r.render(t, inline=i) for i in (False, True)]")
    subprocess.run([sys.executable, "-c", script], input=CLEANING_STALLS[name], text=True, check=True, timeout=30,
                   cwd=tmp_path)


def test_ordinary_notes_are_not_taken_for_attacks(tmp_path):
    """Seen on public notes repositories: links to other notes, centred paragraphs, unquoted addresses holding
    "=", a word or a tuple (said as unsafe before) in angle brackets, a form control in prose. None is unsafe; what a card cannot show is said so."""
    answer = ('See [the other note](other.md) and <a href="notes/x.ipynb">the notebook</a>.\n\n'
              '<p align="center"><img src="https://example.org/logo.png" width="100"></p>\n\n'
              '<div><a href=https://www.youtube.com/watch?v=KKjm4ehYiMs>a talk</a></div>\n\n'
              'Ask the <cliente> first, with the pair <s_1,g_1>.\n\n'
              'Pick one: <select><option>a</option></select> then go on.\n\n- and this item stays\n')
    result, apkg = build(tmp_path, answer)
    lines = [line for line in result.stderr.splitlines() if "warning" in line]
    assert all(line.endswith("[unknown-html]") for line in lines), result.stderr
    assert sorted(line.split("not on the card: ")[1].split(" ")[0] for line in lines) == [
        "<cliente>", "<option>", "<s_1,g_1>", "<select>"]
    import sqlite3
    import zipfile

    with zipfile.ZipFile(apkg) as archive:
        (tmp_path / "c.anki2").write_bytes(archive.read("collection.anki2"))
    (answer_html,) = [flds.split("\x1f")[1] for (flds,) in sqlite3.connect(tmp_path / "c.anki2").execute(
        "select flds from notes")]
    for kept in ("the other note", "the notebook", 'align="center"', 'href="https://www.youtube.com/watch?v=KKjm4ehYiMs"',
                 "then go on", "and this item stays"):
        assert kept in answer_html, kept
    assert "<span>the other note</span>" in answer_html  # plain text: a link that went nowhere looked like one


def test_lone_math_delimiters_are_found_in_linear_time():
    """Each lone \\( counted the lines before it anew: 1 MiB of them took 79 s (bench/one_note.py)."""
    import time

    from deckgen.parse.questions import unbalanced_math

    text = "\n".join(["\\(" * 9_000] * 58)
    start = time.perf_counter()
    found = unbalanced_math(text)
    assert time.perf_counter() - start < 10 and len(found) == 58  # each delimiter once a line


# Cloze decks (`cards: cloze` is a deck setting a cloned repository chooses): Anki's cloze filter writes each card
# from the field, joining text across deletions and tags between MathJax's delimiters and putting its own brackets
# around a hint, so what the field holds inert a card held live (found by an attacker's review).
CLOZE_VECTORS = {  # name: (an answer, what its warning names)
    "\\href split by a deletion inside math": (
        "{{c1::Paris}} $\\h{{c2::re}}f{javascript:alert(document.cookie)}{click}$", "\\href in math"),
    "\\cssId split by a deletion": ("{{c1::Paris}} $\\css{{c2::Id}}{typeans}{x}$", "\\cssId in math"),
    "\\mmlToken loading an image, split": (
        "{{c1::Paris}} $\\mmlTo{{c2::ken}}{mglyph}[src='https://evil.example/px.png',width=1px,height=1px]{}$",
        "\\mmlToken in math"),
    "\\href joined across a tag inside math": (
        "<div>\\(\\h<b></b>ref{javascript:alert(1)}{x}\\) {{c1::Paris}}</div>", "\\href in math"),
    "a hint that is a sound": ("{{c1::a::sound:https://evil.example/b.mp3}}", "[sound:…] shown as text"),
    "hints that are LaTeX for desktop to run": (
        "{{c1::b::latex}}\\input{/etc/passwd}{{c1::c::/latex}}", "[latex] shown as text"),
    "a hint after MathJax's \\[ making a type-in box": ("$\\[{{c1::d::type:Title]}}$", "[[type:…]] shown as text"),
    "a sound joined across a tag inside math": ("<div>\\( \\[<b></b>sound:x.mp3] \\) {{c1::Paris}}</div>",
                                                "[sound:…] shown as text"),
    "an image occlusion writing a handler": (
        '{{c1::image-occlusion:rect:left=.1" onmouseover="alert(1)" x=":top=.2:width=.3:height=.4}} {{c2::Paris}}',
        "image-occlusion: shown as text"),
    # Found by a second review, of the cloze check itself:
    "an image occlusion, the only deletion, focusing itself": (
        '{{c1::image-occlusion:rect:left=1" tabindex="0" autofocus onfocus="document.title=1" id="x:top=2}}',
        "image-occlusion: shown as text"),
    "\\href after a </code> the filter took out, in a table": (
        "| a | b |\n|---|---|\n| `\\(`\\\\) | \\(\\hr{{c1::ef}}{javascript:alert(1)}{x}\\) `z` |", "\\href in math"),
}


def what_anki_cards_show(profile: AnkiProfile) -> list[str]:
    """Every side of every card as Anki renders it for the reviewer (a sound it would play, as [anki:play…]),
    less the one id the card template gives (`<hr id=answer>`, where Anki scrolls to)."""
    sides = []
    for card_id in profile.col.find_cards(""):
        output = profile.col.get_card(card_id).render_output(reload=True)
        sides += [side.replace('<hr id="answer">', "<hr>") for side in (output.question_text, output.answer_text)]
    return sides


@pytest.mark.parametrize("name", CLOZE_VECTORS)
def test_no_cloze_card_scripts_loads_or_makes_anki_act_in_a_real_collection(tmp_path, name, anki):
    answer, warning = CLOZE_VECTORS[name]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "deck.md").write_text(f"---\ndeckgen:\n  cards: cloze\n---\n### Q?\nBefore.\n\n{answer}\n\nAfter.\n",
                                   encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "build")])
    assert result.exit_code == 0, result.output
    anki.import_package(next((tmp_path / "build").glob("*.apkg")))
    sides = what_anki_cards_show(anki)
    assert len(sides) >= 2 and all("Before." in side and "After." in side for side in sides)
    assert [(side, dangers(side)) for side in sides if dangers(side)] == []
    (line,) = [line for line in result.stderr.splitlines() if warning in line]
    assert line.startswith(f"{notes / 'deck.md'}:") and line.endswith(f"[{kind_of(warning)}]"), line


def test_a_cloze_card_still_shows_what_its_author_wrote(tmp_path, anki):
    """What is broken is broken by an invisible space: the deletions, their hints and the math read as before."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "deck.md").write_text(
        "---\ndeckgen:\n  cards: cloze\n---\n### Q?\n{{c1::Paris::sound:city}} is in $\\frac{ {{c2::a}} }{b}$ "
        "and {{c3::France::country}}.\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "build")]).exit_code == 0
    anki.import_package(next((tmp_path / "build").glob("*.apkg")))
    fronts = {}
    for card_id in anki.col.find_cards(""):
        card = anki.col.get_card(card_id)
        text = BeautifulSoup(card.render_output(reload=True).question_text, "html.parser").get_text()
        fronts[card.ord + 1] = text.replace("\u200b", "")
    assert "[sound:city] is in" in fronts[1] and "[country]" in fronts[3]  # the hint as written, not played
    assert "\\frac{ [...] }{b}" in fronts[2] and "\\frac{ a }{b}" in fronts[1]


def test_a_script_link_beside_ordinary_links_is_the_only_one_said():
    """Links to other notes and scheme-relative links were said as removed with it, as if unsafe (a scheme-relative
    one is kept, saying https: itself)."""
    from deckgen.render.sanitize import clean_html

    html_text, said = clean_html('<a href="other.md">a</a> <a href="javascript:x">b</a> <a href="//example.org/x">c</a>')
    assert said == ("link to javascript:",) and '<a href="https://example.org/x">c</a>' in html_text
