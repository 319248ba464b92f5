"""Desktop and phone through Anki's own sync server: regenerating the deck never forces a full sync or loses
a review.

The server is the one the `anki` package ships (`python -m anki.syncserver`),
on 127.0.0.1 only, started and stopped by the test. Two collections play the
desktop, which imports every version, and the phone, which only syncs.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from deckgen import build_decks
from deckgen.identify import note_types
from conftest import SyncedProfile, answer_all_due, write_deck
from conftest import sync_server as anki_sync_server

DECK = "Sync test"
QUESTIONS = {
    "What does LoRA train?": "Two low-rank matrices beside each frozen weight.",
    "What is RAG?": "Retrieval-augmented generation: look documents up, then answer.",
    "Why divide attention scores by sqrt(d)?": "To keep the softmax out of its flat regions.",
    "What is the KV cache for?": "Reusing past keys and values while decoding, one step after the other.",
    "What is Flash Attention?": "Attention computed in tiles that fit in on-chip memory.",
}
EDITED = {
    "What does LoRA train?": "Two low-rank matrices beside each frozen weight.",
    "What is RAG?": "Retrieval-augmented generation: fetch passages first, then answer.",  # answer changed
    "Why scale attention scores by the square root of d?": "To keep the softmax out of its flat regions.",  # reworded
    "What is the KV cache for?": "Reusing past keys and values while decoding, one step after the other.",
    # "What is Flash Attention?" removed
    "What is Paged Attention?": "KV cache kept in fixed-size pages, like virtual memory.",  # added
}


def markdown(questions: dict[str, str]) -> str:
    return "".join(f"### {q}\n{a}\n\n" for q, a in questions.items())


@pytest.fixture
def sync_server(tmp_path):
    """Anki's sync server, for the test alone; yields its endpoint."""
    with anki_sync_server(tmp_path / "server") as endpoint:
        yield endpoint


class Device(SyncedProfile):
    """A device of the test: its deck studied, its live notes and its note type's CSS read."""

    def review(self) -> int:
        return answer_all_due(self, DECK)

    def live_notes(self) -> dict[str, tuple[int, str]]:
        """Question -> (note id, answer) of the live notes; a duplicate fails."""
        found = {}
        for note in self.notes():
            if "deckgen::removed" in note.tags:
                continue
            assert note["Question"] not in found, f"duplicate note: {note['Question']}"
            found[note["Question"]] = (note.id, note["Answer"])
        return found

    def css(self) -> str:
        mid = self.col.models.id_for_name("deckgen Basic")
        return json.loads(self.col._backend.get_notetype_legacy(mid))["css"]



def test_desktop_and_phone_stay_on_normal_syncs_through_edits_and_a_css_change(tmp_path, sync_server,
                                                                              monkeypatch):
    src, out = tmp_path / "source", tmp_path / "build"
    deck = write_deck(src, "deck", markdown(QUESTIONS), f'name = "{DECK}"\n')
    now = time.time()
    (v1,) = build_decks(src, out, now=now).packages
    (tmp_path / "desktop").mkdir()
    (tmp_path / "phone").mkdir()
    desktop = Device(tmp_path / "desktop" / "collection.anki2", sync_server)
    phone = Device(tmp_path / "phone" / "collection.anki2", sync_server)
    try:
        desktop.import_package(v1.path)
        assert desktop.sync() == "FULL_UPLOAD"  # its first sync: the server is empty
        assert phone.sync() == "FULL_DOWNLOAD"  # its first sync: the phone is empty
        assert phone.live_notes() == desktop.live_notes()
        ids = {q: nid for q, (nid, _) in desktop.live_notes().items()}
        assert phone.review() == len(QUESTIONS)
        phone.sync()
        desktop.sync()
        assert desktop.review_ids() == phone.review_ids() and len(desktop.review_ids()) == len(QUESTIONS)

        deck.write_text(markdown(EDITED), encoding="utf-8")
        (v2,) = build_decks(src, out, now=now + 10).packages
        assert sorted(c.kind for c in v2.plan.changes) == ["changed", "new", "removed", "renamed"]
        restyled = dataclasses.replace(note_types.BASIC, css=note_types.BASIC.css + "\n.dg-sync-test { color: red }\n")
        monkeypatch.setitem(note_types.NOTE_TYPES, "basic", restyled)  # a release that changes the cards' CSS
        (v3,) = build_decks(src, out, now=now + 20).packages
        assert (v2.plan.version, v3.plan.version, v3.plan.note_type_change) == ("1.0.1", "1.0.2", "styling updated")

        assert phone.review() == len(QUESTIONS)  # offline (learning steps), while the desktop imports the new versions
        phone_offline = phone.review_ids()
        for version in (v2, v3):
            log = desktop.import_package(version.path)
            assert not log.conflicting
        assert desktop.review() >= 1  # the new card, and learning steps, on the desktop
        desktop_reviews = desktop.review_ids()
        desktop.sync()
        phone.sync()
        desktop.sync()
        assert phone.sync() == "NO_CHANGES"

        assert desktop.syncs[:1] == ["FULL_UPLOAD"] and phone.syncs[:1] == ["FULL_DOWNLOAD"]
        later = desktop.syncs[1:] + phone.syncs[1:]
        assert set(later) <= {"NORMAL_SYNC", "NO_CHANGES"}, (desktop.syncs, phone.syncs)  # never a full sync
        assert desktop.review_ids() == phone.review_ids() == desktop_reviews | phone_offline  # no review lost
        for device in (desktop, phone):
            notes = device.live_notes()
            assert {q: a for q, (_, a) in notes.items()} == {q: f"<p>{a}</p>" for q, a in EDITED.items()}
            assert notes["What is RAG?"][0] == ids["What is RAG?"]  # edited: the same note
            assert notes["Why scale attention scores by the square root of d?"][0] == ids[
                "Why divide attention scores by sqrt(d)?"]  # reworded: the same note
            assert ".dg-sync-test" in device.css()
            assert len(device.notes()) == len(EDITED) + 1  # the removed note stays, marked
            assert device.check_database()[1]
    finally:
        desktop.close()
        phone.close()
