"""Give each note its tags: its section path, and the topics the deck's rules find."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from .errors import SourceError
from .parse import Question
from .settings import PATTERN_TIMEOUT, TopicRule
from .syntax import anki_tag


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
        if any(k in text for k in rule.keywords) or any(_search(rule, p, question) for p in rule.patterns):
            tags.add(rule.tag)  # checked when the settings were read
    tags.discard("")
    return tuple(sorted(tags))


def _search(rule: TopicRule, pattern, question: Question) -> bool:
    """Whether `pattern` matches the question; a pattern that takes too long is refused with its line."""
    try:
        return pattern.search(question.title, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        raise SourceError(rule.source, rule.line, (
            f"topic pattern {pattern.pattern!r} took more than {PATTERN_TIMEOUT:g} s on the question at "
            f"{question.path}:{question.line}: it backtracks too much; write it more simply"),
            "slow-pattern") from None

