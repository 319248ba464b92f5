"""Code blocks highlighted as pymdownx highlights them, without working out for each block what is the same for
all of them.

pymdownx makes a new Pygments formatter and lexer for every code block. Each
formatter works out the style's whole stylesheet (which class and CSS each
token type has), the same for every block of one style and class prefix, and
never read when tokens are written as classes, as deckgen writes them; each
lexer is found by reading Pygments' whole list of lexers for its name (and,
for a name none has, the entry points of every installed package). Together
they took a third of rendering a vault whose answers are mostly code. Here
each stylesheet is worked out once per style and prefix, and each name's
lexer class found once; what is written is the same.
"""

from __future__ import annotations

_SHEETS: dict[tuple, tuple[dict, dict]] = {}
_LEXERS: dict[str, type | None] = {}


def _shared(formatter_class):
    """`formatter_class` (a Pygments HtmlFormatter) with its stylesheet worked out once per style and prefix."""

    class Shared(formatter_class):
        _deckgen_shared = True

        def _create_stylesheet(self) -> None:
            key = (formatter_class, self.style, self.classprefix)
            if key not in _SHEETS:
                super()._create_stylesheet()
                _SHEETS[key] = (self.ttype2class, self.class2style)  # only read from here on
            self.ttype2class, self.class2style = _SHEETS[key]

    Shared.__name__ = Shared.__qualname__ = formatter_class.__name__
    return Shared


def _lexer_by_name(find):
    """Pygments' `get_lexer_by_name` (`find`), each name's lexer class (or its absence) found once."""
    from pygments.util import ClassNotFound

    def get_lexer_by_name(alias, **options):
        key = alias.lower() if isinstance(alias, str) else alias
        if key not in _LEXERS:
            try:
                _LEXERS[key] = type(find(alias))
            except ClassNotFound:
                _LEXERS[key] = None
        if _LEXERS[key] is None:
            raise ClassNotFound(f"no lexer for alias {alias!r} found")
        return _LEXERS[key](**options)

    get_lexer_by_name._deckgen_shared = True
    return get_lexer_by_name


def share_highlighting_setup() -> None:
    """Make pymdownx's highlighting work out each stylesheet and find each lexer once (see the module); done once
    a process."""
    from pymdownx import highlight

    for name in ("BlockHtmlFormatter", "InlineHtmlFormatter"):
        formatter_class = getattr(highlight, name, None)
        if formatter_class is not None and not getattr(formatter_class, "_deckgen_shared", False):
            setattr(highlight, name, _shared(formatter_class))
    find = getattr(highlight, "get_lexer_by_name", None)
    if find is not None and not getattr(find, "_deckgen_shared", False):
        highlight.get_lexer_by_name = _lexer_by_name(find)
