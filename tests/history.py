"""Long histories of edits, set-backs and syncs, checked against what Anki shows (issue 23, item 5).

A seed draws a library of Markdown files (nested folders, sections, namesakes:
one question asked in two places with two answers, and shared answers: two
questions answered word for word alike), then versions of it. Each version
applies edits the README says keep or end a note unambiguously (see
"Identities": which note a question continues, going back, removed notes),
or sets the whole library back to an older version's tree, as a
`git checkout` of every tracked file does (the Markdown, `.deckgen/` and
`deckgen.toml`). Each version is built, imported into a "desktop" Anki
collection with Anki's default options, studied a little, and synced with a
"phone" through Anki's own sync server, which studies a little too.

Every generated question carries a lineage: the note the README says it
continues. A reworded, moved or re-answered question keeps its lineage; one
reworded and re-answered at once is a new lineage (the old one is removed); a
restored question takes its old lineage back; after a set-back the lineages
are those of the tree set back to. The harness never reads deckgen's record
to judge: it judges by what Anki shows (the fields Question and Answer, the
tag `deckgen::removed`, the review log), against these lineages. Every
(question, answer) pair the harness ever writes belongs to one lineage only,
so a note's fields say which lineage it shows.

Edits are data (`Op`s), so a run can be replayed with some of them left out:
`shrink` finds a shorter history that still shows a violation of one kind.
`bench/long_history.py` runs many seeds; `tests/test_long_history.py` a few.
"""

from __future__ import annotations

import copy
import html
import os
import random
import re
import shutil
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import SyncedProfile, asked, next_millisecond, sync_server
try:
    from deckgen.output.staging import LOCK_NAME
except ImportError:  # a deckgen before 0.3.2 (bench/long_history.py --deckgen DIR)
    from deckgen.staging import LOCK_NAME

REMOVED_TAG = "deckgen::removed"
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "gu", "zo", "fa", "di", "bre", "qua", "xin"]
STARTS = ["What is", "How does", "Why does", "When is", "What makes", "Which"]


# --------------------------------------------------------------------------------------------- the library model

@dataclass
class Question:
    lineage: int
    text: str
    answer: str


@dataclass
class Section:
    name: str | None  # None: the questions above a file's first `##` heading (only ever the first section)
    questions: list[Question]


Tree = dict[str, list[Section]]
"""A library as the harness writes it: file path (`ml/basics.md`) -> its sections, in order."""


@dataclass(frozen=True)
class Gone:
    """A question no longer in the Markdown: what it last said, and where it was."""

    text: str
    answer: str
    path: str
    section: str | None


def render(sections: list[Section]) -> str:
    parts = []
    for section in sections:
        if section.name is not None:
            parts.append(f"## {section.name}\n\n")
        parts.extend(f"### {q.text}\n{q.answer}\n\n" for q in section.questions)
    return "".join(parts)


def questions_of(tree: Tree) -> dict[int, Question]:
    return {q.lineage: q for sections in tree.values() for section in sections for q in section.questions}


def locate(tree: Tree, lineage: int) -> tuple[str, Section, int] | None:
    for path, sections in tree.items():
        for section in sections:
            for index, q in enumerate(section.questions):
                if q.lineage == lineage:
                    return path, section, index
    return None


def texts_at(tree: Tree, path: str, section: str | None) -> set[str]:
    return {q.text for s in tree.get(path, []) if s.name == section for q in s.questions}


def take_out(tree: Tree, lineage: int) -> tuple[Question, Gone]:
    """Remove a question; a section or file left without questions goes too."""
    path, section, index = locate(tree, lineage)
    question = section.questions.pop(index)
    if not section.questions:
        tree[path].remove(section)
        if not tree[path]:
            del tree[path]
    return question, Gone(question.text, question.answer, path, section.name)


def put_in(tree: Tree, question: Question, path: str, section: str | None, where: float) -> None:
    """Insert a question at fraction `where` of a section, making the section (and file) if need be."""
    sections = tree.setdefault(path, [])
    target = next((s for s in sections if s.name == section), None)
    if target is None:
        target = Section(section, [])
        sections.insert(0 if section is None else len(sections), target)
    target.questions.insert(round(where * len(target.questions)), question)


def folders_of(tree: Tree) -> set[str]:
    return {"/".join(path.split("/")[:depth]) for path in tree for depth in range(1, path.count("/") + 1)}


class History:
    """What the harness knows of every lineage, across branches: it only grows (set-backs keep it)."""

    def __init__(self):
        self.lineages: set[int] = set()
        self.texts_of: dict[int, set[str]] = defaultdict(set)
        self.answers_of: dict[int, set[str]] = defaultdict(set)
        self.by_text: dict[str, set[int]] = defaultdict(set)
        self.by_answer: dict[str, set[int]] = defaultdict(set)
        self.owner: dict[tuple[str, str], int] = {}
        """(question, answer) -> the one lineage that ever said it: how a note's fields name its lineage."""
        self.last_built: dict[int, Gone] = {}
        """Each lineage as the last build that had it in the Markdown wrote it."""
        self.used: set[str] = set()
        """Every text and name generated so far, so that fresh ones are fresh."""
        self.next_lineage = 1

    def text_is_new(self, text: str, lineage: int | None = None) -> bool:
        """No lineage but `lineage` ever asked it."""
        return self.by_text.get(text, set()) <= {lineage}

    def free(self, lineage: int, text: str, answer: str) -> bool:
        return self.owner.get((text, answer), lineage) == lineage

    def register(self, lineage: int, text: str, answer: str) -> None:
        assert self.free(lineage, text, answer), f"harness: L{lineage} would say what another lineage said"
        self.lineages.add(lineage)
        self.next_lineage = max(self.next_lineage, lineage + 1)
        self.texts_of[lineage].add(text)
        self.answers_of[lineage].add(answer)
        self.by_text[text].add(lineage)
        self.by_answer[answer].add(lineage)
        self.owner[(text, answer)] = lineage
        self.used.update((text, answer))


class Draft:
    """One version being written: the tree, the branch's removed questions, and what its edits touched.

    An edit touches one question at most once a version and never touches a
    question another edit of the version relies on (`locked`), so that each
    question's fate follows from one rule of the README, never from two
    edits meeting, or from a similarity threshold.
    """

    def __init__(self, tree: Tree, tombstones: dict[int, Gone], history: History, label: int,
                 snapshots: dict[int, tuple[Tree, dict[int, Gone]]]):
        self.tree, self.tombstones, self.history, self.label = tree, tombstones, history, label
        self.snapshots = snapshots
        self.locked: set[int] = set()
        self.new: set[int] = set()  # lineages first written by this version
        self.busy: set[str] = set()  # files a file-wide edit of this version made or touched
        self.ops: list[Op] = []
        self.set_back: int | None = None

    def current(self) -> dict[int, Question]:
        return questions_of(self.tree)

    def gone(self) -> set[int]:
        return self.history.lineages - set(self.current())

    def answer_ever_gone(self, answer: str) -> bool:
        """Whether a lineage not in the Markdown ever had this answer (some record may still say it)."""
        return any(answer in self.history.answers_of[g] for g in self.gone())

    def text_ever_gone(self, text: str) -> bool:
        """Whether a lineage not in the Markdown ever asked this question."""
        return any(text in self.history.texts_of[g] for g in self.gone())

    def others_with(self, lineage: int | None, *, text: str | None = None, answer: str | None = None):
        return [q for q in self.current().values() if q.lineage != lineage
                and (text is None or q.text == text) and (answer is None or q.answer == answer)]

    def free_to_lock(self, questions, new_ok: bool = False) -> bool:
        return all(q.lineage not in self.locked or (new_ok and q.lineage in self.new) for q in questions)

    def lock(self, *lineages: int) -> None:
        self.locked.update(lineages)

    def live(self, lineage: int) -> Question | None:
        """The question, if it is in the Markdown and untouched so far this version."""
        if lineage in self.locked:
            return None
        return self.current().get(lineage)

    def path_is_free(self, path: str) -> bool:
        """A file name no file and no folder of the tree has (a file `a.md` beside a folder `a/` would make
        the decks `a` and `a::…`, which is not what a rename is about)."""
        stems = {p[:-3] for p in self.tree}
        parents = {"/".join(path.split("/")[:depth]) for depth in range(1, path.count("/") + 1)}
        return path not in self.tree and path[:-3] not in folders_of(self.tree) and not parents & stems


# --------------------------------------------------------------------------------------------- edits

class Op:
    """An edit, as data. `apply` checks it is safe (see `Draft`) on the draft as it is, and makes it;
    it returns False, changing nothing, when it is not (a replay with other edits left out)."""

    def apply(self, draft: Draft) -> bool:
        raise NotImplementedError


@dataclass
class Add(Op):
    """A new question; a namesake (another question's text, a new answer) or one sharing another's answer."""

    lineage: int
    text: str
    answer: str
    path: str
    section: str | None
    where: float
    related = False  # whether it was written as a namesake or sharing an answer

    def apply(self, d: Draft) -> bool:
        if self.lineage in d.history.lineages or not d.history.free(self.lineage, self.text, self.answer):
            return False
        if self.text in texts_at(d.tree, self.path, self.section) or self.path in d.busy and self.path not in d.tree:
            return False
        if self.path not in d.tree and not d.path_is_free(self.path):
            return False
        namesakes, sharers = d.others_with(None, text=self.text), d.others_with(None, answer=self.answer)
        # The question it shares its text or answer with stays as it is this version, and no removed question
        # ever said either: else a record might take the new one for it (restored, or reworded).
        if not d.free_to_lock(namesakes + sharers, new_ok=True):
            return False
        if d.text_ever_gone(self.text) or d.answer_ever_gone(self.answer):
            return False
        d.history.register(self.lineage, self.text, self.answer)
        put_in(d.tree, Question(self.lineage, self.text, self.answer), self.path, self.section, self.where)
        self.related = bool(namesakes or sharers)
        self.said = f"add L{self.lineage}" + "".join(f" (namesake of L{q.lineage})" for q in namesakes) + "".join(
            f" (shares L{q.lineage}'s answer)" for q in sharers) + f" -> {place(self.path, self.section)}"
        d.lock(self.lineage, *(q.lineage for q in namesakes + sharers))
        d.new.add(self.lineage)
        return True

    def __str__(self):
        return getattr(self, "said", f"add L{self.lineage} -> {place(self.path, self.section)}")


@dataclass
class LightEdit(Op):
    """A word appended to the answer: the same note (README: same text, same file and section)."""

    lineage: int
    word: str

    def apply(self, d: Draft) -> bool:
        q = d.live(self.lineage)
        if q is None:
            return False
        answer = q.answer[:-1] + f" {self.word}."
        if not d.history.free(q.lineage, q.text, answer):
            return False
        q.answer = answer
        d.history.register(q.lineage, q.text, answer)
        d.lock(q.lineage)
        return True

    def __str__(self):
        return f"edit L{self.lineage}"


@dataclass
class Rewrite(Op):
    """The answer rewritten, the question and its place unchanged: the same note (same text, same place)."""

    lineage: int
    answer: str

    def apply(self, d: Draft) -> bool:
        q = d.live(self.lineage)
        # A removed question that said this text might be its place's other candidate: not this edit's case.
        if q is None or d.text_ever_gone(q.text) or not d.history.free(q.lineage, q.text, self.answer):
            return False
        q.answer = self.answer
        d.history.register(q.lineage, q.text, self.answer)
        d.lock(q.lineage)
        return True

    def __str__(self):
        return f"rewrite L{self.lineage}"


@dataclass
class Reword(Op):
    """The question reworded, its answer unchanged: the same note (its answer word for word in exactly one
    vanished note). So no other question that still has that answer changes this version, and no removed
    one ever had it. (One whose answer was rewritten earlier in the version keeps its own note by its text
    and place, a surer rule: it has not vanished.)"""

    lineage: int
    text: str
    close: bool

    def apply(self, d: Draft) -> bool:
        q = d.live(self.lineage)
        if q is None or not d.history.text_is_new(self.text, q.lineage):
            return False
        sharers = d.others_with(q.lineage, answer=q.answer)
        if not d.free_to_lock(sharers) or d.answer_ever_gone(q.answer) or self.text in texts_at(
                d.tree, *place_of(d.tree, q.lineage)) or not d.history.free(q.lineage, self.text, q.answer):
            return False
        q.text = self.text
        d.history.register(q.lineage, self.text, q.answer)
        d.lock(q.lineage, *(s.lineage for s in sharers))
        return True

    def __str__(self):
        return f"reword L{self.lineage}" + (" (close)" if self.close else "")


@dataclass
class Replace(Op):
    """Reworded and re-answered in one version: another question (README: no silent inheritance), a new
    lineage in its place; the old one is removed."""

    lineage: int
    new_lineage: int
    text: str
    answer: str

    def apply(self, d: Draft) -> bool:
        q = d.live(self.lineage)
        if q is None or self.new_lineage in d.history.lineages or not d.history.text_is_new(self.text) \
                or d.history.by_answer.get(self.answer):
            return False
        path, section, index = locate(d.tree, q.lineage)
        section.questions[index] = Question(self.new_lineage, self.text, self.answer)
        d.tombstones[q.lineage] = Gone(q.text, q.answer, path, section.name)
        d.history.register(self.new_lineage, self.text, self.answer)
        d.lock(q.lineage, self.new_lineage)
        d.new.add(self.new_lineage)
        return True

    def __str__(self):
        return f"replace L{self.lineage} by L{self.new_lineage}"


@dataclass
class Move(Op):
    """The question, unchanged, to another section or file: the same note (same text elsewhere, same answer)."""

    lineage: int
    path: str
    section: str | None
    where: float
    why: str = ""

    def apply(self, d: Draft) -> bool:
        q = d.live(self.lineage)
        if q is None or place_of(d.tree, q.lineage) == (self.path, self.section):
            return False
        if self.text_clash(d, q) or self.path not in d.tree and not d.path_is_free(self.path):
            return False
        take_out(d.tree, q.lineage)
        put_in(d.tree, q, self.path, self.section, self.where)
        d.lock(q.lineage)
        return True

    def text_clash(self, d: Draft, q: Question) -> bool:
        return q.text in texts_at(d.tree, self.path, self.section)

    def __str__(self):
        return f"move L{self.lineage} -> {place(self.path, self.section)}{self.why}"


@dataclass
class Delete(Op):
    lineage: int

    def apply(self, d: Draft) -> bool:
        q = d.live(self.lineage)
        if q is None:
            return False
        _, gone = take_out(d.tree, q.lineage)
        d.tombstones[q.lineage] = gone
        d.lock(q.lineage)
        return True

    def __str__(self):
        return f"delete L{self.lineage}"


@dataclass
class Restore(Op):
    """A removed question written again as it last was (its text and answer), in its old place or elsewhere:
    its old note, with its history (README: "If the question comes back, so does its note")."""

    lineage: int
    old_place: bool
    path: str
    section: str | None
    where: float

    def apply(self, d: Draft) -> bool:
        if self.lineage not in d.gone() or self.lineage in d.locked:
            return False
        gone = d.tombstones.get(self.lineage) or d.history.last_built.get(self.lineage)
        if gone is None:
            return False
        path, section = (gone.path, gone.section) if self.old_place and gone.path in d.tree else (
            self.path, self.section)
        if path not in d.tree and not d.path_is_free(path) or gone.text in texts_at(d.tree, path, section):
            return False
        sharers = d.others_with(self.lineage, answer=gone.answer)
        if not d.free_to_lock(sharers, new_ok=True):
            return False
        put_in(d.tree, Question(self.lineage, gone.text, gone.answer), path, section, self.where)
        d.tombstones.pop(self.lineage, None)
        d.lock(self.lineage, *(s.lineage for s in sharers))
        self.said = f"restore L{self.lineage} -> {place(path, section)}" + (
            " (its old place)" if (path, section) == (gone.path, gone.section) else "")
        return True

    def __str__(self):
        return getattr(self, "said", f"restore L{self.lineage}")


def _file_wide(d: Draft, path: str) -> list[Question] | None:
    """The questions of a file a file-wide edit may take: none touched yet this version."""
    if path not in d.tree or path in d.busy:
        return None
    questions = [q for s in d.tree[path] for q in s.questions]
    return questions if all(q.lineage not in d.locked for q in questions) else None


@dataclass
class RenameFile(Op):
    """A file renamed or moved to another folder: every question keeps its note (same text elsewhere)."""

    path: str
    new_path: str

    def apply(self, d: Draft) -> bool:
        questions = _file_wide(d, self.path)
        if questions is None or not d.path_is_free(self.new_path):
            return False
        d.tree[self.new_path] = d.tree.pop(self.path)
        d.lock(*(q.lineage for q in questions))
        d.busy.update((self.path, self.new_path))
        return True

    def __str__(self):
        return f"rename {self.path} -> {self.new_path}"


@dataclass
class RenameFolder(Op):
    folder: str
    new_folder: str

    def apply(self, d: Draft) -> bool:
        paths = [p for p in d.tree if p.startswith(self.folder + "/")]
        if not paths or self.new_folder in folders_of(d.tree) | {p[:-3] for p in d.tree} or any(
                not d.path_is_free(self.new_folder + p[len(self.folder):]) for p in paths):
            return False
        groups = [_file_wide(d, p) for p in paths]
        if any(g is None for g in groups):
            return False
        for p in paths:
            moved = self.new_folder + p[len(self.folder):]
            d.tree[moved] = d.tree.pop(p)
            d.busy.update((p, moved))
        d.lock(*(q.lineage for g in groups for q in g))
        return True

    def __str__(self):
        return f"rename folder {self.folder}/ -> {self.new_folder}/"


@dataclass
class Split(Op):
    """A file split in two: its later sections (or, with one section, its later questions) to a new file."""

    path: str
    new_path: str
    cut: float

    def apply(self, d: Draft) -> bool:
        questions = _file_wide(d, self.path)
        if questions is None or len(questions) < 2 or not d.path_is_free(self.new_path):
            return False
        sections = d.tree[self.path]
        if len(sections) > 1:
            at = min(max(1, round(self.cut * len(sections))), len(sections) - 1)
            d.tree[self.new_path] = sections[at:]
            del sections[at:]
        else:
            (only,) = sections
            at = min(max(1, round(self.cut * len(only.questions))), len(only.questions) - 1)
            d.tree[self.new_path] = [Section(only.name, only.questions[at:])]
            del only.questions[at:]
        d.lock(*(q.lineage for q in questions))
        d.busy.update((self.path, self.new_path))
        return True

    def __str__(self):
        return f"split {self.path} -> +{self.new_path}"


@dataclass
class DeleteFile(Op):
    path: str

    def apply(self, d: Draft) -> bool:
        questions = _file_wide(d, self.path)
        if questions is None:
            return False
        for q in questions:
            _, gone = take_out(d.tree, q.lineage)
            d.tombstones[q.lineage] = gone
        d.lock(*(q.lineage for q in questions))
        d.busy.add(self.path)
        return True

    def __str__(self):
        return f"delete file {self.path}"


@dataclass
class Reorder(Op):
    """Sections and questions of a file in another order: no note changes."""

    path: str
    seed: int

    def apply(self, d: Draft) -> bool:
        if self.path not in d.tree:
            return False
        rng = random.Random(self.seed)
        sections = d.tree[self.path]
        head = [s for s in sections if s.name is None]
        rest = [s for s in sections if s.name is not None]
        rng.shuffle(rest)
        sections[:] = head + rest
        for s in sections:
            rng.shuffle(s.questions)
        return True

    def __str__(self):
        return f"reorder {self.path}"


@dataclass
class SetBack(Op):
    """The whole library (Markdown, `.deckgen/`, `deckgen.toml`) as it was after version `to`'s build."""

    to: int

    def apply(self, d: Draft) -> bool:
        if d.ops or self.to not in d.snapshots:
            return False
        tree, tombstones = d.snapshots[self.to]
        d.tree, d.tombstones = copy.deepcopy(tree), dict(tombstones)
        d.set_back = self.to
        return True

    def __str__(self):
        return f"SET BACK to v{self.to}"


def place(path: str, section: str | None) -> str:
    return path if section is None else f"{path}#{section.replace(' ', '_')}"


def place_of(tree: Tree, lineage: int) -> tuple[str, str | None]:
    path, section, _ = locate(tree, lineage)
    return path, section.name


# --------------------------------------------------------------------------------------------- drawing edits

class Words:
    """Deterministic nonsense, fresh every time: texts and names no earlier draw gave."""

    def __init__(self, rng: random.Random, history: History):
        self.rng, self.history = rng, history

    def word(self) -> str:
        return "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3)))

    def fresh(self, make) -> str:
        while True:
            text = make()
            if text not in self.history.used:
                self.history.used.add(text)
                return text

    def question(self) -> str:
        return self.fresh(lambda: f"{self.rng.choice(STARTS)} "
                                  f"{' '.join(self.word() for _ in range(self.rng.randint(2, 4)))}?")

    def close_wording(self, text: str) -> str:
        """One word of the question changed (the last)."""
        return self.fresh(lambda: text[:-1].rsplit(" ", 1)[0] + f" {self.word()}?")

    def answer(self) -> str:
        def make():
            words = [self.word() for _ in range(self.rng.randint(8, 14))]
            return " ".join(words).capitalize() + "."
        return self.fresh(make)

    def name(self) -> str:
        return self.fresh(self.word)

    def section(self) -> str:
        return self.fresh(lambda: " ".join(self.word().capitalize() for _ in range(self.rng.randint(1, 2))))


class Drawer:
    """Draws a version's edits from the seed's random generator; biased towards the shapes that the
    README's promises are hardest to keep in: namesakes and shared answers meeting moves and removals."""

    WEIGHTS = {"edit": 3, "reword": 3, "rewrite": 3, "replace": 1, "move": 4, "rename_file": 1,
               "rename_folder": 1, "split": 1, "delete": 2, "delete_file": 0.5, "restore": 2.5, "reorder": 1,
               "add": 2}

    def __init__(self, rng: random.Random, history: History):
        self.rng, self.history, self.words = rng, history, Words(rng, history)
        self.set_backs: list[tuple[int, int]] = []  # (version, the version it set the library back to)

    def initial(self, d: Draft) -> None:
        """Version 1: 3 to 6 files, nested or not, some with sections, 4 to 10 questions each; two namesakes
        and two shared answers."""
        rng = self.rng
        folders = [self.words.name() for _ in range(2)]
        for _ in range(rng.randint(3, 6)):
            shape = rng.random()
            parent = (rng.choice(folders) + "/" + (self.words.name() + "/" if shape < 0.3 else "")) \
                if shape < 0.8 else ""
            path = parent + self.words.name() + ".md"
            sections = [None] * (rng.random() < 0.5) + [self.words.section() for _ in range(rng.randint(0, 3))]
            sections = sections or [None]
            for index in range(rng.randint(4, 10)):
                self.add(d, path=path, section=sections[index % len(sections)])
        for _ in range(2):
            self.add(d, kind="namesake")
            self.add(d, kind="shared answer")

    def version(self, d: Draft, set_back_odds: float = 0.25) -> None:
        """A version's edits: now and then a set-back first (more often right after one, as when switching
        branches back and forth), then a few edits."""
        rng = self.rng
        just_set_back = bool(self.set_backs) and self.set_backs[-1][0] == d.label - 1
        older = sorted(label for label in d.snapshots if label < d.label - 1)  # the last one: nothing to do
        if older and rng.random() < set_back_odds * (2 if just_set_back else 1):
            tips = [at - 1 for at, _ in self.set_backs if at - 1 in older]  # the branch a set-back left
            again = [to for _, to in self.set_backs if to in older]  # where one went before
            pick = rng.random()
            target = rng.choice(tips if tips and pick < 0.35 else again if again and pick < 0.55 else older)
            if self.try_op(d, SetBack(target)):
                self.set_backs.append((d.label, target))
            wanted = rng.choice([0, 0, 1, 2])
        else:
            wanted = rng.randint(1, 4)
        kinds, weights = zip(*self.WEIGHTS.items())
        for _ in range(200):
            if len(d.ops) - (d.set_back is not None) >= wanted:
                break
            getattr(self, "draw_" + rng.choices(kinds, weights)[0])(d)

    def try_op(self, d: Draft, op: Op) -> bool:
        if op.apply(d):
            d.ops.append(op)
            return True
        return False

    # -- helpers
    def some_question(self, d: Draft, among=None) -> Question | None:
        choices = [q for q in (among if among is not None else d.current().values()) if q.lineage not in d.locked]
        return self.rng.choice(choices) if choices else None

    def some_place(self, d: Draft, new_file_odds: float = 0.1) -> tuple[str, str | None]:
        rng = self.rng
        if not d.tree or rng.random() < new_file_odds:
            folders = sorted(folders_of(d.tree))
            parent = rng.choice(folders) + "/" if folders and rng.random() < 0.7 else ""
            return parent + self.words.name() + ".md", None if rng.random() < 0.5 else self.words.section()
        path = rng.choice(sorted(d.tree))
        names = [s.name for s in d.tree[path]]
        if rng.random() < 0.15:
            return path, self.words.section()
        return path, rng.choice(names)

    def add(self, d: Draft, kind: str = "new", path: str | None = None, section: str | None = None) -> None:
        if path is None:
            path, section = self.some_place(d)
        text, answer = None, None
        if kind != "new":
            current = sorted(d.current().values(), key=lambda q: q.lineage)
            if not current:
                return
            other = self.rng.choice(current)
            if kind == "namesake":
                text = other.text
                for _ in range(5):  # another file or section than its namesake's
                    if (path, section) != place_of(d.tree, other.lineage):
                        break
                    path, section = self.some_place(d, new_file_odds=0.3)
            else:
                answer = other.answer
        lineage = self.history.next_lineage
        self.try_op(d, Add(lineage, text or self.words.question(), answer or self.words.answer(), path, section,
                           self.rng.random()))

    def fresh_path(self, d: Draft, near: str | None = None) -> str:
        rng = self.rng
        folders = sorted(folders_of(d.tree))
        if near is not None and rng.random() < 0.6:
            parent = near.rsplit("/", 1)[0] + "/" if "/" in near else ""
        else:
            parent = rng.choice(folders + [""]) + "/" if folders else ""
            parent = "" if parent == "/" else parent
            if rng.random() < 0.2:
                parent += self.words.name() + "/"
        return parent + self.words.name() + ".md"

    # -- one draw per kind
    def draw_edit(self, d):
        q = self.some_question(d)
        if q:
            self.try_op(d, LightEdit(q.lineage, self.words.name()))

    def draw_rewrite(self, d):
        moved = [op.lineage for op in d.ops if isinstance(op, Move)]
        sharers = [q for q in d.current().values() for m in moved if q.lineage != m
                   and q.answer == d.current()[m].answer]
        q = self.some_question(d, sharers) if sharers and self.rng.random() < 0.7 else None
        q = q or self.some_question(d)
        if q:
            self.try_op(d, Rewrite(q.lineage, self.words.answer()))

    def draw_reword(self, d):
        q = self.some_question(d)
        if q:
            close = self.rng.random() < 0.5
            self.try_op(d, Reword(q.lineage, self.words.close_wording(q.text) if close else self.words.question(),
                                  close))

    def draw_replace(self, d):
        q = self.some_question(d)
        if q:
            self.try_op(d, Replace(q.lineage, self.history.next_lineage, self.words.close_wording(q.text),
                                   self.words.answer()))

    def draw_move(self, d):
        rng = self.rng
        current = d.current()
        # Into the place of a removed namesake, or beside a question sharing its answer, now and then.
        gone_places = {(self.history.last_built[g].text, self.history.last_built[g].path,
                        self.history.last_built[g].section) for g in d.gone() if g in self.history.last_built}
        gone_places |= {(t.text, t.path, t.section) for t in d.tombstones.values()}
        namesake_moves = [(q, p, s) for q in current.values() for (t, p, s) in gone_places
                          if t == q.text and (p, s) != place_of(d.tree, q.lineage) and q.lineage not in d.locked]
        if namesake_moves and rng.random() < 0.4:
            q, path, section = rng.choice(namesake_moves)
            self.try_op(d, Move(q.lineage, path, section, rng.random(), " (a removed namesake's place)"))
            return
        shared = [q for q in current.values() if any(o.answer == q.answer for o in current.values() if o is not q)]
        q = self.some_question(d, shared) if shared and rng.random() < 0.3 else None
        q = q or self.some_question(d)
        if q:
            path, section = self.some_place(d)
            self.try_op(d, Move(q.lineage, path, section, rng.random()))

    def draw_rename_file(self, d):
        if d.tree:
            path = self.rng.choice(sorted(d.tree))
            self.try_op(d, RenameFile(path, self.fresh_path(d, near=path)))

    def draw_rename_folder(self, d):
        folders = sorted(folders_of(d.tree))
        if folders:
            folder = self.rng.choice(folders)
            parent = folder.rsplit("/", 1)[0] + "/" if "/" in folder else ""
            self.try_op(d, RenameFolder(folder, parent + self.words.name()))

    def draw_split(self, d):
        if d.tree:
            path = self.rng.choice(sorted(d.tree))
            self.try_op(d, Split(path, self.fresh_path(d, near=path), self.rng.random()))

    def draw_delete(self, d):
        current = d.current()
        namesakes = [q for q in current.values() if any(o.text == q.text for o in current.values() if o is not q)]
        q = self.some_question(d, namesakes) if namesakes and self.rng.random() < 0.4 else None
        q = q or self.some_question(d)
        if q and len(current) > 4:
            self.try_op(d, Delete(q.lineage))

    def draw_delete_file(self, d):
        if len(d.tree) > 2:
            self.try_op(d, DeleteFile(self.rng.choice(sorted(d.tree))))

    def draw_restore(self, d):
        gone = sorted(g for g in d.gone() if g in d.tombstones or g in self.history.last_built)
        if gone:
            path, section = self.some_place(d)
            self.try_op(d, Restore(self.rng.choice(gone), self.rng.random() < 0.5, path, section, self.rng.random()))

    def draw_reorder(self, d):
        if d.tree:
            self.try_op(d, Reorder(self.rng.choice(sorted(d.tree)), self.rng.randrange(1 << 30)))

    def draw_add(self, d):
        self.add(d, kind=self.rng.choice(["new", "new", "namesake", "shared answer"]))


# --------------------------------------------------------------------------------------------- Anki's side

@dataclass(frozen=True)
class NoteView:
    """A note as its user sees it: its GUID, fields, whether it is marked removed, whether it was studied."""

    guid: str
    question: str
    answer: str
    removed: bool
    reviewed: bool
    file: str  # the file its Source field names (`ml/basics.md` of `ml/basics.md:12`)
    tags: frozenset[str]  # its tags but deckgen's own (`deckgen::removed`): the section's


def shown_text(field_html: str) -> str:
    """A field's HTML as text (the harness writes plain words: `<p>…</p>` around an answer), without the sections
    a namesake's question shows above it."""
    field_html = asked(field_html)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", field_html)).split())


class Device(SyncedProfile):
    """A collection ("desktop" or "phone") that syncs with the server and records each sync's kind."""

    def __init__(self, name: str, path: Path, endpoint: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, endpoint)
        self.name = name

    def sync(self, upload: bool = False) -> str:
        """The desktop (which syncs first) uploads where a full sync is asked for; the phone, empty, downloads."""
        return super().sync(upload=self.name == "desktop")

    def view(self) -> list[NoteView]:
        reviewed = set(self.col.db.list("select distinct n.guid from revlog r join cards c on c.id = r.cid "
                                        "join notes n on n.id = c.nid"))
        views = []
        for nid in self.col.find_notes(""):
            note = self.col.get_note(nid)
            views.append(NoteView(note.guid, shown_text(note["Question"]), shown_text(note["Answer"]),
                                  REMOVED_TAG in note.tags, note.guid in reviewed,
                                  shown_text(note["Source"]).rsplit(":", 1)[0],
                                  frozenset(t for t in note.tags if not t.startswith("deckgen::"))))
        return sorted(views, key=lambda v: v.guid)

    def study(self, rng: random.Random, share: float, studied) -> int:
        """Study like a user, across every deck: answer about `share` of the cards the scheduler offers,
        each once, with Good, and bury the others for the session (Anki answers only the card on top);
        `studied(guid, question, answer)` hears of each. First, some cards studied before are made due
        today, as days passing would."""
        from anki.scheduler_pb2 import CardAnswer

        col = self.col
        for cid in col.find_cards("-is:new -is:suspended"):
            if rng.random() < 0.3:
                col.sched.set_due_date([cid], "0")  # one card at a time: it logs a review entry, see below
                next_millisecond()
        answered = set()
        tops = [d for d in col.decks.all_names_and_ids() if "::" not in d.name]
        for deck in tops:
            col.decks.select(deck.id)
            while True:
                queued = [q for q in col.sched.get_queued_cards(fetch_limit=1).cards if q.card.id not in answered]
                if not queued:
                    break
                pick = queued[0]
                if rng.random() >= share:
                    col.sched.bury_cards([pick.card.id])
                    continue
                card = col.get_card(pick.card.id)
                note = card.note()
                studied(note.guid, shown_text(note["Question"]), shown_text(note["Answer"]))
                card.start_timer()
                col.sched.answer_card(col.sched.build_answer(card=card, states=pick.states, rating=CardAnswer.GOOD))
                answered.add(card.id)
                next_millisecond()
        for deck in tops:
            col.sched.unbury_deck(deck.id)
        return len(answered)



# --------------------------------------------------------------------------------------------- the run

@dataclass
class Version:
    label: int
    ops: list[Op]


def summary(ops: list[Op]) -> str:
    """The edits of a version, with new questions grouped by place: `add L1-L4, L9 -> ml/basics.md#Sec`."""
    grouped: dict[str, list[int]] = defaultdict(list)
    parts = []
    for op in ops:
        if isinstance(op, Add) and not op.related:
            where = place(op.path, op.section)
            if where not in grouped:
                parts.append(where)
            grouped[where].append(op.lineage)
        else:
            parts.append(op)
    return "; ".join(f"add {ranges(grouped[part])} -> {part}" if isinstance(part, str) else str(part)
                     for part in parts)


def ranges(numbers: list[int]) -> str:
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"L{r[0]}" if len(r) == 1 else f"L{r[0]}-L{r[-1]}" for r in runs)


@dataclass
class Violation:
    seed: int
    version: int
    device: str
    kind: str
    detail: str

    def __str__(self):
        return f"seed {self.seed} v{self.version} {self.device}: {self.kind}: {self.detail}"


@dataclass
class SeedRun:
    seed: int
    versions: list[Version] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)
    start: float = 0.0  # the time given to the first build, less 10 s (see `run_seed`)

    def script(self, up_to: int | None = None, indent: str = "  ") -> str:
        """The edits of each version, compactly (up to version label `up_to`)."""
        return "\n".join(f"{indent}v{v.label}: " + (summary(v.ops) or "(no edit)")
                          for v in self.versions if up_to is None or v.label <= up_to)

    def first_of_each_kind(self) -> list[Violation]:
        seen, first = set(), []
        for v in self.violations:
            if v.kind not in seen:
                seen.add(v.kind)
                first.append(v)
        return first


KINDS = {
    "not-shown": "(a) a question in the Markdown that no live note shows",
    "duplicate": "(a) a question shown by a second note besides its own",
    "wrong-question": "(a) a lineage's note shows another lineage's question",
    "stale": "(a) a lineage's note shows an older text or answer of it",
    "stale-place": "(a) a note shows its question where it no longer is (the Source field's file, the section tag)",
    "history-moved": "(b) a studied note now shows another question than the one it was studied under",
    "removed-but-current": "(c) the note of a question in the Markdown is tagged deckgen::removed",
    "not-marked-removed": "(d) the note of a question no longer in the Markdown is not tagged deckgen::removed",
    "unknown-content": "a note shows a question and answer the harness never wrote together",
    "full-sync": "(e) a sync after the first was a full one",
    "check-database": "(f) Check Database found a problem",
    "devices-differ": "desktop and phone show different notes after syncing",
    "reviews-lost": "a review in the log is gone",
    "build-error": "deckgen refused to build",
    "version-went-back": "a build gave a version it built before, not the last one (README: a build that changes "
                         "nothing leaves the version; one that changes something makes a new one)",
    "ambiguous-edit": "deckgen could not tell which note a question continues ([ambiguous-rename]), where the "
                      "README's rules tell (the harness makes no edit they leave open)",
}


@contextmanager
def machine(folder: Path):
    """deckgen's state and cache folders of this seed's own (see tests/conftest.py `machine`)."""
    saved = {name: os.environ.get(name) for name in ("DECKGEN_STATE_DIR", "DECKGEN_CACHE_DIR")}
    os.environ["DECKGEN_STATE_DIR"], os.environ["DECKGEN_CACHE_DIR"] = str(folder / "state"), str(folder / "cache")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def write_tree(src: Path, tree: Tree) -> None:
    """The Markdown files as the tree says; other Markdown files go (a snapshot brings back the rest)."""
    wanted = {path: render(sections) for path, sections in tree.items()}
    for md in sorted(src.rglob("*.md")):
        if md.relative_to(src).as_posix() not in wanted:
            md.unlink()
    for path, text in wanted.items():
        file = src / path
        file.parent.mkdir(parents=True, exist_ok=True)
        if not file.exists() or file.read_text(encoding="utf-8") != text:
            file.write_text(text, encoding="utf-8")
    for folder in sorted((p for p in src.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()) and folder.name != ".deckgen":
            folder.rmdir()


def take_snapshot(src: Path, into: Path) -> None:
    """Every file a commit would hold (the lock file stays out, as `.gitignore` keeps it)."""
    shutil.copytree(src, into, ignore=shutil.ignore_patterns(LOCK_NAME))


def check_out(snapshot: Path, src: Path) -> None:
    """As `git checkout` of every tracked file: what the snapshot has, and nothing else."""
    for child in src.iterdir():
        if child.name == LOCK_NAME:
            continue
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(snapshot, src, dirs_exist_ok=True)


class Judge:
    """Holds what Anki must show: each lineage's first GUID, and the lineage each note was studied under."""

    def __init__(self, run: SeedRun, history: History):
        self.run, self.history = run, history
        self.guid_of: dict[int, str] = {}
        self.studied_under: dict[str, set[int | None]] = defaultdict(set)
        self.reviews_seen: set[int] = set()
        self.places: dict[int, str] = {}
        """Where each question of the Markdown is, for the reports."""
        self.where: dict[int, tuple[str, frozenset[str]]] = {}
        """Where each question of the Markdown is, as its note shows it: file, and the section's tag."""

    def studied(self, guid: str, question: str, answer: str) -> None:
        self.studied_under[guid].add(self.history.owner.get((question, answer)))

    def violation(self, version: int, device: str, kind: str, detail: str) -> None:
        assert kind in KINDS, kind
        self.run.violations.append(Violation(self.run.seed, version, device, kind, detail))

    def check(self, version: int, device: str, notes: list[NoteView], current: dict[int, Question]) -> None:
        """The invariants (a) to (d) on what one device shows after a version."""
        owner, guid_of = self.history.owner, self.guid_of
        lineage_of_guid = {g: lineage for lineage, g in guid_of.items()}
        by_guid = {n.guid: n for n in notes}
        shows: dict[int, list[NoteView]] = defaultdict(list)

        def who(n: NoteView) -> str:
            lineage = owner.get((n.question, n.answer))
            mark = " [removed]" if n.removed else ""
            return f"{n.guid} (L{lineage}{mark}: {n.question!r})"

        for n in notes:
            lineage = owner.get((n.question, n.answer))
            if lineage is None:
                self.violation(version, device, "unknown-content", f"{n.guid}: {n.question!r} / {n.answer!r}")
                continue
            shows[lineage].append(n)
            under = self.studied_under.get(n.guid)
            if n.reviewed and under is not None and under != {lineage}:
                names = ", ".join(f"L{x}" for x in sorted(under, key=str))
                self.violation(version, device, "history-moved",
                               f"{who(n)} was studied under {names}, and now shows L{lineage}")
        for lineage, q in sorted(current.items()):
            live = [n for n in shows[lineage] if not n.removed and n.question == q.text and n.answer == q.answer]
            if lineage not in guid_of:  # its first appearance: its note is the one new note showing it
                if len(live) == 1 and live[0].guid not in lineage_of_guid and device == "desktop":
                    guid_of[lineage] = live[0].guid
                    lineage_of_guid[live[0].guid] = lineage
                elif len(live) == 1 and live[0].guid in lineage_of_guid:
                    self.violation(version, device, "wrong-question",
                                   f"new L{lineage} {q.text!r} at {self.place(lineage)} appeared on "
                                   f"L{lineage_of_guid[live[0].guid]}'s note {live[0].guid}")
                    continue
                elif len(live) > 1:
                    self.violation(version, device, "duplicate",
                                   f"new L{lineage} {q.text!r} is shown by {len(live)} notes: "
                                   + ", ".join(map(who, live)))
                    continue
            if not live:
                self.violation(version, device, "not-shown", f"L{lineage} {q.text!r} at {self.place(lineage)}")
            own = by_guid.get(guid_of.get(lineage))
            if own is None:
                if lineage in guid_of:
                    self.violation(version, device, "not-shown", f"L{lineage}'s note {guid_of[lineage]} is gone")
                continue
            if own.removed:
                self.violation(version, device, "removed-but-current",
                               f"L{lineage} {q.text!r} at {self.place(lineage)}: its note {own.guid} is tagged "
                               f"{REMOVED_TAG}")
            shown = owner.get((own.question, own.answer))
            if shown not in (None, lineage):
                self.violation(version, device, "wrong-question",
                               f"L{lineage}'s note {own.guid} shows L{shown} ({own.question!r})")
            elif shown == lineage and (own.question, own.answer) != (q.text, q.answer):
                self.violation(version, device, "stale", f"L{lineage}'s note {own.guid} shows "
                               f"{own.question!r} / {own.answer!r}, not {q.text!r} / {q.answer!r}")
            elif shown == lineage and not own.removed and (own.file, own.tags) != self.where[lineage]:
                path, tags = self.where[lineage]
                self.violation(version, device, "stale-place",
                               f"L{lineage}'s note {own.guid} says {own.file} {sorted(own.tags)}, not {path} "
                               f"{sorted(tags)}")
        for lineage, found in sorted(shows.items()):
            extra = [n for n in found if guid_of.get(lineage) not in (None, n.guid)]
            if extra:
                self.violation(version, device, "duplicate",
                               f"L{lineage} ({'in the Markdown' if lineage in current else 'removed'}) has its "
                               f"note {guid_of[lineage]}, and is shown by " + ", ".join(map(who, extra)))
        for lineage in sorted(set(guid_of) - set(current)):
            own = by_guid.get(guid_of[lineage])
            if own is not None and not own.removed:
                self.violation(version, device, "not-marked-removed",
                               f"L{lineage} is not in the Markdown, its note {who(own)} is not tagged {REMOVED_TAG}")

    def place(self, lineage: int) -> str:
        return self.places.get(lineage, "?")


def settle(history: History, tree: Tree, tombstones: dict[int, Gone]) -> None:
    """After a build: each question as built, and the lineages of other branches among the removed (the build
    marks removed what this machine delivered that the tree lacks; a restore brings back what Anki shows)."""
    for lineage, q in questions_of(tree).items():
        history.last_built[lineage] = Gone(q.text, q.answer, *place_of(tree, lineage))
    for lineage in history.lineages - set(questions_of(tree)) - set(tombstones):
        if lineage in history.last_built:
            tombstones[lineage] = history.last_built[lineage]


def replay(script: list[Version], history: History):
    """Each version's edits that apply (in order), with the tree, removed questions and set-back of each;
    versions left without edits (a shrunk replay) are skipped, and so is all after a library left empty."""
    tree: Tree = {}
    tombstones: dict[int, Gone] = {}
    snapshots: dict[int, tuple[Tree, dict[int, Gone]]] = {}
    for version in script:
        draft = Draft(copy.deepcopy(tree), dict(tombstones), history, version.label, snapshots)
        draft.ops = [op for op in version.ops if op.apply(draft)]
        if not draft.ops:
            continue
        if not draft.tree:
            return
        tree, tombstones = draft.tree, draft.tombstones
        yield Version(version.label, draft.ops), tree, draft.set_back
        settle(history, tree, tombstones)
        snapshots[version.label] = (copy.deepcopy(tree), dict(tombstones))


def draw(seed: int, versions: int, set_back_odds: float = 0.25) -> list[Version]:
    """The edits of `versions` versions, drawn from `seed` alone (the first makes the library)."""
    rng = random.Random(seed)
    history = History()
    drawer = Drawer(rng, history)
    tree: Tree = {}
    tombstones: dict[int, Gone] = {}
    snapshots: dict[int, tuple[Tree, dict[int, Gone]]] = {}
    script = []
    for label in range(1, versions + 1):
        draft = Draft(copy.deepcopy(tree), dict(tombstones), history, label, snapshots)
        drawer.initial(draft) if label == 1 else drawer.version(draft, set_back_odds)
        if not draft.ops:
            continue  # (as a replay skips it)
        script.append(Version(label, draft.ops))
        tree, tombstones = draft.tree, draft.tombstones
        settle(history, tree, tombstones)
        snapshots[label] = (copy.deepcopy(tree), dict(tombstones))
    return script


def run_seed(seed: int, versions: int, workdir: Path, script: list[Version] | None = None,
             stop_on: str | None = None, progress=None, set_back_odds: float = 0.25,
             after_import=None, start: float | None = None) -> SeedRun:
    """One history: `versions` builds of a library drawn from `seed` (or the edits `script` lists, those of
    them that still apply), each imported, studied and synced, and checked. Returns every violation; with
    `stop_on`, stops after the first version showing a violation of that kind. `after_import(label, desktop,
    phone)` may meddle with the collections after each import (the tests show the checks failing so).
    Version n is built at `start` + 10 n seconds (`start`: now, unless given; the run keeps it, since
    deckgen's output depends on the times it is given)."""
    started = time.monotonic()
    run = SeedRun(seed)
    history = History()
    judge = Judge(run, history)
    src, out = workdir / "library", workdir / "build"
    src.mkdir(parents=True)
    imported: set[str] = set()
    built: list[str] = []  # every package name the builds gave, in order
    last_name = None
    run.start = base = time.time() if start is None else start
    from deckgen import build_decks
    from deckgen.errors import BuildError, DeckgenError

    with machine(workdir / "machine"), sync_server(workdir / "server") as endpoint:
        desktop = Device("desktop", workdir / "desktop" / "collection.anki2", endpoint)
        phone = Device("phone", workdir / "phone" / "collection.anki2", endpoint)
        try:
            edits = replay(script if script is not None else draw(seed, versions, set_back_odds), history)
            for number, (version, tree, set_back) in enumerate(edits):
                label = version.label
                run.versions.append(version)
                if set_back is not None:
                    check_out(workdir / "snapshots" / str(set_back), src)
                write_tree(src, tree)
                current = questions_of(tree)
                assert len({(q.text, q.answer) for q in current.values()}) == len(current), "harness: a clash"
                judge.places = {q.lineage: place(*place_of(tree, q.lineage)) for q in current.values()}
                judge.where = {lineage: (path, frozenset([section.replace(" ", "_")] if section else []))
                               for lineage, (path, section) in ((q.lineage, place_of(tree, q.lineage))
                                                                for q in current.values())}
                if progress:
                    progress(f"seed {seed} v{label}: {summary(version.ops)}")

                try:
                    report = build_decks(src, out, now=base + 10 * (number + 1))
                except BuildError as error:
                    judge.violation(label, "build", "build-error", "; ".join(
                        f"{d.path.name}:{d.line}: {d.message} [{d.code}]" for d in error.diagnostics
                        if d.severity == "error"))
                    break
                except DeckgenError as error:
                    judge.violation(label, "build", "build-error", str(error))
                    break
                for d in report.diagnostics:
                    if d.code == "ambiguous-rename":
                        judge.violation(label, "build", "ambiguous-edit", f"{d.path.name}:{d.line}: {d.message}")
                (package,) = report.packages
                name = package.path.name
                if name in built and name != last_name:
                    judge.violation(label, "build", "version-went-back",
                                    f"{name} again, after {last_name} (built: {', '.join(built)})")
                built += [name] * (name not in built)
                last_name = name
                changes = defaultdict(int)
                for change in package.plan.changes:
                    changes[change.kind] += 1
                run.log.append(f"v{label} -> {name} ({dict(changes)}; {sorted({d.code for d in report.diagnostics})})")
                take_snapshot(src, workdir / "snapshots" / str(label))

                study = random.Random(f"{seed}/{label}")
                syncs_before = {device.name: len(device.syncs) for device in (desktop, phone)}
                if name not in imported:  # a version imported before is not imported again
                    imported.add(name)
                    desktop.import_package(package.path)
                if after_import:
                    after_import(label, desktop, phone)
                desktop.study(study, 0.6, judge.studied)
                desktop.sync()
                phone.sync()
                phone.study(study, 0.5, judge.studied)
                phone.sync()
                desktop.sync()

                views = {device.name: device.view() for device in (desktop, phone)}
                for device in (desktop, phone):
                    judge.check(label, device.name, views[device.name], current)
                    these = device.syncs[max(1, syncs_before[device.name]):]  # its very first sync is a full one
                    if any(kind.startswith("FULL") for kind in these):
                        judge.violation(label, device.name, "full-sync", f"this version's syncs: {these}")
                    problems, ok = device.check_database()
                    if not ok:
                        judge.violation(label, device.name, "check-database", problems)
                if views["desktop"] != views["phone"]:
                    differ = {v.guid for v in set(views["desktop"]) ^ set(views["phone"])}
                    judge.violation(label, "both", "devices-differ", f"notes {sorted(differ)} differ")
                reviews, on_phone = desktop.review_ids(), phone.review_ids()
                if reviews != on_phone or not judge.reviews_seen <= reviews:
                    judge.violation(label, "both", "reviews-lost",
                                    f"{len(judge.reviews_seen - reviews)} reviews gone on the desktop, "
                                    f"{len(reviews ^ on_phone)} differ between the devices")
                judge.reviews_seen |= reviews | on_phone
                if stop_on is not None and reproduces(run, stop_on):
                    break
        finally:
            desktop.close()
            phone.close()
    run.seconds = time.monotonic() - started
    return run


def reproduces(run: SeedRun, kind: str) -> bool:
    return any(v.kind == kind for v in run.violations)


def shrink(seed: int, run: SeedRun, kind: str, workroot: Path, progress=None) -> SeedRun:
    """A shorter history still showing a violation of `kind`: the versions after its first appearance go,
    then chunks of edits, halving their size down to single edits, as long as the violation stays (delta
    debugging). A replay leaves out the edits that the removal made unsafe or meaningless (see `Op`), and the
    versions left without edits."""
    first = next(v.version for v in run.violations if v.kind == kind)
    attempts = 0

    def try_script(script: list[Version]) -> SeedRun | None:
        nonlocal attempts
        attempts += 1
        folder = Path(tempfile.mkdtemp(prefix=f"shrink-{seed}-{attempts}-", dir=workroot))
        try:  # at the original run's times: deckgen's output depends on the times it is given
            tried = run_seed(seed, 0, folder, script=script, stop_on=kind, start=run.start)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return tried if reproduces(tried, kind) else None

    def edits(versions: list[Version]) -> list[tuple[int, int]]:
        return [(v.label, k) for v in versions for k in range(len(v.ops))]

    def without(versions: list[Version], dropped: set[tuple[int, int]]) -> list[Version]:
        return [Version(v.label, [op for k, op in enumerate(v.ops) if (v.label, k) not in dropped])
                for v in versions]

    best = try_script([Version(v.label, list(v.ops)) for v in run.versions if v.label <= first])
    if best is None:
        return run
    chunk = max(1, len(edits(best.versions)) // 2)
    while True:
        at, shrunk = 0, False
        while at < len(edits(best.versions)):
            items = edits(best.versions)
            tried = try_script(without(best.versions, set(items[at:at + chunk])))
            if tried is not None and len(edits(tried.versions)) < len(items):
                best, shrunk = tried, True
            else:
                at += chunk
        if progress:
            progress(f"  shrinking {kind}: {len(edits(best.versions))} edits in {len(best.versions)} versions "
                     f"(chunks of {chunk}, {attempts} replays)")
        if chunk == 1 and not shrunk:
            return best
        chunk = max(1, chunk // 2)
