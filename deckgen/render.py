"""Turn a question's Markdown into the HTML Anki shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import markdown

from .errors import Diagnostic
from .markdown_ext import (BlockStartExtension, ListIndentExtension, MathExtension, MediaExtension,
                           unbalanced_math)
from .parse import ParsedDeck, Question
from .sanitize import needs_sanitizing, sanitize
from .topics import note_tags

EXTENSIONS = [
    "tables",
    "nl2br",  # every line of text stays its own line on the card
    "pymdownx.superfences",
    "pymdownx.magiclink",  # bare URLs become links
]
OUR_EXTENSIONS = (MathExtension, BlockStartExtension, ListIndentExtension, MediaExtension)
EXTENSION_CONFIGS = {
    "pymdownx.superfences": {"css_class": "highlight"},
}
PARAGRAPH_RE = re.compile(r"^<p>(.*)</p>$", re.DOTALL)
BLOCK_START_RE = re.compile(r"^(\s*\d*)([-+*>#.)])(?=\s|$)")


@dataclass(frozen=True)
class RenderedText:
    """HTML made from some Markdown, with the images it shows and what was removed for safety."""

    html: str
    media: tuple[tuple[str, str | None, Path], ...] = ()
    """(src as written, media name or None when the file is missing, the file)."""
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedNote:
    """A question with its HTML and tags, ready for the writer."""

    question: Question
    question_html: str
    answer_html: str
    tags: tuple[str, ...]
    media: tuple[tuple[str, Path], ...] = ()
    """(media name, file) of every image the note shows."""


@dataclass(frozen=True)
class RenderedDeck:
    """A parsed deck with every note rendered, and the description's HTML."""

    parsed: ParsedDeck
    notes: tuple[RenderedNote, ...]
    description_html: str
    diagnostics: tuple[Diagnostic, ...] = ()


class MarkdownRenderer:
    """Markdown to safe HTML with deckgen's extensions; one instance serves a whole deck.

    `folder` is where relative image paths start: the deck file's folder.
    """

    def __init__(self, folder: Path = Path(".")) -> None:
        self._md = markdown.Markdown(extensions=EXTENSIONS + [make() for make in OUR_EXTENSIONS],
                                     extension_configs=EXTENSION_CONFIGS)
        self._md.deckgen_folder = folder

    def render(self, text: str, inline: bool = False) -> RenderedText:
        """HTML of a Markdown document, or of one line without its paragraph (`inline`), made safe."""
        if inline:
            text = BLOCK_START_RE.sub(r"\1\\\2", text)  # "1. What…" is text, not a list
        html = self._md.reset().convert(text)
        if inline:
            match = PARAGRAPH_RE.match(html)
            html = match.group(1) if match and "<p>" not in match.group(1) else html
        removed: tuple[str, ...] = ()
        if needs_sanitizing(text):
            html, removed = sanitize(html)
        return RenderedText(html, tuple(self._md.deckgen_media), removed)

    def block(self, text: str) -> str:
        """HTML of a Markdown document (an answer, a description)."""
        return self.render(text).html

    def inline(self, text: str) -> str:
        """HTML of one line of Markdown (a question), without the paragraph around it."""
        return self.render(text, inline=True).html


def render_deck(parsed: ParsedDeck, renderer: MarkdownRenderer | None = None) -> RenderedDeck:
    """Render every question, answer and the description of one deck, noting what will not show right."""
    renderer = renderer or MarkdownRenderer(parsed.source.path.parent)
    notes, diagnostics = [], []
    for question in parsed.questions:
        try:
            title, answer = renderer.render(question.title, inline=True), renderer.render(question.answer)
        except RecursionError:
            diagnostics.append(Diagnostic(question.path, question.answer_line, "nested too deeply to render",
                                          "error", "too-deep"))
            continue
        diagnostics.extend(_problems(question, title, question.line, question.title))
        diagnostics.extend(_problems(question, answer, question.answer_line, question.answer))
        diagnostics.extend(
            Diagnostic(question.path, question.answer_line + offset,
                       f"{delimiter} has no partner, so Anki will show the TeX as text", code="unbalanced-math")
            for offset, delimiter in unbalanced_math(question.answer))
        notes.append(RenderedNote(question=question, question_html=title.html, answer_html=answer.html,
                                  tags=note_tags(question, parsed.source.settings.topics),
                                  media=note_media(title, answer)))
    try:
        description = renderer.render(parsed.description)
    except RecursionError:
        description = RenderedText("")
        diagnostics.append(Diagnostic(parsed.source.path, 1, "deck description nested too deeply to render",
                                      "error", "too-deep"))
    if description.removed:
        diagnostics.append(Diagnostic(parsed.source.path, 1, _removed_message(description.removed),
                                      code="unsafe-html"))
    return RenderedDeck(parsed=parsed, notes=tuple(notes), description_html=description.html,
                        diagnostics=tuple(diagnostics))


def note_media(*texts: RenderedText) -> tuple[tuple[str, Path], ...]:
    """(media name, file) of every image found in the texts, sorted, once each."""
    return tuple(sorted({(name, path) for text in texts for _, name, path in text.media if name}))


def _problems(question: Question, rendered: RenderedText, first_line: int, markdown_text: str) -> list[Diagnostic]:
    found = []
    for src, name, path in rendered.media:
        if name is None:
            offset = markdown_text[:max(markdown_text.find(src), 0)].count("\n")
            found.append(Diagnostic(question.path, first_line + offset, f"image not found: {src} (looked for {path})",
                                    "error", "missing-media"))
    if rendered.removed:
        found.append(Diagnostic(question.path, first_line, _removed_message(rendered.removed), code="unsafe-html"))
    return found


def _removed_message(removed: tuple[str, ...]) -> str:
    return f"removed from the card, since Anki would run or embed it: {', '.join(removed)}"
