"""Warnings about what a build does to notes in Anki: cloze numbers moved, questions moved between decks or
back from removal, and names two packages, decks or notes would share.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Diagnostic
from ..identify.note_types import NoteType
from ..parse.syntax import cloze_changes
from .model import REMOVED_SUBDECK, VersionPlan


def cloze_warnings(question, old_answer: str) -> list[Diagnostic]:
    """Cloze numbers that changed under the cards' history: Anki keeps a card's reviews by its number."""
    moves, gone = cloze_changes(old_answer, question.answer)
    found = []
    if moves:
        line = question.answer_line + question.answer.count("\n", 0, moves[0].offset)
        moved = ", ".join(f"{_excerpt(m.text)!r} from {_numbers(m.was)} to {_numbers(m.now)}" for m in moves)
        found.append(Diagnostic(question.path, line, (
            f"cloze deletions moved to other numbers: {moved}. Anki keeps each card's review history by its "
            "number, so the card that learned a deletion now asks for another one. To keep each history with its "
            "text, keep the numbers as they were and give a new deletion the next free number."), code="cloze-moved",
            once=True))
    if gone:
        names = ", ".join(f"c{number} ({_excerpt(text)!r})" for number, text in gone)
        found.append(Diagnostic(question.path, question.answer_line, (
            f"{names} no longer in this note: Anki keeps {'its card' if len(gone) == 1 else 'their cards'}, "
            "blank, with the review history (Tools > Empty Cards in Anki deletes blank cards)"),
            code="cloze-gone", once=True))
    return found


def _numbers(numbers) -> str:
    return ", ".join(f"c{number}" for number in numbers)


def _excerpt(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


MOVED_SEARCH_LIMIT = 10


def moved_warnings(moved, name: str, note_type: NoteType) -> list[Diagnostic]:
    """One warning for each deck notes came from: where their cards are, and how to move them in Anki."""
    by_deck: dict[str, list] = {}
    for question, old, field_html in moved:
        by_deck.setdefault(old, []).append((question, field_html))
    found = []
    for old, notes in by_deck.items():
        field = note_type.fields[0]
        shown = notes[:MOVED_SEARCH_LIMIT]  # the question field as Anki holds it: its HTML
        search = f'deck:"{_search_text(old)}" (' + " OR ".join(
            f'"{field}:{_search_text(field_html)}"' for _, field_html in shown) + ")"
        questions = [question for question, _ in notes]
        more = (f" (the first {len(shown)} of them; `deckgen build -v` lists them all as changed)"
                if len(questions) > len(shown) else "")
        found.append(Diagnostic(questions[0].path, questions[0].line, (
            f"{len(questions)} note(s) moved here from the deck {old!r}: Anki's import never moves a card, so their "
            f"cards stay in {old!r}. To move them into {name!r}, search in Anki's Browse for {search}{more}, "
            "select them all (Ctrl+A) and choose Cards > Change Deck (Ctrl+D)"), code="deck-changed", once=True))
    return found


def _search_text(text: str) -> str:
    """`text` inside a double-quoted term of Anki's search: its wildcards and quotes taken literally."""
    return "".join("\\" + c if c in '\\"*_' else c for c in text)


def restored_warning(question, deck_name: str, removed_in: str | None, field: str, field_html: str) -> Diagnostic:
    search = f'deck:"{_search_text(deck_name)}" is:suspended "{field}:{_search_text(field_html)}"'
    return Diagnostic(question.path, question.line, (
        f"this question was removed{f' in version {removed_in}' if removed_in else ''} and is back: its note keeps "
        "its review history and is updated in Anki, losing the tag deckgen::removed. If you suspended its cards, "
        f"unsuspend them: in Anki's Browse, search {search}, select them and choose "
        "Cards > Toggle Suspend (Ctrl+J). Who first imported the deck while it was removed has its card in the "
        f"\"{deck_name}::{REMOVED_SUBDECK}\" subdeck: Cards > Change Deck moves it."), code="restored", once=True)


def clashes(plans: list[VersionPlan]) -> list[Diagnostic]:
    """Packages may share no file, notes no GUID; decks whose names differ only in case are one to Anki (several
    files may feed one deck, named alike)."""
    found, owners = [], {}

    def claim(what: str, key: str, shown: str, owner: str, path: Path, by: str | None = None) -> None:
        first = owners.setdefault((what, key), (owner, by))
        if first[0] != owner:
            found.append(Diagnostic(path, 0, f"{what} {shown!r} is also used by {first[1] or first[0]}", "error",
                                    "clash"))

    for plan in plans:
        claim("package file", plan.file_name, plan.file_name, plan.key,
              plan.decks[0].deck.path, f"the package {plan.key!r}")
        for part in plan.decks:
            path = part.deck.path
            levels = part.name.split("::")
            for depth in range(1, len(levels) + 1):  # coding::Python and coding::python::x meet in Anki too
                name = "::".join(levels[:depth])
                claim("deck name", name.casefold(), name, name, path,
                      f"{path} in another case (Anki takes them for one deck)")
            for note in part.deck.notes:
                claim("note GUID", note.identified.guid, note.identified.guid, str(path), path)
    return found
