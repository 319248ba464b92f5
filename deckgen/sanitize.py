"""Keep script out of cards: an allowlist pass over HTML with BeautifulSoup.

Anki runs a card's JavaScript, so Markdown from anywhere must not carry
script into a collection. Everything not on the allowlist goes: elements
that can run or embed content with all they contain, other unknown
elements keeping their text, attributes outside the list (every `on…`
handler among them), and URLs whose scheme is not http(s), mailto or a
relative path.
"""

from __future__ import annotations

import re

from .media import not_included_html

ALLOWED_TAGS = frozenset("""
    a abbr b bdi bdo blockquote br caption center cite code col colgroup dd del details dfn div dl dt em
    figcaption figure font h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q rp rt ruby s samp small
    span strike strong sub summary sup table tbody td tfoot th thead tr tt u ul var wbr
""".split())
DROPPED_WITH_CONTENT = frozenset("""
    script style iframe frame frameset object embed applet noscript template svg math form input button
    textarea select option base link meta title head audio video source track canvas portal
""".split())
ALLOWED_ATTRIBUTES = frozenset("""
    class title alt href src width height colspan rowspan align valign start type reversed lang dir open
    color face size span cite datetime id name abbr scope headers style
""".split())
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
SAFE_URL_RE = re.compile(r"^(?:https?:|mailto:|#|[^:]*$|[^:]*[/?#])", re.IGNORECASE)
SAFE_IMAGE_DATA_RE = re.compile(r"^data:image/(?:png|gif|jpe?g|webp);base64,", re.IGNORECASE)
UNSAFE_STYLE_RE = re.compile(r"expression\s*\(|url\s*\(|javascript:|@import|behavior\s*:", re.IGNORECASE)
INVISIBLE_RE = re.compile(r"[\x00-\x20\x7f]+")
# Text with none of these cannot carry HTML or a script URL through Markdown; it skips the pass. Browsers take
# tabs and line ends out of a URL (`javas<newline>cript:` is `javascript:`), so they are taken out to look.
NEEDS_SANITIZING_RE = re.compile(r"<[A-Za-z!/?]|&|script\s*:|data\s*:", re.IGNORECASE)
_URL_INVISIBLE = dict.fromkeys(map(ord, "\t\n\r"))
# MathJax commands that make links or set styles, classes, ids or data (and \csname, which could spell them):
# Anki's MathJax honours them all (it has no `safe` extension), and TeX is too rich for a pattern to tell a
# harmless use from a crafted one (macros, nested braces, comments). They are broken wherever MathJax would
# read them: outside <pre> and <code>, which it skips, as it skips code samples that show TeX.
UNSAFE_TEX_RE = re.compile(r"\\(href|url|style|class|cssId|data|csname)(?![A-Za-z])")
_CODE_RE = re.compile(r"<(pre|code)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


def needs_sanitizing(markdown_text: str) -> bool:
    if NEEDS_SANITIZING_RE.search(markdown_text):
        return True
    return ("<" in markdown_text or ":" in markdown_text) and \
        NEEDS_SANITIZING_RE.search(markdown_text.translate(_URL_INVISIBLE)) is not None


def break_unsafe_tex(html_text: str) -> tuple[str, tuple[str, ...]]:
    """The HTML with each MathJax command of UNSAFE_TEX_RE outside code made harmless (a zero-width space
    after its backslash: MathJax then reports an unknown command instead of making a link), and what went."""
    if "\\" not in html_text or not UNSAFE_TEX_RE.search(html_text):
        return html_text, ()
    found = set()

    def broken(match: re.Match) -> str:
        found.add(f"\\{match.group(1)} in math")
        return "\\\u200b" + match.group(1)

    out, last = [], 0
    for code in _CODE_RE.finditer(html_text):
        out += [UNSAFE_TEX_RE.sub(broken, html_text[last:code.start()]), code.group()]
        last = code.end()
    out.append(UNSAFE_TEX_RE.sub(broken, html_text[last:]))
    return "".join(out), tuple(sorted(found))


def sanitize(html: str, local_image=None) -> tuple[str, tuple[str, ...]]:
    """The HTML with everything not allowed removed, and a description of what went (sorted, unique).

    `local_image(src)`, if given, is asked about each kept image (written as
    raw HTML) and returns the `src` to use instead, or None when the image is
    not bundled: it then gives way to its alt text and a mark.
    """
    from bs4 import BeautifulSoup, Comment  # only answers that need it pay for loading it
    from bs4.element import PreformattedString

    soup = BeautifulSoup(html, "html.parser")
    removed: set[str] = set()
    # Comments, CDATA, declarations, processing instructions: a browser ends all but comments at their first
    # ">", so <![CDATA[ x><img onerror=…>]]> would hand it a live image. None is shown: they go.
    for special in soup.find_all(string=lambda s: isinstance(s, PreformattedString)):
        if not isinstance(special, Comment):
            removed.add(f"<!{type(special).__name__}>")
        special.extract()
    for element in list(soup.find_all(True)):
        # Asked through its property, a live element would search its whole subtree for "_decomposed".
        if element.__dict__.get("_decomposed"):
            continue
        name = element.name.lower()
        if name in DROPPED_WITH_CONTENT:
            removed.add(f"<{name}>")
            element.decompose()
            continue
        if name not in ALLOWED_TAGS:
            removed.add(f"<{name}>")
            element.unwrap()
            continue
        for attribute, value in list(element.attrs.items()):
            reason = _unsafe_attribute(name, attribute.lower(), value)
            if reason:
                removed.add(reason)
                del element.attrs[attribute]
        if local_image and name == "img" and isinstance(element.get("src"), str):
            src = local_image(element["src"])
            if src is None:
                alt = element.get("alt", "")
                element.replace_with(BeautifulSoup(not_included_html(alt if isinstance(alt, str) else ""),
                                                   "html.parser"))
            else:
                element["src"] = src
    return str(soup), tuple(sorted(removed))


def _unsafe_attribute(tag: str, attribute: str, value) -> str | None:
    if attribute.startswith("on"):
        return f"{attribute}= handler"
    if attribute not in ALLOWED_ATTRIBUTES:
        return f"{attribute}= attribute"
    text = " ".join(value) if isinstance(value, list) else str(value)
    if attribute in URL_ATTRIBUTES:
        url = INVISIBLE_RE.sub("", text)
        if not (SAFE_URL_RE.match(url) or (tag == "img" and attribute == "src" and SAFE_IMAGE_DATA_RE.match(url))):
            return f"{url.split(':', 1)[0].lower()}: URL"
    if attribute == "style" and UNSAFE_STYLE_RE.search(text):
        return "unsafe style"
    return None
