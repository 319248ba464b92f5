"""How many edits made in Anki `deckgen pull` brings into the Markdown, per kind of edit.

For each library (the seed deck in source/ and the notes of tests/fixtures), the library is synced into a new
Anki collection; then, for each kind of edit (see `anki_edits.py`), a copy of that collection gets one edit of
that kind on the answer of every note (or of --notes of them, chosen at random) that has a place for it, made with
the `anki` package as the editor saves it, and `deckgen pull` (without --write) reports which edits it carries
into the Markdown, each checked by rendering it again, and which need a hand edit.

    python bench/pull_edits.py [--notes N] [--seed S] [--check]

--check exits with status 1 unless every typo and every added sentence is pulled. Needs the `anki` extra.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anki_edits import KINDS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = {"seed": ROOT / "source", "showcase": ROOT / "tests" / "fixtures" / "showcase",
             **{f"fixture {path.parent.name}": path for path in sorted((ROOT / "tests" / "fixtures").glob(
                 "release-*/notes"))}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=0, help="edit this many notes of each library (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--why", action="store_true", help="say why each edit left for a hand edit was")
    args = parser.parse_args()
    from anki.collection import Collection

    from deckgen.build import pull_library, sync_library
    from deckgen.deliver.profiles import Target
    from deckgen.output.stamp import library_to_build

    totals: dict[str, list[int]] = {kind: [0, 0, 0, 0] for kind in KINDS}
    print(f"{'library':<24} {'kind':<10} {'edited':>6} {'seen':>6} {'pulled':>6} {'by hand':>7}")
    with tempfile.TemporaryDirectory(prefix="deckgen-pull-bench-") as scratch:
        for name, folder in LIBRARIES.items():
            work = Path(scratch) / name.replace(" ", "-")
            src, out = work / "src", work / "out"
            shutil.copytree(folder, src)
            shutil.rmtree(src / ".deckgen", ignore_errors=True)
            collection = work / "anki" / "collection.anki2"
            collection.parent.mkdir(parents=True)
            Collection(str(collection)).close()
            sync_library(src, library_to_build(src, out), Target(collection, work / "anki" / "backups"))
            time.sleep(1)  # a person edits later than the second the build stamped (an edit then is taken for it)
            for kind, edit in KINDS.items():
                copy = work / kind.replace(" ", "-") / "collection.anki2"
                copy.parent.mkdir(parents=True)
                shutil.copy(collection, copy)
                rnd = random.Random(f"{args.seed} {name} {kind}")
                col = Collection(str(copy))
                notes = [col.get_note(nid) for nid in col.find_notes("-tag:deckgen::removed")]
                if args.notes:
                    notes = rnd.sample(notes, min(args.notes, len(notes)))
                edited = 0
                for note in notes:
                    changed = edit(note.fields[1], rnd)
                    if changed is not None and changed != note.fields[1]:
                        note.fields[1] = changed
                        col.update_note(note)
                        edited += 1
                col.close()
                _, report = pull_library(src, out, Target(copy, copy.parent / "backups"))
                seen = report.status.counts.get("edited", 0)
                row = (edited, seen, len(report.pulled), len(report.by_hand))
                totals[kind] = [a + b for a, b in zip(totals[kind], row)]
                for note, why in report.by_hand if args.why else ():
                    print(f"    {kind}: {note.source}: {why}")
                if edited:
                    print(f"{name:<24} {kind:<10} {row[0]:>6} {row[1]:>6} {row[2]:>6} {row[3]:>7}")
    print()
    print(f"{'all':<24} {'kind':<10} {'edited':>6} {'seen':>6} {'pulled':>6} {'by hand':>7}  share pulled")
    for kind, (edited, seen, pulled, by_hand) in totals.items():
        share = f"{100 * pulled / edited:.1f} %" if edited else "-"
        print(f"{'all':<24} {kind:<10} {edited:>6} {seen:>6} {pulled:>6} {by_hand:>7}  {share}")
    if args.check and any(totals[kind][2] != totals[kind][0] or totals[kind][1] != totals[kind][0]
                          for kind in ("typo", "sentence")):
        print("CHECK: a typo or an added sentence was not pulled")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
