"""The deckgen note types: their ids, field and template names are frozen forever.

Anki matches a note type by id and compares field and template names and
counts. Changing any of them makes Anki fork the note type on the next import
and leaves every existing note "conflicting", never updated again, as
measured in a real collection; `plan` refuses such a change. CSS and
template *text* may change: the note type's mtime then moves forward so
Anki applies it.

Every note type has the same four fields in the same places: what is asked
(Question, or Title for cloze), what answers it (Answer, or Text holding the
cloze deletions), where it comes from (Source), and Status (set only on a
note whose question was removed from the source).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..hashing import digest

# Derived once from "deckgen <kind> note type" and frozen: never recompute or change them.
BASIC_MODEL_ID = 1834113584
REVERSED_MODEL_ID = 1944808859
CLOZE_MODEL_ID = 1466486573

NIGHT = (".card.nightMode", ".card.night_mode", ".nightMode .card", ".night_mode .card")
LIGHT_CODE_STYLE, NIGHT_CODE_STYLE = "default", "github-dark"


CODE_CSS = Path(__file__).with_name("code_colours.css")
"""Pygments' colours for code, made once by `code_css()` and kept as a file: the note type's CSS
must change only when deckgen's authors change it, never because a newer Pygments was installed
(every user would get a 'styling updated' version), and reading a file is quicker than generating."""


def code_css() -> str:
    """Pygments' rules for the light and night code styles, scoped to cards (its unscoped rules dropped).

    `python -c "from deckgen.identify.note_types import code_css; print(code_css(), end='')" > deckgen/identify/code_colours.css`
    """
    from pygments.formatters import HtmlFormatter

    blocks = []
    for style, scopes in ((LIGHT_CODE_STYLE, (".card",)), (NIGHT_CODE_STYLE, NIGHT)):
        prefixes = tuple(f"{scope} .highlight" for scope in scopes)
        rules = HtmlFormatter(style=style).get_style_defs(list(prefixes)).splitlines()
        blocks.append("\n".join(rule for rule in rules if rule.startswith(prefixes)))
    return "\n".join(blocks) + "\n"


CSS = """\
.card {
  --dg-fg: #1f2328; --dg-bg: #ffffff; --dg-muted: #59636e; --dg-border: #d1d9e0;
  --dg-code-bg: #f8f8f8; --dg-accent: #0969da; --dg-mark: #fff1a8; --dg-warn: #b42318;
  --dg-shadow: rgba(0, 0, 0, 0.28); --dg-note: #0969da; --dg-tip: #1a7f37; --dg-caution: #9a6700;
  --dg-danger: #cf222e; --dg-ask: #8250df;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB",
    "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 20px;
  line-height: 1.7;
  text-align: left;
  color: var(--dg-fg);
  background-color: var(--dg-bg);
  overflow-wrap: break-word;
  -webkit-text-size-adjust: 100%;
}
.card.nightMode, .card.night_mode, .nightMode .card, .night_mode .card {
  --dg-fg: #e6e8eb; --dg-bg: #1d1f23; --dg-muted: #9aa3ad; --dg-border: #3d444d;
  --dg-code-bg: #0d1117; --dg-accent: #58a6ff; --dg-mark: #6b5a00; --dg-warn: #ff8a80;
  --dg-shadow: rgba(255, 255, 255, 0.3); --dg-note: #58a6ff; --dg-tip: #3fb950; --dg-caution: #d29922;
  --dg-danger: #f85149; --dg-ask: #a371f7;
  /* Repeated here: Anki's own body.nightMode rule outranks a plain .card rule. */
  color: var(--dg-fg);
  background-color: var(--dg-bg);
}
/* Anki puts "mobile" on <html> (AnkiMobile, AnkiDroid, desktop's phone preview), not on the card's <body>. */
.mobile .card { font-size: 18px; }
.dg-card { max-width: 40rem; margin: 0 auto; padding: 4px 2px; }
.dg-question { font-size: 1.12em; font-weight: 600; line-height: 1.5; }
.dg-card hr#answer { border: 0; border-top: 1px solid var(--dg-border); margin: 1em 0; }
.dg-answer p { margin: 0.5em 0; }
.dg-answer ul, .dg-answer ol { margin: 0.4em 0; padding-left: 1.4em; }
.dg-answer li { margin: 0.2em 0; }
.dg-answer li::marker { color: var(--dg-muted); }
.dg-card a { color: var(--dg-accent); text-decoration: none; overflow-wrap: anywhere; }
.dg-card strong { font-weight: 650; }
.dg-card mark { background: var(--dg-mark); color: inherit; padding: 0 0.15em; border-radius: 3px; }
.dg-card code, .dg-card kbd, .dg-card pre {
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
.dg-card :not(pre) > code {
  font-size: 0.88em; padding: 0.1em 0.35em; border-radius: 4px; background: var(--dg-code-bg);
  overflow-wrap: anywhere;
}
.dg-card kbd {
  font-size: 0.85em; padding: 0.05em 0.4em; border: 1px solid var(--dg-border); border-bottom-width: 2px;
  border-radius: 4px;
}
.dg-card .highlight, .dg-card pre { border-radius: 6px; }
.dg-card pre {
  margin: 0.6em 0; padding: 0.7em 0.9em; font-size: 0.8em; line-height: 1.5;
  overflow-x: auto; white-space: pre; max-width: 100%;
}
.dg-card table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; margin: 0.6em 0; }
/* What scrolls sideways shows that it does: a shadow at each edge with more beyond it (WebKit, as on an
   iPhone, draws no scroll bar at rest), and a thin scroll bar where the engine draws one. */
.dg-card pre, .dg-card .highlight pre, .dg-card table, .dg-card mjx-container {
  --dg-cover: var(--dg-bg);
  background:
    linear-gradient(to right, var(--dg-cover) 30%, transparent) left center / 2.5em 100% no-repeat local,
    linear-gradient(to left, var(--dg-cover) 30%, transparent) right center / 2.5em 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, var(--dg-shadow), transparent) left center / 0.9em 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, var(--dg-shadow), transparent) right center / 0.9em 100% no-repeat scroll;
  background-color: var(--dg-cover);
}
.dg-card pre, .dg-card .highlight pre { --dg-cover: var(--dg-code-bg); }
.dg-card ::-webkit-scrollbar { height: 6px; width: 6px; }
.dg-card ::-webkit-scrollbar-thumb { background: var(--dg-border); border-radius: 3px; }
.dg-card th, .dg-card td { border: 1px solid var(--dg-border); padding: 0.25em 0.6em; vertical-align: top; }
.dg-card th { background: var(--dg-code-bg); }
.dg-card img { max-width: 100%; height: auto; }
.dg-card blockquote { margin: 0.6em 0; padding-left: 0.9em; border-left: 3px solid var(--dg-border); color: var(--dg-muted); }
.dg-card mjx-container[display="true"] { overflow-x: auto; overflow-y: hidden; max-width: 100%; }
/* A long inline formula scrolls within its line instead of widening the card. */
.dg-card mjx-container:not([display="true"]) {
  display: inline-block; max-width: 100%; overflow-x: auto; overflow-y: hidden; vertical-align: middle;
}
/* MathJax's hidden copy for screen readers is as wide as its text, not the formula: left as it is, every
   formula would scroll by a few pixels and show a scroll bar. */
.dg-card mjx-container mjx-assistive-mml { max-width: 100% !important; }
.dg-card del { color: var(--dg-muted); }
.dg-card li.dg-task { list-style: none; margin-left: -1.1em; }
.dg-wikilink { color: var(--dg-accent); }
.dg-embed {
  color: var(--dg-accent); border: 1px dashed var(--dg-border); border-radius: 4px; padding: 0 0.3em;
}
.dg-callout {
  --dg-callout: var(--dg-note);
  margin: 0.7em 0; padding: 0.45em 0.8em; border-left: 4px solid var(--dg-callout); border-radius: 6px;
  background: var(--dg-code-bg);
}
.dg-callout > p, .dg-callout > ul, .dg-callout > ol { margin: 0.3em 0; }
.dg-callout-title { font-weight: 650; color: var(--dg-callout); margin: 0.1em 0 0.3em; }
summary.dg-callout-title { cursor: pointer; }
.dg-callout-tip, .dg-callout-hint, .dg-callout-important, .dg-callout-success, .dg-callout-check,
.dg-callout-done { --dg-callout: var(--dg-tip); }
.dg-callout-warning, .dg-callout-caution, .dg-callout-attention { --dg-callout: var(--dg-caution); }
.dg-callout-danger, .dg-callout-error, .dg-callout-bug, .dg-callout-failure, .dg-callout-fail,
.dg-callout-missing { --dg-callout: var(--dg-danger); }
.dg-callout-question, .dg-callout-help, .dg-callout-faq, .dg-callout-example { --dg-callout: var(--dg-ask); }
.dg-callout-quote, .dg-callout-cite { --dg-callout: var(--dg-muted); }
.dg-card .footnote { font-size: 0.8em; color: var(--dg-muted); }
.dg-card .footnote hr { border: 0; border-top: 1px solid var(--dg-border); }
.dg-card .cloze { font-weight: 650; color: var(--dg-accent); }
.dg-status {
  margin-bottom: 0.8em; padding: 0.35em 0.7em; font-size: 0.75em; color: var(--dg-warn);
  border: 1px solid currentColor; border-radius: 6px;
}
.dg-meta {
  margin-top: 1.8em; padding-top: 0.5em; border-top: 1px dashed var(--dg-border);
  font-size: 0.68em; line-height: 1.5; color: var(--dg-muted);
  display: flex; flex-wrap: wrap; gap: 0.2em 1em; justify-content: space-between;
}
.dg-tags { word-break: break-all; }
""" + CODE_CSS.read_text(encoding="utf-8")

STATUS = '{{#Status}}<div class="dg-status">{{Status}}</div>{{/Status}}\n'
META = ('<div class="dg-meta">{{#Tags}}<span class="dg-tags">{{Tags}}</span>{{/Tags}}'
        '<span class="dg-source">{{Source}}</span></div>\n')


def _card(front: str) -> str:
    return f'<div class="dg-card">\n{STATUS}{front}</div>\n'


def _back(front: str, answer: str) -> str:
    return f'<div class="dg-card">\n{STATUS}{front}<hr id="answer">\n{answer}{META}</div>\n'


def card_template(name: str, question: str, answer: str, cloze: bool = False) -> tuple[str, str, str]:
    """A card's (name, front, back): the front asks `question` (with the deletions of `answer` hidden, on a
    cloze card), the back shows the two."""
    return name, _card(question + answer if cloze else question), _back(question, answer)


QUESTION = '<div class="dg-question">{{Question}}</div>\n'
ANSWER = '<div class="dg-answer">{{Answer}}</div>\n'


@dataclass(frozen=True)
class NoteType:
    """What the writer needs to emit a note type; `fingerprint` changes with CSS or templates."""

    model_id: int
    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, front, back)
    css: str
    cloze: bool = False
    sort_field: int = 0
    """The field Anki sorts the browser by; changing it forces a full sync on every device."""

    @property
    def cloze_fields(self) -> tuple[int, ...]:
        """The fields its cards make deletions of, by index: those its first card's front reads with
        `{{cloze:…}}`, as Anki makes a cloze note's cards (none for a standard note type)."""
        named = re.findall(r"\{\{cloze:([^{}]+?)\}\}", self.templates[0][1]) if self.cloze else []
        return tuple(index for index, field in enumerate(self.fields) if field in named)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Hash of everything Anki stores for the note type (worked out once: a library asks it of every deck)."""
        payload = json.dumps([self.model_id, self.name, self.fields, self.templates, self.css, self.cloze],
                             sort_keys=True)
        return digest(payload, length=16)


BASIC = NoteType(
    model_id=BASIC_MODEL_ID, name="deckgen Basic", fields=("Question", "Answer", "Source", "Status"),
    templates=(card_template("Recall", QUESTION, ANSWER),), css=CSS)
REVERSED = NoteType(
    model_id=REVERSED_MODEL_ID, name="deckgen Basic and reversed", fields=BASIC.fields,
    templates=(card_template("Recall", QUESTION, ANSWER), card_template("Reverse", ANSWER, QUESTION)), css=CSS)
CLOZE = NoteType(
    model_id=CLOZE_MODEL_ID, name="deckgen Cloze", fields=("Title", "Text", "Source", "Status"),
    templates=(card_template("Cloze", '<div class="dg-question">{{Title}}</div>\n',
                             '<div class="dg-answer">{{cloze:Text}}</div>\n', cloze=True),),
    css=CSS, cloze=True)

NOTE_TYPES = {"basic": BASIC, "basic-and-reversed": REVERSED, "cloze": CLOZE}
"""The `cards` setting of a deck names one of these."""
