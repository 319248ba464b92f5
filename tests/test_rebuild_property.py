"""Random edit sequences through five builds, each imported into the same real Anki collection.

The edits: light answer edits (a word added), answers rewritten, questions reworded, questions deleted,
inserted (some with the heading of a question in another section), and questions reordered. A question
reworded and given a new answer in one build is a new question: its old note is marked removed. A question
added with the heading of a removed one, in its place, is that one back (as far as anyone can tell; its
answer rewritten).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from deckgen import build_decks

from conftest import AnkiProfile, answer_all_due, reviews_by_card

DECK = "Property deck"
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "gu", "zo", "fa", "di", "bre", "qua", "xin"]
SECTIONS = ("Alpha", "Beta", "Gamma")


def words(*seed, count: int) -> str:
    digest = hashlib.sha256(repr(seed).encode()).digest()
    return " ".join("".join(SYLLABLES[b % 16] for b in digest[i * 3:i * 3 + 3]) for i in range(count))


@dataclass
class Item:
    key: int  # which note it is; its texts come from `seed`
    title: int  # twins, in other sections, share a title
    section: int
    rewordings: int = 0
    rewrites: int = 0
    edits: int = 0
    seed: int = -1

    def __post_init__(self):
        self.seed = self.key if self.seed < 0 else self.seed

    def question(self) -> str:
        return words("q", self.title, count=5) + "".join(f" v{k}" for k in range(1, self.rewordings + 1)) + "?"

    def answer(self) -> str:
        return words("a", self.seed, self.rewrites, count=8) + "".join(" " + words("e", k, count=1)
                                                                       for k in range(self.edits))


operations = st.lists(st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 99)),
    st.tuples(st.just("rewrite"), st.integers(0, 99)),
    st.tuples(st.just("reword"), st.integers(0, 99)),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("insert"), st.integers(0, 99), st.integers(0, 2)),
    st.tuples(st.just("twin"), st.integers(0, 99), st.integers(1, 2)),
    st.tuples(st.just("swap"), st.integers(0, 99), st.integers(0, 99)),
), min_size=1, max_size=4)


class Source:
    """The deck's questions; applies random edits and remembers what they touch."""

    def __init__(self, size: int):
        self.items = [Item(key, key, key % len(SECTIONS)) for key in range(size)]
        self.next_key = size
        self.tombstones: dict[tuple[int, str], int] = {}  # (section, question as last built) -> its removed note

    def apply(self, ops) -> tuple[set[int], set[int], set[int]]:
        """Returns the keys inserted (new notes), changed (updated notes) and deleted (tombstones) by `ops`."""
        inserted, changed, deleted, reworded, rewritten = set(), set(), set(), set(), set()
        built = {item.key: (item.section, item.question()) for item in self.items}  # as the last build saw them
        for op, *at in ops:
            if op in ("insert", "twin"):
                if op == "twin" and not self.items:
                    continue
                original = self.items[at[0] % len(self.items)] if op == "twin" else None
                item = Item(self.next_key, original.title if original else self.next_key,
                            (original.section + at[1]) % len(SECTIONS) if original else at[1])
                if original and any(i.title == item.title and i.section == item.section and
                                    i.rewordings == 0 for i in self.items):
                    continue  # a twin in its own section would be a duplicate question: not what this tests
                self.items.insert(at[0] % (len(self.items) + 1), item)
                inserted.add(item.key)
                self.next_key += 1
                continue
            if not self.items:
                continue
            item = self.items[at[0] % len(self.items)]
            if op == "edit":
                item.edits += 1
                changed.add(item.key)
            elif op == "rewrite":
                item.rewrites += 1
                changed.add(item.key)
                rewritten.add(item.key)
            elif op == "reword":
                item.rewordings += 1
                if any(i is not item and (i.section, i.question()) == (item.section, item.question())
                       for i in self.items):
                    item.rewordings -= 1  # a duplicate question in one section: not what this tests
                    continue
                changed.add(item.key)
                reworded.add(item.key)
            elif op == "delete":
                self.items.remove(item)
                deleted.add(item.key)
                if item.key in built:
                    self.tombstones[built[item.key]] = item.key
            else:
                other = at[1] % len(self.items)
                index = self.items.index(item)
                self.items[index], self.items[other] = self.items[other], self.items[index]
        replaced = (reworded & rewritten) - inserted - deleted  # another question now: a new note
        for item in self.items:
            if item.key in replaced:
                self.tombstones[built[item.key]] = item.key
                deleted.add(item.key)
                item.key = self.next_key  # it carries on as a new key
                self.next_key += 1
                inserted.add(item.key)
        for item in self.items:  # a question added with the heading of a removed one, in its place: to
            old = self.tombstones.get((item.section, item.question())) if item.key in inserted else None
            if old is not None:  # deckgen, that note comes back (its answer changed, if it was removed now)
                del self.tombstones[(item.section, item.question())]
                inserted.discard(item.key)
                changed.discard(item.key)
                deleted.discard(old)
                item.key = old
                changed.add(old)
        return inserted - deleted, changed - deleted - inserted, deleted - inserted

    def markdown(self) -> str:
        return "".join(f"## {name}\n" + "".join(f"### {i.question()}\n{i.answer()}\n\n" for i in self.items
                                                if i.section == number)
                       for number, name in enumerate(SECTIONS))

    def questions(self) -> dict[int, str]:
        return {i.key: i.question() for i in self.items}

    def places(self) -> dict[int, tuple[str, str]]:
        return {i.key: (SECTIONS[i.section], i.question()) for i in self.items}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(1, 6), rounds=st.lists(operations, min_size=4, max_size=4))
def test_five_builds_of_random_edits_keep_every_note_and_its_history(size, rounds):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "src").mkdir()
        # Namesakes in two sections show their sections on the card: these checks compare question texts.
        (tmp / "src" / "deck.deck.toml").write_text(f'name = "{DECK}"\nquestion_context = "never"\n')
        source = Source(size)
        anki = AnkiProfile(tmp / "collection.anki2")
        try:
            note_ids: dict[int, int] = {}  # key -> Anki note id, from the first import of the key
            last_text: dict[int, str] = {}  # key -> question text as last built
            reviews: dict[int, int] = {}
            for number, ops in enumerate([[]] + rounds):
                previous_keys = set(source.questions())
                inserted, changed, deleted = source.apply(ops) if ops else (set(range(size)), set(), set())
                deleted &= previous_keys | set(last_text)
                (tmp / "src" / "deck.md").write_text(source.markdown(), encoding="utf-8")
                report = build_decks(tmp / "src", tmp / "out", now=time.time())
                log = anki.import_package(report.packages[0].path)

                assert len(log.conflicting) == 0
                assert sorted(n.fields[0] for n in log.new) == sorted(source.questions()[k] for k in inserted)
                expected_updates = [source.questions()[k] for k in changed] + [last_text[k] for k in deleted]
                assert sorted(n.fields[0] for n in log.updated) == sorted(expected_updates)
                assert reviews_by_card(anki) == reviews  # the import touched no review history

                live = {}
                for note in anki.notes():
                    if "deckgen::removed" not in note.tags:
                        place = (note.tags[0].split("::")[-1] if note.tags else "", note["Question"])
                        assert place not in live, "duplicate note"
                        live[place] = note.id
                assert set(live) == set(source.places().values())
                for key, place in source.places().items():
                    note_ids.setdefault(key, live[place])
                    assert live[place] == note_ids[key], "a note lost its identity (or took another's)"
                for key in deleted:
                    tombstone = anki.col.get_note(note_ids[key])
                    assert "deckgen::removed" in tombstone.tags and tombstone["Status"]
                assert anki.col.card_count() == len(anki.col.find_notes(""))

                last_text.update(source.questions())
                answer_all_due(anki, DECK)
                reviews = reviews_by_card(anki)
            problems, ok = anki.check_database()
            assert ok, problems
        finally:
            anki.close()
