"""What the reused-instance reference leaves for deckgen's own required work, in CPU time.

    python bench/budget.py [--questions N] [--rounds R]

The reference (`ref_reused.py`) splits the deck, renders each answer with one
reused Python-Markdown instance and writes the notes with genanki. A build that
renders with Python-Markdown as the reference does must do that much, and also,
by deckgen's requirements, at least:

- clean every field's HTML with an allowlist (the security requirement: nh3,
  here at its cheapest, its default cleaner on the reference's own HTML);
- read each file's structure as CommonMark does (headings in list items, code
  and HTML blocks: pulldown-cmark's events through pyromark, one pass);
- start a second process to use the second core (here: a bare process
  importing the renderer's modules), for the wall-time target.

Each is timed side by side in rounds (medians of CPU seconds, user + system):
the reference as a whole process, the rest in this process on the reference's
own split and HTML. Their sum, against the reference alone, is what such a
build costs before it does anything else of its own (the identity record, the
cache, the stamp, rendering CommonMark's lists, code colours and Obsidian's
syntax). Beside them, in the same process: deckgen's own split of the deck into
questions (`parse.questions.parse_source`) and its rendering of the answers
(`render.renderer.MarkdownRenderer`, which cleans too), and the answers
rendered by pyromark's own HTML renderer (pulldown-cmark, in Rust), with
GitHub's and Obsidian's syntax on (`GFM_OPTIONS`: tables, strikethrough, task
lists, math, wiki links).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from ref_floor import split  # noqa: E402
from run import PY, helper, run  # noqa: E402

from deckgen.parse.questions import parse_source  # noqa: E402
from deckgen.render.media import MediaResolver  # noqa: E402
from deckgen.render.renderer import MarkdownRenderer  # noqa: E402
from deckgen.sources.library import DeckFile, DeckSource  # noqa: E402
from deckgen.sources.settings import DeckSettings  # noqa: E402

IMPORTS = "import markdown, nh3, pyromark, pygments, pymdownx.superfences, bs4"
"""What a second render process loads before its first answer (Python-Markdown and what deckgen renders with)."""


def gfm_options():
    import pyromark

    return (pyromark.Options.ENABLE_GFM | pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
            | pyromark.Options.ENABLE_TASKLISTS | pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_WIKILINKS)


def cpu(action) -> float:
    start = time.process_time()
    action()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("rerun:", shlex.join(["cd", os.getcwd()]), "&&", shlex.join([PY, *sys.argv]))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), {args.rounds} round(s)")

    import markdown
    import nh3
    import pyromark

    work = Path(tempfile.mkdtemp(prefix="deckgen-budget-"))
    try:
        helper(str(work), "--questions", str(args.questions))
        deck = work / "corpus.md"
        text = deck.read_text(encoding="utf-8")
        answers = [answer for _, answer in split(text)]
        md = markdown.Markdown(extensions=["tables", "fenced_code"])
        source = DeckSource(DeckFile(deck, "corpus", "corpus.md"), text, DeckSettings(name="corpus", slug="corpus"))
        renderer = MarkdownRenderer(MediaResolver(work))
        options = gfm_options()

        def python_markdown():
            html = []
            for answer in answers:
                html.append(md.convert(answer))
                md.reset()
            return html

        html = python_markdown()
        cases = {
            "reference (whole process)": lambda: run([PY, str(BENCH / "ref_reused.py"), str(deck),
                                                      str(work / "reused.apkg")], work).cpu,
            "clean every answer (nh3)": lambda: cpu(lambda: [nh3.clean(h) for h in html]),
            "structure (pyromark events)": lambda: cpu(lambda: sum(1 for _ in pyromark.events_with_range(text))),
            "second process (imports)": lambda: run([PY, "-c", IMPORTS], work).cpu,
            "render: Python-Markdown": lambda: cpu(python_markdown),
            "render: pyromark HTML": lambda: cpu(lambda: [pyromark.html(a, options=options) for a in answers]),
            "deckgen: split into questions": lambda: cpu(lambda: parse_source(source)),
            "deckgen: render and clean": lambda: cpu(lambda: [renderer.render(a, False, work) for a in answers]),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, case in cases.items():
                times[name].append(case())
        median = {name: statistics.median(values) for name, values in times.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    reference = median["reference (whole process)"]
    required = ["clean every answer (nh3)", "structure (pyromark events)", "second process (imports)"]
    print(f"deck: {args.questions} questions, {len(answers)} answers, {len(text.encode()):,} bytes")
    print(f"{'CPU time':<32} {'median s':>9} {'x reference':>12}")
    for name in cases:
        print(f"{name:<32} {median[name]:>9.3f} {median[name] / reference:>12.2f}")
    least = reference + sum(median[name] for name in required)
    print(f"{'reference + the required three':<32} {least:>9.3f} {least / reference:>12.2f}")
    print(f"pyromark renders the answers in {median['render: pyromark HTML'] / median['render: Python-Markdown']:.2f}"
          " x Python-Markdown's CPU time")


if __name__ == "__main__":
    main()
