"""Anki's cloze filter, as Anki 26 writes a card side from a field: what `{{cloze:Text}}` puts on a card.

A port of rslib/src/cloze.rs (`cloze_filter`): the field's deletions are
read as Anki reads them (nested, at most ten open, `{{c1,2::…}}` on two
cards, the hint after the first `::` of a text run, a deletion left open
dropped with all it holds), the card's own deletion is written as `[hint]`
on the front and as its text on the back, the others as their text, each in
a `<span>`; then every tag between MathJax delimiters is stripped. So the
card's HTML is not the field's: text on both sides of a deletion, or of a
tag, becomes one inside math, and Anki writes `[` and `]` around a hint.

Each piece of a side says where in the field its text came from, so that
`sanitize` can tell what only the filter made and fix it in the field.
Every scan here is linear in the field.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ..parse.syntax import deletion_numbers

MAX_OPEN = 10
"""Deletions open at once, as Anki reads them; an eleventh `{{c1::` is dropped."""
LAST_CARD = 500
"""Anki makes card 500 at most: a deletion numbered above it is on that card (which shows it as text)."""
IMAGE_OCCLUSION = "image-occlusion:"
"""A deletion whose text starts so is a shape of Anki's image occlusion, written into a `<div>`'s attributes."""
_TOKEN_RE = re.compile(r"\{\{c([0-9,]*+)::|\}\}")
_DELIMITER_RE = re.compile(r"\\[(\[\])]")
# Anki strips `<!--…-->`, `<style…>…</style>`, `<script…>…</script>` and `<…>`; cleaned HTML holds only the last.
_TAG_RE = re.compile(r"<[^>]*+>")
_ENCODED_RE = re.compile(r"[\x00-\xff]")


class Piece(NamedTuple):
    """Text of a card side, and where it starts in the field (-1: Anki wrote it)."""

    text: str
    at: int


@dataclass
class _Deletion:
    numbers: tuple[int, ...]
    nodes: list = field(default_factory=list)
    """Pieces of text and nested deletions, in order."""
    hint: Piece | None = None

    def image_occlusion(self) -> bool:
        return bool(self.nodes) and isinstance(self.nodes[0], Piece) and self.nodes[0].text.startswith(IMAGE_OCCLUSION)


def _tokens(text: str) -> Iterator[tuple[str, object, int]]:
    """("open", numbers, at), ("text", piece text, at) and ("close", None, at), as Anki's tokenizer gives them."""
    last = 0
    for match in _TOKEN_RE.finditer(text):
        if match.group(1) is not None:
            numbers = deletion_numbers(match.group(1))
            if not numbers:
                continue  # not an opening: text (no token starts inside it)
        if match.start() > last:
            yield "text", text[last:match.start()], last
        yield ("open", numbers, match.start()) if match.group(1) is not None else ("close", None, match.start())
        last = match.end()
    if last < len(text):
        yield "text", text[last:], last


def _parse(text: str) -> list:
    output: list = []
    open_: list[_Deletion] = []
    for kind, value, at in _tokens(text):
        if kind == "open":
            if len(open_) < MAX_OPEN:
                open_.append(_Deletion(value))
        elif kind == "text":
            if open_:
                deletion = open_[-1]
                if not value.startswith(IMAGE_OCCLUSION) and "::" in value:
                    head, hint = value.split("::", 1)
                    deletion.hint = Piece(hint, at + len(head) + 2)
                    value = head
                deletion.nodes.append(Piece(value, at))
            else:
                output.append(Piece(value, at))
        elif open_:
            deletion = open_.pop()
            (open_[-1].nodes if open_ else output).append(deletion)
        else:
            output.append(Piece("}}", at))
    return output  # deletions still open are dropped, as Anki drops them


class ClozeField:
    """A field as Anki's cloze filter reads it, parsed once."""

    def __init__(self, text: str):
        self.nodes = _parse(text)
        numbers: set[int] = set()
        occlusions: list[int] = []
        self.hints = False
        """Whether a deletion has a hint."""
        stack = [self.nodes]
        while stack:
            for node in stack.pop():
                if isinstance(node, _Deletion):
                    numbers.update(min(n, LAST_CARD) for n in node.numbers if n)
                    if node.image_occlusion():
                        occlusions.append(node.nodes[0].at)
                    self.hints |= node.hint is not None
                    stack.append(node.nodes)
        self.numbers = sorted(numbers)
        """The cards Anki makes of it, by number (the card's ordinal + 1)."""
        self.occlusions = sorted(occlusions)
        """Where text starts that Anki reads as an image occlusion's shape."""

    def side(self, number: int, question: bool, exact: bool = False) -> list[Piece]:
        """Card `number`'s front (`question`) or back, in pieces; none when the card has no deletion of its own
        (Anki then shows nothing of the field).

        Unless `exact`, an asked deletion's `data-cloze` attribute is left
        empty: Anki writes into it the deletion's content as the front shows
        it, encoded again at every level of nesting (ten levels make it
        thousands of times the field), and it holds no `<`, `>`, `\\` or `[`
        that anything on the card reads.
        """
        out: list[Piece] = []
        found = [False]
        for node in self.nodes:
            if isinstance(node, Piece):
                out.append(node)
            else:
                _reveal(node, number, question, out, found, exact)
        return _strip_html_inside_mathjax(out) if found[0] else []


def filled(text: str, number: int, question: bool) -> str:
    """The HTML Anki writes for `{{cloze:…}}` of `text` on card `number`'s front (`question`) or back."""
    return "".join(piece.text for piece in ClozeField(text).side(number, question, exact=True))


def _reveal(deletion: _Deletion, number: int, question: bool, out: list[Piece], found: list[bool],
            exact: bool) -> None:
    active = number in deletion.numbers
    found[0] |= active
    numbers = ",".join(map(str, deletion.numbers))
    if deletion.image_occlusion():
        # Anki writes the shape's properties into attributes, unescaped; `sanitize` never lets one through.
        kind = "cloze" if (question and active) or 0 in deletion.numbers else "cloze-inactive" if not active \
            else "cloze-highlight" if not question else None
        if kind:
            out.append(Piece(f'<div class="{kind}" data-ordinal="{numbers}" {deletion.nodes[0].text}></div>', -1))
        return
    if question and active:
        content: list[Piece] = []
        for node in deletion.nodes if exact else ():
            if isinstance(node, Piece):
                content.append(node)
            else:
                _reveal(node, number, question, content, found, exact)
        encoded = _encode_attribute("".join(piece.text for piece in content))
        out.append(Piece(f'<span class="cloze" data-cloze="{encoded}" data-ordinal="{numbers}">[', -1))
        out.append(deletion.hint if deletion.hint is not None else Piece("...", -1))
        out.append(Piece("]</span>", -1))
        return
    out.append(Piece(f'<span class="{"cloze" if active else "cloze-inactive"}" data-ordinal="{numbers}">', -1))
    for node in deletion.nodes:
        if isinstance(node, Piece):
            out.append(node)
        else:
            _reveal(node, number, question, out, found, exact)
    out.append(Piece("</span>", -1))


def _encode_attribute(text: str) -> str:
    """As Rust's htmlescape writes an attribute: every character below U+0100 but ASCII letters and digits as
    a reference (a named one for `"&<>`)."""
    return _ENCODED_RE.sub(lambda m: m.group() if m.group().isascii() and m.group().isalnum()
                           else _NAMED.get(m.group()) or f"&#x{ord(m.group()):02X};", text)


_NAMED = {'"': "&quot;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _math_spans(html: str) -> Iterator[tuple[int, int]]:
    """Where Anki's MATHJAX pattern matches: from a `\\(` or `\\[` to the first `\\)` or `\\]` after it (either
    kind), then on from there. Linear: a lazy pattern would read on to the end from every unclosed opening."""
    openings, closings = [], []
    for match in _DELIMITER_RE.finditer(html):
        (openings if html[match.start() + 1] in "([" else closings).append(match.start())
    end = 0
    for start in openings:
        if start < end:
            continue
        index = bisect.bisect_left(closings, start + 2)
        if index == len(closings):
            return
        end = closings[index] + 2
        yield start, end


def _strip_html_inside_mathjax(pieces: list[Piece]) -> list[Piece]:
    html = "".join(piece.text for piece in pieces)
    if "\\" not in html:
        return pieces
    cuts = [tag.span() for start, end in _math_spans(html) for tag in _TAG_RE.finditer(html, start + 2, end - 2)]
    if not cuts:
        return pieces
    out, cut, piece_start = [], 0, 0
    for piece in pieces:  # each piece less the cuts inside it, by position in the joined HTML
        start, end = piece_start, piece_start + len(piece.text)
        while start < end:
            while cut < len(cuts) and cuts[cut][1] <= start:
                cut += 1
            kept_end = min(end, cuts[cut][0]) if cut < len(cuts) else end
            if kept_end > start:
                out.append(_part(piece, start - piece_start, kept_end - start))
            start = max(kept_end, min(cuts[cut][1], end)) if cut < len(cuts) else end
        piece_start = end
    return out


def _part(piece: Piece, offset: int, length: int) -> Piece:
    return Piece(piece.text[offset:offset + length], piece.at + offset if piece.at >= 0 else -1)


def source_index(pieces: list[Piece]):
    """A function from a position in the joined pieces to where that character is in the field (-1: Anki's)."""
    starts, position = [], 0
    for piece in pieces:
        starts.append(position)
        position += len(piece.text)

    def at(index: int) -> int:
        which = bisect.bisect_right(starts, index) - 1
        return pieces[which].at + index - starts[which] if pieces[which].at >= 0 else -1
    return at
