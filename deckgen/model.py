"""The deckgen note type: its id, field and template names are frozen forever.

Anki matches a note type by id and compares field and template names and
counts. Changing any of them makes Anki fork the note type on the next import
and leaves every existing note "conflicting", never updated again, as
measured in a real collection; `plan` refuses such a change. CSS and template *text* may change; the
note type's mtime must then move forward so Anki applies it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

# Derived once from "deckgen basic note type" and frozen: never recompute or change it.
BASIC_MODEL_ID = 1834113584
BASIC_MODEL_NAME = "deckgen Basic"
FIELDS = ("Question", "Answer", "Source", "Status")
TEMPLATE_NAME = "Recall"

FRONT = """\
{{#Status}}<div class="dg-status">{{Status}}</div>{{/Status}}
<div class="dg-question">{{Question}}</div>
"""

BACK = """\
{{FrontSide}}
<hr id="answer">
<div class="dg-answer">{{Answer}}</div>
<div class="dg-meta">{{#Tags}}<span class="dg-tags">{{Tags}}</span>{{/Tags}} <span class="dg-source">{{Source}}</span></div>
"""

CSS = """\
.card {
  font-family: -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC",
    "Microsoft YaHei", sans-serif;
  font-size: 18px;
  line-height: 1.6;
  text-align: left;
  color: #1f2328;
  background-color: #ffffff;
  max-width: 42em;
  margin: 0 auto;
  padding: 0 12px;
  overflow-wrap: anywhere;
}
.card.nightMode { color: #e6edf3; background-color: #1e1f22; }
.dg-question { font-weight: 600; font-size: 1.1em; }
.dg-answer ul, .dg-answer ol { padding-left: 1.4em; }
.dg-answer table { border-collapse: collapse; }
.dg-answer th, .dg-answer td { border: 1px solid #8884; padding: 2px 8px; }
.dg-answer pre { overflow-x: auto; padding: 8px; background: #8881; border-radius: 4px; }
.dg-answer code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em; }
.dg-meta { margin-top: 1.5em; font-size: 0.75em; opacity: 0.6; }
.dg-status { color: #b42318; font-weight: 600; }
.card.nightMode .dg-status { color: #ff8a80; }
"""


@dataclass(frozen=True)
class NoteType:
    """What the writer needs to emit a note type; `fingerprint` changes with CSS or templates."""

    model_id: int
    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, front, back)
    css: str

    @property
    def fingerprint(self) -> str:
        """Hash of everything Anki stores for the note type."""
        payload = json.dumps([self.model_id, self.name, self.fields, self.templates, self.css], sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


BASIC = NoteType(model_id=BASIC_MODEL_ID, name=BASIC_MODEL_NAME, fields=FIELDS,
                 templates=((TEMPLATE_NAME, FRONT, BACK),), css=CSS)
