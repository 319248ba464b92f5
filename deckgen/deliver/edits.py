"""An edit made in Anki to a field deckgen delivered, carried back onto the Markdown it was rendered from.

What is carried over is the *change*, not the field: the HTML deckgen delivered and the HTML Anki holds are
compared a token at a time (a tag, an entity, a word, a run of spaces, one other character), and each change is
put at the place of the Markdown its text came from. The delivered HTML's visible text is aligned with the
Markdown character by character (most of what a field shows is written as it is in the Markdown), so a fixed
typo inside a paragraph, a list item, a code line or a formula lands on that very character. New text goes in as
it is or, when Markdown would read it otherwise, escaped; new structure (bold, a link, a list item, a paragraph)
is turned into Markdown by `html-to-markdown`, and a new list item takes the marker of the item before it.

Every result is checked by rendering it again: it is kept only when it renders to what Anki holds, in the normal
form of `normal_form`. Otherwise the edit is no edit of this module's, and the caller lists the note as needing
a hand edit.
"""

from __future__ import annotations

import difflib
import html
import itertools
import re
from collections.abc import Callable

TOKEN_RE = re.compile(r"<br\s*/?>\n?|<[^>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|\w+);|\w+|\s+|.", re.S)
TAG_NAME_RE = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")
VOID = frozenset({"br", "hr", "img", "wbr", "col", "input", "source"})
BLOCK = frozenset({"p", "li", "ul", "ol", "pre", "div", "blockquote", "table", "tr", "td", "th", "thead", "tbody",
                   "hr", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd"})
LIST_ITEM_RE = re.compile(r"^(\s*)([-*+]|\d+[.)])(\s+)")
MARKDOWN_ESCAPES_RE = re.compile(r"([\\`*_\[\]<>#|~$=!])")
BLANK_LINES_RE = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
"""Two blank lines or more."""
WIKILINK_RE = re.compile(r"!?\[\[[^\]\n]*\]\]")
LONGEST = 50_000
"""Characters of a field past which no edit is looked for: the alignment's cost grows with the square of the
length (a field of 20,000 characters takes about a second here)."""
TRIES = 64
"""Combinations of the changes' candidate places tried, at most."""

# The normal form (see `normal_form`): what deckgen's rendering and Anki's editor may write differently for one
# and the same card.
_HIGHLIGHT_RE = re.compile(r'<div class="highlight">.*?</div>', re.S)
_SPAN_RE = re.compile(r"</?span\b[^>]*>")
_SAME_TAGS = {"<b>": "<strong>", "</b>": "</strong>", "<i>": "<em>", "</i>": "</em>"}
_SAME_TAGS_RE = re.compile("|".join(map(re.escape, _SAME_TAGS)))
_BR_RE = re.compile(r"<br\s*/?>")
_NEWLINES_AT_TAGS_RE = re.compile(r"[ \t]*\n\s*(?=<)|(?<=>)[ \t]*\n\s*")


def normal_form(field: str) -> str:
    """A field's HTML with what does not change the card made one: the colours of a code block (Pygments' spans,
    which deckgen makes again for the code as it is), `<b>`/`<i>` (Anki's editor) as `<strong>`/`<em>`, a no-break
    space as a space, `<br/>` as `<br>`, line ends next to a tag, and spaces at both ends."""
    field = _HIGHLIGHT_RE.sub(lambda block: _SPAN_RE.sub("", block.group()), field)
    field = _SAME_TAGS_RE.sub(lambda tag: _SAME_TAGS[tag.group()], field)
    field = _BR_RE.sub("<br>", field.replace("&nbsp;", " ").replace("\xa0", " "))
    return _NEWLINES_AT_TAGS_RE.sub("", field).strip()


def carry_edit(markdown: str, delivered: str, edited: str, render: Callable[[str], str]) -> str | None:
    """`markdown` changed as Anki's copy of its field was (`delivered` is what `render(markdown)` made, `edited`
    what Anki holds now), checked by rendering it again; None when no change of it renders to what Anki holds."""
    goal = normal_form(edited)
    if normal_form(delivered) == goal:
        return markdown
    if max(len(markdown), len(delivered), len(edited)) > LONGEST or normal_form(render(markdown)) != \
            normal_form(delivered):
        return None
    old, new = TOKEN_RE.findall(delivered), TOKEN_RE.findall(edited)
    places = _Places(old, markdown)
    options = []
    for hunk in _hunks(old, new):
        found = places.options(*hunk)
        if not found:
            return None
        options.append(found)
    links = [match.span() for match in WIKILINK_RE.finditer(markdown)]
    for choice in itertools.islice(itertools.product(*options), TRIES):
        if any(start < end and stop > begin or begin < start < end for start, stop, _ in choice
               for begin, end in links):
            continue  # the text of a wiki link is the name of the note it goes to: changing it is no edit of text
        changed = _apply(markdown, choice)
        if changed is None:
            continue
        for candidate in dict.fromkeys((_tidy(changed, markdown), changed)):
            if normal_form(render(candidate)) == goal:
                return candidate
    return None


def _tidy(changed: str, markdown: str) -> str:
    """`changed` without the runs of blank lines a removed paragraph or item leaves, where `markdown` had none
    (kept only if it renders the same)."""
    return changed if BLANK_LINES_RE.search(markdown) else BLANK_LINES_RE.sub("\n\n", changed).strip("\n")


def _visible(token: str) -> str:
    """What a token shows as text: a line break as a line end, no other tag, an entity as its character."""
    if token[0] == "<":
        return "\n" if _BR_RE.match(token) else ""
    return html.unescape(token) if token[0] == "&" else token


def _hunks(old: list[str], new: list[str]) -> list[tuple[int, int, int, int, list[str]]]:
    """The changes from `old` to `new` tokens, as (old start, old end, new start, new end, new tokens), each
    grown until the tags on both sides of it are whole (an element added or removed with its content)."""
    codes = [code for code in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
             if code[0] != "equal"]
    hunks: list[tuple[int, int, int, int]] = []
    for _, i1, i2, j1, j2 in codes:
        i1, i2, j1, j2 = _slid((i1, i2, j1, j2), old, new)
        if hunks and not _whole(hunks[-1], old, new):
            i1, _, j1, _ = hunks.pop()
        hunks.append((i1, i2, j1, j2))
    if hunks and not _whole(hunks[-1], old, new):
        hunks = [(0, len(old), 0, len(new))]  # the whole field: unlikely to be carried, but checked
    return [(i1, i2, j1, j2, new[j1:j2]) for i1, i2, j1, j2 in hunks]


def _slid(hunk: tuple[int, int, int, int], old: list[str], new: list[str]) -> tuple[int, int, int, int]:
    """An insertion or removal of unwhole elements moved, where the tokens around it allow, to where it is whole:
    `</li><li>three` added after `<li>two` is `<li>three</li>` added after `</li>`."""
    i1, i2, j1, j2 = hunk
    if _whole(hunk, old, new) or (i1 != i2 and j1 != j2):
        return hunk
    side, start, stop = (new, j1, j2) if i1 == i2 else (old, i1, i2)
    for step in (1, -1):
        moved, a, b = hunk, start, stop
        for _ in range(8):
            if step == 1 and (b >= len(side) or side[a] != side[b]) or step == -1 and (a == 0 or side[a - 1] !=
                                                                                         side[b - 1]):
                break
            a, b = a + step, b + step
            moved = tuple(x + step for x in moved)
            if _whole(moved, old, new):
                return moved
    return hunk


def _whole(hunk: tuple[int, int, int, int], old: list[str], new: list[str]) -> bool:
    """Whether a change takes away and puts in whole elements only."""
    i1, i2, j1, j2 = hunk
    return _balanced(old[i1:i2]) and _balanced(new[j1:j2])


def _balanced(tokens: list[str]) -> bool:
    depth = 0
    for token in tokens:
        name = TAG_NAME_RE.match(token)
        if name is None or name.group(1).lower() in VOID or token.endswith("/>"):
            continue
        depth += -1 if token.startswith("</") else 1
        if depth < 0:
            return False
    return depth == 0


class _Places:
    """Where each visible character of the delivered HTML was written in the Markdown."""

    def __init__(self, old: list[str], markdown: str):
        self.markdown = markdown
        self.starts = [0]  # each old token's first visible character
        pieces = []
        for token in old:
            text = _visible(token)
            pieces.append(text)
            self.starts.append(self.starts[-1] + len(text))
        shown = "".join(pieces)
        self.at: list[int | None] = [None] * len(shown)
        for a, b, size in difflib.SequenceMatcher(None, shown, markdown, autojunk=False).get_matching_blocks():
            for offset in range(size):
                self.at[a + offset] = b + offset

    def options(self, i1: int, i2: int, j1: int, j2: int, new: list[str]) -> list[tuple[int, int, str]]:
        """The ways to make this change in the Markdown, likeliest first: (start, end, Markdown to put there)."""
        first, end = self.starts[i1], self.starts[i2]
        before = next((self.at[v] + 1 for v in range(first - 1, -1, -1) if self.at[v] is not None), 0)
        after = next((self.at[v] for v in range(end, len(self.at)) if self.at[v] is not None), len(self.markdown))
        spans = []
        if end > first and self.at[first] is not None and self.at[end - 1] is not None:
            spans.append((self.at[first], self.at[end - 1] + 1))  # just the characters changed
        elif end == first:
            spans += [(before, before), (after, after)]  # after the character before, or before the next one
        if (before, after) not in spans and before <= after:
            spans.append((before, after))  # all between the characters kept, the markup there too
        names = {m.group(1).lower() for m in map(TAG_NAME_RE.match, new) if m is not None} - {"br"}
        if names & BLOCK:
            return self._blocks(first, end, new)
        if names:
            texts = [_to_markdown("".join(new), inline=True)]
        else:
            text = "".join(map(_visible, new))
            texts = list(dict.fromkeys([text, MARKDOWN_ESCAPES_RE.sub(r"\\\1", text)]))
        return [(start, stop, text) for start, stop in spans for text in texts]

    def _blocks(self, first: int, end: int, new: list[str]) -> list[tuple[int, int, str]]:
        """New blocks (a paragraph, a list item) where nothing shown was taken away: after the line of the character
        before them, with the marker of that line's list item if they are list items."""
        if end > first or not "".join(map(_visible, new)).strip():
            return []
        known = [self.at[v] for v in range(first - 1, -1, -1) if self.at[v] is not None]
        if not known:
            return []
        line_end = self.markdown.find("\n", known[0])
        line_end = len(self.markdown) if line_end < 0 else line_end
        line = self.markdown[self.markdown.rfind("\n", 0, line_end) + 1:line_end]
        fragment = "".join(new).strip()
        item = LIST_ITEM_RE.match(line)
        if fragment.startswith("<li") and item:
            indent, marker, space = item.groups()
            if marker[0].isdigit():
                marker = f"{int(marker[:-1]) + 1}{marker[-1]}"
            items = _to_markdown(f"<ul>{fragment}</ul>", inline=False).splitlines()
            lines = [indent + marker + space + LIST_ITEM_RE.sub("", text, count=1) if LIST_ITEM_RE.match(text)
                     else indent + text for text in items if text.strip()]
            return [(line_end, line_end, "\n" + "\n".join(lines))]
        return [(line_end, line_end, "\n\n" + _to_markdown(fragment, inline=False))]


def _apply(markdown: str, changes: tuple[tuple[int, int, str], ...]) -> str | None:
    """The Markdown with each change made, or None when two of them overlap."""
    out, last = [], len(markdown)
    for start, stop, text in sorted(changes, key=lambda change: (change[0], change[1]), reverse=True):
        if stop > last:
            return None
        out.append(text + markdown[stop:last])
        last = start
    return markdown[:last] + "".join(reversed(out))


def as_markdown(field: str) -> str:
    """A whole field of Anki's as Markdown, to show (see `_to_markdown`)."""
    from ..render.card_html import without_context

    return _to_markdown(without_context(field), inline=False)


def _to_markdown(fragment: str, inline: bool) -> str:
    """New structure from Anki, as Markdown (`html-to-markdown`, in the forms deckgen's Markdown reads)."""
    from html_to_markdown import ConversionOptions, convert

    options = ConversionOptions(convert_as_inline=inline, bullets="-", strong_em_symbol="*", autolinks=False,
                                escape_asterisks=True, escape_underscores=True)
    markdown = convert(fragment, options).content
    return markdown.strip("\n") if inline else markdown.strip()
