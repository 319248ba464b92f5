import zipfile

from deckgen.identify.note_types import BASIC
from deckgen.output.package import write_package_to
from deckgen.plan.model import PackageContent, PackageDeck, PackageNote


def write_package(plan, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        write_package_to(plan, file)


def plan(mtime=1_700_000_000, answer="<p>A</p>") -> PackageContent:
    notes = (PackageNote("g1", ("Q1", answer, "d.md:1", ""), ("t::x",), mtime, BASIC.model_id, "Deck"),
             PackageNote("g2", ("Q2", "<p>B</p>", "d.md:3", ""), (), mtime - 5, BASIC.model_id, "Deck"))
    return PackageContent(decks=(PackageDeck("Deck", "<p>d</p>"),), note_types=((BASIC, mtime),), notes=notes,
                          first_id=mtime * 1000)


def test_same_plan_same_bytes(tmp_path):
    write_package(plan(), tmp_path / "a.apkg")
    write_package(plan(), tmp_path / "b.apkg")
    assert (tmp_path / "a.apkg").read_bytes() == (tmp_path / "b.apkg").read_bytes()
    write_package(plan(answer="<p>changed</p>"), tmp_path / "c.apkg")
    assert (tmp_path / "a.apkg").read_bytes() != (tmp_path / "c.apkg").read_bytes()


def many_decks(count: int) -> PackageContent:
    """`count` decks (some with notes of three note types, one or several cards, tags, some decks empty, one a
    subdeck of removed notes)."""
    from deckgen.identify.note_types import CLOZE, REVERSED
    from deckgen.plan.model import REMOVED_SUBDECK

    names = [f"Lib::d{i:03}" for i in range(count)] + [f"Lib::d000::{REMOVED_SUBDECK}"]

    def note(i: int) -> PackageNote:
        if i % 5 == 0:
            return PackageNote(f"g{i}", ("T", "{{c1::a}} {{c3::b}}", "d.md:1", ""), ("t::x", "y"), 1_700_000_000 - i,
                               CLOZE.model_id, names[i % len(names)])
        return PackageNote(f"g{i}", ("Q", "<p>A</p>", "d.md:1", ""), ("z",) if i % 7 == 0 else (), 1_700_000_000 - i,
                           (BASIC if i % 3 else REVERSED).model_id, names[i % len(names)])

    return PackageContent(decks=tuple(PackageDeck(name, "") for name in names),
                          note_types=((BASIC, 1_700_000_000), (REVERSED, 1_600_000_000), (CLOZE, 1_650_000_000)),
                          notes=tuple(note(i) for i in range(0, 2 * count, 2)), first_id=1_700_000_000_000)


def test_many_decks_hold_what_genanki_writes_with_its_lists_written_once(tmp_path, monkeypatch):
    """genanki rewrote the collection's deck and note-type lists for every deck (time in the square of the
    number of decks); they are written once, and hold what genanki's rounds left, to the byte."""
    import sqlite3

    import genanki

    from deckgen.output import package

    def collection(path):
        with zipfile.ZipFile(path) as archive:
            archive.extract("collection.anki2", tmp_path / path.stem)
        db = sqlite3.connect(tmp_path / path.stem / "collection.anki2")
        try:
            return [db.execute(f"select * from {table} order by rowid").fetchall()
                    for table in ("col", "notes", "cards")]
        finally:
            db.close()

    updates = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(lambda statement: updates.append(statement) if "update col" in statement.lower()
                                else None)
        return conn

    monkeypatch.setattr(package.sqlite3, "connect", traced)
    write_package(many_decks(150), tmp_path / "ours.apkg")
    assert len(updates) == 1
    # genanki's own rounds
    monkeypatch.setattr(package, "_write_decks", lambda decks, cursor, timestamp, ids:
                        genanki.Package(decks).write_to_db(cursor, timestamp, ids))
    write_package(many_decks(150), tmp_path / "genanki.apkg")
    assert len(updates) > 150
    ours = collection(tmp_path / "ours.apkg")
    assert ours == collection(tmp_path / "genanki.apkg")
    assert len(ours[2]) > len(ours[1]) > 100  # several cards to some notes


def test_nothing_but_the_package_is_left_behind(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    write_package(plan(), tmp_path / "out" / "d.apkg")
    assert list(scratch.iterdir()) == []
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["d.apkg"]
    assert zipfile.ZipFile(tmp_path / "out" / "d.apkg").namelist() == ["collection.anki2", "media"]


def test_notes_keep_their_own_mtimes_in_anki(tmp_path, anki):
    write_package(plan(), tmp_path / "d.apkg")
    log = anki.import_package(tmp_path / "d.apkg")
    assert len(log.new) == 2
    assert sorted((n.guid, n.mod, n.tags) for n in anki.notes()) == [
        ("g1", 1_700_000_000, ["t::x"]), ("g2", 1_699_999_995, [])]
    model = anki.col.models.by_name("deckgen Basic")
    assert model["id"] == BASIC.model_id and model["mod"] == 1_700_000_000
    assert [f["name"] for f in model["flds"]] == ["Question", "Answer", "Source", "Status"]
    assert all(nid != 0 for nid in anki.col.find_notes(""))
    assert anki.check_database()[1]
