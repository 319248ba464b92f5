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
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from markdown import Extension
from markdown.blockprocessors import OListProcessor, UListProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER

from .parse import MATH_RE, fence_states
from .render_cache import local_image, media_name

LIST_ITEM_RE = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])[ \t]+\S")
TABLE_ROW_RE = re.compile(r"^ {0,3}\|")
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
        return MATH_RE.sub(self._replace, "\n".join(lines)).split("\n")

    def _replace(self, match: re.Match) -> str:
        if match.group("code") is not None:
            return match.group(0)
        if match.group("dollar") is not None or match.group("parens") is not None:
            tex = match.group("dollar") if match.group("dollar") is not None else match.group("parens")
            return self.md.htmlStash.store(r"\(" + html.escape(tex, quote=False) + r"\)")
        tex = match.group("dollars2") if match.group("dollars2") is not None else match.group("brackets")
        return self.md.htmlStash.store(r"\[" + html.escape(tex, quote=False) + r"\]")


class MediaRewriter(Treeprocessor):
    """Point every local image at its name in Anki's media folder: a hash of its bytes.

    Two `img.png` from different folders get different names, and a changed
    image gets a new name, so Anki picks it up. Each image met is recorded in
    `md.deckgen_media` as (src as written, media name or None when not found, path).
    """

    def run(self, root) -> None:
        for img in root.iter("img"):
            src = img.get("src", "")
            path = local_image(self.md.deckgen_folder, src)
            if path is None:
                continue
            name = self.media_name(path)
            self.md.deckgen_media.append((src, name, path))
            if name:
                img.set("src", name)

    def media_name(self, path: Path) -> str | None:
        cache = self.md.deckgen_media_names
        if path not in cache:
            cache[path] = media_name(path)
        return cache[path]


class MediaExtension(Extension):
    """Rewrite local images to media names (see `MediaRewriter`); `md.deckgen_folder` is where paths start."""

    def extendMarkdown(self, md) -> None:
        md.registerExtension(self)
        self.md = md
        md.deckgen_folder = Path(".")
        md.deckgen_media, md.deckgen_media_names = [], {}
        md.treeprocessors.register(MediaRewriter(md), "deckgen_media", 1)

    def reset(self) -> None:
        self.md.deckgen_media = []


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
