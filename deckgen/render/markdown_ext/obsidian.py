"""Obsidian's dialect: `![[embeds]]`, `[[wikilinks]]`, `> [!type] callouts` and `- [ ]` tasks, as cards can show them.

- `![[image.png|500]]` becomes the Markdown image `![image.png|500](<image.png>)`: the image is then found
  and checked like any other (see `media`: next to the file, then from the library's top, then by its name
  alone, as Obsidian finds it), and `|500` (`|500x300`) is its width (as `![alt|500](x.png)` is).
- `![[Note]]` and `![[Note#Heading]]` (another note, not an image) show as a link-styled title: a card
  cannot hold another note's content.
- `[[Note]]`, `[[Note#Heading]]` and `[[Note#Heading|alias]]` show as their text (the alias, or the name).
- `> [!type] Title` blockquotes, foldable ones (`[!type]-`, `[!type]+`) too, become styled blocks
  (`<details>` when foldable), nested in one another or in a quote as Obsidian nests them.
- `- [ ]` and `- [x]` task items start with ☐ and ☑ (a card may hold no `<input>` checkbox).
- `%%comments%%`, on one line or over several, and `^block-ids` at the end of a line show on no card, as in
  Obsidian's reading view (a `%%` left unclosed stays, as written, where the author sees it).

Code spans and math are left as they are (see `syntax.math_and_code_spans`), but a wikilink that starts outside
them is read first, code spans in it and all (``[[#`move`|move]]``); fenced code is stashed by then.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree

from markdown import Extension, util
from markdown.blockprocessors import BlockQuoteProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from ...parse.syntax import BLOCK_ID_RE, math_and_code_spans, may_hide, outside_spans
from ..media import IMAGE_SUFFIXES
from .block_start import block_starts

IMAGE_ENDINGS = tuple(IMAGE_SUFFIXES)

WIKILINK_RE = re.compile(r"(!?)\[\[([^\[\]\n|#]*)(?:#([^\[\]\n|]*))?(?:\|([^\[\]\n]*))?\]\]")
TASK_RE = re.compile(r"\[([ xX])\][ \t]+")
CALLOUT_RE = re.compile(r"(?:^|\n) {0,3}> *\[!([\w-]+)\]([+-]?)[ \t]*([^\n]*)")
COMMENT_MARK_RE = re.compile(r"%%")


class HiddenPreprocessor(Preprocessor):
    """Take out what Obsidian shows in no reading view: `%%comments%%` (paired left to right, a comment hiding
    whatever it holds) and `^block-ids`, outside code spans and math."""

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        if not may_hide(text):
            return lines
        spans = list(math_and_code_spans(text))
        if "%%" in text:
            text, spans = _without_comments(text, spans)
        if "^" in text:  # each block id matched on the whole text (a span's edge is no line's end)
            text = _without(text, outside_spans(BLOCK_ID_RE.finditer(text), spans))
        return text.split("\n")


def _without(text: str, matches, replace=lambda match: "") -> str:
    """`text` with what `matches` (left to right) matched taken out, or replaced by `replace(match)`."""
    pieces, start = [], 0
    for match in matches:
        pieces += [text[start:match.start()], replace(match)]
        start = match.end()
    return "".join(pieces) + text[start:]


def _without_comments(text: str, spans: list) -> tuple[str, list]:
    """`text` with each `%%…%%` outside code spans and math taken out, and the spans of what is left (in one
    pass: the marks are found once, and each is in a span or not)."""
    marks = [match.start() for match in outside_spans(COMMENT_MARK_RE.finditer(text), spans)]
    if len(marks) < 2:
        return text, spans
    pieces, start = [], 0
    for opening, closing in zip(marks[0::2], marks[1::2]):
        pieces.append(text[start:opening])
        start = closing + 2
    pieces.append(text[start:])
    kept = "".join(pieces)
    return kept, list(math_and_code_spans(kept))


class WikilinkPreprocessor(Preprocessor):
    """Rewrite `[[…]]` and `![[…]]` that start outside code spans and math (see the module): a wikilink is read
    before the code spans in it, as Obsidian reads ``[[#`move`|move]]``."""

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        if "[[" not in text:
            return lines
        links = outside_spans(WIKILINK_RE.finditer(text), list(math_and_code_spans(text)))
        return _without(text, links, self._replace).split("\n")

    def _replace(self, match: re.Match) -> str:
        embed, target, heading, alias = match.group(1), match.group(2).strip(), match.group(3), match.group(4)
        if embed and not heading and target.lower().endswith(IMAGE_ENDINGS):
            label = target.rsplit("/", 1)[-1] + (f"|{alias.strip()}" if alias else "")
            return f"![{_escape_brackets(label)}](<{target}>)"
        name = " › ".join(part.strip() for part in (target, heading) if part and part.strip())
        shown = alias.strip() if alias and alias.strip() and not embed else name
        kind = "dg-embed" if embed else "dg-wikilink"
        title = ' title="another note: its content is not on the card"' if embed else ""
        return self.md.htmlStash.store(f'<span class="{kind}"{title}>{html.escape(shown)}</span>')


def _escape_brackets(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


class CalloutProcessor(BlockQuoteProcessor):
    """`> [!type] Title` blockquotes as `<div class="dg-callout dg-callout-type">` (or `<details>`, foldable)."""

    def test(self, parent, block) -> bool:  # also inside a callout or a quote: Obsidian nests them
        return CALLOUT_RE.search(block) is not None and not util.nearing_recursion_limit()

    def run(self, parent, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = CALLOUT_RE.search(block)
        before, rest = block[:match.start()], block[match.end():]
        if before.strip():
            self.parser.parseBlocks(parent, [before])
        kind, fold, title = match.group(1).lower(), match.group(2), match.group(3).strip()
        body = "\n".join(self.clean(line) for line in rest.lstrip("\n").split("\n"))
        if fold:
            box = etree.SubElement(parent, "details", {"class": f"dg-callout dg-callout-{kind}"})
            if fold == "+":
                box.set("open", "open")
            heading = etree.SubElement(box, "summary", {"class": "dg-callout-title"})
        else:
            box = etree.SubElement(parent, "div", {"class": f"dg-callout dg-callout-{kind}"})
            heading = etree.SubElement(box, "p", {"class": "dg-callout-title"})
        heading.text = title or kind.replace("-", " ").capitalize()
        self.parser.state.set("blockquote")
        self.parser.parseChunk(box, block_starts(self.parser.md, body))
        self.parser.state.reset()


class TaskBoxes(Treeprocessor):
    """`- [ ] task` and `- [x] done` list items start with ☐ and ☑ (pymdownx's task lists draw `<input>`
    checkboxes, which no card may hold)."""

    def run(self, root) -> None:
        for item in root.iter("li"):
            holder = item[0] if len(item) and item[0].tag == "p" and not (item.text or "").strip() else item
            match = TASK_RE.match(holder.text or "")
            if match:
                holder.text = ("☑ " if match.group(1) in "xX" else "☐ ") + holder.text[match.end():]
                item.set("class", "dg-task")


class ObsidianExtension(Extension):
    """Obsidian's embeds, wikilinks, callouts and task boxes (see the module)."""

    def extendMarkdown(self, md) -> None:
        md.preprocessors.register(HiddenPreprocessor(md), "deckgen_hidden", 16.5)  # before wikilinks
        md.preprocessors.register(WikilinkPreprocessor(md), "deckgen_wikilinks", 16)  # before math (15)
        md.parser.blockprocessors.register(CalloutProcessor(md.parser), "deckgen_callouts", 21.1)  # blockquote: 20
        md.treeprocessors.register(TaskBoxes(md), "deckgen_task_boxes", 0.5)


__all__ = ["ObsidianExtension"]
