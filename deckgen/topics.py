"""Give each note its tags: its section path, and the topics the deck's rules find."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .parse import Question
from .sources import TopicRule

TAG_SEPARATOR = "::"


def note_tags(question: Question, rules: Iterable[TopicRule]) -> tuple[str, ...]:
    """The section path as one hierarchical tag, plus every matching topic, sorted."""
    tags = set()
    if question.sections:
        tags.add(anki_tag(question.sections))
    text = question.title.casefold()
    for rule in rules:
        if any(k in text for k in rule.keywords) or any(p.search(question.title) for p in rule.patterns):
            tags.add(anki_tag(rule.tag.split(TAG_SEPARATOR)))
    tags.discard("")
    return tuple(sorted(tags))


def anki_tag(parts: Iterable[str]) -> str:
    """A valid Anki tag from path parts: no spaces or quotes, no empty `::` levels."""
    cleaned = (re.sub(r"[\s\"]+", "_", part.replace(TAG_SEPARATOR, "_").strip()).strip("_:") for part in parts)
    return TAG_SEPARATOR.join(part for part in cleaned if part)
