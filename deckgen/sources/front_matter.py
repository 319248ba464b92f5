"""YAML front matter (`---` … `---` at the top of a note, as Obsidian writes it): read safely, never shown.

Its `tags` become the note's tags (`a/b` is `a::b`), its `deckgen` table may
hold the deck's settings, and the rest (Obsidian's properties) is left alone.
It is read with PyYAML's safe loader, without aliases (`*name`, which can
multiply a few bytes into gigabytes), and at most 64 KiB of it. The lines it
took are kept as blank lines, so every other line keeps its number.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Diagnostic
from ..names import path_tag

LIMIT = 64 * 1024
END_RE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class FrontMatter:
    """What a note's front matter says, and the text with it blanked out."""

    text: str
    tags: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)
    """Its `deckgen` table."""
    diagnostics: tuple[Diagnostic, ...] = ()
    plugin: str | None = None
    """The Obsidian plugin whose data the file holds, as its front matter says (see `PLUGIN_KEYS`)."""


# Front matter keys by which Obsidian plugins mark the Markdown files they keep their data in: a drawing, a board.
PLUGIN_KEYS = {"excalidraw-plugin": "an Excalidraw drawing", "kanban-plugin": "a Kanban board"}
PLUGIN_SUFFIXES = {".excalidraw.md": "an Excalidraw drawing"}


def plugin_file(name: str, front: FrontMatter | None) -> str | None:
    """What plugin's data the file `name` holds (`an Excalidraw drawing`), if any: by its name or front matter."""
    return next((kind for suffix, kind in PLUGIN_SUFFIXES.items() if name.endswith(suffix)),
                front.plugin if front is not None else None)


def front_matter(path: Path, text: str) -> FrontMatter:
    """Split the front matter off `text` (a deck's Markdown); a text without any is returned as it is."""
    if not text.startswith("---\n"):
        return FrontMatter(text)
    end = END_RE.search(text, 4)
    if end is None:
        return FrontMatter(text)  # a rule, not front matter
    block, rest = text[4:end.start()], text[end.end():]
    blanked = "\n" * (block.count("\n") + 1) + rest
    if len(block) > LIMIT:
        return FrontMatter(blanked, diagnostics=(Diagnostic(path, 1, (
            f"front matter longer than {LIMIT // 1024} KiB: ignored"), code="front-matter"),))
    try:
        data = _load(block)
    except Exception as err:  # YAML's errors (and a RecursionError) all say the same to the author
        line = getattr(getattr(err, "problem_mark", None), "line", -1) + 2
        why = ("it holds a template's placeholder ({{…}}): a template file? leave its folder out with exclude in "
               "deckgen.toml") if "{{" in block else getattr(err, "problem", None) or err
        return FrontMatter(blanked, diagnostics=(Diagnostic(path, max(line, 1), (
            f"front matter is not valid YAML, so it is ignored: {why}"), code="front-matter"),))
    if not isinstance(data, dict):
        return FrontMatter(blanked) if data is None else FrontMatter(blanked, diagnostics=(Diagnostic(
            path, 1, "front matter is not a table of properties: ignored", code="front-matter"),))
    found: list[Diagnostic] = []
    settings = data.get("deckgen") or {}
    if not isinstance(settings, dict):
        found.append(Diagnostic(path, 1, "the front matter's deckgen: must be a table of deck settings",
                                "error", "invalid-settings"))
        settings = {}
    plugin = next((name for key, name in PLUGIN_KEYS.items() if key in data), None)
    return FrontMatter(blanked, _tags(data.get("tags")), settings, tuple(found), plugin)


def _tags(value) -> tuple[str, ...]:
    """Obsidian's `tags` property: a list, or one string of tags separated by spaces or commas."""
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value)
    if not isinstance(value, list):
        return ()
    tags = {path_tag(str(tag).strip().lstrip("#")) for tag in value}
    return tuple(sorted(tag for tag in tags if tag))


def _load(block: str):
    import yaml

    return yaml.load(block, Loader=_loader())  # noqa: S506 - a SafeLoader


@functools.cache
def _loader():
    """PyYAML's SafeLoader, refusing aliases (made once, on first use: most notes have no front matter)."""
    import yaml

    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
            return super().compose_node(parent, index)

    return NoAliases
