"""Time deckgen on a notes library (many files in folders, images) against the floor, interleaved in rounds.

    python bench/library.py [--files 1000] [--questions 20000] [--images 2000] [--image-bytes 0] [--rounds 3] [--keep]

The library is make_library.py's (a tree of topic folders, questions spread unevenly over the files,
PNGs referenced as `![](path)` and `![[name]]`: a few hundred bytes each, or `--image-bytes` each, as
screenshots are). Each round runs every case once, in order,
each a fresh subprocess of the Python running this script (startup counted):

- "floor": ref_library_floor.py, the library split on `###` into genanki (one deck), with its images;
- "deckgen cold": a fresh copy of the pristine library (no identity record, no .deckgen/), an empty
  output folder, on a machine that never built it (empty state and cache folders, in the scratch folder);
- "deckgen no change": the same build again;
- "deckgen check": `deckgen check SRC -o OUT` after it (writes nothing);
- "deckgen one edit": after make_library.py --edit-one (one answer of one file changed);
- "deckgen one rename": after make_library.py --rename-one (one file renamed within its folder), built
  with -v; it must keep every note (none new, none removed).

The table gives per-case medians over the rounds and the minimum, the ratio to the floor, the
CPU time (user + sys of the child and of the children it waited for, such as deckgen's render
workers, which it joins: the numbers os.wait4 returns; a grandchild nobody waits for is not
counted), and the child's peak RSS (os.wait4's ru_maxrss: the largest single process of the
tree, not their sum). The first round also checks what deckgen found: every question, every image
bundled, no warning about a missing image; every round, that the no-change build changed no file and
said so, that the one edit wrote a package with one note changed, and that the rename kept every note.

deckgen is imported as the builds find it (from the scratch folder, so PYTHONPATH comes before the
installed package): to time one version while its code is being edited, copy it aside and run
`PYTHONPATH=/tmp/frozen python bench/library.py` (with `git archive HEAD deckgen | tar -x -C /tmp/frozen`).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from run import cold_build, code_digest, compiled_deckgen, digest, finish, machine, run, time_rounds

BENCH = Path(__file__).resolve().parent
PY = sys.executable
MAKE_LIBRARY = str(BENCH / "make_library.py")
FLOOR = str(BENCH / "ref_library_floor.py")
MEDIA_COUNT = "import json, sys, zipfile; print(len(json.loads(zipfile.ZipFile(sys.argv[1]).read('media'))))"


def helper(*args: str) -> str:
    """Run make_library.py (untimed), in a child so that this process stays small (see run.helper)."""
    return subprocess.run([PY, MAKE_LIBRARY, *args], check=True, capture_output=True, text=True).stdout


def media_count(apkg: str) -> int:
    return int(subprocess.run([PY, "-c", MEDIA_COUNT, apkg], check=True, capture_output=True, text=True).stdout)


def summary(stdout: str) -> tuple[int, str, str]:
    """(notes, what changed, package path) from a build's `NAME VERSION: N notes in D decks (…) -> PATH`."""
    found = re.search(r"^.*: (\d+) notes(?: in \d+ decks)? \(([^)]*)\) -> (.+?)(?: \(nothing changed\))?$", stdout,
                      re.M)
    if not found:
        return -1, f"(no summary line in: {stdout[:200]!r})", ""
    return int(found.group(1)), found.group(2), found.group(3)


def codes(stderr: str) -> str:
    counted = Counter(re.findall(r"\[([a-z][a-z-]*)\]", stderr))
    return ", ".join(f"{code} x{n}" for code, n in sorted(counted.items())) or "none"


def cases(work: Path, pristine: Path, shape: dict[str, int], notes: list[str]) -> list[tuple[str, callable]]:
    """The floor and the five deckgen cases, sharing one source copy and output folder per round."""
    src, out = work / "src", work / "out"
    build = [PY, "-m", "deckgen", "build", str(src), "-o", str(out)]
    state: dict = {"round": 0}

    def snapshot():
        return digest(out), digest(src), digest(src / ".deckgen")

    def first(check: callable) -> None:  # what deckgen found, checked in the first round only
        if state["round"] == 1:
            check()

    def floor():
        state["round"] += 1
        apkg = str(work / "floor.apkg")
        result = run([PY, FLOOR, str(pristine), apkg], work)
        first(lambda: notes.append(f"floor: {media_count(apkg)} media file(s) in its package"))
        return result

    def cold():
        result = cold_build(build, pristine, src, out, work)
        state["cold"] = snapshot()

        def check():
            count, _, apkg = summary(result.stdout)
            if count != shape["questions"]:
                notes.append(f"CHECK: the cold build made {count} notes of {shape['questions']} questions")
            media = media_count(apkg) if apkg else -1
            if media != shape["images"]:
                notes.append(f"CHECK: the cold build bundled {media} of {shape['images']} images")
            if "missing-media" in result.stderr:
                notes.append("CHECK: the cold build warned about a missing image")
            lines = result.stderr.splitlines()
            notes.append(f"deckgen cold: {count} notes, {media} media file(s); stderr {len(lines)} line(s), "
                         f"codes: {codes(result.stderr)}" + "".join(f"\n    {line[:150]}" for line in lines[:3]))
            size = sum(p.stat().st_size for p in machine(work).rglob("*") if p.is_file())
            notes.append(f"after the cold build, this machine's state and cache: {size / 2**20:.1f} MiB")
        first(check)
        return result

    def no_change():
        result = run(build, work)
        if snapshot() != state["cold"]:
            notes.append("CHECK: the no-change build changed a file (output, settings or identity)")
        if "(nothing changed)" not in result.stdout:
            notes.append("CHECK: the no-change build did not say 'nothing changed'")
        return result

    def check():
        result = run([PY, "-m", "deckgen", "check", str(src), "-o", str(out)], work)

        def count():
            found = sum(map(int, re.findall(r"^.*: (\d+) question\(s\)", result.stdout, re.M)))
            if found != shape["questions"]:
                notes.append(f"CHECK: check counted {found} questions of {shape['questions']}")
            notes.append(f"deckgen check: {found} questions; " + (result.stderr.strip().splitlines() or [""])[-1])
        first(count)
        return result

    def one_edit():
        helper("--edit-one", str(src))
        before = digest(out)
        result = run(build, work)
        new = sorted(set(digest(out).items()) - set(before.items()))
        if not any(name.endswith(".apkg") for name, _ in new):
            notes.append("CHECK: the one-edit build wrote no new .apkg")
        changed = summary(result.stdout)[1]
        if not changed.startswith("1 changed,"):
            notes.append(f"CHECK: the one-edit build said: {changed}")
        return result

    def one_rename():
        renamed = helper("--rename-one", str(src)).strip()
        result = run(build + ["-v"], work)
        count, changed, _ = summary(result.stdout)
        if (count != shape["questions"] or re.search(r"\bnew\b|\bremoved\b", changed)
                or re.search(r"^  (new|removed) ", result.stdout, re.M)):
            notes.append(f"CHECK: a renamed file lost notes ({renamed}): {count} notes ({changed})")
        first(lambda: notes.append(f"deckgen one rename: {renamed}: {changed}; stderr codes: {codes(result.stderr)}"))
        return result

    return [("floor", floor), ("deckgen cold", cold), ("deckgen no change", no_change), ("deckgen check", check),
            ("deckgen one edit", one_edit), ("deckgen one rename", one_rename)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=20000)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--image-bytes", type=int, default=0, help="about this many bytes an image (0: a few hundred)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    print("rerun:", shlex.join(["cd", os.getcwd()]), "&&", shlex.join([PY, *sys.argv]))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), {args.rounds} round(s)")
    began = time.perf_counter()

    work = Path(tempfile.mkdtemp(prefix="deckgen-library-"))
    pristine = work / "pristine"
    helper(str(pristine), "--files", str(args.files), "--questions", str(args.questions), "--images", str(args.images),
           "--image-bytes", str(args.image_bytes))
    stats = helper("--stats", str(pristine))
    shape = {key: int(value) for key, value in re.findall(r"^\s*(questions|images): (\d+)$", stats, re.M)}
    print("library:", "; ".join(line.strip() for line in stats.splitlines()))
    print(f"scratch folder: {work}")
    notes: list[str] = []
    todo = cases(work, pristine, shape, notes)

    package = compiled_deckgen(work)  # as the builds find it
    print(f"deckgen: {package}")
    code = code_digest(package)
    children = time_rounds(todo, args.rounds)
    if code_digest(package) != code:
        notes.append(f"CHECK: deckgen's code in {package} changed during the run: timings mix versions")
    median = {name: statistics.median(c.seconds for c in run_) for name, run_ in children.items()}
    print(f"{'case':<19} {'median s':>9} {'min s':>8} {'x floor':>8} {'cpu s':>8} {'peak MiB':>9}")
    for name, run_ in children.items():
        print(f"{name:<19} {median[name]:>9.3f} {min(c.seconds for c in run_):>8.3f} "
              f"{median[name] / median['floor']:>8.2f} {statistics.median(c.cpu for c in run_):>8.3f} "
              f"{statistics.median(c.peak for c in run_):>9.1f}")
    print(f"deckgen check: {median['deckgen check'] / median['deckgen no change']:.2f} x deckgen no change")
    notes.append(f"took {time.perf_counter() - began:.0f} s in all")
    finish(notes, work, args.keep)


if __name__ == "__main__":
    main()
