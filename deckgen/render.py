"""Turn a question's Markdown into the HTML Anki shows."""

from __future__ import annotations

import re
from dataclasses import dataclass

import markdown

from .markdown_ext import BlockStartExtension, ListIndentExtension, MathExtension
from .parse import ParsedDeck, Question
from .topics import note_tags

EXTENSIONS = [
    "tables",
    "nl2br",  # every line of text stays its own line on the card
    "pymdownx.superfences",
    "pymdownx.magiclink",  # bare URLs become links
    MathExtension(),
    BlockStartExtension(),
    ListIndentExtension(),
]
EXTENSION_CONFIGS = {
    "pymdownx.superfences": {"css_class": "highlight"},
}
PARAGRAPH_RE = re.compile(r"^<p>(.*)</p>$", re.DOTALL)
BLOCK_START_RE = re.compile(r"^(\s*\d*)([-+*>#.)])(?=\s|$)")


@dataclass(frozen=True)
class RenderedNote:
    """A question with its HTML and tags, ready for the writer."""

    question: Question
    question_html: str
    answer_html: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RenderedDeck:
    """A parsed deck with every note rendered, and the description's HTML."""

    parsed: ParsedDeck
    notes: tuple[RenderedNote, ...]
    description_html: str


class MarkdownRenderer:
    """Markdown to HTML with deckgen's extensions; one instance serves a whole deck."""

    def __init__(self) -> None:
        self._md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)

    def block(self, text: str) -> str:
        """HTML of a Markdown document (an answer, a description)."""
        return self._md.reset().convert(text)

    def inline(self, text: str) -> str:
        """HTML of one line of Markdown (a question), without the paragraph around it."""
        html = self.block(BLOCK_START_RE.sub(r"\1\\\2", text))  # "1. What…" is text, not a list
        match = PARAGRAPH_RE.match(html)
        return match.group(1) if match and "<p>" not in match.group(1) else html


def render_deck(parsed: ParsedDeck, renderer: MarkdownRenderer | None = None) -> RenderedDeck:
    """Render every question, answer and the description of one deck."""
    renderer = renderer or MarkdownRenderer()
    notes = tuple(
        RenderedNote(question=q, question_html=renderer.inline(q.title), answer_html=renderer.block(q.answer),
                     tags=note_tags(q, parsed.source.settings.topics))
        for q in parsed.questions
    )
    return RenderedDeck(parsed=parsed, notes=notes, description_html=renderer.block(parsed.description))
