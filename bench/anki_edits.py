"""Small edits of each kind a person makes to a card in Anki, applied to a field's HTML as Anki's editor saves
it: used by `pull_edits.py` and by the property test of `deckgen pull` (tests/test_edits.py).

Each kind takes a field and a random source, and returns the edited field, or None when the field has no place
for that kind of edit (no list to add an item to, no code, no formula).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator

TOKEN_RE = re.compile(r"<[^>]*>|[^<]+")
WORD_RE = re.compile(r"[A-Za-z]{4,}(?![:A-Za-z])|[\u4e00-\u9fff]{2,}")  # not a scheme ("sound:", "https:")
MATH_RE = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
CJK_SWAP = "的了是在有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
Kind = Callable[[str, random.Random], "str | None"]


def _texts(field: str, outside: tuple[str, ...] = ("a", "code", "pre")) -> Iterator[tuple[int, str]]:
    """(offset, text) of each run of text that is inside none of the elements `outside`."""
    open_tags: list[str] = []
    at = 0
    for token in TOKEN_RE.findall(field):
        if token.startswith("<"):
            name = re.match(r"</?([a-zA-Z0-9]+)", token)
            if name and not token.endswith("/>") and name.group(1).lower() not in ("br", "img", "hr"):
                if token.startswith("</"):
                    if name.group(1).lower() in open_tags:
                        del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name.group(1).lower()):]
                else:  # an Obsidian link deckgen shows as text is a link too
                    open_tags.append("a" if 'class="dg-wikilink"' in token else name.group(1).lower())
        elif not any(tag in outside for tag in open_tags):
            yield at, token
        at += len(token)


def _words(field: str) -> list[tuple[int, int]]:
    """(start, end) of each word of ordinary text: four letters or more, or a run of Chinese."""
    spans = []
    for offset, text in _texts(field):
        if "&" in text or "\\(" in text or "\\[" in text or "$" in text:
            text = re.sub(r"&\w+;|&#\w+;|\\\(.*?\\\)|\\\[.*?\\\]|\$[^$]*\$", lambda m: " " * len(m.group()), text,
                          flags=re.S)
        spans += [(offset + m.start(), offset + m.end()) for m in WORD_RE.finditer(text)]
    return spans


def typo_fixed(field: str, rnd: random.Random) -> str | None:
    """Two letters of a word swapped, or one Chinese character replaced (a typo fixed, seen from the other side)."""
    words = _words(field)
    if not words:
        return None
    start, end = rnd.choice(words)
    word = field[start:end]
    if word[0].isascii():
        at = rnd.randrange(1, len(word) - 2)
        changed = word[:at] + word[at + 1] + word[at] + word[at + 2:]
        if changed == word:
            changed = word[:at] + ("x" if word[at] != "x" else "y") + word[at + 1:]
    else:
        at = rnd.randrange(len(word))
        changed = word[:at] + rnd.choice([c for c in CJK_SWAP if c != word[at]]) + word[at + 1:]
    return field[:start] + changed + field[end:]


def sentence_added(field: str, rnd: random.Random) -> str | None:
    """A sentence added at the end of a paragraph or list item (one that shows text)."""
    ends = [m.start() for m in re.finditer(r"(?<=[^>\s])</(p|li)>", field)]  # of one with text
    if not ends:
        return None
    at = rnd.choice(ends)
    return field[:at] + " This sentence was added in Anki." + field[at:]


def _wrapped(field: str, rnd: random.Random, opening: str, closing: str) -> str | None:
    """A word of ordinary text put inside an element."""
    words = _words(field)
    if not words:
        return None
    start, end = rnd.choice(words)
    return field[:start] + opening + field[start:end] + closing + field[end:]


def bold_added(field: str, rnd: random.Random) -> str | None:
    """A word made bold with Anki's editor (`<b>`)."""
    return _wrapped(field, rnd, "<b>", "</b>")


def list_item_added(field: str, rnd: random.Random) -> str | None:
    """An item added after an item of a list."""
    ends = [m.end() for m in re.finditer(r"</li>", field)]
    if not ends:
        return None
    at = rnd.choice(ends)
    return field[:at] + "\n<li>An item added in Anki.</li>" + field[at:]


def code_line_changed(field: str, rnd: random.Random) -> str | None:
    """A line of a code block changed: a word of it replaced, or a line added at its end."""
    blocks = [m for m in re.finditer(r"<pre>(?:<span></span>)?<code[^>]*>(.*?)</code>", field, re.S)]
    if not blocks:
        return None
    block = rnd.choice(blocks)
    words = [m for m in re.finditer(r"(?<![<&/])\b[A-Za-z_]{2,}\b(?![^<]*>)", block.group(1))]
    if words and rnd.random() < 0.5:
        word = rnd.choice(words)
        start = block.start(1) + word.start()
        return field[:start] + "renamed" + field[start + len(word.group()):]
    end = block.end(1)
    line = "added_in_anki = 1\n"
    return field[:end] + ("" if field[:end].endswith("\n") else "\n") + line + field[end:]


def formula_edited(field: str, rnd: random.Random) -> str | None:
    """A formula changed: a term added at its end."""
    formulas = [m for m in MATH_RE.finditer(field)]
    if not formulas:
        return None
    formula = rnd.choice(formulas)
    end = formula.end() - 2
    return field[:end] + " + 1" + field[end:]


def link_added(field: str, rnd: random.Random) -> str | None:
    """A word made a link."""
    return _wrapped(field, rnd, '<a href="https://example.org/added">', "</a>")


KINDS: dict[str, Kind] = {"typo": typo_fixed, "sentence": sentence_added, "bold": bold_added,
                          "list item": list_item_added, "code line": code_line_changed, "formula": formula_edited,
                          "link": link_added}
