"""Shared test helpers: build decks into a temporary folder and import them into real Anki."""

from __future__ import annotations

import datetime
import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "student", "secret"
"""The one account of the sync servers tests start."""


@pytest.fixture(autouse=True)
def machine(tmp_path_factory, monkeypatch):
    """Each test runs on a machine of its own: a state folder (what it delivered) and a cache folder of its own,
    never the user's (see deckgen.places). The Python programs it starts import this checkout's deckgen, as it
    does, whichever one is installed."""
    home = tmp_path_factory.mktemp("machine")
    monkeypatch.setenv("DECKGEN_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("DECKGEN_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")])))
    return home


def another_machine(monkeypatch, folder: Path) -> None:
    """From here on, the test runs on another machine, which has never built anything (see `machine`)."""
    monkeypatch.setenv("DECKGEN_STATE_DIR", str(folder / "state"))
    monkeypatch.setenv("DECKGEN_CACHE_DIR", str(folder / "cache"))


def write_deck(folder: Path, name: str, markdown: str, settings: str | None = None) -> Path:
    """Write a deck's Markdown (dedented) and optional settings TOML; return the .md path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(textwrap.dedent(markdown), encoding="utf-8")
    if settings is not None:
        (folder / f"{name}.deck.toml").write_text(textwrap.dedent(settings), encoding="utf-8")
    return path


def read_record(path: Path):
    """The identity record in the file `path`; an empty one when there is none (as a build reads it)."""
    from deckgen.identify.record import EMPTY, parse_record, record_bytes

    data = record_bytes(path)
    return EMPTY if data is None else parse_record(path, data)


def record_of(folder: Path):
    """The identity record a build left in the library `folder`."""
    return read_record(folder / ".deckgen" / "identity.jsonl")


def record_path(folder: Path) -> Path:
    return folder / ".deckgen" / "identity.jsonl"


def png(width: int, height: int, rgb: tuple[int, int, int], text: bytes = b"") -> bytes:
    """A tiny valid PNG of one colour; `text`, if given, rides along in a tEXt chunk."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    extra = chunk(b"tEXt", b"Comment\x00" + text) if text else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + extra
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class AnkiProfile:
    """A real, empty Anki collection, as a new desktop user has it."""

    def __init__(self, path: Path):
        from anki.collection import Collection

        self.col = Collection(str(path))
        # Anki's day starts at 4 a.m.: a card answered shortly before is not due again "today" when its next
        # learning step falls after it, so studying twice gave one review between 03:40 and 04:00. The day here
        # starts half a day away from now.
        self.col.set_config("rollover", (datetime.datetime.now().hour + 12) % 24)

    def import_package(self, apkg: Path):
        """Import with Anki desktop's default options; return the import log."""
        from anki.collection import ImportAnkiPackageRequest

        options = self.col._backend.get_import_anki_package_presets()
        return self.col.import_anki_package(ImportAnkiPackageRequest(package_path=str(apkg), options=options)).log

    def notes(self):
        return [self.col.get_note(nid) for nid in self.col.find_notes("")]

    def check_database(self) -> tuple[str, bool]:
        return self.col.fix_integrity()

    def close(self) -> None:
        self.col.close()


class SyncedProfile(AnkiProfile):
    """A collection that syncs with a sync server (see `sync_server`), as a device does; records each sync's
    kind."""

    def __init__(self, path: Path, endpoint: str):
        super().__init__(path)
        self.auth = self.col.sync_login(USER, PASSWORD, endpoint)
        self.syncs: list[str] = []

    def sync(self, upload: bool = False) -> str:
        """Sync; where Anki asks for a full sync, upload (`upload`, or when it says so) or download."""
        from anki.sync_pb2 import SyncCollectionResponse

        required = SyncCollectionResponse.ChangesRequired
        out = self.col.sync_collection(self.auth, False)
        kind = required.Name(out.required)  # a normal sync is done by now, and answers NO_CHANGES
        if out.required in (required.FULL_SYNC, required.FULL_DOWNLOAD, required.FULL_UPLOAD):
            self.col.close_for_full_sync()
            self.col.full_upload_or_download(auth=self.auth, server_usn=out.server_media_usn,
                                             upload=out.required == required.FULL_UPLOAD or (
                                                 out.required == required.FULL_SYNC and upload))
            self.col.reopen(after_full_sync=True)
        self.syncs.append(kind)
        return kind

    def review_ids(self) -> set[int]:
        return set(self.col.db.list("select id from revlog"))


@pytest.fixture
def anki(tmp_path):
    (tmp_path / "anki").mkdir()
    profile = AnkiProfile(tmp_path / "anki" / "collection.anki2")
    yield profile
    profile.close()


def asked(question_field: str) -> str:
    """A card's Question field without the context deckgen shows above a question asked elsewhere too."""
    from deckgen.render.card_html import without_context

    return without_context(question_field)


def answer_all_due(profile: AnkiProfile, deck_name: str) -> int:
    """Study the deck like a user: answer each card the scheduler offers once, with Good; return how many.

    One answer a millisecond at most: Anki keys its review log by the
    millisecond and moves a second answer within one to the next; when that
    crosses a second, the card's stored "last review time" and the log
    disagree and Check Database reports fixing it. No person studies that
    fast (seen in a real collection, unrelated to imports).
    """
    from anki.scheduler_pb2 import CardAnswer

    col = profile.col
    col.decks.select(col.decks.id_for_name(deck_name))
    answered: set[int] = set()
    while True:
        queued = [q for q in col.sched.get_queued_cards(fetch_limit=1000).cards if q.card.id not in answered]
        if not queued:
            return len(answered)
        card = col.get_card(queued[0].card.id)
        card.start_timer()
        col.sched.answer_card(col.sched.build_answer(card=card, states=queued[0].states, rating=CardAnswer.GOOD))
        answered.add(card.id)
        next_millisecond()


def next_millisecond() -> None:
    """Wait for the next millisecond: Anki keys its review log by the millisecond (see `answer_all_due`)."""
    millisecond = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 == millisecond:
        pass


def reviews_by_card(profile: AnkiProfile) -> dict[int, int]:
    """Review-history entries per card id."""
    return dict(profile.col.db.all("select cid, count() from revlog group by cid"))


@contextmanager
def sync_server(folder: Path):
    """Anki's own sync server (`python -m anki.syncserver`) on a free port of 127.0.0.1, stopped on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, SYNC_USER1=f"{USER}:{PASSWORD}", SYNC_BASE=str(folder), SYNC_HOST="127.0.0.1",
               SYNC_PORT=str(port))
    server = subprocess.Popen([sys.executable, "-m", "anki.syncserver"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sync server did not start: {server.stderr.read().decode()}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()
