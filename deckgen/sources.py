"""Find the decks under a source folder and read each deck's Markdown and settings.

A deck is one Markdown file. Its settings live beside it in a TOML file of the
same stem (`notes.md` -> `notes.deck.toml`), so the Markdown stays exactly as the
author wrote it. Every setting has a default; the side file is optional.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import Diagnostic, SourceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTINGS_SUFFIX = ".deck.toml"
TAG_SEPARATOR = "::"
TAG_UNSAFE_RE = re.compile(r"[^\w.+\-/]+")
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f])  # not text, tab and line ends aside
CONTROL_RE = re.compile("[" + re.escape(CONTROL_BYTES.decode("ascii")) + "]")


PATTERN_TIMEOUT = 0.1  # seconds a topic pattern may take on one question before it is refused


@dataclass(frozen=True)
class TopicRule:
    """Tag a note with `tag` when its question contains a keyword or matches a pattern."""

    tag: str
    keywords: tuple[str, ...] = ()
    patterns: tuple = ()
    """Compiled with the `regex` package, which can stop a pattern that runs too long."""
    source: Path | None = None
    line: int = 0
    """The rule's settings file and line, for the message when a pattern runs too long."""


@dataclass(frozen=True)
class DeckSettings:
    """A deck's settings, from its side file or the defaults."""

    name: str
    """The Anki deck name. Anki matches decks by name: renaming makes a new deck."""
    slug: str
    """File-name-safe key of the deck: output names and note identities derive from it."""
    version: str | None = None
    """The version the author asks for; None when the settings name none."""
    question_level: int = 3
    """Headings of this level are questions; higher ones (fewer `#`) are sections."""
    topics: tuple[TopicRule, ...] = ()
    cards: str = "basic"
    """Which note type: "basic", "basic-and-reversed" (a second card asks the other way) or "cloze"."""


@dataclass(frozen=True)
class DeckSource:
    """One deck's Markdown text, where it came from, and its settings."""

    path: Path
    text: str
    settings: DeckSettings
    diagnostics: tuple[Diagnostic, ...] = ()
    """What reading it noticed (a settings file that was skipped)."""


def find_deck_files(source: Path, exclude: Path | None = None) -> tuple[list[Path], list[Diagnostic]]:
    """The deck files a path names: the file itself, or every `*.md` below a folder but outside `exclude`.

    A deck file that is a symbolic link to a file outside the folder is skipped, with a warning.
    """
    if source.is_file():
        if source.suffix != ".md":
            raise SourceError(source, 0, "not a deck: deck files are Markdown files ending in .md", "not-a-deck")
        found = [source]
        root = source.parent
    elif not source.is_dir():
        raise SourceError(source, 0, "no such file or folder", "no-source")
    else:
        excluded = exclude.resolve() if exclude is not None else None
        found = sorted(
            p for p in source.rglob("*.md")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)
            and (excluded is None or excluded not in p.resolve().parents)
        )
        root = source
    verdicts = [(path, link_outside(path, root)) for path in found]
    return [path for path, skipped in verdicts if skipped is None], [skipped for _, skipped in verdicts if skipped]


def link_outside(path: Path, root: Path) -> Diagnostic | None:
    """A warning when `path` is a symbolic link to somewhere outside `root` (it is then not read)."""
    if not path.is_symlink():
        return None
    target = Path(os.path.realpath(path))
    if target.is_relative_to(os.path.realpath(root)):
        return None
    return Diagnostic(path, 0, f"skipped: a symbolic link to {target}, outside the notes folder "
                               f"{root}; only files inside it are read", code="link-outside")


def read_deck_source(path: Path, root: Path | None = None) -> DeckSource:
    """Read one deck's Markdown and its settings (a settings file linked from outside `root` is skipped)."""
    try:
        data = path.read_bytes()
        if b"\0" in data:
            raise SourceError(path, _line_of_offset(data, data.index(b"\0")),
                              "contains NUL bytes: a binary file, not Markdown text", "binary-file")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceError(path, _line_of_offset(data, err.start),
                          f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})",
                          "not-utf8") from None
    except OSError as err:
        raise SourceError(path, 0, f"cannot read: {err.strerror}", "unreadable") from None
    if b"\r" in data:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # These bytes are never part of a longer UTF-8 character: a check on the bytes (fast) is exact.
    control = CONTROL_RE.search(text) if len(data.translate(None, CONTROL_BYTES)) != len(data) else None
    if control:
        line_start = text.rfind("\n", 0, control.start()) + 1
        raise SourceError(path, text.count("\n", 0, control.start()) + 1,
                          f"control character U+{ord(control.group()):04X}: not text (Anki would also take U+001F "
                          "for a field separator)", "control-character", column=control.start() - line_start + 1)
    settings_file = settings_path(path)
    skipped = link_outside(settings_file, root if root is not None else path.parent)
    settings = read_settings(path) if skipped is None else DeckSettings(name=path.stem, slug=default_slug(path.stem))
    return DeckSource(path=path, text=text, settings=settings, diagnostics=(skipped,) if skipped else ())


def settings_path(deck_path: Path) -> Path:
    """Where a deck's settings file lives."""
    return deck_path.with_name(deck_path.stem + SETTINGS_SUFFIX)


def read_settings(deck_path: Path) -> DeckSettings:
    """The deck's settings from its side file, or the defaults when there is none."""
    path = settings_path(deck_path)
    slug = default_slug(deck_path.stem)
    if not path.exists():
        return DeckSettings(name=deck_path.stem, slug=slug)
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SourceError(path, _toml_error_line(err), f"invalid settings: {err}", "invalid-settings") from None
    return _SettingsReader(path, text).read(data, deck_path.stem, slug)


class _SettingsReader:
    """Checks a settings table, naming the file and line of whatever is wrong."""

    KNOWN = ("name", "slug", "version", "question_level", "cards", "topics")
    CARDS = ("basic", "basic-and-reversed", "cloze")

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.split("\n")

    def read(self, data: dict, default_name: str, default_slug: str) -> DeckSettings:
        for key in data:
            if key not in self.KNOWN:
                self.fail(key, f"unknown setting {key!r} (known: {', '.join(self.KNOWN)})")
        name = self.typed(data, "name", str, default_name).strip()
        if not name or any(not part.strip() for part in name.split("::")):
            self.fail("name", f"invalid deck name {name!r}")
        slug = self.typed(data, "slug", str, default_slug)
        if slugify(slug) != slug or not slug:
            self.fail("slug", f"invalid slug {slug!r}: use lower-case letters, digits and '-'")
        version = self.typed(data, "version", str, None)
        if version is not None and not VERSION_RE.match(version):
            self.fail("version", f"invalid version {version!r}: expected MAJOR.MINOR.PATCH, e.g. 1.0.0")
        level = self.typed(data, "question_level", int, 3)
        if not 1 <= level <= 6:
            self.fail("question_level", f"question_level must be between 1 and 6, not {level}")
        cards = self.typed(data, "cards", str, "basic")
        if cards not in self.CARDS:
            self.fail("cards", f"cards must be one of {', '.join(self.CARDS)}, not {cards!r}")
        rules = self.typed(data, "topics", list, [])
        topics = tuple(self.topic_rule(i, rule) for i, rule in enumerate(rules))
        return DeckSettings(name=name, slug=slug, version=version, question_level=level, topics=topics,
                            cards=cards)

    def topic_rule(self, index: int, rule) -> TopicRule:
        key = ("topics", index)
        if not isinstance(rule, dict) or not isinstance(rule.get("tag"), str) or not rule["tag"].strip():
            self.fail(key, "each topic rule needs a 'tag' string")
        unknown = set(rule) - {"tag", "keywords", "patterns"}
        if unknown:
            self.fail(key, f"unknown key(s) in topic rule: {', '.join(sorted(unknown))}")
        keywords, patterns = rule.get("keywords", []), rule.get("patterns", [])
        if not isinstance(keywords, list) or not isinstance(patterns, list) \
                or not all(isinstance(k, str) and k for k in keywords + patterns):
            self.fail(key, "'keywords' and 'patterns' must be lists of non-empty strings")
        if not keywords and not patterns:
            self.fail(key, f"topic rule for {rule['tag']!r} has no keywords or patterns")
        import regex  # a pattern from someone else's settings could backtrack for ever: regex can stop it

        compiled = []
        for pattern in patterns:
            try:
                compiled.append(regex.compile(pattern))
            except regex.error as err:
                self.fail(key, f"invalid pattern {pattern!r}: {err}")
        if anki_tag(rule["tag"].split(TAG_SEPARATOR)) != rule["tag"]:
            self.fail(key, f"invalid tag {rule['tag']!r}: a tag has letters, digits and _ . + - / only, "
                           f"and no empty '::' levels; did you mean {anki_tag(rule['tag'].split(TAG_SEPARATOR))!r}?")
        return TopicRule(tag=rule["tag"], keywords=tuple(k.casefold() for k in keywords),
                         patterns=tuple(compiled), source=self.path, line=self.line_of(key))

    def typed(self, data: dict, key: str, kind: type, default):
        value = data.get(key, default)
        if key in data and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            self.fail(key, f"setting {key!r} must be a {kind.__name__}, not {type(value).__name__}")
        return value

    def fail(self, key, message: str):
        raise SourceError(self.path, self.line_of(key), message, "invalid-settings")

    def line_of(self, key) -> int:
        """Line of a top-level `key = …`, or of the n-th `[[topics]]` for ("topics", n); 0 if not found."""
        if isinstance(key, tuple):
            starts = [i for i, line in enumerate(self.lines, 1) if re.match(r"\s*\[\[\s*topics\s*\]\]", line)]
            return starts[key[1]] if key[1] < len(starts) else 0
        pattern = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=")
        return next((i for i, line in enumerate(self.lines, 1) if pattern.match(line)), 0)


def anki_tag(parts) -> str:
    """A valid, harmless Anki tag from path parts: letters, digits and `_ . + - /` only, no empty `::` levels.

    Anki puts tags into the card through {{Tags}} as they are, so a tag must
    carry no markup: a section heading "<img onerror=…>" must not become one.
    """
    cleaned = (TAG_UNSAFE_RE.sub("_", part.replace(TAG_SEPARATOR, "_").strip()).strip("_:") for part in parts)
    return TAG_SEPARATOR.join(part for part in cleaned if part)


def default_slug(stem: str) -> str:
    """The slug of a deck file's name; a name with no ASCII letters or digits gets one from its hash."""
    return slugify(stem) or "deck-" + hashlib.sha256(stem.encode("utf-8")).hexdigest()[:8]


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _toml_error_line(err: Exception) -> int:
    match = re.search(r"line (\d+)", str(err))
    return int(match.group(1)) if match else 0
