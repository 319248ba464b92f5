"""Which recorded note each question is: GUIDs never move to another note, and evidence decides, never luck."""

import hashlib
from pathlib import Path

import msgspec

from deckgen.identify.matcher import identify_decks
from deckgen.identify.record import IdentityRecord, NoteRecord
from deckgen.sources.library import DeckFile, DeckSource
from deckgen.identify.note_type_guard import DeckNoteType
from deckgen.identify.note_types import BASIC
from deckgen.parse.questions import ParsedDeck, Question
from deckgen.sources.settings import DeckSettings
from deckgen.parse.syntax import heading_attributes, question_key

PATH = Path("deck.md")


def q(title, answer="", line=1, explicit_id=None, sections=(), path=PATH) -> Question:
    title, attributes = heading_attributes(title)
    if explicit_id:
        attributes = attributes._replace(explicit_id=explicit_id)
    return Question(path=path, line=line, title=title, explicit_id=attributes.explicit_id, sections=sections,
                    answer=answer, answer_line=line + 1, key=question_key(title), attributes=attributes)


def deck(questions, key="deck") -> ParsedDeck:
    source = DeckSource(file=DeckFile(Path(f"{key}.md"), key, f"{key}.md"), text="",
                        settings=DeckSettings(name=key, slug=key))
    return ParsedDeck(source=source, questions=tuple(questions), description="", diagnostics=())


def identify(questions, records, decks=None):
    decks = decks or [deck(questions)]
    record = IdentityRecord(packages={}, decks={}, note_types={}, notes={r.guid: r for r in records})
    found = identify_decks(decks, record, {d.source.file.key: DeckNoteType(BASIC, None) for d in decks}, "test")
    return [n for d in found for n in d.notes], [x for d in found for x in d.diagnostics]


def recorded(questions, key="deck") -> list[NoteRecord]:
    """The identity records a first build would leave for these questions."""
    identified, _ = identify(questions, (), [deck(questions, key)])
    return [NoteRecord(guid=i.guid, deck=key, question=i.question.title, answer=i.question.answer,
                       sections=i.question.sections, fingerprint="f", mtime=1, source=f"{key}.md:{i.question.line}",
                       explicit_id=i.question.explicit_id) for i in identified]


def guids(questions, records) -> dict[str, str]:
    identified, _ = identify(questions, records)
    return {i.question.title: i.guid for i in identified}


BASE = [q("What is LoRA?", "Low-rank adapters beside frozen weights.", 1),
        q("What is RAG?", "Retrieval of documents, then generation.", 4),
        q("What is MoE?", "A mixture of experts, a router picks some.", 7)]


def test_insert_delete_reorder_keep_every_other_guid():
    records = recorded(BASE)
    before = guids(BASE, records)
    after = guids([q("New?", "n", 1), BASE[2], BASE[0]], records)
    assert after["What is MoE?"] == before["What is MoE?"]
    assert after["What is LoRA?"] == before["What is LoRA?"]
    assert after["New?"] not in before.values()


def test_guid_does_not_depend_on_position_or_on_other_questions():
    alone = guids([BASE[1]], ())
    assert guids(BASE, ())["What is RAG?"] == alone["What is RAG?"]


def test_identical_questions_get_distinct_guids_that_follow_their_answers():
    twins = [q("Same?", "first answer", 1), q("Same?", "second answer", 4)]
    records = recorded(twins)
    assert records[0].guid != records[1].guid
    swapped, _ = identify([q("Same?", "second answer", 1), q("Same?", "first answer", 4)], records)
    assert [i.guid for i in swapped] == [records[1].guid, records[0].guid]


def test_identical_headings_in_two_sections_keep_their_own_notes_when_one_section_goes():
    a = q("Why?", "Because the gradients vanish in deep nets.", 2, sections=("A",))
    b = q("Why?", "Because attention is quadratic in length.", 5, sections=("B",))
    records = recorded([a, b])
    edited = q("Why?", "Because attention costs n squared in the sequence length.", 2, sections=("B",))
    (survivor,), _ = identify([edited], records)
    assert survivor.guid == records[1].guid  # B's own note, not A's


def test_a_new_twin_inserted_above_does_not_take_the_edited_ones_note():
    old = q("Same?", "The answer written long ago, reviewed many times.", 1)
    records = recorded([old])
    new_twin = q("Same?", "A brand new answer about something else entirely.", 1)
    edited = q("Same?", "The answer written long ago, reviewed many times, now edited.", 4)
    inserted, _ = identify([new_twin, edited], records)
    assert inserted[1].guid == records[0].guid and inserted[0].record is None


def test_reworded_question_with_the_same_answer_keeps_its_guid():
    records = recorded(BASE)
    identified, diagnostics = identify([BASE[0], q("Explain retrieval-augmented generation.", BASE[1].answer, 4),
                                        BASE[2]], records)
    assert identified[1].guid == records[1].guid and identified[1].reworded
    assert not identified[0].reworded and diagnostics == []


def test_respelled_question_with_a_new_answer_keeps_its_guid():
    records = recorded([q("What does LoRA stand for in finetuning?", "Low-rank adapters.", 1)])
    identified, _ = identify([q("What does LoRA stand for in fine-tuning?", "Low-Rank Adaptation.", 1)], records)
    assert identified[0].guid == records[0].guid and identified[0].reworded


def test_a_similar_question_with_an_unrelated_answer_is_a_new_note_with_a_hint():
    records = recorded([q("What is the time complexity of self-attention?", "Quadratic in the sequence length.", 3)])
    identified, diagnostics = identify([q("What is the memory complexity of self-attention?",
                                          "The KV cache grows linearly; the score matrix is n by n.", 3)], records)
    assert identified[0].record is None
    (hint,) = diagnostics
    assert hint.code == "unmatched-rewording" and hint.line == 3
    assert 'reads like "What is the time complexity of self-attention?" (deck.md:3)' in hint.message
    assert '{was="What is the time complexity of self-attention?"}' in hint.message


def test_the_answer_threshold_decides_on_both_sides_of_it():
    """Wording close; the answer at least half the same (a note continued) or not (a new note)."""
    answer = "Grouped-query attention shares key and value heads between query heads."
    records = recorded([q("What is GQA in transformers?", answer, 1)])
    half_kept = "Grouped-query attention shares key and value heads, which saves memory at decoding time."
    mostly_new = "It is a way to serve models faster: fewer heads to cache when decoding long prompts."
    kept, _ = identify([q("What is GQA in a transformer?", half_kept, 1)], records)
    lost, _ = identify([q("What is GQA in a transformer?", mostly_new, 1)], records)
    assert kept[0].guid == records[0].guid and lost[0].record is None


def test_a_different_question_is_not_taken_for_a_rewording():
    records = recorded(BASE)
    identified, diagnostics = identify([q("How does speculative decoding work?", "Draft, verify.", 1)], records)
    assert identified[0].record is None and diagnostics == []


def test_short_identical_answers_are_no_evidence_of_a_rewording():
    records = recorded([q("Is the sky blue?", "Yes.", 1)])
    identified, _ = identify([q("Does attention scale quadratically?", "Yes.", 1)], records)
    assert identified[0].record is None


def test_ambiguous_rewording_is_reported_not_guessed():
    same = "Milvus, Faiss, Weaviate and Pinecone, among others."
    records = recorded([q("Which vector databases exist?", same, 1), q("Which vector stores exist?", same, 4)])
    identified, diagnostics = identify([q("Which vector DBs exist?", same, 1)], records)
    assert identified[0].record is None
    assert len(diagnostics) == 1 and "cannot tell which note" in diagnostics[0].message
    assert "Which vector databases exist?" in diagnostics[0].message


def words(seed: int, count: int) -> str:
    """Distinct made-up words, the same for the same seed."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "gu", "zo", "fa", "di", "bre", "qua", "xin"]
    digest = hashlib.sha256(str(seed).encode()).digest()
    return " ".join("".join(syllables[b % 16] for b in digest[i * 3:i * 3 + 3]) for i in range(count))


def test_many_rewordings_at_once_each_find_their_note():
    questions = [q(f"What is {words(i, 3)}?", words(-i, 12) + ".", i * 3) for i in range(300)]
    records = recorded(questions)
    for edit in (lambda a: a, lambda a: a.replace(" ", " very ", 1)):  # answers as they were, or one word added
        reworded = [q("In short: " + x.title, edit(x.answer), x.line) for x in questions]
        identified, diagnostics = identify(reworded, records)
        assert [i.guid for i in identified] == [r.guid for r in records] and diagnostics == []


def test_explicit_id_keeps_the_guid_through_any_rewrite():
    records = recorded([q("Old wording", "old answer", 1, explicit_id="lora")])
    assert guids([q("Completely different", "new", 9, explicit_id="lora")], records) == \
        {"Completely different": records[0].guid}


def test_adding_an_explicit_id_later_keeps_the_guid():
    records = recorded(BASE)
    assert guids([q("What is LoRA?", "new answer", 1, explicit_id="lora")], records) == \
        {"What is LoRA?": records[0].guid}


def test_was_names_the_note_a_question_continues_by_its_text_or_guid():
    records = recorded([q("What is the time complexity of self-attention?", "Quadratic.", 3)] + BASE[1:])
    by_text, diagnostics = identify([q('How fast is self-attention? {was="What is the time complexity of '
                                       'self-attention?"}', "O(n^2) in time.", 3)], records)
    assert by_text[0].guid == records[0].guid and by_text[0].reworded and diagnostics == []
    by_guid, _ = identify([q(f"Something else entirely {{was={records[1].guid}}}", "x", 3)], records)
    assert by_guid[0].guid == records[1].guid
    # Once built, the question has its own note: a {was=…} left in the heading does nothing more.
    again = [msgspec.structs.replace(records[0], question="How fast is self-attention?")]
    later, diagnostics = identify([q('How fast is self-attention? {was="What is the time complexity of '
                                     'self-attention?"}', "O(n^2) in time.", 3)], again)
    assert later[0].guid == records[0].guid and diagnostics == []
    unknown, diagnostics = identify([q('Q? {was="Never asked?"}', "a", 3)], records)
    assert unknown[0].record is None and [d.code for d in diagnostics] == ["unknown-was"]


def test_new_keeps_a_question_from_taking_a_vanished_note():
    records = recorded(BASE)
    identified, diagnostics = identify([q("Explain retrieval-augmented generation. {new}", BASE[1].answer, 4)],
                                       records)
    assert identified[0].record is None and diagnostics == []


def test_a_question_moved_to_another_deck_keeps_its_note():
    records = recorded(BASE, key="old")
    moved = [q("What is RAG?", BASE[1].answer, 2, path=Path("new.md"))]
    identified, _ = identify(moved, records, [deck(BASE[:1] + BASE[2:], "old"), deck(moved, "new")])
    assert {i.question.title: i.guid for i in identified}["What is RAG?"] == records[1].guid


def test_removed_question_that_comes_back_gets_its_old_guid():
    records = [msgspec.structs.replace(r, removed=1) for r in recorded(BASE)]
    identified, _ = identify([BASE[1]], records)
    assert identified[0].guid == records[1].guid


def test_the_texts_worth_comparing_do_not_depend_on_the_order_a_set_iterates_in():
    """A set of pieces iterates in an order that changes with Python's hash seed; the candidates for a
    rewording must not, or the same build could give a note's history to another note on another run."""
    from deckgen.identify.matcher import _Index

    index = _Index({f"note{i:02}": {f"piece{i:02}", "shared"} for i in range(30)})
    pieces = [f"piece{i:02}" for i in range(30)] + ["shared"]  # as rare as each other, but for "shared"
    assert index.sharing(pieces, 3) == index.sharing(pieces[::-1], 3) == index.sharing(sorted(pieces, key=hash), 3)


def test_matching_leaves_no_cycle_behind_for_the_garbage_collector(monkeypatch):
    """What matching builds (an index of every recorded note) is freed as soon as it is done, without the cyclic
    garbage collector, which a build's process keeps from its costly full passes (see `cli`); the matcher held
    itself through its own lambda before."""
    import gc
    import weakref

    from deckgen.identify import matcher

    made, original = [], matcher._Matcher

    class Watched(original):
        def __init__(self, *args):
            made.append(weakref.ref(self))
            super().__init__(*args)

    monkeypatch.setattr(matcher, "_Matcher", Watched)
    questions = [*BASE, q("What is SFT?", "Supervised fine-tuning.", 10)]
    gc.collect()
    gc.disable()
    try:
        assert len(guids(questions, recorded(BASE))) == 4
        assert made and all(ref() is None for ref in made)
    finally:
        gc.enable()
