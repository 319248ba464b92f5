"""The note types: frozen names and ids, and CSS that changes only when we change it."""

import re

from deckgen.identify.note_types import BASIC, CLOZE, CODE_CSS, NOTE_TYPES, REVERSED, code_css


def test_names_and_ids_are_frozen():
    assert [(t.model_id, t.name, t.fields, tuple(n for n, _, _ in t.templates)) for t in NOTE_TYPES.values()] == [
        (1834113584, "deckgen Basic", ("Question", "Answer", "Source", "Status"), ("Recall",)),
        (1944808859, "deckgen Basic and reversed", ("Question", "Answer", "Source", "Status"), ("Recall", "Reverse")),
        (1466486573, "deckgen Cloze", ("Title", "Text", "Source", "Status"), ("Cloze",)),
    ]
    assert (BASIC, REVERSED, CLOZE) == tuple(NOTE_TYPES.values())


def test_the_kept_code_colours_cover_every_token_class_pygments_styles():
    def selectors(css: str) -> set[str]:
        return set(re.findall(r"^([^{]+)\{", css, re.MULTILINE))

    assert selectors(code_css()) <= selectors(CODE_CSS.read_text(encoding="utf-8"))
    assert CODE_CSS.read_text(encoding="utf-8") in BASIC.css


def test_night_mode_rules_outrank_ankis_own():
    # Anki's reviewer styles body.nightMode; a .card.nightMode rule must set the colours itself.
    night = re.search(r"\.card\.nightMode[^{]*\{([^}]*)\}", BASIC.css).group(1)
    assert "background-color:" in night and "color:" in night
