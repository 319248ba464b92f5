"""What a package holds, read back from the .apkg a build wrote: for each note, its deck, its tags, and what a
report names it by (its question and `file:line`).

A sync delivers only a package whose bytes are the ones this machine's build wrote (see `identify.delivered`),
so what is read here is what that build planned: the package, not the plan, is what Anki imports.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import tempfile
import zipfile
from contextlib import closing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DeckgenError
from ..plan.model import REMOVED_TAG
from ..render.card_html import without_context

TAG_RE = re.compile(r"<[^>]*>")
QUESTION_FIELD, SOURCE_FIELD = 0, 2  # every note type's fields: what is asked, the answer, Source, Status


@dataclass(frozen=True)
class PackagedNote:
    guid: str
    id: int
    """Its id in the package (Anki's import log names a conflicting note by it)."""
    deck: str
    tags: tuple[str, ...]
    fields: tuple[str, ...]
    """Its fields, as the package holds them."""
    mtime: int = 0
    """Seconds: Anki updates its copy only when this is later than that copy's."""

    @property
    def removed(self) -> bool:
        return REMOVED_TAG in self.tags

    @property
    def question(self) -> str:
        """Its question as text (the front's first field, without markup)."""
        return field_text(self.fields, QUESTION_FIELD)

    @property
    def source(self) -> str:
        """`file:line`, as its card's Source shows it."""
        return field_text(self.fields, SOURCE_FIELD)


def packaged_notes(path: Path) -> dict[str, PackagedNote]:
    """Every note of the package `path`, by GUID."""
    try:
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory(prefix="deckgen-") as scratch:
            database = Path(archive.extract("collection.anki2", scratch))
            with closing(sqlite3.connect(database)) as db:
                decks = {int(key): deck["name"] for key, deck in json.loads(db.execute("select decks from col")
                                                                            .fetchone()[0]).items()}
                rows = db.execute("select n.guid, n.id, n.tags, n.flds, min(c.did), n.mod from notes n join cards c "
                                  "on c.nid = n.id group by n.id").fetchall()
    except (OSError, KeyError, zipfile.BadZipFile, sqlite3.Error, ValueError) as err:
        raise DeckgenError(f"{path}: cannot read the package: {err}") from None
    return {guid: PackagedNote(guid, note_id, decks[deck], tuple(tags.split()), tuple(fields.split("\x1f")), mtime)
            for guid, note_id, tags, fields, deck, mtime in rows}


def field_text(fields: Sequence[str], index: int) -> str:
    """The text of a note's field `index`, for a report: no markup, the context line above a question left out."""
    if index >= len(fields):
        return ""
    return " ".join(html.unescape(TAG_RE.sub(" ", without_context(fields[index]))).split())


def source_file(source: str) -> str:
    """The file of a `file:line` source."""
    return source.rpartition(":")[0] or source
