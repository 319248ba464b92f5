"""How deckgen up to 0.3 split a file, line by line, for the one build that moves a library to CommonMark.

The first build after the upgrade compares each recorded note's answer with
what this scanner makes of the file today: where the record holds the old
scanner's answer and the CommonMark reading gives another one, the build says
so (file:line, old and new lines) and updates exactly that note; a question
the old scanner saw that is no longer one is said too. Later builds find the
record holding the new answers and say nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

from msgspec.structs import replace

from ..errors import Diagnostic
from .questions import ParsedDeck
from .syntax import FENCE_RE, fences, heading, heading_attributes, question_key

COMMONMARK_SINCE = 5
"""The render version (`render.cache.RENDER_VERSION`) of the first release that split files as CommonMark
reads them: a package recorded with an earlier one was split by this scanner."""


class Extent(NamedTuple):
    line: int
    """The question heading's line (1-based)."""
    title: str
    first: int
    """The answer's first and last lines (1-based; last < first for no answer)."""
    last: int
    answer: str


def line_scanner_questions(text: str, level: int) -> list[Extent]:
    """The questions of `text` as deckgen up to 0.3 found them: `#` lines outside fences only."""
    lines = text.split("\n")
    fenced, open_fence = fences(lines)
    if open_fence is not None:  # it ran to the end of the file, closed there
        lines.append(FENCE_RE.match(lines[open_fence]).group(1))
    starts = [(index, found) for index, line in enumerate(lines) if "#" in line[:4] and index not in fenced
              and (found := heading(line)) is not None and found[0] <= level] + [(len(lines), (0, None))]
    found = []
    for (index, (depth, text)), (end, _) in zip(starts, starts[1:]):
        if depth != level:
            continue
        first = index + 1
        while first < end and not lines[first].strip():
            first += 1
        answer = "\n".join(lines[first:end]).rstrip()
        found.append(Extent(index + 1, heading_attributes((text or "").strip())[0], first + 1,
                            first + answer.count("\n") + (1 if answer else 0), answer))
    return found


def structure_changes(deck: ParsedDeck, recorded: Mapping[tuple[str, str], list[Any]]
                      ) -> tuple[ParsedDeck, list[Diagnostic]]:
    """What the CommonMark reading changes in `deck`'s recorded notes, said once; and `deck` with each question
    that continues one of them marked so (its answer and sections may change at once, which the matcher alone
    could take for a new question). `recorded` holds the deck's notes in the record by `question_key` and answer
    (as the last build that changed each split the file), each with its GUID."""
    now = {question.line: question for question in deck.questions}
    found, continued = [], {}
    for old in line_scanner_questions(deck.source.text, deck.settings.question_level):
        notes = recorded.get((question_key(old.title), old.answer), ())
        if len(notes) != 1:
            continue  # not a note the old reading delivered as it reads today
        new = now.get(old.line)
        if new is None or new.title != old.title:
            found.append(Diagnostic(deck.path, old.line, (
                f"no longer a question: read as GitHub and Obsidian read this file, the heading {old.title!r} "
                "sits inside <details>, a block quote, an HTML block or a list item's code, so its note is marked "
                "removed"), "warning", "structure-changed", once=True))
            continue
        attributes = new.attributes
        if not (attributes.explicit_id or attributes.was_text is not None or attributes.was_guid or attributes.new):
            continued[new.line] = replace(new, attributes=attributes._replace(continues=notes[0].guid))
        if new.answer != old.answer:
            now_lines = _lines(new.answer_line, new.answer_end if new.answer else new.answer_line - 1)
            was_lines = _lines(old.first, old.last)
            found.append(Diagnostic(deck.path, old.line, (
                f"read as GitHub and Obsidian read this file, this question's answer is now lines {now_lines} (it "
                f"was lines {was_lines})" if now_lines != was_lines else
                f"read as GitHub and Obsidian read this file, this question's answer (lines {now_lines}) changes: "
                "a list item's indent is not the answer's, a fence its item ends is closed there") + ": its note is "
                "updated", "warning", "structure-changed", once=True))
    if continued:
        deck = dataclasses.replace(deck, questions=tuple(continued.get(q.line, q) for q in deck.questions))
    return deck, found


def _lines(first: int, last: int) -> str:
    return f"{first}–{last}" if last >= first else "none"
