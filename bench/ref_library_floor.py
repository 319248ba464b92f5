"""The floor for a library: every `*.md` split on `###` headings, raw answers into genanki, no Markdown.

    python bench/ref_library_floor.py LIBDIR OUT.apkg

The least a build must do: every answer into one package, with the images the answers reference
(`![alt](path)`, relative to the file, and Obsidian's `![[name]]`, looked up by file name anywhere in the
library) as its media files. All in one deck, each note tagged with its file's deck name (`a/b/c.md` is
`a::b::c`): genanki writes the collection's deck list again for every deck it writes, in time in the square
of their number, which made a floor of one deck a file 60 % slower at 1,000 files, most of it that.
"""

import hashlib
import re
import sys
from pathlib import Path
from urllib.parse import unquote

import genanki

from ref_floor import MODEL, split

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)|!\[\[([^\]|]+)(?:\|[^\]]*)?\]\]")


def visible(path, root):
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def build(root, out):
    by_name = {p.name: p for p in root.rglob("*") if p.is_file() and visible(p, root)}
    deck, media = genanki.Deck(int(hashlib.sha256(root.name.encode()).hexdigest()[:15], 16), root.name), set()
    for path in sorted(p for p in root.rglob("*.md") if visible(p, root)):
        name = "::".join(path.relative_to(root).with_suffix("").parts)
        for question, answer in split(path.read_text(encoding="utf-8")):
            deck.add_note(genanki.Note(model=MODEL, fields=[question, answer], tags=[name.replace(" ", "_")],
                                       guid=genanki.guid_for(name, question)))
            for link, embed in IMAGE.findall(answer):
                image = path.parent / unquote(link) if link else by_name.get(embed)
                if image is not None and image.is_file():
                    media.add(str(image.resolve()))
    genanki.Package(deck, media_files=sorted(media)).write_to_file(out)


if __name__ == "__main__":
    build(Path(sys.argv[1]), sys.argv[2])
