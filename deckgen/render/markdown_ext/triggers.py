"""Each text is tried only against the inline patterns that can match in it, with the very same results.

Python-Markdown tries every inline pattern on every piece of text, and most
of an answer's pieces hold none of what most patterns start with: a link needs
a `[`, raw HTML a `<`, an entity a `&`. Before the inline patterns run, the
text they will read (every text and tail of the tree that is not atomic) is
looked at once, and a pattern whose every match holds one of its `TRIGGERS`
is left out when the text holds none of them. Nothing a pattern makes can
bring a trigger in: what it leaves for the patterns after it is part of the
text it matched, and what it stashes is a placeholder of letters and digits.
A pattern not named here is always tried.
"""

from __future__ import annotations

from markdown import Extension, util
from markdown.treeprocessors import InlineProcessor

TRIGGERS: dict[str, tuple[str, ...]] = {
    # Python-Markdown's patterns (the links, images and references as `linear_time` gives them)
    "backtick": ("`",), "escape": ("\\",), "footnote": ("[^",),
    "reference": ("[",), "link": ("[",), "short_reference": ("[",),
    "image_link": ("![",), "image_reference": ("![",), "short_image_ref": ("![",),
    "autolink": ("<",), "automail": ("<",), "html": ("<",), "entity": ("&",), "linebreak": ("  \n",),
    "em_strong": ("*", "_"), "em_strong2": ("_",), "not_strong": ("*", "_"),
    # pymdownx: Mark and Tilde (one delimiter pattern), and MagicLink's e-mail addresses
    "delimiter": ("=", "~"), "magic-mail": ("@",),
}


class TriggeredInlineProcessor(InlineProcessor):
    """Python-Markdown's inline processor, given only the patterns the tree's text can match (see the module)."""

    def __init__(self, md) -> None:
        super().__init__(md)
        self._subsets: dict[tuple[str, ...], util.Registry] = {}

    def run(self, tree, ancestors=None):
        every = self.md.inlinePatterns
        text = "".join(part for element in tree.iter() for part in (element.text, element.tail)
                       if part and not isinstance(part, util.AtomicString))
        every._sort()
        kept = tuple(item.name for item in every._priority
                     if any(trigger in text for trigger in TRIGGERS.get(item.name, ("",))))
        if len(kept) == len(every):
            self.inlinePatterns = every
        else:
            subset = self._subsets.get(kept)
            if subset is None or any(subset[name] is not every[name] for name in kept):
                subset = util.Registry()
                for item in every._priority:  # in the same order: patterns of one priority keep theirs
                    if item.name in kept:
                        subset.register(every[item.name], item.name, item.priority)
                self._subsets[kept] = subset
            self.inlinePatterns = subset
        try:
            return super().run(tree, ancestors)
        finally:
            self.inlinePatterns = every


class TriggeredInlineExtension(Extension):
    """Inline patterns tried only where they can match (see the module)."""

    def extendMarkdown(self, md) -> None:
        md.treeprocessors.register(TriggeredInlineProcessor(md), "inline", 20)  # in place of Python-Markdown's
