"""Turn identified notes' Markdown into the HTML and tags Anki shows: live notes and removed ones, in one pass.

`MarkdownRenderer` makes one text safe HTML; `render_decks` renders every
text a build needs (questions, answers, removed notes' last Markdown,
descriptions) through the render cache, in several processes when there are
many, and gathers them back per note.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

import msgspec

from ..errors import Diagnostic
from ..identify.matcher import Identified, IdentifiedDeck
from ..identify.record import NoteRecord
from ..parse.questions import unbalanced_math
from ..sources.library import Library
from .cache import RenderCache, cache_key
from .media import MISSING, REMOTE, TOO_LARGE, MediaRef, MediaResolver, data_uri, not_included_html, problem_message
from .sanitize import SYNTAX, UNKNOWN, UNSAFE, clean_html, inert, kind_of, written_as
from .tags import PatternClock, note_tags, syntax_tags
from .time_limit import TimeLimitExceeded, stop_watching, time_limit

PARAGRAPH_RE = re.compile(r"^<p>(.*)</p>$", re.DOTALL)
BLOCK_START_RE = re.compile(r"^(\s*\d*)([-+*>#.)])(?=\s|$)")
# Only text with one of these can hold something MagicLink turns into a link.
MAY_LINK_RE = re.compile(r"://|www\.|ftp\.|@", re.IGNORECASE)
# A line with none of Markdown's active characters renders to itself, escaped.
PLAIN_TEXT_RE = re.compile(r"(?![\s\d#>+=-])[^\\`*_{}\[\]<>&$~|!@#=\t\n]*(?<!\s)")
# Texts this long get a time limit of TIME_LIMIT seconds, whatever their length: the slowest ordinary Markdown
# of 1 MiB (a table 200 columns wide, fenced code, every word styled) takes up to 21 s here (bench/pathological.py
# --one-mib), so only text no person writes can reach it, and no note can hold a build up for longer.
TIME_LIMIT_FROM = 1000
TIME_LIMIT = 30.0
DESCRIPTION_IMAGE_LIMIT = 256 * 1024  # bytes of an image that a deck's description holds itself
# A footnote reference is one only with its definition; without one, footnotes are not loaded at all: their
# pattern (Python-Markdown's) tries every "[^" against the rest of its paragraph, beyond the time limit's reach.
FOOTNOTE_DEFINITION_RE = re.compile(r"(?m)^ {0,3}\[\^[^\]\n]+\]:")
PARALLEL_MIN = 1_000_000  # characters of Markdown to render before more processes pay for their start
CHUNK = 250


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


class MarkdownRenderer:
    """Markdown to safe HTML with deckgen's extensions; one instance serves a whole build.

    `resolver` decides which images may go into the package (see `media`);
    relative image paths start at the `folder` each text is rendered for.
    Python-Markdown is set up on first use, so a build that finds every
    text in its cache never loads it.
    """

    def __init__(self, resolver: MediaResolver) -> None:
        self.resolver = resolver
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
                LinearTimeExtension,
                LineBreakExtension,
                ListIndentExtension,
                MathExtension,
                MediaExtension,
                ObsidianExtension,
            )

            extensions = [
                TableExtension(),
                LineBreakExtension(),  # every line of text stays its own line on the card
                MathExtension(), BlockStartExtension(), ListIndentExtension(), MediaExtension(),
                LinearTimeExtension(), ObsidianExtension(),
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

                extensions.insert(2, SuperFencesCodeExtension(css_class="highlight"))
            if links:
                from pymdownx.magiclink import MagiclinkExtension

                extensions.insert(2, MagiclinkExtension())
            md = markdown.Markdown(extensions=extensions)
            md.deckgen_resolver = self.resolver
            self._md[links, fences, marks, notes] = md
        return self._md[links, fences, marks, notes]

    def render(self, text: str, inline: bool = False, folder: Path = Path(".")) -> RenderedText:
        """HTML of a Markdown document, or of one line without its paragraph (`inline`), made safe."""
        if inline and PLAIN_TEXT_RE.fullmatch(text) and not MAY_LINK_RE.search(text):
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
        md.deckgen_folder = folder
        result = md.reset().convert(text)
        if inline:
            match = PARAGRAPH_RE.match(result)
            result = match.group(1) if match and "<p>" not in match.group(1) else result
        media = list(md.deckgen_media)
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


Job = tuple[str, str, bool]
"""A text to render: (its deck's folder inside the root, the text, whether it is one line)."""


@dataclass(frozen=True)
class RenderedLibrary:
    decks: tuple[RenderedDeck, ...]
    diagnostics: tuple[Diagnostic, ...]


def render_library(decks: Sequence[IdentifiedDeck], library: Library, cache: RenderCache,
                   progress: Callable[[int, int], None] | None = None) -> RenderedLibrary:
    """Render every deck of `library` (see `render_decks`), its images read from inside its folder alone, as
    large as its settings allow."""
    resolver = MediaResolver(library.root, library.settings.max_image_bytes)
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
    for deck in decks:
        folder = _folder(deck, root)
        jobs += [(folder, note.question.title, True) for note in deck.notes]
        jobs += [(folder, note.question.answer, False) for note in deck.notes]
        jobs += [(_record_folder(record), text, inline) for record in deck.gone  # its images are by its file
                 for text, inline in ((record.question, True), (record.answer, False))]
        jobs.append((folder, deck.parsed.description, False))
    texts = iter(_render_all(jobs, root, resolver, cache, progress))
    clock = PatternClock()  # one for the build: topic patterns are timed over all its questions
    try:
        return [_rendered_deck(deck, texts, resolver, clock) for deck in decks]
    finally:
        stop_watching()  # the time limits' thread goes with the rendering


def _folder(deck: IdentifiedDeck, root: Path) -> str:
    return deck.parsed.source.path.parent.relative_to(root).as_posix()


def _record_folder(record) -> str:
    """The folder, inside the root, of the file a recorded note's deck was last in."""
    return PurePosixPath(record.deck).parent.as_posix()


def _rendered_deck(deck: IdentifiedDeck, texts, resolver: MediaResolver, clock: PatternClock) -> RenderedDeck:
    count = len(deck.notes)
    titles = [next(texts) for _ in range(count)]
    answers = [next(texts) for _ in range(count)]
    gone = [(next(texts), next(texts)) for _ in deck.gone]
    description = next(texts)
    settings, source = deck.parsed.source.settings, deck.parsed.source
    notes, diagnostics = [], []
    for identified, title, answer in zip(deck.notes, titles, answers):
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
                        description_html=description_html, diagnostics=tuple(diagnostics))


def as_text(text: str, inline: bool) -> RenderedText:
    """A text shown as it was written, its Markdown not read (a plain line; a text past its time limit; a removed
    note's that can no longer be rendered): escaped, each line its own, and made inert as every field is (see
    `sanitize.inert`: escaped text holds no element of anyone's)."""
    # In the form cleaning gives (see `clean_html`): a no-break space as an entity, no byte-order mark first.
    escaped = html.escape(text, quote=False).replace("\n", "<br>\n").replace("\xa0", "&nbsp;")
    made, removed = inert(escaped.removeprefix("\ufeff") if inline else f"<p>{escaped}</p>")
    return RenderedText(made, removed=removed)


def note_media(*texts: RenderedText) -> tuple[MediaRef, ...]:
    """Every bundled image of the texts, sorted by media name, once each."""
    return tuple(sorted({ref.name: ref for text in texts for ref in text.media if ref.name}.values(),
                        key=lambda ref: ref.name))


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
        found.append(Diagnostic(path, message=REMOVED_MESSAGES[kind].format(what), code=kind, **at([written_as(what)])))
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


# Rendering many texts: through the cache, in this process or in several.

class _Extra(msgspec.Struct, frozen=True, array_like=True):
    media: tuple[MediaRef, ...]
    removed: tuple[str, ...]


_EXTRA = msgspec.json.Decoder(_Extra)


def _render_all(jobs: list[Job], root: Path, resolver: MediaResolver, cache: RenderCache, progress
                ) -> list[RenderedText | None]:
    """Each job rendered, from the cache where it still holds; None where the text nests too deeply."""
    keys = [cache_key(folder, text, inline) for folder, text, inline in jobs]
    results: list[RenderedText | None] = [_from_entry(cache.get(key), resolver, root, job[0])
                                          for key, job in zip(keys, jobs)]
    missing = [i for i, result in enumerate(results) if result is None]
    total = len(jobs)
    if progress:
        progress(total - len(missing), total)
    for index, result in zip(missing, _render(resolver, [jobs[i] for i in missing], root, progress,  # to its
                                              total - len(missing), total), strict=True):  # end: the pool shut down
        results[index] = result
        if result is None or result.timed_out:
            cache.forget(keys[index])
        else:
            cache.put(keys[index], _to_entry(result))
    return results


def _to_entry(result: RenderedText):
    """The HTML, or (HTML, JSON of the images and removals) for the few texts that have any."""
    if not result.media and not result.removed:
        return result.html
    extra = _Extra(result.media, result.removed)
    return result.html, msgspec.json.encode(extra).decode("utf-8")


def _from_entry(entry, resolver: MediaResolver, root: Path, folder: str) -> RenderedText | None:
    """A cached text, or None when there is none or an image it names has changed, appeared or gone since."""
    if entry is None:
        return None
    if type(entry) is str:  # most texts: HTML alone
        return RenderedText(entry)
    html_, extra = entry
    try:
        unpacked = _EXTRA.decode(extra)
    except msgspec.DecodeError:  # written by another version: as good as missing
        return None
    if not all(resolver.still_valid(ref, root / folder) for ref in unpacked.media):
        return None
    return RenderedText(html_, unpacked.media, unpacked.removed)


def _render(resolver: MediaResolver, jobs: list[Job], root: Path, progress, done: int, total: int):
    """Render jobs in this process, or in several when there are many; same results either way."""
    workers = min(os.cpu_count() or 1, 4)
    if sum(len(text) for _, text, _ in jobs) < PARALLEL_MIN or workers < 2:
        renderer = MarkdownRenderer(resolver)
        for number, (folder, text, inline) in enumerate(jobs, start=1):
            yield _render_one(renderer, root / folder, text, inline)
            if progress and number % CHUNK == 0:
                progress(done + number, total)
        return
    import multiprocessing  # only big renders pay for loading these
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker  # the pool's locks start it, if nothing in this process has
    tracker_started_here = getattr(tracker, "_fd", 0) is None
    chunks = [jobs[i:i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    # Spawned, not forked: a forked worker would inherit the project lock and, if the build were
    # killed, hold it on; a spawned one starts clean, and ends when the build does (see _worker_started).
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_started, initargs=(os.getpid(),))
    try:
        for chunk, results in zip(chunks, pool.map(_render_chunk, [(root, resolver.size_limit, c) for c in chunks])):
            done += len(chunk)
            if progress:
                progress(done, total)
            yield from results
    except BaseException:
        # Ctrl-C (or any error): the workers go with the build (see _worker_started). Shutting the pool down
        # may fail in its turn when the interrupt came while it started; what is raised is the first error.
        try:
            pool.shutdown(wait=False)
        except Exception:  # noqa: BLE001 - the error being raised is the one that matters
            pass
        raise
    pool.shutdown()
    if tracker_started_here and hasattr(tracker, "_stop"):  # the caller's process left as it was found
        tracker._stop()


def _worker_started(parent: int) -> None:
    """A render worker ends when the build that started it does, however the build ends.

    On Linux the kernel sends it SIGKILL when its parent dies; elsewhere a
    thread looks every half second whether its parent is still there.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError, TypeError):
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the build ended before this worker could ask
        os._exit(1)
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the build answers for it


_WORKER_RENDERERS: dict[tuple[Path, int], MarkdownRenderer] = {}


def _render_chunk(job: tuple[Path, int, list[Job]]) -> list[RenderedText | None]:
    root, size_limit, jobs = job
    if (root, size_limit) not in _WORKER_RENDERERS:
        _WORKER_RENDERERS[root, size_limit] = MarkdownRenderer(MediaResolver(root, size_limit))
    renderer = _WORKER_RENDERERS[root, size_limit]
    return [_render_one(renderer, root / folder, text, inline) for folder, text, inline in jobs]


def _render_one(renderer: MarkdownRenderer, folder: Path, text: str, inline: bool) -> RenderedText | None:
    try:
        return renderer.render(text, inline=inline, folder=folder)
    except RecursionError:
        return None
