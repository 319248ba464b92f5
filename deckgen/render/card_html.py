"""The HTML deckgen adds to what the author wrote: each card's Source field, the context above a question asked
elsewhere too, the status of a removed or replaced note, the version line under a deck's description, the
description of the `Removed` subdeck."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from .sanitize import inert

REMOVED_STATUS = "Removed from the source: this note is no longer in the Markdown."
REPLACED_STATUS = ("Replaced: this deck's questions are now notes of another note type, and this note is no "
                   "longer updated.")
REMOVED_SUBDECK_DESCRIPTION = (
    "Questions removed from this deck's source, or left behind by a new note type: who imports the deck for the "
    "first time finds their cards here, out of the way. Cards you had before stay where they were.")


def source_field(source_line: str, heading: str, template: str | None) -> str:
    """A card's Source field: `file:line`, a link when the library has a `source_url` template (see `settings`:
    it starts with `https:` or `obsidian:`, and takes each part URL-encoded). Made as safe as every field (see
    `sanitize.inert`), since it may come from the record, anyone's to edit: it holds no element but deckgen's."""
    text = html.escape(source_line, quote=False)
    if template is not None:
        path, _, line = source_line.rpartition(":")
        url = template.format(path=quote(path, safe="/"), line=quote(line, safe=""), heading=quote(heading, safe=""))
        text = f'<a class="dg-source-link" href="{html.escape(url)}">{text}</a>'
    return inert(text)[0]


CONTEXT_RE = re.compile(r'^<small class="dg-context">.*?</small><br>', re.S)


def with_context(question: str, context: str) -> str:
    """A question's field (HTML) with its context (HTML: the sections or deck that tell it from its namesakes)
    quietly above it."""
    return f'<small class="dg-context">{context}</small><br>{question}'


def without_context(question: str) -> str:
    """A question's field without the context `with_context` put above it."""
    return CONTEXT_RE.sub("", question, count=1)


def with_version_line(description: str, version: str) -> str:
    """A deck's description (HTML) with the version of the package that delivered it under it."""
    return description + f'\n<p class="dg-version">Version {version}</p>'
