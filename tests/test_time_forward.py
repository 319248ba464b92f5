"""Time only moves forward: reverts and branch switches, removed notes with a lifecycle, restored notes.

Each test imports what deckgen built into a real Anki collection and checks
what a user would see there.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.places import render_cache_path as cache_path
from deckgen import build_decks
from deckgen.cli import main
from conftest import AnkiProfile, another_machine, answer_all_due, png, record_of, record_path, reviews_by_card, write_deck

DECK = "Forward"
REMOVED_DECK = f"{DECK}::Removed"
QUESTIONS = {
    "What does LoRA train?": "Two low-rank matrices beside each frozen weight.",
    "What is RAG?": "Retrieval-augmented generation: look documents up, then answer.",
    "What is the KV cache for?": "Reusing past keys and values while decoding.",
}


def markdown(questions: dict[str, str]) -> str:
    return "".join(f"### {q}\n{a}\n\n" for q, a in questions.items())


class Library:
    """A notes folder built into one output folder on one machine, with a clock that moves on."""

    def __init__(self, tmp_path: Path, questions: dict[str, str], folder_settings: str = ""):
        self.src, self.out = tmp_path / "source", tmp_path / "build"
        self.deck = write_deck(self.src, "deck", markdown(questions), f'name = "{DECK}"\n')
        if folder_settings:
            (self.src / "deckgen.toml").write_text(folder_settings, encoding="utf-8")
        self.now = time.time()
        self.packages: dict[str, str] = {}
        """Every package name this machine wrote, and the hash of its bytes when first seen."""

    def build(self, questions: dict[str, str] | None = None):
        if questions is not None:
            self.deck.write_text(markdown(questions), encoding="utf-8")
        self.now += 10
        (deck,) = build_decks(self.src, self.out, now=self.now).packages
        for path in self.out.glob("*.apkg"):  # a package name never comes to hold other content
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert self.packages.setdefault(path.name, digest) == digest, f"{path.name} was rewritten"
        return deck

    def snapshot(self) -> tuple[str, bytes]:
        """The Markdown and the identity record, as a commit holds them."""
        return self.deck.read_text(encoding="utf-8"), record_path(self.src).read_bytes()

    def checkout(self, snapshot: tuple[str, bytes]) -> None:
        self.deck.write_text(snapshot[0], encoding="utf-8")
        record_path(self.src).write_bytes(snapshot[1])


def live_notes(profile: AnkiProfile) -> dict[str, str]:
    """Question -> answer of the notes not marked removed, failing on a duplicate."""
    found = {}
    for note in profile.notes():
        if "deckgen::removed" in note.tags:
            continue
        assert note["Question"] not in found, f"duplicate note: {note['Question']}"
        found[note["Question"]] = note["Answer"]
    return found


def shown(questions: dict[str, str]) -> dict[str, str]:
    return {q: f"<p>{a}</p>" for q, a in questions.items()}


def test_a_revert_brings_anki_back_to_the_source_under_a_new_version(tmp_path, anki):
    library = Library(tmp_path, QUESTIONS)
    first = library.build()
    anki.import_package(first.path)
    answer_all_due(anki, DECK)
    ids, reviews = {n.guid: n.id for n in anki.notes()}, reviews_by_card(anki)
    good = library.snapshot()

    bad = dict(QUESTIONS, **{"What is RAG?": "A bad edit."})
    assert library.build(bad).path.name == "deck-1.0.1.apkg"
    anki.import_package(library.out / "deck-1.0.1.apkg")
    assert live_notes(anki)["What is RAG?"] == "<p>A bad edit.</p>"

    library.checkout(good)  # git revert: the Markdown and the identity record as they were
    reverted = library.build()
    assert reverted.path.name == "deck-1.0.2.apkg"  # not 1.0.0 again, which Anki would skip
    assert [(c.kind, c.question, c.reverted) for c in reverted.plan.changes] == [("changed", "What is RAG?", True)]
    log = anki.import_package(reverted.path)
    assert [n.fields[0] for n in log.updated] == ["What is RAG?"] and not log.new
    assert live_notes(anki) == shown(QUESTIONS)
    assert {n.guid: n.id for n in anki.notes()} == ids and reviews_by_card(anki) == reviews

    edited = dict(QUESTIONS, **{"What is the KV cache for?": "Keys and values kept while decoding."})
    assert library.build(edited).path.name == "deck-1.0.3.apkg"  # the next real edit reuses no number
    anki.import_package(library.out / "deck-1.0.3.apkg")
    assert live_notes(anki) == shown(edited)
    assert anki.check_database()[1]


def test_switching_branches_back_and_forth_keeps_anki_on_the_checked_out_source(tmp_path, anki):
    library = Library(tmp_path, QUESTIONS)
    anki.import_package(library.build().path)
    base = library.snapshot()

    ours = dict(QUESTIONS, **{"What does LoRA train?": "Low-rank adapters.", "What is new on ours?": "An addition."})
    anki.import_package(library.build(ours).path)
    ours_commit = library.snapshot()

    library.checkout(base)  # the other branch: the base, with an edit of its own
    theirs = dict(QUESTIONS, **{"What is RAG?": "Retrieval, then generation."})
    built = library.build(theirs)
    kinds = sorted((c.kind, c.question, c.reverted) for c in built.plan.changes)
    assert kinds == [("changed", "What does LoRA train?", True), ("changed", "What is RAG?", False),
                     ("removed", "What is new on ours?", False)]
    anki.import_package(built.path)
    assert live_notes(anki) == shown(theirs)  # the note only our branch had is marked removed, not left live

    library.checkout(ours_commit)
    back = library.build()
    assert sorted((c.kind, c.question) for c in back.plan.changes) == [
        ("changed", "What does LoRA train?"), ("changed", "What is RAG?"), ("restored", "What is new on ours?")]
    log = anki.import_package(back.path)
    assert not log.new and len(log.updated) == 3
    assert live_notes(anki) == shown(ours)
    assert len(anki.notes()) == 4 and anki.check_database()[1]
    versions = sorted(library.packages)
    assert versions == ["deck-1.0.0.apkg", "deck-1.0.1.apkg", "deck-1.0.2.apkg", "deck-1.0.3.apkg"]


def test_libraries_built_into_one_folder_each_keep_what_they_delivered(tmp_path, anki):
    """Building another library into the same output folder left the first without its record of
    deliveries: its next revert wrote 1.0.0 again (Anki skipped it) and a later edit rewrote 1.0.1."""
    ours = Library(tmp_path / "ours", QUESTIONS)
    theirs = Library(tmp_path / "theirs", {"Whose?": "Theirs."}, folder_settings='slug = "theirs"\n')
    ours.out = theirs.out = tmp_path / "build"
    anki.import_package(ours.build().path)
    good = ours.snapshot()
    anki.import_package(ours.build(dict(QUESTIONS, **{"What is RAG?": "A bad edit."})).path)
    theirs.build()
    ours.checkout(good)
    reverted = ours.build()
    assert reverted.path.name == "deck-1.0.2.apkg"  # and ours.build checks that no package was rewritten
    anki.import_package(reverted.path)
    assert live_notes(anki)["What is RAG?"] == shown(QUESTIONS)["What is RAG?"]

    # A third library whose package would have the same name is stopped before it writes anything.
    clash = Library(tmp_path / "clash", {"Mine?": "Mine."})
    before = {path.name: path.read_bytes() for path in ours.out.iterdir() if path.is_file()}
    result = CliRunner().invoke(main, ["build", str(clash.src), "-o", str(ours.out)])
    assert result.exit_code == 1 and "[package-taken]" in result.output
    assert f"holds packages named deck-….apkg that the library {ours.src.resolve()} built" in result.output
    assert {path.name: path.read_bytes() for path in ours.out.iterdir() if path.is_file()} == before

    # The same library moved to another folder is not another library: it builds on.
    moved = tmp_path / "moved"
    ours.src.rename(moved)
    ours.src, ours.deck = moved, moved / "deck.md"
    assert ours.build(dict(QUESTIONS, **{"What is RAG?": "Moved, then edited."})).path.name == "deck-1.0.3.apkg"


@pytest.mark.parametrize("name", [".deckgen-delivered-{tag}.jsonl", ".deckgen-delivered.jsonl"])
def test_the_record_of_deliveries_in_the_output_folder_is_read_once_and_moved_to_the_state_folder(tmp_path, name):
    """deckgen 0.2 kept it in the output folder (one file for each library; before that, one for one library)."""
    import json

    from deckgen.places import delivered_path
    from deckgen.places import library_tag

    library = Library(tmp_path, QUESTIONS)
    library.build()
    good = library.snapshot()
    library.build(dict(QUESTIONS, **{"What is RAG?": "A bad edit."}))
    old = library.out / name.format(tag=library_tag(library.src))
    header, rest = delivered_path(library.src).read_bytes().split(b"\n", 1)
    header = {key: value for key, value in json.loads(header).items() if key != "packages"}
    old.write_bytes(json.dumps({**header, "deckgen_delivered": 1}).encode() + b"\n" + rest)  # as 0.2 wrote it
    delivered_path(library.src).unlink()
    library.checkout(good)
    assert library.build().path.name == "deck-1.0.2.apkg"  # it knew what was delivered
    assert not old.exists() and delivered_path(library.src).exists()


def test_without_a_record_of_this_machines_builds_the_build_says_it_cannot_know(tmp_path, monkeypatch):
    library = Library(tmp_path, QUESTIONS)
    library.build()
    another_machine(monkeypatch, tmp_path / "elsewhere")  # a fresh clone there
    run = CliRunner().invoke(main, ["build", str(library.src), "-o", str(tmp_path / "fresh-clone-build")])
    assert run.exit_code == 0, run.output
    assert "this machine has no record of building this notes folder before" in run.stdout
    again = CliRunner().invoke(main, ["build", str(library.src), "-o", str(library.out)])
    assert again.exit_code == 0 and "no record of what" not in again.stdout


@pytest.mark.parametrize("bound, returns", [
    ("keep_removed_versions = 1\nkeep_removed_days = 0\n", False),
    ("", True),  # the defaults: 10 versions and 180 days
])
def test_a_tombstone_deleted_in_anki_returns_only_while_it_is_carried(tmp_path, anki, bound, returns):
    library = Library(tmp_path, QUESTIONS, bound)
    anki.import_package(library.build().path)
    fewer = {q: a for q, a in QUESTIONS.items() if q != "What is RAG?"}
    removal = library.build(fewer)
    assert (removal.plan.removed_carried, removal.plan.removed_dropped) == (1, 0)
    anki.import_package(removal.path)
    (removed,) = [n for n in anki.notes() if "deckgen::removed" in n.tags]
    anki.col.remove_notes([removed.id])  # the user deletes it instead of suspending it

    later = library.build(dict(fewer, **{"What is new?": "Something."}))
    assert (later.plan.removed_carried, later.plan.removed_dropped) == ((1, 0) if returns else (0, 1))
    log = anki.import_package(later.path)
    assert sorted(n.fields[0] for n in log.new) == sorted(["What is new?"] + ["What is RAG?"] * returns)

    record = record_of(library.src)  # dropped or not, the record keeps its GUID: restoring it restores the note
    assert [n.question for n in record.notes.values() if n.removed] == ["What is RAG?"]
    restored = library.build(dict(QUESTIONS, **{"What is new?": "Something."}))
    assert [(c.kind, c.question) for c in restored.plan.changes] == [("restored", "What is RAG?")]
    assert {n.guid for n in record.notes.values() if n.removed} == {
        n.guid for n in record_of(library.src).notes.values() if n.question == "What is RAG?"}


@pytest.mark.parametrize("fresh_start", [False, True])
def test_a_first_time_import_keeps_removed_and_replaced_notes_out_of_the_way(tmp_path, fresh_start):
    library = Library(tmp_path, QUESTIONS)
    library.build()
    latest = library.build({q: a for q, a in QUESTIONS.items() if q != "What is RAG?"})
    if fresh_start:  # a new card type: the deck's notes so far are left behind, tagged deckgen::replaced
        (library.src / "deck.deck.toml").write_text(f'name = "{DECK}"\ncards = "basic-and-reversed"\n')
        library.now += 10
        (latest,) = build_decks(library.src, library.out, now=library.now, allow_new_note_type=True).packages
    newcomer = AnkiProfile(tmp_path / "newcomer.anki2")
    try:
        newcomer.import_package(latest.path)
        col = newcomer.col
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            gone = {"deckgen::removed", "deckgen::replaced"} & set(card.note().tags)
            assert col.decks.name(card.did) == (REMOVED_DECK if gone else DECK), card.note()["Question"]
        live = len(col.find_cards(f'deck:"{DECK}" -deck:"{REMOVED_DECK}"'))
        assert (len(col.find_cards(f'deck:"{REMOVED_DECK}"')), live) == ((3, 4) if fresh_start else (1, 2))
        assert newcomer.check_database()[1]
    finally:
        newcomer.close()


def test_an_existing_user_keeps_a_removed_notes_card_where_it_was(tmp_path, anki):
    library = Library(tmp_path, QUESTIONS)
    anki.import_package(library.build().path)
    anki.import_package(library.build({q: a for q, a in QUESTIONS.items() if q != "What is RAG?"}).path)
    col = anki.col
    (removed,) = [n for n in anki.notes() if "deckgen::removed" in n.tags]
    assert [col.decks.name(card.did) for card in removed.cards()] == [DECK]
    assert col.find_cards(f'deck:"{REMOVED_DECK}"') == []  # the subdeck is there, empty


def test_a_restored_note_that_was_suspended_is_reported_with_how_to_unsuspend_it(tmp_path, anki):
    library = Library(tmp_path, QUESTIONS)
    anki.import_package(library.build().path)
    removal = library.build({q: a for q, a in QUESTIONS.items() if q != "What is RAG?"})
    anki.import_package(removal.path)
    (removed,) = [n for n in anki.notes() if "deckgen::removed" in n.tags]
    anki.col.sched.suspend_cards([card.id for card in removed.cards()])  # as the README advises
    other = next(n for n in anki.notes() if n["Question"] == "What is the KV cache for?")
    anki.col.sched.suspend_cards([card.id for card in other.cards()])  # suspended on purpose: to stay so

    library.deck.write_text(markdown(QUESTIONS), encoding="utf-8")
    library.now += 10
    report = build_decks(library.src, library.out, now=library.now)
    (warning,) = [d for d in report.diagnostics if d.code == "restored"]
    assert (warning.path, warning.line) == (library.deck, 4)
    assert "version 1.0.1" in warning.message
    search = re.search(r"search (.+?), select them", warning.message).group(1)
    assert "Toggle Suspend" in warning.message and f'"{REMOVED_DECK}"' in warning.message
    log = anki.import_package(report.packages[0].path)
    assert [n.fields[0] for n in log.updated] == ["What is RAG?"]
    note = anki.col.get_note(removed.id)
    assert "deckgen::removed" not in note.tags
    assert [card.queue for card in note.cards()] == [-1]  # still suspended in Anki: hence the report
    assert list(anki.col.find_cards(search)) == [card.id for card in note.cards()]  # and only its cards

    # Said once, by the build that restored it: a build that finds nothing changed replays the last build's
    # warnings, but not this one (check, which never restores anything, could not show that).
    cli = CliRunner().invoke(main, ["build", str(library.src), "-o", str(library.out)])
    assert "(nothing changed)" in cli.stdout and "[restored]" not in cli.output


def test_a_tombstone_is_not_stamped_again_when_its_image_or_the_cache_goes(tmp_path):
    questions = dict(QUESTIONS, **{"What does this plot show?": "![plot](plot.png)"})
    library = Library(tmp_path, questions)
    (library.src / "plot.png").write_bytes(png(2, 2, (200, 0, 0)))
    library.build()
    library.build(QUESTIONS)
    tombstone = next(n for n in record_of(library.src).notes.values() if n.removed)
    (library.src / "plot.png").unlink()
    cache_path(library.src).unlink()
    edited = dict(QUESTIONS, **{"What is RAG?": "Retrieval, then generation."})
    later = library.build(edited)
    assert [(c.kind, c.question) for c in later.plan.changes] == [("changed", "What is RAG?")]
    assert next(n for n in record_of(library.src).notes.values() if n.removed) == tombstone
    (carried,) = [n for n in later.plan.package.notes if n.removed]
    assert carried.mtime == tombstone.mtime


def test_a_lost_identity_record_is_taken_back_from_what_this_machine_delivered(tmp_path, anki):
    library = Library(tmp_path, QUESTIONS)
    anki.import_package(library.build().path)
    reworded = {("What is retrieval-augmented generation?" if q == "What is RAG?" else q): a
                for q, a in QUESTIONS.items()}
    anki.import_package(library.build(reworded).path)
    guids = {n.question: n.guid for n in record_of(library.src).notes.values()}
    record_path(library.src).unlink()  # lost, and not in git
    again = library.build()
    assert again.plan.changes == () and again.path.name == "deck-1.0.2.apkg"
    assert {n.question: n.guid for n in record_of(library.src).notes.values()} == guids
    log = anki.import_package(again.path)
    assert not log.new and not log.updated and not log.conflicting
