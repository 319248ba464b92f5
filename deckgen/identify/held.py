"""One bad file never stops the library: a deck file with an error is held at its last good state.

Where reading or parsing a deck file finds an error (a fence that swallows a
question, an empty heading, a control character, a broken settings file), the
build goes on without that file's text: its notes are the ones the record
holds, rebuilt from the record's Markdown, and the plan keeps their records
and times as they are (Anki skips them on import; nothing is removed). A file
never built before is left out. The errors are said, and the build's exit
status says that files were held back; `--strict` stops the build instead.
Errors about the whole library, and those later stages find, still stop it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic
from ..names import deck_settings_path
from ..parse.questions import ParsedDeck, ParsedLibrary, Question
from ..parse.syntax import HeadingAttributes, question_key
from ..sources.library import DeckFile, DeckSource, Library, deck_settings
from .record import IdentityRecord, NoteRecord

SOURCE_LINE_RE = re.compile(r":(\d+)\Z")


@dataclass(frozen=True)
class HeldLibrary:
    parsed: ParsedLibrary
    """The parsed decks, each file with an error replaced by its recorded notes, or left out."""
    held: tuple[Diagnostic, ...]
    """The errors that held their files back instead of stopping the build."""


def hold_back(parsed: ParsedLibrary, library: Library, record: IdentityRecord) -> HeldLibrary:
    """`parsed` with each deck file that has an error held at its last good state (see the module)."""
    files = {path: file for file in library.decks for path in (file.path, deck_settings_path(file.path))}
    failing = {files[d.path].key for d in parsed.diagnostics if d.severity == "error" and d.path in files}
    if not failing:
        return HeldLibrary(parsed, ())
    recorded: dict[str, list[NoteRecord]] = {}
    for note in record.notes.values():
        if note.deck in failing and not note.removed:
            recorded.setdefault(note.deck, []).append(note)
    by_key = {deck.key: deck for deck in parsed.decks}
    decks = [deck for deck in parsed.decks if deck.key not in failing]
    for file in library.decks:
        if file.key in recorded:
            decks.append(_recorded_deck(file, library.root, recorded[file.key], by_key.get(file.key)))
    order = {file.key: index for index, file in enumerate(library.decks)}
    decks.sort(key=lambda deck: order[deck.key])
    held = tuple(d for d in parsed.diagnostics if d.severity == "error" and d.path in files
                 and files[d.path].key in failing)
    return HeldLibrary(ParsedLibrary(tuple(decks), parsed.diagnostics), held)


def _recorded_deck(file: DeckFile, root: Path, notes: list[NoteRecord], parsed: ParsedDeck | None) -> ParsedDeck:
    """The deck as the record holds it: its live notes' questions and answers, in source order, read with the
    settings its file has now (the folder's, where the file could not be read)."""
    settings = parsed.settings if parsed is not None else deck_settings(file, root)[0]
    questions = []
    for note in notes:
        line = int(match.group(1)) if (match := SOURCE_LINE_RE.search(note.source)) else 0
        questions.append(Question(path=file.path, line=line, title=note.question, explicit_id=note.explicit_id,
                                  sections=note.sections, answer=note.answer, answer_line=line + 1,
                                  key=question_key(note.question),
                                  attributes=HeadingAttributes(explicit_id=note.explicit_id)))
    questions.sort(key=lambda question: (question.line, question.title))
    return ParsedDeck(source=DeckSource(file=file, text="", settings=settings), questions=tuple(questions),
                      description="", diagnostics=(), held=True)
