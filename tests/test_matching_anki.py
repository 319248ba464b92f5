"""Matching you can trust, in a real collection: no question ever takes another's review history."""

from __future__ import annotations

import time

from click.testing import CliRunner

from deckgen import build_decks
from deckgen.cli import main

from conftest import answer_all_due, asked, reviews_by_card, write_deck

DECK = "Matching"
SETTINGS = f'name = "{DECK}"\n'


def build_and_import(anki, src, out, later: int = 0):
    report = build_decks(src, out, now=time.time() + later)
    return anki.import_package(report.packages[0].path), report


def notes_by(anki, question: str) -> list:
    """The notes asking `question`, with the sections a namesake's card shows above it or without."""
    return [n for n in anki.notes() if asked(n["Question"]) == question]


def cards_of(anki, note_id: int) -> list[int]:
    return list(anki.col.find_cards(f"nid:{note_id}"))


def test_identical_headings_keep_their_own_histories_when_one_section_goes(tmp_path, anki):
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", "## Optimisers\n### Why?\nBecause plain SGD oscillates across the ravine.\n"
                                   "## Attention\n### Why?\nBecause every token attends to every other one.\n",
                      SETTINGS)
    build_and_import(anki, src, out)
    answer_all_due(anki, DECK)
    reviews = reviews_by_card(anki)
    attention = next(n for n in notes_by(anki, "Why?") if "Attention" in n.tags)
    deck.write_text("## Attention\n### Why?\nBecause every token attends to every other one: n squared.\n")
    log, _ = build_and_import(anki, src, out, later=5)
    assert len(log.new) == 0
    (live,) = [n for n in notes_by(anki, "Why?") if "deckgen::removed" not in n.tags]
    assert live.id == attention.id and live["Answer"].endswith("n squared.</p>")
    removed = next(n for n in notes_by(anki, "Why?") if "deckgen::removed" in n.tags)
    assert "Optimisers" in removed.tags
    assert reviews_by_card(anki) == reviews  # every card kept its own reviews


def test_a_twin_inserted_above_an_edited_question_gets_a_new_note(tmp_path, anki):
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", "### Same?\nThe long-standing answer, reviewed for weeks.\n", SETTINGS)
    build_and_import(anki, src, out)
    answer_all_due(anki, DECK)
    (old,) = anki.notes()
    reviewed = cards_of(anki, old.id)
    deck.write_text("### Same?\nA different fact that happens to share the heading.\n\n"
                    "### Same?\nThe long-standing answer, reviewed for weeks, now with a correction.\n")
    log, _ = build_and_import(anki, src, out, later=5)
    assert [n.fields[1] for n in log.new] == ["A different fact that happens to share the heading."]
    edited = anki.col.get_note(old.id)
    assert edited["Answer"].endswith("now with a correction.</p>") and cards_of(anki, old.id) == reviewed
    assert all(n in reviews_by_card(anki) for n in reviewed)


def test_a_question_that_only_reads_like_a_vanished_one_takes_no_history(tmp_path, anki):
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", "### What is the time complexity of self-attention?\n"
                                   "Quadratic in the sequence length: every token looks at every token.\n", SETTINGS)
    build_and_import(anki, src, out)
    answer_all_due(anki, DECK)
    (old,) = anki.notes()
    reviews = reviews_by_card(anki)
    deck.write_text("### What is the memory complexity of self-attention?\n"
                    "The KV cache grows linearly; FlashAttention avoids storing the n by n scores.\n")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 0
    assert ('reads like "What is the time complexity of self-attention?" (deck.md:1), which is gone'
            in result.stderr and "[unmatched-rewording]" in result.stderr)
    log = anki.import_package(next(out.glob("deck-1.0.1.apkg")))
    (new,) = log.new
    assert new.fields[0] == "What is the memory complexity of self-attention?"
    assert "deckgen::removed" in anki.col.get_note(old.id).tags
    assert reviews_by_card(anki) == reviews  # the old note's reviews stay with it, the new note has none
    new_note = notes_by(anki, "What is the memory complexity of self-attention?")[0]
    assert not any(card in reviews for card in cards_of(anki, new_note.id))


def test_rewording_many_questions_at_once_loses_no_history(tmp_path, anki):
    src, out = tmp_path / "src", tmp_path / "out"
    topics = [f"{a} {b}" for a in ("sparse", "dense", "causal", "rotary", "grouped", "sliding")
              for b in ("attention", "routing", "caching", "decoding", "sampling", "pruning", "tuning", "batching",
                        "chunking", "gating")]
    questions = [(f"What is {topic} (variant {i})?", f"It is the {topic} technique number {i}: it trades "
                  f"{'memory' if i % 2 else 'latency'} for {'speed' if i % 3 else 'quality'}, see note {i * 17}.")
                 for i, topic in enumerate(topics * 5)]
    deck = write_deck(src, "deck", "".join(f"### {q}\n{a}\n\n" for q, a in questions), SETTINGS)
    build_and_import(anki, src, out)
    answer_all_due(anki, DECK)
    ids = {n["Question"]: n.id for n in anki.notes()}
    reviews = reviews_by_card(anki)
    for round_, edit in enumerate((lambda a: a, lambda a: a.replace("technique", "method"))):
        deck.write_text("".join(f"### In one sentence: {q}\n{edit(a)}\n\n" for q, a in questions))
        log, report = build_and_import(anki, src, out, later=5 * (round_ + 1))
        assert (len(log.new), len(log.updated)) == (0, len(questions))
        assert report.diagnostics == ()
        after = {n["Question"]: n.id for n in anki.notes()}
        assert all(after[f"In one sentence: {q}"] == ids[q] for q, _ in questions)
        questions = [(f"In one sentence: {q}", edit(a)) for q, a in questions]
        ids = after
    assert reviews_by_card(anki) == reviews
    assert anki.check_database()[1]


def test_was_written_after_the_build_that_lost_the_note_names_the_guid_that_takes_it_back(tmp_path, anki):
    """The usual way to notice a lost history: a build says "1 new, 1 removed"; then the author adds
    {was="…"}. The record cannot tell that from a {was} that did its work long ago, so the build names the
    removed note's GUID; {was=GUID} takes it back, with its reviews, and stays on it."""
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", "### Old question?\nOld answer, one two three.\n", SETTINGS)
    build_and_import(anki, src, out)
    answer_all_due(anki, DECK)
    (old,) = anki.notes()
    reviews = reviews_by_card(anki)
    deck.write_text("### New wording?\nCompletely different text here.\n")
    log, _ = build_and_import(anki, src, out, later=5)
    (made,) = log.new
    deck.write_text('### New wording? {was="Old question?"}\nCompletely different text here.\n')
    said = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert f"write {{was={old.guid}}} instead" in said.stderr and "[was-done]" in said.stderr
    deck.write_text(f"### New wording? {{was={old.guid}}}\nCompletely different text here.\n")
    log, report = build_and_import(anki, src, out, later=10)
    assert not log.new
    restored = anki.col.get_note(old.id)
    assert restored["Question"] == "New wording?" and "deckgen::removed" not in restored.tags
    assert "deckgen::removed" in anki.col.get_note(made.id.nid).tags
    assert reviews_by_card(anki) == reviews  # the old note's reviews are the question's again
    again = build_decks(src, out, now=time.time() + 15)  # and it stays so, the {was=GUID} left in place
    assert again.packages[0].path == report.packages[0].path and not again.packages[0].plan.changes


def test_a_was_left_in_place_never_moves_a_question_to_another_note(tmp_path):
    """Twins "Old Q?" in two sections; one is reworded with {was="Old Q?"}, the other deleted. Later builds
    must keep the reworded question on its note, not hand it the deleted twin's."""
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", "## S1\n### Old Q?\nAnswer one.\n## S2\n### Old Q?\nAnswer two.\n## S3\n"
                                   "### Other?\nYes.\n", SETTINGS)
    build_decks(src, out, now=time.time())
    deck.write_text('## S1\n### Totally different wording now {was="Old Q?"}\nAnswer one.\n## S3\n'
                    "### Other?\nYes.\n")
    (second,) = build_decks(src, out, now=time.time() + 5).packages
    kept = {n.identified.question.title: n.identified.guid for d in second.plan.decks for n in d.deck.notes}
    deck.write_text('## S1\n### Totally different wording now {was="Old Q?"}\nAnswer one.\n## S3\n'
                    "### Other?\nYes, edited.\n")
    (third,) = build_decks(src, out, now=time.time() + 10).packages
    now = {n.identified.question.title: n.identified.guid for d in third.plan.decks for n in d.deck.notes}
    assert now == kept
    assert [(c.kind, c.question) for c in third.plan.changes] == [("changed", "Other?")]
