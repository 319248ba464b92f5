"""Time the matching of questions to recorded notes (`identify`) on its own, on a rebuild of N questions.

    python bench/matching.py [--questions N] [--rounds R]

Cases, timed side by side in each round (medians, and the ratio to "no change"): no change; 1 % of the
answers edited; 1 % of the questions reworded; 1 % moved to another deck; and N questions all titled
"Example?", each in a section of its own, with every answer edited (the headings a lecture vault repeats).
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402

from deckgen.identify.matcher import _Matcher
from deckgen.identify.record import NoteRecord
from deckgen.parse.questions import Question
from deckgen.parse.syntax import question_key


def library(n: int, same_title: bool = False):
    rng = random.Random(1)
    questions, records, decks = [], [], []
    for i in range(n):
        deck, sections = f"d{i % 20}", (f"Section {i if same_title else i % 300}",)
        title = "Example?" if same_title else f"What is thing {i} {' '.join(f'w{rng.randrange(50000)}' for _ in range(3))}?"
        answer = " ".join(f"w{rng.randrange(50000)}" for _ in range(40))
        questions.append(Question(Path(f"{deck}.md"), i * 3 + 1, title, None, sections, answer, i * 3 + 2,
                                  question_key(title)))
        decks.append(deck)
        records.append(NoteRecord(guid=f"g{i}", deck=deck, question=title, answer=answer, sections=sections,
                                  fingerprint="f", html="h", mtime=1, source=f"{deck}.md:{i * 3 + 1}"))
    return questions, decks, records


def changed(questions, decks, kind: str, every: int):
    questions, decks = list(questions), list(decks)
    for i in range(0, len(questions), every):
        question = questions[i]
        if kind == "edit":
            questions[i] = msgspec.structs.replace(question, answer=question.answer + " and a few words more")
        elif kind == "reword":
            title = question.title.replace("What is", "Explain")
            questions[i] = msgspec.structs.replace(question, title=title, key=question_key(title))
        elif kind == "move":
            decks[i] = "elsewhere"
    return questions, decks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--same-titles", type=int, default=8_000, help="questions of the identical-headings case")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("rerun:", shlex.join([sys.executable, *sys.argv]))
    questions, decks, records = library(args.questions)
    same, same_decks, same_records = library(args.same_titles, same_title=True)
    cases = {"no change": (questions, decks, records)}
    for kind, label in (("edit", "1 % answers edited"), ("reword", "1 % reworded"), ("move", "1 % moved")):
        cases[label] = (*changed(questions, decks, kind, 100), records)
    cases[f"{args.same_titles} 'Example?', edited"] = (*changed(same, same_decks, "edit", 1), same_records)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (qs, ds, rs) in cases.items():
            started = time.perf_counter()
            matcher = _Matcher(qs, ds, rs)
            matcher.match()
            times[name].append(time.perf_counter() - started)
            assert len(matcher.matched) == len(qs), f"{name}: {len(qs) - len(matcher.matched)} questions unmatched"
    base = statistics.median(times["no change"])
    print(f"{args.questions} questions, {args.rounds} round(s)")
    print(f"{'case':<32} {'median s':>9} {'x no change':>12}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<32} {median:>9.3f} {median / base:>12.2f}")


if __name__ == "__main__":
    main()
