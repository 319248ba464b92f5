"""The obvious Python build: the floor's split, one `markdown.Markdown` instance (tables, fenced code) reused
for every answer (`.reset()` between them), then genanki. No HTML cleaning, no structure, no cache.

    python bench/ref_reused.py DECK.md OUT.apkg
"""

import sys

import markdown

from ref_floor import split, write

if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        pairs = split(f.read())
    md = markdown.Markdown(extensions=["tables", "fenced_code"])
    html = []
    for question, answer in pairs:
        html.append((question, md.convert(answer)))
        md.reset()
    write(html, sys.argv[2])
