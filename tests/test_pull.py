"""`deckgen status` and `deckgen pull`: edits made in Anki, seen field by field and brought back into the
Markdown, in real collections (and through Anki's own sync server)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from deckgen.build import sync_library
from deckgen.deliver.profiles import Target
from deckgen.output.stamp import library_to_build

from conftest import record_of, write_deck
from test_sync import cli, desktop_and_phone, library, new_collection, note_of, opened, snapshot, sync

KINDS = """### Typo?
A fast cta runs across the road.

### Line?
First line.

### Bold?
Use the force wisely.

### List?
- one
- two

### Code?
```python
def f(x):
    return x + 1
```

### Math?
Its area is $\\pi r^2$ exactly.

### Untouched?
Nobody edits this.
"""
EDITS = {  # question: (how Anki's copy of its answer is edited, the Markdown line it must come back as)
    "Typo?": (lambda a: a.replace("cta", "cat"), "A fast cat runs across the road."),
    "Line?": (lambda a: a.replace("First line.", "First line.<br>Second line."), "Second line."),
    "Bold?": (lambda a: a.replace("force", "<b>force</b>"), "Use the **force** wisely."),
    "List?": (lambda a: a.replace("<li>two</li>", "<li>two</li>\n<li>three</li>"), "- three"),
    "Code?": (lambda a: a.replace('<span class="mi">1</span>', '<span class="mi">2</span>'), "    return x + 2"),
    "Math?": (lambda a: a.replace("r^2", "r^3"), "Its area is $\\pi r^3$ exactly."),
}


def edit_in_anki(collection, edits=EDITS) -> dict[str, int]:
    """Edit each note's answer in Anki, as the editor saves it; return each note's time after the edit."""
    with opened(collection) as col:
        times = {}
        for question, (change, _) in edits.items():
            note = note_of(col, question)
            note.fields[1] = change(note.fields[1])
            col.update_note(note)
            times[question] = col.get_note(note.id).mod
        return times


def status_json(src, out, collection) -> dict:
    result = cli("status", src, "-o", out, "--collection", collection, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_each_kind_of_edit_made_in_anki_is_seen_pulled_as_markdown_and_then_updates_nothing(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    other = new_collection(tmp_path / "other" / "collection.anki2")  # a second device, synced by deckgen too
    sync_library(src, library_to_build(src, out), Target(other, other.parent / "backups"))
    times = edit_in_anki(collection)
    with opened(collection) as col:
        col.tags.bulk_add([note_of(col, "Untouched?").id], "marked my_own")  # tags of the user's: no edit
    before = (src / "a.md").read_text()

    found = status_json(src, out, collection)
    assert found["counts"]["edited"] == 6 and found["counts"]["delivered"] == 1
    assert {n["question"]: (n["state"], n["fields"]) for n in found["notes"]} == {
        question: ("edited", ["Answer"]) for question in EDITS}

    shown = cli("pull", src, "-o", out, "--collection", collection)
    assert shown.exit_code == 0 and (src / "a.md").read_text() == before  # a diff first, nothing written
    assert "+A fast cat runs across the road." in shown.output and "6 edit(s) made in Anki to write" in shown.output

    pulled = cli("pull", src, "-o", out, "--collection", collection, "--write")
    assert pulled.exit_code == 0, pulled.output
    text = (src / "a.md").read_text()
    for question, (_, line) in EDITS.items():
        assert line in text.splitlines(), (question, text)
    assert "- two\n- three\n" in text and "First line.\nSecond line." in text

    with opened(collection) as col:
        edited = {q: list(note_of(col, q).fields) for q in EDITS}
    built, delivered = sync(src, out, collection)
    assert not delivered.packages[0].kept
    assert [(p.new, p.updated, p.unchanged) for p in delivered.packages] == [(0, 0, 7)]
    notes = {n.fields[0]: n for n in built.packages[0].plan.package.notes}
    assert {q: notes[q].mtime for q in EDITS} == times  # stamped with Anki's edit times
    with opened(collection) as col:
        assert {q: list(note_of(col, q).fields) for q in EDITS} == edited
        assert {"marked", "my_own"} <= set(note_of(col, "Untouched?").tags)
    assert status_json(src, out, collection)["counts"]["delivered"] == 7

    _, elsewhere = sync_library(src, library_to_build(src, out), Target(other, other.parent / "backups"))
    assert [(p.updated, p.unchanged) for p in elsewhere.packages] == [(6, 1)]
    with opened(other) as col:
        assert "<strong>force</strong>" in note_of(col, "Bold?").fields[1]
        assert "<li>three</li>" in note_of(col, "List?").fields[1]


def test_a_conflict_is_shown_in_three_versions_and_nothing_settles_it_alone(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"]})
    write_deck(src, "a", KINDS.replace("A fast cta runs across the road.", "A quick cta runs across the road."))
    text = (src / "a.md").read_text()

    shown = cli("status", src, "-o", out, "--collection", collection)
    assert shown.exit_code == 0, shown.output
    assert "conflict" in shown.output and "A fast cat runs" in shown.output and "A quick cta runs" in shown.output
    assert "A fast cta runs" in shown.output  # what was delivered
    assert "deckgen sync --overwrite-anki-edits" in shown.output

    pulled = cli("pull", src, "-o", out, "--collection", collection, "--write")
    assert pulled.exit_code == 0 and (src / "a.md").read_text() == text
    assert "conflict, not pulled" in pulled.output and "0 edit(s)" in pulled.output

    time.sleep(1.1)  # the build's time for the source's change is later than Anki's edit: the import would take it
    before = snapshot(collection)
    refused = cli("sync", src, "-o", out, "--collection", collection)
    assert refused.exit_code == 1 and "edited in Anki since the last sync" in refused.output
    assert "a.md:1: A quick cta" not in refused.output and "a.md:1: Typo?" in refused.output
    assert snapshot(collection) == before
    taken = cli("sync", src, "-o", out, "--collection", collection, "--overwrite-anki-edits")
    assert taken.exit_code == 0, taken.output
    assert "a.md:1: edit made in Anki overwritten: Typo?" in taken.output  # said, where the backup holds it
    with opened(collection) as col:
        assert "A quick cta runs" in note_of(col, "Typo?").fields[1]


def test_an_edit_that_does_not_render_back_is_left_for_a_hand_edit(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    edit_in_anki(collection, {"Typo?": (lambda a: a.replace("fast", '<span style="color: red">fast</span>'), "")})
    text = (src / "a.md").read_text()
    pulled = cli("pull", src, "-o", out, "--collection", collection, "--write")
    assert pulled.exit_code == 0 and (src / "a.md").read_text() == text
    assert "needs a hand edit" in pulled.output and "Typo?" in pulled.output
    assert "0 edit(s) made in Anki written" in pulled.output


def test_a_file_with_uncommitted_changes_is_left_alone_unless_allowed(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=src, check=True)
    subprocess.run([*git, "add", "-A"], cwd=src, check=True)
    subprocess.run([*git, "commit", "-qm", "notes"], cwd=src, check=True)
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"]})
    (src / "a.md").write_text((src / "a.md").read_text() + "\n### New?\nNot committed.\n")
    left = cli("pull", src, "-o", out, "--collection", collection, "--write")
    assert left.exit_code == 0 and "left alone" in left.output and "cta" in (src / "a.md").read_text()
    allowed = cli("pull", src, "-o", out, "--collection", collection, "--write", "--allow-dirty")
    assert allowed.exit_code == 0 and "A fast cat runs" in (src / "a.md").read_text()
    assert "### New?\nNot committed." in (src / "a.md").read_text()


def test_status_writes_nothing_and_stops_while_anki_has_the_collection_open(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    before, record = snapshot(collection), record_of(src)
    assert status_json(src, out, collection)["counts"]["delivered"] == 7
    assert snapshot(collection) == before and record_of(src) == record
    # Anki desktop running: another process holds the collection open (SQLite's locks are a process's own).
    anki = subprocess.Popen([sys.executable, "-c", "import sys; from anki.collection import Collection; "
                             f"c = Collection({str(collection)!r}); print('open', flush=True); sys.stdin.read()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert anki.stdout.readline() == "open\n"
        for command in ("status", "pull"):
            result = cli(command, src, "-o", out, "--collection", collection)
            assert result.exit_code == 1 and "Anki has this collection open" in result.output
    finally:
        anki.stdin.close()
        anki.wait(timeout=60)
        anki.stdout.close()
    assert snapshot(collection) == before


def test_a_source_change_not_yet_delivered_and_a_new_question_are_told_apart_from_edits(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    write_deck(src, "a", KINDS.replace("Nobody edits this.", "Nobody edits this, ever.") + "\n### Added?\nYes.\n")
    found = status_json(src, out, collection)
    assert {n["question"]: n["state"] for n in found["notes"]} == {"Untouched?": "changed", "Added?": "missing"}
    assert found["packages"][0]["held"] == found["packages"][0]["built"] != found["packages"][0]["next"]


def test_an_edit_made_on_a_phone_syncs_through_anki_sync_server_and_is_pulled(tmp_path):
    from conftest import SyncedProfile, sync_server

    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "a", KINDS)
    with sync_server(tmp_path / "server") as endpoint:
        desktop_path, desktop, phone = desktop_and_phone(tmp_path, src, out, endpoint)
        time.sleep(1)
        note = note_of(phone.col, "Typo?")
        note.fields[1] = note.fields[1].replace("cta", "cat")
        phone.col.update_note(note)
        phone.sync()
        desktop.sync()
        desktop.close()

        pulled = cli("pull", src, "-o", out, "--collection", desktop_path, "--write")
        assert pulled.exit_code == 0 and "A fast cat runs" in (src / "a.md").read_text(), pulled.output
        _, delivered = sync(src, out, desktop_path)
        assert [(p.updated, p.unchanged) for p in delivered.packages] == [(0, 7)]
        desktop = SyncedProfile(desktop_path, endpoint)
        assert desktop.sync() in ("NORMAL_SYNC", "NO_CHANGES")
        phone.sync()
        assert "A fast cat runs" in note_of(phone.col, "Typo?").fields[1]
        assert phone.check_database()[1] and desktop.check_database()[1]
        desktop.close()
        phone.close()


def test_a_collection_deckgen_0_5_synced_is_read_as_it_is_and_its_edits_are_still_kept(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    with opened(collection) as col:  # the ledger as deckgen 0.5 wrote it: no time, no edited notes
        key = next(k for k in col.db.list("select key from config") if k.startswith("deckgen:"))
        ledger = col.get_config(key)
        col.set_config(key, {k: v for k, v in ledger.items() if k not in ("synced", "edited")} | {"deckgen_ledger": 1})
    before = snapshot(collection)
    _, again = sync(src, out, collection)
    assert again.up_to_date and snapshot(collection) == before
    shown = cli("status", src, "-o", out, "--collection", collection)
    assert "synced by an earlier deckgen" in shown.output and "7 as delivered" in shown.output
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"]})
    write_deck(src, "a", KINDS.replace("A fast cta runs across the road.", "A quick cta runs across the road."))
    time.sleep(1.1)
    refused = cli("sync", src, "-o", out, "--collection", collection)  # told by the package this machine delivered
    assert refused.exit_code == 1 and "a.md:1: Typo?" in refused.output


def test_a_sync_tells_notes_edited_only_in_anki_from_those_anki_kept_against_a_change_of_the_source(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"], "Bold?": EDITS["Bold?"]})
    write_deck(src, "a", KINDS.replace("Use the force wisely.", "Use the force well.")
               .replace("Nobody edits this.", "Nobody edits this, ever."))
    _, delivered = sync(src, out, collection, time.time() - 500)  # built before the edits: Anki keeps them
    [package] = delivered.packages
    assert (package.updated, package.edited, [ref.question for ref in package.kept]) == (1, 1, ["Bold?"])
    found = status_json(src, out, collection)
    assert {n["question"]: n["state"] for n in found["notes"]} == {"Typo?": "edited", "Bold?": "conflict"}
    pulled = cli("pull", src, "-o", out, "--collection", collection, "--write")
    text = (src / "a.md").read_text()
    assert pulled.exit_code == 0 and "A fast cat runs" in text and "Use the force well." in text  # the source's kept
    assert "1 edit(s) made in Anki written" in pulled.output and "1 conflict(s)" in pulled.output


def test_a_conflict_is_settled_for_ankis_copy_only_when_asked(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    times = edit_in_anki(collection, {"Typo?": EDITS["Typo?"]})
    write_deck(src, "a", KINDS.replace("A fast cta runs across the road.", "A quick cta runs across the road."))
    taken = cli("pull", src, "-o", out, "--collection", collection, "--take-anki", "--write")
    assert taken.exit_code == 0 and "A fast cat runs across the road." in (src / "a.md").read_text(), taken.output
    built, delivered = sync(src, out, collection)
    assert [(p.updated, p.edited, p.kept) for p in delivered.packages] == [(0, 0, [])]
    assert {n.fields[0]: n.mtime for n in built.packages[0].plan.package.notes}["Typo?"] == times["Typo?"]
    assert status_json(src, out, collection)["counts"]["delivered"] == 7


def test_a_pull_keeps_the_files_line_ends_and_indentation(tmp_path):
    numbered = "1. ### Typo?\n\n   A fast cta runs across the road.\n\n2. ### Other?\n\n   Untouched.\n"
    src, out, collection = library(tmp_path, numbered.replace("\n", "\r\n"), delivered=True)
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"]})
    pulled = cli("pull", src, "-o", out, "--collection", collection, "--write")
    assert pulled.exit_code == 0, pulled.output
    assert (src / "a.md").read_bytes() == numbered.replace("cta", "cat").replace("\n", "\r\n").encode()


def test_a_pulled_note_is_no_conflict_before_the_next_sync_nor_after_its_markdown_changes_again(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"], "Bold?": EDITS["Bold?"]})
    assert cli("pull", src, "-o", out, "--collection", collection, "--write").exit_code == 0
    found = status_json(src, out, collection)
    assert found["counts"]["conflict"] == 0 and found["counts"]["delivered"] == 7, found
    write_deck(src, "a", (src / "a.md").read_text().replace("A fast cat runs", "A fast cat walks"))
    assert {n["question"]: n["state"] for n in status_json(src, out, collection)["notes"]} == {"Typo?": "changed"}
    _, delivered = sync(src, out, collection, time.time() + 5)  # not refused: Anki's edit is in the source
    assert delivered.stopped is None and delivered.packages[0].updated == 1
    with opened(collection) as col:
        assert "A fast cat walks" in note_of(col, "Typo?").fields[1]
        assert "<b>force</b>" in note_of(col, "Bold?").fields[1]  # Anki's copy of the pulled edit, as it was


def test_the_uncommitted_check_works_from_anywhere_in_the_repository(tmp_path, monkeypatch):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)  # the repository holds the notes folder
    subprocess.run([*git, "add", "src"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "notes"], cwd=tmp_path, check=True)
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"]})
    (src / "a.md").write_text((src / "a.md").read_text() + "\n### New?\nNot committed.\n")
    monkeypatch.chdir(tmp_path)
    left = cli("pull", "src", "-o", "out", "--collection", collection, "--write")
    assert left.exit_code == 0 and "left alone" in left.output and "cta" in (src / "a.md").read_text()


def test_a_removed_question_whose_note_was_edited_in_anki_is_said_to_hold_that_edit(tmp_path):
    src, out, collection = library(tmp_path, KINDS, delivered=True)
    edit_in_anki(collection, {"Typo?": EDITS["Typo?"]})
    write_deck(src, "a", KINDS.split("### Line?")[0].replace("### Typo?\nA fast cta runs across the road.\n\n", "")
               + "### Line?" + KINDS.split("### Line?")[1])
    shown = cli("status", src, "-o", out, "--collection", collection)
    assert "removed from the source, edited in Anki since it was delivered" in shown.output and "Typo?" in shown.output
    time.sleep(1.1)
    refused = cli("sync", src, "-o", out, "--collection", collection)  # marking it removed would overwrite the edit
    assert refused.exit_code == 1 and "a.md:1: Typo?" in refused.output


def test_deckgens_new_rendering_is_no_edit_made_in_anki(tmp_path, monkeypatch):
    from deckgen.places import render_cache_path
    from deckgen.render.renderer import MarkdownRenderer, RenderedText

    src, out, collection = library(tmp_path, KINDS, delivered=True)
    with opened(collection) as col:
        col.tags.bulk_add([note_of(col, "Untouched?").id], "my_own")  # a change of Anki's own time, not an edit
    render = MarkdownRenderer.render

    def rendered_otherwise(self, text, inline=False, folder=Path(".")):  # as a deckgen upgrade might
        found = render(self, text, inline, folder)
        return RenderedText(found.html.replace("road.", "road !"), found.media, found.removed, found.timed_out)

    monkeypatch.setattr(MarkdownRenderer, "render", rendered_otherwise)
    render_cache_path(src).unlink()
    write_deck(src, "a", KINDS.replace("Nobody edits this.", "Nobody edits this, ever."))  # a new version
    found = status_json(src, out, collection)
    assert {n["question"]: n["state"] for n in found["notes"]} == {"Untouched?": "changed"}
    _, delivered = sync(src, out, collection, time.time() + 5)
    [package] = delivered.packages
    assert (package.updated, package.edited, package.kept) == (1, 0, [])
    assert status_json(src, out, collection)["counts"]["delivered"] == 7


TWO = "### One?\nAlpha beta gamma.\n\n### Two?\nDelta epsilon.\n"


def test_an_edit_made_in_anki_is_not_overwritten_after_a_build_stamped_by_a_clock_ahead(tmp_path):
    src, out, collection = library(tmp_path, TWO)
    sync(src, out, collection, time.time() + 600)  # another machine's clock, ten minutes ahead
    edit_in_anki(collection, {"One?": (lambda a: a.replace("beta", "beta, edited"), "")})
    write_deck(src, "a", TWO.replace("gamma.", "gamma, and more."))
    refused = cli("sync", src, "-o", out, "--collection", collection)  # told by the package delivered
    assert refused.exit_code == 1 and "a.md:1: One?" in refused.output
    with opened(collection) as col:
        assert "beta, edited" in note_of(col, "One?").fields[1]


def test_a_source_change_built_but_never_delivered_is_not_taken_for_an_edit_made_in_anki(tmp_path):
    from deckgen.build import build_library
    from deckgen.output.stamp import library_to_build

    src, out, collection = library(tmp_path, TWO, delivered=True)
    write_deck(src, "a", TWO.replace("gamma.", "gamma, and more."))
    build_library(src, library_to_build(src, out), now=time.time() - 500)  # built, not synced
    for package in out.glob("*-1.0.0.apkg"):
        package.unlink()  # this machine has no package of what the collection holds
    found = status_json(src, out, collection)
    assert {n["question"]: n["state"] for n in found["notes"]} == {"One?": "changed"}
    pulled = cli("pull", src, "-o", out, "--collection", collection, "--write")
    assert pulled.exit_code == 0 and "gamma, and more." in (src / "a.md").read_text()


def test_the_context_above_a_question_is_deckgens_on_both_sides(tmp_path):
    twice = "## Limits\n### Def?\nA limit.\n\n## Series\n### Def?\nA sum.\n"
    src, out, collection = library(tmp_path, twice, delivered=True)
    with opened(collection) as col:  # only the context line deckgen puts above the question changed in Anki
        note = next(col.get_note(nid) for nid in col.find_notes("") if "Limits" in col.get_note(nid).fields[0])
        note.fields[0] = note.fields[0].replace("Limits", "Limits, edited")
        col.update_note(note)
    assert status_json(src, out, collection)["counts"]["delivered"] == 2
    write_deck(src, "a", twice.replace("A limit.", "A limit, defined."))
    time.sleep(1.1)
    synced = cli("sync", src, "-o", out, "--collection", collection)
    assert synced.exit_code == 0 and "0 new, 1 updated" in synced.output, synced.output

