"""`$…$`, `$$…$$`, `\\(…\\)` and `\\[…\\]` reach Anki as MathJax `\\(…\\)` / `\\[…\\]`, untouched by Markdown."""

from __future__ import annotations

import html

from markdown import Extension
from markdown.preprocessors import Preprocessor

from ...parse.syntax import math_and_code_spans


class MathPreprocessor(Preprocessor):
    """Stash every math span as raw MathJax text before Markdown sees it."""

    def run(self, lines: list[str]) -> list[str]:
        text, out, start = "\n".join(lines), [], 0
        if "$" not in text and "\\(" not in text and "\\[" not in text:
            return lines  # no math (most texts): nothing to stash
        for span in math_and_code_spans(text):
            if span.kind == "code":
                continue  # left as it is, for Markdown
            tex = html.escape(text[span.inner_start:span.inner_end], quote=False)
            out += [text[start:span.start], self.md.htmlStash.store(rf"\[{tex}\]" if span.display else rf"\({tex}\)")]
            start = span.end
        out.append(text[start:])
        return "".join(out).split("\n")


class MathExtension(Extension):
    """Pass TeX math through to Anki's MathJax untouched."""

    def extendMarkdown(self, md) -> None:
        # After fenced code (25) and raw HTML (20) have been stashed, before anything parses blocks.
        md.preprocessors.register(MathPreprocessor(md), "deckgen_math", 15)
