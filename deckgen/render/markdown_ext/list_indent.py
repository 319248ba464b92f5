"""A list nests under an item when it is indented to that item's text, as in CommonMark.

Whether by 2, 3 or 4 spaces (Python-Markdown alone wants exactly 4); a list
of another kind right after a list is a new list.
"""

from __future__ import annotations

from markdown import Extension
from markdown.blockprocessors import OListProcessor, UListProcessor
from markdown.preprocessors import Preprocessor

from ...parse.syntax import LIST_ITEM_RE


class ListIndentPreprocessor(Preprocessor):
    """Re-indent lists to Python-Markdown's four spaces a level, nesting them as CommonMark does.

    An item nests under the one above when it is indented at least to that
    item's text; the lines of an item keep their place relative to its text.
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        levels: list[tuple[int, int]] = []  # per open item: (indent of its text, shift of its lines)
        shift = 0  # shift of the lines of the item (or code block) being read
        previous = ""
        for line in lines:  # fenced code is stashed already (SuperFences runs first)
            indent = len(line) - len(line.lstrip(" "))
            item = LIST_ITEM_RE.match(line)
            if not line.strip():
                out.append(line)
            elif item and (levels or indent < 4):
                while levels and indent < levels[-1][0]:
                    levels.pop()
                marker_end = item.end("marker")
                text_indent = marker_end + len(line[marker_end:]) - len(line[marker_end:].lstrip())
                out.append(" " * (4 * len(levels)) + line[indent:])
                levels.append((text_indent, 4 * (len(levels) + 1) - text_indent))
                shift = levels[-1][1]
            elif levels and (indent >= levels[0][0] or previous.strip()):
                while len(levels) > 1 and indent < levels[-1][0]:
                    levels.pop()
                shift = levels[-1][1] if indent >= levels[-1][0] else 0  # else: a lazy continuation line
                out.append(" " * (indent + shift) + line[indent:])
            else:
                levels, shift = [], 0
                out.append(line)
            previous = line
        return out


class ListIndentExtension(Extension):
    """Nest lists by CommonMark's rule, whatever the indent width; lists of another kind are new lists."""

    def extendMarkdown(self, md) -> None:
        md.registerExtension(self)
        md.preprocessors.register(ListIndentPreprocessor(md), "deckgen_list_indent", 13)
        md.parser.blockprocessors.register(_OrderedList(md.parser), "olist", 40)
        md.parser.blockprocessors.register(_BulletList(md.parser), "ulist", 30)


class _OrderedList(OListProcessor):
    SIBLING_TAGS = ["ol"]  # a bullet list after a numbered one is a new list
    LAZY_OL = False  # keep the author's first number ("3. …" starts at 3)


class _BulletList(UListProcessor):
    SIBLING_TAGS = ["ul"]
