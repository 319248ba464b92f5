"""Write an Anki package (.apkg) with genanki, reproducibly and atomically."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

import genanki

from ..identify.ids import deck_id
from ..identify.note_types import NoteType
from ..plan.model import REMOVED_SUBDECK, PackageContent, PackageNote
from ..render.anki_cloze import ClozeField
from ..render.media import read_named

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: unchanged input gives identical bytes


class _Model(genanki.Model):
    """A note type, stamped with its own mtime (genanki would give every note type the package's)."""

    def __init__(self, note_type: NoteType, mtime: int):
        self.mtime, self.note_type = mtime, note_type
        super().__init__(
            model_id=note_type.model_id, name=note_type.name,
            fields=[{"name": name} for name in note_type.fields],
            templates=[{"name": name, "qfmt": front, "afmt": back} for name, front, back in note_type.templates],
            css=note_type.css, model_type=genanki.Model.CLOZE if note_type.cloze else genanki.Model.FRONT_BACK,
            sort_field_index=note_type.sort_field,
        )

    def to_json(self, timestamp, deck_id):
        return super().to_json(self.mtime, deck_id)


class _Note(genanki.Note):
    def __init__(self, model: _Model, note: PackageNote):
        super().__init__(model=model, fields=list(note.fields), tags=list(note.tags), guid=note.guid)
        self.mtime = note.mtime

    def write_to_db(self, cursor, timestamp, deck_id, id_gen):
        super().write_to_db(cursor, self.mtime, deck_id, id_gen)

    def _check_invalid_html_tags_in_fields(self):
        """Skipped: the fields come from Python-Markdown and the sanitizer, and the check costs a regex a field."""

    @property
    def cards(self):
        """A note's cards, read once a note (genanki's cached_property backport would ask asyncio whether its rule
        is a coroutine at every note: a tenth of writing one). A cloze note's are Anki's (`anki_cloze`), not
        genanki's: its pattern takes time quadratic in the field, fails on a number of 4,300 digits, and
        knows neither `{{c1,2::…}}` nor Anki's last card."""
        if self.model.note_type.cloze:
            numbers = {n for index in self.model.note_type.cloze_fields for n in ClozeField(self.fields[index]).numbers}
            return [genanki.Card(number - 1) for number in sorted(numbers)]
        return genanki.Note.cards.func(self)


def write_package_to(plan: PackageContent, file: BinaryIO) -> None:
    """Write the .apkg of `plan` (a zip of an Anki collection and its media) to an open file.

    Identical plans give identical bytes: entry times are fixed, and every id
    and time inside comes from the plan.
    """
    models = {note_type.model_id: _Model(note_type, mtime) for note_type, mtime in plan.note_types}
    decks = {deck.name: genanki.Deck(deck_id(deck.name), deck.name, deck.description) for deck in plan.decks}
    for note in plan.notes:
        decks[note.deck].add_note(_Note(models[note.note_type], note))
    # genanki gives each note type the id of the last deck written as the deck its new notes go to: a deck of
    # the library's own, not a subdeck of removed notes.
    order = sorted(decks.values(), key=lambda deck: (not deck.name.endswith("::" + REMOVED_SUBDECK), deck.name))
    for model in models.values():
        order[-1].add_model(model)
    timestamp = max(mtime for _, mtime in plan.note_types)  # the collection's and the decks' times

    with tempfile.TemporaryDirectory(prefix="deckgen-") as scratch:
        db_path = Path(scratch) / "collection.anki2"
        conn = sqlite3.connect(db_path)
        try:  # a scratch file, copied into the zip: no journal, no waiting for the disk
            conn.execute("pragma journal_mode = off")
            conn.execute("pragma synchronous = off")
            conn.execute("pragma page_size = 16384")  # a tenth faster to fill, and smaller, than 4096
            _write_decks(order, conn.cursor(), timestamp, itertools.count(plan.first_id))
            conn.commit()
        finally:
            conn.close()
        del decks, order  # their notes are in the database now
        names = dict.fromkeys(ref.name for ref in plan.media)  # one file a name (see `read_named`)
        media = json.dumps({str(i): name for i, name in enumerate(names)}).encode()
        with zipfile.ZipFile(file, "w") as archive:  # stored, as genanki writes it: see _add
            _add(archive, "collection.anki2", db_path)
            archive.writestr(zipfile.ZipInfo("media", date_time=ZIP_DATE), media)
            for i, (_, data) in enumerate(read_named(plan.media)):  # the very bytes that were checked, or an error
                archive.writestr(zipfile.ZipInfo(str(i), date_time=ZIP_DATE), data)


def _write_decks(decks: list[genanki.Deck], cursor: sqlite3.Cursor, timestamp: int, id_gen) -> None:
    """What `genanki.Package(decks).write_to_db` writes, with the collection's deck and note-type lists written
    once.

    genanki reads both lists back from the database, adds one deck's entries and writes them again, for every
    deck: time in the square of the number of decks (a vault of 2,000 folders spent 74 s of an 84 s build
    there). The lists here are what those rounds leave, to the byte: genanki's JSON round trip turns a note
    type's number key into text, so the last deck's own note types follow the others' under the same keys.
    """
    from genanki.apkg_col import APKG_COL
    from genanki.apkg_schema import APKG_SCHEMA

    cursor.executescript(APKG_SCHEMA)
    cursor.executescript(APKG_COL)
    deck_list, note_types = (json.loads(text) for text in cursor.execute("select decks, models from col").fetchone())
    last: dict = {}
    for deck in decks:
        deck_list[str(deck.deck_id)] = deck.to_json()
        for note in deck.notes:
            deck.add_model(note.model)
        note_types.update((str(key), value) for key, value in last.items())  # as genanki's JSON round trip
        last = {model.model_id: model.to_json(timestamp, deck.deck_id) for model in deck.models.values()}
    cursor.execute("update col set decks = ?, models = ?", (json.dumps(deck_list), json.dumps({**note_types, **last})))
    for deck in decks:
        for note in deck.notes:
            note.write_to_db(cursor, timestamp, deck.deck_id, id_gen)


def _add(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    """Copy a file into the zip in pieces, with a fixed entry time, uncompressed.

    Deflating the collection (even at level 1) took 0.05 s of a 10,000-note rebuild, a
    fifth of all the writing, to make a local build file a third the size; images are
    compressed formats already. genanki's own packages are stored the same way.
    """
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    with open(path, "rb") as source, archive.open(info, "w") as target:
        shutil.copyfileobj(source, target, 1 << 20)
