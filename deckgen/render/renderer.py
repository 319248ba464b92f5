"""One text's Markdown to safe HTML: Python-Markdown with deckgen's extensions, cleaned by one allowlist, under
a time limit when long; a plain line without Python-Markdown at all.
"""

from __future__ import annotations

import html
import re
from functools import partial
from pathlib import Path

import msgspec

from ..parse.syntax import may_hide
from .media import REMOTE, Images, MediaRef, MediaResolver
from .sanitize import clean_html, inert
from .time_limit import TimeLimitExceeded, time_limit

PARAGRAPH_RE = re.compile(r"^<p>(.*)</p>$", re.DOTALL)
BLOCK_START_RE = re.compile(r"^(\s*\d*)([-+*>#.)])(?=\s|$)")
# Only text with one of these can hold something MagicLink turns into a link.
MAY_LINK_RE = re.compile(r"://|www\.|ftp\.|@", re.IGNORECASE)
# A line with none of Markdown's active characters renders to itself, escaped (unless Obsidian would hide some).
PLAIN_TEXT_RE = re.compile(r"(?![\s\d#>+=-])[^\\`*_{}\[\]<>&$~|!@#=\t\n]*(?<!\s)")
# Texts this long get a time limit of TIME_LIMIT seconds, whatever their length: the slowest ordinary Markdown
# of 1 MiB (a table 200 columns wide, fenced code, every word styled) takes up to 21 s here (bench/pathological.py
# --one-mib), so only text no person writes can reach it, and no note can hold a build up for longer.
TIME_LIMIT_FROM = 1000
TIME_LIMIT = 30.0
# A footnote reference is one only with its definition; without one, footnotes are not loaded at all: their
# pattern (Python-Markdown's) tries every "[^" against the rest of its paragraph, beyond the time limit's reach.
FOOTNOTE_DEFINITION_RE = re.compile(r"(?m)^ {0,3}\[\^[^\]\n]+\]:")


class RenderedText(msgspec.Struct, frozen=True):
    """HTML made from some Markdown, with the images it names and what was removed for safety."""

    html: str
    media: tuple[MediaRef, ...] = ()
    """Every image the text names that is not a `data:` URL, bundled or not."""
    removed: tuple[str, ...] = ()
    """What the sanitizer removed (see `sanitize`)."""
    timed_out: bool = False
    """It took too long to render (see TIME_LIMIT), and is shown as plain text: never kept in the render cache,
    so that a faster machine renders it next time."""


class MarkdownRenderer:
    """Markdown to safe HTML with deckgen's extensions; one instance serves a whole build.

    `resolver` decides which images may go into the package (see `media`);
    relative image paths start at the `folder` each text is rendered for.
    Python-Markdown is set up on first use, so a build that finds every
    text in its cache never loads it.
    """

    def __init__(self, resolver: MediaResolver) -> None:
        self.resolver = resolver
        self._images = Images(resolver)  # shared by its Markdown instances, one text at a time
        self._md: dict[tuple[bool, bool, bool, bool], object] = {}

    def _markdown(self, links: bool, fences: bool = True, marks: bool = True, notes: bool = True):
        """Python-Markdown with deckgen's extensions, and pymdownx's MagicLink (`links`), SuperFences (`fences`),
        Mark and Tilde (`marks`: `==` and `~~`) and Python-Markdown's footnotes (`notes`).

        MagicLink turns bare URLs and e-mail addresses into links, SuperFences
        renders fenced code (highlighted by Pygments, also inside lists); both
        load urllib, http and email, which a text with neither never needs.
        Mark and Tilde compile a hundred patterns (a fifth of a small rebuild):
        only a text with `==` or `~~` gets them.
        """
        if (links, fences, marks, notes) not in self._md:
            # Extensions as objects, not names: a name makes Markdown search package metadata for it.
            import markdown
            from markdown.extensions.tables import TableExtension

            from .markdown_ext import (
                BlockStartExtension,
                CommonMarkExtension,
                LinearTimeExtension,
                LineBreakExtension,
                ListIndentExtension,
                MathExtension,
                MediaExtension,
                ObsidianExtension,
                TriggeredInlineExtension,
            )

            extensions = [
                TableExtension(),
                LineBreakExtension(),  # every line of text stays its own line on the card
                MathExtension(), BlockStartExtension(), ListIndentExtension(), MediaExtension(images=self._images),
                LinearTimeExtension(), ObsidianExtension(), CommonMarkExtension(), TriggeredInlineExtension(),
            ]
            if marks:
                from pymdownx.mark import MarkExtension
                from pymdownx.tilde import DeleteSubExtension

                extensions += [MarkExtension(), DeleteSubExtension(subscript=False)]  # ==highlight==, ~~strike~~
            if notes:
                from markdown.extensions.footnotes import FootnoteExtension

                extensions.append(FootnoteExtension())  # [^1]
            if fences:
                from pymdownx.superfences import SuperFencesCodeExtension

                from .markdown_ext.code_highlighting import share_highlighting_setup

                share_highlighting_setup()
                extensions.insert(2, SuperFencesCodeExtension(css_class="highlight"))
            if links:
                from pymdownx.magiclink import MagiclinkExtension

                extensions.insert(2, MagiclinkExtension())
            self._md[links, fences, marks, notes] = markdown.Markdown(extensions=extensions)
        return self._md[links, fences, marks, notes]

    def render(self, text: str, inline: bool = False, folder: Path = Path(".")) -> RenderedText:
        """HTML of a Markdown document, or of one line without its paragraph (`inline`), made safe."""
        if inline and PLAIN_TEXT_RE.fullmatch(text) and not MAY_LINK_RE.search(text) and not may_hide(text):
            return as_text(text, inline)  # what Markdown makes of it, far faster
        return self.convert(text, inline, folder)

    def convert(self, text: str, inline: bool = False, folder: Path = Path(".")) -> RenderedText:
        """`render` without the shortcut for plain lines: always through Python-Markdown.

        A long text gets a time limit (TIME_LIMIT); one that runs past it is
        shown as plain text, so no note can stall a build.
        """
        if len(text) < TIME_LIMIT_FROM:
            return self._convert(text, inline, folder)
        try:
            with time_limit(TIME_LIMIT):
                return self._convert(text, inline, folder)
        except TimeLimitExceeded:
            self._md.clear()  # an interrupted Markdown may hold half-made state: start afresh
            return msgspec.structs.replace(as_text(text, inline), timed_out=True)

    def _convert(self, text: str, inline: bool, folder: Path) -> RenderedText:
        if inline:
            text = BLOCK_START_RE.sub(r"\1\\\2", text)  # "1. What…" is text, not a list
        md = self._markdown(links=MAY_LINK_RE.search(text) is not None, fences="```" in text or "~~~" in text,
                            marks="==" in text or "~~" in text, notes="[^" in text and FOOTNOTE_DEFINITION_RE.search(text) is not None)
        self._images.folder = folder
        result = md.reset().convert(text)
        if inline:
            match = PARAGRAPH_RE.match(result)
            result = match.group(1) if match and "<p>" not in match.group(1) else result
        media = list(self._images.found)
        result, removed = clean_html(result, partial(self._raw_image, media, folder))
        return RenderedText(result, tuple(media), removed)

    def _raw_image(self, media: list[MediaRef], folder: Path, src: str) -> str | None:
        """The src of an image written as raw HTML (`<img src="img/x.png">`), noted in `media`; None: not bundled."""
        if any(src == ref.name or (src == ref.src and ref.problem == REMOTE) for ref in media):
            return src  # a Markdown image, already pointed at its media name (or left where it is)
        ref = self.resolver.resolve(src, folder)
        if ref is None:
            return None  # a data: URL, which `clean_html` has judged already
        media.append(ref)
        return src if ref.problem == REMOTE else ref.name


def as_text(text: str, inline: bool) -> RenderedText:
    """A text shown as it was written, its Markdown not read (a plain line; a text past its time limit; a removed
    note's that can no longer be rendered): escaped, each line its own, and made inert as every field is (see
    `sanitize.inert`: escaped text holds no element of anyone's)."""
    # In the form cleaning gives (see `clean_html`): a no-break space as an entity, no byte-order mark first.
    escaped = html.escape(text, quote=False).replace("\n", "<br>\n").replace("\xa0", "&nbsp;")
    made, removed = inert(escaped.removeprefix("\ufeff") if inline else f"<p>{escaped}</p>")
    return RenderedText(made, removed=removed)
