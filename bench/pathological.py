"""Time deckgen on decks of pathological Markdown against an ordinary deck of the same size.

    python bench/pathological.py [--questions N] [--chars S] [--rounds R] [--only KIND ...]

Every deck has N questions whose answers are S characters each: ordinary
answers (from make_corpus.py) or one pathological kind repeated (unclosed
brackets, emphasis runs, deep nesting, wide tables, ...). Each case is a cold
`python -m deckgen build` in a fresh subprocess, the cases interleaved in
rounds; the table gives medians and the ratio to the ordinary deck.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from make_corpus import Writer  # noqa: E402
from run import PY, forget_machine, run  # noqa: E402


def repeat(unit: str, chars: int) -> str:
    return (unit * (chars // len(unit) + 1))[:chars]


# Ordinary Markdown, but dense: what the pathological kinds cost should be compared with these too.
DENSE = {
    "ordinary, a long table": lambda n: "\n".join(["| a | b | c | d | e |", "|---|---|---|---|---|"]
                                                  + ["| 1 | 22 | 3 | 44 | 5 |"] * (n // 22)),
    "ordinary, every word styled": lambda n: repeat("**bold** *it* `code` ", n),
}

KINDS = {
    "unclosed brackets": lambda n: repeat("[", n),
    "unclosed image brackets": lambda n: repeat("![", n),
    "nested brackets": lambda n: repeat("[![", n),
    "unclosed link targets": lambda n: repeat("[a](", n),
    "emphasis runs": lambda n: repeat("*_", n),
    "strong runs": lambda n: repeat("**a __b ***c ", n),
    "deep list nesting": lambda n: "\n".join("  " * (i % 60) + "- x" for i in range(n // 64)),
    "deep quote nesting": lambda n: "\n".join(">" * (i % 60 + 1) + " x" for i in range(n // 32)),
    "wide table": lambda n: "\n".join(["|" + "a|" * (n // 6), "|" + "-|" * (n // 6), "|" + "b|" * (n // 6)]),
    "unclosed HTML": lambda n: repeat("<a ", n),
    "unclosed math": lambda n: repeat("\\(", n),
    "a block of rules": lambda n: repeat("\n***", n),
    # What Anki's cloze filter would make of a field is checked card side by card side (sanitize.cloze_safe).
    "cloze deletions in math, with hints": lambda n: repeat("$x = {{c1::a}} + {{c2::b}}$ {{c3::c::hint}} ", n),
    "cloze hints Anki would act on": lambda n: repeat("{{c1::a::sound:x.mp3}} ", n),
}


# ... and in the question's heading, after its text (an ordinary answer below it).
HEADING_KINDS = {
    "a heading of attribute blocks": lambda n: repeat("{was=GUID1}", n),
    "a heading of blocks deckgen cannot read": lambda n: repeat("{#a b}", n),
}


def ordinary(chars: int, writer: Writer) -> str:
    text = ""
    while len(text) < chars:
        text += writer.answer() + "\n\n"
    return text[:chars].rstrip()


def deck(answers) -> str:
    return "".join(f"### Question {i}?\n{answer}\n\n" for i, answer in enumerate(answers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--chars", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=[*KINDS, *HEADING_KINDS], help="time only these kinds")
    args = parser.parse_args()
    print("rerun:", shlex.join([PY, *sys.argv]))
    work = Path(tempfile.mkdtemp(prefix="deckgen-pathological-"))
    writer = Writer()
    cases = {"ordinary": deck(ordinary(args.chars, writer) for _ in range(args.questions))}
    for kind in DENSE:
        cases[kind] = deck(DENSE[kind](args.chars) for _ in range(args.questions))
    for kind in args.only or [*KINDS, *HEADING_KINDS]:
        if kind in KINDS:
            cases[kind] = deck(KINDS[kind](args.chars) for _ in range(args.questions))
        else:
            cases[kind] = "".join(f"### Question {i}? {HEADING_KINDS[kind](args.chars)}\n{answer}\n\n" for i, answer
                                  in enumerate(ordinary(args.chars, writer) for _ in range(args.questions)))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for name, markdown in cases.items():
        (work / name).mkdir()
        (work / name / "deck.md").write_text(markdown, encoding="utf-8")
    for _ in range(args.rounds):
        for name in cases:
            src, out = work / name, work / f"{name}-build"
            for stale in (out, src / ".deckgen", src / "deck.identity.jsonl", src / "deckgen.toml"):
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
            forget_machine(work)
            seconds = run([PY, "-m", "deckgen", "build", "-q", str(src), "-o", str(out)], work)[0]
            times[name].append(seconds)
    base = statistics.median(times["ordinary"])
    print(f"{args.questions} questions x {args.chars} characters a answer, {args.rounds} round(s)")
    dense = max(statistics.median(times[kind]) for kind in DENSE)
    print(f"{'case':<30} {'median s':>9} {'x ordinary':>11} {'x densest ordinary':>19}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<30} {median:>9.3f} {median / base:>11.2f} {median / dense:>19.2f}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
