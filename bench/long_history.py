"""Long histories of edits and set-backs, each version imported, studied and synced: any violation of the
README's promises about identities, per seed (issue 23, item 5; the harness is tests/history.py).

    python bench/long_history.py --seeds 30 --versions 8
    python bench/long_history.py --seeds 5 --versions 14 --first-seed 101
    python bench/long_history.py --seeds 200 --versions 8 --jobs 2 --shrink

Prints, per seed, its versions, violations and time; then, for each violation (its first of each kind in a
seed), the seed, the version and the edits of every version up to it. With `--shrink`, the shortest history
found that still shows each kind (that of the seed with the fewest edits up to it, replayed with edits left
out). Exits with status 1 when there was any violation. `--deckgen DIR` imports deckgen from DIR (for
instance `git archive b73a33d deckgen | tar -x -C DIR`), to compare with another version of it. deckgen
imports some of its modules only when a build needs them, so it warns when deckgen's code changed during
the run (its results may then mix two versions of it).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"


def setup(deckgen_dir: str | None) -> None:
    for folder in [str(TESTS)] + ([str(Path(deckgen_dir).resolve())] if deckgen_dir else []):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def code_state(package: Path) -> dict[str, int]:
    """When each file of deckgen's code last changed."""
    return {str(path): path.stat().st_mtime_ns for path in sorted(package.rglob("*.py"))}


def one_seed(seed: int, versions: int, deckgen_dir: str | None, keep: str | None, set_back_odds: float):
    """Runs in a worker process of its own (deckgen's state and cache folders are set per seed)."""
    setup(deckgen_dir)
    import history

    folder = Path(tempfile.mkdtemp(prefix=f"history-{seed}-", dir=keep))
    try:
        return history.run_seed(seed, versions, folder, set_back_odds=set_back_odds)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def describe(run, violation) -> str:
    count = sum(1 for v in run.violations if v.kind == violation.kind)
    return (f"  {violation}\n    ({count} of this kind in seed {run.seed}); the edits up to v{violation.version}:\n"
            + run.script(up_to=violation.version, indent="    "))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=30, help="how many seeds (default 30)")
    parser.add_argument("--versions", type=int, default=8, help="builds a seed (default 8)")
    parser.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at once (default 1)")
    parser.add_argument("--set-back-odds", type=float, default=0.25,
                        help="the odds that a version (from the third) sets the library back (default 0.25)")
    parser.add_argument("--shrink", action="store_true", help="find a shorter history for each violation kind")
    parser.add_argument("--deckgen", metavar="DIR", help="import deckgen from DIR instead of the installed one")
    parser.add_argument("--keep", metavar="DIR", help="keep each seed's folders under DIR")
    args = parser.parse_args(argv)
    setup(args.deckgen)
    import deckgen
    import history

    code = code_state(Path(deckgen.__file__).parent)
    print(f"deckgen from {Path(deckgen.__file__).parent}; seeds {args.first_seed}..{args.first_seed + args.seeds - 1}"
          f", {args.versions} versions each")
    print(f"{'seed':>6} {'versions':>8} {'violations':>10} {'seconds':>8}")
    started = time.monotonic()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(one_seed, seed, args.versions, args.deckgen, args.keep, args.set_back_odds)
                   for seed in seeds]
        for future in futures:
            run = future.result()
            runs.append(run)
            print(f"{run.seed:>6} {len(run.versions):>8} {len(run.violations):>10} {run.seconds:>8.1f}", flush=True)
            for violation in run.first_of_each_kind():
                print(describe(run, violation), flush=True)
    if code_state(Path(deckgen.__file__).parent) != code:
        print("\nWARNING: deckgen's code changed during the run: its results may mix two versions of deckgen")
    failing = [run for run in runs if run.violations]
    seconds = [run.seconds for run in runs]
    print(f"\n{len(runs)} seeds x {args.versions} versions: {sum(len(r.violations) for r in runs)} violations in "
          f"{len(failing)} seeds; {time.monotonic() - started:.1f} s in all, a seed {min(seconds):.1f} to "
          f"{max(seconds):.1f} s (median {sorted(seconds)[len(seconds) // 2]:.1f} s)")
    if not failing:
        return 0

    # The shortest history of each kind: fewest edits up to its first appearance.
    smallest = {}
    for run in failing:
        for violation in run.first_of_each_kind():
            size = sum(len(v.ops) for v in run.versions if v.label <= violation.version)
            if violation.kind not in smallest or size < smallest[violation.kind][0]:
                smallest[violation.kind] = (size, run, violation)
    print("\nEach kind of violation, its shortest history" + (" (shrunk)" if args.shrink else "") + ":")
    for kind, (size, run, violation) in sorted(smallest.items()):
        seeds = [str(r.seed) for r in failing if any(v.kind == kind for v in r.violations)]
        print(f"\n{kind}: {history.KINDS[kind]}; seeds {', '.join(seeds)}")
        if args.shrink:
            work = Path(tempfile.mkdtemp(prefix="history-shrink-", dir=args.keep))
            try:
                shrunk = history.shrink(run.seed, run, kind, work, progress=print)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            violation = next(v for v in shrunk.violations if v.kind == kind)
            print(f"  shrunk from {size} edits to {sum(len(v.ops) for v in shrunk.versions)}:")
            print(describe(shrunk, violation))
        else:
            print(describe(run, violation))
    return 1


if __name__ == "__main__":
    sys.exit(main())
