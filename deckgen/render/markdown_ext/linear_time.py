"""Links, images, references, raw HTML and block tests in time linear in the text, with the very same results.

Python-Markdown, and the HTML parser it uses, read on to the end of the text
from each `[` or `<` they cannot close, and some block tests read the whole
rest of a block at each line: notes from anywhere must not stall a build.
"""

from __future__ import annotations

import re

from markdown import Extension
from markdown.blockprocessors import HashHeaderProcessor
from markdown.extensions.tables import TableProcessor
from markdown.inlinepatterns import (ImageInlineProcessor, ImageReferenceInlineProcessor, LinkInlineProcessor,
                                     ReferenceInlineProcessor, ShortImageReferenceInlineProcessor,
                                     ShortReferenceInlineProcessor)
from markdown.preprocessors import Preprocessor

BRACKET_RE = re.compile(r"[\[\]]")
HIDDEN_ANGLE = "\ue000"  # a private-use character, standing in for a `<` that opens nothing


class _BracketIndex:
    """Where each `[` of an inline text closes, found in one pass over its brackets.

    Python-Markdown looks for the `]` of every `[` by reading on to the end,
    which takes minutes on a long line of unclosed brackets. Where a `[`
    closes depends only on the text after it, so the answer for a text stays
    right for every later text that ends the same way (as the text does while
    the links before it are replaced by placeholders).
    """

    def __init__(self) -> None:
        self.data, self.closing = "", {}

    def close(self, data: str, opening: int) -> int | None:
        """Index just past the `]` that closes the `[` at `opening`, or None when none does."""
        tail = len(data) - opening
        if tail > len(self.data) or not self.data.endswith(data[opening:]):
            self.data, self.closing, stack = data, {}, []
            for match in BRACKET_RE.finditer(data):
                if match.group() == "[":
                    stack.append(match.start())
                elif stack:
                    self.closing[stack.pop()] = match.end()
        shift = opening - (len(self.data) - tail)
        end = self.closing.get(opening - shift)
        return None if end is None else end + shift


class _LinearBrackets:
    """`getText` of Python-Markdown's link processors, in time linear in the text (see `_BracketIndex`)."""

    SCAN = 512  # characters looked at first for a `]` with no `[` before it: most links close soon

    def __init__(self, pattern: str, md, brackets: _BracketIndex) -> None:
        super().__init__(pattern, md)
        self.brackets = brackets

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        end = data.find("]", index, index + self.SCAN)
        if end != -1 and "[" not in data[index:end]:
            return data[index:end], end + 1, True
        if data[index - 1:index] != "[":
            return super().getText(data, index)
        end = self.brackets.close(data, index - 1)
        if end is None:
            return "", len(data), False  # unclosed: every caller then declines the match
        return data[index:end - 1], end, True

    def getLink(self, data: str, index: int):
        if data.find(")", index) == -1 and data.find("'", index) == -1 and data.find('"', index) == -1:
            return "", None, index, False  # nothing could close it: no need to read to the end
        return super().getLink(data, index)


class _Angles:
    """Whether `_HideUnclosedAngles` hid any `<` in the text being rendered, for `_ShowUnclosedAngles`."""

    hidden = False


class _HideUnclosedAngles(Preprocessor):
    """Before raw HTML is looked for, hide each `<` that no `>` follows; `_ShowUnclosedAngles` puts them back.

    Python's HTML parser reads from every `<` on to the end of the text in
    search of a `>`, which takes minutes on a long run of `<a `. A `<` after
    the text's last `>` can start no tag, comment or declaration, so hiding
    it changes nothing but the time.
    """

    def __init__(self, md, angles: _Angles) -> None:
        super().__init__(md)
        self.angles = angles

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        tail = text.rfind(">") + 1
        if "<" not in text[tail:] or HIDDEN_ANGLE in text:
            return lines
        self.angles.hidden = True
        return (text[:tail] + text[tail:].replace("<", HIDDEN_ANGLE)).split("\n")


class _ShowUnclosedAngles(Preprocessor):
    def __init__(self, md, angles: _Angles) -> None:
        super().__init__(md)
        self.angles = angles

    def run(self, lines: list[str]) -> list[str]:
        if not self.angles.hidden:
            return lines
        self.angles.hidden = False
        stash = self.md.htmlStash.rawHtmlBlocks
        stash[:] = [block.replace(HIDDEN_ANGLE, "<") if isinstance(block, str) else block for block in stash]
        return [line.replace(HIDDEN_ANGLE, "<") for line in lines]


class _QuickTable(TableProcessor):
    """The table processor, whose test splits the whole rest of a block into rows each time it is asked (once
    a line, on a block of headings or rules): a first line without `|` starts no table."""

    def test(self, parent, block: str) -> bool:
        if "|" not in block[:block.find("\n")] if "\n" in block else "|" not in block:
            return False
        return super().test(parent, block)


class _QuickHashHeader(HashHeaderProcessor):
    """The heading processor, whose test searches the whole rest of a block with a regular expression each
    time it is asked (once a line, on a block of rules): a block without `#` holds no heading."""

    def test(self, parent, block: str) -> bool:
        return "#" in block and super().test(parent, block)


class _Reference(_LinearBrackets, ReferenceInlineProcessor):
    pass


class _Link(_LinearBrackets, LinkInlineProcessor):
    pass


class _Image(_LinearBrackets, ImageInlineProcessor):
    pass


class _ImageReference(_LinearBrackets, ImageReferenceInlineProcessor):
    pass


class _ShortReference(_LinearBrackets, ShortReferenceInlineProcessor):
    pass


class _ShortImageReference(_LinearBrackets, ShortImageReferenceInlineProcessor):
    pass


# Python-Markdown's link processors, with their priorities (`markdown.inlinepatterns`'s `build_inlinepatterns`),
# each with the one that finds the same in linear time (made with the pattern the one it replaces has).
LINKS = {"reference": (ReferenceInlineProcessor, _Reference, 170), "link": (LinkInlineProcessor, _Link, 160),
         "image_link": (ImageInlineProcessor, _Image, 150),
         "image_reference": (ImageReferenceInlineProcessor, _ImageReference, 140),
         "short_reference": (ShortReferenceInlineProcessor, _ShortReference, 130),
         "short_image_ref": (ShortImageReferenceInlineProcessor, _ShortImageReference, 125)}


class LinearTimeExtension(Extension):
    """Links, images, references, raw HTML and tables found in time linear in the text, with the very
    same results: Python-Markdown's processors replaced by subclasses that find the same faster, at the
    same places (an extension's own processor of that name is left as it is)."""

    def extendMarkdown(self, md) -> None:
        brackets, angles = _BracketIndex(), _Angles()
        for name, (base, faster, priority) in LINKS.items():
            if name in md.inlinePatterns and type(md.inlinePatterns[name]) is base:
                md.inlinePatterns.register(faster(md.inlinePatterns[name].pattern, md, brackets), name, priority)
        blocks = md.parser.blockprocessors
        if "table" in blocks and type(blocks["table"]) is TableProcessor:  # the tables extension's, at its place
            blocks.register(_QuickTable(md.parser, blocks["table"].config), "table", 75)
        if "hashheader" in blocks and type(blocks["hashheader"]) is HashHeaderProcessor:
            blocks.register(_QuickHashHeader(md.parser), "hashheader", 70)
        # Around Python-Markdown's raw HTML blocks (20), after fenced code is stashed (25).
        md.preprocessors.register(_HideUnclosedAngles(md, angles), "deckgen_hide_angles", 20.5)
        md.preprocessors.register(_ShowUnclosedAngles(md, angles), "deckgen_show_angles", 19.5)
