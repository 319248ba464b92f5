"""Random edit sequences through five builds, each imported into the same real Anki collection."""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from deckgen import build_decks

from conftest import AnkiProfile, answer_all_due, reviews_by_card

DECK = "Property deck"
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "gu", "zo", "fa", "di", "bre", "qua", "xin"]


def words(*seed, count: int) -> str:
    digest = hashlib.sha256(repr(seed).encode()).digest()
    return " ".join("".join(SYLLABLES[b % 16] for b in digest[i * 3:i * 3 + 3]) for i in range(count))


def question(key: int, rewordings: int) -> str:
    return words("q", key, count=5) + "".join(f" v{k}" for k in range(1, rewordings + 1)) + "?"


def answer(key: int, edits: int) -> str:
    return words("a", key, edits, count=8) + "."


operations = st.lists(st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 99)),
    st.tuples(st.just("reword"), st.integers(0, 99)),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("insert"), st.integers(0, 99)),
    st.tuples(st.just("swap"), st.integers(0, 99), st.integers(0, 99)),
), min_size=1, max_size=4)


class Source:
    """The deck's questions as [key, rewordings, edits]; applies random edits and remembers what they touch."""

    def __init__(self, size: int):
        self.items = [[key, 0, 0] for key in range(size)]
        self.next_key = size

    def apply(self, ops) -> tuple[set[int], set[int], set[int]]:
        """Returns the keys inserted, changed and deleted by `ops`."""
        inserted, changed, deleted = set(), set(), set()
        for op, *at in ops:
            if op == "insert":
                self.items.insert(at[0] % (len(self.items) + 1), [self.next_key, 0, 0])
                inserted.add(self.next_key)
                self.next_key += 1
                continue
            if not self.items:
                continue
            item = self.items[at[0] % len(self.items)]
            if op == "edit":
                item[2] += 1
                changed.add(item[0])
            elif op == "reword":
                item[1] += 1
                changed.add(item[0])
            elif op == "delete":
                self.items.remove(item)
                deleted.add(item[0])
            else:
                other = at[1] % len(self.items)
                index = self.items.index(item)
                self.items[index], self.items[other] = self.items[other], self.items[index]
        return inserted - deleted, changed - deleted - inserted, deleted - inserted

    def markdown(self) -> str:
        return "".join(f"### {question(k, r)}\n{answer(k, e)}\n\n" for k, r, e in self.items)

    def questions(self) -> dict[int, str]:
        return {k: question(k, r) for k, r, _ in self.items}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(1, 6), rounds=st.lists(operations, min_size=4, max_size=4))
def test_five_builds_of_random_edits_keep_every_note_and_its_history(size, rounds):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "src").mkdir()
        (tmp / "src" / "deck.deck.toml").write_text(f'name = "{DECK}"\n')
        source = Source(size)
        anki = AnkiProfile(tmp / "collection.anki2")
        try:
            note_ids: dict[int, int] = {}  # key -> Anki note id, from the first import of the key
            last_text: dict[int, str] = {}  # key -> question text as last built
            reviews: dict[int, int] = {}
            for number, ops in enumerate([[]] + rounds):
                inserted, changed, deleted = source.apply(ops) if ops else (set(range(size)), set(), set())
                (tmp / "src" / "deck.md").write_text(source.markdown(), encoding="utf-8")
                report = build_decks(tmp / "src", tmp / "out", now=time.time())
                log = anki.import_package(report.decks[0].path)

                assert len(log.conflicting) == 0
                assert sorted(n.fields[0] for n in log.new) == sorted(source.questions()[k] for k in inserted)
                expected_updates = [source.questions()[k] for k in changed] + [last_text[k] for k in deleted]
                assert sorted(n.fields[0] for n in log.updated) == sorted(expected_updates)
                assert reviews_by_card(anki) == reviews  # the import touched no review history

                live = {}
                for note in anki.notes():
                    if "deckgen::removed" not in note.tags:
                        assert note["Question"] not in live, "duplicate note"
                        live[note["Question"]] = note.id
                assert set(live) == set(source.questions().values())
                for key, text in source.questions().items():
                    note_ids.setdefault(key, live[text])
                    assert live[text] == note_ids[key], "a note lost its identity"
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
