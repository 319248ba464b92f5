"""Turn a question's Markdown into the HTML Anki shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

import markdown

from .errors import Diagnostic
from .markdown_ext import (BlockStartExtension, ImageExtension, ListIndentExtension, MathExtension,
                           unbalanced_math)
from .parse import ParsedDeck, Question
from .topics import note_tags

EXTENSIONS = [
    "tables",
    "nl2br",  # every line of text stays its own line on the card
    "pymdownx.superfences",
    "pymdownx.magiclink",  # bare URLs become links
]
OUR_EXTENSIONS = (MathExtension, BlockStartExtension, ListIndentExtension, ImageExtension)
EXTENSION_CONFIGS = {
    "pymdownx.superfences": {"css_class": "highlight"},
}
PARAGRAPH_RE = re.compile(r"^<p>(.*)</p>$", re.DOTALL)
BLOCK_START_RE = re.compile(r"^(\s*\d*)([-+*>#.)])(?=\s|$)")
URL_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


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
    diagnostics: tuple[Diagnostic, ...] = ()


class MarkdownRenderer:
    """Markdown to HTML with deckgen's extensions; one instance serves a whole deck."""

    def __init__(self) -> None:
        self._md = markdown.Markdown(extensions=EXTENSIONS + [make() for make in OUR_EXTENSIONS],
                                     extension_configs=EXTENSION_CONFIGS)

    @property
    def images(self) -> list[str]:
        """The image sources of the last text rendered."""
        return list(self._md.deckgen_images)

    def block(self, text: str) -> str:
        """HTML of a Markdown document (an answer, a description)."""
        return self._md.reset().convert(text)

    def inline(self, text: str) -> str:
        """HTML of one line of Markdown (a question), without the paragraph around it."""
        html = self.block(BLOCK_START_RE.sub(r"\1\\\2", text))  # "1. What…" is text, not a list
        match = PARAGRAPH_RE.match(html)
        return match.group(1) if match and "<p>" not in match.group(1) else html


def render_deck(parsed: ParsedDeck, renderer: MarkdownRenderer | None = None) -> RenderedDeck:
    """Render every question, answer and the description of one deck, noting what will not show right."""
    renderer = renderer or MarkdownRenderer()
    notes, diagnostics = [], []
    for question in parsed.questions:
        try:
            question_html, answer_html = renderer.inline(question.title), renderer.block(question.answer)
        except RecursionError:
            diagnostics.append(Diagnostic(question.path, question.answer_line, "nested too deeply to render",
                                          "error", "too-deep"))
            continue
        diagnostics.extend(_missing_images(question, renderer.images))
        diagnostics.extend(
            Diagnostic(question.path, question.answer_line + offset,
                       f"{delimiter} has no partner, so Anki will show the TeX as text", code="unbalanced-math")
            for offset, delimiter in unbalanced_math(question.answer))
        notes.append(RenderedNote(question=question, question_html=question_html, answer_html=answer_html,
                                  tags=note_tags(question, parsed.source.settings.topics)))
    try:
        description = renderer.block(parsed.description)
    except RecursionError:
        description = ""
        diagnostics.append(Diagnostic(parsed.source.path, 1, "deck description nested too deeply to render",
                                      "error", "too-deep"))
    return RenderedDeck(parsed=parsed, notes=tuple(notes), description_html=description,
                        diagnostics=tuple(diagnostics))


def _missing_images(question: Question, sources: list[str]) -> list[Diagnostic]:
    folder = question.path.parent
    found = []
    for src in sources:
        if URL_SCHEME_RE.match(src) or (folder / unquote(src)).is_file():
            continue
        offset = question.answer[:max(question.answer.find(src), 0)].count("\n")
        found.append(Diagnostic(question.path, question.answer_line + offset,
                                f"image not found: {src} (looked for {folder / unquote(src)})", "error",
                                "missing-media"))
    return found
