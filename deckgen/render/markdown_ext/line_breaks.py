"""Every line of text stays its own line on the card: each line end in text is a `<br>`, in time linear in the text.

Python-Markdown's `nl2br` does the same with an inline pattern, which copies
the whole rest of the paragraph at each line end it replaces: a paragraph of
many lines took time in the square of its length (4.5 s for 1 MiB of wrapped
lines). This runs once the inline patterns are done, where `nl2br` would have
run last, and gives the same tree: text that inline patterns leave alone
(code, stashed HTML and math) keeps its line ends.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree

from markdown import Extension, util
from markdown.treeprocessors import Treeprocessor


class LineBreaks(Treeprocessor):
    """Split every text and tail at its line ends, with a `<br>` at each (see the module)."""

    def run(self, root) -> None:
        for parent in list(root.iter()):
            for index in range(len(parent) - 1, -1, -1):
                self._split_tail(parent, index)
            text = parent.text
            if text and "\n" in text and not isinstance(text, util.AtomicString):
                parent.text, *lines = text.split("\n")
                for offset, line in enumerate(lines):
                    parent.insert(offset, _br(line))

    @staticmethod
    def _split_tail(parent, index: int) -> None:
        tail = parent[index].tail
        if tail and "\n" in tail and not isinstance(tail, util.AtomicString):
            parent[index].tail, *lines = tail.split("\n")
            for offset, line in enumerate(lines, start=index + 1):
                parent.insert(offset, _br(line))


def _br(tail: str):
    br = etree.Element("br")
    br.tail = tail
    return br


class LineBreakExtension(Extension):
    """Line ends in text become `<br>` (see the module)."""

    def extendMarkdown(self, md) -> None:
        # After the inline patterns (20), before the tree is made pretty (10), as nl2br's results would be.
        md.treeprocessors.register(LineBreaks(md), "deckgen_line_breaks", 19)
