"""Split a deck's Markdown into questions, their answers and the deck description.

A heading at the deck's question level is a question; its answer is everything
up to the next heading of the same or a higher level. Higher headings are
sections (the note's topic path). Text under no question describes the deck.
Headings are found as CommonMark finds them (see `structure`): also in list
items and block quotes, never in code or HTML blocks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ..errors import Diagnostic
from ..names import deck_settings_path, folder_deck
from ..sources.library import DeckSource
from ..sources.settings import DeckSettings
from .structure import Container, Heading, StructureCache, UnclosedFence, cached_structure, strip_containers
from .syntax import (LONE_DELIMITER_RE, HeadingAttributes, heading, heading_attributes, lone_math_delimiters,
                     question_key, scan)

PROBLEMS_SHOWN = 3  # of a heading's attribute blocks
PAIRING = (" (this bare fence line may have been meant to close one: fences pair in order, so a stray fence line "
           "above shifts every pair after it)")
LARGE_DESCRIPTION = 20_000  # characters of a file's text under no question: more is said (Anki shows it all)
MAX_LINE = 20_000  # longer lines are not text a person wrote; they cost the renderer more than they are worth


class Question(msgspec.Struct, frozen=True):
    """One question heading and the Markdown of its answer."""

    path: Path
    line: int
    """Line of the question heading (1-based)."""
    title: str
    """The heading's text, without `#` marks or an explicit id."""
    explicit_id: str | None
    """The author's `{#id}` after the heading text, if any."""
    sections: tuple[str, ...]
    """Texts of the enclosing higher headings, outermost first."""
    answer: str
    """The answer's Markdown, blank lines at both ends removed."""
    answer_line: int
    """Line where `answer` starts."""
    key: str
    """The title as two questions must share to be the same question (`syntax.question_key`)."""
    attributes: HeadingAttributes = HeadingAttributes()
    """All the heading's `{…}` says (`explicit_id` is also here), for identifying the note."""
    answer_end: int = 0
    """Line where `answer` ends (1-based; 0 for none)."""


@dataclass(frozen=True)
class ParsedDeck:
    """A deck's questions in source order, its description and what the parser noticed."""

    source: DeckSource
    """Its file, settings and text, as read."""
    questions: tuple[Question, ...]
    description: str
    """Markdown of all text that belongs to no question."""
    diagnostics: tuple[Diagnostic, ...]
    describes_folder: bool = False
    """A folder's own deck (its README or index) with text to describe the folder's deck."""
    held: bool = False
    """Its file has an error, so these are its notes as the record holds them: the build keeps them as the last
    build left them (see `identify.held`)."""

    @property
    def key(self) -> str:
        """The deck's key: its file's path inside the library, without `.md` (see `sources.library.DeckFile`)."""
        return self.source.file.key

    @property
    def path(self) -> Path:
        return self.source.file.path

    @property
    def settings(self) -> DeckSettings:
        return self.source.settings


@dataclass(frozen=True)
class ParsedLibrary:
    """Every deck file of a library that could be read, parsed; and what reading and parsing noticed."""

    decks: tuple[ParsedDeck, ...]
    diagnostics: tuple[Diagnostic, ...]


def parse_decks(sources: Iterable[DeckSource | Diagnostic], prefix: str | None,
                cache: StructureCache | None = None) -> ParsedLibrary:
    """Parse each deck `sources` reads (a Diagnostic for a file that could not be read); `prefix` is the
    library's, under which a top README describes a deck of its own; `cache` keeps each text's structure."""
    decks, diagnostics = [], []
    for source in sources:
        if isinstance(source, Diagnostic):
            diagnostics.append(source)
            continue
        parsed = parse_source(source, cache)
        describes = folder_deck(source.file.key, prefix) and bool(parsed.description.strip())
        # A folder's README that only describes the folder is no file without questions; but one whose headings
        # at another level read as questions is a quiz at the wrong level, which the hint says.
        diagnostics.extend(source.diagnostics + tuple(
            d for d in parsed.diagnostics if not (describes and d.code == "no-questions")))
        decks.append(dataclasses.replace(parsed, describes_folder=describes) if describes else parsed)
    return ParsedLibrary(tuple(decks), tuple(diagnostics))


def parse_source(source: DeckSource, cache: StructureCache | None = None) -> ParsedDeck:
    """Split one deck's Markdown into question records and a description."""
    level = source.settings.question_level
    lines = source.text.split("\n")
    found = cached_structure(source.text, lines, cache)
    closings = {fence.last_line: fence for fence in found.unclosed}
    diagnostics: list[Diagnostic] = []
    questions: list[Question] = []
    description: list[str] = []
    sections: list[str] = []
    section_path: tuple[str, ...] = ()  # the non-empty ones
    current: tuple[Heading, str, HeadingAttributes] | None = None  # heading, title, attributes
    body_from = 0  # index of the first line of the current question's answer, or of the section
    in_section = False  # body_from is a section's heading (the file's top is not)

    def close(end: int) -> None:
        if current is None:
            _add_description(description, lines[body_from:end], in_section)
            return
        asked, title, attributes = current
        answer = _answer(lines, body_from, end, asked.containers, closings)
        first = body_from
        while first < end and not lines[first].strip():  # the answer starts at its first line with text
            first += 1
        answer = answer[first - body_from:]
        last = end - 1
        while last >= first and not lines[last].strip():
            last -= 1
        questions.append(Question(path=source.path, line=asked.line + 1, title=title,
                                  explicit_id=attributes.explicit_id, sections=section_path,
                                  answer="\n".join(answer).rstrip(), answer_line=first + 1, key=question_key(title),
                                  attributes=attributes, answer_end=last + 1 if last >= first else 0))

    elsewhere: dict[int, list[int]] = {}  # headings at other levels: how many, and of them ending in '?'
    for found_heading in found.headings:
        index, depth = found_heading.line, found_heading.level
        if depth != level:
            counts = elsewhere.setdefault(depth, [0, 0])
            counts[0] += 1
            counts[1] += (found_heading.text or "").endswith("?")
        if depth > level:
            continue
        close(index)
        title = (found_heading.text or "").strip()
        if depth < level:
            del sections[depth - 1:]
            sections.extend([""] * (depth - 1 - len(sections)))
            sections.append(title)
            section_path = tuple(section for section in sections if section)
            current, body_from, in_section = None, index, True
            continue
        title, attributes = heading_attributes(title)
        if not title:
            diagnostics.append(Diagnostic(source.path, index + 1, "question heading has no text", "error",
                                          "empty-heading"))
        problems = attributes.problems  # the first few: a heading may hold thousands
        diagnostics.extend(Diagnostic(source.path, index + 1, problem, code="unknown-attribute") for problem in (
            *problems[:PROBLEMS_SHOWN], *([f"and {len(problems) - PROBLEMS_SHOWN} more in this heading"]
                                          if len(problems) > PROBLEMS_SHOWN else [])))
        if attributes.new and (attributes.was_text is not None or attributes.was_guid):
            diagnostics.append(Diagnostic(source.path, index + 1, (
                "{new} and {was=…} contradict each other: a question is a new note or continues one"), "error",
                "new-and-was"))
        current, body_from = (found_heading, title, attributes), index + 1
    close(len(lines))

    diagnostics.extend(_question_warnings(questions))
    if max(map(len, lines)) > MAX_LINE:
        diagnostics.extend(
            Diagnostic(source.path, number, f"line too long ({len(text):,} characters; at most {MAX_LINE:,})",
                       "error", "line-too-long")
            for number, text in enumerate(lines, start=1) if len(text) > MAX_LINE)
    diagnostics.extend(said for fence in found.unclosed
                       if (said := _unclosed_fence(source.path, lines, fence, level)) is not None)
    if not questions:
        diagnostics.append(Diagnostic(source.path, 0, (
            f"no questions: no heading of level {level} ({'#' * level}) in this file"), "note", "no-questions"))
        diagnostics.extend(_question_level_hint(source.path, level, elsewhere))
    described = "\n".join(description).strip("\n")
    if len(described) > LARGE_DESCRIPTION and questions:
        diagnostics.append(Diagnostic(source.path, 0, (
            f"{len(described):,} characters of this file ({len(described) / len(source.text):.0%}) are under no "
            f"question and go to the deck's description, which Anki shows whole above the deck; questions at "
            f"another level than {'#' * level}? (see the question_level setting)"), "warning", "large-description"))
    return ParsedDeck(source=source, questions=tuple(questions), description=described,
                      diagnostics=tuple(sorted(diagnostics)))


def _answer(lines: list[str], start: int, end: int, containers: tuple[Container, ...],
            closings: dict[int, UnclosedFence]) -> list[str]:
    """Lines start:end of a question's answer, without the prefixes of the list items and quotes its question
    sits in, each code fence closed where CommonMark ends it (at the end of its list item, quote or file)."""
    answer = []
    for index in range(start, end):
        answer.append(strip_containers(lines[index], containers, index) if containers else lines[index])
        fence = closings.get(index)
        if fence is not None and fence.opening >= start:
            answer.append(strip_containers(fence.closing, containers, fence.opening) if containers else fence.closing)
    return answer


def _question_level_hint(path: Path, level: int, elsewhere: dict[int, list[int]]) -> list[Diagnostic]:
    """For a file with no question at its level: the level where most headings end in `?`, if at one level at
    least two and half of them do, and what setting makes them questions (a heading ending in `?` is what a
    reader would call a question)."""
    # A level is worth naming where at least two headings, and half of them, end in '?': one "Any questions?"
    # among a file's topics is no layout of questions.
    asked = {other: counts for other, counts in elsewhere.items() if counts[1] >= 2 and 2 * counts[1] >= counts[0]}
    if not asked:
        return []
    best = max(asked, key=lambda other: (asked[other][1], asked[other][0], other))
    count, questions = asked[best]
    return [Diagnostic(path, 0, (
        f"no heading of level {level} ({'#' * level}), but {count} at {'#' * best} ({questions} ending in '?'): "
        f"to make them questions, set question_level = {best} in {deck_settings_path(path).name} (this file's "
        "settings) or in a deckgen.toml of its folder"), "warning", "question-level")]


def _unclosed_fence(path: Path, lines: list[str], fence: UnclosedFence, level: int) -> Diagnostic | None:
    """A fence never closed runs to the end of the file, or of the list item it is in, as CommonMark says: a
    warning at the end of the file (none in an item, whose end is where a reader sees it end), or an error where
    it swallows a heading that would otherwise be a question or a section."""
    swallowed = next((i for i in range(fence.opening + 1, fence.last_line + 1)
                      if "#" in lines[i] and (h := heading(lines[i].lstrip(" \t"))) and h[0] <= level), None)
    where = "the end of the file" if fence.at_end else "the end of its list item"
    opening = lines[fence.opening].strip()
    pairing = PAIRING if not opening.strip("`~") and any(
        line.lstrip(" \t>").startswith(("```", "~~~")) for line in lines[:fence.opening]) else ""
    if swallowed is None:
        return Diagnostic(path, fence.opening + 1, (
            "this code fence is never closed, so it runs to the end of the file (as CommonMark says); close it "
            f"with a matching fence line{pairing}"), "warning", "unclosed-fence") if fence.at_end else None
    return Diagnostic(path, fence.opening + 1, (
        f"this code fence is never closed, so it runs to {where} and swallows the heading at line "
        f"{swallowed + 1} ({lines[swallowed].strip()[:60]!r}) and everything after it; close it with a matching "
        f"fence line{pairing}"), "error", "unclosed-fence")


def _add_description(description: list[str], block: list[str], has_heading: bool) -> None:
    """Keep a section's text (with its heading, when `block` starts with one) when it has any text of its own."""
    if any(text.strip() for text in block[1 if has_heading else 0:]):
        description.extend(block + [""])


def _question_warnings(questions: list[Question]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    first_seen: dict[tuple[str, tuple[str, ...]], Question] = {}
    first_with_id: dict[str, Question] = {}
    first_answer: dict[str, Question] = {}
    for question in questions:
        # Answers compare as written, as a copy and paste leaves them: squashed, they cost a tenth of a parse.
        if question.answer:
            other = first_answer.setdefault(question.answer, question)
            if other is not question:
                found.append(Diagnostic(question.path, question.line, (
                    f"same answer as the question at line {other.line} ({other.title}): "
                    "is one of them a mistake?"), code="duplicate-answer"))
        if question.explicit_id:
            other = first_with_id.setdefault(question.explicit_id, question)
            if other is not question:
                found.append(Diagnostic(question.path, question.line, (
                    f"explicit id {{#{question.explicit_id}}} is also used at line {other.line}: "
                    "each note needs its own"), "error", "duplicate-id"))
        if question.title and not question.answer:
            found.append(Diagnostic(question.path, question.line, f"question has no answer: {question.title}",
                                    code="empty-answer"))
        elif "](#" in question.answer and _only_links_into_the_page(question.answer):
            found.append(Diagnostic(question.path, question.line, (
                f"the answer to {question.title!r} is only links into this page: a table of contents? It becomes a "
                "card; make its heading a section (one # fewer) or take it out"), code="table-of-contents"))
        if not question.key:
            continue
        key = (question.key, question.sections)  # the same heading in another section is asked in its context
        if key in first_seen:
            found.append(Diagnostic(question.path, question.line,
                                    f"duplicate question (also at line {first_seen[key].line}): {question.title}",
                                    code="duplicate-question"))
        else:
            first_seen[key] = question
    return found


def _only_links_into_the_page(answer: str) -> bool:
    """Whether an answer is a table of contents: three links or more to headings of the page (`](#…)`), and no
    line of text without one but a table's header or rule, or a line of HTML (a `<details>` around it)."""
    lines = [line.strip() for line in answer.split("\n") if line.strip()]
    linked = sum("](#" in line for line in lines)
    return linked >= 3 and all("](#" in line or line.startswith(("|", "<")) or not line.strip("-|: ")
                               for line in lines)


def unbalanced_math(text: str) -> list[tuple[int, str]]:
    """(line offset, delimiter) of each math delimiter left without its partner (see
    `syntax.lone_math_delimiters`)."""
    if "$$" not in text and ("\\" not in text or not LONE_DELIMITER_RE.search(text)):
        return []  # the common case, found fast: no delimiter at all
    scanned = scan(text)
    text, found, line, counted = scanned.prose, {}, 0, 0  # lines counted as the delimiters come, left to right
    for match in lone_math_delimiters(scanned):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        found.setdefault((line, match.group(0)), None)  # each delimiter once a line
    return list(found)
