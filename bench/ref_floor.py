"""The floor: split a deck on `###` headings and write the raw answers with genanki, no Markdown.

    python bench/ref_floor.py DECK.md OUT.apkg
"""

import sys

import genanki

MODEL = genanki.Model(1607392319, "bench reference", fields=[{"name": "Question"}, {"name": "Answer"}],
                      templates=[{"name": "Card", "qfmt": "{{Question}}", "afmt": "{{FrontSide}}<hr>{{Answer}}"}])
DECK_ID = 2059400110


def split(text):
    """(question, answer) pairs: a `###` line starts a question, a `##` line ends one."""
    pairs, question, body = [], None, []
    for line in text.split("\n"):
        if line.startswith("### ") or line.startswith("## "):
            if question is not None:
                pairs.append((question, "\n".join(body).strip()))
            question, body = (line[4:].strip() if line.startswith("### ") else None), []
        else:
            body.append(line)
    if question is not None:
        pairs.append((question, "\n".join(body).strip()))
    return pairs


def write(pairs, out):
    deck = genanki.Deck(DECK_ID, "bench reference")
    for question, answer in pairs:
        deck.add_note(genanki.Note(model=MODEL, fields=[question, answer], guid=genanki.guid_for(question)))
    genanki.Package(deck).write_to_file(out)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        write(split(f.read()), sys.argv[2])
