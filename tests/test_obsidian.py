"""Obsidian-flavoured notes: front matter, embeds, wikilinks, callouts, highlights, tasks, footnotes, #tags.

The fixture vault is built as it is and imported into a real collection:
every resolvable image is there, and no card or description shows Obsidian's
syntax or the front matter.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from deckgen import build_decks
from deckgen.cli import main

from conftest import another_machine, next_millisecond, png, record_of

FRONT = "---\ntags: [course/ml, exam]\naliases: [ML]\ncssclasses: wide\n---\n"
VAULT = {
    "attachments/Pasted image 20240101.png": png(40, 20, (200, 30, 30)),
    "attachments/graph.png": png(20, 20, (30, 200, 30)),
    "A/diagram.png": png(10, 10, (1, 1, 1)),
    "B/diagram.png": png(10, 10, (2, 2, 2)),
    "Course/local.png": png(10, 10, (3, 3, 3)),
    "Course/ML.md": FRONT + (
        "# Machine learning\n"
        "### What does the loss curve show? #review\n"
        "![[Pasted image 20240101.png|300]]\n"
        "Training loss falls; see [[Optimisers#Adam|Adam]] and [[Regularisation]].\n"
        "![[graph.png]]\n"
        "\n"
        "### Which diagram?\n"
        "![[diagram.png]] is ambiguous, the local one ![local](local.png) is not.\n"
        "\n"
        "### What must you remember?\n"
        "> [!warning] Overfitting\n"
        "> A model that fits noise. #ml/pitfalls\n"
        "\n"
        "> [!tip]- Fix\n"
        "> Regularise.\n"
        "\n"
        "> [!note]\n"
        "> Plain note.\n"
        "\n"
        "### What is highlighted?\n"
        "==Gradient descent== is ~~slow~~ fine[^1]; C# and #include and #fff and `#code` and "
        "[a link](https://example.org/#frag) are no tags.\n"
        "- [ ] read the paper\n"
        "- [x] watch the lecture\n"
        "\n"
        "[^1]: With momentum.\n"
        "\n"
        "### What does an embedded note show? {#embed}\n"
        "![[Optimisers#Adam]]\n"
    ),
}
OBSIDIAN_SYNTAX = re.compile(r"\[\[|!\[\[|\[![a-z]|==|^---|aliases:|cssclasses")


def write_vault(root: Path) -> Path:
    for relative, content in VAULT.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def test_an_obsidian_vault_builds_into_clean_cards(tmp_path, anki):
    vault, out = write_vault(tmp_path / "vault"), tmp_path / "build"
    result = CliRunner().invoke(main, ["build", str(vault), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "did you mean ../A/diagram.png or ../B/diagram.png?" in result.stderr  # the ambiguous name
    (package,) = out.glob("*.apkg")
    log = anki.import_package(package)
    assert len(log.new) == 5 and anki.check_database()[1]
    notes = {n["Question"]: n for n in anki.notes()}
    for note in notes.values():
        for field in (note["Question"], note["Answer"]):
            assert not OBSIDIAN_SYNTAX.search(field), field
    deck = anki.col.decks.by_name("Course::ML")
    assert not OBSIDIAN_SYNTAX.search(deck["desc"]) and "tags:" not in deck["desc"]

    media = {p.read_bytes() for p in Path(anki.col.media.dir()).iterdir()}
    assert media == {VAULT["attachments/Pasted image 20240101.png"], VAULT["attachments/graph.png"],
                     VAULT["Course/local.png"]}  # found by name in attachments/, and the local one
    curve = notes["What does the loss curve show? #review"]["Answer"]
    assert re.search(r'<img alt="Pasted image 20240101.png" src="dg-[0-9a-f]+\.png" width="300"', curve)
    assert '<span class="dg-wikilink">Adam</span>' in curve and ">Regularisation</span>" in curve
    remember = notes["What must you remember?"]["Answer"]
    assert '<div class="dg-callout dg-callout-warning">' in remember and ">Overfitting</p>" in remember
    assert '<details class="dg-callout dg-callout-tip">' in remember and "<summary" in remember
    assert '<p class="dg-callout-title">Note</p>' in remember
    highlighted = notes["What is highlighted?"]["Answer"]
    assert "<mark>Gradient descent</mark>" in highlighted and "<del>slow</del>" in highlighted
    assert "☐ read the paper" in highlighted and "☑ watch the lecture" in highlighted
    assert 'class="footnote"' in highlighted and "With momentum." in highlighted
    assert '<span class="dg-embed"' in notes["What does an embedded note show?"]["Answer"]

    # Tags: the front matter's for every note, #tags where they are written, and none of the look-alikes.
    common = {"course::ml", "exam", "Machine_learning"}  # the front matter's, and the section's
    assert set(notes["What does the loss curve show? #review"].tags) == common | {"review"}
    assert set(notes["What must you remember?"].tags) == common | {"ml::pitfalls"}
    assert set(notes["What is highlighted?"].tags) == common


def test_deck_settings_may_live_in_the_front_matter_but_not_twice(tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "deck.md").write_text("---\ndeckgen:\n  name: From front matter\n---\n### Q?\nA.\n", encoding="utf-8")
    (package,) = build_decks(vault, tmp_path / "build").packages
    assert package.plan.decks[0].name == "From front matter"
    (vault / "deck.deck.toml").write_text('name = "From the settings file"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(vault)])
    assert result.exit_code == 1
    assert f"{vault / 'deck.deck.toml'}:1:1: error: 'name' is set here and in the front matter of" in result.stdout


def test_front_matter_is_read_safely(tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    bomb = "---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n---\n### Q?\nA.\n"
    (vault / "deck.md").write_text(bomb, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(vault)])
    assert result.exit_code == 0
    assert "warning: front matter is not valid YAML, so it is ignored: aliases (*name) are not allowed" in \
        result.stdout
    (vault / "deck.md").write_text("---\ntags: [a\n---\n### Q?\nA.\n", encoding="utf-8")
    broken = CliRunner().invoke(main, ["check", str(vault)])
    assert f"{vault / 'deck.md'}:3:1: warning: front matter is not valid YAML" in broken.stdout


def test_the_first_build_after_the_upgrade_restamps_no_note_and_rerender_brings_the_new_tags(tmp_path, monkeypatch):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "deck.md").write_text("---\ntags: [exam]\n---\n### Q? #topic\nA, ==marked==.\n", encoding="utf-8")
    (package,) = build_decks(vault, tmp_path / "build", now=1_800_000_000).packages
    record = vault / ".deckgen" / "identity.jsonl"
    # As the previous release recorded it: no tags from the text, its answer's HTML as it rendered it.
    (note,) = record_of(vault).notes.values()
    old = note.__class__(**{**{f: getattr(note, f) for f in note.__struct_fields__}, "tags": ()})
    from deckgen.plan.fingerprints import author_fingerprint
    old_fingerprint = author_fingerprint(old.question, old.answer, old.sections, (), "basic", "deck.md", ())
    text = record.read_text()
    text = text.replace(note.fingerprint, old_fingerprint).replace('"tags":["exam","topic"],', "")
    text = text.replace(note.html, "0123456789abcdef")  # the hash of the HTML it rendered then
    from deckgen.render.cache import RENDER_VERSION
    text = text.replace(f'"render":{RENDER_VERSION}', '"render":1')
    record.write_text(text)
    another_machine(monkeypatch, tmp_path / "upgraded")  # where this release has not built yet
    upgrade = tmp_path / "upgrade-build"
    (upgraded,) = build_decks(vault, upgrade, now=1_800_000_100).packages
    assert upgraded.plan.changes == () and upgraded.plan.rerender_pending == 1
    (rerendered,) = build_decks(vault, upgrade, now=1_800_000_200, rerender=True).packages
    assert [(c.kind, c.rendering) for c in rerendered.plan.changes] == [("changed", True)]
    assert record_of(vault).notes[note.guid].tags == ("exam", "topic")


def test_a_source_url_template_links_each_card_to_its_note(tmp_path, anki):
    vault = tmp_path / "vault"
    (vault / "sub").mkdir(parents=True)
    (vault / "sub" / "my deck.md").write_text("### What?\nThat.\n", encoding="utf-8")
    (vault / "deckgen.toml").write_text('source_url = "obsidian://open?vault=notes&file={path}"\n')
    (package,) = build_decks(vault, tmp_path / "build", now=1_800_000_000).packages
    anki.import_package(package.path)
    (note,) = anki.notes()
    assert note["Source"] == ('<a class="dg-source-link" href="obsidian://open?vault=notes&amp;file=sub/my%20deck.md">'
                              "sub/my deck.md:1</a>")
    (vault / "deckgen.toml").write_text('source_url = "javascript:alert(1)//{path}"\n')
    result = CliRunner().invoke(main, ["check", str(vault)])
    assert result.exit_code == 1 and "source_url must start with https:// or obsidian://" in result.stdout


HIDDEN = ("### What does a transformer attend to? ^q-attend\n"
          "Every token attends to every other. %%check: is this exact?%%\n"
          "%%\nA draft the author keeps out of sight.\n%%\n"
          "Keep `%%this%%` and $a %% b$ as written. ^answer-1\n")


def test_comments_and_block_ids_show_on_no_card_as_in_obsidians_reading_view(tmp_path, anki):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "deck.md").write_text(HIDDEN, encoding="utf-8")
    (package,) = build_decks(vault, tmp_path / "build").packages
    anki.import_package(package.path)
    (note,) = anki.notes()
    assert note["Question"] == "What does a transformer attend to?"
    assert "check:" not in note["Answer"] and "draft" not in note["Answer"] and "^" not in note["Answer"]
    assert "<code>%%this%%</code>" in note["Answer"] and r"\(a %% b\)" in note["Answer"]
    assert "Every token attends to every other." in note["Answer"]


def test_an_upgrade_hides_comments_on_cards_already_in_anki_only_with_rerender(tmp_path, anki, monkeypatch):
    """The release before showed `%%…%%` on cards: the first build after the upgrade re-stamps no note and
    says how many would look different; `--rerender` brings the new HTML, to the very note Anki has."""
    from deckgen.render import cache as render_cache
    from deckgen.render.markdown_ext import obsidian

    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "deck.md").write_text(HIDDEN + "### An ordinary one?\nYes.\n", encoding="utf-8")
    with monkeypatch.context() as before:  # as the previous release rendered and recorded it
        before.setattr(obsidian.HiddenPreprocessor, "run", lambda self, lines: lines)
        before.setattr(render_cache, "RENDER_VERSION", 3)
        (old,) = build_decks(vault, tmp_path / "build").packages
    anki.import_package(old.path)
    shown = {note["Question"]: (note.id, note["Answer"]) for note in anki.notes()}
    assert "check: is this exact?" in shown["What does a transformer attend to? ^q-attend"][1]
    from deckgen.places import render_cache_path

    render_cache_path(vault).unlink()  # an upgrade's new code starts the render cache afresh (see `render.cache`)
    upgrade = CliRunner().invoke(main, ["build", str(vault), "-o", str(tmp_path / "build")])
    assert upgrade.exit_code == 0 and "(2 unchanged)" in upgrade.stdout
    assert ("1 note(s) would look different with this deckgen's rendering; `deckgen build --rerender` updates them"
            in upgrade.stdout)
    next_millisecond()
    (rerendered,) = build_decks(vault, tmp_path / "build", rerender=True).packages
    assert [(c.kind, c.rendering) for c in rerendered.plan.changes] == [("changed", True)]
    anki.import_package(rerendered.path)
    now = {note.id: (note["Question"], note["Answer"]) for note in anki.notes()}
    assert len(now) == 2 and now[shown["What does a transformer attend to? ^q-attend"][0]][0] == (
        "What does a transformer attend to?")
    assert all("check:" not in answer for _, answer in now.values())


def test_only_a_block_id_at_the_end_of_a_line_is_hidden_not_text_before_a_code_span(tmp_path):
    """A text cut at a code span's edge took the cut for a line's end: `x ^ref` lost `^ref` before `code`."""
    from deckgen.render.media import MediaResolver
    from deckgen.render.renderer import MarkdownRenderer

    renderer = MarkdownRenderer(MediaResolver(tmp_path))
    assert renderer.render("x ^ref`code` y").html == "<p>x ^ref<code>code</code> y</p>"
    assert renderer.render("a `code`^abc").html == "<p>a <code>code</code>^abc</p>"
    assert renderer.render("a `code` ^abc").html == "<p>a <code>code</code></p>"


DRAWING = ("---\nexcalidraw-plugin: parsed\ntags: [excalidraw]\n---\n==⚠  Switch to EXCALIDRAW VIEW ==\n\n"
           "# Text Elements\n### What does the arrow show? ^a1b2c3\n\n%%\n# Drawing\n```compressed-json\n"
           + "N4KAkARALgngDgUwgLgAQQQDwMYEMA2AlgCYBOuA7hADTgQBuCpAzoQPYB2KqATLZMzYBXUtiRoIACyhQ4zZAHoFAc0JRJQgEYA" * 300
           + "\n```\n%%\n")


def test_plugin_data_files_are_no_decks_unless_the_record_holds_their_notes(tmp_path, anki):
    vault, out = tmp_path / "vault", tmp_path / "build"
    vault.mkdir()
    (vault / "Drawing 1.excalidraw.md").write_text(DRAWING, encoding="utf-8")
    (vault / "Board.md").write_text("---\nkanban-plugin: basic\n---\n## Todo\n### Card one?\n", encoding="utf-8")
    (vault / "Notes.md").write_text("### Real question?\nYes.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(vault)])
    assert result.exit_code == 0, result.output
    assert "Drawing 1.excalidraw.md: note: not a deck: an Excalidraw drawing, a plugin's data" in result.stdout
    assert "Board.md: note: not a deck: a Kanban board" in result.stdout
    assert "line-too-long" not in result.stdout and "empty-answer" not in result.stdout
    built = CliRunner().invoke(main, ["build", str(vault), "-o", str(out)])
    assert built.exit_code == 0, built.output
    anki.import_package(next(out.glob("*.apkg")))
    assert [n["Question"] for n in anki.notes()] == ["Real question?"]

    # Built as a deck before (here with plugin_files = true, as deckgen up to 0.3 read every file): it stays one.
    other = tmp_path / "other"
    other.mkdir()
    (other / "Drawing 2.excalidraw.md").write_text("### What does the arrow show?\nA flow.\n", encoding="utf-8")
    (other / "deckgen.toml").write_text("plugin_files = true\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["build", str(other), "-o", str(tmp_path / "other-build")]).exit_code == 0
    (other / "deckgen.toml").write_text((other / "deckgen.toml").read_text().replace("plugin_files = true\n", ""))
    again = CliRunner().invoke(main, ["build", str(other), "-o", str(tmp_path / "other-build"), "-v"])
    assert again.exit_code == 0, again.output
    assert "it stays a deck because the identity record holds 1 note(s) of it" in again.stderr
    assert "removed" not in again.stdout
