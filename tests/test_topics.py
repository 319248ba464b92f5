import regex

from deckgen.parse.questions import Question
from deckgen.sources.settings import TopicRule
from deckgen.names import anki_tag
from deckgen.parse.syntax import question_key
from deckgen.render.tags import note_tags


def question(title: str, sections=("Part one", "Chapter")) -> Question:
    return Question(path=None, line=1, title=title, explicit_id=None, sections=sections, answer="", answer_line=2,
                    key=question_key(title))


def test_section_path_is_a_hierarchical_tag_and_rules_add_topics():
    rules = (TopicRule(tag="topic::fine_tuning::LoRA", keywords=("lora",)),
             TopicRule(tag="topic::rag", patterns=(regex.compile(r"\bRAG\b"),)),
             TopicRule(tag="topic::never", keywords=("nothing",)))
    assert note_tags(question("How does LoRA help RAG?"), rules) == (
        "Part_one::Chapter", "topic::fine_tuning::LoRA", "topic::rag")


def test_tags_are_valid_anki_tags():
    assert anki_tag(["a b", 'say "hi"', "", "::x::", "C++/C#", "第一章 概述"]) == "a_b::say_hi::x::C++/C::第一章_概述"
    assert anki_tag(["<img src=x onerror=alert(1)>"]) == "img_src_x_onerror_alert_1"
    assert note_tags(question("Q", sections=()), ()) == ()
