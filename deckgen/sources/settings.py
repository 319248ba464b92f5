"""Settings, checked: the notes folder's (`deckgen.toml` at its top) and each deck's (the TOML file beside its
Markdown, see `library.settings_path`).

Every setting has a default; the files are optional, except that a notes
folder's first build writes its `deckgen.toml` with the folder's namespace.
Whatever is wrong is reported with the file and line.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic, SourceError
from ..names import deck_name_problem, deck_settings_path, default_slug, safe_tag, slugify
from ..reading import MIB, SETTINGS_LIMIT, read_target

VERSION_RE = re.compile(r"^[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}$")


def version_key(version: str) -> tuple[int, int, int]:
    """A MAJOR.MINOR.PATCH version (see VERSION_RE) as numbers, for comparing."""
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch

NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
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
class DeckDefaults:
    """What a folder's `deckgen.toml` sets for every deck below it; a deck's own settings override it."""

    question_level: int = 3
    cards: str = "basic"
    topics: tuple[TopicRule, ...] = ()
    inline_tags: bool = True
    """`#tags` in questions and answers become the note's tags (see `tags.inline_tags`)."""
    question_context: str = "auto"
    """When a card shows its question's section path above it: "auto" (when the same question is asked
    elsewhere in the deck), "always" or "never"."""

    def fields(self) -> dict:
        """Each default by name, as a deck's settings take them over."""
        return {name: getattr(self, name) for name in DECK_DEFAULT_NAMES}


@dataclass(frozen=True)
class DeckSettings:
    """A deck's settings, from its side file, the folders' `deckgen.toml` above it, or the defaults."""

    name: str
    """The Anki deck name. Anki matches decks by name: renaming makes a new deck."""
    slug: str
    """File-name-safe key of the deck: output names and new notes' GUIDs derive from it."""
    version: str | None = None
    """The version the author asks for; None when the settings name none."""
    question_level: int = DeckDefaults.question_level
    """Headings of this level are questions; higher ones (fewer `#`) are sections."""
    topics: tuple[TopicRule, ...] = DeckDefaults.topics
    cards: str = DeckDefaults.cards
    """Which note type: "basic", "basic-and-reversed" (a second card asks the other way) or "cloze"."""
    name_set: bool = False
    """The settings name the deck (else a recorded deck keeps the name it has in Anki)."""
    inline_tags: bool = DeckDefaults.inline_tags
    question_context: str = DeckDefaults.question_context
    tags: tuple[str, ...] = ()
    """Tags every note of the deck gets: its front matter's `tags`."""


@dataclass(frozen=True)
class FolderSettings:
    """A folder's `deckgen.toml` below the library's top: defaults for the decks below it, and files to leave out."""

    defaults: DeckDefaults = DeckDefaults()
    exclude: tuple[str, ...] = ()
    """`.gitignore`-style patterns, relative to the folder, of files that are no decks."""


@dataclass(frozen=True)
class LibrarySettings:
    """The library's own settings, from the `deckgen.toml` at its top."""

    namespace: str | None = None
    """Makes the GUIDs of new notes this folder's own (see `ids`); None until its first build makes one."""
    keep_removed_versions: int = 10
    keep_removed_days: int = 180
    """A removed note is carried in packages until it has been in this many versions and for this many days."""
    slug: str | None = None
    """Names the library's package (`<slug>-<version>.apkg`); by default its one deck's slug, or its folder's."""
    version: str | None = None
    """The version the author asks for (a floor, as a deck's `version`)."""
    packages: str = "library"
    """"library": one package for every deck; "folder": one for each top-level folder (and one for the rest)."""
    prefix: str | None = None
    """Put in front of every deck name the folder tree gives (`Prefix::folder::file`)."""
    include: tuple[str, ...] = ()
    """`.gitignore`-style patterns of the Markdown files that are decks; all of them when empty."""
    exclude: tuple[str, ...] = ()
    defaults: DeckDefaults = DeckDefaults()
    max_image_mib: float = 10
    """The largest image file bundled, in MiB."""
    source_url: str | None = None
    """A template (`https:` or `obsidian:`) that makes each card's source a link: {path}, {line}, {heading}."""
    plugin_files: bool = False
    """Read the Markdown files Obsidian plugins keep their data in (Excalidraw drawings, Kanban boards) as decks."""
    suspend_removed: bool = True
    """`deckgen sync` suspends the cards of notes removed from the source (and unsuspends them if they come back)."""

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mib * MIB)


DECK_DEFAULT_NAMES = tuple(field.name for field in dataclasses.fields(DeckDefaults))
DEFAULTS = LibrarySettings()
"""Every setting's default, declared once: in the classes above."""


LIBRARY_KEYS = ("namespace", "keep_removed_versions", "keep_removed_days", "slug", "version", "packages", "prefix",
                "include", "max_image_mib", "source_url", "plugin_files", "suspend_removed")
FOLDER_KEYS = ("question_level", "cards", "topics", "inline_tags", "question_context", "exclude")
SOURCE_URL_SCHEMES = ("https://", "obsidian://")
PACKAGES = ("library", "folder")


NAMESPACE_COMMENT = (
    "# deckgen: the namespace makes the GUIDs of this notes folder's new notes its own, so that no other\n"
    "# project's deck can ever update them in Anki. Keep it as it is, and commit this file.\n")
SLUG_COMMENT = "# The package's file name (<slug>-<version>.apkg), whatever this folder is called.\n"


def read_library_settings(path: Path) -> LibrarySettings:
    """The library's settings from `path` (the `deckgen.toml` at its top), or the defaults when there is none."""
    text = _read_toml_text(path)
    if text is None:
        return LibrarySettings()
    reader = _SettingsReader(path, text)
    data = reader.parse()
    reader.known(data, LIBRARY_KEYS + FOLDER_KEYS)
    namespace = reader.typed(data, "namespace", str, DEFAULTS.namespace)
    keep = {}
    for key in ("keep_removed_versions", "keep_removed_days"):
        keep[key] = reader.typed(data, key, int, getattr(DEFAULTS, key))
        if keep[key] < 0:
            reader.fail(key, f"{key} must be 0 or more, not {keep[key]}")
    if namespace is not None and not NAMESPACE_RE.match(namespace):
        reader.fail("namespace", f"invalid namespace {namespace!r}: use 1 to 64 letters, digits, '-', '_' and '.' "
                                 "(the one deckgen writes is 16 hex digits: if that one was changed by mistake, "
                                 "restore it from git)")
    packages = reader.typed(data, "packages", str, DEFAULTS.packages)
    if packages not in PACKAGES:
        reader.fail("packages", f"packages must be one of {', '.join(PACKAGES)}, not {packages!r}")
    size = reader.typed(data, "max_image_mib", (int, float), DEFAULTS.max_image_mib)
    if not 0 < size <= 100:
        reader.fail("max_image_mib", f"max_image_mib must be more than 0 and at most 100, not {size}")
    source_url = reader.typed(data, "source_url", str, DEFAULTS.source_url)
    if source_url is not None:
        import string

        try:
            fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(source_url)
                      if name is not None]
            wrong = next((f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
                          for name, spec, conversion in fields
                          if name not in ("path", "line", "heading") or spec or conversion), None)
        except ValueError as err:
            wrong = str(err)
        if wrong is not None:  # a format spec ({path:>100000000}) would make every card's field as long as it says
            reader.fail("source_url", f"source_url may hold {{path}}, {{line}} and {{heading}} only, as they are "
                                      f"(not {wrong})")
        if not source_url.startswith(SOURCE_URL_SCHEMES):
            reader.fail("source_url", "source_url must start with https:// or obsidian://")
    prefix = reader.typed(data, "prefix", str, DEFAULTS.prefix)
    if prefix is not None and (problem := deck_name_problem(prefix)) is not None:
        reader.fail("prefix", f"invalid deck name prefix {prefix!r}: it {problem}")
    return LibrarySettings(namespace=namespace, slug=reader.slug(data, None), version=reader.version(data),
                           packages=packages, prefix=prefix, include=reader.patterns(data, "include"),
                           exclude=reader.patterns(data, "exclude"), defaults=reader.defaults(data, DEFAULTS.defaults),
                           max_image_mib=size, source_url=source_url,
                           plugin_files=reader.typed(data, "plugin_files", bool, DEFAULTS.plugin_files),
                           suspend_removed=reader.typed(data, "suspend_removed", bool, DEFAULTS.suspend_removed),
                           **keep)


def read_folder_settings(path: Path, inherited: DeckDefaults) -> FolderSettings | None:
    """A sub-folder's `deckgen.toml` (`path`) over the defaults `inherited` from above; None when there is none."""
    text = _read_toml_text(path)
    if text is None:
        return None
    reader = _SettingsReader(path, text)
    data = reader.parse()
    for key in data:
        if key in LIBRARY_KEYS:
            reader.fail(key, f"{key!r} is a setting of the whole library: only the deckgen.toml at its top may set it")
    reader.known(data, FOLDER_KEYS)
    return FolderSettings(defaults=reader.defaults(data, inherited), exclude=reader.patterns(data, "exclude"))


def with_namespace(path: Path, namespace: str, slug: str | None = None) -> bytes:
    """The bytes of `deckgen.toml` with `namespace` (and `slug`) set: the file afresh, or the author's with them
    added on top."""
    text = _read_toml_text(path) or ""
    named = SLUG_COMMENT + f'slug = "{slug}"\n' if slug else ""
    return (NAMESPACE_COMMENT + f'namespace = "{namespace}"\n' + named
            + ("\n" + text if text.strip() else "")).encode()


def _read_toml_text(path: Path) -> str | None:
    try:
        return read_target(path, SETTINGS_LIMIT).decode("utf-8-sig")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as err:
        raise SourceError(path, 0, f"invalid settings: not UTF-8 text ({err.reason})", "invalid-settings") from None
    except OSError as err:
        raise SourceError(path, 0, f"cannot read: {err.strerror}", "unreadable") from None


def read_settings(deck_path: Path, path: Path | None, name: str | None = None,
                  defaults: DeckDefaults = DeckDefaults(), front: dict | None = None,
                  tags: tuple[str, ...] = ()) -> DeckSettings:
    """The settings of the deck `deck_path` from the file `path` and its front matter's `deckgen` table
    (`front`; a key set in both is an error) over `defaults` (from the folders above it); its name is `name`
    (by default its file's) unless they set one; `tags` come from its front matter. `path` None: no file is
    read (it is a link leading outside the library, or one whose error is reported already)."""
    slug, name = default_slug(deck_path.stem), name or deck_path.stem
    text = _read_toml_text(path) if path is not None else None
    front = front or {}
    if text is None and not front:
        settings = DeckSettings(name=name, slug=slug, tags=tags, **defaults.fields())
    else:
        reader = _SettingsReader(path if text is not None else deck_path, text or "")
        data = reader.parse()
        for key in sorted(set(front) & set(data)):
            reader.fail(key, f"{key!r} is set here and in the front matter of {deck_path}: set it in one place")
        settings = dataclasses.replace(reader.read({**front, **data}, name, slug, defaults), tags=tags)
    return settings


def file_name_problem(deck_path: Path, settings: DeckSettings) -> Diagnostic | None:
    """An error when the deck name a file's name makes (its settings naming none) breaks the deck-name rule."""
    problem = None if settings.name_set else deck_name_problem(settings.name)
    return None if problem is None else Diagnostic(deck_path, 0, (
        f"this file's name makes the deck name {settings.name!r}, which {problem}: rename the file, or name the "
        f'deck (name = "…" in {deck_settings_path(deck_path)})'), "error", "invalid-deck-name")


class _SettingsReader:
    """Checks a settings table, naming the file and line of whatever is wrong."""

    KNOWN = ("name", "slug", "version", "question_level", "cards", "topics", "inline_tags", "question_context")
    CARDS = ("basic", "basic-and-reversed", "cloze")
    CONTEXT = ("auto", "always", "never")

    def __init__(self, path: Path, text: str):
        self.path, self.text, self.lines = path, text, text.split("\n")

    def parse(self) -> dict:
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as err:
            line, column = _toml_error_place(err)
            raise SourceError(self.path, line, f"invalid settings: {err}", "invalid-settings", column) from None
        except RecursionError:
            raise SourceError(self.path, 0, "invalid settings: nested too deeply", "invalid-settings") from None
        except ValueError as err:  # Python's own limit on the digits of a number (4,300)
            raise SourceError(self.path, 0, f"invalid settings: {err}", "invalid-settings") from None

    def read(self, data: dict, default_name: str, default_slug: str, inherited: DeckDefaults) -> DeckSettings:
        self.known(data, self.KNOWN)
        name = self.typed(data, "name", str, default_name).strip()
        if "name" in data and (problem := deck_name_problem(name)) is not None:
            self.fail("name", f"invalid deck name {name!r}: it {problem}")
        return DeckSettings(name=name, name_set="name" in data, slug=self.slug(data, default_slug),
                            version=self.version(data), **self.defaults(data, inherited).fields())

    def known(self, data: dict, known: tuple[str, ...]) -> None:
        """Every key of `data` not in `known` at once, in one error at the first of them."""
        import difflib

        unknown = [key for key in data if key not in known]
        if not unknown:
            return
        parts = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f", did you mean {close[0]!r}?" if close else ""
            where = f" (line {self.line_of(key)})" if len(unknown) > 1 and self.line_of(key) else ""
            parts.append(f"{key!r}{where}{hint}")
        self.fail(unknown[0], f"unknown setting{'s' if len(unknown) > 1 else ''} {'; '.join(parts)} "
                              f"(known: {', '.join(known)})")

    def slug(self, data: dict, default: str | None) -> str | None:
        slug = self.typed(data, "slug", str, default)
        if slug is not None and (slugify(slug) != slug or not slug):
            self.fail("slug", f"invalid slug {slug!r}: use lower-case letters, digits and '-'")
        return slug

    def version(self, data: dict) -> str | None:
        version = self.typed(data, "version", str, None)
        if version is not None and not VERSION_RE.match(version):
            self.fail("version", f"invalid version {version!r}: expected MAJOR.MINOR.PATCH, e.g. 1.0.0")
        return version

    def defaults(self, data: dict, inherited: DeckDefaults) -> DeckDefaults:
        """The deck defaults `data` sets, over `inherited`."""
        level = self.typed(data, "question_level", int, inherited.question_level)
        if not 1 <= level <= 6:
            self.fail("question_level", f"question_level must be between 1 and 6, not {level}")
        cards = self.typed(data, "cards", str, inherited.cards)
        if cards not in self.CARDS:
            self.fail("cards", f"cards must be one of {', '.join(self.CARDS)}, not {cards!r}")
        topics = inherited.topics
        if "topics" in data:  # a file's own topic rules replace those from above
            topics = tuple(self.topic_rule(i, rule) for i, rule in enumerate(self.typed(data, "topics", list, [])))
        inline = self.typed(data, "inline_tags", bool, inherited.inline_tags)
        context = self.typed(data, "question_context", str, inherited.question_context)
        if context not in self.CONTEXT:
            self.fail("question_context", f"question_context must be one of {', '.join(self.CONTEXT)}, not "
                                          f"{context!r}")
        return DeckDefaults(question_level=level, cards=cards, topics=topics, inline_tags=inline,
                            question_context=context)

    def patterns(self, data: dict, key: str) -> tuple[str, ...]:
        patterns = self.typed(data, key, list, [])
        if not all(isinstance(pattern, str) and pattern.strip() for pattern in patterns):
            self.fail(key, f"{key!r} must be a list of .gitignore-style patterns (non-empty strings)")
        return tuple(patterns)

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
        if safe_tag(rule["tag"]) != rule["tag"]:
            self.fail(key, f"invalid tag {rule['tag']!r}: a tag has letters, digits and _ . + - / only, "
                           f"and no empty '::' levels; did you mean {safe_tag(rule['tag'])!r}?")
        return TopicRule(tag=rule["tag"], keywords=tuple(k.casefold() for k in keywords),
                         patterns=tuple(compiled), source=self.path, line=self.line_of(key))

    def typed(self, data: dict, key: str, kind, default):
        value = data.get(key, default)
        if key in data and (not isinstance(value, kind) or isinstance(value, bool) and kind is not bool):
            name = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
            self.fail(key, f"setting {key!r} must be {_article(name)} {name}, not {type(value).__name__}")
        return value

    def fail(self, key, message: str):
        raise SourceError(self.path, self.line_of(key), message, "invalid-settings")

    def line_of(self, key) -> int:
        """Line of a top-level `key = …`, or of the n-th `[[topics]]` for ("topics", n); 0 if not found."""
        if isinstance(key, tuple):
            starts = [i for i, line in enumerate(self.lines, 1) if re.match(r"\s*\[\[\s*topics\s*\]\]", line)]
            return starts[key[1]] if key[1] < len(starts) else 0
        pattern = re.compile(rf"\s*(?:\[\s*)?[\"']?{re.escape(key)}[\"']?\s*[=\]]")  # key = …, or [key]
        return next((i for i, line in enumerate(self.lines, 1) if pattern.match(line)), 0)



def _toml_error_place(err: Exception) -> tuple[int, int]:
    """(line, column) of a TOML error, from its message: "… (at line 3, column 17)"."""
    match = re.search(r"line (\d+)(?:, column (\d+))?", str(err))
    return (int(match.group(1)), int(match.group(2) or 1)) if match else (0, 1)



def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
