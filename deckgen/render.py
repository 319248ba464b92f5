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
from .media import (MISSING, REMOTE, TOO_LARGE, MediaRef, MediaResolver, data_uri, not_included_html,
                    problem_message)
from .render_cache import RenderCache, RenderedText
from .sanitize import needs_sanitizing
from .time_limit import TimeLimitExceeded, time_limit
from .topics import note_tags

PARAGRAPH_RE = re.compile(r"^<p>(.*)</p>$", re.DOTALL)
BLOCK_START_RE = re.compile(r"^(\s*\d*)([-+*>#.)])(?=\s|$)")
# Only text with one of these can hold something MagicLink turns into a link.
MAY_LINK_RE = re.compile(r"://|www\.|ftp\.|@", re.IGNORECASE)
# A line with none of Markdown's active characters renders to itself, escaped.
PLAIN_TEXT_RE = re.compile(r"(?![\s\d#>+=-])[^\\`*_{}\[\]<>&$~|!@#=\t\n]*(?<!\s)")
# Texts this long get a time limit of TIME_LIMIT[0] s + TIME_LIMIT[1] s a character; ordinary Markdown
# takes about a microsecond a character, so only text no person writes can reach it.
TIME_LIMIT_FROM = 1000
DESCRIPTION_IMAGE_LIMIT = 256 * 1024  # bytes of an image that a deck's description holds itself
TIME_LIMIT = (1.0, 50e-6)


class RenderedNote(msgspec.Struct, frozen=True):
    """A question with its HTML and tags, ready for the writer."""

    question: Question
    question_html: str
    answer_html: str
    tags: tuple[str, ...]
    media: tuple[MediaRef, ...] = ()
    """Every image the note shows (bundled ones only), sorted by media name."""


@dataclass(frozen=True)
class RenderedDeck:
    """A parsed deck with every note rendered, and the description's HTML."""

    parsed: ParsedDeck
    notes: tuple[RenderedNote, ...]
    description_html: str
    """With its images inside it (see `_images_inline`)."""
    diagnostics: tuple[Diagnostic, ...]
    cache: RenderCache = field(compare=False)
    """The cache the deck was rendered with (removed notes too), to be saved when its build succeeds."""


class MarkdownRenderer:
    """Markdown to safe HTML with deckgen's extensions; one instance serves a whole deck.

    `folder` is where relative image paths start: the deck file's folder;
    `resolver` decides which images may go into the package (see `media`).
    Python-Markdown is set up on first use, so a build that finds every
    note in its cache never loads it.
    """

    def __init__(self, folder: Path = Path("."), resolver: MediaResolver | None = None) -> None:
        self.folder = folder
        self.resolver = resolver if resolver is not None else MediaResolver(folder)
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

            from .markdown_ext import (BlockStartExtension, LinearTimeExtension, ListIndentExtension,
                                       MathExtension, MediaExtension)

            extensions = [
                TableExtension(),
                Nl2BrExtension(),  # every line of text stays its own line on the card
                MathExtension(), BlockStartExtension(), ListIndentExtension(), MediaExtension(),
                LinearTimeExtension(),
            ]
            if fences:
                from pymdownx.superfences import SuperFencesCodeExtension

                extensions.insert(2, SuperFencesCodeExtension(css_class="highlight"))
            if links:
                from pymdownx.magiclink import MagiclinkExtension

                extensions.insert(2, MagiclinkExtension())
            md = markdown.Markdown(extensions=extensions)
            md.deckgen_folder, md.deckgen_resolver = self.folder, self.resolver
            self._md[links, fences] = md
        return self._md[links, fences]

    def render(self, text: str, inline: bool = False) -> RenderedText:
        """HTML of a Markdown document, or of one line without its paragraph (`inline`), made safe."""
        if inline and PLAIN_TEXT_RE.fullmatch(text) and not MAY_LINK_RE.search(text):
            return RenderedText(html.escape(text, quote=False))  # what Markdown makes of it, far faster
        return self.convert(text, inline)

    def convert(self, text: str, inline: bool = False) -> RenderedText:
        """`render` without the shortcut for plain lines: always through Python-Markdown.

        A long text gets a time limit (`TIME_LIMIT`); one that runs past it is
        shown as plain text, so no note can stall a build.
        """
        if len(text) < TIME_LIMIT_FROM:
            return self._convert(text, inline)
        try:
            with time_limit(TIME_LIMIT[0] + TIME_LIMIT[1] * len(text)):
                return self._convert(text, inline)
        except TimeLimitExceeded:
            self._md.clear()  # an interrupted Markdown may hold half-made state: start afresh
            escaped = html.escape(text, quote=False).replace("\n", "<br />\n")
            return RenderedText(escaped if inline else f"<p>{escaped}</p>", timed_out=True)

    def _convert(self, text: str, inline: bool) -> RenderedText:
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

    def _raw_image(self, media: list[MediaRef], src: str) -> str | None:
        """The src of an image written as raw HTML (`<img src="img/x.png">`), noted in `media`; None: not bundled."""
        if any(src == ref.name for ref in media):
            return src  # a Markdown image, already pointed at its media name
        ref = self.resolver.resolve(src, self.folder)
        if ref is None:
            return src  # a data: URL: the sanitizer judges it
        media.append(ref)
        return src if ref.problem == REMOTE else ref.name

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
        if has_media or title.removed or answer.removed or title.timed_out or answer.timed_out:  # most have none
            diagnostics.extend(_problems(question.path, title, question.line, question.title, renderer.resolver))
            diagnostics.extend(_problems(question.path, answer, question.answer_line, question.answer,
                                         renderer.resolver))
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
    # The description gathers text from all over the file: a problem is reported where its text is.
    diagnostics.extend(_problems(parsed.source.path, description, 1, parsed.source.text, renderer.resolver))
    description_html = _images_inline(description, parsed.source, diagnostics)
    return RenderedDeck(parsed=parsed, notes=tuple(notes), description_html=description_html,
                        diagnostics=tuple(diagnostics), cache=cache)


def _images_inline(description: RenderedText, source, diagnostics: list[Diagnostic]) -> str:
    """The description's HTML with its images written into it (`data:` URLs).

    Anki keeps a package's media file only when a note's field names it, so an
    image that only a description shows would never arrive: it travels inside
    the description instead, if it is small enough to.
    """
    result = description.html
    for ref in note_media(description):
        if ref.size <= DESCRIPTION_IMAGE_LIMIT:
            result = result.replace(f'src="{ref.name}"', f'src="{data_uri(ref)}"')
            continue
        line = 1 + _line_of_first(source.text, [re.escape(ref.src)])
        diagnostics.append(Diagnostic(source.path, line, (
            f"not included: {ref.src} is {ref.size / 1024:.0f} KiB, more than the {DESCRIPTION_IMAGE_LIMIT // 1024} "
            "KiB an image in a deck's description may have (Anki keeps no image file that only a description "
            "shows, so deckgen writes it into the description itself)"), code=TOO_LARGE))
        result = re.sub(rf'<img [^>]*src="{re.escape(ref.name)}"[^>]*>', lambda tag: not_included_html(
            html.unescape(next(iter(re.findall(r'alt="([^"]*)"', tag.group())), ""))), result)
    return result


def note_media(*texts: RenderedText) -> tuple[MediaRef, ...]:
    """Every bundled image of the texts, sorted by media name, once each."""
    return tuple(sorted({ref.name: ref for text in texts for ref in text.media if ref.name}.values(),
                        key=lambda ref: ref.name))


def _problems(path: Path, rendered: RenderedText, first_line: int, markdown_text: str,
              resolver: MediaResolver) -> list[Diagnostic]:
    found = []
    for ref in rendered.media:
        if ref.problem is not None:
            offset = _line_of_first(markdown_text, [re.escape(ref.src)])
            severity = {MISSING: "error", REMOTE: "note"}.get(ref.problem, "warning")
            found.append(Diagnostic(path, first_line + offset, problem_message(ref, resolver.size_limit),
                                    severity, ref.problem))
    if rendered.timed_out:
        found.append(Diagnostic(path, first_line, (
            "too complex to render in time, so the card shows it as plain text: is it really Markdown?"),
            code="render-timeout"))
    if rendered.removed:
        offset = _line_of_first(markdown_text, [re.escape(what.split("=")[0].split(":")[0].strip("<> "))
                                                 for what in rendered.removed])
        found.append(Diagnostic(path, first_line + offset, _removed_message(rendered.removed), code="unsafe-html"))
    return found


def _line_of_first(text: str, patterns: list[str]) -> int:
    """Line offset in `text` of the first match of any pattern (case-insensitive); 0 when none matches."""
    match = re.search("|".join(patterns), text, re.IGNORECASE) if patterns else None
    return text.count("\n", 0, match.start()) if match else 0


def _removed_message(removed: tuple[str, ...]) -> str:
    return f"removed from the card, since Anki would run or embed it: {', '.join(removed)}"
