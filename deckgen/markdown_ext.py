"""Python-Markdown extensions that make an answer render the way its author wrote it.

- `MathExtension`: `$…$`, `$$…$$`, `\\(…\\)` and `\\[…\\]` reach Anki as MathJax
  `\\(…\\)` / `\\[…\\]`, their content untouched by Markdown.
- `BlockStartExtension`: a list, a table or a code block that starts right
  after a line of text starts a new block, as in CommonMark, instead of being
  glued into the paragraph; unindented text right after a list is a paragraph
  of its own, as note-takers mean it (CommonMark would glue it to the last item).
- `ListIndentExtension`: a list nests under an item when it is indented to
  that item's text, as in CommonMark, whether by 2, 3 or 4 spaces (Python-
  Markdown alone wants exactly 4).
- `MediaExtension`: points local images at content-hashed media names.
- `LinearTimeExtension`: finds links and raw HTML in linear time, so a long
  line of `[` or `<a ` cannot stall a build.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

from markdown import Extension
from markdown.blockprocessors import OListProcessor, UListProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER

from .parse import fence_states
from .syntax import math_and_code_spans
from .media import REMOTE, MediaResolver, not_included_html

LIST_ITEM_RE = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])[ \t]+\S")
TABLE_ROW_RE = re.compile(r"^ {0,3}\|")
BRACKET_RE = re.compile(r"[\[\]]")
HIDDEN_ANGLE = "\ue000"  # a private-use character, standing in for a `<` that opens nothing
PLACEHOLDER_LINE_RE = re.compile(re.escape(HTML_PLACEHOLDER).replace("%s", r"(\d+)") + r"$")


class MathPreprocessor(Preprocessor):
    """Stash every math span as raw MathJax text before Markdown sees it."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        chunk: list[str] = []
        for line, in_fence in zip(lines, fence_states(lines)):
            if in_fence:
                out.extend(self._stash_math(chunk))
                chunk = []
                out.append(line)
            else:
                chunk.append(line)
        out.extend(self._stash_math(chunk))
        return out

    def _stash_math(self, lines: list[str]) -> list[str]:
        if not lines:
            return []
        text, out, start = "\n".join(lines), [], 0
        for span in math_and_code_spans(text):
            if span.kind == "code":
                continue  # left as it is, for Markdown
            tex = html.escape(text[span.inner_start:span.inner_end], quote=False)
            out += [text[start:span.start], self.md.htmlStash.store(rf"\[{tex}\]" if span.display else rf"\({tex}\)")]
            start = span.end
        out.append(text[start:])
        return "".join(out).split("\n")


class MediaRewriter(Treeprocessor):
    """Point every local image at its name in Anki's media folder: a hash of its bytes.

    Two `img.png` from different folders get different names, and a changed
    image gets a new name, so Anki picks it up. An image that is not bundled
    (outside the notes, not an image, missing: see `media`) becomes its alt
    text with a mark. Each image met is recorded in `md.deckgen_media`.
    """

    def run(self, root) -> None:
        if next(root.iter("img"), None) is None:
            return  # most texts show no image
        for parent in list(root.iter()):
            for index, img in reversed(list(enumerate(parent))):
                if img.tag == "img":
                    self._rewrite(parent, index, img)

    def _rewrite(self, parent, index: int, img) -> None:
        ref = self.md.deckgen_resolver.resolve(img.get("src", ""), self.md.deckgen_folder)
        if ref is None:
            return  # a data: URL, for the sanitizer to judge
        self.md.deckgen_media.append(ref)
        if ref.name or ref.problem == REMOTE:
            img.set("src", ref.name or ref.src)  # its media name; an http(s) image stays where it is
            return
        # Not bundled: the image's place holds its alt text and the mark, as raw HTML Markdown leaves alone.
        text = self.md.htmlStash.store(not_included_html(img.get("alt", ""))) + (img.tail or "")
        if index == 0:
            parent.text = (parent.text or "") + text
        else:
            parent[index - 1].tail = (parent[index - 1].tail or "") + text
        parent.remove(img)


class MediaExtension(Extension):
    """Rewrite local images to media names (see `MediaRewriter`).

    `md.deckgen_resolver` decides what may be bundled; `md.deckgen_folder` is where relative paths start.
    """

    def extendMarkdown(self, md) -> None:
        md.registerExtension(self)
        self.md = md
        md.deckgen_folder, md.deckgen_resolver = Path("."), MediaResolver(Path("."))
        md.deckgen_media = []
        md.treeprocessors.register(MediaRewriter(md), "deckgen_media", 1)

    def reset(self) -> None:
        self.md.deckgen_media = []


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

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        end = data.find("]", index, index + self.SCAN)
        if end != -1 and "[" not in data[index:end]:
            return data[index:end], end + 1, True
        if data[index - 1:index] != "[":
            return super().getText(data, index)
        end = self.md.deckgen_brackets.close(data, index - 1)
        if end is None:
            return "", len(data), False  # unclosed: every caller then declines the match
        return data[index:end - 1], end, True

    def getLink(self, data: str, index: int):
        if data.find(")", index) == -1 and data.find("'", index) == -1 and data.find('"', index) == -1:
            return "", None, index, False  # nothing could close it: no need to read to the end
        return super().getLink(data, index)


class _HideUnclosedAngles(Preprocessor):
    """Before raw HTML is looked for, hide each `<` that no `>` follows; `_ShowUnclosedAngles` puts them back.

    Python's HTML parser reads from every `<` on to the end of the text in
    search of a `>`, which takes minutes on a long run of `<a `. A `<` after
    the text's last `>` can start no tag, comment or declaration, so hiding
    it changes nothing but the time.
    """

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        tail = text.rfind(">") + 1
        if "<" not in text[tail:] or HIDDEN_ANGLE in text:
            return lines
        self.md.deckgen_hidden_angles = True
        return (text[:tail] + text[tail:].replace("<", HIDDEN_ANGLE)).split("\n")


class _ShowUnclosedAngles(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        if not self.md.deckgen_hidden_angles:
            return lines
        self.md.deckgen_hidden_angles = False
        stash = self.md.htmlStash.rawHtmlBlocks
        stash[:] = [block.replace(HIDDEN_ANGLE, "<") if isinstance(block, str) else block for block in stash]
        return [line.replace(HIDDEN_ANGLE, "<") for line in lines]


class _QuickTableTest:
    """The table processor's test, which splits the whole rest of a block into rows each time it is asked
    (once a line, on a block of headings or rules): a first line without `|` starts no table."""

    def test(self, parent, block: str) -> bool:
        if "|" not in block[:block.find("\n")] if "\n" in block else "|" not in block:
            return False
        return super().test(parent, block)


class _QuickHashHeaderTest:
    """The heading processor's test, which searches the whole rest of a block with a regular expression
    each time it is asked (once a line, on a block of rules): a block without `#` holds no heading."""

    def test(self, parent, block: str) -> bool:
        return "#" in block and super().test(parent, block)


class LinearTimeExtension(Extension):
    """Links, images, references, raw HTML and tables found in time linear in the text, with the very
    same results."""

    PROCESSORS = ("reference", "link", "image_link", "image_reference", "short_reference", "short_image_ref")

    def extendMarkdown(self, md) -> None:
        md.deckgen_brackets, md.deckgen_hidden_angles = _BracketIndex(), False
        for name in self.PROCESSORS:
            if name in md.inlinePatterns:
                processor = md.inlinePatterns[name]
                processor.__class__ = _faster(_LinearBrackets, type(processor))
        for name, mixin in (("table", _QuickTableTest), ("hashheader", _QuickHashHeaderTest)):
            if name in md.parser.blockprocessors:
                processor = md.parser.blockprocessors[name]
                processor.__class__ = _faster(mixin, type(processor))
        # Around Python-Markdown's raw HTML blocks (20), after fenced code is stashed (25).
        md.preprocessors.register(_HideUnclosedAngles(md), "deckgen_hide_angles", 20.5)
        md.preprocessors.register(_ShowUnclosedAngles(md), "deckgen_show_angles", 19.5)


@functools.cache
def _faster(mixin: type, cls: type) -> type:
    """`cls` with some methods of `mixin` in front: the same results, found faster."""
    return type(f"{mixin.__name__.strip('_')}{cls.__name__}", (mixin, cls), {})


class BlockStartPreprocessor(Preprocessor):
    """Put a blank line where a list, table or stashed block starts right after a text line."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_list = False  # the current block (since the last blank line) is a list
        previous = ""
        for line, in_fence in zip(lines, fence_states(lines)):
            if in_fence:
                out.append(line)
                continue
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


class ListIndentPreprocessor(Preprocessor):
    """Re-indent lists to Python-Markdown's four spaces a level, nesting them as CommonMark does.

    An item nests under the one above when it is indented at least to that
    item's text; the lines of an item keep their place relative to its text.
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        levels: list[tuple[int, int]] = []  # per open item: (indent of its text, shift of its lines)
        shift = 0  # shift of the lines of the item (or code block) being read
        previous, previous_in_fence = "", False
        for line, in_fence in zip(lines, fence_states(lines)):
            indent = len(line) - len(line.lstrip(" "))
            item = LIST_ITEM_RE.match(line)
            if not line.strip():
                out.append(line)
            elif in_fence and previous_in_fence:
                out.append(" " * max(0, indent + shift) + line[indent:] if levels else line)
            elif item and not in_fence and (levels or indent < 4):
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
            previous, previous_in_fence = line, in_fence
        return out


class MathExtension(Extension):
    """Pass TeX math through to Anki's MathJax untouched."""

    def extendMarkdown(self, md) -> None:
        # After fenced code (25) and raw HTML (20) have been stashed, before anything parses blocks.
        md.preprocessors.register(MathPreprocessor(md), "deckgen_math", 15)


class BlockStartExtension(Extension):
    """Start lists, tables and code blocks on the line where the author started them."""

    def extendMarkdown(self, md) -> None:
        md.preprocessors.register(BlockStartPreprocessor(md), "deckgen_block_start", 14)


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
