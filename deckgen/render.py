"""Turn a question's Markdown into the HTML Anki shows."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import msgspec

from .errors import Diagnostic
from .parse import ParsedDeck, Question, unbalanced_math
from .render_cache import RenderCache, RenderedText, local_image, media_name
from .sanitize import needs_sanitizing
from .topics import note_tags

PARAGRAPH_RE = re.compile(r"^<p>(.*)</p>$", re.DOTALL)
BLOCK_START_RE = re.compile(r"^(\s*\d*)([-+*>#.)])(?=\s|$)")
# Only text with one of these can hold something MagicLink turns into a link.
MAY_LINK_RE = re.compile(r"://|www\.|ftp\.|@", re.IGNORECASE)
# A line with none of Markdown's active characters renders to itself, escaped.
PLAIN_TEXT_RE = re.compile(r"(?![\s\d#>+=-])[^\\`*_{}\[\]<>&$~|!@#=\t\n]*(?<!\s)")


class RenderedNote(msgspec.Struct, frozen=True):
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
    diagnostics: tuple[Diagnostic, ...]
    cache: RenderCache = field(compare=False)
    """The cache the deck was rendered with (removed notes too), to be saved when its build succeeds."""


class MarkdownRenderer:
    """Markdown to safe HTML with deckgen's extensions; one instance serves a whole deck.

    `folder` is where relative image paths start: the deck file's folder.
    Python-Markdown is set up on first use, so a build that finds every
    note in its cache never loads it.
    """

    def __init__(self, folder: Path = Path(".")) -> None:
        self.folder = folder
        self._md: dict[tuple[bool, bool], object] = {}

    def _markdown(self, links: bool, fences: bool = True):
        """Python-Markdown with deckgen's extensions, and pymdownx's MagicLink (`links`) and SuperFences (`fences`).

        MagicLink turns bare URLs and e-mail addresses into links, SuperFences
        renders fenced code (highlighted by Pygments, also inside lists); both
        load urllib, http and email, which a text with neither never needs.
        """
        if (links, fences) not in self._md:
            # Extensions as objects, not names: a name makes Markdown search package metadata for it.
            import markdown
            from markdown.extensions.nl2br import Nl2BrExtension
            from markdown.extensions.tables import TableExtension

            from .markdown_ext import BlockStartExtension, ListIndentExtension, MathExtension, MediaExtension

            extensions = [
                TableExtension(),
                Nl2BrExtension(),  # every line of text stays its own line on the card
                MathExtension(), BlockStartExtension(), ListIndentExtension(), MediaExtension(),
            ]
            if fences:
                from pymdownx.superfences import SuperFencesCodeExtension

                extensions.insert(2, SuperFencesCodeExtension(css_class="highlight"))
            if links:
                from pymdownx.magiclink import MagiclinkExtension

                extensions.insert(2, MagiclinkExtension())
            md = markdown.Markdown(extensions=extensions)
            md.deckgen_folder = self.folder
            self._md[links, fences] = md
        return self._md[links, fences]

    def render(self, text: str, inline: bool = False) -> RenderedText:
        """HTML of a Markdown document, or of one line without its paragraph (`inline`), made safe."""
        if inline and PLAIN_TEXT_RE.fullmatch(text) and not MAY_LINK_RE.search(text):
            return RenderedText(html.escape(text, quote=False))  # what Markdown makes of it, far faster
        return self.convert(text, inline)

    def convert(self, text: str, inline: bool = False) -> RenderedText:
        """`render` without the shortcut for plain lines: always through Python-Markdown."""
        if inline:
            text = BLOCK_START_RE.sub(r"\1\\\2", text)  # "1. What…" is text, not a list
        md = self._markdown(links=MAY_LINK_RE.search(text) is not None, fences="```" in text or "~~~" in text)
        result = md.reset().convert(text)
        if inline:
            match = PARAGRAPH_RE.match(result)
            result = match.group(1) if match and "<p>" not in match.group(1) else result
        removed: tuple[str, ...] = ()
        media = list(md.deckgen_media)
        if needs_sanitizing(text):
            from .sanitize import sanitize

            result, removed = sanitize(result, partial(self._raw_image, media))
        return RenderedText(result, tuple(media), removed)

    def _raw_image(self, media: list, src: str) -> str:
        """The media name for an image written as raw HTML (`<img src="img/x.png">`), noted in `media`."""
        path = local_image(self.folder, src)
        if path is None or any(src == name for _, name, _ in media):
            return src  # a URL, or a Markdown image already pointed at its media name
        name = media_name(path)
        media.append((src, name, path))
        return name or src

    def block(self, text: str) -> str:
        """HTML of a Markdown document (an answer, a description)."""
        return self.render(text).html

    def inline(self, text: str) -> str:
        """HTML of one line of Markdown (a question), without the paragraph around it."""
        return self.render(text, inline=True).html


def render_deck(parsed: ParsedDeck, renderer: MarkdownRenderer, cache: RenderCache, progress=None) -> RenderedDeck:
    """Render every question, answer and the description of one deck, noting what will not show right.

    Texts found in `cache` are not rendered again; the others are rendered
    in several processes when there are many of them (the result is the
    same as in one). `progress(done, total)` is called as notes get done.
    """
    texts = [(q.title, True) for q in parsed.questions] + [(q.answer, False) for q in parsed.questions]
    rendered = cache.render_all(texts, renderer, progress)
    count, topics = len(parsed.questions), parsed.source.settings.topics
    notes, diagnostics = [], []
    for question, title, answer in zip(parsed.questions, rendered[:count], rendered[count:]):
        if title is None or answer is None:
            diagnostics.append(Diagnostic(question.path, question.answer_line, "nested too deeply to render",
                                          "error", "too-deep"))
            continue
        has_media = bool(title.media or answer.media)
        if has_media or title.removed or answer.removed:  # most notes have neither: skip the closer look
            diagnostics.extend(_problems(question, title, question.line, question.title))
            diagnostics.extend(_problems(question, answer, question.answer_line, question.answer))
        diagnostics.extend(
            Diagnostic(question.path, question.answer_line + offset,
                       f"{delimiter} has no partner, so Anki will show the TeX as text", code="unbalanced-math")
            for offset, delimiter in unbalanced_math(question.answer))
        notes.append(RenderedNote(question=question, question_html=title.html, answer_html=answer.html,
                                  tags=note_tags(question, topics),
                                  media=note_media(title, answer) if has_media else ()))
    (description,) = cache.render_all([(parsed.description, False)], renderer)
    if description is None:
        description = RenderedText("")
        diagnostics.append(Diagnostic(parsed.source.path, 1, "deck description nested too deeply to render",
                                      "error", "too-deep"))
    if description.removed:
        diagnostics.append(Diagnostic(parsed.source.path, 1, _removed_message(description.removed),
                                      code="unsafe-html"))
    return RenderedDeck(parsed=parsed, notes=tuple(notes), description_html=description.html,
                        diagnostics=tuple(diagnostics), cache=cache)


def note_media(*texts: RenderedText) -> tuple[tuple[str, Path], ...]:
    """(media name, file) of every image found in the texts, sorted, once each."""
    return tuple(sorted({(name, path) for text in texts for _, name, path in text.media if name}))


def _problems(question: Question, rendered: RenderedText, first_line: int, markdown_text: str) -> list[Diagnostic]:
    found = []
    for src, name, path in rendered.media:
        if name is None:
            offset = _line_of_first(markdown_text, [re.escape(src)])
            found.append(Diagnostic(question.path, first_line + offset, f"image not found: {src} (looked for {path})",
                                    "error", "missing-media"))
    if rendered.removed:
        offset = _line_of_first(markdown_text, [re.escape(what.split("=")[0].split(":")[0].strip("<> "))
                                                 for what in rendered.removed])
        found.append(Diagnostic(question.path, first_line + offset, _removed_message(rendered.removed),
                                code="unsafe-html"))
    return found


def _line_of_first(text: str, patterns: list[str]) -> int:
    """Line offset in `text` of the first match of any pattern (case-insensitive); 0 when none matches."""
    match = re.search("|".join(patterns), text, re.IGNORECASE) if patterns else None
    return text.count("\n", 0, match.start()) if match else 0


def _removed_message(removed: tuple[str, ...]) -> str:
    return f"removed from the card, since Anki would run or embed it: {', '.join(removed)}"
