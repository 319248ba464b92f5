"""Updates that must never cost a review history or leave Anki out of step with the source, in real collections.

Each test builds a notes folder of several files, imports every package into
a real Anki collection, studies there, and checks what the user sees in Anki:
which notes are live, which are tagged deckgen::removed, their fields, and
how many reviews each note has; and the build's report where it says more.
The clock is the `now` passed to each build, never the wall clock.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import msgspec
import pytest

from deckgen import build_decks
from deckgen.identify import note_types as note_types_module
from deckgen.output import package as package_module
from deckgen.errors import BuildError
from deckgen.identify.note_types import BASIC
from deckgen.output.staging import LOCK_NAME as LOCK

from conftest import answer_all_due, asked, record_of, reviews_by_card

T = 1_800_000_000
REMOVED = "deckgen::removed"
REPLACED = "deckgen::replaced"


class Notes:
    """A notes folder of several Markdown files, built into one output folder on one machine, its clock moving
    on; `snapshot` and `checkout` are a commit and a `git checkout` of the whole tree (`.deckgen/` and
    `deckgen.toml` too; not the lock file, which is git-ignored)."""

    def __init__(self, tmp_path: Path, files: dict[str, str]):
        self.src, self.out = tmp_path / "notes", tmp_path / "build"
        self.src.mkdir()
        self.now = T
        self.write(files)

    def write(self, files: dict[str, str]) -> None:
        """The notes folder's Markdown as `files` says (path -> text, dedented): any other Markdown file goes."""
        for path in self.src.rglob("*.md"):
            if path.relative_to(self.src).as_posix() not in files:
                path.unlink()
        for name, text in files.items():
            path = self.src / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def build(self, files: dict[str, str] | None = None, **options):
        """Build (after writing `files`, when given); return the report and its one package."""
        if files is not None:
            self.write(files)
        self.now += 100
        report = build_decks(self.src, self.out, now=self.now, **options)
        (package,) = report.packages
        return report, package

    def snapshot(self) -> dict[str, bytes]:
        return {path.relative_to(self.src).as_posix(): path.read_bytes()
                for path in sorted(self.src.rglob("*")) if path.is_file() and path.name != LOCK}

    def checkout(self, snapshot: dict[str, bytes]) -> None:
        for path in sorted(self.src.rglob("*"), reverse=True):
            if path.is_file() and path.name != LOCK and path.relative_to(self.src).as_posix() not in snapshot:
                path.unlink()
        for name, data in snapshot.items():
            path = self.src / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def notes_asking(anki, question: str) -> list:
    """Every note in the collection whose first field (Question, or a cloze note's Title) is `question` (with the
    context a namesake's card shows above it, or without)."""
    return [note for note in anki.notes() if asked(note.fields[0]) == question]


def live_questions(anki) -> list[str]:
    """The questions of the notes not tagged removed, sorted (a duplicate shows twice)."""
    return sorted(note["Question"] for note in anki.notes() if REMOVED not in note.tags)


def reviews_of(anki, note) -> int:
    reviews = reviews_by_card(anki)
    return sum(reviews.get(card.id, 0) for card in note.cards())


def codes(report) -> list[str]:
    return [d.code for d in report.diagnostics]


def kinds(package) -> list[tuple[str, str]]:
    return sorted((change.kind, change.question) for change in package.plan.changes)


# 1. A set-back (git checkout of an older tree) forgets the questions of files the older tree lacks.

A_MD = """
    ## Probability
    ### What is entropy?
    The expected surprise of a distribution, measured in bits or in nats.

    ### What is cross-entropy?
    The expected code length when samples of one distribution are coded for another.
    """
B_MD = """
    ## Optimisation
    ### What does momentum do?
    It averages past gradients so that steps keep moving in a consistent direction.

    ### What is weight decay?
    A penalty that shrinks every weight a little towards zero at each update.
    """
KL = "What is KL divergence?"
KL_ANSWER = "How many extra nats on average you pay for modelling samples of P with Q instead."
C_MD = f"""
    ## Divergences
    ### {KL}
    {KL_ANSWER}
    """


def test_a_set_back_to_a_tree_without_a_file_marks_its_notes_removed_and_they_come_back_with_their_history(
        tmp_path, anki):
    notes = Notes(tmp_path, {"a.md": A_MD, "b.md": B_MD})
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "a")
    answer_all_due(anki, "b")
    v1 = notes.snapshot()

    _, second = notes.build({"a.md": A_MD, "b.md": B_MD, "c.md": C_MD})
    assert kinds(second) == [("new", KL)]
    anki.import_package(second.path)
    answer_all_due(anki, "c")
    answer_all_due(anki, "c")  # studied twice: a history to keep
    (kl,) = notes_asking(anki, KL)
    kl_reviews = reviews_of(anki, kl)
    assert kl_reviews == 2

    notes.checkout(v1)  # git checkout of the first commit: c.md and its lines of the record are gone
    _, third = notes.build()
    assert third.plan.is_new_version, f"the set-back built no new version: {third.plan.version} again, unchanged"
    assert kinds(third) == [("removed", KL)]
    anki.import_package(third.path)
    assert REMOVED in anki.col.get_note(kl.id).tags, "the KL note is still live in Anki, though c.md is gone"
    assert KL not in live_questions(anki)

    # v4: the question is written again, in a.md: it takes its old note back, history and all.
    a_again = A_MD + f"""
    ### {KL}
    {KL_ANSWER}
    """
    report, fourth = notes.build({"a.md": a_again, "b.md": B_MD})
    assert [kind for kind, _ in kinds(fourth)] == ["restored"], kinds(fourth)
    assert "restored" in codes(report)
    log = anki.import_package(fourth.path)
    assert not log.new, f"a second KL note was added: {[n.fields[0] for n in log.new]}"
    (back,) = notes_asking(anki, KL)
    assert (back.id, back.guid) == (kl.id, kl.guid)
    assert REMOVED not in back.tags and reviews_of(anki, back) == kl_reviews
    assert anki.check_database()[1]


B2_EXTRA = "What is gradient clipping?"
B2_EXTRA_ANSWER = "Scaling the gradient down whenever its norm grows past a fixed threshold."


def test_a_set_back_over_a_renamed_file_keeps_one_note_a_question_and_marks_the_renamed_files_new_one_removed(
        tmp_path, anki):
    notes = Notes(tmp_path, {"a.md": A_MD, "b.md": B_MD})
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "b")
    v1 = notes.snapshot()
    b_ids = {note["Question"]: note.id for note in anki.notes() if note["Question"] in B_MD}
    b_reviews = {q: reviews_of(anki, anki.col.get_note(i)) for q, i in b_ids.items()}

    b2 = B_MD + f"""
    ### {B2_EXTRA}
    {B2_EXTRA_ANSWER}
    """
    _, second = notes.build({"a.md": A_MD, "b2.md": b2})  # b.md renamed b2.md, and a question added there
    assert ("new", B2_EXTRA) in kinds(second)
    anki.import_package(second.path)
    (extra,) = notes_asking(anki, B2_EXTRA)

    notes.checkout(v1)
    _, third = notes.build()
    assert third.plan.is_new_version, f"the set-back built no new version: {third.plan.version} again"
    anki.import_package(third.path)
    assert REMOVED in anki.col.get_note(extra.id).tags, "the question only b2.md had is still live in Anki"
    expected = sorted(["What is entropy?", "What is cross-entropy?", "What does momentum do?", "What is weight decay?"])
    assert live_questions(anki) == expected
    assert len(anki.notes()) == 5  # and no note twice
    for question, note_id in b_ids.items():
        (note,) = notes_asking(anki, question)
        assert note.id == note_id and reviews_of(anki, note) == b_reviews[question]

    # The question written again in b.md takes its old note back.
    report, fourth = notes.build({"a.md": A_MD, "b.md": b2})
    assert [kind for kind, _ in kinds(fourth)] == ["restored"], kinds(fourth)
    log = anki.import_package(fourth.path)
    assert not log.new
    (back,) = notes_asking(anki, B2_EXTRA)
    assert back.id == extra.id and REMOVED not in back.tags
    assert anki.check_database()[1]


# 2. A question moved into the place of a removed namesake takes the namesake's note.

TRADE_OFFS = "What are the trade-offs?"
ML_ANSWER = "Stronger regularisation lowers variance but raises bias, so the model may underfit the data."
OS_ANSWER = "Larger pages shrink the page tables and TLB misses but waste more memory to internal fragmentation."
ML_MD = f"""
    ## Regularization
    ### What does dropout do?
    It zeroes a random share of activations during training to prevent co-adaptation.

    ### {TRADE_OFFS}
    {ML_ANSWER}
    """
ML_WITHOUT = """
    ## Regularization
    ### What does dropout do?
    It zeroes a random share of activations during training to prevent co-adaptation.
    """
ML_WITH_OS = ML_WITHOUT + f"""
    ### {TRADE_OFFS}
    {OS_ANSWER}
    """
OS_MD = f"""
    ## Memory
    ### What is a page fault?
    A trap taken when a program touches a page that is not mapped in memory.

    ### {TRADE_OFFS}
    {OS_ANSWER}
    """
OS_WITHOUT = """
    ## Memory
    ### What is a page fault?
    A trap taken when a program touches a page that is not mapped in memory.
    """


def test_a_question_moved_where_a_removed_namesake_was_keeps_its_own_note(tmp_path, anki):
    notes = Notes(tmp_path, {"ml.md": ML_MD, "os.md": OS_MD})
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "ml")  # A studied once
    answer_all_due(anki, "os")
    answer_all_due(anki, "os")  # B studied twice
    (a,) = [n for n in notes_asking(anki, TRADE_OFFS) if "regularisation" in n["Answer"]]
    (b,) = [n for n in notes_asking(anki, TRADE_OFFS) if "page tables" in n["Answer"]]
    a_reviews, b_reviews = reviews_of(anki, a), reviews_of(anki, b)
    assert (a_reviews, b_reviews) == (1, 2)

    _, second = notes.build({"ml.md": ML_WITHOUT, "os.md": OS_MD})  # ml.md's is deleted: A is removed
    assert kinds(second) == [("removed", TRADE_OFFS)]
    anki.import_package(second.path)
    assert REMOVED in anki.col.get_note(a.id).tags

    # os.md's question moves, with its answer as it was, into ml.md under Regularization.
    report, third = notes.build({"ml.md": ML_WITH_OS, "os.md": OS_WITHOUT})
    assert "restored" not in codes(report), [d.message for d in report.diagnostics if d.code == "restored"]
    assert [kind for kind, _ in kinds(third)] == ["changed"], kinds(third)  # B moved (its file is part of it)
    anki.import_package(third.path)
    b_now, a_now = anki.col.get_note(b.id), anki.col.get_note(a.id)
    assert REMOVED not in b_now.tags, "B's note was marked removed: its question took A's note"
    assert "page tables" in b_now["Answer"] and reviews_of(anki, b_now) == b_reviews
    assert REMOVED in a_now.tags and "regularisation" in a_now["Answer"] and reviews_of(anki, a_now) == a_reviews
    assert [n.id for n in notes_asking(anki, TRADE_OFFS) if REMOVED not in n.tags] == [b.id]
    assert anki.check_database()[1]


# 3. Two questions share one answer word for word: moving one must not cost the other its note.

ZOMBIE = "What is a zombie process?"
WHICH = "Which process is a zombie?"
SHARED = "A child that has exited but whose parent has not yet reaped it with wait()."
NEW_ANSWER = "The one shown with state Z in ps output, still holding its slot in the process table."
PROC_MD = f"""
    ## Processes
    ### What does fork() return?
    Zero in the child, and the child's process id in the parent.

    ### {ZOMBIE}
    {SHARED}

    ### {WHICH}
    {SHARED}
    """
PROC_V2 = f"""
    ## Processes
    ### What does fork() return?
    Zero in the child, and the child's process id in the parent.

    ### {WHICH}
    {NEW_ANSWER}
    """
MEM_V1 = """
    ## Processes
    ### What is a page table?
    The per-process map from virtual pages to the physical frames that hold them.
    """
MEM_MD = f"""
    ## Processes
    ### What is a page table?
    The per-process map from virtual pages to the physical frames that hold them.

    ### {ZOMBIE}
    {SHARED}
    """


def test_moving_one_of_two_questions_with_one_answer_keeps_the_others_note_when_its_answer_is_rewritten(
        tmp_path, anki):
    notes = Notes(tmp_path, {"proc.md": PROC_MD, "mem.md": MEM_V1})
    report, first = notes.build()
    assert "duplicate-answer" in codes(report)
    anki.import_package(first.path)
    answer_all_due(anki, "proc")  # the second of the two is studied (the whole deck is)
    (zombie,), (which,) = notes_asking(anki, ZOMBIE), notes_asking(anki, WHICH)
    which_reviews = reviews_of(anki, which)
    assert which_reviews == 1

    # The first moves, unchanged, to mem.md; the second's answer is rewritten in place.
    report, second = notes.build({"proc.md": PROC_V2, "mem.md": MEM_MD})
    assert "unmatched-rewording" not in codes(report), [
        d.message for d in report.diagnostics if d.code == "unmatched-rewording"]
    changes = {(c.kind, c.question, c.source.partition(":")[0]) for c in second.plan.changes}
    assert changes == {("changed", WHICH, "proc.md"), ("changed", ZOMBIE, "mem.md")}, changes  # 1 edit, 1 move
    log = anki.import_package(second.path)
    assert not log.new, f"new notes: {[n.fields[0] for n in log.new]}"
    which_now, zombie_now = anki.col.get_note(which.id), anki.col.get_note(zombie.id)
    assert REMOVED not in which_now.tags, "the rewritten question's note was marked removed"
    assert "state Z in ps output" in which_now["Answer"] and reviews_of(anki, which_now) == which_reviews
    assert REMOVED not in zombie_now.tags and "mem.md" in zombie_now["Source"]
    assert live_questions(anki) == sorted(
        ["What does fork() return?", "What is a page table?", ZOMBIE, WHICH])
    assert anki.check_database()[1]


# 4. Two set-backs in a row leave a question that came back marked removed in Anki.

Q = "What does a bloom filter guarantee?"
Q_ANSWER = "No false negatives: a member is always reported, though some non-members are reported too."
SETS_MD = """
    ## Probabilistic structures
    ### What does HyperLogLog estimate?
    The number of distinct items in a stream, using very little memory.
    """
SETS_WITH_Q = SETS_MD + f"""
    ### {Q}
    {Q_ANSWER}
    """


def test_checking_out_two_older_commits_in_turn_brings_a_returned_question_back_to_life(tmp_path, anki):
    notes = Notes(tmp_path, {"sets.md": SETS_WITH_Q, "hash.md": """
        ## Hashing
        ### What is consistent hashing?
        A scheme where adding a server moves only a small share of the keys.
        """})
    hash_md = (notes.src / "hash.md").read_text(encoding="utf-8")
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "sets")
    (q,) = notes_asking(anki, Q)
    q_reviews = reviews_of(anki, q)

    _, v2 = notes.build({"sets.md": SETS_MD, "hash.md": hash_md})  # Q deleted
    anki.import_package(v2.path)
    deleted = notes.snapshot()
    _, v3 = notes.build({"sets.md": SETS_WITH_Q, "hash.md": hash_md})  # written again
    anki.import_package(v3.path)
    written_again = notes.snapshot()
    _, v4 = notes.build({"sets.md": SETS_MD, "hash.md": hash_md})  # deleted again
    anki.import_package(v4.path)
    assert REMOVED in anki.col.get_note(q.id).tags

    notes.checkout(deleted)  # git checkout of v2's commit: Q is removed there too
    _, v5 = notes.build()
    anki.import_package(v5.path)
    assert REMOVED in anki.col.get_note(q.id).tags

    notes.checkout(written_again)  # then of v3's: Q is in the source
    report, v6 = notes.build()
    assert v6.plan.is_new_version, f"v6 is {v6.plan.version} again, which Anki has already taken (or skips)"
    assert ("restored", Q) in kinds(v6), kinds(v6)
    (said,) = [d for d in report.diagnostics if d.code == "restored"]
    assert "Toggle Suspend" in said.message
    anki.import_package(v6.path)
    back = anki.col.get_note(q.id)
    assert REMOVED not in back.tags, "after importing v6, Q is still marked removed in Anki"
    assert reviews_of(anki, back) == q_reviews and len(notes_asking(anki, Q)) == 1
    assert anki.check_database()[1]


# 5. --new-note-type when the recorded note type has other fields than today's.

OLD_FIELDS = ("Question", "Answer", "Source")
"""The basic note type as an older release had it: three fields, no Status."""


class _OldReleaseNote(package_module._Note):
    """How that release wrote notes: as many fields as its note type had."""

    def __init__(self, model, note):
        super().__init__(model, msgspec.structs.replace(note, fields=note.fields[:len(model.note_type.fields)]))


def test_a_fresh_start_from_a_note_type_with_other_fields_imports_and_leaves_the_old_notes_as_they_were(
        tmp_path, anki, monkeypatch):
    notes = Notes(tmp_path, {"cache.md": """
        ## Caching
        ### What is a write-back cache?
        A cache that writes changed lines to memory only when they are evicted.

        ### What is cache thrashing?
        Lines evicted again and again because the working set does not fit in the cache.
        """})
    status = note_types_module.STATUS
    old_templates = tuple((name, front.replace(status, ""), back.replace(status, ""))
                          for name, front, back in BASIC.templates)
    monkeypatch.setitem(note_types_module.NOTE_TYPES, "basic",
                        dataclasses.replace(BASIC, fields=OLD_FIELDS, templates=old_templates))
    monkeypatch.setattr(package_module, "_Note", _OldReleaseNote)
    _, first = notes.build()  # built by that release: its record says three fields
    monkeypatch.undo()
    assert next(iter(record_of(notes.src).note_types.values())).fields == OLD_FIELDS
    anki.import_package(first.path)
    answer_all_due(anki, "cache")
    old = {note.id: note.guid for note in anki.notes()}
    questions = {note.id: note["Question"] for note in anki.notes()}
    reviews = reviews_by_card(anki)
    assert [field["name"] for field in anki.col.models.get(BASIC.model_id)["flds"]] == list(OLD_FIELDS)

    with pytest.raises(BuildError) as refused:  # today's has four: a build without the flag says so
        notes.build()
    assert [d.code for d in refused.value.diagnostics if d.severity == "error"] == ["note-type-fork"]

    _, fresh = notes.build(allow_new_note_type=True)  # the deliberate fresh start
    assert fresh.plan.note_type_change == "fresh start"
    log = anki.import_package(fresh.path)
    assert (len(log.new), len(log.conflicting)) == (2, 0)
    new = [note for note in anki.notes() if note.id not in old]
    assert sorted(n["Question"] for n in new) == sorted(questions.values())
    assert all(n.mid != BASIC.model_id and list(n.keys()) == list(BASIC.fields) for n in new)
    assert [field["name"] for field in anki.col.models.get(BASIC.model_id)["flds"]] == list(OLD_FIELDS)
    left = {note.id: note for note in anki.notes() if note.id in old}
    assert {i: n.guid for i, n in left.items()} == old
    assert {cid: reviews_by_card(anki).get(cid) for cid in reviews} == reviews  # their history kept
    for note in left.values():
        assert note.mid == BASIC.model_id and list(note.keys()) == list(OLD_FIELDS)
        assert note["Question"] == questions[note.id] and REPLACED in note.tags
    assert anki.check_database()[1]


# 6. Heading attributes in two blocks, or in one.

OLD_X = "What was X?"
X_OLD_ANSWER = "The first name of the protocol, before the standards body renamed it in version two."
X_NEW_ANSWER = "A transport that multiplexes many streams over one encrypted connection without blocking."


@pytest.mark.parametrize("heading", [
    f'### What is X? {{#x-id}} {{was="{OLD_X}"}}',
    f'### What is X? {{was="{OLD_X}"}} {{#x-id}}',
    f'### What is X? {{#x-id was="{OLD_X}"}}',  # one block with both: read today (a control)
])
def test_a_heading_with_an_id_and_a_was_continues_the_old_note_and_shows_neither(tmp_path, anki, heading):
    notes = Notes(tmp_path, {"net.md": f"""
        ## Protocols
        ### {OLD_X}
        {X_OLD_ANSWER}

        ### What does TCP guarantee?
        Bytes arrive in order and without gaps, or the connection reports an error.
        """})
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "net")
    (old,) = notes_asking(anki, OLD_X)
    old_reviews = reviews_of(anki, old)

    # Reworded, and its answer rewritten: only the {was=…} can say which note it continues.
    report, second = notes.build({"net.md": f"""
        ## Protocols
        {heading}
        {X_NEW_ANSWER}

        ### What does TCP guarantee?
        Bytes arrive in order and without gaps, or the connection reports an error.
        """})
    log = anki.import_package(second.path)
    questions = sorted(note["Question"] for note in anki.notes())
    assert not any("{" in q for q in questions), f"attribute syntax shown on a card: {questions}"
    (recorded,) = [n for n in record_of(notes.src).notes.values() if n.question == "What is X?"]
    assert recorded.explicit_id == "x-id"
    assert not log.new, f"a new note instead of the old one: {[n.fields[0] for n in log.new]}"
    assert kinds(second) == [("renamed", "What is X?")]
    now = anki.col.get_note(old.id)
    assert now["Question"] == "What is X?" and "multiplexes" in now["Answer"] and REMOVED not in now.tags
    assert reviews_of(anki, now) == old_reviews
    assert "unknown-was" not in codes(report)


@pytest.mark.parametrize("heading, title, explicit_id", [
    ("### What does {} make in Python?", "What does {} make in Python?", None),
    ("### What does {} make in Python? {#empty-braces}", "What does {} make in Python?", "empty-braces"),
    ("### Why is {x} a set but {} a dict?", "Why is {x} a set but {} a dict?", None),
])
def test_braces_that_are_no_attributes_stay_question_text(tmp_path, anki, heading, title, explicit_id):
    notes = Notes(tmp_path, {"py.md": f"""
        ## Literals
        {heading}
        An empty dict: braces alone never make a set, set() does that instead.
        """})
    _, first = notes.build()
    anki.import_package(first.path)
    (note,) = anki.notes()
    assert note["Question"] == title
    (recorded,) = record_of(notes.src).notes.values()
    assert (recorded.question, recorded.explicit_id) == (title, explicit_id)


def test_a_set_back_over_a_moved_file_brings_the_cards_source_back_to_where_the_question_is(tmp_path, anki):
    """The file is part of what the author wrote (the card's source names it): a set-back to the tree before a
    move delivers the notes again, as their content changed back (seen on a real notes history)."""
    memory = """
        ### What is a page?
        A fixed-size block of virtual memory, mapped to a frame by the page table.

        ### What is a TLB?
        A small cache of page-table entries that spares most walks of the page table.
        """
    notes = Notes(tmp_path, {"os/memory.md": memory})
    _, first = notes.build()
    anki.import_package(first.path)
    before = notes.snapshot()
    _, moved = notes.build({"systems/memory.md": memory})
    anki.import_package(moved.path)
    assert {note["Source"] for note in anki.notes()} == {"systems/memory.md:1", "systems/memory.md:4"}

    notes.checkout(before)
    _, back = notes.build()
    assert back.plan.is_new_version and [c.reverted for c in back.plan.changes] == [True, True]
    log = anki.import_package(back.path)
    assert len(log.updated) == 2 and not log.new
    assert {note["Source"] for note in anki.notes()} == {"os/memory.md:1", "os/memory.md:4"}


def test_set_backs_to_trees_built_before_never_take_the_version_back(tmp_path, anki):
    """After a set-back Anki has had the latest version: whichever tree's record the checkout brought back
    (the record of the first tree says 1.0.0), the version goes on from the highest, and no package file
    already written is written again with other bytes."""
    notes = Notes(tmp_path, {"sets.md": SETS_WITH_Q})
    _, first = notes.build()
    anki.import_package(first.path)
    original = notes.snapshot()
    _, edited = notes.build({"sets.md": SETS_WITH_Q.replace("some non-members", "a few non-members")})
    anki.import_package(edited.path)
    notes.checkout(original)
    _, reverted = notes.build()
    anki.import_package(reverted.path)
    after_revert = notes.snapshot()
    written = {path.name: path.read_bytes() for path in notes.out.glob("*.apkg")}
    notes.checkout(original)  # the first commit once more: its record says 1.0.0
    _, again = notes.build()
    notes.checkout(after_revert)
    _, last = notes.build()
    assert [p.plan.version for p in (first, edited, reverted, again, last)] == [
        "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"]
    assert not again.plan.changes and not last.plan.changes
    assert all(notes.out.joinpath(name).read_bytes() == data for name, data in written.items())
    anki.import_package(last.path)
    (note,) = notes_asking(anki, Q)
    assert "some non-members" in note["Answer"]


def test_of_two_questions_sharing_an_answer_one_reworded_and_one_rewritten_both_keep_their_notes(tmp_path, anki):
    """The rewritten one's old answer is still in the library, under the reworded question: that does not make
    the reworded question its note, since the reworded one's own note had that answer too (found by the long
    histories of tests/test_long_history.py)."""
    notes = Notes(tmp_path, {"proc.md": PROC_MD})
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "proc")
    ids = {note["Question"]: note.id for note in anki.notes()}
    reviews = {question: reviews_of(anki, anki.col.get_note(i)) for question, i in ids.items()}
    reworded = "How do we call a process that has exited but was not reaped?"
    report, second = notes.build({"proc.md": PROC_MD.replace(f"### {ZOMBIE}", f"### {reworded}").replace(
        f"### {WHICH}\n    {SHARED}", f"### {WHICH}\n    {NEW_ANSWER}")})
    assert not {"ambiguous-rename", "unmatched-rewording"} & set(codes(report))
    assert kinds(second) == [("changed", WHICH), ("renamed", reworded)]
    log = anki.import_package(second.path)
    assert not log.new and len(log.updated) == 2
    assert anki.col.get_note(ids[ZOMBIE])["Question"] == reworded
    assert "state Z" in anki.col.get_note(ids[WHICH])["Answer"]
    assert {q: reviews_of(anki, anki.col.get_note(i)) for q, i in ids.items()} == reviews
    assert not any(REMOVED in note.tags for note in anki.notes())


# From a review of the changes above: set-backs over a cloze deck and over a folder that is its own package.

def test_a_set_back_over_a_cloze_deck_marks_its_notes_removed_with_their_own_note_type(tmp_path, anki):
    """The notes only this machine's delivery knows of keep the cloze note type their deck gave them (a
    tombstone of another note type is a conflict Anki skips, and the note stays live)."""
    notes = Notes(tmp_path, {"a.md": A_MD})
    _, first = notes.build()
    anki.import_package(first.path)
    before = notes.snapshot()
    (notes.src / "z.deck.toml").write_text('cards = "cloze"\n', encoding="utf-8")
    _, second = notes.build({"a.md": A_MD, "z.md": """
        ### KL divergence
        KL is {{c1::the extra nats}} paid when coding P with {{c2::a code for Q}}.
        """})
    anki.import_package(second.path)
    answer_all_due(anki, "z")
    (kl,) = notes_asking(anki, "KL divergence")

    notes.checkout(before)
    _, back = notes.build()
    assert kinds(back) == [("removed", "KL divergence")]
    log = anki.import_package(back.path)
    assert not log.conflicting and [n.fields[0] for n in log.updated] == ["KL divergence"]
    assert REMOVED in anki.col.get_note(kl.id).tags and anki.col.get_note(kl.id).mid == kl.mid


@pytest.mark.parametrize("change", ["set back", "deleted", "renamed"])
def test_a_top_folder_of_its_own_package_gone_keeps_every_note_accounted_for(tmp_path, anki, change):
    """With `packages = "folder"`, a folder gone (a set-back to before it, deleted, or renamed) has no package
    of its own left: its notes are matched anywhere, or marked removed in the package of another folder."""
    files = {"ml/basics.md": A_MD, "opt/train.md": B_MD}
    notes = Notes(tmp_path, files)
    (notes.src / "deckgen.toml").write_text('packages = "folder"\n', encoding="utf-8")
    report = build_decks(notes.src, notes.out, now=T)
    for package in report.packages:
        anki.import_package(package.path)
    before = notes.snapshot()
    notes.write({**files, "extra/kl.md": C_MD})
    for package in build_decks(notes.src, notes.out, now=T + 100).packages:
        anki.import_package(package.path)
    (kl,) = notes_asking(anki, KL)
    if change == "set back":
        notes.checkout(before)
    elif change == "deleted":
        notes.write({**files})
    else:  # opt/ renamed optim/, the new question gone with extra/
        notes.write({"ml/basics.md": A_MD, "optim/train.md": B_MD})
    report = build_decks(notes.src, notes.out, now=T + 200)
    for package in report.packages:
        anki.import_package(package.path)
    assert REMOVED in anki.col.get_note(kl.id).tags
    assert len(anki.notes()) == 5 and sorted(live_questions(anki)) == sorted(
        ["What is entropy?", "What is cross-entropy?", "What does momentum do?", "What is weight decay?"])
    assert anki.check_database()[1]


def test_a_removed_note_sharing_an_answer_does_not_hide_that_a_question_was_reworded(tmp_path, anki):
    """A reworded question with its answer, and a new question with the old wording: the reworded one keeps
    the note, even when a removed note (a rewording missed long ago) had that answer too."""
    answer = "The expected surprise of a distribution, measured in bits or in nats."
    notes = Notes(tmp_path, {"a.md": f"""
        ### What is entropy?
        {answer}

        ### Also entropy?
        {answer}
        """})
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "a")
    (entropy,) = notes_asking(anki, "What is entropy?")
    notes.build({"a.md": f"""
        ### What is entropy?
        {answer}
        """})
    report, third = notes.build({"a.md": f"""
        ### What does entropy measure?
        {answer}

        ### What is entropy?
        A completely different thing: the number of microstates of a physical system.
        """})
    assert kinds(third) == [("new", "What is entropy?"), ("renamed", "What does entropy measure?")]
    anki.import_package(third.path)
    now = anki.col.get_note(entropy.id)
    assert now["Question"] == "What does entropy measure?" and reviews_of(anki, now) == 1


def test_a_new_question_takes_no_removed_note_of_its_text_but_keeps_its_own(tmp_path, anki):
    """`{new}`: never a vanished note's, so not a removed one of its text in its place; yet its own note, once
    built, keeps it through an answer rewritten."""
    notes = Notes(tmp_path, {"a.md": A_MD})
    _, first = notes.build()
    anki.import_package(first.path)
    (entropy,) = notes_asking(anki, "What is entropy?")
    without = A_MD.replace("### What is entropy?\n    The expected surprise of a distribution, measured in bits "
                           "or in nats.\n", "")
    notes.build({"a.md": without})
    _, third = notes.build({"a.md": without + """
    ### What is entropy? {new}
    The number of microstates of a physical system, on a logarithmic scale.
    """})
    assert kinds(third) == [("new", "What is entropy?")]
    anki.import_package(third.path)
    assert REMOVED in anki.col.get_note(entropy.id).tags
    (own,) = [n for n in notes_asking(anki, "What is entropy?") if n.id != entropy.id]
    _, fourth = notes.build({"a.md": without + """
    ### What is entropy? {new}
    The logarithm of the number of microstates of a system, times Boltzmann's constant.
    """})
    assert kinds(fourth) == [("changed", "What is entropy?")]
    log = anki.import_package(fourth.path)
    assert not log.new and [n.id for n in notes_asking(anki, "What is entropy?") if REMOVED not in n.tags] == [own.id]
    assert "Boltzmann" in anki.col.get_note(own.id)["Answer"]


def test_a_question_moved_with_a_light_edit_over_a_namesake_deleted_there_keeps_its_own_note(tmp_path, anki):
    """Moved into the place of a namesake deleted in the same edit, its answer barely edited: the note whose
    answer it still has is its own, not the deleted namesake's in that place."""
    notes = Notes(tmp_path, {"ml.md": ML_MD.replace("## Regularization\n", ""),
                             "os.md": OS_MD.replace("## Memory\n", "")})
    _, first = notes.build()
    anki.import_package(first.path)
    answer_all_due(anki, "ml")
    (a,) = [n for n in notes_asking(anki, TRADE_OFFS) if "regularisation" in n["Answer"]]
    (b,) = [n for n in notes_asking(anki, TRADE_OFFS) if "page tables" in n["Answer"]]
    _, second = notes.build({"ml.md": ML_WITHOUT.replace("## Regularization\n", ""),
                             "os.md": OS_WITHOUT.replace("## Memory\n", "") + f"""
    ### {TRADE_OFFS}
    {ML_ANSWER.replace("may underfit", "can underfit")}
    """})
    anki.import_package(second.path)
    moved = anki.col.get_note(a.id)
    assert "can underfit" in moved["Answer"] and REMOVED not in moved.tags and reviews_of(anki, moved) == 1
    assert REMOVED in anki.col.get_note(b.id).tags


def test_a_set_back_delivers_the_source_line_anki_holds(tmp_path, anki):
    """A note delivered later with the content the set-back tree records: Anki keeps that delivery, source line
    and all, and so does the package (a first import shows what an update would; seen on a real vault)."""
    entropy = "### What is entropy?\n    The expected surprise of a distribution, measured in bits or in nats.\n"
    notes = Notes(tmp_path, {"a.md": f"\n    {entropy}"})
    _, first = notes.build()
    anki.import_package(first.path)
    start = notes.snapshot()
    above = "### What is a prior?\n    What is believed before the data: a distribution over the parameters.\n\n    "
    notes.build({"a.md": f"\n    {above}{entropy.replace('bits or in nats', 'shannons')}"})
    _, third = notes.build({"a.md": f"\n    {above}{entropy}"})
    anki.import_package(third.path)
    (note,) = notes_asking(anki, "What is entropy?")
    assert note["Source"] == "a.md:4"
    notes.checkout(start)
    _, back = notes.build()
    anki.import_package(back.path)
    (packaged,) = [n for n in back.plan.package.notes if n.guid == note.guid]
    assert packaged.fields[2] == anki.col.get_note(note.id)["Source"] == "a.md:4"
