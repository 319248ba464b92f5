"""Write a deterministic notes library shaped like the ones people keep (stdlib only).

    python bench/make_library.py OUTDIR [--files 1000] [--questions 20000] [--images 2000] [--image-bytes 0]
    python bench/make_library.py --stats LIBDIR        # files, questions, images, total bytes
    python bench/make_library.py --edit-one LIBDIR     # changes exactly one answer in one file
    python bench/make_library.py --rename-one LIBDIR   # renames one .md file within its folder

The library: `--files` Markdown files in a tree of topic folders (depth 1 to 3, some names non-ASCII or
with spaces), a few folders with a `README.md` (the folder's own deck: a description, sometimes
questions), about `--questions` `###` questions spread unevenly over the files (lognormal: a few
files with one or two, a few with a hundred), `##` sections in the longer files, a title and an
intro (the deck's description), Obsidian front matter on some. Questions and answers come from
make_corpus.py's `Writer` (all distinct across the library, as are the answers). `--images` small
distinct PNG files (a few hundred bytes each; with `--image-bytes N`, about N bytes each, as screenshots
are, the rest an ancillary chunk of random bytes) sit in `assets/` folders, one at the top and one in
some topic folders; each is referenced at least once, from an answer in its folder's subtree (top:
anywhere), as `![alt](relative/path.png)` (spaces written `%20`) or, for Obsidian's
`Pasted image ….png` names, as `![[name.png]]` (sometimes `|300`); some are referenced twice.
OUTDIR gets a `deckgen.toml` holding only a comment (a build writes the namespace into it).
The same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime
import math
import posixpath
import random
import re
import statistics
import struct
import sys
import zlib
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import CONCEPTS_ZH, SEED, TERMS, Writer, question_lines  # noqa: E402

EDIT_MARK = "修订 "
TOPICS = """Algorithms|Operating Systems|操作系统|Databases|数据库|Computer Networks|计算机网络|Machine Learning|深度学习|
Mathematics|Linear Algebra|Statistics|Distributed Systems|Compilers|Security|Frontend|Backend|Interview Prep|面试|
Papers|Reading Notes|Courses|LLM|大模型|Systèmes|Économie|Physik|Cloud|DevOps|Programming Languages""".replace(
    "\n", "").split("|")
SUBTOPICS = """Basics|Advanced|Lecture Notes|Exercises|Übungen|进程与线程|内存管理|文件系统|Transformers|Fine-tuning|
Inference|Évaluation|Sorting|Graphs|Dynamic Programming|SQL|Indexing|Transactions|TCP-IP|HTTP|Probability|
Optimization|Kubernetes|Rust|Go|Python|C++|cs229|cs231n|MIT 6.824|Week 01|Week 02|Week 03|2023|2024|Archive|
检索增强|分布式训练|推理加速|Embeddings|Attention|Concurrency|Caching|Consensus|Cryptography|Linear Models|
Deep Dives|Cheat Sheets|Flashcards|Misc|Lectures|Chapter 1|Chapter 2|Chapter 3|Théorie|Pratique""".replace(
    "\n", "").split("|")
FILE_NAMES = """overview|cheatsheet|interview-questions|basics|advanced|summary|notes|faq|glossary|review|exam-prep|
common-pitfalls|best-practices|history|examples|Lecture 01|Lecture 02|Lecture 03|Lecture 04|Chapter 2|Chapter 5|
Week 3 notes|面试题|常见问题|总结|复习|笔记|基础知识|Résumé|Zusammenfassung""".replace("\n", "").split("|")
IMAGE_NAMES = ["diagram", "figure", "plot", "architecture", "flow", "示意图", "结构图", "screenshot", "chart"]


def png(index: int, rng: random.Random, size: int = 0) -> bytes:
    """A valid RGB PNG of 8x8 to 14x14 noisy pixels, its first pixel the index (so every image differs); with
    `size`, padded to about that many bytes by a private ancillary chunk of random bytes (which viewers skip)."""
    width = height = rng.randint(8, 14)
    pixels = bytearray(rng.randbytes(width * height * 3))
    pixels[0:3] = index.to_bytes(3, "big")
    raw = b"".join(b"\x00" + pixels[y * width * 3:(y + 1) * width * 3] for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    padding = chunk(b"dgPd", rng.randbytes(max(size - 120, 0))) if size else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + padding
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name 2`, `name 3`…: unique among `taken` ignoring case (Anki's deck names ignore it)."""
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{name} {n}"
    taken.add(candidate.casefold())
    return candidate


def spread(total: int, weights: list[float], least: int) -> list[int]:
    """`total` split in proportion to `weights` (largest remainders), each at least `least` when it fits."""
    if not weights:
        return []
    least = least if total >= least * len(weights) else 0
    rest, whole = total - least * len(weights), sum(weights)
    shares = [rest * w / whole for w in weights]
    counts = [least + math.floor(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (math.floor(shares[i]) - shares[i], i))
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    return counts


def layout(files: int, questions: int, images: int, rng: random.Random):
    """Folders, files (path, questions, is a README) and images (path, the file and question referencing it)."""
    n_folders = max(1, round(files / 8))
    tops = min(len(TOPICS), max(1, round(n_folders ** 0.5)))
    taken: dict[tuple, set[str]] = {(): set()}
    folders: list[tuple[str, ...]] = []
    for name in rng.sample(TOPICS, tops):
        folders.append((unique(name, taken[()]),))
    while len(folders) < n_folders:
        parent = rng.choice([f for f in folders if len(f) < 3])
        child = parent + (unique(rng.choice(SUBTOPICS), taken.setdefault(parent, set())),)
        folders.append(child)
    for folder in folders:
        taken.setdefault(folder, {"assets", "readme"})
    # Files: one in each folder first (as far as there are files), the rest where they fall, unevenly.
    weights = [rng.random() ** 2 + 0.05 for _ in folders]
    homes = folders[:files] + rng.choices(folders, weights, k=max(0, files - len(folders)))
    with_readme = rng.sample(folders, min(len(folders), max(1, len(folders) // 12), files))
    entries = []  # (folder, name, is a README)
    for folder in with_readme:
        entries.append((folder, "README", True))
    for folder in homes[:files - len(with_readme)]:
        for _ in range(3):  # a name not yet in the folder, if one comes up quickly
            word = rng.choice(FILE_NAMES + TERMS + CONCEPTS_ZH)
            if word.casefold() not in taken[folder]:
                break
        entries.append((folder, unique(word, taken[folder]), False))
    entries.sort(key=lambda e: (e[0], e[1]))
    asks = [not readme or rng.random() < 0.5 for _, _, readme in entries]
    asks = asks if any(asks) else [True] * len(asks)  # a library of READMEs alone: they ask the questions
    shares = iter(spread(questions, [rng.lognormvariate(0, 1.0) for ask in asks if ask], 1))
    counts = [next(shares) if ask else 0 for ask in asks]
    paths = [PurePosixPath(*folder, name + ".md") for folder, name, _ in entries]
    # Images: a third at the top, the rest in the assets/ of some folders that hold questions.
    asked = sorted({folder for (folder, _, _), c in zip(entries, counts) if c})
    holders = rng.sample(asked, max(1, len(asked) // 2)) if asked else []
    pictures = []  # (path, how it is referenced: "link" or "embed")
    stamp = datetime.datetime(2023, 1, 1, 9, 0, 0)
    for i in range(images):
        folder = () if not holders or rng.random() < 0.33 else rng.choice(holders)
        if rng.random() < 0.3:
            stamp += datetime.timedelta(seconds=rng.randint(1, 86400))
            name, kind = f"Pasted image {stamp:%Y%m%d%H%M%S}.png", "embed"
        else:
            name, kind = f"{rng.choice(IMAGE_NAMES)}-{i + 1:04d}.png", "link"
        pictures.append((PurePosixPath(*folder, "assets", name), kind))
    # Every image referenced from a question under its folder (top: anywhere); 15 % referenced again.
    slots = [(f, q) for f, c in enumerate(counts) for q in range(c)]
    references: dict[tuple[int, int], list[tuple[int, str]]] = {}
    under: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for i, (path, kind) in enumerate(pictures):
        folder = path.parent.parent.parts
        if folder not in under:
            under[folder] = [(f, q) for f, q in slots if paths[f].parts[:len(folder)] == folder]
        for _ in range(2 if rng.random() < 0.15 else 1):
            choice = rng.choice(under[folder] or slots) if slots else None
            if choice is not None:
                references.setdefault(choice, []).append((i, kind))
    return paths, entries, counts, pictures, references


def reference(path: PurePosixPath, picture: PurePosixPath, kind: str, rng: random.Random) -> str:
    if kind == "embed":
        return f"![[{picture.name}{'|300' if rng.random() < 0.2 else ''}]]"
    relative = posixpath.relpath(str(picture), str(path.parent))
    if not relative.startswith("../") and rng.random() < 0.5:
        relative = "./" + relative
    alt = rng.choice(["", "diagram", "示意图", picture.stem.split("-")[0]])
    return f"![{alt}]({relative.replace(' ', '%20')})"


def make_library(outdir: Path, files: int, questions: int, images: int, seed: int = SEED, image_bytes: int = 0
                 ) -> None:
    rng = random.Random(seed)
    writer = Writer(seed + 1)
    paths, entries, counts, pictures, references = layout(files, questions, images, rng)
    outdir.mkdir(parents=True, exist_ok=True)
    if any(outdir.iterdir()):
        sys.exit(f"{outdir} is not empty")
    (outdir / "deckgen.toml").write_bytes(b"# a library generated by bench/make_library.py\n")
    pixels = random.Random(seed + 2)
    for i, (path, _) in enumerate(pictures):
        target = outdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png(i, pixels, image_bytes))
    seen: set[str] = set()
    answers: set[str] = set()
    for f, (path, (folder, name, readme), count) in enumerate(zip(paths, entries, counts)):
        out = []
        if not readme and rng.random() < 0.1:
            out += ["---", f"tags: [{rng.choice(TERMS).lower()}, review]", "aliases: []", "---"]
        out += [f"# {folder[-1] if readme else name}", "", writer.text_line()]
        if readme:
            out += [writer.text_line(), "", f"- {writer.term(style=False)}: {writer.sentence()}"]
        out.append("")
        next_section = 0 if count >= 8 else -1
        for q in range(count):
            if q == next_section:
                out += [f"## {rng.choice(CONCEPTS_ZH)} & {rng.choice(TERMS)}", ""]
                next_section = q + rng.randint(4, 15)
            answer = writer.answer()
            while answer in answers:  # deckgen warns about two questions with the same answer
                answer = writer.answer()
            answers.add(answer)
            lines = [f"### {writer.question(seen)}", answer]
            for i, kind in references.get((f, q), []):
                lines += ["", reference(path, pictures[i][0], kind, rng)]
            out += lines + [""]
        target = outdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes("\n".join(out).encode("utf-8"))


def notes_files(root: Path) -> list[Path]:
    """Every `*.md` below `root`, sorted, hidden folders and files left out."""
    return sorted(p for p in root.rglob("*.md")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def edit_one(root: Path) -> str:
    """Change the middle question's answer of the middle file with questions; each call adds another line."""
    files = [p for p in notes_files(root) if question_lines(p.read_text(encoding="utf-8").split("\n"))]
    path = files[len(files) // 2]
    lines = path.read_text(encoding="utf-8").split("\n")
    headings = question_lines(lines)
    at = headings[len(headings) // 2]
    n = sum(line.startswith(EDIT_MARK) for line in lines) + 1
    lines[at + 1:at + 1] = [f"{EDIT_MARK}{n}：this answer was changed by bench/make_library.py --edit-one"
                            f"（第 {n} 次）。", ""]
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return f"{path.relative_to(root)}: {lines[at][4:]}"


def rename_one(root: Path) -> str:
    """Rename a file with questions (not a README) within its folder: `x.md` -> `x-renamed.md`, then `-renamed-2`…"""
    files = [p for p in notes_files(root) if p.name.casefold() != "readme.md"
             and question_lines(p.read_text(encoding="utf-8").split("\n"))]
    path = files[len(files) // 3]
    match = re.fullmatch(r"(.*)-renamed(?:-(\d+))?", path.stem)
    base, n = (match.group(1), int(match.group(2) or 1) + 1) if match else (path.stem, 1)
    taken = {p.name.casefold() for p in path.parent.iterdir()}
    while (name := f"{base}-renamed{'' if n == 1 else f'-{n}'}.md").casefold() in taken:
        n += 1
    path.rename(path.with_name(name))
    return f"{path.relative_to(root)} -> {name}"


def stats(root: Path) -> dict:
    files = notes_files(root)
    counts, references = [], 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        counts.append(len(question_lines(text.split("\n"))))
        references += len(re.findall(r"!\[[^\]]*\]\([^)\s]+\)|!\[\[[^\]]+\]\]", text))
    every = [p for p in root.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(root).parts)]
    return {
        "files": len(files),
        "questions": sum(counts),
        "images": sum(p.suffix == ".png" for p in every),
        "total bytes": sum(p.stat().st_size for p in every),
        "folders": len({p.parent for p in files}),
        "questions per file min/median/max": (min(counts), statistics.median(counts), max(counts)) if counts else (),
        "files without questions": counts.count(0),
        "image references": references,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", nargs="?", type=Path, help="the folder to write the library into")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=20000)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--image-bytes", type=int, default=0, help="about this many bytes an image (0: a few hundred)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--stats", type=Path, metavar="LIBDIR", help="print the shape of a library")
    parser.add_argument("--edit-one", type=Path, metavar="LIBDIR", help="change one answer of one file")
    parser.add_argument("--rename-one", type=Path, metavar="LIBDIR", help="rename one .md file within its folder")
    args = parser.parse_args()
    if args.edit_one:
        print("edited the answer of", edit_one(args.edit_one))
    elif args.rename_one:
        print("renamed", rename_one(args.rename_one))
    elif args.stats:
        for key, value in stats(args.stats).items():
            print(f"  {key}: {value}")
    elif args.outdir:
        make_library(args.outdir, args.files, args.questions, args.images, args.seed, args.image_bytes)
        print(f"wrote {args.outdir}")
    else:
        parser.error("OUTDIR, --stats, --edit-one or --rename-one")


if __name__ == "__main__":
    main()
