"""Give each note its tags: its section path, and the topics the deck's rules find."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from .parse import Question
from .sources import TopicRule, anki_tag


@functools.lru_cache(maxsize=4096)
def section_tag(sections: tuple[str, ...]) -> str:
    """The hierarchical tag of a section path (computed once per section)."""
    return anki_tag(sections)


def note_tags(question: Question, rules: Iterable[TopicRule]) -> tuple[str, ...]:
    """The section path as one hierarchical tag, plus every matching topic, sorted."""
    tags = set()
    if question.sections:
        tags.add(section_tag(question.sections))
    text = question.title.casefold()
    for rule in rules:
        if any(k in text for k in rule.keywords) or any(p.search(question.title) for p in rule.patterns):
            tags.add(rule.tag)  # checked when the settings were read
    tags.discard("")
    return tuple(sorted(tags))

