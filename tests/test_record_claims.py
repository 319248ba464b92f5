"""An identity record cannot claim notes that are not its notes folder's own (see `ownership`), nor times to come."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from functools import partial
from pathlib import Path

from click.testing import CliRunner

from deckgen import build_decks
from deckgen.cli import main

from conftest import another_machine, answer_all_due, record_of, record_path, reviews_by_card

QUESTIONS = "### What is LoRA?\nLow-rank adapters trained beside frozen weights.\n\n### What is a KV cache?\nKeys and values kept between steps.\n"


def git_in(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", *args], cwd=folder, check=True,
                   capture_output=True)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def library(folder: Path, markdown: str = QUESTIONS) -> Path:
    folder.mkdir(parents=True)
    (folder / "deck.md").write_text(markdown, encoding="utf-8")
    return folder


def claim(theirs: Path, mine: Path, keep_minted: bool = True) -> list[int]:
    """Copy the note lines of the library `theirs` into `mine`'s record, under `mine`'s deck; the line numbers."""
    lines = record_path(mine).read_text(encoding="utf-8").splitlines()
    numbers = []
    for line in record_path(theirs).read_text(encoding="utf-8").splitlines():
        if line.startswith('{"guid":'):
            note = {**json.loads(line), "deck": "deck", "mtime": int(time.time())}
            if not keep_minted:
                note.pop("minted", None)
            lines.append(json.dumps(note, separators=(",", ":")))
            numbers.append(len(lines))
    record_path(mine).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return numbers


def test_a_record_claiming_another_decks_notes_is_refused_and_the_notes_in_anki_stay_as_they_were(tmp_path, anki):
    """Their GUIDs are public (in that deck's own record): a cloned library whose record held them rewrote the
    user's notes of the other deck in place, or marked them removed, with the next import."""
    victim, attacker = library(tmp_path / "victim"), library(tmp_path / "attacker", QUESTIONS.replace("Low", "LOW"))
    assert run("build", str(victim), "-o", str(tmp_path / "victim-build")).exit_code == 0
    assert run("build", str(attacker), "-o", str(tmp_path / "attacker-build")).exit_code == 0
    anki.import_package(next((tmp_path / "victim-build").glob("*.apkg")))
    assert answer_all_due(anki, "deck") == 2
    before = ({note.guid: (note.fields, note.tags, note.mod) for note in anki.notes()}, reviews_by_card(anki))

    for keep_minted in (True, False):  # what the victim's record says they were minted from, or nothing
        shutil.copy(record_path(attacker), tmp_path / "record")
        lines = claim(victim, attacker, keep_minted)
        result = run("build", str(attacker), "-o", str(tmp_path / "attacker-build"))
        assert result.exit_code == 1, result.output
        errors = [line for line in result.stderr.splitlines() if "[foreign-note]" in line]
        assert [line.split(": error: ")[0] for line in errors] == [f"{record_path(attacker)}:{n}:1" for n in lines]
        assert "is not this notes folder's: its GUID is none its namespace makes" in errors[0]
        assert sorted(p.name for p in (tmp_path / "attacker-build").glob("*.apkg")) == ["deck-1.0.0.apkg"]
        shutil.copy(tmp_path / "record", record_path(attacker))

    for apkg in (tmp_path / "attacker-build").glob("*.apkg"):  # all the attacker has built
        anki.import_package(apkg)
    assert ({note.guid: (note.fields, note.tags, note.mod) for note in anki.notes() if note.guid in before[0]},
            reviews_by_card(anki)) == before


def test_a_fork_shares_its_librarys_notes_by_design(tmp_path):
    """A copy of the folder with its deckgen.toml is the same notes folder to deckgen: README, Safety."""
    mine = library(tmp_path / "mine")
    build_decks(mine, tmp_path / "build")
    fork = tmp_path / "fork"
    shutil.copytree(mine, fork)
    (package,) = build_decks(fork, tmp_path / "fork-build").packages
    assert {note.guid for note in package.plan.package.notes} == set(record_of(mine).notes)


def test_a_note_records_what_its_guid_was_minted_from_where_the_record_would_not_show_it(tmp_path, monkeypatch):
    """A note never reworded shows it by what the record says (nothing more is written); the second of identical
    questions, and a note reworded or moved, keep what it was minted from, so that another machine, with no
    history, can tell it is this folder's."""
    mine = library(tmp_path / "mine", QUESTIONS + "\n### What is LoRA?\nThe same question, asked twice.\n")
    build_decks(mine, tmp_path / "build")
    minted = {(note.question, note.answer[:8]): note.minted for note in record_of(mine).notes.values()}
    assert minted[("What is LoRA?", "Low-rank")] == minted[("What is a KV cache?", "Keys and")] == ()
    assert minted[("What is LoRA?", "The same")][::2] == ("question", "1834113584", "2")  # the second of them
    assert record_path(mine).read_text(encoding="utf-8").startswith('{"deckgen_identity":4}\n')
    (mine / "deck.md").write_text((mine / "deck.md").read_text().replace("What is a KV cache?", "What does a KV cache "
                                                                          "hold?"), encoding="utf-8")
    build_decks(mine, tmp_path / "build")
    (reworded,) = [n for n in record_of(mine).notes.values() if n.question == "What does a KV cache hold?"]
    assert reworded.minted == ("question", "deck", "1834113584", "what is a kv cache?", "1")
    another_machine(monkeypatch, tmp_path / "elsewhere")  # a fresh clone, no history
    assert run("build", str(mine), "-o", str(tmp_path / "elsewhere-build")).exit_code == 0


def test_a_record_of_the_previous_release_is_its_folders_own_where_it_shows_it(tmp_path, monkeypatch, machine):
    """Notes minted before deckgen 0.3 recorded what from: the namespace mints them from what the record says, or,
    reworded, a machine that built them before vouches for them; a fresh clone asks the author to say so."""
    mine = library(tmp_path / "mine")
    build_decks(mine, tmp_path / "build")
    record = record_path(mine)
    legacy = [json.dumps({k: v for k, v in json.loads(line).items() if k != "minted"}, separators=(",", ":"))
              if line.startswith('{"guid":') else line.replace('"deckgen_identity":4', '"deckgen_identity":2')
              for line in record.read_text(encoding="utf-8").splitlines()]
    record.write_text("\n".join(legacy) + "\n", encoding="utf-8")
    fresh = tmp_path / "fresh-clone-build"
    another_machine(monkeypatch, tmp_path / "elsewhere")
    assert run("check", str(mine), "-o", str(fresh)).exit_code == 0  # never reworded: the namespace mints them
    another_machine(monkeypatch, machine)

    (mine / "deck.md").write_text(QUESTIONS.replace("What is LoRA?", "What does LoRA train?"), encoding="utf-8")
    build_decks(mine, tmp_path / "build")  # reworded on the machine that built it: it vouches for the note
    assert not any(note.removed for note in record_of(mine).notes.values())  # the same note, reworded
    record.write_text("\n".join(  # as the previous release wrote it, again: no `minted`
        json.dumps({k: v for k, v in json.loads(line).items() if k != "minted"}, separators=(",", ":"))
        if line.startswith('{"guid":') else line for line in record.read_text(encoding="utf-8").splitlines()) + "\n")
    lines = record.read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, line in enumerate(lines, 1) if "What does LoRA train?" in line]
    assert run("check", str(mine), "-o", str(tmp_path / "build")).exit_code == 0
    another_machine(monkeypatch, tmp_path / "elsewhere")
    elsewhere = run("build", str(mine), "-o", str(fresh))
    assert elsewhere.exit_code == 1
    assert f"{record}:{number}:1: error: the note " in elsewhere.stderr and "--trust-record" in elsewhere.stderr
    trusted = run("build", "--trust-record", str(mine), "-o", str(fresh))
    assert trusted.exit_code == 0, trusted.output
    assert run("build", str(mine), "-o", str(fresh)).exit_code == 0  # from then on, this machine vouches for it


def test_a_record_time_to_come_is_refused_naming_its_line_and_nothing_is_written(tmp_path):
    """Times 50 years ahead were copied into the package: Anki then skipped the real author's versions as older."""
    mine = library(tmp_path / "mine")
    assert run("build", str(mine), "-o", str(tmp_path / "build")).exit_code == 0
    record = record_path(mine)
    lines = record.read_text(encoding="utf-8").splitlines()
    ahead = int(time.time()) + 50 * 365 * 86400
    lines[-1] = json.dumps({**json.loads(lines[-1]), "mtime": ahead}, separators=(",", ":"))
    record.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (mine / "deck.md").write_text(QUESTIONS + "### New?\nYes.\n", encoding="utf-8")
    before = sorted(p.name for p in (tmp_path / "build").iterdir())
    result = run("build", str(mine), "-o", str(tmp_path / "build"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{record}:{len(lines)}:1: error: identity record: a time later than now "
                                    f"({time.strftime('%Y-%m-%d', time.gmtime(ahead))}")
    assert "[future-time]" in result.stderr and "--trust-record" in result.stderr
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == before
    far = json.dumps({**json.loads(lines[-1]), "mtime": 10 ** 17}, separators=(",", ":"))
    record.write_text("\n".join(lines[:-1] + [far]) + "\n", encoding="utf-8")
    assert "a time later than now (after the year 9999)" in run("check", str(mine)).output
    record.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("build", "--trust-record", str(mine), "-o", str(tmp_path / "build")).exit_code == 0  # it is mine
    (mine / "deck.md").write_text(QUESTIONS + "### New?\nYes.\n### Newer?\nYes.\n", encoding="utf-8")
    lines[-1] = json.dumps({**json.loads(lines[-1]), "mtime": int(time.time()) + 600}, separators=(",", ":"))
    record.write_text("\n".join(lines) + "\n", encoding="utf-8")  # a clock a little ahead is no damage
    assert run("build", str(mine), "-o", str(tmp_path / "build")).exit_code == 0


def test_a_reworded_note_of_the_previous_release_is_shown_to_be_its_folders_own_by_the_records_history(
        tmp_path, monkeypatch):
    """In a git repository, an earlier commit of the record says what the note was first: the namespace mints its
    GUID from that, which no one else's history can make it do."""
    git = partial(git_in, tmp_path)
    mine = library(tmp_path / "mine")
    build_decks(mine, tmp_path / "build")
    record = record_path(mine)
    record.write_text("\n".join(  # as the previous release wrote it: no `minted`
        json.dumps({k: v for k, v in json.loads(line).items() if k != "minted"}, separators=(",", ":"))
        if line.startswith('{"guid":') else line for line in record.read_text(encoding="utf-8").splitlines()) + "\n")
    git("init", "-q")
    git("add", "mine")
    git("commit", "-q", "-m", "first")
    (mine / "deck.md").write_text(QUESTIONS.replace("What is LoRA?", "What does LoRA train?"), encoding="utf-8")
    build_decks(mine, tmp_path / "build")
    git("commit", "-q", "-am", "reworded")
    another_machine(monkeypatch, tmp_path / "elsewhere")  # a fresh clone there, history and all
    result = run("build", str(mine), "-o", str(tmp_path / "elsewhere-build"))
    assert result.exit_code == 0 and "[foreign-note]" not in result.output, result.output
    (reworded,) = [n for n in record_of(mine).notes.values() if n.question == "What does LoRA train?"]
    assert reworded.minted[3] == "what is lora?"  # the proof, kept: no history is needed any more
    shutil.rmtree(tmp_path / ".git")  # as a shallow clone of the commit that holds it
    another_machine(monkeypatch, tmp_path / "third")
    assert run("build", str(mine), "-o", str(tmp_path / "third-build")).exit_code == 0


def test_no_history_a_repository_holds_makes_another_decks_notes_its_own(tmp_path, monkeypatch):
    """Whoever wrote a repository's history, the namespace mints from it only the GUIDs it mints: commits whose
    record held another deck's notes as they were prove nothing."""
    git = partial(git_in, tmp_path)
    victim, attacker = library(tmp_path / "victim"), library(tmp_path / "attacker")
    build_decks(victim, tmp_path / "victim-build")
    build_decks(attacker, tmp_path / "attacker-build")
    git("init", "-q")
    claim(victim, attacker, keep_minted=False)
    git("add", "attacker")
    git("commit", "-q", "-m", "the victim's notes, as they were")
    another_machine(monkeypatch, tmp_path / "elsewhere")
    result = run("build", str(attacker), "-o", str(tmp_path / "elsewhere-build"))
    assert result.exit_code == 1 and result.output.count("[foreign-note]") == 2, result.output


def test_no_file_a_repository_holds_brings_times_to_come_into_a_package(tmp_path, anki, monkeypatch):
    """deckgen 0.1's identity file beside a deck, and 0.2's delivery record in build/, were read without the
    check the record has: their times (year 2100) went into the package."""
    from deckgen.places import library_tag

    year_2100 = 4_102_444_800
    mine = library(tmp_path / "mine")
    legacy = mine / "old.identity.jsonl"  # deckgen 0.1's, beside a deck old.md
    (mine / "old.md").write_text("### Old?\nFrom 0.1, long ago.\n", encoding="utf-8")
    legacy.write_text(json.dumps({
        "deckgen_identity": 1, "slug": "old", "name": "old", "version": "1.0.0", "version_mtime": year_2100,
        "description": "", "note_type": {"model_id": 1834113584, "name": "deckgen Basic", "fields": [
            "Question", "Answer", "Source", "Status"], "templates": ["Recall"], "fingerprint": "x", "mtime": 1}}) + "\n")
    result = run("build", str(mine), "-o", str(tmp_path / "build"))
    assert result.exit_code == 1 and f"{legacy}:1:1: error: identity record: a time later than now" in result.stderr
    legacy.unlink()
    (mine / "old.md").unlink()

    assert run("build", str(mine), "-o", str(tmp_path / "build")).exit_code == 0
    another_machine(monkeypatch, tmp_path / "elsewhere")  # a fresh clone, its build/ and all
    lines = record_path(mine).read_text(encoding="utf-8").splitlines()
    planted = [json.dumps({**json.loads(line), "mtime": year_2100}, separators=(",", ":"))
               if line.startswith('{"guid":') else line for line in lines]
    header = {"deckgen_delivered": 1, "library": str(mine.resolve()), "versions": {}}
    (tmp_path / "build" / f".deckgen-delivered-{library_tag(mine)}.jsonl").write_text(
        json.dumps(header) + "\n" + "\n".join(planted) + "\n")
    (mine / "deck.md").write_text(QUESTIONS + "### New?\nYes.\n", encoding="utf-8")
    assert run("build", str(mine), "-o", str(tmp_path / "build")).exit_code == 0
    anki.import_package(max((tmp_path / "build").glob("*.apkg")))
    assert max(note.mod for note in anki.notes()) < year_2100
