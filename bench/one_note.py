"""What one note of 1 MiB costs: each shape, ordinary or pathological, as the one answer of a deck.

    python bench/one_note.py [--chars S] [--rounds R] [--only SHAPE ...]

Each case is a cold `python -m deckgen build` of a deck with one question whose
answer is S characters (1 MiB by default) of one shape: ordinary ones (prose,
a paragraph of wrapped lines, lists, tables, code, every word styled) and the
worst found (runs of backticks, brackets, `<a `, emphasis, math, deep
nesting). Lines are at most 20,000 characters, the longest a build takes (one
line of 1 MiB is its own case: refused). The table says whether the answer
rendered fully or ran past the time limit (`render.TIME_LIMIT`, shown as plain
text with a [render-timeout] warning), and the build's median time.
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
from pathological import KINDS, ordinary, repeat  # noqa: E402
from run import PY, forget_machine, run  # noqa: E402

LINE = 20_000  # the longest line a build takes
WORDS = "the quick brown fox jumps over a lazy dog and then some more words follow "


def lines(text: str, width: int = LINE) -> str:
    """`text` broken into lines of at most `width` characters (a line of text stays in its paragraph)."""
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


ORDINARY = {
    "prose in paragraphs": lambda n: ordinary(n, Writer()),
    "one paragraph, wrapped lines": lambda n: lines(repeat(WORDS, n), 79),
    "one paragraph, 20,000-character lines": lambda n: lines(repeat(WORDS, n)),
    "a long list": lambda n: "\n".join(["- " + WORDS.strip()] * (n // 78)),
    "a long numbered list": lambda n: "\n".join(f"{i}. {WORDS.strip()}" for i in range(1, n // 80)),
    "a long table": lambda n: "\n".join(["| a | b | c | d | e |", "|---|---|---|---|---|"]
                                        + ["| 1 | 22 | 3 | 44 | 5 |"] * (n // 22)),
    "a table 200 columns wide": lambda n: "\n".join(["|" + "a|" * 200, "|" + "-|" * 200]
                                                    + ["|" + "b|" * 200] * (n // 401)),
    "fenced code": lambda n: "```python\n" + "\n".join(["x = foo(bar) + 1  # a comment"] * (n // 30)) + "\n```",
    "every word styled": lambda n: lines(repeat("**bold** *it* `code` ", n), 79),
}
WORST = {
    "runs of backticks": lambda n: lines(repeat("`` ` ``` ", n)),
    **{kind: (lambda shape: lambda n: lines(shape(n)))(shape) for kind, shape in KINDS.items()},
    "one line of 1 MiB": lambda n: repeat(WORDS, n),
}
SHAPES = {**ORDINARY, **WORST}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=int, default=1024 * 1024)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", nargs="*", choices=list(SHAPES), help="time only these shapes")
    args = parser.parse_args()
    print("rerun:", shlex.join([PY, *sys.argv]))
    from deckgen.render.renderer import TIME_LIMIT

    work = Path(tempfile.mkdtemp(prefix="deckgen-one-note-"))
    shapes = args.only or list(SHAPES)
    for name in shapes:
        (work / name).mkdir()
        (work / name / "deck.md").write_text(f"### One question?\n{SHAPES[name](args.chars)}\n", encoding="utf-8")
    times: dict[str, list[float]] = {name: [] for name in shapes}
    outcome: dict[str, str] = {}
    for _ in range(args.rounds):
        for name in shapes:
            src, out = work / name, work / f"{name}-build"
            for stale in (out, src / ".deckgen", src / "deckgen.toml"):
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
            forget_machine(work)
            seconds, _, stderr, *_ = run([PY, "-m", "deckgen", "build", str(src), "-o", str(out)], work,
                                        may_fail=True)
            times[name].append(seconds)
            outcome[name] = ("refused (line too long)" if "[line-too-long]" in stderr else
                             "timed out" if "[render-timeout]" in stderr else "rendered")
    print(f"one answer of {args.chars:,} characters, cold builds, {args.rounds} round(s); "
          f"time limit {TIME_LIMIT:g} s a text")
    print(f"{'shape':<40} {'median s':>9}  outcome")
    for name in shapes:
        kind = "ordinary" if name in ORDINARY else "worst"
        print(f"{name:<40} {statistics.median(times[name]):>9.2f}  {outcome[name]} ({kind})")
    timed_out = [name for name in shapes if outcome[name] == "timed out"]
    print("shapes that still time out: " + (", ".join(timed_out) if timed_out else "none"))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
