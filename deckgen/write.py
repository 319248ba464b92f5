"""Write an Anki package (.apkg) with genanki, reproducibly and atomically."""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import genanki

from .files import atomic_write
from .model import NoteType

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: unchanged input gives identical bytes


@dataclass(frozen=True)
class PackageNote:
    """One note as it goes into the package."""

    guid: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mtime: int
    """Seconds; Anki updates an existing note only when this is newer than its own."""


@dataclass(frozen=True)
class PackagePlan:
    """Everything one .apkg holds."""

    deck_name: str
    deck_id: int
    description: str
    note_type: NoteType
    note_type_mtime: int
    notes: tuple[PackageNote, ...]
    first_id: int
    """Base of the note and card ids inside the package (Anki only makes them unique)."""
    media: tuple[tuple[str, Path], ...] = ()
    """(name in Anki's media folder, file to read it from), sorted by name."""


class _Model(genanki.Model):
    def __init__(self, note_type: NoteType, mtime: int):
        super().__init__(
            model_id=note_type.model_id, name=note_type.name,
            fields=[{"name": name} for name in note_type.fields],
            templates=[{"name": name, "qfmt": front, "afmt": back} for name, front, back in note_type.templates],
            css=note_type.css, model_type=genanki.Model.CLOZE if note_type.cloze else genanki.Model.FRONT_BACK,
        )
        self.mtime = mtime

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


def write_package(plan: PackagePlan, path: Path) -> None:
    """Write `plan` to `path`; the file appears whole or not at all."""
    atomic_write(path, package_bytes(plan))


def package_bytes(plan: PackagePlan) -> bytes:
    """The .apkg file of `plan`: a zip of an Anki collection, identical for identical plans."""
    model = _Model(plan.note_type, plan.note_type_mtime)
    deck = genanki.Deck(plan.deck_id, plan.deck_name, plan.description)
    deck.add_model(model)
    for note in plan.notes:
        deck.add_note(_Note(model, note))

    with tempfile.TemporaryDirectory(prefix="deckgen-") as scratch:
        db_path = Path(scratch) / "collection.anki2"
        conn = sqlite3.connect(db_path)
        try:
            genanki.Package(deck).write_to_db(conn.cursor(), plan.note_type_mtime, itertools.count(plan.first_id))
            conn.commit()
        finally:
            conn.close()
        database = db_path.read_bytes()
    entries = {"collection.anki2": database,
               "media": json.dumps({str(i): name for i, (name, _) in enumerate(plan.media)}).encode()}
    entries.update((str(i), path.read_bytes()) for i, (_, path) in enumerate(plan.media))
    return _zip(entries)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            # Level 1: a third of the time of the default, for a file a few percent larger.
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), data, zipfile.ZIP_DEFLATED, 1)
    return buffer.getvalue()
