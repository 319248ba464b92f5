"""Where Python-Markdown reads a text otherwise than CommonMark (GitHub, Obsidian), in ways an author sees.

- Every ASCII punctuation character can be escaped: `\\<expr>` shows `<expr>`,
  `\\$5` shows `$5` (Python-Markdown escapes only some of them).
- An HTML block ends at the first blank line, as CommonMark ends it, so the
  Markdown between `<details><summary>Answer</summary>` and `</details>` is
  Markdown, as GitHub shows it (Python-Markdown would keep all of it raw up
  to the closing tag, `#### Answer` and all).
"""

from __future__ import annotations

import re
import string

from markdown import Extension
from markdown.preprocessors import Preprocessor

# CommonMark's HTML blocks of kind 6: one of these tags opens or closes at the start of a line, and the block
# runs to the first blank line.
BLOCK_TAGS = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|dl|"
    "dt|fieldset|figcaption|figure|footer|form|frame|frameset|h1|h2|h3|h4|h5|h6|head|header|hr|html|iframe|legend|"
    "li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|"
    "tfoot|th|thead|title|tr|track|ul")
HTML_BLOCK_START_RE = re.compile(rf" {{0,3}}</?(?:{BLOCK_TAGS})(?:[ \t/>]|$)", re.IGNORECASE)
TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:[^<>\"']|\"[^\"]*\"|'[^']*')*?(/?)>")
VOID_TAGS = frozenset("area base basefont br col embed frame hr img input link meta param source track wbr".split())


def balanced(html: str) -> bool:
    """Whether every element `html` opens, it also closes, and it closes none it did not open."""
    opened: list[str] = []
    for match in TAG_RE.finditer(html):
        name = match.group(2).lower()
        if name in VOID_TAGS or match.group(3):
            continue
        if not match.group(1):
            opened.append(name)
        elif not opened or opened.pop() != name:
            return False
    return not opened


class HtmlBlockPreprocessor(Preprocessor):
    """Stash, as raw HTML, each HTML block CommonMark ends at a blank line while an element in it is still
    open; Python-Markdown then renders the Markdown after it. A block whose elements all close is left to
    Python-Markdown, which reads it the same."""

    def run(self, lines: list[str]) -> list[str]:
        if not any("<" in line for line in lines):
            return lines
        out: list[str] = []
        index = 0
        while index < len(lines):
            line = lines[index]
            if "<" not in line[:5] or not HTML_BLOCK_START_RE.match(line):
                out.append(line)
                index += 1
                continue
            end = index
            while end < len(lines) and lines[end].strip():
                end += 1
            block = "\n".join(lines[index:end])
            out.extend([self.md.htmlStash.store(block)] if not balanced(block) else lines[index:end])
            index = end
        return out


class CommonMarkExtension(Extension):
    def extendMarkdown(self, md) -> None:
        md.ESCAPED_CHARS = sorted(set(md.ESCAPED_CHARS) | set(string.punctuation))
        # After raw angles are hidden (20.5), before Python-Markdown's own raw HTML blocks (20).
        md.preprocessors.register(HtmlBlockPreprocessor(md), "deckgen_html_blocks", 20.4)
