"""Which recorded note each question is: GUIDs never move to another note."""

from pathlib import Path

import msgspec

from deckgen.identify import identify
from deckgen.identity_file import NoteRecord
from deckgen.parse import Question
from deckgen.syntax import question_key

PATH = Path("deck.md")


def q(title, answer="", line=1, explicit_id=None) -> Question:
    return Question(path=PATH, line=line, title=title, explicit_id=explicit_id, sections=(), answer=answer,
                    answer_line=line + 1, key=question_key(title))


def recorded(questions) -> list[NoteRecord]:
    """The identity records a first build would leave for these questions."""
    identified, _ = identify("deck", questions, ())
    return [NoteRecord(guid=i.guid, deck="deck", question=i.question.title, answer=i.question.answer,
                       fingerprint="f", mtime=1, source=f"deck.md:{i.question.line}",
                       explicit_id=i.question.explicit_id) for i in identified]


def guids(questions, records) -> dict[str, str]:
    identified, _ = identify("deck", questions, records)
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
    swapped, _ = identify("deck", [q("Same?", "second answer", 1), q("Same?", "first answer", 4)], records)
    assert [i.guid for i in swapped] == [records[1].guid, records[0].guid]


def test_reworded_question_with_the_same_answer_keeps_its_guid():
    records = recorded(BASE)
    identified, diagnostics = identify("deck", [BASE[0], q("Explain retrieval-augmented generation.",
                                                             BASE[1].answer, 4), BASE[2]], records)
    assert identified[1].guid == records[1].guid and identified[1].reworded
    assert not identified[0].reworded and diagnostics == ()


def test_respelled_question_with_a_new_answer_keeps_its_guid():
    records = recorded([q("What does LoRA stand for in finetuning?", "Low-rank adapters.", 1)])
    identified, _ = identify("deck", [q("What does LoRA stand for in fine-tuning?", "Low-Rank Adaptation.", 1)],
                             records)
    assert identified[0].guid == records[0].guid and identified[0].reworded


def test_a_different_question_is_not_taken_for_a_rewording():
    records = recorded(BASE)
    identified, diagnostics = identify("deck", [q("How does speculative decoding work?", "Draft, verify.", 1)],
                                       records)
    assert identified[0].record is None and diagnostics == ()


def test_short_identical_answers_are_no_evidence_of_a_rewording():
    records = recorded([q("Is the sky blue?", "Yes.", 1)])
    identified, _ = identify("deck", [q("Does attention scale quadratically?", "Yes.", 1)], records)
    assert identified[0].record is None


def test_ambiguous_rewording_is_reported_not_guessed():
    same = "Milvus, Faiss, Weaviate and Pinecone, among others."
    records = recorded([q("Which vector databases exist?", same, 1), q("Which vector stores exist?", same, 4)])
    identified, diagnostics = identify("deck", [q("Which vector DBs exist?", same, 1)], records)
    assert identified[0].record is None
    assert len(diagnostics) == 1 and "cannot tell which note" in diagnostics[0].message
    assert "Which vector databases exist?" in diagnostics[0].message


def test_explicit_id_keeps_the_guid_through_any_rewrite():
    records = recorded([q("Old wording", "old answer", 1, explicit_id="lora")])
    assert guids([q("Completely different", "new", 9, explicit_id="lora")], records) == \
        {"Completely different": records[0].guid}


def test_adding_an_explicit_id_later_keeps_the_guid():
    records = recorded(BASE)
    assert guids([q("What is LoRA?", "new answer", 1, explicit_id="lora")], records) == \
        {"What is LoRA?": records[0].guid}


def test_removed_question_that_comes_back_gets_its_old_guid():
    records = [msgspec.structs.replace(r, removed=1) for r in recorded(BASE)]
    identified, _ = identify("deck", [BASE[1]], records)
    assert identified[0].guid == records[1].guid
