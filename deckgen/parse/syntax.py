"""What several stages must agree on about Markdown, defined once.

Headings and their explicit ids, code fences, math and code spans, cloze
deletions, and the key under which two question texts are the same question.
Every scan here takes time linear in the text, whatever the text: notes from
anywhere must not be able to stall a build.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

HEADING_START_RE = re.compile(r" {0,3}(#{1,6})(?=[ \t]|$)")
# A question heading may end in attributes: {#my-id}, {new}, {was="Old question text"} or {was=GUID}, in any
# combination, as in {#my-id was="Old question text"}; they are not shown on the card.
# Possessive throughout: `{#anew#anew…}` could otherwise be read as ids or as `new`s in exponentially many ways.
_ATTRIBUTE = r'#[A-Za-z0-9][A-Za-z0-9_.:-]*+|new(?![A-Za-z0-9_.:-])|was=(?:"(?:[^"\\\n]|\\.)*+"|[A-Za-z0-9_.:-]++)'
_BLOCK_RE = re.compile(rf"\{{\s*+((?:(?:{_ATTRIBUTE})\s*+)++)\}}")  # one block of them
# A block that reads like attributes, yet is none: said, and kept off the card.
_BLOCK_LIKE_RE = re.compile(r"\{\s*+(?:#|was\s*+=)[^{}\n]*+\}")
BRACES_TRIED = 8  # where a block's `{` may be, from the last one back (a was="…" may hold braces)
ATTRIBUTE_RE = re.compile(r'#(?P<id>[A-Za-z0-9][A-Za-z0-9_.:-]*)|(?P<new>new)|was=(?:"(?P<text>(?:[^"\\\n]|\\.)*)"'
                          r'|(?P<guid>[A-Za-z0-9_.:-]+))')
LIST_MARKER = r"[-*+]|\d{1,9}[.)]"  # a bullet, or a number and its dot or parenthesis
LIST_ITEM_RE = re.compile(rf"^(?P<indent> *)(?P<marker>{LIST_MARKER})[ \t]+\S")
FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})")
# {{c1::text}}, {{c2::text::hint}}, and since Anki 26.05 {{c1,2::text}}: one deletion on cards 1 and 2.
CLOZE_RE = re.compile(r"\{\{c([0-9,]++)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
"""A cloze deletion (when `cloze_numbers` finds a number in it); find them with `cloze_matches`, which is linear
where this pattern alone is not. See `anki_cloze` for how Anki itself reads them (nested, dropped when open)."""


def cloze_matches(text: str) -> Iterator[re.Match]:
    """CLOZE_RE's matches in `text`, as `finditer` gives them, in linear time.

    Run over a whole text, the pattern tries every `{{c` against all the text after it (and its hint part
    again at every `::`): cubic on a text of many `{{c1::` and no `}}`. A deletion always ends at the first
    `}}` after its `{{c`, so each is tried against the text up to there, and only when there is one.
    """
    pos, close = 0, -1
    while (start := text.find("{{c", pos)) >= 0:
        if close < start + 3:
            close = text.find("}}", start + 3)
            if close < 0:
                return  # no deletion ends after this point
        match = CLOZE_RE.match(text, start, close + 2)
        if match and cloze_numbers(match):
            yield match
            pos = match.end()
        else:
            pos = start + 1


# A single $ opens before a non-space and closes after one, not before a digit: "$5 and $10" is text.
SINGLE_DOLLAR_RE = re.compile(r"(?<![\\$])\$([^\s$`](?:[^$\n`]*?[^\s$`\\])?)\$(?!\d)")
_CANDIDATE_RE = re.compile(r"`+|\$|\\[\[(]")
_CLOSERS = {"$$": re.compile(r"(?<!\\)\$\$"), "\\[": re.compile(r"(?<!\\)\\\]"), "\\(": re.compile(r"(?<!\\)\\\)")}
LONE_DELIMITER_RE = re.compile(r"(?<!\\)\$\$|(?<!\\)\\[()\[\]]")
# A lone `\[` whose `]` closes it on its line (`jmp \[var_mem]`) is an escaped bracket, as CommonMark reads it and
# the card shows it, not math left open; so for `\(` and `)`, and a closer whose opener comes before it.
ESCAPED_PAIRS = {"\\[": "]", "\\(": ")", "\\]": "[", "\\)": "("}
# Obsidian's reading view shows neither a `%%comment%%` nor a `^block-id` at the end of a line.
BLOCK_ID_RE = re.compile(r"(?m)(?:[ \t]+|^)\^[A-Za-z0-9-]+[ \t]*$")



class HeadingAttributes(NamedTuple):
    """What a question heading's trailing `{…}` says about its note."""

    explicit_id: str | None = None
    """`{#id}`: the author's id for the note, kept whatever the wording."""
    was_text: str | None = None
    """`{was="…"}`: the question text of the recorded note this question continues."""
    was_guid: str | None = None
    """`{was=GUID}`: the GUID of the note this question continues."""
    new: bool = False
    """`{new}`: a new note, never taken for another one reworded or moved."""
    earlier_title: str | None = None
    """With more than one block, the question's text as deckgen up to 0.3.0 read it (only the last block taken
    off), which the record may hold it under."""
    problems: tuple[str, ...] = ()
    """What in the blocks deckgen could not read (see `heading_attributes`)."""
    continues: str | None = None
    """Not written by the author: the GUID of the recorded note this question is, found on the first build that
    reads the file as CommonMark does (see `parse.legacy`), where its answer or sections changed with that."""


def heading(line: str) -> tuple[int, str | None] | None:
    """(level, text) of an ATX heading line (text None for `###` alone), or None for another line.

    The text runs from the first character after the marks' spaces to its end, less a closing run of `#`
    after a space and the spaces around it; read without a pattern that could backtrack over a long line.
    """
    start = HEADING_START_RE.match(line)
    if start is None:
        return None
    rest = line[start.end():]
    if not rest.strip(" \t"):
        return len(start.group(1)), "" if rest else None
    text = rest.lstrip(" \t").rstrip(" \t")
    closed = text.rstrip("#")
    if closed != text and closed[-1:] in (" ", "\t"):
        text = closed.rstrip(" \t")
    return len(start.group(1)), text


def heading_attributes(title: str) -> tuple[str, HeadingAttributes]:
    """The heading's text without its attribute blocks, and what they say (all None when there are none).

    Every block at the end is read, in any order (`{#id} {was="…"}`, or one block with both), from the last
    one back, each once (a heading of many blocks costs its length). A block that reads like attributes but
    is not deckgen's syntax (`{#two words}`, `{was=}`) is taken off the text too, and said in `problems`, as
    is an attribute given twice with two values (the last written wins); braces of any other kind
    (`What does {} make?`) are question text.
    """
    if "{" not in title:
        return title, HeadingAttributes()
    rest, blocks, problems, earlier = title.rstrip(), [], [], None
    while rest.endswith("}"):
        start, kind = len(rest), None
        for _ in range(BRACES_TRIED):  # the block's `{`: the last one, or one before where was="…" holds braces
            start = rest.rfind("{", 0, start)
            if start < 0:
                break
            match = _BLOCK_RE.fullmatch(rest, start) or _BLOCK_LIKE_RE.fullmatch(rest, start)
            if match is not None:
                kind = match.re
                break
        if kind is None:
            break
        if kind is _BLOCK_RE:
            blocks.append(match.group(1))
        else:
            problems.append(f"{match.group(0)} is not an attribute block deckgen reads ({{#id}}, "
                            "{was=\"question\"}, {was=GUID} or {new}): taken off the question, and ignored")
        if earlier is None:  # deckgen up to 0.3.0 took off the last block alone, when it was attributes
            earlier = rest[:start].strip() if kind is _BLOCK_RE else title
        rest = rest[:start].rstrip()
    found: dict[str, object] = {}
    for item in ATTRIBUTE_RE.finditer(" ".join(reversed(blocks))):
        if item.group("id"):
            name, value = "explicit_id", item.group("id")
        elif item.group("new"):
            name, value = "new", True
        elif item.group("text") is not None:
            name, value = "was_text", re.sub(r"\\(.)", r"\1", item.group("text"))
        else:
            name, value = "was_guid", item.group("guid")
        if name in found and found[name] != value:
            problems.append(f"{item.group(0)}: the heading already says otherwise; the last one written counts")
        found[name] = value
    if earlier is not None and earlier != rest:
        found["earlier_title"] = earlier
    return rest, HeadingAttributes(**found, problems=tuple(problems))


def question_key(title: str) -> str:
    """The form under which two question titles count as the same question."""
    return " ".join(title.casefold().split())


def cloze_numbers(match: re.Match) -> tuple[int, ...]:
    """The card numbers of one cloze deletion (`{{c1,2::…}}` is on cards 1 and 2)."""
    return deletion_numbers(match.group(1))


def deletion_numbers(written: str) -> tuple[int, ...]:
    """The numbers of `{{c1,2::`, as Anki parses them: each an unsigned 16-bit number (any other, left out), in
    order, once each; none, and Anki reads no deletion there. (Not `int()` alone: Python refuses a number of
    more than 4,300 digits, and reads other scripts' digits.)"""
    numbers = set()
    for part in written.split(","):
        digits = part.lstrip("0")
        if part and part.isascii() and part.isdigit() and len(digits) <= 5 and int(digits or "0") <= 65535:
            numbers.add(int(digits or "0"))
    return tuple(sorted(numbers))


class ClozeMove(NamedTuple):
    """A deletion's text that left a card number it had: that card now asks for something else."""

    text: str
    was: tuple[int, ...]
    now: tuple[int, ...]
    offset: int
    """Where it is now in the new text."""


def cloze_changes(old: str, new: str) -> tuple[list[ClozeMove], list[tuple[int, str]]]:
    """Between two versions of a cloze text: the deletions whose text left a number it was on (and is on another),
    and the numbers that no deletion has any more (their cards are left blank), each with a text it had."""
    def deletions(text: str) -> dict[str, tuple[set[int], int]]:
        found: dict[str, tuple[set[int], int]] = {}
        for match in cloze_matches(text):
            numbers, _ = found.setdefault(" ".join(match.group(2).split()), (set(), match.start()))
            numbers.update(cloze_numbers(match))
        return found

    before, after = deletions(old), deletions(new)
    moves = [ClozeMove(text, tuple(sorted(before[text][0])), tuple(sorted(numbers)), offset)
             for text, (numbers, offset) in after.items() if text in before and before[text][0] - numbers]
    had = {number: text for text, (numbers, _) in reversed(before.items()) for number in numbers}
    numbers_after = set().union(*(numbers for numbers, _ in after.values()))
    return sorted(moves, key=lambda move: move.offset), sorted((n, had[n]) for n in had if n not in numbers_after)


class Fences(NamedTuple):
    """Where the fenced code blocks of some lines are."""

    lines: frozenset[int]
    """Indices of the lines inside fenced code blocks, their fence lines included."""
    unclosed: int | None
    """Index of the opening line of a fence never closed, if any (it runs to the end)."""


def blank_fenced(text: str) -> str:
    """`text` with the lines of fenced code blank, each line where it was."""
    if "```" not in text and "~~~" not in text:
        return text
    lines = text.split("\n")
    fenced = fences(lines).lines
    return "\n".join("" if index in fenced else line for index, line in enumerate(lines))


def fences(lines: list[str]) -> Fences:
    """The fenced code blocks of `lines`, in one pass.

    Only lines with a backtick or tilde can open or close a fence, so only
    those are looked at closely.
    """
    fenced: set[int] = set()
    opener, opened_at = None, None
    for index in [i for i, line in enumerate(lines) if "`" in line or "~" in line]:
        match = FENCE_RE.match(lines[index])
        if not match:
            continue
        if opener is None:
            opener, opened_at = match.group(1), index
        elif match.group(1)[0] == opener[0] and len(match.group(1)) >= len(opener) \
                and not lines[index].strip()[len(match.group(1)):].strip():
            fenced.update(range(opened_at, index + 1))
            opener = None
    if opener is not None:
        fenced.update(range(opened_at, len(lines)))
    return Fences(frozenset(fenced), opened_at if opener is not None else None)


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


class Scan(NamedTuple):
    """A text's fenced code, code spans and math, found once for every step that needs them (see `scan`)."""

    prose: str
    """The text with the lines of fenced code blank, each line where it was."""
    spans: tuple[Span, ...]
    """The code spans and math of `prose`, left to right."""


@functools.lru_cache(maxsize=4)
def scan(text: str) -> Scan:
    """`text` scanned for fenced code, code spans and math, once: the steps that read a note's answer after
    parsing (its `#tags`, its unbalanced math) ask in turn, and get the same scan."""
    prose = blank_fenced(text)
    return Scan(prose, tuple(math_and_code_spans(prose)))


def outside_spans(matches: Iterable[re.Match], spans: Sequence[Span]) -> Iterator[re.Match]:
    """The matches (left to right) that start in none of `spans` (code spans and math, left to right)."""
    index = 0
    for match in matches:
        while index < len(spans) and spans[index].end <= match.start():
            index += 1
        if not (index < len(spans) and spans[index].start <= match.start()):
            yield match


def lone_math_delimiters(scanned: Scan) -> Iterator[re.Match]:
    """Math delimiters with no partner, outside code spans and complete math; a lone `$` is money, not math, and
    an escaped bracket (see ESCAPED_PAIRS) a bracket. Each line's brackets are found once: linear in the text."""
    text, line_end, last, first = scanned.prose, -1, {}, {}
    for match in outside_spans(LONE_DELIMITER_RE.finditer(text), scanned.spans):
        start, delimiter = match.start(), match.group(0)
        if start > line_end:  # a new line: where its brackets are
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", start)
            line_end = len(text) if line_end == -1 else line_end
            last = {closer: text.rfind(closer, line_start, line_end) for closer in "])"}
            first = {opener: text.find(opener, line_start, line_end) for opener in "[("}
        partner = ESCAPED_PAIRS.get(delimiter)
        if partner is None or not (last[partner] >= match.end() if delimiter[1] in "[("
                                   else -1 < first[partner] < start):
            yield match


def may_hide(text: str) -> bool:
    """Whether `text` may hold what Obsidian's reading view hides (a `%%comment%%`, a `^block-id`)."""
    return "%%" in text or ("^" in text and BLOCK_ID_RE.search(text) is not None)
