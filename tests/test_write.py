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
