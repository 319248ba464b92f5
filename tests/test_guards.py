"""Guards, in real collections: GUIDs no other project mints, note types that never fork, names Anki misreads."""

from __future__ import annotations

import dataclasses
import pytest
from click.testing import CliRunner

from deckgen import build_decks
from deckgen.identify import note_types as note_types_module
from deckgen.build import check_library
from deckgen.cli import main
from deckgen.errors import BuildError
from deckgen.identify.matcher import identify_decks
from deckgen.identify.record import EMPTY
from deckgen.names import anki_takes_for_backup, package_file_name
from deckgen.sources.library import DeckFile, DeckSource
from deckgen.identify.note_type_guard import DeckNoteType
from deckgen.identify.note_types import BASIC, CLOZE
from deckgen.parse.questions import parse_source
from deckgen.sources.settings import DeckSettings

from conftest import answer_all_due, record_of, record_path, reviews_by_card, write_deck

T = 1_800_000_000
LORA = "### What is LoRA?\n{answer}\n### What is RAG?\nRetrieval, then generation.\n"


def only_deck(report):
    (deck,) = report.packages
    return deck


# 1. Two projects that did not copy each other's files never mint the same GUID.

def test_another_projects_deck_with_the_same_questions_never_updates_yours(tmp_path, anki):
    mine = write_deck(tmp_path / "mine", "notes", LORA.format(answer="Low-rank adapters, my own words."))
    theirs = write_deck(tmp_path / "theirs", "notes", LORA.format(answer="Their answer, from a course."),
                        'name = "Their course"\n')
    first = only_deck(build_decks(mine.parent, tmp_path / "out-mine", now=T))
    assert len(anki.import_package(first.path).new) == 2
    answer_all_due(anki, "notes")
    reviews = reviews_by_card(anki)
    second = only_deck(build_decks(theirs.parent, tmp_path / "out-theirs", now=T + 100))
    log = anki.import_package(second.path)
    assert (len(log.new), len(log.updated), len(log.conflicting)) == (2, 0, 0)
    mine_now = [n for n in anki.notes() if "my own words" in n["Answer"]]
    assert len(mine_now) == 1 and reviews_by_card(anki) == reviews
    assert (mine.parent / "deckgen.toml").read_text() != (theirs.parent / "deckgen.toml").read_text()


def test_two_decks_of_one_folder_with_the_same_file_name_mint_different_guids(tmp_path):
    def deck(key):
        source = DeckSource(file=DeckFile(tmp_path / f"{key}.md", key, f"{key}.md"), text="### Why?\nBecause.\n",
                            settings=DeckSettings(name=key, slug="readme"))
        return parse_source(source)

    decks = [deck("a/README"), deck("b/README")]
    found = identify_decks(decks, EMPTY, {d.source.file.key: DeckNoteType(BASIC, "new") for d in decks}, "ns")
    (a,), (b,) = [d.notes for d in found]
    assert a.guid != b.guid
    other = identify_decks(decks, EMPTY, {d.source.file.key: DeckNoteType(BASIC, "new") for d in decks}, "ns2")
    assert {n.guid for d in other for n in d.notes}.isdisjoint({a.guid, b.guid})


def test_the_first_build_writes_the_namespace_and_the_next_one_has_nothing_to_do(tmp_path):
    src = tmp_path / "src"
    write_deck(src, "deck", "### Q?\nA.\n")
    (src / "deckgen.toml").write_text("# my settings\n", encoding="utf-8")
    first = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "out")])
    assert first.exit_code == 0 and f"wrote {src / 'deckgen.toml'}" in first.stdout
    text = (src / "deckgen.toml").read_text(encoding="utf-8")
    assert text.endswith("\n# my settings\n") and 'namespace = "' in text  # the author's lines kept
    again = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "out")])
    assert again.exit_code == 0 and "(nothing changed)" in again.stdout and "wrote" not in again.stdout
    assert (src / "deckgen.toml").read_text(encoding="utf-8") == text


@pytest.mark.parametrize("text, where, what", [
    ('\nnamespace = "no spaces allowed"\n', "2:1", "invalid namespace 'no spaces allowed'"),
    ('namespace = ""\n', "1:1", "invalid namespace ''"),
    ("\n[namespace]\nx = 1\n", "2:1", "setting 'namespace' must be a str"),
    ('colour = "red"\n', "1:1", "unknown setting 'colour' (known: namespace, keep_removed_versions, "
                                 "keep_removed_days, slug, version, packages, prefix, include, max_image_mib, source_url, "
                                 "plugin_files, suspend_removed, question_level, cards, topics, inline_tags, question_context, exclude)"),
    ('namespace = "abc\n', "1:17", "invalid settings"),
])
def test_bad_folder_settings_are_an_error_naming_the_line(tmp_path, text, where, what):
    src = tmp_path / "src"
    write_deck(src, "deck", "### Q?\nA.\n")
    (src / "deckgen.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{src / 'deckgen.toml'}:{where}: error: {what}" in result.stderr
    assert not (tmp_path / "out").exists() and not record_path(src).exists()
    assert (src / "deckgen.toml").read_text(encoding="utf-8") == text


def test_a_namespace_lost_after_building_is_warned_about_once(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "deck", "### Q?\nA.\n")
    build_decks(src, out)
    (src / "deckgen.toml").unlink()
    first = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert first.exit_code == 0 and "[namespace-new]" in first.stderr and "git checkout -- deckgen.toml" in first.stderr
    again = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert "(nothing changed)" in again.stdout and "namespace-new" not in again.output


def test_settings_linked_from_outside_are_not_read_nor_written(tmp_path):
    src, elsewhere = tmp_path / "src", tmp_path / "elsewhere.toml"
    write_deck(src, "deck", "### Q?\nA.\n")
    elsewhere.write_text('namespace = "theirs"\n')
    (src / "deckgen.toml").symlink_to(elsewhere)
    assert "link-outside" in {d.code for d in check_library(src).diagnostics}
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "writes nothing" in result.output
    assert elsewhere.read_text() == 'namespace = "theirs"\n'


# 2. --new-note-type is a real fresh start.

def test_a_fresh_start_after_a_note_type_change_imports_only_new_notes(tmp_path, anki, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "deck", LORA.format(answer="Low-rank adapters."))
    # The note type as a previous release might have had it: another field name, under the same id.
    monkeypatch.setitem(note_types_module.NOTE_TYPES, "basic",
                        dataclasses.replace(BASIC, fields=("Front",) + BASIC.fields[1:]))
    first = only_deck(build_decks(src, out, now=T))
    monkeypatch.undo()
    assert len(anki.import_package(first.path).new) == 2
    answer_all_due(anki, "deck")
    reviews = reviews_by_card(anki)
    old_ids = {n.id for n in anki.notes()}
    with pytest.raises(BuildError):
        build_decks(src, out, now=T + 100)
    second = only_deck(build_decks(src, out, now=T + 100, allow_new_note_type=True))
    log = anki.import_package(second.path)
    names = sorted(model["name"] for model in anki.col.models.all())
    assert [name for name in names if name.startswith("deckgen")] == ["deckgen Basic", "deckgen Basic 2"]  # no fork
    assert (len(log.new), len(log.conflicting)) == (2, 0)
    left = {n.id for n in anki.notes() if "deckgen::replaced" in n.tags}
    assert left == old_ids and reviews_by_card(anki) == reviews  # the old notes kept their history, tagged
    assert second.plan.note_type_change == "fresh start"
    assert second.plan.decks[0].note_type.model_id != BASIC.model_id
    third = only_deck(build_decks(src, out, now=T + 200))  # and from then on as usual
    assert (third.plan.changes, third.plan.version) == ((), second.plan.version)
    guids = {n.guid: n for n in record_of(src).notes.values()}
    assert len(guids) == 4 and sum(n.model == BASIC.model_id for n in guids.values()) == 2  # no GUID minted twice
    assert anki.check_database()[1]


def test_a_fresh_start_after_changing_cards_tags_the_old_notes(tmp_path, anki):
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", "### LoRA\nLow-rank adaptation\n### RAG\nRetrieval first\n")
    first = only_deck(build_decks(src, out, now=T))
    assert len(anki.import_package(first.path).new) == 2
    deck.write_text("### LoRA\nLow-rank {{c1::adaptation}}\n### RAG\nRetrieval {{c1::first}}\n")
    (src / "deck.deck.toml").write_text('cards = "cloze"\n')
    with pytest.raises(BuildError) as refused:
        build_decks(src, out, now=T + 100)
    (fork,) = refused.value.diagnostics
    assert f'To build as before, set cards = "basic" again in {src / "deck.deck.toml"}.' in fork.message
    second = only_deck(build_decks(src, out, now=T + 100, allow_new_note_type=True))
    log = anki.import_package(second.path)
    replaced = [n for n in anki.notes() if "deckgen::replaced" in n.tags]
    assert len(replaced) == 2 and all(n.mid == BASIC.model_id and n["Status"].startswith("Replaced") for n in replaced)
    assert (len(log.new), len(log.updated), len(log.conflicting)) == (2, 2, 0)
    assert [c.kind for c in second.plan.changes] == ["new", "new", "replaced", "replaced"]
    assert second.plan.unchanged == 0
    again = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert "(nothing changed)" in again.stdout and "fresh start" not in again.stderr  # said once, when it happened
    assert len(anki.col.find_cards(f"mid:{CLOZE.model_id}")) == 2
    from deckgen.output.preview import preview_page
    assert preview_page(second.plan).count("Replaced: this deck") == 4  # front and back of both, as Anki shows them
    changelog = (out / "deck.changelog.md").read_text(encoding="utf-8")
    assert "Left behind by the new note type (tagged deckgen::replaced) (2):" in changelog
    # Someone importing the deck for the first time gets the old notes too, marked, never conflicting.
    (tmp_path / "fresh").mkdir()
    from conftest import AnkiProfile
    newcomer = AnkiProfile(tmp_path / "fresh" / "collection.anki2")
    try:
        log = newcomer.import_package(second.path)
        assert (len(log.new), len(log.conflicting)) == (4, 0) and newcomer.check_database()[1]
    finally:
        newcomer.close()


# 3. Orphan checks for a single file as for a folder.

def test_building_one_renamed_file_builds_its_library_and_the_notes_follow_it(tmp_path, anki):
    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "a", LORA.format(answer="Low-rank adapters."), 'name = "Notes"\n')
    first = only_deck(build_decks(src, out, now=T))
    assert len(anki.import_package(first.path).new) == 2
    ids = sorted(anki.col.find_notes(""))
    (src / "a.md").rename(src / "b.md")
    (src / "a.deck.toml").rename(src / "b.deck.toml")
    again = only_deck(build_decks(src / "b.md", out, now=T + 100))  # one file: the library it is in
    assert {(c.kind, c.source) for c in again.plan.changes} == {("changed", "b.md:1"), ("changed", "b.md:3")}
    log = anki.import_package(again.path)
    assert (len(log.new), len(log.updated)) == (0, 2) and sorted(anki.col.find_notes("")) == ids


def test_building_one_file_ignores_the_record_of_its_neighbours(tmp_path):
    src = tmp_path / "src"
    write_deck(src, "a", "### A?\na\n")
    write_deck(src / "sub", "b", "### B?\nb\n")
    build_decks(src, tmp_path / "out", now=T)
    report = build_decks(src / "a.md", tmp_path / "out", now=T + 10)
    assert [d.code for d in report.diagnostics] == []


# 4. Package names Anki never takes for a collection backup.

@pytest.mark.parametrize("name, backup", [
    ("collection.apkg", True), ("Collection.APKG", True), ("backup-1.0.0.apkg", True), ("BACKUP-x.apkg", True),
    ("notes.colpkg", True), ("backups-1.0.0.apkg", False), ("collection-1.0.0.apkg", False),
    ("my-backup-1.0.0.apkg", False), ("backup.apkg", False),
])
def test_the_names_anki_takes_for_a_collection_backup(name, backup):
    assert anki_takes_for_backup(name) is backup


@pytest.mark.parametrize("key", ["backup", "backup-notes", "collection", "notes", "deck-backup"])
def test_no_package_is_named_like_a_backup(key):
    name = package_file_name(key, "1.0.0")
    assert not anki_takes_for_backup(name) and name.endswith(f"{key}-1.0.0.apkg")


def test_a_deck_called_backup_gets_a_package_anki_imports_as_a_deck(tmp_path, anki):
    write_deck(tmp_path / "src", "backup", "### Q?\nA.\n")
    deck = only_deck(build_decks(tmp_path / "src", tmp_path / "out", now=T))
    assert deck.path.name == "deck-backup-1.0.0.apkg" and deck.path.is_file()
    assert len(anki.import_package(deck.path).new) == 1
    settings = tmp_path / "src" / "deckgen.toml"  # a package per folder, and one named like that folder's file
    assert 'slug = "backup"' in settings.read_text()  # the first build wrote the package's name down
    settings.write_text(settings.read_text().replace('slug = "backup"', 'slug = "deck-backup"') + 'packages = "folder"\n')
    write_deck(tmp_path / "src" / "backup", "more", "### R?\nB.\n")
    with pytest.raises(BuildError) as failure:
        build_decks(tmp_path / "src", tmp_path / "out", now=T + 10)
    assert any(d.code == "clash" and "package file 'deck-backup-1.0." in d.message
               for d in failure.value.diagnostics)


# 6. Cloze numbers that move under a card's history.

def test_renumbered_cloze_deletions_are_warned_about_naming_the_line(tmp_path, anki):
    src, out = tmp_path / "src", tmp_path / "out"
    deck = write_deck(src, "deck", "### Attention\nsoftmax of {{c1::QK^T}} times\n{{c2::V}}\n",
                      'cards = "cloze"\n')
    first = only_deck(build_decks(src, out))
    assert len(anki.import_package(first.path).new) == 1
    deck.write_text("### Attention\nscaled by {{c1::sqrt(d)}}, softmax of\n{{c2::QK^T}} times {{c3::V}}\n")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 0
    assert (f"{deck}:3:1: warning: cloze deletions moved to other numbers: 'QK^T' from c1 to c2, 'V' from c2 to "
            "c3.") in result.stderr
    again = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])  # said once, with the change it is about
    assert "(nothing changed)" in again.stdout and "cloze" not in again.stderr
    log = anki.import_package(out / "deck-1.0.1.apkg")
    assert len(log.updated) == 1
    first_card = anki.col.get_card(min(anki.col.find_cards("")))  # the card that learned QK^T ...
    assert "sqrt(d)" not in first_card.question() and "sqrt(d)" in first_card.answer()  # ... now asks sqrt(d)
    deck.write_text("### Attention\nscaled by {{c1::sqrt(d)}}, softmax of {{c2::QK^T}}\n")
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 0
    assert f"{deck}:2:1: warning: c3 ('V') no longer in this note: Anki keeps its card, blank" in result.stderr
    anki.import_package(out / "deck-1.0.2.apkg")
    assert len(anki.col.find_cards("")) == 3  # the card of c3 is still there


def test_a_cloze_edit_that_keeps_the_numbers_is_not_warned_about(tmp_path):
    src = tmp_path / "src"
    deck = write_deck(src, "deck", "### Attention\n{{c1::QK^T}} then {{c2::V}}\n", 'cards = "cloze"\n')
    build_decks(src, tmp_path / "out", now=T)
    deck.write_text("### Attention\n{{c1::QK^T}} scaled, then {{c2::V}}, then {{c3::an output projection}}\n")
    assert [d.code for d in check_library(src, now=T + 10).diagnostics] == []


def test_a_warning_about_what_a_build_changed_is_not_repeated_by_builds_that_change_nothing(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "deck", "### Q?\nA.\n### Empty?\n", 'name = "Old name"\n')
    build_decks(src, out)
    (src / "deck.deck.toml").write_text('name = "New name"\n')
    first = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert "[deck-renamed]" in first.stderr and "[empty-answer]" in first.stderr
    again = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
    assert "(nothing changed)" in again.stdout
    assert "[deck-renamed]" not in again.stderr and "[empty-answer]" in again.stderr  # what still holds is said again
