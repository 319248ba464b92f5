"""Timestamps, versions and note-type checks of a rebuild."""

import pytest

import dataclasses

from deckgen.build import build_decks, check_library, plan_library
from deckgen.errors import BuildError
from deckgen.identify.note_types import BASIC
from deckgen.identify import note_types as note_types_module

from conftest import another_machine, record_of, record_path, write_deck

T = 1_800_000_000


def deck_with(tmp_path, *answers):
    return write_deck(tmp_path / "src", "deck", "".join(f"### Q{i}?\n{a}\n" for i, a in enumerate(answers)))


def notes(tmp_path):
    return {n.question: n for n in record_of(tmp_path / "src").notes.values()}


def plan_decks(src, **options):
    check = plan_library(src, **options)
    return list(check.plan.packages), list(check.diagnostics)


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
    monkeypatch.setitem(note_types_module.NOTE_TYPES, "basic", dataclasses.replace(BASIC, css=BASIC.css + ".x {}"))
    (plan,), _ = plan_decks(tmp_path / "src", now=T + 10)
    assert plan.note_type_change == "styling updated"
    assert dict((t.model_id, m) for t, m in plan.package.note_types)[BASIC.model_id] == T + 10
    assert [n.mtime for n in plan.package.notes] == [T]
    assert plan.version == "1.0.1"


@pytest.mark.parametrize("change, effect", [
    ({"fields": BASIC.fields + ("Extra",)}, "'conflicting'"),
    ({"fields": ("Front",) + BASIC.fields[1:]}, "'conflicting'"),
    ({"templates": (("Card 1",) + BASIC.templates[0][1:],)}, "'conflicting'"),
    ({"templates": BASIC.templates * 2}, "'conflicting'"),
    ({"cloze": True}, "'conflicting'"),
    ({"sort_field": 1}, "full sync"),
])
def test_a_note_type_change_fails_the_build_and_says_what_it_would_do(tmp_path, monkeypatch, change, effect):
    deck_with(tmp_path, "a")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    identity = record_path(tmp_path / "src").read_bytes()
    monkeypatch.setitem(note_types_module.NOTE_TYPES, "basic", dataclasses.replace(BASIC, **change))
    with pytest.raises(BuildError) as failure:
        build_decks(tmp_path / "src", tmp_path / "out", now=T + 10)
    (diagnostic,) = [d for d in failure.value.diagnostics if d.code != "no-cloze"]
    assert (diagnostic.severity, diagnostic.code) == ("error", "note-type-fork")
    assert effect in diagnostic.message and "--new-note-type" in diagnostic.message
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before
    assert record_path(tmp_path / "src").read_bytes() == identity
    check = check_library(tmp_path / "src", now=T + 10, allow_new_note_type=True)
    (plan,) = check.plan.packages
    assert plan.note_type_change == "fresh start"
    assert [d.code for d in check.diagnostics if d.code != "no-cloze"] == ["note-type-fresh-start"]
    assert plan.decks[0].note_type.model_id != BASIC.model_id  # an id Anki has not seen


def test_a_deck_keeps_the_note_type_id_its_notes_have(tmp_path, monkeypatch):
    deck_with(tmp_path, "a")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    monkeypatch.setitem(note_types_module.NOTE_TYPES, "basic", dataclasses.replace(BASIC, model_id=BASIC.model_id + 1))
    (plan,), diagnostics = plan_decks(tmp_path / "src", now=T + 10)
    assert (plan.decks[0].note_type.model_id, plan.note_type_change, plan.changes) == (BASIC.model_id, None, ())


def test_identity_record_round_trips_and_is_sorted(tmp_path):
    deck_with(tmp_path, "a", "b", "c")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    from deckgen.identify.record import record_lines

    from conftest import read_record
    path = record_path(tmp_path / "src")
    text = path.read_text(encoding="utf-8")
    assert b"".join(record_lines(read_record(path))).decode("utf-8") == text
    lines = text.splitlines()
    assert len(lines) == 7 and lines[0] == '{"deckgen_identity":4}'
    assert [line.split(":")[0] for line in lines[1:4]] == ['{"package"', '{"deck"', '{"note_type"']
    assert lines[4:] == sorted(lines[4:]) and all(line.startswith('{"guid":') for line in lines[4:])


def test_a_rebuild_keeps_the_lines_of_unchanged_notes_as_they_are(tmp_path):
    deck = deck_with(tmp_path, "a", "b", "c")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    from deckgen.identify.record import record_lines

    from conftest import read_record
    path = record_path(tmp_path / "src")
    # Hand-spaced lines with the same content are not rewritten (so git shows only real changes).
    spaced = [line.replace('","', '", "') for line in path.read_text(encoding="utf-8").splitlines(keepends=True)]
    path.write_text("".join(spaced), encoding="utf-8")
    deck.write_text("### Q0?\na\n### Q1?\nb, edited\n### Q2?\nc\n")
    build_decks(tmp_path / "src", tmp_path / "out", now=T + 10)
    after = path.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = [line for line in after if line not in spaced]
    assert len(changed) == 2 and '"version":"1.0.1"' in changed[0] and "b, edited" in changed[1]
    assert changed[1].encode() in b"".join(record_lines(read_record(path)))  # a rewritten line is written afresh
    assert {n.question: n.answer for n in read_record(path).notes.values()} == {
        "Q0?": "a", "Q1?": "b, edited", "Q2?": "c"}


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"])
def test_an_identity_record_with_other_line_ends_still_reads(tmp_path, line_end):
    deck = deck_with(tmp_path, "a", "b")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    path = record_path(tmp_path / "src")
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


def test_records_that_two_branches_both_changed_resolve_to_the_newer_and_the_file_is_tidied(tmp_path, monkeypatch,
                                                                                         machine):
    """What git's union merge leaves where two branches changed one note: both lines, in no order."""
    deck = deck_with(tmp_path, "a", "b")
    build_decks(tmp_path / "src", tmp_path / "out", now=T)
    path = record_path(tmp_path / "src")
    base = path.read_text(encoding="utf-8").splitlines()
    deck.write_text("### Q0?\na, on one branch\n### Q1?\nb\n")
    build_decks(tmp_path / "src", tmp_path / "out", now=T + 10)
    ours = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(base) + "\n", encoding="utf-8")
    deck.write_text("### Q0?\na, on the other branch\n### Q1?\nb\n")
    another_machine(monkeypatch, tmp_path / "theirs")
    build_decks(tmp_path / "src", tmp_path / "their-out", now=T + 20)
    theirs = path.read_text(encoding="utf-8").splitlines()
    another_machine(monkeypatch, machine)  # back on ours
    merged = [base[0]] + sorted(set(ours[1:]) | set(theirs[1:]), reverse=True)
    path.write_text("\n".join(merged) + "\n", encoding="utf-8")
    assert notes(tmp_path)["Q0?"].answer == "a, on the other branch"  # changed last
    assert record_of(tmp_path / "src").packages["deck"].version == "1.0.1" and not record_of(tmp_path / "src").tidy
    build_decks(tmp_path / "src", tmp_path / "out", now=T + 30)
    tidied = path.read_text(encoding="utf-8").splitlines()
    assert record_of(tmp_path / "src").tidy and len(tidied) == 6 and tidied[4:] == sorted(tidied[4:])
