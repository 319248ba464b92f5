"""What several stages must agree on about Markdown, defined once: math spans and code spans.

Every scan here takes time linear in the text, whatever the text: notes from
anywhere must not be able to stall a build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

# A single $ opens before a non-space and closes after one, not before a digit: "$5 and $10" is text.
SINGLE_DOLLAR_RE = re.compile(r"(?<![\\$])\$([^\s$`](?:[^$\n`]*?[^\s$`\\])?)\$(?!\d)")
_CANDIDATE_RE = re.compile(r"`+|\$|\\[\[(]")
_CLOSERS = {"$$": re.compile(r"(?<!\\)\$\$"), "\\[": re.compile(r"(?<!\\)\\\]"), "\\(": re.compile(r"(?<!\\)\\\)")}
LONE_DELIMITER_RE = re.compile(r"(?<!\\)\$\$|(?<!\\)\\[()\[\]]")


class Span(NamedTuple):
    """A code span or a piece of math: where it is in the text, and what it holds."""

    kind: str
    """"code", or the math's opening delimiter: "$", "$$", "\\(" or "\\["."""
    start: int
    end: int
    inner_start: int
    inner_end: int

    @property
    def display(self) -> bool:
        """Math shown on its own line ($$…$$, \\[…\\]) rather than in the text."""
        return self.kind in ("$$", "\\[")


def math_and_code_spans(text: str) -> Iterator[Span]:
    """Code spans and math in `text`, left to right, none inside another.

    Code spans come first, so that math-like text inside them is left alone.
    The rules are those of a regular expression tried at each position in
    turn (code span, `$$…$$`, `\\[…\\]`, `\\(…\\)`, `$…$`), but each closing
    delimiter is looked for only once: a delimiter with no partner after it
    costs nothing for the next one of its kind.
    """
    closers: dict[object, int | None] = {}  # kind -> the next closer found, or None when there is none

    def closer(kind, pattern: re.Pattern, start: int) -> re.Match | None:
        """The first closer of `kind` at or after `start` (which only grows), searched for once."""
        known = closers.get(kind, -1)
        if known is None:
            return None
        match = pattern.search(text, known if known >= start else start)
        closers[kind] = match.start() if match else None
        return match

    position = 0
    for candidate in _CANDIDATE_RE.finditer(text):
        start = candidate.start()
        if start < position:
            continue
        token = candidate.group()
        if token[0] == "`":
            if start and text[start - 1] == "`":
                continue
            ticks = len(token)
            found = closer(("`", ticks), _tick_run(ticks), candidate.end() + 1)
            if found:
                position = found.end()
                yield Span("code", start, position, candidate.end(), found.start())
            continue
        span = _delimited(text, start, closer) or _single_dollar(text, start)
        if span:
            position = span.end
            yield span


def _delimited(text: str, start: int, closer) -> Span | None:
    """`$$…$$`, `\\[…\\]` or `\\(…\\)` opening at `start` (not after a backslash), with at least one character."""
    opening = text[start:start + 2]
    if opening not in _CLOSERS or (start and text[start - 1] == "\\"):
        return None
    found = closer(opening, _CLOSERS[opening], start + 3)
    return Span(opening, start, found.end(), start + 2, found.start()) if found else None


def _single_dollar(text: str, start: int) -> Span | None:
    match = SINGLE_DOLLAR_RE.match(text, start)
    return Span("$", start, match.end(), match.start(1), match.end(1)) if match else None


_TICK_RUNS: dict[int, re.Pattern] = {}


def _tick_run(ticks: int) -> re.Pattern:
    """A run of exactly `ticks` backticks."""
    if ticks not in _TICK_RUNS:
        _TICK_RUNS[ticks] = re.compile(rf"(?<!`)`{{{ticks}}}(?!`)")
    return _TICK_RUNS[ticks]


def lone_math_delimiters(text: str) -> list[re.Match]:
    """Math delimiters with no partner, outside code spans and complete math; a lone `$` is money, not math."""
    lone, start = [], 0
    for span in math_and_code_spans(text):
        lone.extend(LONE_DELIMITER_RE.finditer(text, start, span.start))
        start = span.end
    lone.extend(LONE_DELIMITER_RE.finditer(text, start))
    return lone
