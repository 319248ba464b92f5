"""The preview page in headless Chromium: offline, error-free, fits a phone, night mode, scrolling code."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOWCASE = Path(__file__).parent / "fixtures" / "showcase"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium for the browser tests (.ci/run does)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("preview")
    shutil.copytree(SHOWCASE, tmp / "showcase")
    shutil.copytree(Path(__file__).parents[1] / "source", tmp / "seed")
    for library in ("showcase", "seed"):  # two libraries, a package each
        result = CliRunner().invoke(main, ["preview", str(tmp / library), "-o", str(tmp / "build")])
        assert result.exit_code == 0, result.output
    return {slug: (tmp / "build" / f"{slug}-preview.html").as_uri() for slug in ("showcase", "llm-interview")}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


def open_page(browser, url: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 800})
    requests, problems = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, requests, problems


@pytest.mark.parametrize("deck", ["showcase", "llm-interview"])
@pytest.mark.parametrize("width,hash_", [(1280, ""), (375, ""), (375, "#night&phone")])
def test_offline_no_errors_no_overflow(browser, page_url, deck, width, hash_):
    page, requests, problems = open_page(browser, page_url[deck] + hash_, width)
    assert [url for url in requests if not url.startswith(("file://", "data:"))] == []
    assert problems == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    overflowing = page.evaluate("""Array.from(document.querySelectorAll('.pv-side > .card'))
        .filter(card => card.getBoundingClientRect().right > window.innerWidth + 0.5).length""")
    assert overflowing == 0
    page.close()


def test_night_mode_applies_to_every_card(browser, page_url):
    page, _, problems = open_page(browser, page_url["showcase"], 1280)
    light = page.evaluate("getComputedStyle(document.querySelector('.pv-side > .card')).backgroundColor")
    page.check("#pv-night")
    cards = page.evaluate("""Array.from(document.querySelectorAll('.pv-side > .card'))
        .map(card => [card.classList.contains('nightMode'), getComputedStyle(card).backgroundColor,
                      getComputedStyle(card).color])""")
    assert light == "rgb(255, 255, 255)"
    assert {tuple(c) for c in cards} == {(True, "rgb(29, 31, 35)", "rgb(230, 232, 235)")}
    code = page.evaluate("getComputedStyle(document.querySelector('.highlight .k')).color")
    assert code != page.evaluate("getComputedStyle(document.querySelector('.highlight')).color")
    assert problems == []


def test_code_blocks_scroll_instead_of_widening_the_card(browser, page_url):
    page, _, _ = open_page(browser, page_url["showcase"] + "#phone", 375)
    blocks = page.evaluate("""Array.from(document.querySelectorAll('.pv-side > .card pre')).map(pre => ({
        scrolls: pre.scrollWidth > pre.clientWidth, overflowX: getComputedStyle(pre).overflowX,
        right: pre.getBoundingClientRect().right, cardRight: pre.closest('.card').getBoundingClientRect().right}))""")
    assert blocks, "the showcase has a code block"
    for block in blocks:
        assert block["scrolls"] and block["overflowX"] == "auto"
        assert block["right"] <= block["cardRight"] <= 375


def test_filters_by_text_and_tag(browser, page_url):
    page, _, problems = open_page(browser, page_url["llm-interview"], 1280)
    assert page.inner_text("#pv-count") == "106 of 106 notes"
    page.fill("#pv-text", "langchain")
    shown = page.inner_text("#pv-count")
    assert shown != "106 of 106 notes" and int(shown.split()[0]) >= 10
    page.fill("#pv-text", "")
    page.select_option("#pv-tag", "topic::rag::vector-db")
    assert page.inner_text("#pv-count") == "2 of 106 notes"
    assert problems == []


def card_page(browser, body: str, html_class: str):
    """A card as Anki lays it out: the note type's CSS, `card` on <body>, the platform classes on <html>."""
    from deckgen.identify.note_types import BASIC

    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.set_content(f'<!doctype html><html class="{html_class}"><head><style>{BASIC.css}</style></head>'
                     f'<body class="card"><div class="dg-card"><div class="dg-answer">{body}</div></div></body></html>')
    return page


def test_the_phone_text_size_applies_where_anki_puts_the_mobile_class(browser):
    size = "getComputedStyle(document.body).fontSize"
    assert card_page(browser, "<p>x</p>", "iphone ios mobile").evaluate(size) == "18px"
    assert card_page(browser, "<p>x</p>", "linux chrome").evaluate(size) == "20px"


def test_a_long_inline_formula_scrolls_in_its_line_instead_of_widening_the_card(browser):
    wide = '<span style="display:inline-block;width:900px">formula</span>'  # as MathJax lays one out
    page = card_page(browser, f"<p>It is <mjx-container>{wide}</mjx-container> in one line.</p>", "mobile")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.evaluate("(() => { const m = document.querySelector('mjx-container');"
                        " return [m.scrollWidth, m.clientWidth, getComputedStyle(m).overflowX]; })()")
    assert box[0] > box[1] and box[2] == "auto"
