"""Peak memory of the deckgen program rendering HTML-heavy answers in one process, by collector setting.

    python bench/memory.py [--questions 700] [--rounds 3]

BeautifulSoup's trees are reference cycles, so what a build holds at its peak
depends on how often the cyclic garbage collector runs. Each case is a cold
`deckgen build` of the same deck (N answers of raw HTML tables and Markdown,
few enough characters to render in the build's own process) in a fresh
subprocess: the program as installed (`deckgen.cli.run`, which tunes the
collector), the same commands with the collector as Python sets it, and with
it switched off (as deckgen 0.1 ran). The table gives median seconds and peak
RSS (os.wait4), and each case's ratio to the installed program.
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

from run import PY, forget_machine, run  # noqa: E402

CASES = {
    "deckgen as installed": [PY, "-m", "deckgen"],
    "collector as Python sets it": [PY, "-c", "from deckgen.cli import main; main(prog_name='deckgen')"],
    "collector off": [PY, "-c", "import gc; gc.disable(); from deckgen.cli import main; main(prog_name='deckgen')"],
}


def answer(number: int) -> str:
    """An answer that is mostly raw HTML: a table of styled cells, then a short Markdown list."""
    rows = "".join(f"<tr><td><b>row {row}</b></td><td><i>value {number * row}</i></td>"
                   f"<td><code>x{row}</code></td><td><span class=\"note\">see <a href=\"https://example.org/{row}\">"
                   f"ref</a></span></td></tr>" for row in range(6))
    return (f"<table><thead><tr><th>a</th><th>b</th><th>c</th><th>d</th></tr></thead><tbody>{rows}</tbody></table>\n\n"
            f"- first point of answer {number}\n- second **point**\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=700)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("rerun:", shlex.join([PY, *sys.argv]))
    from deckgen.render.pool import PARALLEL_MIN

    answers = [answer(i) for i in range(args.questions)]
    if sum(map(len, answers)) >= PARALLEL_MIN:
        sys.exit(f"{args.questions} answers would render in worker processes: ask for fewer")
    work = Path(tempfile.mkdtemp(prefix="deckgen-memory-"))
    src = work / "notes"
    src.mkdir()
    (src / "deck.md").write_text("".join(f"### Question {i}?\n{a}\n" for i, a in enumerate(answers)), encoding="utf-8")
    seconds: dict[str, list[float]] = {name: [] for name in CASES}
    peaks: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.rounds):
        for name, program in CASES.items():
            out = work / "out"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(src / ".deckgen", ignore_errors=True)
            forget_machine(work)
            (src / "deckgen.toml").unlink(missing_ok=True)
            taken, peak = run([*program, "build", "-q", str(src), "-o", str(out)], work)[:2]
            seconds[name].append(taken)
            peaks[name].append(peak)
    print(f"{args.questions} HTML-heavy answers ({sum(map(len, answers)):,} characters), cold builds, "
          f"{args.rounds} round(s)")
    base_s, base_mib = statistics.median(seconds[next(iter(CASES))]), statistics.median(peaks[next(iter(CASES))])
    print(f"{'case':<30} {'median s':>9} {'peak MiB':>9} {'x time':>7} {'x memory':>9}")
    for name in CASES:
        s, mib = statistics.median(seconds[name]), statistics.median(peaks[name])
        print(f"{name:<30} {s:>9.3f} {mib:>9.1f} {s / base_s:>7.2f} {mib / base_mib:>9.2f}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
