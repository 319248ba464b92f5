"""Where a deck file's headings and code blocks are, as CommonMark reads the file.

GitHub, Obsidian, VS Code and Typora read Markdown by CommonMark, so the
splitter asks a CommonMark parser (pulldown-cmark, through pyromark) rather
than scanning lines by rules of its own: a heading inside a list item is a
heading (`1. ### What is …?`), a line inside a fence or an HTML block is not,
and a fence opened inside a list item ends with the item.

Three readings keep text with the text around it, as the author sees the page:
- a heading inside a block quote is part of what is quoted (often a whole
  answer copied in, with headings of its own), not of the page's structure;
- so is a heading inside `<details>` … `</details>`: an answer hidden until
  clicked;
- only ATX headings (`## Title`) make questions and sections: an underlined
  (setext) heading stays in the text it sits in, as deckgen always read it.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from typing import NamedTuple, Protocol

import msgspec
import pyromark

from ..hashing import digest
from .syntax import LIST_MARKER, heading

MAX_NESTING = 32
"""List items a question heading may sit in; one nested deeper stays in the text around it (so that no file can
make the work on each heading grow with its depth)."""
ITEM_MARKER_RE = re.compile(rf" {{0,3}}(?:{LIST_MARKER})")  # an item may be empty on its marker's line
# CommonMark ends a <script>, <style>, <pre> or <textarea> block at its end tag in any case; pulldown-cmark (0.13)
# only at a lower-case one. The parser is given the end tags in lower case: same length, same offsets.
RAW_END_TAG_RE = re.compile(r"</(?:script|style|pre|textarea)>", re.IGNORECASE)
FENCE_MARKER_RE = re.compile(r"`{3,}|~{3,}")
# The HTML containers whose headings stay with the text around them: an answer folded away until clicked.
FOLDING_TAG_RE = re.compile(r"<(/?)details(?=[\s>/])", re.IGNORECASE)  # where a tag starts is enough


class Container(NamedTuple):
    """A list item that holds a heading, and how far its lines are indented."""

    indent: int
    first_line: int
    """Index of its first line (a list item's, with its marker)."""
    last_line: int
    """Index of its last line."""

    def strip(self, line: str, index: int) -> str:
        """Line `index` without this item's marker or indent (a tab reaching the next multiple of 4 columns): a
        lazy line, less indented, as it is."""
        if index == self.first_line:
            marker = ITEM_MARKER_RE.match(line)
            width = marker.end() if marker else 0
            return drop_columns(line[width:], self.indent - width, width)
        return drop_columns(line, self.indent)


def drop_columns(text: str, columns: int, column: int = 0) -> str:
    """`text` (starting at `column` of its line) without up to `columns` columns of its leading spaces and tabs;
    a tab that reaches past them leaves its remaining columns as spaces."""
    end, index = column + columns, 0
    while index < len(text) and column < end and text[index] in " \t":
        column = column + 1 if text[index] == " " else (column // 4 + 1) * 4
        index += 1
    return " " * max(column - end, 0) + text[index:]


def leading_columns(text: str, column: int = 0) -> int:
    """How many columns the spaces and tabs at the start of `text` (starting at `column`) take."""
    start = column
    for character in text:
        if character not in " \t":
            break
        column = column + 1 if character == " " else (column // 4 + 1) * 4
    return column - start


class Heading(NamedTuple):
    """An ATX heading as CommonMark finds it."""

    line: int
    """Index of its line."""
    level: int
    text: str | None
    """Its text as `syntax.heading` reads it (None for marks alone)."""
    containers: tuple[Container, ...]
    """The list items it sits in, outermost first."""


class UnclosedFence(NamedTuple):
    """A fenced code block that ends without its closing fence: at the end of its list item, quote or file."""

    opening: int
    """Index of its opening line."""
    last_line: int
    """Index of its last line."""
    at_end: bool
    """It runs to the end of the file (no container closed it)."""
    closing: str
    """The line that would close it, indented as its opening line (and with its quote's `>`)."""


class Structure(NamedTuple):
    headings: tuple[Heading, ...]
    unclosed: tuple[UnclosedFence, ...]


STRUCTURE_FORMAT = 1
"""Of the structures kept in a cache: a new one when `structure` reads files otherwise."""


class StructureCache(Protocol):
    """Where structures are kept between builds (the render cache: see `render.cache`)."""

    def get(self, key: str) -> str | tuple[str, str] | None: ...

    def put(self, key: str, entry: str) -> None: ...


def cached_structure(text: str, lines: list[str], cache: StructureCache | None) -> Structure:
    """`structure(text, lines)`, from `cache` when it holds this very text's: a rebuild parses only the files
    that changed."""
    if cache is None:
        return structure(text, lines)
    key = digest("structure", "format", str(STRUCTURE_FORMAT), text)  # four parts: no render cache key
    entry = cache.get(key)
    if type(entry) is str:
        try:
            return msgspec.json.decode(entry, type=Structure)
        except msgspec.MsgspecError:
            pass  # not one this code wrote: parsed again
    found = structure(text, lines)
    cache.put(key, msgspec.json.encode(found).decode())
    return found


def strip_containers(line: str, containers: tuple[Container, ...], index: int) -> str:
    """Line `index` of a file without the prefixes of the containers in `containers` that still hold it."""
    for container in containers:
        if index > container.last_line:
            break
        line = container.strip(line, index)
    return line


def structure(text: str, lines: list[str]) -> Structure:
    """The ATX headings of `text` (split into `lines`) and its unclosed fences, read as CommonMark reads them."""
    # The byte offset of each line's start: the lengths (in UTF-8) of the lines before it, and their line ends.
    lengths = map(len, lines if text.isascii() else text.encode().split(b"\n"))
    starts = list(map(operator.add, itertools.accumulate(lengths, initial=0), itertools.count()))
    size = starts[-1] - 1  # of the whole text, in bytes

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset) - 1

    headings: list[tuple[int, int, int, tuple[int, ...] | None]] = []  # byte offsets, level, its items' starts
    unclosed: list[UnclosedFence] = []
    folds: list[tuple[int, bool]] = []  # byte offset of each <details> (True) and </details> (False)
    items: list[int] = []  # start offsets of the list items now open
    quotes = 0  # block quotes now open
    ends: dict[int, int] = {}  # start offset of a list item → its end offset
    parsed = RAW_END_TAG_RE.sub(lambda m: m.group().lower(), text) if "</" in text else text
    for event, span in pyromark.events_with_range(parsed):
        if "Start" in event:
            kind = event["Start"]
            if kind == "Item":
                items.append(span["start"])
                ends[span["start"]] = span["end"]
            elif type(kind) is dict:
                if "BlockQuote" in kind:
                    quotes += 1
                elif "Heading" in kind and not quotes:
                    headings.append((span["start"], span["end"], int(kind["Heading"]["level"][1]),
                                     tuple(items) if len(items) <= MAX_NESTING else None))
                elif "CodeBlock" in kind and type(kind["CodeBlock"]) is dict:
                    fence = _unclosed(lines, line_of, span["start"], span["end"])
                    if fence is not None:
                        at_end = span["end"] >= size and not items and not quotes
                        # Closed at the end of the file by its marker alone, as deckgen always closed it.
                        unclosed.append(UnclosedFence(fence[0], len(lines) - 1, True, fence[2].lstrip(" \t"))
                                        if at_end else UnclosedFence(fence[0], fence[1], False, fence[2]))
        elif "End" in event:
            kind = event["End"]
            if kind == "Item":
                items.pop()
            elif type(kind) is dict and "BlockQuote" in kind:
                quotes -= 1
        elif "Html" in event or "InlineHtml" in event:
            html = event.get("Html") or event.get("InlineHtml")
            if "<" in html and ("details" in html or "DETAILS" in html.upper()):
                folds.extend((span["start"] + m.start(), not m.group(1)) for m in FOLDING_TAG_RE.finditer(html))

    folded, fold = _folded_spans(folds), 0
    known: dict[int, Container] = {}  # each list item's, worked out once
    found = []
    for offset, end, level, opened in headings:  # in the order of the text, as the folds are
        while fold < len(folded) and folded[fold][1] <= offset:
            fold += 1
        if fold < len(folded) and folded[fold][0] < offset:
            continue
        index = line_of(offset)
        if line_of(max(offset, end - 1)) > index or opened is None:
            continue  # text underlined (setext), whose heading spans two lines; or no question an author nests
        containers = _containers(opened, ends, lines, line_of, known)
        atx = heading(strip_containers(lines[index], containers, index).lstrip(" \t"))
        found.append(Heading(index, level, atx[1] if atx else None, containers))
    return Structure(tuple(found), tuple(unclosed))


def _containers(items: tuple[int, ...], ends: dict[int, int], lines: list[str], line_of,
                known: dict[int, Container]) -> tuple[Container, ...]:
    """The list items starting at these offsets, with the indent (in columns) of their content."""
    found: list[Container] = []
    for start in items:
        if start not in known:
            first, last = line_of(start), line_of(max(start, ends[start] - 1))
            line = strip_containers(lines[first], tuple(found), first)
            marker = ITEM_MARKER_RE.match(line)
            width = marker.end() if marker else 0
            after = leading_columns(line[width:], width) if line[width:].strip() else 1
            # CommonMark: the content starts 1 to 4 columns after the marker; 5 or more mean indented code after 1.
            known[start] = Container(width + (after if 1 <= after <= 4 else 1), first, last)
        found.append(known[start])
    return tuple(found)


def _unclosed(lines: list[str], line_of, start: int, end: int) -> tuple[int, int, str] | None:
    """(opening, last line, closing line) of the fenced code block at bytes start:end, if it has no closing
    fence."""
    opening, last = line_of(start), line_of(max(start, end - 1))
    fence = FENCE_MARKER_RE.search(lines[opening])
    if fence is None:
        return None
    if last > opening:  # pulldown-cmark ends the range with the closing fence, or with the last line of code
        closing = FENCE_MARKER_RE.search(lines[last])
        # A closing fence indented 4 or more columns past the opening one is code, not the fence's end.
        if closing and closing.group()[0] == fence.group()[0] and len(closing.group()) >= len(fence.group()) \
                and not lines[last][closing.end():].strip() and not lines[last][:closing.start()].strip(" \t>") \
                and leading_columns(lines[last][:closing.start()]) < leading_columns(lines[opening][:fence.start()]
                                                                                   .replace(">", " ")) + 4:
            return None
    prefix = "".join(c if c in " \t>" else " " for c in lines[opening][:fence.start()])  # list markers as spaces
    return opening, last, prefix + fence.group()


def _folded_spans(folds: list[tuple[int, bool]]) -> list[tuple[int, int]]:
    """The (start, end) offsets of each outermost `<details>` … `</details>`, in order, each closing tag taken
    with the nearest opening one before it; one never closed folds nothing (the rest of the file would vanish
    into it)."""
    spans, opened = [], []
    for offset, opening in folds:
        if opening:
            opened.append(offset)
        elif opened:
            start = opened.pop()
            while spans and spans[-1][0] > start:  # the folds inside this one
                spans.pop()
            spans.append((start, offset))
    return spans
