"""`deckgen sync`: a library's packages into a real Anki collection, with what Anki owns kept.

Collections are made with the `anki` package, as a desktop user has them; each test closes its own before a
sync opens it (Anki allows one opener at a time).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.build import sync_library
from deckgen.cli import main
from deckgen.deliver.ledger import KEY_PREFIX, IdSet, NameHashes
from deckgen.deliver.profiles import Target
from deckgen.output.stamp import library_to_build

from conftest import AnkiProfile, answer_all_due, another_machine, write_deck

PRESETS = ("mergeNotetypes", "withScheduling", "withDeckConfigs", "updateNotes", "updateNotetypes")
V1_A = ("## Part\n### Stays?\nSame answer.\n\n### Edited?\nOld answer. #oldtag\n\n"
        "### Moves?\nGoes to b.\n\n### Removed?\nWill go.\n")
V1_B = "### In b?\nYes.\n\n### Studied elsewhere?\nIn the user's own deck.\n"
V2_A = "## Part\n### Stays?\nSame answer.\n\n### Edited?\nNew answer. #newtag\n"
V2_B = V1_B + "\n### Moves?\nGoes to b.\n"


def new_collection(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    AnkiProfile(path).close()
    return path


@contextmanager
def opened(path: Path):
    profile = AnkiProfile(path)
    try:
        yield profile.col
    finally:
        profile.close()


def library(tmp_path: Path, a: str, b: str | None = None, delivered: bool = False) -> tuple[Path, Path, Path]:
    """A notes folder (`src`) of the decks "a" and, with `b`, "b"; its output folder; a new collection, into
    which the folder is synced (`delivered`), as long ago."""
    src, out = tmp_path / "src", tmp_path / "out"
    collection = new_collection(tmp_path / "anki" / "collection.anki2")
    write_deck(src, "a", a)
    if b is not None:
        write_deck(src, "b", b)
    if delivered:
        sync(src, out, collection, time.time() - 1000)
    return src, out, collection


def sync(src: Path, out: Path, collection: Path, now: float | None = None):
    return sync_library(src, library_to_build(src, out), Target(collection, collection.parent / "backups"), now=now)


def cli(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def note_of(col, question: str):
    found = [col.get_note(nid) for nid in col.find_notes("") if col.get_note(nid).fields[0].endswith(question)]
    assert len(found) == 1, question
    return found[0]


def decks_of(col, note) -> set[str]:
    return {col.decks.name(card.current_deck_id()) for card in note.cards()}


def snapshot(path: Path) -> dict:
    """Everything a failed sync must leave as it was, read with plain SQLite."""
    with sqlite3.connect(path) as db:
        found = {table: db.execute(f"select * from {table} order by 1").fetchall()
                 for table in ("notes", "cards", "revlog", "config", "graves", "decks", "notetypes")}
        found["col"] = db.execute("select mod, scm, usn, ls from col").fetchall()
    db.close()
    return found


def test_v1_then_v2_keeps_tags_moves_cards_suspends_removed_and_matches_anki(tmp_path):
    src, out, collection = library(tmp_path, V1_A, V1_B)
    now = time.time() - 1000
    _, first = sync(src, out, collection, now)
    assert first.stopped is None and [(p.new, p.updated, p.previous) for p in first.packages] == [(6, 0, None)]
    with opened(collection) as col:
        assert col.get_config(KEY_PREFIX + (src / "deckgen.toml").read_text().split('"')[1]) is not None
        assert [col.get_config(key, "none") for key in PRESETS] == ["none"] * 5  # as a new collection has them
        edited = note_of(col, "Edited?")
        written_v1 = set(edited.tags)
        assert "oldtag" in written_v1
        edited.tags += ["marked", "leech", "my_own"]
        col.update_note(edited)
        stays = note_of(col, "Stays?")
        stays.tags.append("my_own")
        col.update_note(stays)
        own_deck = col.decks.id("My own deck")
        col.set_deck([card.id for card in note_of(col, "Studied elsewhere?").cards()], own_deck)
        profile = AnkiProfile.__new__(AnkiProfile)
        profile.col = col
        assert answer_all_due(profile, "a") == 4
        presets = {"mergeNotetypes": True, "withScheduling": True, "withDeckConfigs": True, "updateNotes": 1,
                   "updateNotetypes": 2}
        for key, value in presets.items():
            col.set_config(key, value)
        reviews = col.db.scalar("select count() from revlog")
        schema = col.db.scalar("select scm from col")
    backups = set((collection.parent / "backups").glob("backup-*.colpkg"))
    copy = tmp_path / "copy" / "collection.anki2"
    copy.parent.mkdir()
    shutil.copy(collection, copy)

    write_deck(src, "a", V2_A)
    write_deck(src, "b", V2_B)
    built, delivered = sync(src, out, collection, time.time() + 5)  # after the edits made in Anki
    assert delivered.stopped is None
    [report] = delivered.packages
    with opened(copy) as col:  # the same package, through Anki's importer with the desktop's defaults
        options = col._backend.get_import_anki_package_presets()
        options.merge_notetypes = options.with_scheduling = options.with_deck_configs = False
        options.update_notes = options.update_notetypes = 0  # the dialog's defaults: if newer
        from anki.collection import ImportAnkiPackageRequest
        log = col.import_anki_package(ImportAnkiPackageRequest(package_path=str(built.packages[0].path),
                                                               options=options)).log
    assert (report.new, report.updated, report.unchanged) == (len(log.new), len(log.updated), len(log.duplicate))
    assert (report.new, report.updated, report.moved, report.suspended) == (0, 3, 1, 1)
    with opened(collection) as col:
        edited = note_of(col, "Edited?")
        assert "New answer." in edited.fields[1]
        assert {"marked", "leech", "my_own", "newtag"} <= set(edited.tags) and "oldtag" not in edited.tags
        assert "my_own" in note_of(col, "Stays?").tags
        assert decks_of(col, note_of(col, "Moves?")) == {"b"}
        assert decks_of(col, note_of(col, "Studied elsewhere?")) == {"My own deck"}
        removed = note_of(col, "Removed?")
        assert "deckgen::removed" in removed.tags
        assert {card.queue for card in removed.cards()} == {-1}
        assert col.db.scalar("select count() from revlog") == reviews
        assert col.db.scalar("select scm from col") == schema
        assert {key: col.get_config(key) for key in PRESETS} == presets
        assert col.fix_integrity()[1]
    assert len(set((collection.parent / "backups").glob("backup-*.colpkg")) - backups) == 1
    assert delivered.backup is not None and delivered.backup.is_file()

    write_deck(src, "a", V1_A)  # the removed question comes back: deckgen unsuspends what it suspended
    write_deck(src, "b", V1_B)
    _, again = sync(src, out, collection, time.time() + 10)
    assert again.packages[0].restored == 1
    with opened(collection) as col:
        assert {card.queue for card in note_of(col, "Removed?").cards()} != {-1}
        assert decks_of(col, note_of(col, "Moves?")) == {"a"}
    _, same = sync(src, out, collection, time.time() + 15)
    assert same.up_to_date


def test_a_conflict_found_in_the_rehearsal_changes_nothing(tmp_path):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    with opened(collection) as col:  # the user adds a field to deckgen's note type
        model = col.models.by_name("deckgen Basic")
        col.models.add_field(model, col.models.new_field("My notes"))
        col.models.update_dict(model)
    before = snapshot(collection)
    write_deck(src, "a", V2_A)
    result = cli("sync", src, "-o", out, "--collection", collection)
    assert result.exit_code == 1
    assert "  a.md:5: not updated by Anki: Edited?\n" in result.stderr
    assert "Stays?" not in result.stderr  # Anki names all four: those with a change are listed
    assert "Anki would not update 4 note(s)" in result.stderr and "Nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(collection) == before

    time.sleep(1)  # a person takes a second: Anki updates no note whose time is the package's, even when told to
    with opened(collection) as col:  # the way out it gives: the field removed, every note rewritten by it
        model = col.models.by_name("deckgen Basic")
        col.models.remove_field(model, model["flds"][-1])
        col.models.update_dict(model)
    kept = cli("sync", src, "-o", out, "--collection", collection)
    assert kept.exit_code == 0, kept.output
    assert "0 new, 0 updated, 1 unchanged" in kept.stdout  # the three kept are not unchanged
    assert "Anki kept its own copy of 3 note(s)" in kept.stderr and "  a.md:5: kept as Anki has it: Edited?" in \
        kept.stderr
    with opened(collection) as col:
        assert "Old answer." in note_of(col, "Edited?").fields[1]
    overwritten = cli("sync", src, "-o", out, "--collection", collection, "--overwrite-anki-edits")
    assert overwritten.exit_code == 0 and "kept" not in overwritten.stderr, overwritten.output
    with opened(collection) as col:
        assert "New answer." in note_of(col, "Edited?").fields[1]


def test_a_collection_open_in_another_process_is_refused_and_left_as_it_was(tmp_path):
    src, out, collection = library(tmp_path, V1_A)
    holder = subprocess.Popen([sys.executable, "-c", "import sys\nfrom anki.collection import Collection\n"
                               f"col = Collection({str(collection)!r})\nprint('open', flush=True)\nsys.stdin.read()\n"
                               "col.close()\n"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        data = collection.read_bytes()
        result = cli("sync", src, "-o", out, "--collection", collection)
        assert result.exit_code == 1
        assert "Anki has this collection open" in result.output and "File > Import" in result.output
        assert "Traceback" not in result.output
        assert collection.read_bytes() == data
        assert not out.exists() and not (collection.parent / "backups").exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


def test_notes_another_library_delivered_are_never_updated(tmp_path):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    with opened(collection) as col:
        nid = note_of(col, "Edited?").id
        col.set_config(KEY_PREFIX + "someone-else", {"deckgen_ledger": 1, "library": "their-notes",
                                                     "notes": IdSet([nid]).encode()})
    before = snapshot(collection)
    write_deck(src, "a", V2_A)
    result = cli("sync", src, "-o", out, "--collection", collection)
    assert result.exit_code == 1
    assert "delivered to this collection by another library ('their-notes', config key 'deckgen:someone-else')" in \
        result.output.replace('\n', ' ')
    assert snapshot(collection) == before


def test_a_second_computer_knows_what_the_collection_holds(tmp_path, monkeypatch):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    another_machine(monkeypatch, tmp_path / "laptop")
    shutil.rmtree(out)
    data = collection.read_bytes()
    _, delivered = sync(src, out, collection)
    assert delivered.up_to_date and collection.read_bytes() == data


def test_the_one_profile_is_found_and_backed_up_where_anki_looks(tmp_path, monkeypatch):
    base = tmp_path / "Anki2"
    collection = new_collection(base / "User 1" / "collection.anki2")
    with sqlite3.connect(base / "prefs21.db") as db:
        db.execute("create table profiles (name text primary key collate nocase, data blob not null)")
        db.executemany("insert into profiles values (?, ?)", [("_global", b"\x80"), ("User 1", b"\x80")])
    db.close()
    monkeypatch.setenv("ANKI_BASE", str(base))
    write_deck(tmp_path / "src", "a", V1_A)
    result = cli("sync", tmp_path / "src", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "4 new" in result.output and "(first sync)" in result.output
    assert len(list((base / "User 1" / "backups").glob("backup-*.colpkg"))) == 1
    with opened(collection) as col:
        assert len(col.find_notes("")) == 4
    wrong = cli("sync", tmp_path / "src", "-o", tmp_path / "out", "--profile", "User 2")
    assert wrong.exit_code == 1
    assert wrong.output == f"Error: no Anki profile named 'User 2' in {base}; its profiles: User 1\n"


def test_one_clear_line_and_nothing_written_when_sync_cannot_run(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "a", V1_A)
    too_new = new_collection(tmp_path / "new" / "collection.anki2")
    with sqlite3.connect(too_new) as db:
        db.execute("update col set ver = 99")
    db.close()
    data = too_new.read_bytes()
    result = cli("sync", src, "-o", out, "--collection", too_new)
    assert result.exit_code == 1
    assert result.output == (f"Error: {too_new}: this collection was written by a newer Anki than the anki package "
                             "installed here can open; upgrade it (pip install -U 'deckgen[anki]')\n")
    assert too_new.read_bytes() == data and not out.exists()

    missing = cli("sync", src, "-o", out, "--collection", tmp_path / "nope.anki2")
    assert missing.exit_code == 1 and missing.output.count("\n") == 1 and "no such collection file" in missing.output

    collection = new_collection(tmp_path / "anki" / "collection.anki2")
    data = collection.read_bytes()
    blocked = subprocess.run([sys.executable, "-c", "import sys\nsys.modules['anki'] = None\n"
                              "from deckgen.cli import run\nsys.argv = ['deckgen'] + sys.argv[1:]\nrun()\n",
                              "sync", str(src), "-o", str(out), "--collection", str(collection)],
                             capture_output=True, text=True)
    assert blocked.returncode == 1
    assert blocked.stderr == "Error: deckgen sync needs the anki package: pip install 'deckgen[anki]'\n"
    assert collection.read_bytes() == data and not out.exists()


def test_json_reports_of_build_diff_and_sync(tmp_path):
    src, out, collection = library(tmp_path, V1_A)
    built = json.loads(cli("build", src, "-o", out, "--format", "json").stdout)
    assert built["ok"] and built["packages"][0]["counts"]["new"] == 4
    assert built["packages"][0]["path"] == str(out / "a-1.0.0.apkg")
    write_deck(src, "a", V2_A)
    diff = json.loads(cli("diff", src, "-o", out, "--format", "json").stdout)
    assert diff["ok"] and {c["kind"] for c in diff["packages"][0]["changes"]} == {"changed", "removed"}
    result = cli("sync", src, "-o", out, "--collection", collection, "--format", "json")
    assert result.exit_code == 0, result.output
    synced = json.loads(result.stdout)
    assert synced["ok"] and synced["packages"][0]["new"] == 4 and synced["packages"][0]["conflicts"] == []
    assert synced["backup"] and Path(synced["backup"]).is_file()
    failed = cli("sync", src, "-o", out, "--collection", tmp_path / "nope.anki2", "--format", "json")
    assert failed.exit_code == 1 and json.loads(failed.stdout)["ok"] is False


def desktop_and_phone(tmp_path: Path, src: Path, out: Path, endpoint: str):
    """A desktop collection the notes folder `src` is synced into (as long ago), and a phone, each synced through
    Anki's sync server at `endpoint` (the desktop's first sync a full upload): (its path, desktop, phone)."""
    from conftest import SyncedProfile

    desktop_path = new_collection(tmp_path / "desktop" / "collection.anki2")
    (tmp_path / "phone").mkdir()
    sync(src, out, desktop_path, time.time() - 1000)
    desktop = SyncedProfile(desktop_path, endpoint)
    desktop.sync(upload=True)  # the first sync of a collection: a full one
    phone = SyncedProfile(tmp_path / "phone" / "collection.anki2", endpoint)
    phone.sync()
    return desktop_path, desktop, phone


def test_through_anki_sync_server_the_phone_gets_the_moves_kept_tags_and_suspensions(tmp_path):
    from conftest import SyncedProfile, reviews_by_card, sync_server

    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "a", V1_A)
    write_deck(src, "b", V1_B)
    with sync_server(tmp_path / "server") as endpoint:
        desktop_path, desktop, phone = desktop_and_phone(tmp_path, src, out, endpoint)
        assert answer_all_due(phone, "a") == 4
        phone.sync()
        desktop.sync()
        edited = note_of(desktop.col, "Edited?")
        edited.tags += ["marked", "my_own"]
        desktop.col.update_note(edited)
        desktop.sync()
        desktop.close()

        write_deck(src, "a", V2_A)
        write_deck(src, "b", V2_B)
        _, delivered = sync(src, out, desktop_path, time.time() + 5)
        assert delivered.stopped is None and delivered.packages[0].moved == 1

        desktop = SyncedProfile(desktop_path, endpoint)
        desktop.sync()
        phone.sync()
        col = phone.col
        assert "New answer." in note_of(col, "Edited?").fields[1]
        assert {"marked", "my_own", "newtag"} <= set(note_of(col, "Edited?").tags)
        assert decks_of(col, note_of(col, "Moves?")) == {"b"}
        assert {card.queue for card in note_of(col, "Removed?").cards()} == {-1}
        assert reviews_by_card(phone) == reviews_by_card(desktop) and sum(reviews_by_card(phone).values()) == 4
        assert desktop.syncs[1:] + phone.syncs[1:] and set(desktop.syncs[1:] + phone.syncs[1:]) <= {
            "NORMAL_SYNC", "NO_CHANGES"}
        assert phone.check_database()[1] and desktop.check_database()[1]
        desktop.close()
        phone.close()


def test_a_note_no_package_carries_any_more_is_suspended_too(tmp_path):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    with open(src / "deckgen.toml", "a") as settings:  # removed notes are carried by no package at all
        settings.write("keep_removed_versions = 0\nkeep_removed_days = 0\n")
    write_deck(src, "a", V2_A)
    built, delivered = sync(src, out, collection, time.time() + 5)
    assert "Removed?" not in {note.fields[0] for note in built.packages[0].plan.package.notes}
    assert delivered.gone == 2  # "Moves?" and "Removed?"
    with opened(collection) as col:
        assert {card.queue for card in note_of(col, "Removed?").cards()} == {-1}
        assert {card.queue for card in note_of(col, "Stays?").cards()} == {0}


def test_sync_says_what_it_did_instead_of_what_to_do_by_hand(tmp_path):
    src, out, collection = library(tmp_path, V1_A, V1_B, delivered=True)
    write_deck(src, "a", V2_A)
    write_deck(src, "b", V2_B)
    shown = cli("diff", src, "-o", out)
    assert "Anki's import never moves a card" in shown.output  # what an import by hand leaves to the user
    result = cli("sync", src, "-o", out, "--collection", collection)
    assert result.exit_code == 0, result.output
    assert "Anki's import never moves a card" not in result.output
    assert result.stdout.splitlines()[-1] == (
        f"src 1.0.0 -> 1.0.1 -> {collection}: 0 new, 3 updated, 3 unchanged, 1 card(s) moved, "
        "1 card(s) suspended")


def test_the_first_sync_of_a_deck_imported_by_hand_changes_no_note(tmp_path):
    """The collection holds the package already (imported with File > Import): the import changes nothing, and
    the sync only records what the collection holds."""
    from deckgen import build_decks

    src, out, collection = library(tmp_path, V1_A)
    built = build_decks(src, out, now=time.time() - 1000)
    profile = AnkiProfile(collection)
    profile.import_package(built.packages[0].path)
    note = note_of(profile.col, "Edited?")
    note.tags.append("marked")
    profile.col.update_note(note)
    notes = {n.guid: (n.id, n.fields, n.tags, n.mod) for n in profile.notes()}
    profile.close()
    _, delivered = sync(src, out, collection)
    assert [(p.new, p.updated, p.unchanged) for p in delivered.packages] == [(0, 0, 4)]
    with opened(collection) as col:
        assert {n.guid: (n.id, n.fields, n.tags, n.mod) for n in map(col.get_note, col.find_notes(""))} == notes
    _, again = sync(src, out, collection)
    assert again.up_to_date


def test_the_ledger_keeps_ids_and_names_small_and_reads_nothing_it_did_not_write():
    from deckgen.deliver.ledger import IdSet, LedgerProblem, read_ledger

    package = range(1_796_000_000_000, 1_796_000_020_000, 2)  # a package's notes: every second id (cards between)
    grown = [1_796_000_000_000 + 7_777_777 * n for n in range(1000)]  # a note added by each of 1,000 builds
    for ids, most in ((package, 100), (grown, 7000)):
        encoded = IdSet(ids).encode()
        assert len(encoded) < most and IdSet.decode(encoded).ids == set(ids)
    assert 1_796_000_000_002 in IdSet(package) and 1_796_000_000_001 not in IdSet(package)
    names = NameHashes.decode(NameHashes.of(["Topic::RAG", "marked"]).encode())
    assert "topic::rag" in names and "marked" in names and "topic" not in names
    import base64
    import zlib
    bomb = base64.b64encode(zlib.compress(b"\x01" * (IdSet.MAX_BYTES + 1))).decode()
    for wrong in ({"deckgen_ledger": 3}, {"deckgen_ledger": 1, "x": 1}, [], "deckgen", {"deckgen_ledger": 1,
                  "tags": "abc"}, {"deckgen_ledger": 1, "decks": "AAAA"}, {"deckgen_ledger": 1, "notes": "AAAA"},
                  {"deckgen_ledger": 1, "notes": bomb}, {"deckgen_ledger": 1, "notes": [[1, 1, 1]]}):
        with pytest.raises(LedgerProblem):
            read_ledger(wrong)


def test_a_card_the_user_moved_between_the_librarys_decks_stays_where_they_put_it(tmp_path):
    src, out, collection = library(tmp_path, V1_A, V1_B, delivered=True)
    with opened(collection) as col:
        col.set_deck([card.id for card in note_of(col, "In b?").cards()], col.decks.id_for_name("a"))
        config = {key: col.get_config(key) for key in col.all_config() if key.startswith(KEY_PREFIX)}
    assert len(json.dumps(config)) < 400  # six notes, their tags and decks: no list of notes
    write_deck(src, "b", V1_B.replace("Yes.", "Yes, edited."))
    _, delivered = sync(src, out, collection, time.time() + 5)
    assert delivered.packages[0].updated == 1 and delivered.packages[0].moved == 0
    with opened(collection) as col:
        assert decks_of(col, note_of(col, "In b?")) == {"a"}


def own_ledger_key(src: Path) -> str:
    return KEY_PREFIX + (src / "deckgen.toml").read_text().split('"')[1]


def test_a_crafted_ledger_never_reaches_cards_outside_the_library(tmp_path):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    with opened(collection) as col:  # the user's own note, and a ledger claiming every id there is
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"], note["Back"] = "Mine", "All mine"
        col.add_note(note, col.decks.id("My deck"))
        ledger = col.get_config(own_ledger_key(src))
        every = col.db.list("select id from notes") + col.db.list("select id from cards")
        ledger["notes"] = ledger["suspended"] = IdSet(every).encode()
        ledger["decks"] = NameHashes.of(["a", "My deck"]).encode()
        col.set_config(own_ledger_key(src), ledger)
    write_deck(src, "a", V2_A)
    _, delivered = sync(src, out, collection, time.time() + 5)
    assert delivered.stopped is None
    with opened(collection) as col:
        mine = note_of(col, "Mine")
        assert {card.queue for card in mine.cards()} == {0} and decks_of(col, mine) == {"My deck"}


def test_a_sync_killed_half_way_leaves_the_collection_as_it_was(tmp_path):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    with opened(collection) as col:
        edited = note_of(col, "Edited?")
        edited.tags += ["marked", "my_own"]
        col.update_note(edited)
    before = snapshot(collection)
    write_deck(src, "a", V2_A)
    time.sleep(1.1)  # the build's second after the tagging's: Anki updates a note only when it is newer
    killed = subprocess.run([sys.executable, "-c", (
        "import os, sys, time\n"
        "from deckgen.deliver import collection\n"
        "collection._Delivery._keep_tags = lambda *args: os._exit(9)  # as kill -9 right after the import\n"
        "from deckgen.cli import run\n"
        f"sys.argv = ['deckgen', 'sync', {str(src)!r}, '-o', {str(out)!r}, '--collection', {str(collection)!r}]\n"
        "run()\n")], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    assert snapshot(collection) == before
    _, delivered = sync(src, out, collection, time.time() + 5)
    assert delivered.packages[0].updated == 3
    with opened(collection) as col:
        assert {"marked", "my_own"} <= set(note_of(col, "Edited?").tags)


def test_marked_and_leech_stay_the_users_even_where_the_markdown_writes_them(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    collection = new_collection(tmp_path / "anki" / "collection.anki2")
    write_deck(src, "a", V1_A + "\n### Tagged?\nYes. #marked #leech\n")
    sync(src, out, collection, time.time() - 1000)
    with opened(collection) as col:
        edited = note_of(col, "Edited?")
        edited.tags += ["marked", "leech"]
        col.update_note(edited)
    write_deck(src, "a", V2_A + "\n### Tagged?\nYes. #marked #leech\n")
    sync(src, out, collection, time.time() + 5)
    with opened(collection) as col:
        assert {"marked", "leech"} <= set(note_of(col, "Edited?").tags)


def test_another_computers_version_of_the_same_number_is_delivered(tmp_path, monkeypatch):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    laptop = tmp_path / "laptop-notes"
    shutil.copytree(src, laptop)
    write_deck(src, "a", V2_A)
    first, _ = sync(src, out, collection, time.time() - 500)
    another_machine(monkeypatch, tmp_path / "laptop")
    write_deck(laptop, "a", V1_A.replace("Same answer.", "Another answer."))
    second, delivered = sync(laptop, tmp_path / "laptop-out", collection, time.time() + 5)
    assert first.packages[0].plan.version == second.packages[0].plan.version  # one number, other notes
    assert not delivered.up_to_date and delivered.packages[0].updated >= 1
    with opened(collection) as col:
        assert "Another answer." in note_of(col, "Stays?").fields[1]


def test_a_newer_deckgens_ledger_is_never_overwritten(tmp_path):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    with opened(collection) as col:
        col.set_config(own_ledger_key(src), {"deckgen_ledger": 3, "anything": ["new"]})
    before = snapshot(collection)
    write_deck(src, "a", V2_A)
    result = cli("sync", src, "-o", out, "--collection", collection)
    assert result.exit_code == 1 and "a newer deckgen delivered this notes folder" in result.output
    assert snapshot(collection) == before


def test_a_library_of_several_packages_delivers_each_one_that_changed(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    collection = new_collection(tmp_path / "anki" / "collection.anki2")
    write_deck(src / "os", "memory", "### What is a page?\nA block of virtual memory.\n")
    write_deck(src / "net", "tcp", "### How many packets open a TCP connection?\nThree.\n")
    (src / "deckgen.toml").write_text('packages = "folder"\n')
    _, first = sync(src, out, collection, time.time() - 1000)
    assert sorted((p.key, p.new) for p in first.packages) == [("net", 1), ("os", 1)]
    write_deck(src / "net", "tcp", "### How many packets open a TCP connection?\nThree: SYN, SYN-ACK, ACK.\n")
    _, second = sync(src, out, collection, time.time() + 5)
    assert [(p.key, p.previous, p.updated) for p in second.packages] == [("net", "1.0.0", 1)]
    with opened(collection) as col:
        assert "SYN-ACK" in note_of(col, "How many packets open a TCP connection?").fields[1]


def test_with_several_packages_a_card_the_user_put_in_another_packages_deck_stays(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    collection = new_collection(tmp_path / "anki" / "collection.anki2")
    write_deck(src / "os", "memory", "### What is a page?\nA block of virtual memory.\n\n### What is a frame?\nRAM.\n")
    write_deck(src / "net", "tcp", "### How many packets open a TCP connection?\nThree.\n")
    (src / "deckgen.toml").write_text('packages = "folder"\n')
    sync(src, out, collection, time.time() - 1000)
    with opened(collection) as col:
        col.set_deck([card.id for card in note_of(col, "What is a page?").cards()], col.decks.id_for_name("net::tcp"))
    write_deck(src / "os", "memory", "### What is a page?\nA block of virtual memory.\n\n### What is a frame?\nA "
                                     "page of RAM.\n")
    _, delivered = sync(src, out, collection, time.time() + 5)
    assert [(p.key, p.updated, p.moved) for p in delivered.packages] == [("os", 1, 0)]
    with opened(collection) as col:
        assert decks_of(col, note_of(col, "What is a page?")) == {"net::tcp"}


def test_deckgen_unsuspends_only_cards_it_suspended_that_stayed_suspended(tmp_path):
    src, out, collection = library(tmp_path, V1_A, delivered=True)
    write_deck(src, "a", V1_A.replace("### Removed?\nWill go.\n", ""))
    assert sync(src, out, collection, time.time() - 900)[1].packages[0].suspended == 1
    with opened(collection) as col:  # the user takes it back at once
        col.sched.unsuspend_cards([card.id for card in note_of(col, "Removed?").cards()])
    write_deck(src, "a", V1_A)
    assert sync(src, out, collection, time.time() - 800)[1].packages[0].restored == 0
    with opened(collection) as col:  # later, the user suspends it on purpose
        col.sched.suspend_cards([card.id for card in note_of(col, "Removed?").cards()])
    write_deck(src, "a", V1_A.replace("Same answer.", "Same answer, edited."))
    assert sync(src, out, collection, time.time() + 5)[1].packages[0].restored == 0
    with opened(collection) as col:
        assert {card.queue for card in note_of(col, "Removed?").cards()} == {-1}


def test_the_first_sync_after_imports_by_hand_suspends_removed_notes_and_unsuspends_returned_ones(tmp_path):
    from deckgen import build_decks

    src, out = tmp_path / "src", tmp_path / "out"
    collection = new_collection(tmp_path / "anki" / "collection.anki2")
    write_deck(src, "a", V1_A + "\n### Back later?\nYes.\n")
    profile = AnkiProfile(collection)
    profile.import_package(build_decks(src, out, now=time.time() - 1000).packages[0].path)
    write_deck(src, "a", V1_A.replace("### Removed?\nWill go.\n", ""))  # "Back later?" and "Removed?" removed
    profile.import_package(build_decks(src, out, now=time.time() - 900).packages[0].path)
    back = note_of(profile.col, "Back later?")
    profile.col.sched.suspend_cards([card.id for card in back.cards()])  # as README asked of removed notes
    profile.close()
    write_deck(src, "a", V1_A.replace("### Removed?\nWill go.\n", "") + "\n### Back later?\nYes.\n")
    _, delivered = sync(src, out, collection, time.time() + 5)
    assert (delivered.packages[0].suspended, delivered.packages[0].restored) == (1, 1)
    with opened(collection) as col:
        assert {card.queue for card in note_of(col, "Removed?").cards()} == {-1}
        assert {card.queue for card in note_of(col, "Back later?").cards()} == {0}


def test_a_backup_that_cannot_be_written_is_one_line_and_changes_nothing(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    collection = new_collection(tmp_path / "anki" / "collection.anki2")
    (collection.parent / "backups").write_text("not a folder")
    write_deck(src, "a", V1_A)
    before = snapshot(collection)
    result = cli("sync", src, "-o", out, "--collection", collection)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: ") and "nothing was changed in the collection" in result.output
    assert snapshot(collection) == before
    as_json = cli("sync", src, "-o", out, "--collection", collection, "--format", "json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["ok"] is False


def test_a_sync_after_no_change_builds_nothing_and_delivers_nothing(tmp_path):
    src, out, collection = library(tmp_path, V1_A)
    first = cli("sync", src, "-o", out, "--collection", collection)
    assert first.exit_code == 0, first.output
    package = out / "a-1.0.0.apkg"
    written = package.stat().st_mtime_ns
    again = cli("sync", src, "-o", out, "--collection", collection)
    assert again.exit_code == 0 and package.stat().st_mtime_ns == written
    assert again.stdout == (f"a 1.0.0: 4 notes -> {package} (nothing changed)\n"
                            f"{collection}: up to date (it holds every package's newest version)\n")
    fresh = new_collection(tmp_path / "other" / "collection.anki2")  # the last build's package, into another
    other = json.loads(cli("sync", src, "-o", out, "--collection", fresh, "--format", "json").stdout)
    assert other["build"]["nothing_changed"] and other["packages"][0]["new"] == 4
