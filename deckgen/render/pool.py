"""Every text a build needs, rendered once: from the render cache where it still holds, else in this process, or
in several when there are many (the result is the same as in one), each worker ending with the build.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from .cache import RenderCache, cache_key
from .media import MediaRef, MediaResolver
from .renderer import MarkdownRenderer, RenderedText

PARALLEL_MIN = 1_000_000  # characters of Markdown to render before more processes pay for their start
CHUNK = 250  # texts at most in a chunk handed to a worker, and between two reports of progress
CHUNK_CHARACTERS = 50_000  # characters at most in a chunk of several texts: chunks that take about as long

Job = tuple[str, str, bool]
"""A text to render: (its deck's folder inside the root, the text, whether it is one line)."""


# What the render cache holds of a text (see `cache`): its HTML, and what else rendering found.
class _Extra(msgspec.Struct, frozen=True, array_like=True):
    media: tuple[MediaRef, ...]
    removed: tuple[str, ...]


_EXTRA = msgspec.json.Decoder(_Extra)


def to_entry(result: RenderedText):
    """The HTML, or (HTML, JSON of the images and removals) for the few texts that have any."""
    if not result.media and not result.removed:
        return result.html
    extra = _Extra(result.media, result.removed)
    return result.html, msgspec.json.encode(extra).decode("utf-8")


def from_entry(entry, resolver: MediaResolver, root: Path, folder: str) -> RenderedText | None:
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


def render_texts(jobs: list[Job], root: Path, resolver: MediaResolver, cache: RenderCache, progress
                ) -> list[RenderedText | None]:
    """Each job rendered, from the cache where it still holds; None where the text nests too deeply."""
    keys = [cache_key(folder, text, inline) for folder, text, inline in jobs]
    results: list[RenderedText | None] = [from_entry(cache.get(key), resolver, root, job[0])
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
            cache.put(keys[index], to_entry(result))
    return results


def _render(resolver: MediaResolver, jobs: list[Job], root: Path, progress, done: int, total: int):
    """Render jobs in this process, or in several when there are many; same results either way.

    With several, this process renders too: the workers take chunks from the front while it takes them from the
    back, so it starts at once (a worker first loads Python-Markdown) and one process fewer is started.
    """
    processes = min(os.cpu_count() or 1, 4)
    renderer = MarkdownRenderer(resolver)
    if sum(len(text) for _, text, _ in jobs) < PARALLEL_MIN or processes < 2:
        for number, (folder, text, inline) in enumerate(jobs, start=1):
            yield _render_one(renderer, root / folder, text, inline)
            if progress and number % CHUNK == 0:
                progress(done + number, total)
        return
    import multiprocessing  # only big renders pay for loading these
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker  # the pool's locks start it, if nothing in this process has
    tracker_started_here = getattr(tracker, "_fd", 0) is None
    chunks = _chunks(jobs)
    # Spawned, not forked: a forked worker would inherit the project lock and, if the build were
    # killed, hold it on; a spawned one starts clean, and ends when the build does (see _worker_started).
    pool = ProcessPoolExecutor(max_workers=processes - 1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_started, initargs=(os.getpid(),))
    results: dict[int, list[RenderedText | None]] = {}
    pending = {}  # chunk index -> its future, at most two a worker waiting
    front, back = 0, len(chunks)  # the workers' next chunk, and one past this process's next

    def finished(index: int, rendered: list[RenderedText | None]) -> None:
        nonlocal done
        results[index] = rendered
        done += len(rendered)
        if progress:
            progress(done, total)

    def hand_out() -> None:
        """Take in what the workers finished, and keep each one's next chunks waiting for it."""
        nonlocal front
        for index in [index for index, future in pending.items() if future.done()]:
            finished(index, pending.pop(index).result())
        while front < back and len(pending) < 2 * (processes - 1):
            pending[front] = pool.submit(_render_chunk, (root, resolver.size_limit, chunks[front]))
            front += 1

    try:
        while front < back or pending:
            hand_out()
            if front < back:
                back -= 1
                rendered = []
                for number, (folder, text, inline) in enumerate(chunks[back], start=1):
                    rendered.append(_render_one(renderer, root / folder, text, inline))
                    if number % 16 == 0:  # often enough that no worker waits for its next chunk
                        hand_out()
                finished(back, rendered)
            elif pending:
                wait(pending.values(), return_when=FIRST_COMPLETED)
    except BaseException:
        # Ctrl-C (or any error): the workers go with the build (see _worker_started). Shutting the pool down
        # may fail in its turn when the interrupt came while it started; what is raised is the first error.
        try:
            pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001 - the error being raised is the one that matters
            pass
        raise
    pool.shutdown()
    if tracker_started_here and hasattr(tracker, "_stop"):  # the caller's process left as it was found
        tracker._stop()
    for index in range(len(chunks)):
        yield from results.pop(index)


def _chunks(jobs: list[Job]) -> list[list[Job]]:
    """`jobs` in chunks of CHUNK texts or CHUNK_CHARACTERS characters, whichever comes first: a chunk of
    questions (a line each, most of them plain text) and one of answers take about as long."""
    chunks, chunk, characters = [], [], 0
    for job in jobs:
        if chunk and (len(chunk) == CHUNK or characters + len(job[1]) > CHUNK_CHARACTERS):
            chunks.append(chunk)
            chunk, characters = [], 0
        chunk.append(job)
        characters += len(job[1])
    return chunks + [chunk] if chunk else chunks


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
