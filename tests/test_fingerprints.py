"""What decides a note's update is what its author wrote, never the HTML a library happens to make of it."""

from __future__ import annotations

import time

import pygments.formatters.html
from click.testing import CliRunner

from deckgen import build_decks
from deckgen.cli import main
from deckgen.render import cache as render_cache

from conftest import record_of, write_deck

T = int(time.time()) - 3600  # before the edits made in Anki below, as in real use
DECK = "Fingerprints"
MARKDOWN = """\
### How is a KV cache used?
```python
def step(model, token, past=None):
    return model(token, past_key_values=past)
```
### What does LoRA train?
Two low-rank matrices beside each frozen weight.
### How is a sum written?
```python
total = sum(values)
```
"""


def upgraded_highlighter(monkeypatch):
    """As a newer Pygments might: other spans around the same code, and a cache that knows the code changed."""
    original = pygments.formatters.html.HtmlFormatter._format_lines

    def format_lines(self, tokensource):
        for is_code, line in original(self, tokensource):
            yield is_code, line.replace("<span", '<span title="pygments 2.99"')

    monkeypatch.setattr(pygments.formatters.html.HtmlFormatter, "_format_lines", format_lines)
    signature = render_cache.code_signature()
    render_cache.code_signature.cache_clear()
    monkeypatch.setattr(render_cache, "code_signature", lambda *modules: signature + "|pygments 2.99")


def test_a_library_upgrade_updates_no_note_until_rerender_brings_the_new_html(tmp_path, anki, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "deck", MARKDOWN, f'name = "{DECK}"\n')
    first = build_decks(src, out, now=T).packages[0]
    assert len(anki.import_package(first.path).new) == 3
    (note,) = [n for n in anki.notes() if n["Question"] == "How is a KV cache used?"]
    note["Answer"] += "<p>My own note.</p>"
    note.tags.append("mine")
    anki.col.update_note(note)
    package = first.path.read_bytes()

    upgraded_highlighter(monkeypatch)
    second = build_decks(src, out, now=T + 100)
    (deck,) = second.packages
    assert deck.plan.version == "1.0.0" and deck.plan.changes == () and deck.plan.rerender_pending == 0
    assert b'title="pygments 2.99"' in b"".join(n.fields[1].encode() for n in deck.plan.package.notes)
    assert first.path.read_bytes() == package  # the version's package is not written again
    log = anki.import_package(first.path)
    assert (len(log.new), len(log.updated)) == (0, 0)
    (note,) = [n for n in anki.notes() if n["Question"] == "How is a KV cache used?"]
    assert note["Answer"].endswith("<p>My own note.</p>") and "mine" in note.tags

    monkeypatch.setattr(render_cache, "RENDER_VERSION", render_cache.RENDER_VERSION + 1)  # should reach cards
    hint = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert hint.exit_code == 0
    assert ("2 note(s) would look different with this deckgen's rendering; `deckgen build --rerender` updates them "
            "in Anki") in hint.stdout
    assert record_of(src).packages["deck"].version == "1.0.0"
    later = time.time() + 5  # a while after the edit made in Anki: the update wins over it (see README)
    third = build_decks(src, out, now=later, rerender=True).packages[0]
    assert third.plan.version == "1.0.1"
    assert sorted(c.question for c in third.plan.changes) == ["How is a KV cache used?", "How is a sum written?"]
    assert all(c.rendering for c in third.plan.changes)
    log = anki.import_package(third.path)
    assert sorted(n.fields[0] for n in log.updated) == ["How is a KV cache used?", "How is a sum written?"]
    assert len(log.new) == 0
    changelog = (out / "deck.changelog.md").read_text(encoding="utf-8")
    assert changelog.split("\n\n")[1:3] == [
        f"## 1.0.1 ({time.strftime('%Y-%m-%d', time.gmtime(later))})",
        "Updated for deckgen's new rendering (2):\n- How is a KV cache used? (deck.md:1)\n"
        "- How is a sum written? (deck.md:8)"]
    assert record_of(src).packages["deck"].render == render_cache.RENDER_VERSION
    assert anki.check_database()[1]


def test_the_fingerprint_follows_what_the_author_wrote(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", MARKDOWN)
    build_decks(src, out, now=T)
    before = {n.question: n for n in record_of(src).notes.values()}
    deck.write_text(MARKDOWN.replace("Two low-rank", "Two small low-rank"), encoding="utf-8")
    build_decks(src, out, now=T + 10)
    after = {n.question: n for n in record_of(src).notes.values()}
    changed = [q for q in after if after[q].fingerprint != before[q].fingerprint]
    assert changed == ["What does LoRA train?"] and after[changed[0]].mtime == T + 10
    assert all(after[q] == before[q] for q in after if q not in changed)


def test_the_fingerprints_are_defined_once_and_for_all():
    """Every identity record holds these hashes: a change to how they are made would re-stamp every note of
    every library at its next build. Should they ever have to change, the record must learn it first."""
    from deckgen.plan.fingerprints import author_fingerprint, html_hash
    from deckgen.render.media import MediaRef

    image = MediaRef("a.png", "/x/a.png", "dg-1.png", "ab" * 32)
    assert author_fingerprint("What is LoRA?", "Low-rank *adapters*.", ("Part", "Chapter"),
                              ("Part::Chapter", "topic::lora"), "basic", "notes/ml.md", [image]) == "16551871931082b0"
    # deckgen 0.1's own fingerprint of what a package delivered: its records read on as they are.
    assert html_hash(("What is LoRA?", "<p>Low-rank <em>adapters</em>.</p>", ""),
                     ("Part::Chapter", "topic::lora")) == "69e855351f50677a"
