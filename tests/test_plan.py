"""Timestamps, versions and note-type checks of a rebuild."""

from dataclasses import replace

import pytest

from deckgen.build import BuildError, build_decks, plan_decks
from deckgen.identity_file import identity_path, read_identity
from deckgen.model import BASIC
from deckgen import plan as plan_module

from conftest import write_deck

T = 1_800_000_000


def deck_with(tmp_path, *answers):
    return write_deck(tmp_path / "src", "deck", "".join(f"### Q{i}?\n{a}\n" for i, a in enumerate(answers)))


def notes(tmp_path):
    return {n.question: n for n in read_identity(identity_path(tmp_path / "src" / "deck.md")).notes}


def test_changed_notes_get_a_later_mtime_even_in_the_same_second(tmp_path):
    deck = deck_with(tmp_path, "a", "b")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    for round_ in range(1, 4):
        deck.write_text(f"### Q0?\na{round_}\n### Q1?\nb\n")
        build_decks(tmp_path / "src", tmp_path / "out", now=T)  # the clock has not moved
        assert notes(tmp_path)["Q0?"].mtime == T + round_
        assert notes(tmp_path)["Q1?"].mtime == T


def test_clock_going_backwards_still_moves_mtimes_forward(tmp_path):
    deck = deck_with(tmp_path, "a")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    deck.write_text("### Q0?\nchanged\n")
    build_decks(tmp_path / "src", tmp_path / "out", now=T - 3600)
    assert notes(tmp_path)["Q0?"].mtime == T + 1


def test_css_change_moves_only_the_note_type_mtime(tmp_path, monkeypatch):
    deck_with(tmp_path, "a")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    monkeypatch.setitem(plan_module.NOTE_TYPES, "basic", replace(BASIC, css=BASIC.css + ".x {}"))
    (plan,), _ = plan_decks(tmp_path / "src", now=T + 10)
    assert plan.note_type_change == "styling updated"
    assert plan.package.note_type_mtime == T + 10
    assert [n.mtime for n in plan.package.notes] == [T]
    assert plan.version == "1.0.1"


@pytest.mark.parametrize("change", [
    {"fields": BASIC.fields + ("Extra",)},
    {"fields": ("Front",) + BASIC.fields[1:]},
    {"templates": (("Card 1",) + BASIC.templates[0][1:],)},
    {"model_id": BASIC.model_id + 1},
])
def test_a_note_type_fork_fails_the_build_and_explains_why(tmp_path, monkeypatch, change):
    deck_with(tmp_path, "a")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    identity = identity_path(tmp_path / "src" / "deck.md").read_bytes()
    monkeypatch.setitem(plan_module.NOTE_TYPES, "basic", replace(BASIC, **change))
    with pytest.raises(BuildError) as failure:
        build_decks(tmp_path / "src", tmp_path / "out", now=T + 10)
    (diagnostic,) = failure.value.diagnostics
    assert diagnostic.severity == "error" and "'conflicting'" in diagnostic.message
    assert "--new-note-type" in diagnostic.message
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before
    assert identity_path(tmp_path / "src" / "deck.md").read_bytes() == identity
    (plan,), _ = plan_decks(tmp_path / "src", now=T + 10, allow_new_note_type=True)
    assert plan.note_type_change == "schema changed"


def test_identity_file_round_trips_and_is_sorted_by_guid(tmp_path):
    deck_with(tmp_path, "a", "b", "c")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    path = identity_path(tmp_path / "src" / "deck.md")
    from deckgen.identity_file import dumps, loads
    text = path.read_text(encoding="utf-8")
    assert dumps(loads(path, text)) == text
    lines = text.splitlines()
    assert len(lines) == 4 and lines[1:] == sorted(lines[1:])


def test_a_rebuild_keeps_the_lines_of_unchanged_notes_as_they_are(tmp_path):
    deck = deck_with(tmp_path, "a", "b", "c")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    path = identity_path(tmp_path / "src" / "deck.md")
    from deckgen.identity_file import dumps, loads
    # Hand-spaced lines with the same content are not rewritten (so git shows only real changes).
    spaced = [line.replace('", "', '",  "') for line in path.read_text(encoding="utf-8").splitlines(keepends=True)]
    path.write_text("".join(spaced), encoding="utf-8")
    deck.write_text("### Q0?\na\n### Q1?\nb, edited\n### Q2?\nc\n")
    build_decks(tmp_path / "src", tmp_path / "out", now=T + 10)
    after = path.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = [line for line in after if line not in spaced]
    assert len(changed) == 2 and '"version": "1.0.1"' in changed[0] and "b, edited" in changed[1]
    assert changed[1] in dumps(loads(path, "".join(after)))  # a rewritten line is written afresh
    assert {n.question: n.answer for n in loads(path, "".join(after)).notes} == {
        "Q0?": "a", "Q1?": "b, edited", "Q2?": "c"}


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"])
def test_an_identity_file_with_other_line_ends_still_reads(tmp_path, line_end):
    deck = deck_with(tmp_path, "a", "b")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    path = identity_path(tmp_path / "src" / "deck.md")
    before = notes(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"\n", line_end))  # as git may check it out on Windows
    assert notes(tmp_path) == before
    deck.write_text("### Q0?\na\n### Q1?\nb, edited\n")
    build_decks(tmp_path / "src", tmp_path / "out", now=T + 10)
    assert notes(tmp_path)["Q0?"] == before["Q0?"] and notes(tmp_path)["Q1?"].mtime == T + 10


def test_renaming_the_deck_is_a_new_version_with_a_warning(tmp_path):
    deck_with(tmp_path, "a")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    (tmp_path / "src" / "deck.deck.toml").write_text('name = "Renamed"\n')
    (plan,), diagnostics = plan_decks(tmp_path / "src", now=T + 10)
    assert plan.version == "1.0.1"
    assert [d.message.split(":")[0] for d in diagnostics] == ["the deck's name changed from 'deck' to 'Renamed'"]


def test_the_settings_version_is_a_floor_that_builds_go_past_quietly(tmp_path):
    deck = deck_with(tmp_path, "a")
    (tmp_path / "src" / "deck.deck.toml").write_text('version = "2.0.0"\n')
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    for round_, answer in enumerate(["b", "c"], start=1):
        deck.write_text(f"### Q0?\n{answer}\n")
        (plan,), diagnostics = plan_decks(tmp_path / "src", now=T + 10 * round_)
        build_decks(tmp_path / "src", tmp_path / "out", now=T + 10 * round_)
        assert (plan.version, diagnostics) == (f"2.0.{round_}", [])
    (tmp_path / "src" / "deck.deck.toml").write_text('version = "1.5.0"\n')
    (plan,), diagnostics = plan_decks(tmp_path / "src", now=T + 100)
    assert (plan.version, diagnostics) == ("2.0.2", [])
