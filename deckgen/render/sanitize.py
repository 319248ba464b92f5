"""Keep script, and anything that loads, out of cards: every field and description is cleaned by one allowlist.

Anki runs a card's JavaScript and loads what its HTML points at, so the HTML
made from notes written by anyone is cleaned after rendering, always, with
nh3 (the binding of Rust's ammonia, which parses HTML as browsers do):

- elements outside ALLOWED_TAGS go (those of CLEANED_WITH_CONTENT with all
  they hold, others keeping their text); attributes outside ATTRIBUTES go,
  every `on…` handler and `name` among them; an `id` is prefixed (`dg-`), so
  that no element can take the place of something the page's script uses
  (`<img id="getElementById">`);
- a link is kept only to `http:`, `https:` or `mailto:` (or to a footnote
  on the card), an image only from a bundled media file (see `media`), an
  `http(s):` address, or a `data:` URL holding a raster image;
- a `style` keeps only the properties of STYLE_PROPERTIES, its values read
  by a real CSS tokenizer (tinycss2: escapes decoded), and nothing that loads
  (`url()`, `image-set()`) or calls any function but colours;
- a `class` that would make MathJax read TeX inside code goes;
- then, on the cleaned HTML (whose text is what the browser shows: entities
  and comments are gone), MathJax commands that make links, styles,
  attributes or load code are broken (`break_unsafe_tex`), and Anki's own
  field syntax (`[sound:…]`, `[latex]`, …) is made text (`anki_syntax_as_text`).

Whatever is removed is said: `clean_html` returns a description of each
thing, which the renderer turns into a warning at its line.
"""

from __future__ import annotations

import functools
import html
import re
from collections import Counter
from collections.abc import Callable

from . import anki_cloze
from .anki_cloze import IMAGE_OCCLUSION
from .media import DRIVE_PATH_RE, URL_SCHEME_RE, not_included_html

ALLOWED_TAGS = frozenset("""
    a abbr b bdi bdo blockquote br caption center cite code col colgroup dd del details dfn div dl dt em
    figcaption figure font h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q rp rt ruby s samp small
    span strike strong sub summary sup table tbody td tfoot th thead tr tt u ul var
""".split())
"""Not `wbr`: MathJax reads the text on both sides of it as one, so `\\hr<wbr>ef` would be `\\href` to it."""
CLEANED_WITH_CONTENT = frozenset("""
    script style iframe frame frameset object embed applet noscript noembed noframes template svg math
    base link meta title head audio video source track canvas portal xmp
""".split())
"""Elements that run, embed or load something, removed with all they hold. Any other element outside
ALLOWED_TAGS (a form, a button, `<cliente>` in a sentence) goes, keeping its text."""
ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir", "style", "id", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope", "abbr"},
    "col": {"span", "align", "valign"}, "colgroup": {"span", "align", "valign"},
    "ol": {"start", "type", "reversed"}, "ul": {"type"}, "li": {"value"},
    "details": {"open"}, "font": {"color", "face", "size"}, "del": {"datetime"}, "ins": {"datetime"},
}
ID_PREFIX = "dg-"
LINK_SCHEMES = ("http:", "https:", "mailto:")
# What a style may say: text and its colours, boxes' sizes. Nothing that places an element over others.
STYLE_PROPERTIES = frozenset("""
    color background-color font-weight font-style font-variant font-size font-family line-height letter-spacing
    text-align text-decoration text-decoration-line text-decoration-color text-decoration-style text-transform
    vertical-align white-space width height max-width max-height min-width min-height border-collapse
""".split())
STYLE_FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla", "hwb", "calc", "min", "max", "clamp", "var"})
# What in a style loads (functions) or places an element over others (properties): said as unsafe when removed.
LOADING_FUNCTIONS = frozenset({"url", "image", "image-set", "-webkit-image-set", "cross-fade", "element", "expression",
                               "paint", "src"})
PLACING_PROPERTIES = frozenset({"position", "z-index", "inset", "top", "left", "right", "bottom", "transform",
                                "behavior", "-moz-binding", "content", "cursor"})
STYLE_TOKENS = frozenset({"whitespace", "ident", "number", "percentage", "dimension", "hash", "string", "literal",
                          "comment"})
# MathJax reads TeX inside an element of this class even where it skips the rest (code, pre).
MATHJAX_PROCESS_CLASS_RE = re.compile(r"^(?:mathjax|tex2jax)_process$", re.IGNORECASE)
# The TeX commands of MathJax 3.2.2 (tex-chtml-full, as Anki ships it: every package but textmacros, with
# `require`) that set a link, a style, a class, an id or another attribute, show an image, or load code: \href,
# \class, \style, \cssId; \mmlToken (any attribute, and an <img> through mglyph); \bbox, \unicode's font,
# \fcolorbox and \definecolor (style strings); \enclose (data- attributes); \label, \ref and \eqref (ids and
# links); \require (loads packages, and a script for a name it does not know). Also \url, and those MathJax 4
# adds (\data, \U, \char, \setOptions, \Require) or that could spell a name (\csname). Anki's MathJax honours
# them all (it has no `safe` extension), and TeX is too rich for a pattern to tell a harmless use from a crafted
# one (macros, nested braces, comments). They are broken wherever MathJax would read them: outside <pre> and
# <code>, which it skips (a class `mathjax_process` that would make it read them is removed), as it skips code
# samples that show TeX. MathJax reads the text the browser shows, which cleaned HTML is (entities decoded,
# comments gone, no <wbr>, across which MathJax would join text).
UNSAFE_TEX = ("href", "url", "style", "class", "cssId", "mmlToken", "bbox", "unicode", "fcolorbox", "definecolor",
              "enclose", "label", "ref", "eqref", "require", "data", "U", "char", "setOptions", "Require", "csname")
UNSAFE_TEX_RE = re.compile(r"\\(" + "|".join(UNSAFE_TEX) + r")(?![A-Za-z])")
_CODE_RE = re.compile(r"<(pre|code)\b[^>]*>.*?</\1>", re.DOTALL)
# Anki's own syntax in a field's HTML, which it acts on wherever it stands (text, attributes, code): a sound to
# play from the media folder, text to speak, TeX for desktop to run through LaTeX, a box to type an answer in.
# deckgen bundles no sound and writes none of these: every "[" is written as an entity, which no pattern of
# Anki's matches (see `anki_syntax_as_text`); these are the kinds a warning names.
ANKI_SYNTAX_RE = re.compile(r"\[(sound|anki|latex|\$\$?|\[type)[:\]]", re.IGNORECASE)
_ANGLE_IN_VALUE_RE = re.compile(r'="[^"<>]*+[<>]')
# Every "[" but MathJax's `\[` (Anki loads MathJax only for a card whose HTML holds `\[` or `\(` as written).
_BRACKET_RE = re.compile(r"(?<!\\)\[|\[(?=(?:sound|anki|latex|\$\$?|\[type)[:\]])", re.IGNORECASE)
# Cleaned HTML, as nh3 writes it: every attribute value in double quotes, with `"` and `&` as entities.
_TAG_RE = re.compile(r'<([a-z][a-z0-9]*+)((?:\s++[^\s=>/]++(?:="[^"]*+")?+)*+)\s*+/?>')
_ATTRIBUTE_RE = re.compile(r'([^\s=>/]++)(?:="([^"]*+)")?+')
_LINK_RE = re.compile(r'<a((?:\s++[^\s=>/]++(?:="[^"]*+")?+)*+)\s*+>|</a>')
# Any HTML, as written: only for saying what was removed (the cleaning itself is nh3's). Every pattern here runs
# in C, where the time limit cannot reach: each is linear (possessive, no "<" inside a tag), whatever the text.
_ROUGH_TAG_RE = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)")
_ROUGH_ATTRIBUTE_RE = re.compile(r"""[\s"'/]([A-Za-z_:][-A-Za-z0-9_:.]*+)\s*+=""")
_ANY_TAG_RE = re.compile(r"""<([A-Za-z][^\s/<>]*+)((?:[^<>"']++|"[^"<]*+"|'[^'<]*+')*+)>""")
_ANY_ATTRIBUTE_RE = re.compile(r"""([^\s"'<>/=]++)(?:\s*+=\s*+("[^"<]*+"|'[^'<]*+'|[^\s"'<>`]++))?+""")
NOT_INCLUDED = "dg-not-included-"

LocalImage = Callable[[str], "str | None"]
"""Asked about each image's `src`: the `src` to use instead (its media name), or None when it is not bundled."""


class _Cleaning:
    """One text's cleaning: nh3's attribute filter, which also notes what it removes and which images stay out."""

    def __init__(self, local_image: LocalImage | None):
        self.local_image = local_image
        self.removed: set[str] = set()
        self.rejected: Counter = Counter()
        """The attributes the filter removed (by name), said in `removed` already."""
        self.not_included = 0

    def attribute(self, tag: str, attribute: str, value: str) -> str | None:
        kept = self._attribute(tag, attribute, value)
        if kept is None:
            self.rejected[attribute] += 1
        return kept

    def _attribute(self, tag: str, attribute: str, value: str) -> str | None:
        if attribute == "style":
            cleaned, dropped = clean_style(value)
            self.removed.update(dropped)
            return cleaned or None
        if attribute == "class":
            tokens = value.split()
            kept = [token for token in tokens if not MATHJAX_PROCESS_CLASS_RE.match(token)]
            if kept == tokens:
                return value
            self.removed.update(f"class {token}" for token in tokens if token not in kept)
            return " ".join(kept) or None
        if attribute == "href":
            return self.link(value)
        if attribute == "src" and tag == "img":
            return self.image(value)
        return value

    def link(self, url: str) -> str | None:
        if url.startswith("#"):  # a footnote, the only place on a card with an id: its id is prefixed (ID_PREFIX)
            # A link to a heading of the page the note came from ("Back to top") goes nowhere on a card: its text stays.
            return "#" + ID_PREFIX + url[1:] if url.startswith(("#fn:", "#fnref:")) else None
        if url.lower().startswith(LINK_SCHEMES):  # nh3 has read the scheme as browsers do
            return url
        if url.startswith("//"):  # a link to another host, with the card's own scheme, which is no web scheme in
            return "https:" + url  # every Anki (a file, an app's own): the web's, said
        if not URL_SCHEME_RE.match(url) or DRIVE_PATH_RE.match(url):
            return None  # another note or file (`other.md`, C:/…): no card can open it, the link's text stays
        self.removed.add(f"link to {_shown(url)}")
        return None

    def image(self, src: str) -> str | None:
        if src.lstrip().lower().startswith("data:"):  # bytes no check has seen (see `media`): only a file is
            self.removed.add("data: image (save it as a file in the notes folder)")
            return self.left_out()
        if self.local_image is None:
            return src if src.lower().startswith(("http:", "https:")) else None
        local = self.local_image(src)
        if local is not None and local.startswith("//"):  # another host, with the card's own scheme: the web's, said
            return "https:" + local if local[2:3] not in ("", "/", "\\") else self.left_out()
        return local if local is not None else self.left_out()

    def left_out(self) -> str:
        """The `src` of an image that is not bundled, which its alt text and a mark then stand for."""
        self.not_included += 1
        return f"{NOT_INCLUDED}{self.not_included}"


def _shown(url: str) -> str:
    """A URL as a warning names it: its scheme, or (with none) itself, shortened."""
    scheme = re.match(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):", url)
    if scheme:
        return f"{scheme.group(1).lower()}:"
    return url if len(url) <= 40 else url[:39] + "…"


@functools.lru_cache(maxsize=4096)
def clean_style(style: str) -> tuple[str, tuple[str, ...]]:
    """A `style` attribute's value with only allowed declarations, and what went; unchanged when all stay."""
    import tinycss2

    kept, dropped = [], []
    for item in tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True):
        if item.type != "declaration":
            dropped.append("CSS rules in a style")
            continue
        problem = _declaration_problem(item)
        if problem:
            dropped.append(problem)
        else:
            kept.append(item)
    if not dropped:
        return style, ()
    text = "; ".join(f"{d.name}: {tinycss2.serialize(d.value).strip()}{' !important' if d.important else ''}"
                     for d in kept)
    return text, tuple(sorted(set(dropped)))


def _declaration_problem(declaration) -> str | None:
    for token in _flat(declaration.value):  # what loads, first: it is said as such, whatever the property
        if token.type == "url" or (token.type == "function" and token.lower_name not in STYLE_FUNCTIONS):
            name = "url" if token.type == "url" else token.lower_name
            return f"{name}() in a style"
    if declaration.lower_name not in STYLE_PROPERTIES or any(
            token.type not in STYLE_TOKENS and token.type != "function" for token in _flat(declaration.value)):
        return f"{declaration.lower_name} in a style"
    return None


def _flat(tokens):
    for token in tokens:
        yield token
        if token.type == "function":
            yield from _flat(token.arguments)


def clean_html(html_text: str, local_image: LocalImage | None = None) -> tuple[str, tuple[str, ...]]:
    """`html_text` cleaned (see the module), and a description of what went (sorted, unique).

    `local_image(src)`, if given, is asked about each image's `src` (see
    LocalImage): an image that is not bundled gives way to its alt text and a
    mark.
    """
    cleaning = _Cleaning(local_image)
    cleaned = _cleaner().clean(html_text, cleaning)
    removed = cleaning.removed | _gone(html_text, cleaned, cleaning.rejected)
    if cleaning.not_included:
        cleaned = _TAG_RE.sub(_not_included, cleaned)
    if "<a" in cleaned:
        cleaned = _links_without_address(cleaned)
    cleaned, made_inert = inert(_angles_escaped(cleaned))
    return cleaned, tuple(sorted(removed | set(made_inert)))


class _Cleaner:
    """An nh3 cleaner, made once (making one costs more than cleaning a text), whose attribute filter is the
    cleaning of the text at hand."""

    def __init__(self) -> None:
        import threading

        import nh3

        self._current = threading.local()
        self._nh3 = nh3.Cleaner(
            tags=ALLOWED_TAGS, clean_content_tags=CLEANED_WITH_CONTENT, attributes=ATTRIBUTES,
            attribute_filter=self._filter, url_schemes={scheme.rstrip(":") for scheme in LINK_SCHEMES} | {"data"},
            link_rel=None, strip_comments=True, id_prefix=ID_PREFIX)

    def _filter(self, tag: str, attribute: str, value: str) -> str | None:
        if attribute == "class" and "_process" not in value.lower():
            return value  # most attributes are classes (code has one a word): quickly
        return self._current.cleaning.attribute(tag, attribute, value)

    def clean(self, html_text: str, cleaning: _Cleaning) -> str:
        self._current.cleaning = cleaning
        try:
            return self._nh3.clean(html_text)
        finally:
            self._current.cleaning = None


@functools.cache
def _cleaner() -> _Cleaner:
    return _Cleaner()


UNSAFE, SYNTAX, UNKNOWN = "unsafe-html", "anki-syntax", "unknown-html"


def kind_of(removed: str) -> str:
    """What one thing `clean_html` says it removed is, by diagnostic code: UNSAFE (it would run, load, or take
    over the page), SYNTAX (Anki's own syntax, shown as text) or UNKNOWN (HTML no card shows, harmless)."""
    if removed.endswith(" shown as text"):
        return SYNTAX
    tag = re.fullmatch(r"<([^\s<>]+)>", removed)
    if tag:
        return UNSAFE if tag.group(1) in CLEANED_WITH_CONTENT else UNKNOWN
    if removed.endswith("= attribute"):
        return UNSAFE if removed.startswith(("name=", "form", "srcdoc=")) else UNKNOWN
    style = re.fullmatch(r"([\w-]+)(\(\))? in a style", removed)
    if style:
        return UNSAFE if style.group(1) in (LOADING_FUNCTIONS if style.group(2) else PLACING_PROPERTIES) else UNKNOWN
    return UNSAFE


def written_as(removed: str) -> str:
    """A pattern for where the Markdown holds one thing `clean_html` says it removed: where a warning points. A
    scheme, a style's function or a TeX command may be written with code-span backticks, entities, CSS escapes,
    comments, breaks, tags or cloze deletions inside it; Anki's syntax, as a cloze hint, which Anki writes inside `[…]`."""
    for pattern, group, spread in _WRITTEN_AS:
        match = pattern.match(removed)
        if match:
            found = match.group(group)
            if spread:
                return _SPLIT.join(f"(?:{re.escape(c)}|&#x?+[0-9a-fA-F]++;|\\\\[0-9a-fA-F]{{1,6}}+\\s?)" for c in found)
            if found.startswith("[") and kind_of(removed) == SYNTAX:  # or as a cloze hint: {{c1::a::sound:…}}
                return f"{re.escape(found)}|::{re.escape(found.lstrip('['))}"
            return re.escape(found)
    return re.escape(removed)


_SPLIT = r"(?:[\s`]|&[A-Za-z]++;|<wbr>|<!--(?:[^-]|-(?!->)){0,200}+-->|\{\{c[0-9,]{1,20}+::|\}\}|<[^<>]{0,200}+>)*+"
_WRITTEN_AS = [(re.compile(pattern), group, spread) for pattern, group, spread in (
    (r"^(<\w+)>$", 1, False),                           # <script>: "<script"
    (r"^([\w:.-]+)= (?:handler|attribute)$", 1, False),  # onerror= handler: "onerror"
    (r"^link to ([\w.+-]+:)$", 1, True),                # link to javascript:
    (r"^link to (.+?)$", 1, False),
    (r"^(url|[\w-]+)\(\) in a style$", 1, True),        # url() in a style, written u\72l( maybe
    (r"^([\w-]+) in a style$", 1, False),               # position in a style
    (r"^class (.+)$", 1, False),
    (r"^(\\\w+) in math$", 1, True),                    # \href in math, written \h<!-- -->ref maybe
    (r"^(\[\[?\$*\w*:?)", 1, False),                    # [sound:…] shown as text: "[sound:"
    (r"^(data:)", 1, False),
    (r"^(image-occlusion:)", 1, False),
    (r"^(\{\{c)", 1, False),                            # {{c…}} in a text too long to check
)]


def inert(text_html: str) -> tuple[str, tuple[str, ...]]:
    """Cleaned HTML, or HTML deckgen made from text alone (escaped: no element of anyone's), with what Anki or
    MathJax would act on in its text made inert: MathJax's commands (a file may be named `\\(\\href{…}\\).md`),
    Anki's syntax, and what Anki's cloze filter would make of either (`cloze_safe`)."""
    made, broken = break_unsafe_tex(text_html)
    made, syntax = anki_syntax_as_text(made)
    made, cloze = cloze_safe(made)
    return made, tuple(sorted({*broken, *syntax, *cloze}))


def _links_without_address(html_text: str) -> str:
    """Cleaned HTML with each link left without an address (removed, or to another note) made plain text, as
    a `<span>`: a card would show it as a link that goes nowhere."""
    def replace(match: re.Match) -> str:
        nonlocal inside
        if match.group(1) is None:  # </a>: links do not nest in cleaned HTML
            closing, inside = ("</span>" if inside else "</a>"), False
            return closing
        inside = "href" not in (name for name, _ in _ATTRIBUTE_RE.findall(match.group(1)))
        return f"<span{match.group(1)}>" if inside else match.group()

    inside = False
    return _LINK_RE.sub(replace, html_text)


def _not_included(tag: re.Match) -> str:
    """An `<img>` whose image is not bundled: its alt text, marked."""
    if tag.group(1) != "img":
        return tag.group()
    attributes = dict(_ATTRIBUTE_RE.findall(tag.group(2)))
    if not attributes.get("src", "").startswith(NOT_INCLUDED):
        return tag.group()
    return not_included_html(html.unescape(attributes.get("alt", "")))


def _gone(before: str, after: str, said: Counter) -> set[str]:
    """The elements and attributes written in `before` that `after` has fewer of, less the attributes `said`
    already. Names are counted roughly first, in C (most texts lose nothing); only a text that seems to have
    lost something is read tag by tag."""
    if _ROUGH_TAG_RE.findall(before) == _ROUGH_TAG_RE.findall(after) \
            and _ROUGH_ATTRIBUTE_RE.findall(before) == _ROUGH_ATTRIBUTE_RE.findall(after):
        return set()  # the same names in the same order (most texts): nothing went
    tags_before, attributes_before = _rough_names(before)
    tags_after, attributes_after = _rough_names(after)
    if not tags_before - tags_after and not attributes_before - attributes_after - said:
        return set()
    tags_after = Counter(name for name, _ in _TAG_RE.findall(after))
    gone = {f"<{name}>" for name in Counter(name.lower() for name, _ in _ANY_TAG_RE.findall(before)) - tags_after}
    attributes_after = Counter(name for _, attributes in _TAG_RE.findall(after)
                               for name, _ in _ATTRIBUTE_RE.findall(attributes))
    left: Counter = Counter()  # the attributes of the elements that stay, as written
    values: dict[str, list[str]] = {}
    for name, attributes in _ANY_TAG_RE.findall(before):
        if f"<{name.lower()}>" not in gone:
            for attribute, value in _ANY_ATTRIBUTE_RE.findall(attributes):
                left[attribute.lower()] += 1
                values.setdefault(attribute.lower(), []).append(value)
    for attribute in left - attributes_after - said:
        if attribute in ("href", "src"):  # nh3 found a scheme no link or image may have
            gone.update(f"link to {scheme}" for scheme in _schemes(values[attribute]))
        else:
            gone.add(f"{attribute}= handler" if attribute.startswith("on") else f"{attribute}= attribute")
    return gone


def _rough_names(text: str) -> tuple[Counter, Counter]:
    """How many of each element and attribute `text` seems to hold (text that looks like an attribute counts
    too: only for telling whether something went)."""
    return Counter(map(str.lower, _ROUGH_TAG_RE.findall(text))), \
        Counter(map(str.lower, _ROUGH_ATTRIBUTE_RE.findall(text)))


def _schemes(written: list[str]) -> set[str]:
    """The schemes of URLs as written in HTML (quoted or not), as a browser reads them; none for an address
    without one (another note, a footnote: quietly not a link, see `_Cleaning.link`)."""
    found = set()
    for value in written:
        url = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(value.strip("\"'")))
        if URL_SCHEME_RE.match(url) and not url.lower().startswith(LINK_SCHEMES) and not DRIVE_PATH_RE.match(url):
            found.add(_shown(url))
    return found


def break_unsafe_tex(html_text: str) -> tuple[str, tuple[str, ...]]:
    """Cleaned HTML with each MathJax command of UNSAFE_TEX outside code made harmless (a zero-width space after
    its backslash: MathJax then reports an unknown command instead of making a link), and what went."""
    if "\\" not in html_text or not UNSAFE_TEX_RE.search(html_text):
        return html_text, ()
    found = set()

    def broken(match: re.Match) -> str:
        found.add(f"\\{match.group(1)} in math")
        return "\\\u200b" + match.group(1)

    out, last = [], 0
    for start, end in code_spans(html_text):
        out += [UNSAFE_TEX_RE.sub(broken, html_text[last:start]), html_text[start:end]]
        last = end
    out.append(UNSAFE_TEX_RE.sub(broken, html_text[last:]))
    return "".join(out), tuple(sorted(found))


def code_spans(html_text: str) -> list[tuple[int, int]]:
    """Where MathJax reads no TeX in cleaned HTML (whose every element is closed): each `<pre>` or `<code>`."""
    return [code.span() for code in _CODE_RE.finditer(html_text)] if "<pre" in html_text or "<code" in html_text \
        else []


def anki_syntax_as_text(html_text: str) -> tuple[str, tuple[str, ...]]:
    """Cleaned HTML with every `[` an entity (but that of MathJax's `\\[`), so that none of Anki's field syntax
    (ANKI_SYNTAX_RE) is read as such, and which kinds of it there were. Anki's patterns run on the HTML as it is
    stored, attributes and code included, and do not decode entities; the browser shows `[` all the same."""
    if "[" not in html_text:
        return html_text, ()
    found = {_syntax_shown(match) for match in ANKI_SYNTAX_RE.finditer(html_text)}
    return _BRACKET_RE.sub("&#91;", html_text), tuple(sorted(found))


def _syntax_shown(match: re.Match) -> str:
    """What one match of ANKI_SYNTAX_RE is said as, made text."""
    kind = match.group(1).lower()
    return f"[{kind}:…] shown as text" if kind in ("sound", "anki") else "[[type:…]] shown as text" \
        if kind == "[type" else f"[{kind}] shown as text"


def _angles_escaped(html_text: str) -> str:
    """Cleaned HTML with `<` and `>` inside attribute values as entities (nh3 leaves them as they are): Anki's
    media patterns would otherwise read `title="<img src=…>"` as an image of the note."""
    if not _ANGLE_IN_VALUE_RE.search(html_text):
        return html_text
    return _TAG_RE.sub(lambda tag: f"<{tag.group(1)}" + _ATTRIBUTE_RE.sub(
        lambda a: a.group() if a.group(2) is None else
        f'{a.group(1)}="{a.group(2).replace("<", "&lt;").replace(">", "&gt;")}"', tag.group(2)) + ">", html_text)


# How much of Anki's cloze filter is run to check a text: characters times card sides (two a deletion number), at
# most. Ample for any note a person writes (5 000 characters with 200 numbers, 100 000 with 10; about a second);
# beyond it, a text whose deletions the filter could join anything in has them made text.
CLOZE_CHECK_LIMIT = 4_000_000
CLOZE_ROUNDS = 4
TOO_LONG_TO_CHECK = "{{c…}} in a text too long to check shown as text"


def cloze_safe(html_text: str) -> tuple[str, tuple[str, ...]]:
    """Inert HTML as Anki's cloze filter leaves it inert (see `anki_cloze`), and what had to change.

    Any field may be read by `{{cloze:…}}`. The filter writes each card's
    side from the field: text on both sides of a deletion, or of a tag, made
    one between MathJax's delimiters (`\\h{{c2::re}}f` is `\\href` on card
    1), a hint between brackets of Anki's own (`{{c1::a::sound:x.mp3}}` is
    `[sound:x.mp3]`), a deletion starting `image-occlusion:` into a
    `<div>`'s attributes, unescaped. Every side is written as Anki writes
    it, and whatever would not have been left in the field (a MathJax
    command of UNSAFE_TEX outside code, ANKI_SYNTAX_RE, an occlusion) is
    broken in the field by a zero-width space, where the filter joined it.
    """
    math = "\\(" in html_text or "\\[" in html_text
    if "{{c" not in html_text or not (math or html_text.count("::") > 1 or IMAGE_OCCLUSION in html_text):
        return html_text, ()  # no hint, no occlusion, no math: nothing the filter writes can join anything
    found: set[str] = set()
    # A round's spaces make nothing new to break: the next round finds none. A text too long for even one card
    # is not parsed at all.
    for _ in range(CLOZE_ROUNDS if len(html_text) * 2 <= CLOZE_CHECK_LIMIT else 0):
        field = anki_cloze.ClozeField(html_text)
        if not (math or field.hints or field.occlusions):
            return html_text, tuple(sorted(found))
        if len(html_text) * 2 * len(field.numbers) > CLOZE_CHECK_LIMIT:
            break
        fixes = set(field.occlusions)
        if fixes:
            found.add("image-occlusion: shown as text")
        for number in field.numbers:
            for question in (True, False):
                fixes.update(_cloze_side_fixes(field.side(number, question), found))
        if not fixes:
            return html_text, tuple(sorted(found))
        if -1 in fixes:
            break
        places = [0, *sorted(fixes), len(html_text)]
        html_text = "\u200b".join(html_text[start:end] for start, end in zip(places, places[1:]))
    found.add(TOO_LONG_TO_CHECK)
    return html_text.replace("{{c", "{&#123;c"), tuple(sorted(found))


def _cloze_side_fixes(pieces: list[anki_cloze.Piece], found: set[str]) -> set[int]:
    """Where, in the field, a zero-width space breaks what this card side holds that its field does not: before
    the letters of a MathJax command; in Anki's syntax, before the first character the filter joined on (-1:
    none to break)."""
    side = "".join(piece.text for piece in pieces)
    if "\\" not in side and "[" not in side:
        return set()
    at = anki_cloze.source_index(pieces)
    fixes = set()
    for match in _read_by_mathjax(side, list(UNSAFE_TEX_RE.finditer(side))):
        found.add(f"\\{match.group(1)} in math")
        fixes.add(at(match.start() + 1))
    for match in ANKI_SYNTAX_RE.finditer(side):
        found.add(_syntax_shown(match))
        places = [at(i) for i in range(match.start(), match.end())]
        joined = [place for before, place in zip(places, places[1:]) if place >= 0 and place != before + 1]
        fixes.add(joined[0] if joined else next((place for place in places[1:] if place >= 0), -1))
    return fixes


def _read_by_mathjax(html_text: str, matches: list[re.Match]) -> list[re.Match]:
    """Those of `matches` (in `html_text`) that are in text MathJax reads: not in an attribute, not in `<pre>` or
    `<code>` as a browser builds the page. A card side's HTML is not cleaned HTML: Anki's filter may have taken
    out a `</code>`, and its `<span>`s may close one, so only an HTML parser's reading tells (html5ever, nh3's)."""
    if not matches:
        return []
    marked, last = [], 0
    for index, match in enumerate(matches):
        marked += [html_text[last:match.start()], f"\ue000{index}\ue001"]
        last = match.end()
    marked.append(html_text[last:])
    read = {int(index) for index in re.findall("\ue000([0-9]+)\ue001", _text_outside_code().clean("".join(marked)))}
    return [match for index, match in enumerate(matches) if index in read]


@functools.cache
def _text_outside_code():
    """An nh3 cleaner that keeps the text a page shows outside code, and no attribute."""
    import nh3

    return nh3.Cleaner(tags=ALLOWED_TAGS - {"pre", "code"}, clean_content_tags=CLEANED_WITH_CONTENT | {"pre", "code"},
                       attributes={}, link_rel=None, strip_comments=True)
