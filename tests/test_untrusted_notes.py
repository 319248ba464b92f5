"""Notes someone else wrote cannot put a file from outside the notes folder into a package, nor stall a build."""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from deckgen import build_decks
from deckgen.render.media import MediaResolver, image_type

from conftest import AnkiProfile, png

MARKER = b"DECKGEN-OUTSIDE-7f3a9c51"


def run(*args: str):
    return CliRunner().invoke(__import__("deckgen.cli", fromlist=["main"]).main, list(args))


def library(tmp: Path) -> tuple[Path, Path]:
    """tmp/outside holds files with a marker; tmp/home/notes is the notes folder (its deck in a sub-folder)."""
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png(2, 2, (1, 2, 3), MARKER))  # a real image, but outside
    (outside / "passwd").write_bytes(b"root:x:0:0:" + MARKER + b"\n")
    (outside / "my secret.png").write_bytes(png(2, 2, (4, 5, 6), MARKER))
    (outside / "stolen.md").write_bytes(b"### Stolen?\n" + MARKER + b"\n")
    notes = tmp / "home" / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "sub" / "inside.png").write_bytes(png(2, 2, (9, 9, 9)))
    return notes, outside


def packages_hold_marker(out: Path) -> list[str]:
    """Every entry of every package in `out` that holds the marker's bytes."""
    found = []
    for apkg in out.glob("*.apkg"):
        with zipfile.ZipFile(apkg) as archive:
            found += [f"{apkg.name}:{name}" for name in archive.namelist() if MARKER in archive.read(name)]
    return found


# name: (the image reference, as Markdown or HTML, in sub/deck.md; how to set up links; code of the warning)
VECTORS = {
    "dot-dot": ("![x](../../../outside/secret.png)", None, "media-outside"),
    "dot-dot to a text file": ("![x](../../../outside/passwd)", None, "media-outside"),
    "angle brackets": ("![z](<../../../outside/secret.png>)", None, "media-outside"),
    "angle brackets with a space": ("![z](<../../../outside/my secret.png>)", None, "media-outside"),
    "%20 for the space": ("![z](../../../outside/my%20secret.png)", None, "media-outside"),
    "absolute": ("![y]({outside}/secret.png)", None, "media-outside"),
    "absolute, percent-encoded": ("![y]({outside_encoded}/secret.png)", None, "media-outside"),
    "percent-encoded dots": ("![y](%2e%2e/%2e%2e/%2e%2e/outside/secret.png)", None, "media-outside"),
    "upper-case percent-encoding": ("![y](%2E%2E%2F%2E%2E%2F%2E%2E%2Foutside%2Fsecret.png)", None, "media-outside"),
    "dot-slash first": ("![y](./../../../outside/secret.png)", None, "media-outside"),
    "raw HTML": ('<img src="../../../outside/secret.png">', None, "media-outside"),
    "raw HTML, upper case": ('<IMG SRC="../../../outside/secret.png">', None, "media-outside"),
    "raw HTML, absolute": ('<img src="{outside}/passwd" alt="pw">', None, "media-outside"),
    "Windows drive": ("![w](C:\\Users\\me\\secret.png)", None, "media-outside"),
    "file URL": ("![f](file://{outside}/secret.png)", None, "media-outside"),
    "FILE URL, upper case": ("![f](FILE://{outside}/secret.png)", None, "media-outside"),
    "link to outside": ("![z](link.png)", ("sub/link.png", "outside/secret.png"), "media-outside"),
    "link in a linked folder": ("![z](dir/secret.png)", ("sub/dir", "outside"), "media-outside"),
    "not an image, inside": ("![z](fake.png)", ("sub/fake.png", "outside/passwd"), "media-outside"),
    "a text file named .png": ("![z](notes.png)", ("copy:sub/notes.png", "outside/passwd"), "media-not-image"),
}


def setup(tmp: Path, name: str) -> Path:
    notes, outside = library(tmp)
    ref, link, _ = VECTORS[name]
    ref = ref.format(outside=outside, outside_encoded=str(outside).replace("/", "%2F"))
    if link:
        where, target = link
        if where.startswith("copy:"):
            (notes / where[5:]).write_bytes((tmp / target).read_bytes())
        else:
            (notes / where).symlink_to(tmp / target)
    (notes / "sub" / "deck.md").write_text(f"### Safe?\nAn image:\n{ref}\nafter it.\n### Other?\nYes.\n",
                                           encoding="utf-8")
    return notes


@pytest.mark.parametrize("name", VECTORS)
def test_nothing_from_outside_reaches_a_package(tmp_path, name):
    notes = setup(tmp_path, name)
    out = tmp_path / "build"
    result = run("build", str(notes), "-o", str(out))
    assert result.exit_code == 0, result.output
    code = VECTORS[name][2]
    (warning,) = [line for line in result.stderr.splitlines() if f"[{code}]" in line]
    column = 1 + re.search(r'\]\(<?|src="', VECTORS[name][0], re.IGNORECASE).end()  # where the path starts
    assert warning.startswith(f"{notes / 'sub' / 'deck.md'}:3:{column}: warning: ")
    assert packages_hold_marker(out) == []
    assert list(out.glob("*.apkg")), "the deck itself is built"
    strict = run("check", "--strict", str(notes))
    assert strict.exit_code == 1 and f"[{code}]" in strict.stdout


def test_the_card_shows_the_alt_text_and_says_the_image_is_not_included(tmp_path, anki):
    notes = setup(tmp_path, "dot-dot")
    report = build_decks(notes, tmp_path / "build", now=1_800_000_000)
    anki.import_package(report.packages[0].path)
    (note,) = [n for n in anki.notes() if n["Question"] == "Safe?"]
    assert '<span class="dg-no-image">x <span class="dg-no-image-mark">(image not included)</span></span>' \
        in note["Answer"]
    assert "<img" not in note["Answer"] and os.listdir(anki.col.media.dir()) == []


def test_an_absolute_path_warning_says_how_to_bring_the_image_in(tmp_path):
    notes = setup(tmp_path, "absolute")
    result = run("check", str(notes))
    assert "an absolute path works only on this computer: copy the image into the notes folder" in result.stdout


def test_remote_images_stay_remote_and_check_lists_them(tmp_path):
    notes, _ = library(tmp_path)
    (notes / "deck.md").write_text("### Remote?\n![plot](https://example.org/plot.png)\n", encoding="utf-8")
    built = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert built.exit_code == 0 and built.stderr == ""
    checked = run("check", "--strict", str(notes))
    assert checked.exit_code == 0
    assert checked.stdout == (f"{notes / 'deck.md'}:2:9: note: remote image: the card loads "
                              "https://example.org/plot.png from the network each time it is shown [remote-media]\n"
                              f"{notes / 'deck.md'}: 1 question(s), 1 card(s)\n")
    assert checked.stderr == "0 error(s), 0 warning(s), 1 note(s); 1 card(s) from 1 file(s)\n"
    (apkg,) = (tmp_path / "build").glob("*.apkg")
    with zipfile.ZipFile(apkg) as archive:
        assert b'<img alt="plot" src="https://example.org/plot.png"' in archive.read("collection.anki2")


def test_a_description_shows_its_images_from_inside_the_notes_only(tmp_path, anki):
    notes, outside = library(tmp_path)
    (notes / "deck.md").write_text("# About\nOur logo: ![logo](sub/inside.png)\nTheirs: ![x](../../outside/secret.png)\n"
                                   "### Q?\nA.\n", encoding="utf-8")
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 0
    assert result.stderr.startswith(f"{notes / 'deck.md'}:3:14: warning: image outside the notes folder, not included")
    assert packages_hold_marker(tmp_path / "build") == []
    anki.import_package(next((tmp_path / "build").glob("*.apkg")))
    description = anki.col.decks.by_name("deck")["desc"]
    # Anki keeps no media file that only a description names: the image travels inside the description.
    inline = "data:image/png;base64," + base64.b64encode((notes / "sub" / "inside.png").read_bytes()).decode()
    assert f'<img alt="logo" src="{inline}"' in description
    assert '<span class="dg-no-image">x <span class="dg-no-image-mark">' in description


def test_a_link_inside_the_notes_to_an_image_inside_still_works(tmp_path, anki):
    notes, _ = library(tmp_path)
    (notes / "sub" / "alias.png").symlink_to(notes / "sub" / "inside.png")
    (notes / "sub" / "deck.md").write_text("### Linked?\n![in](alias.png)\n", encoding="utf-8")
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 0 and result.stderr == ""
    anki.import_package(next((tmp_path / "build").glob("*.apkg")))
    (name,) = os.listdir(anki.col.media.dir())
    assert (Path(anki.col.media.dir()) / name).read_bytes() == (notes / "sub" / "inside.png").read_bytes()


def test_a_deck_file_linked_from_outside_is_skipped_with_a_warning(tmp_path):
    notes, outside = library(tmp_path)
    (notes / "stolen.md").symlink_to(outside / "stolen.md")
    (notes / "own.md").write_text("### Own?\nYes.\n", encoding="utf-8")
    (notes / "own.deck.toml").symlink_to(outside / "passwd")  # settings from outside: skipped too
    out = tmp_path / "build"
    result = run("build", str(notes), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"{notes / 'stolen.md'}: warning: skipped: a symbolic link to {outside / 'stolen.md'}" in result.stderr
    assert f"{notes / 'own.deck.toml'}: warning: skipped: a symbolic link to {outside / 'passwd'}" in result.stderr
    assert [p.name for p in out.glob("*.apkg")] == ["own-1.0.0.apkg"] and packages_hold_marker(out) == []


def test_an_identity_record_linked_from_outside_is_neither_read_nor_written(tmp_path):
    notes, outside = library(tmp_path)
    (notes / "own.md").write_text("### Own?\nYes.\n", encoding="utf-8")
    (outside / "record").mkdir()
    (outside / "record" / "identity.jsonl").write_text('{"deckgen_identity":2}\n{"guid":"' + MARKER.decode()
                                                     + '","deck":"own","question":"Own?","answer":"' + MARKER.decode()
                                                     + '","mtime":1,"source":"own.md:1","removed":1}\n')
    (notes / ".deckgen").symlink_to(outside / "record")
    before = (outside / "record" / "identity.jsonl").read_bytes()
    checked = run("check", str(notes))
    assert f"{notes / '.deckgen' / 'identity.jsonl'}: warning: skipped: a symbolic link to" in checked.stdout
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 1 and "where deckgen writes nothing: remove the link" in result.stderr
    assert (outside / "record" / "identity.jsonl").read_bytes() == before
    assert sorted(p.name for p in (outside / "record").iterdir()) == ["identity.jsonl"]
    assert packages_hold_marker(tmp_path / "build") == []



def test_a_linked_record_is_said_even_when_a_damaged_0_1_record_stops_the_check(tmp_path):
    """The link was said only by the identity stage, which an unreadable deckgen 0.1 record stopped first."""
    notes, outside = library(tmp_path)
    (notes / "own.md").write_text("### Own?\nYes.\n", encoding="utf-8")
    (notes / "own.identity.jsonl").write_text("not a record\n", encoding="utf-8")
    (outside / "record").mkdir()
    (notes / ".deckgen").symlink_to(outside / "record")
    checked = run("check", str(notes))
    assert checked.exit_code == 1 and f"{notes / 'own.identity.jsonl'}:1" in checked.stdout
    assert f"{notes / '.deckgen' / 'identity.jsonl'}: warning: skipped: a symbolic link to" in checked.stdout

def test_a_file_that_is_too_large_is_not_included(tmp_path):
    notes, _ = library(tmp_path)
    (notes / "big.png").write_bytes(png(2, 2, (0, 0, 0)) + b"\0" * (10 * 1024 * 1024))
    (notes / "deck.md").write_text("### Big?\n![big](big.png)\n", encoding="utf-8")
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 0
    assert "warning: not included: big.png is 10.0 MiB, more than the 10 MiB a file may have" in result.stderr
    assert "[media-too-large]" in result.stderr


def test_the_bytes_bundled_are_the_bytes_checked(tmp_path, monkeypatch):
    """An image swapped for another file between its check and the writing stops the build."""
    from deckgen.output import package

    notes, outside = library(tmp_path)
    image = notes / "sub" / "inside.png"
    (notes / "sub" / "deck.md").write_text("### Swap?\n![in](inside.png)\n", encoding="utf-8")
    original = package.write_package_to

    def swap_then_write(plan, file):
        image.unlink()
        image.symlink_to(outside / "secret.png")
        return original(plan, file)

    monkeypatch.setattr(package, "write_package_to", swap_then_write)
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 1 and "changed while the build ran; build again" in result.output
    assert not list((tmp_path / "build").glob("*.apkg"))


@pytest.mark.parametrize("data, kind", [
    (png(1, 1, (0, 0, 0)), ".png"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", ".jpg"), (b"GIF89a\x01\x00", ".gif"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ".webp"), (b"\x00\x00\x00\x1cftypavif", ".avif"),
    (b'<?xml version="1.0"?>\n<!-- c -->\n<svg xmlns="http://www.w3.org/2000/svg"/>', ".svg"),
    (b"\xef\xbb\xbf<svg>", ".svg"), (b"BM\x00\x00", ".bmp"), (b"\x00\x00\x01\x00\x01\x00", ".ico"),
    (b"root:x:0:0:root:/root:/bin/bash\n", None), (b"-----BEGIN OPENSSH PRIVATE KEY-----\n", None),
    (b"%PDF-1.7", None), (b"<html><svg></svg></html>", None), (b"", None),
])
def test_only_images_anki_shows_are_bundled_whatever_their_name(data, kind):
    assert image_type(data) == kind


def test_a_jpg_holding_png_bytes_is_fine(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(png(1, 1, (5, 5, 5)))
    ref = MediaResolver(tmp_path).resolve("photo.jpg", tmp_path)
    assert ref.problem is None and ref.name.endswith(".jpg")


PATHOLOGICAL = {
    "unclosed brackets": "[" * 19_000,
    "unclosed image brackets": "![" * 9_500,
    "nested unclosed links": "[![" * 6_000,
    "links with no end": "[a](" * 4_500,
    "unclosed raw HTML": "<a>" * 6_000,
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_markdown_renders_about_as_fast_as_ordinary_markdown(tmp_path, name):
    """Each took from seconds to minutes before; timed against ordinary text of the same size.

    A generous bound, not a benchmark (bench/pathological.py times them properly): it only
    has to tell linear from quadratic.
    """
    from deckgen.render.renderer import MarkdownRenderer

    renderer = MarkdownRenderer(MediaResolver(tmp_path))
    text = PATHOLOGICAL[name]
    ordinary = ("Plain words, **bold**, `code` and [a link](https://example.org). " * 400)[:len(text)]
    renderer.convert("warm up")
    start = time.perf_counter()
    renderer.convert(ordinary)
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    renderer.convert(text)
    assert time.perf_counter() - start < 20 * baseline + 0.2


def test_a_text_that_runs_past_its_time_limit_is_shown_as_plain_text_with_a_warning_and_never_cached(
        tmp_path, monkeypatch):
    import sqlite3

    from deckgen.render import renderer as render

    original = render.clean_html

    def slow_cleaning(html, *args):  # a parser slower than linear, on this one text
        end = time.monotonic() + (5 if "and</b>" in html else 0)
        while time.monotonic() < end:
            pass
        return original(html, *args)

    monkeypatch.setattr(render, "clean_html", slow_cleaning)
    monkeypatch.setattr(render, "TIME_LIMIT_FROM", 50)
    monkeypatch.setattr(render, "TIME_LIMIT", 0.1)
    notes, _ = library(tmp_path)
    long = "**Bold** <b>and</b> [sound:x.mp3] " * 5
    (notes / "deck.md").write_text(f"### Slow?\n{long}\nsecond line\n### Quick?\n*short*\n", encoding="utf-8")
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 0
    assert result.stderr == (f"{notes / 'deck.md'}:2:21: warning: [sound:…] shown as text, since Anki would act on "
                             "it (deckgen bundles no sound and writes none of Anki's own syntax) [anki-syntax]\n"
                             f"{notes / 'deck.md'}:2:1: warning: too complex to render in time, so the card shows "
                             "it as plain text: is it really Markdown? [render-timeout]\n")
    (apkg,) = (tmp_path / "build").glob("*.apkg")
    with zipfile.ZipFile(apkg) as archive:
        fields = archive.read("collection.anki2")
    # Plain text, cleaned as every text is: Anki's own syntax in it is text too.
    assert "<p>**Bold** &lt;b&gt;and&lt;/b&gt; &#91;sound:x.mp3] ".encode() in fields
    assert b"<br>\nsecond line</p>" in fields
    assert b"<em>short</em>" in fields  # the renderer works on after an interrupted text
    from deckgen.places import render_cache_path as cache_path

    with sqlite3.connect(cache_path(notes)) as cache:
        kept = [html for (html,) in cache.execute("select html from entries")]
    assert kept and not any("**Bold**" in html for html in kept)  # a faster machine renders it next time


def test_the_time_limit_stops_work_and_leaves_nothing_behind():
    import threading

    from deckgen.render.time_limit import TimeLimitExceeded, time_limit

    def spin():
        while True:
            pass

    def run_limited(results):
        start = time.monotonic()
        try:
            with time_limit(0.1):
                spin()
        except TimeLimitExceeded:
            results.append(time.monotonic() - start)

    results = []
    run_limited(results)
    worker = threading.Thread(target=run_limited, args=(results,))  # not the main thread: no signals used
    worker.start()
    worker.join(5)
    assert len(results) == 2 and all(0.1 <= seconds < 1.0 for seconds in results)
    for _ in range(200):  # quick work is never interrupted, now or later
        with time_limit(0.05):
            sum(range(1000))
    time.sleep(0.3)


def test_a_topic_pattern_that_backtracks_for_ever_is_refused_with_its_line(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "deck.md").write_text("### " + "a" * 60 + "b?\nYes.\n", encoding="utf-8")
    (tmp_path / "notes" / "deck.deck.toml").write_text(
        '[[topics]]\ntag = "fine"\nkeywords = ["x"]\n\n[[topics]]\ntag = "slow"\npatterns = ["(a|aa)+$"]\n')
    start = time.monotonic()
    result = run("build", str(tmp_path / "notes"), "-o", str(tmp_path / "build"))
    assert time.monotonic() - start < 10
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'notes' / 'deck.deck.toml'}:5:1: error: topic pattern "
                                    "'(a|aa)+$' took more than 0.1 s on the question at ")
    assert "[slow-pattern]" in result.stderr


# Image targets shaped like paths: up and down, absolute, encoded, with links made on the fly.
segments = st.sampled_from(["..", ".", "sub", "outside", "secret.png", "passwd", "inside.png", "%2e%2e", "%2E%2E",
                            "link", "", "my%20secret.png", "home", "notes", "~", "%2F"])
targets = st.builds(
    lambda absolute, parts, wrap: (("{tmp}/" if absolute else "") + "/".join(parts)).join(wrap),
    st.booleans(), st.lists(segments, min_size=1, max_size=7), st.sampled_from([("", ""), ("<", ">")]))
forms = st.sampled_from(["![a]({})", '<img src="{}">', "![a]({} \"title\")", "[![a]({})](https://x.org)"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(refs=st.lists(st.tuples(forms, targets), min_size=1, max_size=4), linked=st.booleans())
def test_no_image_reference_of_any_shape_bundles_a_byte_from_outside(refs, linked):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        notes, outside = library(tmp)
        if linked:
            (notes / "sub" / "link").symlink_to(outside)
            (notes / "link").symlink_to(outside / "secret.png")
        body = "\n".join(form.format(target.format(tmp=tmp)) for form, target in refs)
        (notes / "sub" / "deck.md").write_text(f"### Q?\n{body}\n", encoding="utf-8")
        result = run("build", str(notes), "-o", str(tmp / "build"))
        assert result.exit_code in (0, 1) and "Traceback" not in result.output
        assert packages_hold_marker(tmp / "build") == []
        if result.exit_code == 0:
            profile = AnkiProfile(tmp / "collection.anki2")
            try:
                profile.import_package(next((tmp / "build").glob("*.apkg")))
                media = Path(profile.col.media.dir())
                assert all(MARKER not in (media / name).read_bytes() for name in os.listdir(media))
            finally:
                profile.close()


def test_the_largest_image_bundled_is_a_library_setting(tmp_path):
    notes, _ = library(tmp_path)
    (notes / "big.png").write_bytes(png(2, 2, (0, 0, 0)) + b"\0" * (10 * 1024 * 1024))
    (notes / "deck.md").write_text("### Big?\n![big](big.png)\n", encoding="utf-8")
    (notes / "deckgen.toml").write_text("max_image_mib = 12\n", encoding="utf-8")
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 0 and "[media-too-large]" not in result.stderr
    (notes / "deckgen.toml").write_text("max_image_mib = 0.5\n", encoding="utf-8")
    smaller = run("check", str(notes))
    assert "more than the 0.5 MiB a file may have" in smaller.stdout


# From a security review: script on cards, a tampered identity record, files outside, inputs that stall.

SCRIPT_VECTORS = {  # Markdown that put running script on a card, before
    "a javascript: link split by a line end": "Click [here](javas\ncript:alert(1337)) now.",
    "an image handler hidden in CDATA": "Text <![CDATA[ x><img src=x onerror=alert('CDATA')>]]> more",
    "a MathJax \\href to javascript:": "See \\(\\href{javascript:alert('MJ')}{click me}\\).",
    "a MathJax \\style that loads": "See \\(\\style{background:url(https://x.invalid/t.png)}{x}\\).",
    "a MathJax \\href with braces inside": "See \\(\\href{javascript:alert(1);{}}{x}\\).",
    "a MathJax macro that makes a \\href": "See \\(\\newcommand{\\h}[1]{\\href{#1}{x}}\\h{javascript:alert(2)}\\).",
    "a MathJax \\href behind a comment": "See \\(\\href%\n{javascript:alert(3)}{x}\\).",
    "math Markdown escaped, read by MathJax": "See \\\\(\\href{javascript:alert(4)}{x}\\\\).",
}


@pytest.mark.parametrize("name", SCRIPT_VECTORS)
def test_no_note_puts_script_on_a_card(tmp_path, name, anki):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "deck.md").write_text(f"### Q?\n{SCRIPT_VECTORS[name]}\n", encoding="utf-8")
    result = run("build", str(tmp_path / "notes"), "-o", str(tmp_path / "build"))
    assert result.exit_code == 0 and "[unsafe-html]" in result.stderr, result.output
    (apkg,) = (tmp_path / "build").glob("*.apkg")
    anki.import_package(apkg)
    (card,) = [anki.col.get_card(cid) for cid in anki.col.find_cards("")]
    shown = card.answer().replace("\n", "").replace("\t", "").lower()
    assert "onerror=" not in shown and 'href="javascript' not in shown
    # No link or style command is left for MathJax to honour (its javascript: or url( may stay, as text).
    assert not re.search(r"\\(href|url|style)(?![a-z])", shown)


def test_a_tampered_identity_record_puts_no_script_in_the_package(tmp_path, anki):
    """The record is committed with the notes, so a cloned repository decides what it holds: its source lines
    and a removed note's tags reach fields, its note types' field names the templates."""
    notes, out = tmp_path / "notes", tmp_path / "build"
    notes.mkdir()
    (notes / "deck.md").write_text("### Q1?\nA1.\n\n### Q2?\nA2.\n\n### Q3?\nA3.\n", encoding="utf-8")
    assert run("build", str(notes), "-o", str(out)).exit_code == 0
    record = notes / ".deckgen" / "identity.jsonl"
    lines = record.read_text(encoding="utf-8").splitlines()
    lines = [line.replace('"source":"deck.md:1"', '"source":"<img src=x onerror=alert(1)>"') for line in lines]
    for number, line in enumerate(lines):  # Q3, which is then removed: a removed note's tags reach {{Tags}}
        if '"question":"Q3?"' in line:
            lines[number] = json.dumps({**json.loads(line), "tags": ["<img/src/onerror=alert(2)>"]},
                                       separators=(",", ":"))
    record.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (notes / "deck.md").write_text("### Q1?\nA1, edited.\n\n### Q2?\nA2.\n", encoding="utf-8")
    result = run("build", str(notes), "-o", str(out))
    assert result.exit_code == 0, result.output
    anki.import_package(max(out.glob("*.apkg")))
    for cid in anki.col.find_cards(""):
        card = anki.col.get_card(cid)
        assert "onerror=" not in card.question() + card.answer() and "<img" not in card.answer()

    bad_type = ('{"note_type":123456,"name":"evil","fields":["Question","Answer}}<img src=x onerror=alert(3)>'
                '{{Question","Answer","Status"],"templates":["Recall"],"fingerprint":"1","mtime":1796174000}')
    record.write_text(record.read_text(encoding="utf-8") + bad_type + "\n", encoding="utf-8")
    result = run("build", str(notes), "-o", str(out))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{record}:" in result.output and "fields" in result.output


def test_settings_of_a_sub_folder_linked_from_outside_are_not_read(tmp_path):
    notes, outside = library(tmp_path)
    (outside / "creds.toml").write_text('cards = "DECKGEN-OUTSIDE-7f3a9c51"\n', encoding="utf-8")
    (notes / "sub" / "deck.md").write_text("### Q?\nA.\n", encoding="utf-8")
    (notes / "sub" / "deckgen.toml").symlink_to(outside / "creds.toml")
    result = run("check", str(notes))
    assert MARKER.decode() not in result.output and "[link-outside]" in result.output
    assert result.exit_code == 0


def test_a_lock_file_linked_elsewhere_is_not_followed(tmp_path):
    notes, outside = library(tmp_path)
    (notes / "sub" / "deck.md").write_text("### Q?\nA.\n", encoding="utf-8")
    (notes / ".deckgen.lock").symlink_to(outside / "made-by-deckgen")
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 1 and "is a symbolic link" in result.output and "Traceback" not in result.output
    assert not (outside / "made-by-deckgen").exists()


def test_a_lock_file_linked_elsewhere_after_the_check_is_not_followed_either(tmp_path, monkeypatch):
    """The lock (filelock, on every platform) opens its file without following a link: one put there between
    deckgen's look and the lock's open still makes nothing elsewhere, and stops the build."""
    from deckgen.errors import DeckgenError
    from deckgen.output.staging import LOCK_NAME, project_lock

    notes, outside = library(tmp_path)
    (notes / LOCK_NAME).symlink_to(outside / "made-by-deckgen")
    monkeypatch.setattr(Path, "is_symlink", lambda self: False)  # as if the link came just after the look
    monkeypatch.setattr(Path, "exists", lambda self: False)
    with pytest.raises(DeckgenError, match="cannot take deckgen's lock") as refused:
        with project_lock(notes):
            pass
    assert os.strerror(errno.ELOOP) in str(refused.value)  # the link refused, not followed
    assert not os.path.lexists(outside / "made-by-deckgen")


def test_a_lock_file_that_is_a_pipe_is_refused_by_name(tmp_path):
    notes, _ = library(tmp_path)
    (notes / "sub" / "deck.md").write_text("### Q?\nA.\n", encoding="utf-8")
    os.mkfifo(notes / ".deckgen.lock")
    result = run("build", str(notes), "-o", str(tmp_path / "build"))
    assert result.exit_code == 1 and result.output == (
        f"Error: {notes / '.deckgen.lock'} is not a file: deckgen makes that file itself; delete it and build again\n")


def test_a_source_url_may_not_pad_its_fields(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "deck.md").write_text("### Q?\nA.\n", encoding="utf-8")
    (tmp_path / "notes" / "deckgen.toml").write_text('source_url = "https://example.com/{path:>100000000}"\n')
    result = run("build", str(tmp_path / "notes"), "-o", str(tmp_path / "build"))
    assert result.exit_code == 1 and "not {path:>100000000}" in result.output
    assert not list((tmp_path / "build").glob("*.apkg"))


STALLING = {  # each took from seconds to hours on a few kilobytes, before
    "an SVG of many comments": ("![d](diagram.svg)", b"<!---->" * 40 + b"x"),
    "cloze openers without an end": ("{{c1::real}} " + "{{c1::" * 4000, None),
    "footnote openers without an end": ("\n".join(["[^" * 9999] * 4), None),
}


@pytest.mark.parametrize("name", STALLING)
def test_small_inputs_do_not_stall_a_build(tmp_path, name):
    answer, svg = STALLING[name]
    notes = tmp_path / "notes"
    notes.mkdir()
    if svg is not None:
        (notes / "diagram.svg").write_bytes(svg)
    cloze = "---\ndeckgen: {cards: cloze}\n---\n" if "cloze" in name else ""
    (notes / "deck.md").write_text(f"{cloze}### Q?\n{answer}\n", encoding="utf-8")
    start = time.monotonic()
    for command in ("build", "check"):
        result = run(command, str(notes), "-o", str(tmp_path / "build"))
        assert result.exit_code in (0, 1) and "Traceback" not in result.output
    assert time.monotonic() - start < 10


def test_many_topic_patterns_each_just_under_the_limit_do_not_stall_a_build(tmp_path):
    """Each of 40 patterns took just under 0.1 s on each of 40 questions: 66 s in all, before."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "deck.md").write_text(
        "".join(f"### {'x' * 160} q{i}\nYes.\n\n" for i in range(40)), encoding="utf-8")
    rules = "".join(f'[[topics]]\ntag = "t{i}"\npatterns = ["(x+x+)+y"]\n\n' for i in range(40))
    (tmp_path / "notes" / "deck.deck.toml").write_text(rules, encoding="utf-8")
    start = time.monotonic()
    result = run("check", str(tmp_path / "notes"))
    assert time.monotonic() - start < 10
    assert result.exit_code == 1 and "[slow-pattern]" in result.output and "in all for this build" in result.output


def test_code_that_shows_tex_keeps_its_commands(tmp_path):
    """MathJax skips <pre> and <code>: a LaTeX sample there keeps its \\href as written, and is no warning."""
    from deckgen.render.renderer import MarkdownRenderer

    renderer = MarkdownRenderer(MediaResolver(tmp_path))
    shown = renderer.render("Write `\\href{https://x.org}{x}`:\n\n```latex\n\\url{https://x.org}\n```\n",
                            inline=False, folder=tmp_path)
    assert "\\href{" in shown.html and "\\url" in shown.html and "\u200b" not in shown.html
    assert shown.removed == ()
