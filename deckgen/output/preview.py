"""One self-contained HTML page per deck showing every card, front and back, with the deck's real CSS.

Nothing on the page comes from the network: images are inlined, and math,
which Anki typesets with its own MathJax, is shown as its TeX source.
"""

from __future__ import annotations

import html
import re

from ..plan.model import VersionPlan
from ..render.anki_cloze import ClozeField, filled
from ..render.media import data_uri, read_named

SECTION_RE = re.compile(r"\{\{#(\w+)\}\}(.*?)\{\{/\1\}\}", re.DOTALL)
FIELD_RE = re.compile(r"\{\{(cloze:)?(\w+)\}\}")
MATH_RE = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)

PAGE_CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #eef0f3; color: #1f2328; }
body.pv-night { background: #121316; color: #e6e8eb; color-scheme: dark; }
.pv-bar { position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center;
  padding: 10px 14px; background: inherit; border-bottom: 1px solid #8884; }
.pv-bar h1 { font-size: 17px; margin: 0; flex: 1 1 100%; }
.pv-bar h1 small { font-weight: normal; opacity: 0.7; }
.pv-bar input[type=search], .pv-bar select { font: inherit; padding: 3px 6px; max-width: 100%; min-width: 0; }
.pv-bar input[type=search] { flex: 1 1 12em; }
.pv-bar select { flex: 0 1 14em; }
main { display: grid; gap: 18px; padding: 14px; margin: 0 auto; max-width: 1200px; }
body.pv-phone main { max-width: 375px; padding: 14px 0; }
.pv-note { display: grid; gap: 10px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); }
.pv-side { min-width: 0; }
.pv-label { font-size: 12px; opacity: 0.7; margin: 0 0 3px 2px; }
.pv-side > .card { margin: 0; padding: 14px; border-radius: 10px; border: 1px solid #8884; min-height: 5em;
  overflow: hidden; }
.pv-note[hidden] { display: none; }
.dg-tex { font-family: ui-monospace, Menlo, Consolas, monospace; font-style: italic; opacity: 0.85; }
div.dg-tex { display: block; text-align: center; margin: 0.5em 0; overflow-x: auto; }
"""

SCRIPT = """
(function () {
  var text = document.getElementById("pv-text"), tag = document.getElementById("pv-tag");
  var night = document.getElementById("pv-night"), phone = document.getElementById("pv-phone");
  var notes = document.querySelectorAll(".pv-note"), count = document.getElementById("pv-count");
  function apply() {
    var words = text.value.toLowerCase().split(/\\s+/).filter(Boolean), wanted = tag.value, shown = 0;
    notes.forEach(function (note) {
      var ok = (!wanted || note.dataset.tags.indexOf(" " + wanted + " ") >= 0) &&
        words.every(function (w) { return note.dataset.text.indexOf(w) >= 0; });
      note.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + notes.length + " notes";
    document.body.classList.toggle("pv-night", night.checked);
    document.body.classList.toggle("pv-phone", phone.checked);
    document.querySelectorAll(".pv-side > .card").forEach(function (card) {
      card.classList.toggle("nightMode", night.checked);
      card.classList.toggle("night_mode", night.checked);
      card.parentElement.classList.toggle("mobile", phone.checked);  // Anki puts it on <html>, above the card
    });
  }
  // The address can preset the view: page.html#night&phone&q=lora&tag=topic::rag
  location.hash.slice(1).split("&").forEach(function (part) {
    var pair = part.split("="), value = decodeURIComponent(pair[1] || "");
    if (pair[0] === "night") { night.checked = true; }
    if (pair[0] === "phone") { phone.checked = true; }
    if (pair[0] === "q") { text.value = value; }
    if (pair[0] === "tag") { tag.value = value; }
  });
  [text, tag, night, phone].forEach(function (el) { el.addEventListener("input", apply); });
  apply();
})();
"""


def preview_page(plan: VersionPlan) -> str:
    """The preview page of one package: every card of its decks."""
    package = plan.package
    images = {ref.name: data_uri(ref, data) for ref, data in read_named(package.media)}
    notes, all_tags = [], set()
    for note in package.notes:
        note_type = package.note_type_of(note)
        fields = dict(zip(note_type.fields, note.fields))
        all_tags.update(note.tags)
        sides = []
        for template, front, back in note_type.templates:
            for ordinal in _cloze_ordinals(fields[note_type.fields[1]]) if note_type.cloze else [None]:
                front_html = fill(front, fields, note.tags, ordinal, reveal=False)
                back_html = fill(back, fields, note.tags, ordinal, reveal=True, front_side=front_html)
                label = template if ordinal is None else f"{template} {ordinal}"
                sides += [_side(f"{label} · front", front_html, images), _side(f"{label} · back", back_html, images)]
        text = html.unescape(re.sub(r"<[^>]+>", " ", " ".join(note.fields[:2]))).lower()
        notes.append(f'<section class="pv-note" data-tags=" {html.escape(" ".join(note.tags))} " '
                     f'data-text="{html.escape(" ".join(text.split()))}">{"".join(sides)}</section>')
    options = "".join(f'<option value="{html.escape(t)}">{html.escape(t)}</option>' for t in sorted(all_tags))
    title = html.escape(plan.name)
    css = package.note_types[0][0].css  # deckgen's note types share their CSS
    type_names = html.escape(", ".join(note_type.name for note_type, _ in package.note_types))
    return f"""<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: preview</title>
<style>{PAGE_CSS}</style>
<style>{css}</style>
</head>
<body>
<header class="pv-bar">
<h1>{title} <small>version {html.escape(plan.version)} · {len(package.notes)} notes · {type_names}</small></h1>
<input type="search" id="pv-text" placeholder="Filter by text" aria-label="Filter by text">
<select id="pv-tag" aria-label="Filter by tag"><option value="">All tags</option>{options}</select>
<label><input type="checkbox" id="pv-night"> Night</label>
<label><input type="checkbox" id="pv-phone"> Phone width</label>
<span id="pv-count"></span>
</header>
<main>
{chr(10).join(notes)}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


def fill(template: str, fields: dict[str, str], tags: tuple[str, ...], ordinal: int | None = None,
         reveal: bool = False, front_side: str = "") -> str:
    """A card side as Anki fills it: {{#Field}}…{{/Field}}, {{Field}}, {{Tags}}, {{FrontSide}}, {{cloze:Field}}."""
    values = {**fields, "Tags": " ".join(tags), "FrontSide": front_side}
    template = SECTION_RE.sub(lambda m: m.group(2) if values.get(m.group(1)) else "", template)

    def field(match: re.Match) -> str:
        value = values.get(match.group(2), "")
        return _cloze(value, ordinal, reveal) if match.group(1) else value

    return FIELD_RE.sub(field, template)


def _cloze(text: str, ordinal: int | None, reveal: bool) -> str:
    return filled(text, ordinal, question=not reveal) if ordinal is not None else text


def _cloze_ordinals(text: str) -> list[int]:
    """The cards Anki makes of a cloze field: one per deletion number."""
    return ClozeField(text).numbers or [1]


def _side(label: str, body: str, images: dict[str, str]) -> str:
    body = MATH_RE.sub(_tex, body)
    body = re.sub(r'src="(dg-[0-9a-f]+\.\w+)"', lambda m: f'src="{images.get(m.group(1), m.group(1))}"', body)
    return f'<div class="pv-side"><div class="pv-label">{html.escape(label)}</div><div class="card">{body}</div></div>'


def _tex(match: re.Match) -> str:
    if match.group(1) is not None:
        return f'<span class="dg-tex">{match.group(1)}</span>'
    return f'<div class="dg-tex">{match.group(2)}</div>'
