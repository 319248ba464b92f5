"""Rendered HTML kept between builds, so a rebuild renders only what changed.

The cache lives in build/.cache/ and is safe to delete. An entry is keyed by
the text, whether it is a question line, the deck's folder and the versions
of everything that shapes the HTML; an entry whose images changed on disk
is not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


# Bump when deckgen's own rendering changes for the same Markdown.
RENDERING = "deckgen-render-1"
PARALLEL_MIN = 1500  # texts to render before a second process pays for its start
CHUNK = 250


@dataclass(frozen=True)
class RenderedText:
    """HTML made from some Markdown, with the images it shows and what was removed for safety."""

    html: str
    media: tuple[tuple[str, str | None, Path], ...] = ()
    """(src as written, media name or None when the file is missing, the file)."""
    removed: tuple[str, ...] = ()


class RenderCache:
    """The cache of one deck; `path` None keeps it in memory only."""

    def __init__(self, path: Path | None, folder: Path):
        self.path, self.folder = path, folder
        self.salt = _salt(folder)
        self.entries: dict[str, list] = {}
        self.used: dict[str, list] = {}
        if path is not None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("salt") == self.salt:
                    self.entries = data["entries"]
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass  # a missing or damaged cache is an empty one
        self._media_names: dict[Path, str | None] = {}

    def render_all(self, texts: list[tuple[str, bool]], renderer, progress=None) -> list[RenderedText | None]:
        """Each (text, inline) rendered, from the cache where possible; None where it nests too deep."""
        keys = [self._key(text, inline) for text, inline in texts]
        results: list[RenderedText | None] = [self._get(key) for key in keys]
        missing = [i for i, result in enumerate(results) if result is None]
        total = len(texts)
        if progress:
            progress(total - len(missing), total)
        for index, result in zip(missing, _render(renderer, [texts[i] for i in missing], progress, total - len(missing),
                                                  total)):
            results[index] = result
            if result is not None:
                self.entries[keys[index]] = _to_json(result)
        for key, result in zip(keys, results):
            if result is not None:
                self.used[key] = self.entries[key]
        return results

    def write_to(self, file: BinaryIO) -> None:
        """Write the cache file after a build, in pieces: what this build used, nothing else."""
        encoder = json.JSONEncoder(ensure_ascii=False)
        for chunk in encoder.iterencode({"salt": self.salt, "entries": self.used}):
            file.write(chunk.encode("utf-8"))

    def _key(self, text: str, inline: bool) -> str:
        return hashlib.sha256(f"{int(inline)}\x1f{text}".encode("utf-8")).hexdigest()

    def _get(self, key: str) -> RenderedText | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        result = _from_json(entry)
        for _, name, path in result.media:  # an image changed or appeared since: render again
            if self._media_name(path) != name:
                return None
        return result

    def _media_name(self, path: Path) -> str | None:
        if path not in self._media_names:
            self._media_names[path] = media_name(path)
        return self._media_names[path]


def media_name(path: Path) -> str | None:
    """An image's name in Anki's media folder, from a hash of its bytes; None when it cannot be read."""
    try:
        return f"dg-{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}{path.suffix.lower()}"
    except OSError:
        return None


def _render(renderer, texts: list[tuple[str, bool]], progress, done: int, total: int):
    """Render texts in this process, or in two when there are many; same results either way."""
    workers = min(os.cpu_count() or 1, 4)
    if len(texts) < PARALLEL_MIN or workers < 2:
        for number, (text, inline) in enumerate(texts, start=1):
            yield _render_one(renderer, text, inline)
            if progress and number % CHUNK == 0:
                progress(done + number, total)
        return
    import multiprocessing  # only big renders pay for loading these
    from concurrent.futures import ProcessPoolExecutor

    chunks = [texts[i:i + CHUNK] for i in range(0, len(texts), CHUNK)]
    # Spawned, not forked: a forked worker would inherit the project lock and, if the build were
    # killed, hold it on; a spawned one starts clean and ends when the build does.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for chunk, results in zip(chunks, pool.map(_render_chunk, [(renderer.folder, c) for c in chunks])):
            done += len(chunk)
            if progress:
                progress(done, total)
            yield from results


def _render_chunk(job: tuple[Path, list[tuple[str, bool]]]) -> list[RenderedText | None]:
    from .render import MarkdownRenderer

    folder, texts = job
    renderer = _WORKER_RENDERERS.setdefault(folder, MarkdownRenderer(folder))
    return [_render_one(renderer, text, inline) for text, inline in texts]


_WORKER_RENDERERS: dict[Path, object] = {}


def _render_one(renderer, text: str, inline: bool) -> RenderedText | None:
    try:
        return renderer.render(text, inline=inline)
    except RecursionError:
        return None


def _to_json(result: RenderedText) -> list:
    return [result.html, [[src, name, str(path)] for src, name, path in result.media], list(result.removed)]


def _from_json(entry: list) -> RenderedText:
    html, media, removed = entry
    return RenderedText(html, tuple((src, name, Path(path)) for src, name, path in media), tuple(removed))


def _salt(folder: Path) -> str:
    """Everything besides the text that decides the HTML."""
    from .stamp import code_signature

    return hashlib.sha256("|".join([RENDERING, str(folder.resolve()), code_signature()]).encode()).hexdigest()
