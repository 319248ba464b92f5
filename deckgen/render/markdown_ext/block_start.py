"""Lists, tables and code blocks start on the line where the author started them.

A list, a table or a code block that starts right after a line of text starts
a new block, as in CommonMark, instead of being glued into the paragraph; a
heading right after a table ends the table, as in GitHub's tables; inside a
block quote or a callout too (a list after a fence in a callout is a list);
unindented text right after a list is a paragraph of its own, as note-takers
mean it (CommonMark would glue it to the last item).
"""

from __future__ import annotations

import re

import xml.etree.ElementTree as etree

from markdown import Extension
from markdown.blockprocessors import BlockQuoteProcessor
from markdown.preprocessors import Preprocessor
from markdown.util import HTML_PLACEHOLDER

from ...parse.syntax import LIST_ITEM_RE, heading

TABLE_ROW_RE = re.compile(r"^ {0,3}\|")
PLACEHOLDER_LINE_RE = re.compile(re.escape(HTML_PLACEHOLDER).replace("%s", r"(\d+)") + r"$")


class BlockStartPreprocessor(Preprocessor):
    """Put a blank line where a list, table or stashed block starts right after a text line."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_list = False  # the current block (since the last blank line) is a list
        previous = ""
        for line in lines:  # fenced code is stashed already (SuperFences runs first)
            item = LIST_ITEM_RE.match(line)
            if not line.strip():
                in_list = False
            elif item and not in_list and previous.strip():
                out.append("")
            elif item and in_list and _switches_list_kind(previous, item):
                out.append("")
            elif in_list and not item and not line[:1].isspace() and previous.strip():
                out.append("")  # unindented text after a list is a new paragraph, not part of the last item
                in_list = False
            elif TABLE_ROW_RE.match(line) and not TABLE_ROW_RE.match(previous) and not in_list and previous.strip():
                out.append("")
            elif "|" in previous and not in_list and "#" in line[:4] and heading(line) is not None:
                out.append("")  # a table's rows end at a heading (a paragraph's lines do too, either way)
            elif self._is_block_placeholder(line) and previous.strip():
                out.append("")
            elif self._is_block_placeholder(previous) and line.strip():
                out.append("")
            in_list = in_list or bool(item)
            out.append(line)
            previous = line
        return out

    def _is_block_placeholder(self, line: str) -> bool:
        match = PLACEHOLDER_LINE_RE.match(line.strip())
        if not match:
            return False
        stashed = self.md.htmlStash.rawHtmlBlocks[int(match.group(1))]
        tag = re.match(r"\s*<([A-Za-z][A-Za-z0-9]*)", stashed) if isinstance(stashed, str) else None
        return tag is not None and self.md.is_block_level(tag.group(1).lower())


def _switches_list_kind(previous: str, item: re.Match) -> bool:
    """A bullet right after a numbered item at the same indent (or the reverse) starts a new list."""
    before = LIST_ITEM_RE.match(previous)
    if not before or len(before.group("indent")) != len(item.group("indent")):
        return False
    return before.group("marker")[0].isdigit() != item.group("marker")[0].isdigit()


def block_starts(md, text: str) -> str:
    """A block quote's text (its `>` taken off) with its blocks started as the page's are: the preprocessors that
    see the page's lines never saw these."""
    lines = text.split("\n")
    for name in ("deckgen_block_start", "deckgen_list_indent"):
        if name in md.preprocessors:
            lines = md.preprocessors[name].run(lines)
    return "\n".join(lines)


class QuoteProcessor(BlockQuoteProcessor):
    """Python-Markdown's block quotes, their text read with `block_starts`."""

    def run(self, parent, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = self.RE.search(block)
        if match:
            self.parser.parseBlocks(parent, [block[:match.start()]])
            block = "\n".join(self.clean(line) for line in block[match.start():].split("\n"))
        sibling = self.lastChild(parent)
        quote = sibling if sibling is not None and sibling.tag == "blockquote" else etree.SubElement(parent,
                                                                                                      "blockquote")
        self.parser.state.set("blockquote")
        self.parser.parseChunk(quote, block_starts(self.parser.md, block))
        self.parser.state.reset()


class BlockStartExtension(Extension):
    """Start lists, tables and code blocks on the line where the author started them."""

    def extendMarkdown(self, md) -> None:
        md.preprocessors.register(BlockStartPreprocessor(md), "deckgen_block_start", 14)
        md.parser.blockprocessors.register(QuoteProcessor(md.parser), "quote", 20)
