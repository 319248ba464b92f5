"""Stable identities: which recorded note each question is, and GUIDs for new ones.

The identity record is the truth: a question keeps the GUID recorded for it.
A question is recognised by its explicit `{#id}`, by its text, or, when it
was reworded, by its answer or by a close wording; a new question gets a GUID
from the deck and its text, never from its position. All of it works on the
Markdown the author wrote: nothing needs rendering first.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from .errors import Diagnostic
from .identity_file import IdentityRecord, NoteRecord
from .note_types import BASIC_MODEL_ID
from .parse import ParsedDeck, Question
from .syntax import question_key

SAME_WORDING = 0.9  # a question this close to a vanished one is that one, reworded
CLOSE_WORDING = 0.6  # ... or this close, if its answer is at least this close too
SUBSTANTIAL_ANSWER = 24  # characters; shorter answers ("Yes.") are shared by unrelated questions


def stable_hash(*parts: str) -> bytes:
    """SHA-256 of the parts, unambiguously joined."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()


def new_guid(deck_slug: str, question: Question, occurrence: int) -> str:
    """GUID for a question seen for the first time.

    From the author's explicit id if there is one, else from the deck and the
    normalised question text; `occurrence` tells apart identical questions.
    """
    if question.explicit_id:
        key = ("id", deck_slug, question.explicit_id, str(occurrence))
    else:
        key = ("question", deck_slug, question.key, str(occurrence))
    return base64.b32encode(stable_hash(*key)[:10]).decode("ascii").lower()


class Identified(msgspec.Struct, frozen=True):
    """A question with the identity it gets in this build."""

    question: Question
    guid: str
    record: NoteRecord | None
    """What the record holds for this note; None for a new note."""
    reworded: bool = False
    """Recognised by its answer or a close wording rather than by its text."""


@dataclass(frozen=True)
class IdentifiedDeck:
    """A deck's questions with their identities, and its recorded notes no question continues."""

    parsed: ParsedDeck
    notes: tuple[Identified, ...]
    """In source order."""
    gone: tuple[NoteRecord, ...]
    """Recorded notes of this deck whose question is gone (tombstones, old and new), by GUID."""
    diagnostics: tuple[Diagnostic, ...]


def identify_decks(decks: Sequence[ParsedDeck], record: IdentityRecord, model_ids: dict[str, int],
                   fresh: frozenset[str] = frozenset()) -> list[IdentifiedDeck]:
    """Identify every deck's questions against the notes recorded for it.

    `model_ids` gives each deck's note type; a deck in `fresh` starts afresh
    (a new note type on purpose): none of its recorded notes is continued, and
    none is marked removed (they stay in Anki as they are).
    """
    by_deck: dict[str, list[NoteRecord]] = defaultdict(list)
    for note in record.notes.values():
        by_deck[note.deck].append(note)
    identified = []
    for deck in decks:
        key, slug = deck.source.file.key, deck.source.settings.slug
        known = [] if key in fresh else by_deck.get(key, [])
        # GUIDs of notes of another type than the first one are minted apart, so the two never collide.
        namespace = slug if model_ids[key] == BASIC_MODEL_ID else f"{slug}@{model_ids[key]}"
        notes, diagnostics = identify(namespace, deck.questions, known)
        live = {note.guid for note in notes}
        gone = tuple(sorted((n for n in known if n.guid not in live), key=lambda n: n.guid))
        identified.append(IdentifiedDeck(parsed=deck, notes=notes, gone=gone, diagnostics=diagnostics))
    return identified


def identify(deck_slug: str, questions: Sequence[Question], records: Sequence[NoteRecord]
             ) -> tuple[tuple[Identified, ...], tuple[Diagnostic, ...]]:
    """Give every question its GUID: the recorded one if it is a known note, else a new one."""
    matcher = _Matcher(questions, records)
    matcher.by_explicit_id()
    matcher.by_text()
    diagnostics = matcher.by_rewording()
    taken = {r.guid for r in records}
    identified, occurrences = [], defaultdict(int)
    for index, question in enumerate(questions):
        record = matcher.matched.get(index)
        if record is not None:
            identified.append(Identified(question, record.guid, record, index in matcher.reworded))
            continue
        key = question.explicit_id or question.key
        while True:
            occurrences[key] += 1
            guid = new_guid(deck_slug, question, occurrences[key])
            if guid not in taken:
                break
        taken.add(guid)
        identified.append(Identified(question, guid, None))
    return tuple(identified), diagnostics


class _Matcher:
    """Pairs questions with recorded notes, surest evidence first; each record is used once."""

    def __init__(self, questions: Sequence[Question], records: Sequence[NoteRecord]):
        self.questions = questions
        self.free = {r.guid: r for r in records}
        self.by_key: dict[tuple[str, str], list[NoteRecord]] = defaultdict(list)
        for record in records:
            self.by_key["text", question_key(record.question)].append(record)
            if record.explicit_id:
                self.by_key["id", record.explicit_id].append(record)
        for candidates in self.by_key.values():  # live notes before tombstones, then in source order:
            if len(candidates) > 1:  # identical questions pair up in order
                candidates.sort(key=lambda r: (bool(r.removed), _source_line(r.source), r.guid))
        self.matched: dict[int, NoteRecord] = {}
        self.reworded: set[int] = set()

    def unmatched(self) -> list[int]:
        return [i for i in range(len(self.questions)) if i not in self.matched]

    def take(self, index: int, record: NoteRecord) -> None:
        self.matched[index] = record
        del self.free[record.guid]

    def first_free(self, key: tuple[str, str], answer: str | None = None) -> NoteRecord | None:
        return next((r for r in self.by_key.get(key, ()) if r.guid in self.free
                     and (answer is None or r.answer == answer)), None)

    def by_explicit_id(self) -> None:
        for index in self.unmatched():
            wanted = self.questions[index].explicit_id
            record = self.first_free(("id", wanted)) if wanted else None
            if record:
                self.take(index, record)

    def by_text(self) -> None:
        """Same question text; among identical questions, the same answer first."""
        for same_answer in (True, False):
            for index in self.unmatched():
                question = self.questions[index]
                record = self.first_free(("text", question.key),
                                         question.answer if same_answer else None)
                if record:
                    self.take(index, record)

    def by_rewording(self) -> tuple[Diagnostic, ...]:
        """A vanished question and a new one that are clearly the same note; ambiguity is reported."""
        live = [r for r in self.free.values() if not r.removed]
        candidates = {i: [r for r in live if _is_rewording(self.questions[i], r)] for i in self.unmatched()}
        claimants: dict[str, list[int]] = defaultdict(list)
        for index, records in candidates.items():
            for record in records:
                claimants[record.guid].append(index)
        diagnostics = []
        for index, records in candidates.items():
            question = self.questions[index]
            if len(records) == 1 and len(claimants[records[0].guid]) == 1:
                self.take(index, records[0])
                self.reworded.add(index)
            elif records:
                rivals = sorted({r.question for r in records} |
                                {self.questions[i].title for r in records for i in claimants[r.guid] if i != index})
                diagnostics.append(Diagnostic(question.path, question.line, (
                    "cannot tell which note this reworded question continues, so it becomes a new note: "
                    f"it is as close to {', '.join(repr(t) for t in rivals)}. "
                    "To keep its review history, build the rewording on its own first."),
                    code="ambiguous-rename"))
        return tuple(diagnostics)


def _is_rewording(question: Question, record: NoteRecord) -> bool:
    answer = _squash(question.answer)
    if len(answer) >= SUBSTANTIAL_ANSWER and answer == _squash(record.answer):
        return True
    wording = _similarity(question.key, question_key(record.question))
    return wording >= SAME_WORDING or (
        wording >= CLOSE_WORDING and _similarity(_squash(question.answer), _squash(record.answer)) >= CLOSE_WORDING)


def _similarity(a: str, b: str) -> float:
    from difflib import SequenceMatcher  # only rewordings need it

    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= CLOSE_WORDING else 0.0


def _squash(text: str) -> str:
    return " ".join(text.split())


def _source_line(source: str) -> int:
    line = source.rpartition(":")[2]
    return int(line) if line.isdigit() else 0
