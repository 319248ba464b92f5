"""Time finding a file's questions as CommonMark does, against the line scanner deckgen used up to 0.3.

    python bench/structure.py [--questions N] [--rounds R]

On the synthetic corpus of N questions (make_corpus), each round times, side by side: the line scanner
(`parse.legacy.line_scanner_questions`: `#` lines outside fences); pulldown-cmark's parse alone (pyromark's
events with their ranges, each looked at once); `parse.structure.structure` (those events read into headings,
list items and unclosed fences); and the whole split (`parse.questions.parse_source`: questions, answers,
sections, the checks). Medians, and each case's ratio to the line scanner and to the whole split.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyromark  # noqa: E402

from make_corpus import make_corpus  # noqa: E402

from deckgen.parse.legacy import line_scanner_questions  # noqa: E402
from deckgen.parse.questions import parse_source  # noqa: E402
from deckgen.parse.structure import structure  # noqa: E402
from deckgen.sources.library import DeckFile, DeckSource  # noqa: E402
from deckgen.sources.settings import DeckSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    text = make_corpus(args.questions)
    source = DeckSource(DeckFile(Path("corpus.md"), "corpus", "corpus.md"), text,
                        DeckSettings(name="corpus", slug="corpus"))
    cases = {
        "line scanner (0.3)": lambda: line_scanner_questions(text, 3),
        "pulldown-cmark events": lambda: sum(1 for _ in pyromark.events_with_range(text)),
        "structure": lambda: structure(text, text.split("\n")),
        "whole split": lambda: parse_source(source),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"rerun: python {shlex.join(sys.argv)}")
    print(f"{args.questions:,} questions, {len(text):,} characters; medians of {args.rounds} rounds")
    base, whole = medians["line scanner (0.3)"], medians["whole split"]
    for name, median in medians.items():
        print(f"  {name:24} {median:8.3f} s  {median / base:6.2f} x the line scanner  "
              f"{median / whole:5.2f} of the whole split")


if __name__ == "__main__":
    main()
