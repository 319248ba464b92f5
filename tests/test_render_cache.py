"""The render cache and parallel rendering change how fast a build is, never what it writes."""

from __future__ import annotations

import concurrent.futures

from deckgen.places import render_cache_path as cache_path
from deckgen import build_decks
from deckgen.render import pool as render
from deckgen.render.renderer import MarkdownRenderer

from conftest import write_deck

T = 1_800_000_000


def deck_text(count: int, edited: int | None = None) -> str:
    return "".join(f"### Question {i}?\nAnswer **{i}**{' (edited)' if i == edited else ''}, with `code` and $x_{i}$.\n"
                   f"- one\n- two\n\n" for i in range(count))


def count_renders(monkeypatch) -> list[str]:
    rendered = []
    original = MarkdownRenderer.render

    def spy(self, text, inline=False, folder=None):
        rendered.append(text)
        return original(self, text, inline, folder)

    monkeypatch.setattr(MarkdownRenderer, "render", spy)
    return rendered


def test_a_rebuild_renders_only_what_changed(tmp_path, monkeypatch):
    deck = write_deck(tmp_path / "src", "deck", deck_text(50))
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    rendered = count_renders(monkeypatch)
    build_decks(tmp_path / "src", tmp_path / "out", now=T + 1)
    assert rendered == []
    deck.write_text(deck_text(50, edited=7))
    build_decks(tmp_path / "src", tmp_path / "out", now=T + 2)
    assert rendered == ["Answer **7** (edited), with `code` and $x_7$.\n- one\n- two"]


def test_removed_notes_are_not_rendered_again_by_every_rebuild(tmp_path, monkeypatch):
    deck = write_deck(tmp_path / "src", "deck", deck_text(50))
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    deck.write_text(deck_text(40))  # ten questions go: ten tombstones
    first = build_decks(tmp_path / "src", tmp_path / "out", now=T + 1).packages[0]
    assert sum("deckgen::removed" in note.tags for note in first.plan.package.notes) == 10
    rendered = count_renders(monkeypatch)
    again = build_decks(tmp_path / "src", tmp_path / "out", now=T + 2).packages[0]
    assert rendered == []
    assert again.path.read_bytes() == first.path.read_bytes()


def test_cached_and_parallel_builds_write_the_same_bytes(tmp_path, monkeypatch):
    write_deck(tmp_path / "src", "deck", deck_text(120))
    serial = build_decks(tmp_path / "src", tmp_path / "serial", now=T).packages[0].path.read_bytes()
    cached = build_decks(tmp_path / "src", tmp_path / "serial", now=T).packages[0].path.read_bytes()
    monkeypatch.setattr(render, "PARALLEL_MIN", 10)
    monkeypatch.setattr(render, "CHUNK", 16)
    monkeypatch.setattr(render.os, "cpu_count", lambda: 2)  # a worker and this process, even on one core
    pools = []

    class Pool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, **options):
            pools.append(options)
            super().__init__(**options)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    here = []  # the texts this process rendered; the worker rendered the others
    render_one = render._render_one
    monkeypatch.setattr(render, "_render_one", lambda *args: here.append(args[2]) or render_one(*args))
    cache_path(tmp_path / "src").unlink()
    parallel = build_decks(tmp_path / "src", tmp_path / "parallel", now=T).packages[0].path.read_bytes()
    assert len(pools) == 1 and pools[0]["max_workers"] == 1  # and this process
    assert 0 < len(here) < 2 * 120
    assert serial == cached == parallel


def test_a_damaged_or_deleted_cache_is_only_slower(tmp_path):
    write_deck(tmp_path / "src", "deck", deck_text(5))
    first = build_decks(tmp_path / "src", tmp_path / "out", now=T).packages[0].path.read_bytes()
    cache_path(tmp_path / "src").write_text("not a database")
    assert build_decks(tmp_path / "src", tmp_path / "out", now=T).packages[0].path.read_bytes() == first
    cache_path(tmp_path / "src").unlink()
    assert build_decks(tmp_path / "src", tmp_path / "out", now=T).packages[0].path.read_bytes() == first


def test_a_damaged_cache_is_replaced_by_a_working_one(tmp_path, monkeypatch):
    write_deck(tmp_path / "src", "deck", deck_text(5))
    cache_path(tmp_path / "src").parent.mkdir(parents=True)
    cache_path(tmp_path / "src").write_text("not a database")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    rendered = count_renders(monkeypatch)
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    assert rendered == []
