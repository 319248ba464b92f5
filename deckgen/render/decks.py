"""The render stage: every deck's notes, removed ones too, and its description, as the HTML and tags Anki shows.

`render_decks` gathers the texts a build needs (questions, answers, removed
notes' last Markdown, descriptions), has `pool` render each once (from the
cache, or through `renderer.MarkdownRenderer`), and gathers them back per
note, with what will not show right said where it is written.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import msgspec

from ..errors import Diagnostic
from ..identify.matcher import Identified, IdentifiedDeck
from ..identify.record import NoteRecord
from ..parse.questions import unbalanced_math
from ..sources.library import Library
from ..sources.settings import DeckSettings
from .cache import RenderCache
from .card_html import with_context
from .media import (MISSING, REMOTE, TOO_LARGE, MediaRef, MediaResolver, data_uri, not_included_html, problem_message,
                    read_named)
from .pool import Job, render_texts
from .renderer import RenderedText, as_text
from .sanitize import SYNTAX, UNKNOWN, UNSAFE, kind_of, written_as
from .tags import PatternClock, note_tags, syntax_tags
from .time_limit import stop_watching

DESCRIPTION_IMAGE_LIMIT = 256 * 1024  # bytes of an image that a deck's description holds itself


class RenderedNote(msgspec.Struct, frozen=True):
    """An identified question with its HTML and tags."""

    identified: Identified
    question: RenderedText
    answer: RenderedText
    tags: tuple[str, ...]
    syntax_tags: tuple[str, ...] = ()
    """Those of `tags` that come from how its text is written (front matter, `#tags`: see `tags`), which
    deckgen 0.x did not read: they reach notes built before through `--rerender`."""


class RenderedTombstone(msgspec.Struct, frozen=True):
    """A recorded note whose question is gone, shown from its last Markdown."""

    record: NoteRecord
    question: RenderedText
    answer: RenderedText


@dataclass(frozen=True)
class RenderedDeck:
    """A deck with every note rendered, its removed notes too, and its description's HTML."""

    identified: IdentifiedDeck
    notes: tuple[RenderedNote, ...]
    """In source order; a note that could not be rendered (nested too deeply) is left out, with an error."""
    tombstones: tuple[RenderedTombstone, ...]
    description_html: str
    """With its images inside it (see `_images_inline`)."""
    diagnostics: tuple[Diagnostic, ...]
    description_media: tuple[MediaRef, ...] = ()
    """What became of each image the description names, in order: what its HTML holds of them."""

    @property
    def key(self) -> str:
        return self.identified.key

    @property
    def path(self) -> Path:
        return self.identified.path

    @property
    def settings(self) -> DeckSettings:
        return self.identified.parsed.settings


@dataclass(frozen=True)
class RenderedLibrary:
    decks: tuple[RenderedDeck, ...]
    diagnostics: tuple[Diagnostic, ...]


def render_library(decks: Sequence[IdentifiedDeck], library: Library, cache: RenderCache,
                   progress: Callable[[int, int], None] | None = None, known: dict | None = None
                   ) -> RenderedLibrary:
    """Render every deck of `library` (see `render_decks`), its images read from inside its folder alone, as
    large as its settings allow (`known`: see `media.MediaResolver`)."""
    resolver = MediaResolver(library.root, library.settings.max_image_bytes, known)
    rendered = render_decks(decks, library.root, resolver, cache, progress)
    return RenderedLibrary(tuple(rendered), tuple(d for deck in rendered for d in deck.diagnostics))


def render_decks(decks: Sequence[IdentifiedDeck], root: Path, resolver: MediaResolver, cache: RenderCache,
                 progress: Callable[[int, int], None] | None = None) -> list[RenderedDeck]:
    """Render every deck's questions, answers, removed notes and description, noting what will not show right.

    Texts found in `cache` are not rendered again; the others are rendered
    in several processes when there are many of them (the result is the
    same as in one). `progress(done, total)` is called as texts get done.
    """
    jobs: list[Job] = []
    decks_asking = Counter(key for deck in decks for key in {note.question.key for note in deck.notes})
    contexts = [_contexts(deck, decks_asking) for deck in decks]
    for deck, deck_contexts in zip(decks, contexts):
        folder = _folder(deck, root)
        jobs += [(folder, note.question.title, True) for note in deck.notes]
        jobs += [(folder, note.question.answer, False) for note in deck.notes]
        jobs += [(_record_folder(record), text, inline) for record in deck.gone  # its images are by its file
                 for text, inline in ((record.question, True), (record.answer, False))]
        jobs.append((folder, deck.parsed.description, False))
        jobs += [(folder, context, True) for context in deck_contexts if context is not None]
    texts = iter(render_texts(jobs, root, resolver, cache, progress))
    clock = PatternClock()  # one for the build: topic patterns are timed over all its questions
    try:
        return [_rendered_deck(deck, texts, resolver, clock, deck_contexts)
                for deck, deck_contexts in zip(decks, contexts)]
    finally:
        stop_watching()  # the time limits' thread goes with the rendering


CONTEXT_SEPARATOR = " › "


def _contexts(deck: IdentifiedDeck, decks_asking: Counter) -> list[str | None]:
    """For each question of `deck`, the Markdown of the context its card shows above it, or None, as its
    `question_context` setting says: "auto" where the same question is asked elsewhere in the deck (the
    sections that tell them apart: "Def" under ten lectures) or in another deck (the deck's name first:
    "Implementation" in two files); "always" the sections; "never" none. `decks_asking` counts, by question
    key, the decks of the library that ask it."""
    setting = deck.parsed.settings.question_context
    if setting == "never" or not deck.notes:
        return []
    keys = Counter(note.question.key for note in deck.notes)
    paths = [note.question.sections for note in deck.notes]
    shared = 0  # the sections every question is under (the file's title) tell the cards nothing
    while all(len(path) > shared and path[shared] == paths[0][shared] for path in paths):
        shared += 1
    name = deck.parsed.settings.name.rsplit("::", 1)[-1]
    contexts = []
    for note, path in zip(deck.notes, paths):
        key, parts = note.question.key, path[shared:]
        if decks_asking[key] > 1:
            parts = (name, *parts)
        elif not (setting == "always" or keys[key] > 1):
            parts = ()
        contexts.append(CONTEXT_SEPARATOR.join(parts) if parts else None)
    return contexts


def _folder(deck: IdentifiedDeck, root: Path) -> str:
    return deck.path.parent.relative_to(root).as_posix()


def _record_folder(record) -> str:
    """The folder, inside the root, of the file a recorded note's deck was last in."""
    return PurePosixPath(record.deck).parent.as_posix()


def _rendered_deck(deck: IdentifiedDeck, texts, resolver: MediaResolver, clock: PatternClock,
                   contexts: list[str | None]) -> RenderedDeck:
    count = len(deck.notes)
    titles = [next(texts) for _ in range(count)]
    answers = [next(texts) for _ in range(count)]
    gone = [(next(texts), next(texts)) for _ in deck.gone]
    description = next(texts)
    contexts = [next(texts) if context is not None else None for context in contexts] or [None] * count
    settings, source = deck.parsed.source.settings, deck.parsed.source
    notes, diagnostics = [], []
    for identified, title, answer, context in zip(deck.notes, titles, answers, contexts):
        question = identified.question
        if title is None or answer is None:
            diagnostics.append(Diagnostic(question.path, question.answer_line, "nested too deeply to render",
                                          "error", "too-deep"))
            continue
        if title.media or answer.media or title.removed or answer.removed or title.timed_out or answer.timed_out:
            # The heading's text starts after its '#' marks: its problems are given by line only.
            diagnostics.extend(_problems(question.path, title, question.line, question.title, resolver, columns=False))
            diagnostics.extend(_problems(question.path, answer, question.answer_line, question.answer, resolver))
        diagnostics.extend(
            Diagnostic(question.path, question.answer_line + offset,
                       f"{delimiter} has no partner, so Anki will show the TeX as text", code="unbalanced-math")
            for offset, delimiter in unbalanced_math(question.answer))
        extra = syntax_tags(question, settings.tags, settings.inline_tags)
        if context is not None:  # quietly, above the question
            title = msgspec.structs.replace(title, html=with_context(title.html, context.html),
                                            media=title.media + context.media)
        notes.append(RenderedNote(identified=identified, question=title, answer=answer,
                                  tags=tuple(sorted({*note_tags(question, settings.topics, clock), *extra})),
                                  syntax_tags=extra))
    tombstones = tuple(RenderedTombstone(record, question or as_text(record.question, True),
                                         answer or as_text(record.answer, False))
                       for record, (question, answer) in zip(deck.gone, gone))
    if description is None:
        description = RenderedText("")
        diagnostics.append(Diagnostic(source.path, 1, "deck description nested too deeply to render",
                                      "error", "too-deep"))
    # The description gathers text from all over the file: a problem is reported where its text is.
    diagnostics.extend(_problems(source.path, description, 1, source.text, resolver))
    description_html = _images_inline(description, source, diagnostics)
    return RenderedDeck(identified=deck, notes=tuple(notes), tombstones=tombstones,
                        description_html=description_html, diagnostics=tuple(diagnostics),
                        description_media=description.media)


def note_media(*texts: RenderedText) -> tuple[MediaRef, ...]:
    """Every bundled image of the texts, sorted by media name, once each."""
    return tuple(sorted({ref.name: ref for text in texts for ref in text.media if ref.name}.values(),
                        key=lambda ref: ref.name))


def held_in_description(ref: MediaRef) -> bool:
    """Whether a deck's description holds this image itself (see `_images_inline`): one bundled, and small enough."""
    return ref.name is not None and ref.size <= DESCRIPTION_IMAGE_LIMIT


def _images_inline(description: RenderedText, source, diagnostics: list[Diagnostic]) -> str:
    """The description's HTML with its images written into it (`data:` URLs).

    Anki keeps a package's media file only when a note's field names it, so an
    image that only a description shows would never arrive: it travels inside
    the description instead, if it is small enough to.
    """
    result = description.html
    for ref, data in read_named(ref for ref in description.media if held_in_description(ref)):
        result = result.replace(f'src="{ref.name}"', f'src="{data_uri(ref, data)}"')
    for ref in note_media(description):
        if held_in_description(ref):
            continue
        line, column = _place_of_first(source.text, [re.escape(ref.src)])
        diagnostics.append(Diagnostic(source.path, 1 + line, column=column, message=(
            f"not included: {ref.src} is {ref.size / 1024:.0f} KiB, more than the {DESCRIPTION_IMAGE_LIMIT // 1024} "
            "KiB an image in a deck's description may have (Anki keeps no image file that only a description "
            "shows, so deckgen writes it into the description itself)"), code=TOO_LARGE))
        result = re.sub(rf'<img [^>]*src="{re.escape(ref.name)}"[^>]*>', lambda tag: not_included_html(
            html.unescape(next(iter(re.findall(r'alt="([^"]*)"', tag.group())), ""))), result)
    return result


def _problems(path: Path, rendered: RenderedText, first_line: int, markdown_text: str,
              resolver: MediaResolver, columns: bool = True) -> list[Diagnostic]:
    """What a rendered text's images, time-out and removed HTML are worth saying, where its Markdown has them
    (`markdown_text` starts at `first_line`, at the line's first column unless `columns` is False)."""
    found = []

    def at(patterns: list[str]) -> dict:
        line, column = _place_of_first(markdown_text, patterns)
        return {"line": first_line + line, "column": column if columns else 1}

    for ref in rendered.media:
        if ref.problem is not None:
            severity = "note" if ref.problem == REMOTE else "warning"
            elsewhere = resolver.elsewhere(ref, path.parent) if ref.problem == MISSING else []
            found.append(Diagnostic(path, message=problem_message(ref, resolver.size_limit, elsewhere),
                                    severity=severity, code=ref.problem, **at([re.escape(ref.src)])))
    if rendered.timed_out:
        found.append(Diagnostic(path, first_line, (
            "too complex to render in time, so the card shows it as plain text: is it really Markdown?"),
            code="render-timeout"))
    for what in rendered.removed:  # each where it is written
        kind = kind_of(what)
        message = REMOVED_MESSAGES[kind] if not (kind == UNKNOWN and what.endswith(" attribute")) else ATTRIBUTE_MESSAGE
        found.append(Diagnostic(path, message=message.format(what), code=kind, **at([written_as(what)])))
    return found


def _place_of_first(text: str, patterns: list[str]) -> tuple[int, int]:
    """(line offset in `text`, 1-based column) of the first match of any pattern, case-insensitive; (0, 1)
    when none matches."""
    match = re.search("|".join(patterns), text, re.IGNORECASE) if patterns else None
    if not match:
        return 0, 1
    return text.count("\n", 0, match.start()), match.start() - text.rfind("\n", 0, match.start())


REMOVED_MESSAGES = {
    UNSAFE: "removed from the card: {}, which Anki would run, load, or let take over the page",
    SYNTAX: "{}, since Anki would act on it (deckgen bundles no sound and writes none of Anki's own syntax)",
    UNKNOWN: "not on the card: {} (HTML that cards do not show; to show a < as text, write &lt;)",
}
ATTRIBUTE_MESSAGE = "not on the card: {} (an attribute cards do not keep; the element itself stays)"
