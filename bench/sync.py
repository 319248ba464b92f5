"""Time `deckgen sync` against what it replaces: `deckgen build`, then Anki's own import of the package (with the
desktop's default options, in a process of its own, as File > Import runs it), side by side, interleaved.

    python bench/sync.py [--questions N] [--rounds R]   # a synthetic deck (bench/make_corpus.py)
    python bench/sync.py --seed-deck [--rounds R]       # source/

Each round, in fresh folders and empty collections: "build cold" and "import cold" (the package into an empty
collection), then "sync cold" (the same, through deckgen sync, on another copy); then one answer edited in both
copies: "build one edit" and "import one edit", then "sync one edit"; then "sync no change". Each case is a
fresh subprocess (start-up counted); the table gives medians, and the ratios of each sync to the build and
import it replaces. It also prints the size of the ledger deckgen keeps in the collection's config (sent on
every sync of the collection) and the peak RSS of each case.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from run import MAKE_CORPUS, PY, SEED_SOURCE, forget_machine, run

IMPORT = """import sys
from anki.collection import Collection, ImportAnkiPackageRequest
col = Collection(sys.argv[1])
options = col._backend.get_import_anki_package_presets()
col.import_anki_package(ImportAnkiPackageRequest(package_path=sys.argv[2], options=options))
col.close()
"""
LEDGER = """import sys
from anki.collection import Collection
col = Collection(sys.argv[1])
print(col.db.scalar("select sum(length(cast(val as blob))) from config where key like 'deckgen:%'"))
col.close()
"""


def empty_collection(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([PY, "-c", f"from anki.collection import Collection; Collection({str(path)!r}).close()"],
                   check=True)
    return path


def copy_notes(pristine: Path, to: Path) -> Path:
    shutil.rmtree(to, ignore_errors=True)
    shutil.copytree(pristine, to / "notes")
    forget_machine(to)
    return to


def edit_one(notes: Path) -> None:
    deck = next(path for path in sorted(notes.glob("*.md")))
    subprocess.run([PY, MAKE_CORPUS, str(deck), "--edit-one"], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed-deck", action="store_true", help=f"time {SEED_SOURCE}")
    args = parser.parse_args()
    print("rerun:", shlex.join(["cd", os.getcwd()]), "&&", shlex.join([PY, *sys.argv]))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), {args.rounds} round(s)")
    work = Path(tempfile.mkdtemp(prefix="deckgen-bench-sync-"))
    pristine = work / "pristine"
    if args.seed_deck:
        pristine.mkdir()
        for path in SEED_SOURCE.iterdir():  # the deck and its settings, not its record
            if path.is_file():
                shutil.copy2(path, pristine)
    else:
        subprocess.run([PY, MAKE_CORPUS, str(pristine), "--questions", str(args.questions)], check=True,
                       capture_output=True)
    deckgen = [PY, "-m", "deckgen"]
    times: dict[str, list[float]] = {}
    peaks: dict[str, list[float]] = {}
    ledger = 0

    def timed(name: str, cmd: list[str], cwd: Path) -> str:
        seconds, peak, _, out, _ = run(cmd, cwd)
        times.setdefault(name, []).append(seconds)
        peaks.setdefault(name, []).append(peak)
        return out

    for _ in range(args.rounds):
        by_hand, synced = copy_notes(pristine, work / "by-hand"), copy_notes(pristine, work / "synced")
        hand_col = empty_collection(by_hand / "anki" / "collection.anki2")
        sync_col = empty_collection(synced / "anki" / "collection.anki2")
        timed("build cold", deckgen + ["build", "notes", "-o", "out", "-q"], by_hand)
        package = str(max((by_hand / "out").glob("*.apkg")))
        timed("import cold", [PY, "-c", IMPORT, str(hand_col), package], by_hand)
        timed("sync cold", deckgen + ["sync", "notes", "-o", "out", "-q", "--collection", str(sync_col)], synced)
        edit_one(by_hand / "notes")
        edit_one(synced / "notes")
        timed("build one edit", deckgen + ["build", "notes", "-o", "out", "-q"], by_hand)
        package = str(max((by_hand / "out").glob("*.apkg"), key=lambda path: path.stat().st_mtime))
        timed("import one edit", [PY, "-c", IMPORT, str(hand_col), package], by_hand)
        timed("sync one edit", deckgen + ["sync", "notes", "-o", "out", "-q", "--collection", str(sync_col)], synced)
        timed("sync no change", deckgen + ["sync", "notes", "-o", "out", "-q", "--collection", str(sync_col)],
              synced)
        ledger = int(subprocess.run([PY, "-c", LEDGER, str(sync_col)], check=True, capture_output=True,
                                    text=True).stdout)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'case':<16} {'median s':>9} {'min s':>8} {'peak MiB':>9}")
    for name, values in times.items():
        print(f"{name:<16} {median[name]:>9.3f} {min(values):>8.3f} {statistics.median(peaks[name]):>9.1f}")
    for sync, build, imported in (("sync cold", "build cold", "import cold"),
                                  ("sync one edit", "build one edit", "import one edit")):
        print(f"{sync}: {median[sync] / (median[build] + median[imported]):.2f} x ({build} + {imported})")
    print(f"ledger in the collection's config: {ledger:,} bytes")
    print(json.dumps({"scratch": str(work)}))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
