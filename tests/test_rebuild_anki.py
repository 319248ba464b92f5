"""Regenerating after edits, proven in a real Anki collection: updates in place, nothing lost or doubled."""

from __future__ import annotations

import json
import time
from pathlib import Path

from deckgen import build_decks
from conftest import AnkiProfile, answer_all_due, record_of, record_path, reviews_by_card, write_deck

DECK = "Rebuild test"
SETTINGS = f'name = "{DECK}"\n'


def markdown(questions: list[tuple[str, str]]) -> str:
    return "## Section\n" + "".join(f"### {q}\n{a}\n\n" for q, a in questions)


QUESTIONS = [
    ("What does LoRA train?", "Two low-rank matrices beside each frozen weight."),
    ("Why divide attention scores by sqrt(d)?", "To keep the softmax out of its flat regions."),
    ("What is RAG?", "Retrieval-augmented generation: look documents up, then answer."),
    ("What does ZeRO stage 3 shard?", "Parameters, gradients and optimizer states."),
    ("What is the KV cache for?", "Reusing past keys and values while decoding."),
    ("What is speculative decoding?", "A small model drafts tokens, the large one verifies them."),
    ("What is Flash Attention?", "Attention computed in tiles that fit in on-chip memory."),
    ("What is Paged Attention?", "KV cache kept in fixed-size pages, like virtual memory."),
]


def by_question(profile: AnkiProfile) -> dict[str, object]:
    notes = {}
    for note in profile.notes():
        assert note["Question"] not in notes, f"duplicate note: {note['Question']}"
        notes[note["Question"]] = note
    return notes


def test_edit_reword_delete_insert_reorder_then_reimport(tmp_path, anki):
    src, out = tmp_path / "source", tmp_path / "build"
    deck = write_deck(src, "deck", markdown(QUESTIONS), SETTINGS)
    now = time.time()
    first = build_decks(src, out, now=now).packages[0]
    log = anki.import_package(first.path)
    assert len(log.new) == 8
    assert answer_all_due(anki, DECK) >= 8
    reviews = reviews_by_card(anki)
    assert len(reviews) == 8
    before = by_question(anki)

    # The user edits two notes in Anki and tags them; neither changes in the source.
    for question in ("Why divide attention scores by sqrt(d)?", "What is Flash Attention?"):
        note = before[question]
        note["Answer"] += "<p>My own mnemonic.</p>"
        note.tags.append("mine")
        anki.col.update_note(note)

    edited = list(QUESTIONS)
    edited[0] = (edited[0][0], "Two low-rank matrices A and B; the base weights stay frozen.")  # answer changed
    edited[2] = ("What is retrieval-augmented generation (RAG)?", edited[2][1])  # reworded
    del edited[3]  # ZeRO deleted
    edited[5], edited[6] = edited[6], edited[5]  # Flash/Paged reordered
    edited.insert(0, ("What is GQA?", "Grouped-query attention: heads share key/value projections."))
    deck.write_text(markdown(edited), encoding="utf-8")

    second = build_decks(src, out, now=now).packages[0]  # the same second
    assert second.path.name == "deck-1.0.1.apkg"
    log = anki.import_package(second.path)
    assert len(log.conflicting) == 0
    assert len(log.new) == 1
    assert sorted(n.fields[0] for n in log.updated) == sorted([
        "What does LoRA train?", "What is retrieval-augmented generation (RAG)?", "What does ZeRO stage 3 shard?"])

    after = by_question(anki)
    assert len(after) == 9
    assert after["What is retrieval-augmented generation (RAG)?"].id == before["What is RAG?"].id
    assert after["What does LoRA train?"]["Answer"] == "<p>Two low-rank matrices A and B; the base weights stay frozen.</p>"
    removed = after["What does ZeRO stage 3 shard?"]
    assert "deckgen::removed" in removed.tags and removed["Status"]
    assert [q for q, n in after.items() if "deckgen::removed" in n.tags] == ["What does ZeRO stage 3 shard?"]
    for question in ("Why divide attention scores by sqrt(d)?", "What is Flash Attention?"):
        assert after[question]["Answer"].endswith("<p>My own mnemonic.</p>")
        assert "mine" in after[question].tags
    assert {q: n.id for q, n in after.items() if q in before} == \
        {q: n.id for q, n in before.items() if q in after}
    assert {cid: n for cid, n in reviews_by_card(anki).items() if cid in reviews} == reviews
    assert anki.check_database()[1]


def test_unchanged_sources_give_identical_bytes_and_version(tmp_path):
    src = tmp_path / "source"
    write_deck(src, "deck", markdown(QUESTIONS), SETTINGS)
    first = build_decks(src, tmp_path / "a", now=1_800_000_000).packages[0]
    identity = record_path(src).read_bytes()
    second = build_decks(src, tmp_path / "b", now=1_800_000_500).packages[0]
    assert (first.path.name, second.path.name) == ("deck-1.0.0.apkg", "deck-1.0.0.apkg")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert record_path(src).read_bytes() == identity


def test_each_change_bumps_the_version_and_the_changelog_says_why(tmp_path):
    src, out = tmp_path / "source", tmp_path / "build"
    deck = write_deck(src, "deck", markdown(QUESTIONS[:3]), SETTINGS)
    build_decks(src, out, now=1_800_000_000)
    deck.write_text(markdown([QUESTIONS[0], ("What is RAG, briefly?", QUESTIONS[2][1]), QUESTIONS[3]]))
    report = build_decks(src, out, now=1_800_086_400)
    assert report.packages[0].path.name == "deck-1.0.1.apkg"
    assert (out / "deck.changelog.md").read_text(encoding="utf-8") == (
        f"# Changelog: {DECK}\n\n"
        "## 1.0.1 (2027-01-16)\n\n"
        "Added (1):\n- What does ZeRO stage 3 shard? (deck.md:8)\n\n"
        "Renamed (1):\n- What is RAG? → What is RAG, briefly? (deck.md:5)\n\n"
        "Removed (1):\n- Why divide attention scores by sqrt(d)? (deck.md:5)\n\n"
        "## 1.0.0 (2027-01-15)\n\n"
        "Added (3):\n- What does LoRA train? (deck.md:2)\n"
        "- Why divide attention scores by sqrt(d)? (deck.md:5)\n- What is RAG? (deck.md:8)\n")
    (src / "deck.deck.toml").write_text(SETTINGS + 'version = "2.0.0"\n')
    assert build_decks(src, out, now=1_800_090_000).packages[0].path.name == "deck-2.0.0.apkg"


def test_several_files_are_several_decks_of_one_package_with_their_notes_in_one_record(tmp_path, anki):
    src = tmp_path / "source"
    write_deck(src, "alpha", markdown(QUESTIONS[:3]), 'name = "Alpha"\n')
    write_deck(src / "more", "beta", markdown(QUESTIONS[:3]), 'name = "Alpha::Beta"\n')  # same questions
    report = build_decks(src, tmp_path / "build", now=1_800_000_000)
    assert [d.path.name for d in report.packages] == ["source-1.0.0.apkg"]  # named after the library's folder
    assert {note.deck for note in record_of(src).notes.values()} == {"alpha", "more/beta"}
    assert len(anki.import_package(report.packages[0].path).new) == 6  # one import for the whole library
    assert anki.col.note_count() == 6
    assert {anki.col.decks.name(anki.col.get_card(c).did) for c in anki.col.find_cards("")} == {"Alpha", "Alpha::Beta"}
    assert {n["Source"].split(":")[0] for n in anki.notes()} == {"alpha.md", "more/beta.md"}


def test_an_image_of_the_deck_description_that_appears_or_changes_reaches_anki(tmp_path, anki, machine):
    """A description's image is written into it (Anki keeps no image file only a description names): when the
    file appears or changes, and nothing else does, a new version carries it, and Anki's deck shows it; the
    deck had kept "(image not included)" or the old image, as a description changed only with its Markdown."""
    import base64
    import json
    import zipfile

    from click.testing import CliRunner

    from deckgen.cli import main
    from conftest import png

    def build() -> str:
        result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
        assert result.exit_code == 0, result.output
        return result.stdout

    def description() -> str:
        return anki.col.decks.by_name(DECK)["desc"]

    def shows(image: bytes) -> bool:
        return "data:image/png;base64," + base64.b64encode(image).decode() in description()

    src, out = tmp_path / "source", tmp_path / "build"
    write_deck(src, "deck", "Our map: ![map](map.png)\n\n" + markdown(QUESTIONS[:2]), SETTINGS)
    assert "1.0.0" in build()
    anki.import_package(out / "deck-1.0.0.apkg")
    assert "(image not included)" in description()
    notes = sorted((note.guid, note.mod, note.usn) for note in anki.notes())
    red, blue = png(2, 2, (255, 0, 0)), png(2, 2, (0, 0, 255))
    (src / "map.png").write_bytes(red)
    assert "1.0.1" in build() and "(nothing changed)" in build()
    assert (out / "deck.changelog.md").read_text(encoding="utf-8").startswith(
        f"# Changelog: {DECK}\n\n## 1.0.1 ({time.strftime('%Y-%m-%d', time.gmtime())})\n\n"
        f"Description changed (1):\n- {DECK}\n\n## 1.0.0")  # said "No note changed." before
    anki.import_package(out / "deck-1.0.1.apkg")
    assert shows(red) and "(image not included)" not in description()
    (src / "map.png").write_bytes(blue)
    assert "1.0.2" in build()
    anki.import_package(out / "deck-1.0.2.apkg")
    assert shows(blue) and not shows(red)
    (src / "map.png").unlink()
    assert "1.0.3" in build()
    anki.import_package(out / "deck-1.0.3.apkg")
    assert "(image not included)" in description() and not shows(blue)
    assert sorted((note.guid, note.mod, note.usn) for note in anki.notes()) == notes  # untouched throughout
    assert json.loads(zipfile.ZipFile(out / "deck-1.0.3.apkg").read("media")) == {}


def test_a_description_recorded_before_its_images_were_hashed_makes_no_new_version(tmp_path, machine):
    """A record written by deckgen 0.6.1 and before holds the hash of a description's Markdown alone: with the
    same Markdown it stands (an upgrade makes no new version, nor rewrites the record); a new Markdown is
    recorded with its images."""
    from deckgen.hashing import digest
    from deckgen.places import delivered_path
    from conftest import png

    src, out = tmp_path / "source", tmp_path / "build"
    intro = "Our map: ![map](map.png)\n\n"
    deck = write_deck(src, "deck", intro + markdown(QUESTIONS[:2]), SETTINGS)
    (src / "map.png").write_bytes(png(2, 2, (255, 0, 0)))
    build_decks(src, out, now=1_800_000_000)
    path = record_path(src)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (deck_line,) = [line for line in lines if line.startswith('{"deck":')]
    recorded = json.loads(deck_line)["description"]
    alone = digest("Our map: ![map](map.png)", length=16)
    assert recorded != alone  # its image is in the hash
    path.write_text("".join(line.replace(recorded, alone) for line in lines), encoding="utf-8")  # as 0.6.1 wrote it
    delivered_path(src).unlink()  # built elsewhere by 0.6.1 (here, what this machine wrote would say otherwise)
    before = path.read_bytes()
    report = build_decks(src, out, now=1_800_000_100)
    assert [p.plan.version for p in report.packages] == ["1.0.0"] and path.read_bytes() == before
    (src / "map.png").write_bytes(png(2, 2, (0, 0, 255)))  # alone, not seen: the hash has no image in it
    assert [p.plan.version for p in build_decks(src, out, now=1_800_000_150).packages] == ["1.0.0"]
    deck.write_text(intro + markdown([(QUESTIONS[0][0], "An edited answer."), QUESTIONS[1]]), encoding="utf-8")
    report = build_decks(src, out, now=1_800_000_200)  # a new version anyway: it records the hash in full
    assert [p.plan.version for p in report.packages] == ["1.0.1"] and description_of(path) not in (alone, recorded)
    assert "data:image/png;base64," in report.packages[0].plan.package.decks[-1].description
    (src / "map.png").write_bytes(png(2, 2, (0, 255, 0)))
    assert [p.plan.version for p in build_decks(src, out, now=1_800_000_300).packages] == ["1.0.2"]


def description_of(record: Path) -> str:
    (line,) = [line for line in record.read_text(encoding="utf-8").splitlines() if line.startswith('{"deck":')]
    return json.loads(line)["description"]


def test_a_description_image_too_large_to_hold_makes_no_version_when_it_changes(tmp_path, machine):
    """An image larger than a description holds is "(image not included)" however it changes: no new version."""
    from conftest import png

    src, out = tmp_path / "source", tmp_path / "build"
    write_deck(src, "deck", "Our map: ![map](map.png)\n\n" + markdown(QUESTIONS[:2]), SETTINGS)
    for number, colour in enumerate([(255, 0, 0), (0, 0, 255)]):
        (src / "map.png").write_bytes(png(2, 2, colour, text=b"x" * 300_000))
        assert [p.plan.version for p in build_decks(src, out, now=1_800_000_000 + number).packages] == ["1.0.0"]
    (src / "map.png").unlink()
    report = build_decks(src, out, now=1_800_000_002)
    assert [p.plan.version for p in report.packages] == ["1.0.0"]
