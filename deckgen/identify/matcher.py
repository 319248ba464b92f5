"""Stable identities: which recorded note each question continues, and GUIDs for new ones.

Which note a question continues decides whose review history it carries, so
a question takes a recorded note only on evidence, surest first, over every
deck of the build at once (a question may move between decks):

1. its explicit id (`{#my-id}`), its heading as deckgen up to 0.3.0 read it
   (which took off only the last of several attribute blocks), or the note
   its heading names (`{was="…"}`, `{was=GUID}`);
2. the same text and answer, in the same deck and section, then anywhere
   else (a question moved continues its own note, never a namesake's);
3. the same text with another answer: in the same deck and section (a live
   note, unless another question has its old answer, barely edited if at
   all: that one is the note, reworded, and this a new question that took
   over its text; a removed one only with an answer still recognisably the
   same), then elsewhere, with the closest answer still recognisably the
   same; and last a removed note of its text in its place, whatever its
   answer (the question is back, its answer rewritten);
4. a unique identical answer (a reworded question);
5. a close wording with an answer still recognisably the same, or an answer
   barely edited (see the thresholds below).

At each step a question and a note pair up only when each is the other's one
best candidate; questions identical in heading, section and answer are told
apart by their order, and only they. Steps 1 to 4 look things up by key; the
similarity of step 5 is computed only for what is left, and only between
texts that share rare pieces (an index), so rewording many questions at once
costs about as much as rewording one. A question `{new}` takes no removed
note, and none elsewhere: of steps 2 to 5 it takes part only in those in
its place (where it finds its own note once built, its answer edited).
A question that takes no note gets a new GUID from the notes folder's
namespace, its deck, note type and text (see `ids`), never from its position,
and never one the record holds. A deck that starts afresh with a new note
type (see `note_type_guard`) continues none of its notes, nor does any
question continue a note a fresh start left behind. All of it works on the
Markdown the author wrote.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import msgspec

from ..errors import Diagnostic
from ..names import anki_tag
from ..parse.questions import ParsedDeck, Question
from ..parse.syntax import question_key
from .ids import note_guid
from .note_type_guard import DeckNoteType
from .ownership import minted_from
from .record import IdentityRecord, NoteRecord

SUBSTANTIAL_ANSWER = 24  # characters; shorter answers ("Yes.") are shared by unrelated questions
ANSWER_SAME = 0.8  # an answer this close to a vanished note's is that note's, its question reworded or not
ANSWER_RECOGNISABLE = 0.5  # ... or this close, when the question's wording is at least WORDING_CLOSE too
WORDING_CLOSE = 0.6
RESEMBLES = 0.6  # a new question worded this close to a vanished one gets a hint
RARE = 16  # the rarest pieces of a text that find the texts to compare it with
ANSWERS_ALIKE = 0.02  # two candidates' answers this equally close to a question's are no way to choose ...
WORDING_MARGIN = 0.1  # ... and then the one worded closer must be this much closer to be the one


def new_guid(namespace: str, deck: str, note_type: int, question: Question, occurrence: int
             ) -> tuple[str, tuple[str, ...]]:
    """GUID for a question seen for the first time, and what it is minted from (see `ownership`): its explicit
    id if it has one, else its normalised text; `occurrence` tells apart identical questions."""
    kind, text = ("id", question.explicit_id) if question.explicit_id else ("question", question.key)
    return note_guid(namespace, deck, note_type, kind, text, occurrence), \
        minted_from(kind, deck, note_type, text, occurrence)


class Identified(msgspec.Struct, frozen=True):
    """A question with the identity it gets in this build."""

    question: Question
    guid: str
    record: NoteRecord | None
    """What the record holds for this note; None for a new note."""
    reworded: bool = False
    """Recognised by its answer or a close wording rather than by its text, or by `{was=…}`."""
    minted: tuple[str, ...] = ()
    """For a new note that is not the first of identical questions, what its GUID is minted from (see
    `ownership`)."""


@dataclass(frozen=True)
class IdentifiedDeck:
    """A deck's questions with their identities, and its recorded notes no question continues."""

    parsed: ParsedDeck
    note_type: DeckNoteType
    notes: tuple[Identified, ...]
    """In source order."""
    gone: tuple[NoteRecord, ...]
    """Recorded notes of this deck whose question is gone (tombstones, old and new), by GUID; on a fresh start,
    every note it had."""
    diagnostics: tuple[Diagnostic, ...]

    @property
    def key(self) -> str:
        return self.parsed.key

    @property
    def path(self) -> Path:
        return self.parsed.path


def identify_decks(decks: Sequence[ParsedDeck], record: IdentityRecord, note_types: dict[str, DeckNoteType],
                   namespace: str, homes: Mapping[str, str] | None = None) -> list[IdentifiedDeck]:
    """Identify every deck's questions against the notes recorded for these decks.

    `note_types` gives each deck's note type (see `note_type_guard`), and
    `namespace` the notes folder's, which new GUIDs derive from. `homes` maps
    the recorded decks whose file is gone (deleted, renamed or moved) to a
    deck of the same package: their notes are continued by questions found
    anywhere (a note keeps its note type), and the rest are removed with
    that deck's.
    """
    homes = homes or {}
    keys = {deck.key for deck in decks}
    known, left_behind = [], []  # a fresh start leaves the notes it replaces behind, as they are
    for note in record.notes.values():
        if note.deck in keys:
            continuable = note.model is None and note_types[note.deck].replaced is None
            (known if continuable else left_behind).append(note)
        elif note.deck in homes:
            (known if note.model is None else left_behind).append(note)
    questions = [(deck.key, question) for deck in decks for question in deck.questions]
    matcher = _Matcher([q for _, q in questions], [key for key, _ in questions], known)
    matcher.match()
    for index, found in list(matcher.matched.items()):  # a note never changes its note type
        if found.deck not in keys and found.deck in record.decks and \
                record.decks[found.deck].model != note_types[questions[index][0]].note_type.model_id:
            matcher.release(index)
    taken = set(record.notes)
    identified, diagnostics, index = [], defaultdict(list), 0
    for deck in decks:
        key, model = deck.key, note_types[deck.key].note_type.model_id
        occurrences: dict[str, int] = defaultdict(int)
        notes = []
        for question in deck.questions:
            found = matcher.matched.get(index)
            if found is not None:
                notes.append(Identified(question, found.guid, found, index in matcher.reworded))
            else:
                text = question.explicit_id or question.key
                while True:
                    occurrences[text] += 1
                    guid, minted = new_guid(namespace, key, model, question, occurrences[text])
                    if guid not in taken:
                        break
                taken.add(guid)
                # What it is minted from is recorded where the record will not show it: the second of identical
                # questions (see `ownership`); for the others, once reworded or moved (see `plan`).
                notes.append(Identified(question, guid, None, minted=minted if occurrences[text] > 1 else ()))
            index += 1
        identified.append(notes)
    for diagnostic in matcher.diagnostics + _ids_used_twice(decks, identified):
        diagnostics[diagnostic.path].append(diagnostic)
    gone = defaultdict(list)
    for note in sorted([*matcher.free.values(), *left_behind], key=lambda n: n.guid):
        gone[homes.get(note.deck, note.deck)].append(note)
    return [IdentifiedDeck(parsed=deck, note_type=note_types[deck.key], notes=tuple(notes),
                           gone=tuple(gone[deck.key]), diagnostics=tuple(diagnostics[deck.path]))
            for deck, notes in zip(decks, identified)]


def _ids_used_twice(decks: Sequence[ParsedDeck], identified: list[list[Identified]]) -> list[Diagnostic]:
    """Explicit ids are unique in the whole library (in one file, `parse` says so): one used in two decks is an
    error, or a warning where both notes had it before (they keep working)."""
    uses = defaultdict(list)
    for deck, notes in zip(decks, identified):
        for note in notes:
            if note.question.explicit_id:
                uses[note.question.explicit_id].append((deck.key, note))
    found = []
    for explicit_id, notes in uses.items():
        first_key, first = notes[0]
        for key, note in notes[1:]:
            if key == first_key:
                continue
            built = all(n.record is not None and (n.record.deck, n.record.explicit_id) == (k, explicit_id)
                        for k, n in ((first_key, first), (key, note)))
            question = note.question
            found.append(Diagnostic(question.path, question.line, (
                f"explicit id {{#{explicit_id}}} is also used at {first.question.path}:{first.question.line}: an "
                "id names one note in the whole library" + (
                    "; both notes had it before, so both keep working, but give one of them another id (its note "
                    "keeps its history)" if built else ", so give this one another")),
                "warning" if built else "error", "duplicate-id"))
    return found


class _Matcher:
    """Pairs questions with recorded notes, surest evidence first; each note is continued once at most."""

    def __init__(self, questions: Sequence[Question], decks: Sequence[str], records: Sequence[NoteRecord]):
        self.questions, self.decks = questions, decks
        self.free = {r.guid: r for r in records}
        self.matched: dict[int, NoteRecord] = {}
        self.reworded: set[int] = set()
        self.diagnostics: list[Diagnostic] = []
        self._all = every = {r.guid: r for r in records}
        self._answers = _Squashed(lambda i: questions[i].answer)  # answers as compared: white space squashed
        self._record_answers = _Squashed(lambda guid: every[guid].answer)  # not through self: no cycle to collect
        self._record_keys = {r.guid: question_key(r.question) for r in records}
        self._open_answers: dict[int, set[str]] | None = None
        self._open_index: _Index | None = None
        self._sharing_answer: dict[str, list[str]] = {}
        self._by_place: dict[tuple, list[NoteRecord]] = defaultdict(list)  # every record by key, deck, sections
        by_place = self._by_place
        for record, key in zip(records, self._record_keys.values()):
            # deckgen 0.1 kept no sections: its records are found by key and deck, then checked (`_same_place`)
            by_place[key, record.deck, record.sections if record.sections or record.fingerprint else None].append(
                record)
        self._left = list(range(len(questions)))  # the questions without a note, as of the last `_open`
        self._new = {i for i, q in enumerate(questions) if q.attributes.new}

    def match(self) -> None:
        self._by_attributes()
        self._by_text(here=True, exact=True)
        self._by_text(here=False, exact=True)
        self._by_text(here=True, exact=False)
        self._by_text(here=False, exact=False)
        self._by_text(here=True, exact=False, returning=True)
        self._by_identical_answer()
        self._by_similarity()
        self._hints()

    def _of_keys(self, keys: set[str]) -> dict[str, list[NoteRecord]]:
        """The free records of these question keys, by key (a rebuild asks for few)."""
        found = defaultdict(list)
        if keys:
            for guid, key in self._record_keys.items():
                if key in keys and guid in self.free:
                    found[key].append(self.free[guid])
        return found

    def _open(self, inferred: bool = False) -> list[int]:
        """The questions still without a note, in order (for inferred evidence, those that allow it)."""
        matched = self.matched
        self._left = [i for i in self._left if i not in matched]
        return [i for i in self._left if i not in self._new] if inferred else list(self._left)

    def release(self, index: int) -> None:
        """Undo a match: the question becomes a new note, and the note is free again."""
        record = self.matched.pop(index)
        self.free[record.guid] = record
        self.reworded.discard(index)
        insort(self._left, index)

    def _take(self, index: int, record: NoteRecord, reworded: bool = False) -> None:
        self.matched[index] = record
        del self.free[record.guid]
        if reworded:
            self.reworded.add(index)

    def _by_attributes(self) -> None:
        """Step 1: explicit ids, and the notes headings name with {was=…}."""
        by_id = defaultdict(list)
        for record in self.free.values():
            if record.explicit_id:
                by_id[record.explicit_id].append(record)
        for index in self._open():
            question, deck = self.questions[index], self.decks[index]
            wanted = question.explicit_id
            candidates = [r for r in by_id.get(wanted, ()) if r.guid in self.free] if wanted else []
            if len(candidates) > 1:  # an id used in two decks: the note of this deck
                candidates = [r for r in candidates if r.deck == deck]
            if len(candidates) == 1:
                self._take(index, candidates[0])
        for index in self._open():  # the note deckgen up to 0.3 split this heading's answer for
            continuing = self.free.get(self.questions[index].attributes.continues or "")
            if continuing is not None:
                self._take(index, continuing)
        earlier = {index: question_key(title) for index in self._open()  # a heading of several blocks, recorded
                   if (title := self.questions[index].attributes.earlier_title) is not None}  # as 0.3.0 read it
        of_key = self._of_keys(set(earlier.values()))
        for index, key in earlier.items():
            candidates = [r for r in of_key.get(key, ()) if r.guid in self.free and self._same_place(index, r)]
            if len(candidates) == 1:
                self._take(index, candidates[0], reworded=True)
        for index in self._open():
            self._by_was(index)

    def _by_was(self, index: int) -> None:
        question, deck = self.questions[index], self.decks[index]
        attributes = question.attributes
        if attributes.was_guid:
            record = self.free.get(attributes.was_guid)
            if record is not None:
                self._take(index, record, reworded=True)
            elif not any(r.guid == attributes.was_guid for r in self.matched.values()):
                self._say(question, f"{{was={attributes.was_guid}}} names no note deckgen has recorded: check the "
                                    "GUID (`.deckgen/identity.jsonl` lists them)", "unknown-was", once=False)
            return
        if attributes.was_text is None:
            return
        wanted = question_key(attributes.was_text)
        candidates = [r for r in self.free.values() if self._record_keys[r.guid] == wanted]
        if any(self._record_keys[r.guid] == question.key and self._same_place(index, r) and not r.removed
               for r in self.free.values()):
            # The question has a note of its own: the {was=…} did its work in an earlier build, or it was written
            # after a build had given the question a new note and removed the old one. Which, the record cannot
            # tell (taking the removed note in the first case would hand the question another note's history):
            # a removed note of that text is named, for the author to take back by its GUID.
            for record in sorted((r for r in candidates if r.removed), key=lambda r: r.guid)[:1]:
                self._say(question, (
                    f'this question has a note of its own, so {{was="{attributes.was_text}"}} is taken to have done '
                    f"its work. If it is the one removed as {record.question!r} ({record.source}), write "
                    f"{{was={record.guid}}} instead to take that note back with its review history (the note the "
                    "question has now is then removed); if not, remove the {was=…}."), "was-done", once=False)
            return
        if len(candidates) > 1:
            candidates = [r for r in candidates if r.deck == deck] or candidates
        if len(candidates) > 1:
            candidates = [r for r in candidates if self._same_place(index, r)] or candidates
        if len(candidates) == 1:
            self._take(index, candidates[0], reworded=True)
        else:
            self._say(question, f"{{was=\"{attributes.was_text}\"}} names "
                                + ("no question deckgen has recorded" if not candidates else
                                   f"{len(candidates)} recorded notes: name the one meant by its GUID, "
                                   "{was=GUID}, from `.deckgen/identity.jsonl`"), "unknown-was", once=False)

    def _same_place(self, index: int, record: NoteRecord) -> bool:
        """Whether `record` was in the question's deck and section."""
        question = self.questions[index]
        if record.deck != self.decks[index]:
            return False
        if record.sections or record.fingerprint:
            return record.sections == question.sections
        # Recorded by deckgen 0.1, which kept no sections: its tags hold the section's tag.
        return not question.sections or anki_tag(question.sections) in record.tags

    def _by_text(self, here: bool, exact: bool, returning: bool = False) -> None:
        """Steps 2 and 3: the same text, in the question's deck and section (`here`) or anywhere else. First
        with the answer as recorded (`exact`), here and then elsewhere, so that a question moved with its
        answer continues its own note before a namesake's; then with the closest answer, here and then
        elsewhere; and last (`returning`) a removed note of its text in its place, its answer rewritten."""
        if here and exact:  # most questions of a rebuild: one note of that text, there, its answer as it was
            for index in self._open():
                question = self.questions[index]
                records = self._by_place.get((question.key, self.decks[index], question.sections))
                if records and len(records) == 1 and records[0].guid in self.free \
                        and records[0].answer == question.answer and not records[0].removed:
                    self._take(index, records[0])
        open_questions = self._open(inferred=not here)
        of_key = self._of_keys({self.questions[index].key for index in open_questions})
        groups: dict[tuple, list[int]] = defaultdict(list)  # questions of one text (and place, `here`)
        for index in open_questions:
            key = self.questions[index].key
            if key in of_key:
                groups[(key, *self._place(index)) if here else (key,)].append(index)
        for group, indices in groups.items():
            of_text = of_key[group[0]]  # free when found, not all of them still
            records = [r for r in (self._here(indices[0]) if here else of_text) if r.guid in self.free]
            if records:
                self._pair_same_text(indices, records, of_text, here=here, exact=exact, returning=returning)

    def _place(self, index: int) -> tuple:
        return self.decks[index], self.questions[index].sections

    def _here(self, index: int) -> list[NoteRecord]:
        """The records of the question's text in its deck and section."""
        key, (deck, sections) = self.questions[index].key, self._place(index)
        legacy = [r for r in self._by_place.get((key, deck, None), ()) if self._same_place(index, r)]
        return self._by_place.get((key, deck, sections), []) + legacy

    def _pair_same_text(self, indices: list[int], records: list[NoteRecord], of_text: list[NoteRecord], here: bool,
                        exact: bool, returning: bool) -> None:
        """Questions of one text with the notes recorded for that text: identical answers pair up in order
        (the only place where order decides); or (not `exact`) each question takes its unique closest answer,
        a recognisable one unless the note was `here` (and live, or `returning`), and no other note of its
        text, elsewhere, has its answer barely edited (that one moved here). A `{new}` question takes no
        removed note."""
        def allowed(index: int, record: NoteRecord) -> bool:
            return not (record.removed and self.questions[index].attributes.new)

        if exact:
            by_answer = defaultdict(list)
            for record in records:
                by_answer[self._record_answers[record.guid]].append(record)
            for index in sorted(indices, key=lambda i: self.questions[i].line):
                same = [r for r in by_answer.get(self._answers[index], ()) if r.guid in self.free
                        and allowed(index, r)]
                if same:
                    same.sort(key=lambda r: (bool(r.removed), r.deck != self.decks[index], _source_line(r.source)))
                    self._take(index, same[0])
            return
        candidates = {}
        for index in indices:
            if index in self.matched:
                continue
            scored = [(self._answer_similarity(index, r), r) for r in records if allowed(index, r)]
            if here and any(score < ANSWER_RECOGNISABLE for score, _ in scored) and self._moved_here(index, of_text):
                scored = [(score, r) for score, r in scored if score >= ANSWER_RECOGNISABLE]
            candidates[index] = [((score, not r.removed or not here), r) for score, r in scored
                                 if score >= ANSWER_RECOGNISABLE or here and (returning or not r.removed)
                                 and not self._answer_moved(r)]
        self._take_unique_best(candidates)

    def _moved_here(self, index: int, of_text: list[NoteRecord]) -> bool:
        """Whether a note of the question's text (`of_text`) elsewhere has its answer, barely edited if at all."""
        here = {r.guid for r in self._here(index)}
        return any(self._answer_similarity(index, r) >= ANSWER_SAME for r in of_text
                   if r.guid in self.free and r.guid not in here)

    def _answer_moved(self, record: NoteRecord) -> bool:
        """Whether another question without a note has this note's answer, barely edited if at all: that one
        is the note, reworded, rather than a question that only took over its old text with another answer.
        Not when another note still to be continued has that answer too: it does not tell which note moved."""
        if self._open_answers is None:  # made the first time it is needed, which is seldom
            self._open_answers = {i: _grams(self._answers[i], 3) for i in self._open()}
            self._open_index = _Index(self._open_answers)
            self._sharing_answer = defaultdict(list)
            for guid, free in self.free.items():
                if not free.removed:  # as for step 4: a removed note's answer is not a vanished note's
                    self._sharing_answer[self._record_answers[guid]].append(guid)
        answer = self._record_answers[record.guid]
        if len(answer) < SUBSTANTIAL_ANSWER or sum(guid in self.free for guid in self._sharing_answer[answer]) > 1:
            return False
        grams = _grams(answer, 3)
        return any(_similarity(grams, self._open_answers[i]) >= ANSWER_SAME for i in self._open_index.sharing(grams)
                   if i not in self.matched)

    def _take_unique_best(self, candidates: dict[int, list[tuple[tuple, NoteRecord]]], reworded: bool = False,
                          beats=lambda a, b: a > b) -> set[int]:
        """Pair each question with its best candidate when each is the other's one best (when no candidate
        `beats` the rest, that is a tie: ambiguous); again and again, since a pair taken may leave another one
        best. Candidates come with a score, a tuple. Returns the questions left in a tie."""
        tied: set[int] = set()
        while True:
            best_of_record: dict[str, list] = defaultdict(list)
            tied = set()
            for index, options in candidates.items():
                options = [(score, r) for score, r in options if r.guid in self.free]
                if index in self.matched or not options:
                    continue
                ranked = sorted(options, key=lambda o: o[0], reverse=True)
                if len(ranked) > 1 and not beats(ranked[0][0], ranked[1][0]):
                    tied.add(index)
                    continue
                best_of_record[ranked[0][1].guid].append((ranked[0][0], index))
            progress = False
            for guid, claims in best_of_record.items():
                claims.sort(key=lambda c: c[0], reverse=True)
                if len(claims) == 1 or beats(claims[0][0], claims[1][0]):
                    self._take(claims[0][1], self.free[guid], reworded)
                    progress = True
                else:
                    tied.update(index for _, index in claims)
            if not progress:
                return tied

    def _answer_similarity(self, index: int, record: NoteRecord) -> float:
        return _similarity(_grams(self._answers[index], 3), _grams(self._record_answers[record.guid], 3))

    def _by_identical_answer(self) -> None:
        """Step 4: a substantial answer found in exactly one vanished note and one new question."""
        records = defaultdict(list)
        for record in self.free.values():
            answer = self._record_answers[record.guid]
            if not record.removed and len(answer) >= SUBSTANTIAL_ANSWER:
                records[answer].append(record)
        questions = defaultdict(list)
        for index in self._open(inferred=True):
            if self._answers[index] in records:
                questions[self._answers[index]].append(index)
        for answer, indices in questions.items():
            if len(indices) == 1 and len(records[answer]) == 1:
                self._take(indices[0], records[answer][0], reworded=True)

    def _by_similarity(self) -> None:
        """Step 5: a close wording and an answer still recognisably the same, or a barely edited answer."""
        vanished = [r for r in self.free.values() if not r.removed]
        open_questions = self._open(inferred=True)
        if not vanished or not open_questions:
            return
        answer_grams = {r.guid: _grams(self._record_answers[r.guid], 3) for r in vanished}
        wording_grams = {r.guid: _grams(self._record_keys[r.guid], 2) for r in vanished}
        answers, wordings = _Index(answer_grams), _Index(wording_grams)
        candidates = {}
        for i in open_questions:
            grams = _grams(self._answers[i], 3)
            wording = _grams(self.questions[i].key, 2)
            options = []
            # Those with answers or wordings like it: a rewording has one or the other.
            for guid in dict.fromkeys(answers.sharing(grams, 3) + wordings.sharing(wording, 3)):
                record = self.free[guid]
                answer = _similarity(grams, answer_grams[guid])
                words = _similarity(wording, wording_grams[guid])
                substantial = min(len(self._answers[i]), len(self._record_answers[guid])) >= SUBSTANTIAL_ANSWER
                if (answer >= ANSWER_SAME and substantial) or (answer >= ANSWER_RECOGNISABLE and words >= WORDING_CLOSE):
                    options.append(((answer, words), record))
            if options:
                candidates[i] = options
        for i in sorted(self._take_unique_best(candidates, reworded=True, beats=_clearly_closer)):
            rivals = sorted({r.question for _, r in candidates[i] if r.guid in self.free})
            if rivals:
                self._say(self.questions[i], (
                    "cannot tell which note this reworded question continues, so it becomes a new note: it is as "
                    f"close to {', '.join(repr(t) for t in rivals)}. To keep its review history, add "
                    f'{{was="{rivals[0]}"}} (or the one it continues) to its heading.'), "ambiguous-rename")

    def _hints(self) -> None:
        """A new question worded like a vanished one, but with another answer: said, not guessed."""
        vanished = [r for r in self.free.values() if not r.removed]
        if not vanished:
            return
        wordings = {r.guid: _grams(self._record_keys[r.guid], 2) for r in vanished}
        index = _Index(wordings)
        for i in self._open(inferred=True):
            grams = _grams(self.questions[i].key, 2)
            scored = sorted(((_similarity(grams, wordings[guid]), guid) for guid in index.sharing(grams)),
                            reverse=True)
            if scored and scored[0][0] >= RESEMBLES and not any(
                    d.line == self.questions[i].line and d.code == "ambiguous-rename" for d in self.diagnostics):
                record = self.free[scored[0][1]]
                self._say(self.questions[i], (
                    f'becomes a new note, though it reads like "{record.question}" ({record.source}), which is '
                    "gone: their answers differ too much to take it for the same note. If it is, add "
                    f'{{was="{record.question}"}} to the heading, so it keeps that note\'s review history; if it is '
                    "not, add {new} to say so."), "unmatched-rewording")

    def _say(self, question: Question, message: str, code: str, once: bool = True) -> None:
        self.diagnostics.append(Diagnostic(question.path, question.line, message, code=code, once=once))


def _clearly_closer(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether a rewording candidate scored `a` (answer, wording) is clearly the one rather than `b`: by its
    answer, or, when both answers are as close, by its wording."""
    if a[0] > b[0] + ANSWERS_ALIKE:
        return True
    return a[0] >= b[0] - ANSWERS_ALIKE and a[1] > b[1] + WORDING_MARGIN


class _Squashed(dict):
    """Texts with their white space squashed, each made when first asked for."""

    def __init__(self, text_of) -> None:
        super().__init__()
        self.text_of = text_of

    def __missing__(self, key) -> str:
        value = self[key] = " ".join(self.text_of(key).split())
        return value


class _Index:
    """Which texts share a rare piece with a given text: the only ones worth comparing it with."""

    def __init__(self, texts: dict) -> None:
        self.postings: dict[str, list] = defaultdict(list)
        for key, grams in texts.items():
            for gram in grams:
                self.postings[gram].append(key)

    def sharing(self, grams: set[str], most: int = 5) -> list:
        """The keys of up to `most` texts sharing the most of the RARE rarest pieces of `grams`.

        Whatever order the set `grams` iterates in (it changes with Python's hash seed), the answer is the
        same: pieces as rare as each other are taken in the order of their texts, and keys sharing as many
        in the order of the keys, so that a build matches alike on every run.
        """
        postings = sorted(filter(None, map(self.postings.get, grams)), key=len)
        if len(postings) > RARE:
            lengths = list(map(len, postings))
            below, through = bisect_left(lengths, lengths[RARE - 1]), bisect_right(lengths, lengths[RARE - 1])
            postings = postings[:below] + sorted(postings[below:through])[:RARE - below]
        counts = Counter(chain.from_iterable(postings))
        return [key for key, _ in heapq.nsmallest(most, counts.items(), key=lambda item: (-item[1], item[0]))]


def _grams(text: str, size: int) -> set[str]:
    """The pieces of `size` characters of a text (casefolded), by which two texts are compared."""
    text = text.casefold()
    return {text[i:i + size] for i in range(max(1, len(text) - size + 1))}


def _similarity(a: set[str], b: set[str]) -> float:
    """How much of two texts is the same, from 0 to 1 (the Dice coefficient of their pieces)."""
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 1.0


def _source_line(source: str) -> int:
    line = source.rpartition(":")[2]
    return int(line) if line.isdigit() else 0
