"""The obvious single-process build: the floor's split, Python-Markdown per answer,
a BeautifulSoup parse + serialise of each answer's HTML, then genanki.

    python bench/ref_plain.py DECK.md OUT.apkg
"""

import sys

import markdown
from bs4 import BeautifulSoup

from ref_floor import split, write

if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        pairs = split(f.read())
    html = [(q, str(BeautifulSoup(markdown.markdown(a, extensions=["tables", "fenced_code", "nl2br"]), "html.parser")))
            for q, a in pairs]
    write(html, sys.argv[2])
