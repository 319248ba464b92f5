"""Time deckgen against reference builds, interleaved, each a fresh subprocess (startup counted).

    python bench/run.py [--questions N] [--rounds R]   # synthetic deck: the references, deckgen cold/no change/one edit
    python bench/run.py --seed-deck [--rounds R]       # source/: the same, and the obvious program, vs. importing
                                                       # deckgen's dependencies

The references (each reads the deck, splits it at `###` and writes the notes with genanki): `ref_floor.py`, the
raw answers; `ref_reused.py`, one `markdown.Markdown` reused for every answer, as the obvious program does;
`ref_plain.py`, a new one per answer and a BeautifulSoup pass over its HTML. CPU time (user + system, the
child and its workers) is given beside wall time, and its ratio to the reused reference's.

Each round runs every case once, in order; the table gives per-case medians over
the rounds, and each child's peak RSS (from os.wait4). "cold" builds a fresh copy
of the deck folder (no identity record) into an empty output folder, on a machine
that never built it (empty state and cache folders, kept in the scratch folder); "no change" builds that folder again; "one edit" builds it
after changing one answer (make_corpus.edit_one); on the synthetic deck,
"reword 1000" after rewording 1,000 questions, their answers as they were;
"edit 1000" after changing a word of each of their answers; "reword+edit
1000" after rewording them again and changing a word of each answer again
(make_corpus.reword): each must keep every note. Rewording costs the ratio of
"reword 1000" to "one edit", and of "reword+edit 1000" to "edit 1000" (which
renders as much).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
SEED_SOURCE = BENCH.parent / "source"
PY = sys.executable
MAKE_CORPUS = str(BENCH / "make_corpus.py")


def machine(cwd: Path) -> Path:
    """Where builds run from `cwd` keep what a machine keeps (its state and cache folders, see deckgen.places):
    inside the scratch folder, never the user's; `forget_machine` empties it for a cold build."""
    return cwd / ".deckgen-machine"


def forget_machine(cwd: Path) -> None:
    shutil.rmtree(machine(cwd), ignore_errors=True)


class Child(NamedTuple):
    """One child process, run to its end."""
    seconds: float
    peak: float
    """Peak RSS in MiB (of the child alone: see `helper`)."""
    stderr: str
    stdout: str
    cpu: float
    """User + system CPU seconds of the child and of every process it waited for (its worker processes)."""


def run(cmd: list[str], cwd: Path, may_fail: bool = False) -> Child:
    """One child's wall time, peak memory, output and CPU time; stops the benchmark if it fails (unless it
    `may_fail`)."""
    env = dict(os.environ, DECKGEN_STATE_DIR=str(machine(cwd) / "state"), DECKGEN_CACHE_DIR=str(machine(cwd) / "cache"))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0 and not may_fail:
        sys.exit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{stdout}{stderr}")
    return Child(seconds, usage.ru_maxrss / 1024, stderr, stdout, usage.ru_utime + usage.ru_stime)


def compiled_deckgen(cwd: Path) -> Path:
    """The folder of the deckgen the builds run from `cwd` import (PYTHONPATH first), byte-compiled, as `pip
    install` leaves a package: an editable install run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile
    deckgen's source on every run."""
    package = Path(subprocess.run([PY, "-c", "import deckgen; print(deckgen.__file__)"], check=True, cwd=cwd,
                                  capture_output=True, text=True).stdout.strip()).parent
    subprocess.run([PY, "-m", "compileall", "-q", str(package)], check=True)
    return package


def code_digest(package: Path) -> dict[str, str]:
    """The digest of every .py file of the package, sub-packages too: compared after a run, to say when its code
    changed while it ran (the timings then mix versions)."""
    return {f"{folder}/{name}": sha for folder in [package, *sorted(p for p in package.rglob("*") if p.is_dir())]
            for name, sha in digest(folder).items() if name.endswith(".py")}


def time_rounds(cases: list[tuple[str, callable]], rounds: int) -> dict[str, list[Child]]:
    """Each case's children, `rounds` of them: each round runs every case once, in order."""
    children = {name: [] for name, _ in cases}
    for _ in range(rounds):
        for name, case in cases:
            children[name].append(case())
    return children


def finish(notes: list[str], work: Path, keep: bool) -> None:
    """Print the notes (each once) and this script's own peak RSS; keep or remove the scratch folder."""
    for note in dict.fromkeys(notes):
        print(note)
    print(f"{Path(sys.argv[0]).name}'s own peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}"
          " MiB (a child's peak cannot read lower than this)")
    if keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work)


def cold_build(build: list[str], pristine: Path, src: Path, out: Path, work: Path) -> Child:
    """`build` (timed) as on a machine that never built the library: a fresh copy of `pristine` in `src`, an
    empty `out`, and this machine's state and cache forgotten (untimed)."""
    for folder in (src, out):
        shutil.rmtree(folder, ignore_errors=True)
    forget_machine(work)
    shutil.copytree(pristine, src)
    out.mkdir()
    return run(build, work)


def helper(*args: str) -> str:
    """Run make_corpus.py (untimed). In a child, so that this process stays small: a child's
    ru_maxrss starts at its parent's peak RSS (the kernel carries it over the fork/exec)."""
    return subprocess.run([PY, MAKE_CORPUS, *args], check=True, capture_output=True, text=True).stdout


def digest(folder: Path) -> dict[str, str]:
    def sha(path: Path) -> str:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()[:12]
    return {p.name: sha(p) for p in sorted(folder.iterdir()) if p.is_file()}


def deckgen_cases(work: Path, pristine: Path, notes: list[str], rewordings: bool = False
                  ) -> list[tuple[str, callable]]:
    """The three deckgen cases, sharing one source copy and output folder per round."""
    src, out = work / "src", work / "out"
    build = [PY, "-m", "deckgen", "build", str(src), "-o", str(out)]
    state = {}

    def cold():
        result = cold_build(build, pristine, src, out, work)
        state["cold"] = digest(out), digest(src)
        if not notes:
            notes.append(f"deckgen stderr on the cold build: {len(result[2].splitlines())} line(s)"
                         + "".join(f"\n    {line}" for line in result[2].splitlines()[:3]))
        return result

    def no_change():
        result = run(build, work)
        if (digest(out), digest(src)) != state["cold"]:
            notes.append("CHECK: the no-change build changed a file (output or identity)")
        return result

    def one_edit():
        helper(str(next(p for p in src.iterdir() if p.suffix == ".md")), "--edit-one")
        before = digest(out)
        result = run(build, work)
        new = sorted(set(digest(out).items()) - set(before.items()))
        if not any(name.endswith(".apkg") for name, _ in new):
            notes.append("CHECK: the one-edit build wrote no new .apkg")
        return result

    def rewording(*arguments: str):
        edit_answers = "--edit-answers" in arguments

        def case():
            deck = str(next(p for p in src.iterdir() if p.suffix == ".md"))
            helper(deck, *arguments)
            result = run(build + ["-v"], work)
            if "  new " in result[3] or "ambiguous" in result[2] or "unmatched-rewording" in result[2]:
                notes.append("CHECK: a rewording lost its note (" + ("answers edited" if edit_answers else
                                                                     "answers as they were") + ")")
            return result
        return case

    cases = [("deckgen cold", cold), ("deckgen no change", no_change), ("deckgen one edit", one_edit)]
    if rewordings:
        cases += [("reword 1000", rewording("--reword", "1000")), ("edit 1000", rewording("--edit", "1000")),
                  ("reword+edit 1000", rewording("--reword", "1000", "--edit-answers"))]
    return cases


def dependencies() -> list[str]:
    """The modules of deckgen's own dependencies as installed (not its extras), for a bare process to import."""
    from importlib.metadata import packages_distributions, requires

    wanted = {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
              for requirement in requires("deckgen") or () if "extra ==" not in requirement}
    return sorted(module for module, names in packages_distributions().items()
                  if not module.startswith("_") and any(name.lower().replace("_", "-") in wanted for name in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed-deck", action="store_true", help=f"time {SEED_SOURCE} against bare imports")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    print("rerun:", shlex.join(["cd", os.getcwd()]), "&&", shlex.join([PY, *sys.argv]))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), {args.rounds} round(s)")

    work = Path(tempfile.mkdtemp(prefix="deckgen-bench-"))
    pristine = work / "pristine"
    notes: list[str] = []
    apkg = lambda name: str(work / f"{name}.apkg")
    reference = lambda name: (name, lambda: run([PY, str(BENCH / f"ref_{name}.py"), str(deck), apkg(name)], work))
    if args.seed_deck:
        pristine.mkdir()
        for path in SEED_SOURCE.iterdir():  # the deck and its settings, not its identity file
            if path.is_file() and not path.name.endswith(".identity.jsonl"):
                shutil.copy2(path, pristine)
        deck = next(pristine.glob("*.md"))
        baseline = "imports only"
        # The obvious program on the seed deck too: what rendering and writing it costs beyond the imports.
        cases = [(baseline, lambda: run([PY, "-c", "import " + ", ".join(dependencies())], work)),
                 reference("reused")]
        bases = [baseline]
    else:
        pristine.mkdir()
        helper(str(pristine), "--questions", str(args.questions))
        deck = pristine / "corpus.md"
        cases = [reference(name) for name in ("floor", "reused", "plain")]
        bases = ["floor", "reused", "plain"]
    print(f"deck {deck.name}:", "; ".join(line.strip() for line in helper(str(deck), "--stats").splitlines()))
    print(f"scratch folder: {work}")
    cases += deckgen_cases(work, pristine, notes, rewordings=not args.seed_deck)

    package = compiled_deckgen(work)
    code = code_digest(package)
    children = time_rounds(cases, args.rounds)
    if code_digest(package) != code:
        notes.append(f"CHECK: deckgen's code in {package} changed during the run: timings mix versions")
    median = {name: statistics.median(c.seconds for c in run_) for name, run_ in children.items()}
    cpu = {name: statistics.median(c.cpu for c in run_) for name, run_ in children.items()}
    widths = [max(9, len(b) + 2) for b in bases]
    cpu_base = bases[-2 if len(bases) > 1 else 0]  # the reused-instance reference, or the imports
    print(f"{'case':<18} {'median s':>9} {'min s':>8}" + "".join(f" {'x ' + b:>{w}}" for b, w in zip(bases, widths))
          + f" {'cpu s':>7} {'cpu x ' + cpu_base:>12} {'peak MiB':>9}")
    for name, run_ in children.items():
        ratios = "".join(f" {median[name] / median[b]:>{w}.2f}" for b, w in zip(bases, widths))
        print(f"{name:<18} {median[name]:>9.3f} {min(c.seconds for c in run_):>8.3f}{ratios} {cpu[name]:>7.2f}"
              f" {cpu[name] / cpu[cpu_base]:>12.2f} {statistics.median(c.peak for c in run_):>9.1f}")
    for name, base in (("reword 1000", "deckgen one edit"), ("reword+edit 1000", "edit 1000")):
        if name in median:
            print(f"{name}: {median[name] / median[base]:.2f} x {base}")
    finish(notes, work, args.keep)


if __name__ == "__main__":
    main()
