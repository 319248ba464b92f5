"""Whether a change of deckgen's code changes what it writes: libraries built by two checkouts, compared file by file.

    git worktree add /tmp/before <commit>
    python bench/same_output.py --before /tmp/before source/ ~/notes/vault ...

Each library is copied twice and built by each checkout in a process of its own (PYTHONPATH, so that render
workers import the same code), with a fixed clock and state and cache folders of its own: cold, then after one
question is added to its first deck file. Every file written (packages, changelogs, the record, the settings
with the namespace) is compared by its SHA-256; a package whose bytes differ, by what Anki reads of it (every
row of its collection, the media), which is said apart. A library without a namespace gets a fixed one first
(a new one is random). Exit status 1 when anything but a package's layout differs. Stdlib only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000.0
BUILD = """
import sys
from pathlib import Path
from deckgen import build_decks
src, out = Path(sys.argv[1]), Path(sys.argv[2])
if __name__ == "__main__":
    build_decks(src, out, now={now})
    first = sorted(src.rglob("*.md"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\\n### A question added?\\nIts answer.\\n", encoding="utf-8")
    build_decks(src, out, now={now} + 100)
"""


def written(checkout: Path, library: Path, work: Path) -> dict[str, str]:
    """Digest of every file a cold build and a one-edit build of `library` by `checkout` write, by path."""
    src, out = work / "src", work / "out"
    shutil.copytree(library, src, symlinks=True, ignore=shutil.ignore_patterns(".git", "build"))
    settings = src / "deckgen.toml"
    if "namespace" not in (settings.read_text(encoding="utf-8") if settings.is_file() else ""):
        with settings.open("a", encoding="utf-8") as file:
            file.write('\nnamespace = "0123456789abcdef"\n')
    env = {**os.environ, "PYTHONPATH": str(checkout), "DECKGEN_STATE_DIR": str(work / "state"),
           "DECKGEN_CACHE_DIR": str(work / "cache")}
    script = work / "build.py"
    script.write_text(BUILD.format(now=NOW), encoding="utf-8")
    subprocess.run([sys.executable, str(script), str(src), str(out)], env=env, check=True, cwd=work)
    files = [p for p in [*out.rglob("*"), *src.rglob(".deckgen/*"), settings] if p.is_file()]
    return {str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def package_content(path: Path) -> str:
    """Digest of what Anki reads from a package: every row of its collection's tables, in order, and every other
    entry of the zip (the media list, the media) by name; not how SQLite laid the rows out in the file."""
    import sqlite3
    import zipfile

    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as scratch:
        for name in sorted(archive.namelist()):
            if name != "collection.anki2":
                digest.update(name.encode() + b"\0" + archive.read(name))
        archive.extract("collection.anki2", scratch)
        db = sqlite3.connect(Path(scratch) / "collection.anki2")
        for (table,) in db.execute("select name from sqlite_master where type = 'table' order by name"):
            for row in db.execute(f"select * from {table} order by rowid"):
                digest.update(repr(row).encode())
        db.close()
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the checkout to compare with (its deckgen/)")
    parser.add_argument("--after", type=Path, default=ROOT, help="the checkout compared (default: this one)")
    parser.add_argument("libraries", type=Path, nargs="*", default=[ROOT / "source"])
    args = parser.parse_args()
    print("rerun:", shlex.join([sys.executable, *sys.argv]))
    differ = 0
    with tempfile.TemporaryDirectory(prefix="deckgen-same-") as scratch:
        for index, library in enumerate(args.libraries):
            runs = [written(checkout, library, Path(scratch) / f"{index}-{side}")
                    for side, checkout in (("before", args.before), ("after", args.after))]
            changed = sorted(path for path in {*runs[0], *runs[1]} if runs[0].get(path) != runs[1].get(path))
            laid_out = [path for path in changed if path.endswith(".apkg") and path in runs[0] and path in runs[1]
                        and len({package_content(Path(scratch) / f"{index}-{side}" / path)
                                 for side in ("before", "after")}) == 1]
            changed = [path for path in changed if path not in laid_out]
            differ += bool(changed)
            said = "the same bytes" if not changed else "DIFFERENT: " + ", ".join(changed)
            if laid_out:
                said += f"; the same content laid out otherwise by SQLite: {', '.join(laid_out)}"
            print(f"{library}: {len(runs[1])} files, {said}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
