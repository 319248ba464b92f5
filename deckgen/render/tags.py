"""Give each note its tags: its section path, the topics the deck's rules find, its file's front matter tags,
and the `#tags` written in its question and answer."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable

from ..errors import SourceError
from ..names import anki_tag, path_tag
from ..parse.questions import Question
from ..parse.syntax import scan
from ..sources.settings import PATTERN_TIMEOUT, TopicRule

# A tag as Obsidian writes one: `#` after a space or the line's start (not C#, a URL's #part, {#id}, &#38;),
# then letters, digits, `_`, `-` and `/`, at least one of them no digit.
INLINE_TAG_RE = re.compile(r"(?<![\w/&#{(\[\\])#([\w\-/]*[^\W\d][\w\-/]*)")
HEX_COLOUR_RE = re.compile(r"[0-9a-fA-F]{3}(?:[0-9a-fA-F]{1}|[0-9a-fA-F]{3}|[0-9a-fA-F]{5})?")
NOT_TAGS = frozenset("include define pragma ifdef ifndef endif elif else if undef import error warning region "
                     "endregion".split())  # C's preprocessor and C#'s directives, which prose quotes


@functools.lru_cache(maxsize=4096)
def section_tag(sections: tuple[str, ...]) -> str:
    """The hierarchical tag of a section path (computed once per section)."""
    return anki_tag(sections)


def syntax_tags(question: Question, file_tags: Iterable[str], inline: bool) -> tuple[str, ...]:
    """The tags a note gets from how its text is written: its file's front matter tags, and (`inline`) the
    `#tags` in its question and answer, sorted."""
    tags = set(file_tags)
    if inline and ("#" in question.title or "#" in question.answer):
        tags.update(inline_tags(question.title))
        tags.update(inline_tags(question.answer))
    tags.discard("")
    return tuple(sorted(tags))


def inline_tags(markdown_text: str) -> set[str]:
    """`#tags` in Markdown, outside code, math and links' targets; `#a/b` is the tag `a::b`."""
    if INLINE_TAG_RE.search(markdown_text) is None:
        return set()  # most texts: no `#` that could start a tag (`# comment` in code starts none)
    text, spans = scan(markdown_text)
    pieces, start = [], 0
    for span in spans:  # code spans and math blanked out
        pieces += [text[start:span.start], " "]
        start = span.end
    text = "".join(pieces) + text[start:]
    # Link targets, tags, URLs; each piece scanned once (a `<` no `>` follows is not read on to the end again).
    text = re.sub(r"\]\([^()\[\]]*+\)|<[^<>]*+>|\b[a-z][a-z0-9+.-]{0,31}+://\S++", " ", text)
    found = set()
    for match in INLINE_TAG_RE.finditer(text):
        name = match.group(1).strip("/")
        if not name or name.casefold() in NOT_TAGS or HEX_COLOUR_RE.fullmatch(name):
            continue
        tag = path_tag(name)
        if tag:
            found.add(tag)
    return found


class PatternClock:
    """The time topic patterns may take in one build: PATTERN_TIMEOUT on any one question, and in all 1 s plus
    1 ms for each question a pattern is tried on, so that many patterns each just under the limit cannot
    stall a build either (an ordinary pattern takes microseconds on a question)."""

    BASE, PER_SEARCH = 1.0, 0.001

    def __init__(self) -> None:
        self.allowed, self.spent = self.BASE, 0.0


def note_tags(question: Question, rules: Iterable[TopicRule], clock: PatternClock | None = None) -> tuple[str, ...]:
    """The section path as one hierarchical tag, plus every matching topic, sorted."""
    tags = set()
    if question.sections:
        tags.add(section_tag(question.sections))
    text = question.title.casefold()
    clock = clock or PatternClock()
    for rule in rules:
        if any(k in text for k in rule.keywords) or any(_search(rule, p, question, clock) for p in rule.patterns):
            tags.add(rule.tag)  # checked when the settings were read
    tags.discard("")
    return tuple(sorted(tags))


def _search(rule: TopicRule, pattern, question: Question, clock: PatternClock) -> bool:
    """Whether `pattern` matches the question; a pattern that takes too long is refused with its line."""
    clock.allowed += clock.PER_SEARCH
    timeout = min(PATTERN_TIMEOUT, clock.allowed - clock.spent)
    start = time.perf_counter()
    try:
        return pattern.search(question.title, timeout=max(timeout, 1e-6)) is not None
    except TimeoutError:
        too_long = (f"took more than {PATTERN_TIMEOUT:g} s on the question" if timeout >= PATTERN_TIMEOUT else
                    f"used up the {clock.allowed:.1f} s the topic patterns have in all for this build, on the "
                    "question")
        raise SourceError(rule.source, rule.line, (
            f"topic pattern {pattern.pattern!r} {too_long} at {question.path}:{question.line}: it backtracks too "
            "much; write it more simply"), "slow-pattern") from None
    finally:
        clock.spent += time.perf_counter() - start

