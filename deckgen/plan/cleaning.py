"""Which notes deckgen 0.2 delivered holding what today's cleaning removes: those are delivered again once,
without --rerender (an upgrade's one re-stamp, on purpose).
"""

from __future__ import annotations

import re

from ..render.renderer import RenderedText
from ..render.sanitize import SYNTAX, UNSAFE, kind_of

CLEANING = 3
"""The render version from which every field is cleaned by one allowlist (deckgen 0.3): a note delivered by an
earlier one whose HTML differs from today's, and held what the cleaning now removes (`held_before`: maybe
script), is delivered again by the next build, without --rerender (an upgrade's one re-stamp, on purpose)."""
# What deckgen 0.2 cleaned (its `sanitize`), to tell which of today's removals its packages held: it cleaned a
# text's HTML only where its Markdown (tabs and line ends taken out) held one of these; it broke these MathJax
# commands, as written; it removed a style holding these; it kept `id`, `name`, `class` and data: images.
_CLEANED_BY_0_2 = re.compile(r"<[A-Za-z!/?]|&|script\s*:|data\s*:", re.IGNORECASE)
_TEX_BROKEN_BY_0_2 = frozenset({"href", "url", "style", "class", "cssId", "data", "csname"})
_STYLE_REMOVED_BY_0_2 = re.compile(r"expression\s*\(|url\s*\(|javascript:|@import|behavior\s*:", re.IGNORECASE)
_ID_KEPT_BY_0_2 = re.compile(r' id="dg-(?!fn:|fnref:)')


def held_before(markdown: str, rendered: RenderedText) -> bool:
    """Whether deckgen 0.2's HTML of this Markdown held something today's cleaning removes (see CLEANING): what it
    never cleaned (Anki's syntax, a style's position, `name`, an `id` now prefixed, MathJax's other commands, a
    data: image, mathjax_process), or what it did not see as written (a scheme split by a code span, `\\href`
    spelt with an entity, `u\\72l(`), or anything in a text whose Markdown it never cleaned at all."""
    if _ID_KEPT_BY_0_2.search(rendered.html):
        return True
    if not rendered.removed:
        return False
    cleaned = _CLEANED_BY_0_2.search(markdown.translate(_TABS_AND_LINE_ENDS)) is not None
    for reason in rendered.removed:
        tex = re.fullmatch(r"\\(\w+) in math", reason)
        style = re.fullmatch(r"([\w-]+)(\(\))? in a style", reason)
        if kind_of(reason) == SYNTAX or (tex and (tex.group(1) not in _TEX_BROKEN_BY_0_2
                                                  or f"\\{tex.group(1)}" not in markdown)):
            return True
        if tex:
            continue
        if not cleaned and kind_of(reason) == UNSAFE:
            return True
        if style and not (style.group(2) and _STYLE_REMOVED_BY_0_2.search(markdown)) or \
                reason in ("class mathjax_process", "name= attribute") or reason.startswith("data:"):
            return True
    return False


_TABS_AND_LINE_ENDS = dict.fromkeys(map(ord, "\t\n\r"))
