"""Local images point at content-hashed media names; an image that may not be bundled gives way to its alt text."""

from __future__ import annotations

import re
from pathlib import Path

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

from ..media import REMOTE, Images, MediaResolver, not_included_html

WIDTH_RE = re.compile(r"^(.*?)\|\s*(\d{1,4})(?:\s*x\s*(\d{1,4}))?\s*$", re.DOTALL)


class MediaRewriter(Treeprocessor):
    """Point every local image at its name in Anki's media folder: a hash of its bytes.

    Two `img.png` from different folders get different names, and a changed
    image gets a new name, so Anki picks it up. An image that is not bundled
    (outside the notes, not an image, missing: see `media`) becomes its alt
    text with a mark. Each image met is recorded in `images.found`.
    """

    def __init__(self, md, images: Images) -> None:
        super().__init__(md)
        self.images = images

    def run(self, root) -> None:
        if next(root.iter("img"), None) is None:
            return  # most texts show no image
        for parent in list(root.iter()):
            for index, img in reversed(list(enumerate(parent))):
                if img.tag == "img":
                    self._rewrite(parent, index, img)

    def _rewrite(self, parent, index: int, img) -> None:
        sized = WIDTH_RE.match(img.get("alt", ""))
        if sized:  # ![alt|500](x.png), ![alt|500x300](x.png): Obsidian's way to size an image
            img.set("alt", sized.group(1).strip())
            img.set("width", sized.group(2))
            if sized.group(3):
                img.set("height", sized.group(3))
        ref = self.images.resolver.resolve(img.get("src", ""), self.images.folder)
        if ref is None:
            return  # a data: URL, for the sanitizer to judge
        self.images.found.append(ref)
        if ref.name or ref.problem == REMOTE:
            img.set("src", ref.name or ref.src)  # its media name; an http(s) image stays where it is
            return
        # Not bundled: the image's place holds its alt text and the mark, as raw HTML Markdown leaves alone.
        text = self.md.htmlStash.store(not_included_html(img.get("alt", ""))) + (img.tail or "")
        if index == 0:
            parent.text = (parent.text or "") + text
        else:
            parent[index - 1].tail = (parent[index - 1].tail or "") + text
        parent.remove(img)


class MediaExtension(Extension):
    """Rewrite local images to media names (see `MediaRewriter`), as `images` (see `media.Images`) says: by
    default none bundled, relative paths starting at the current folder."""

    def __init__(self, images: Images | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.images = images or Images(MediaResolver(Path(".")))

    def extendMarkdown(self, md) -> None:
        md.registerExtension(self)
        md.treeprocessors.register(MediaRewriter(md, self.images), "deckgen_media", 1)

    def reset(self) -> None:
        self.images.found = []
