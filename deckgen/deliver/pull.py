"""`deckgen pull`: edits made in Anki to notes whose source has not changed since delivery, written into the
Markdown at the question's lines (see `edits` for how an edit is carried over, and checked).

Only notes `status` finds edited in Anki (the source unchanged since the last build, so what was delivered is
known exactly) are pulled: a conflict (the source changed too) is shown, never settled unless asked to take
Anki's copy over what the source says now (`take_anki`). A pulled note's record
line says when Anki last changed it (`NoteRecord.pulled`): the next build stamps the note with that time, so the
collection the edit came from, which holds it already, skips it, and every other collection takes it as an
update, its history intact. Files with uncommitted changes (in a git work tree) are left alone unless told
otherwise, and everything is written together, or nothing (see `output.staging`).
"""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import msgspec

from ..errors import DeckgenError
from ..identify.record import IdentityRecord, write_record_to
from ..parse.questions import Question
from ..plan.model import BuildPlan, PackageNote
from ..render.card_html import without_context
from ..render.media import MediaResolver
from ..render.renderer import MarkdownRenderer
from .collection import edited_fields, note_hash
from .edits import LONGEST, carry_edit
from .status import LibraryStatus, NoteStatus


@dataclass(frozen=True)
class Pulled:
    """One note's edit, as it goes into its file."""

    note: NoteStatus
    path: Path
    before: str
    """The lines of the file the edit changes, as they are."""
    after: str
    first_line: int
    html: str
    """The note's `html` hash as the next build makes it from the edited Markdown."""


@dataclass
class PullReport:
    status: LibraryStatus
    pulled: list[Pulled] = field(default_factory=list)
    by_hand: list[tuple[NoteStatus, str]] = field(default_factory=list)
    """Edited notes whose edit is not carried over, and why: each needs a hand edit."""
    dirty: list[NoteStatus] = field(default_factory=list)
    """Edited notes in files with uncommitted changes, left alone."""
    written: bool = False


def plan_pull(plan: BuildPlan, status: LibraryStatus, root: Path, take_anki: bool = False) -> PullReport:
    """How each edited note of `status` goes into its Markdown (nothing written); with `take_anki`, each conflict
    too, Anki's copy replacing what the source says now."""
    report = PullReport(status)
    packaged = {note.guid: note for version in plan.packages for note in version.package.notes}
    edited = {note.guid: note for note in status.notes if note.state == "edited"}
    if take_anki:  # what Anki holds against what the source says now, field by field
        edited.update((note.guid, replace(note, fields=edited_fields(note.anki, packaged[note.guid].fields)))
                      for note in status.notes if note.state == "conflict")
    if not any(note.fields for note in edited.values()):
        return report
    renderer = MarkdownRenderer(MediaResolver(root))
    texts: dict[Path, str] = {}
    for version in plan.packages:
        for part in version.decks:
            for rendered in part.deck.notes:
                note = edited.get(rendered.identified.guid)
                if note is None or not note.fields:
                    continue
                question = rendered.identified.question
                try:
                    if question.path not in texts:
                        texts[question.path] = _text(question.path)
                except (OSError, UnicodeDecodeError) as err:
                    report.by_hand.append((note, f"its file cannot be read ({err})"))
                    continue
                found = _pulled(note, question, packaged[note.guid], texts[question.path], renderer)
                if isinstance(found, str):
                    report.by_hand.append((note, found))
                else:
                    report.pulled.append(found)
    return report


def _pulled(note: NoteStatus, question: Question, packaged: PackageNote, text: str,
            renderer: MarkdownRenderer) -> Pulled | str:
    """The edit of `note` as a change of its file's lines, or why it cannot be carried over."""
    if "Tags" in note.fields:
        return "a tag deckgen wrote was taken off in Anki (tags are not pulled: change them in the Markdown)"
    folder = question.path.parent
    lines = text.splitlines(keepends=True)
    heading = lines[question.line - 1]
    if question.title not in heading:
        return "its question is not written in its file as it is read"
    title, answer = question.title, question.answer
    if "Question" in note.fields:
        title = carry_edit(title, without_context(packaged.fields[0]), without_context(note.anki[0]),
                           lambda md: renderer.render(md, inline=True, folder=folder).html)
        if title is None or "\n" in title:
            return "the edit of its question could not be carried over"
    if "Answer" in note.fields and max(len(packaged.fields[1]), len(note.anki[1])) > LONGEST:
        return f"its answer is over {LONGEST:,} characters of HTML, too long to compare"
    if "Answer" in note.fields:
        answer = carry_edit(answer, packaged.fields[1], note.anki[1],
                            lambda md: renderer.render(md, folder=folder).html)
        if answer is None:
            return "the edit of its answer could not be carried over"
    first, last = question.line, max(question.answer_end, question.line)
    after = heading.replace(question.title, title, 1)
    if question.answer_end:
        region = _patched(lines[question.answer_line - 1:question.answer_end], question.answer, answer)
        if region is None:
            return "the lines its edit changes are not written in its file as they are read (a <details> block?)"
        after += "".join(lines[first:question.answer_line - 1]) + region
    context = packaged.fields[0][:len(packaged.fields[0]) - len(without_context(packaged.fields[0]))]
    fields = (context + renderer.render(title, inline=True, folder=folder).html,
              renderer.render(answer, folder=folder).html)
    return Pulled(note, question.path, "".join(lines[first - 1:last]), after, first,
                  note_hash(fields, packaged.tags))


def _patched(region: list[str], old: str, new: str) -> str | None:
    """The lines of a file that hold the answer `old` (as it is read: indented under a numbered question, say, or
    without the end of a code block the file leaves open), changed line by line as `old` is into `new`; None when
    a line to change is not in the file as it is read."""
    newline = "\r\n" if any(line.endswith("\r\n") for line in region) else "\n"
    bare = [line.rstrip("\r\n") for line in region]
    spaces = [len(line) - len(line.lstrip(" ")) for line in bare if line.strip()]
    indent = " " * min(spaces, default=0)
    read = [line[len(indent):] if line.startswith(indent) else line.strip() for line in bare]
    old_lines, new_lines = old.split("\n"), new.split("\n")
    where = {}  # a line of `old`: its line in the region
    for a, b, size in difflib.SequenceMatcher(None, old_lines, read, autojunk=False).get_matching_blocks():
        where.update((a + k, b + k) for k in range(size))
    changes = []
    for tag, a1, a2, n1, n2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if a2 > a1:
            if any(k not in where for k in range(a1, a2)) or where[a2 - 1] - where[a1] != a2 - 1 - a1:
                return None
            r1, r2 = where[a1], where[a2 - 1] + 1
        elif a1 - 1 in where or a1 in where:
            r1 = r2 = where[a1 - 1] + 1 if a1 - 1 in where else where[a1]
        else:
            return None
        changes.append((r1, r2, [indent + line if line.strip() else "" for line in new_lines[n1:n2]]))
    for r1, r2, lines in sorted(changes, reverse=True):
        bare[r1:r2] = lines
    ending = region[-1][len(region[-1].rstrip("\r\n")):] if region else ""
    return newline.join(bare) + ending


def uncommitted(paths: list[Path], root: Path) -> set[Path]:
    """Those of `paths` with changes git has not committed (none when `root` is in no git work tree)."""
    try:
        found = subprocess.run(["git", "status", "--porcelain", "-z", "--untracked-files=all", "--",
                                *(str(path.resolve()) for path in paths)], cwd=root, capture_output=True,
                               timeout=60)  # absolute: git runs in `root`, not where the paths start
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True,
                             timeout=60)
    except OSError:  # no git here: no work tree either
        return set()
    except subprocess.TimeoutExpired:
        raise DeckgenError(f"{root}: git status took over a minute; nothing was written (--allow-dirty writes "
                           "without asking git)") from None
    if top.returncode:  # not in a git work tree
        return set()
    if found.returncode:
        raise DeckgenError(f"{root}: git status failed ({found.stderr.decode(errors='replace').strip()}); nothing "
                           "was written (--allow-dirty writes without asking git)")
    base = Path(top.stdout.strip())
    changed = {(base / entry[3:].decode("utf-8", "surrogateescape")).resolve()
               for entry in found.stdout.split(b"\0") if len(entry) > 3}
    return {path for path in paths if path.resolve() in changed}


def leave_out_dirty(report: PullReport, root: Path) -> None:
    """Move the edits of files with uncommitted changes to `report.dirty`."""
    dirty = uncommitted(sorted({pulled.path for pulled in report.pulled}), root)
    report.dirty += [pulled.note for pulled in report.pulled if pulled.path in dirty]
    report.pulled = [pulled for pulled in report.pulled if pulled.path not in dirty]


def _text(path: Path) -> str:
    """A notes file's text with its line ends as they are (`read_text` would make Windows' ones Unix')."""
    return path.read_bytes().decode("utf-8")


def edited_files(report: PullReport) -> dict[Path, tuple[str, str]]:
    """Each file the pull changes: its text as it is, and with the edits."""
    by_file: dict[Path, list[Pulled]] = {}
    for pulled in report.pulled:
        by_file.setdefault(pulled.path, []).append(pulled)
    found = {}
    for path, edits in by_file.items():
        text = _text(path)
        lines = text.splitlines(keepends=True)
        for pulled in sorted(edits, key=lambda p: p.first_line, reverse=True):
            at, count = pulled.first_line - 1, len(pulled.before.splitlines(keepends=True))
            if "".join(lines[at:at + count]) != pulled.before:
                raise DeckgenError(f"{path}:{pulled.first_line}: the file changed while deckgen pull read it; "
                                   "nothing was written. Run deckgen pull again")
            lines[at:at + count] = [pulled.after]
        found[path] = (text, "".join(lines))
    return found


def write_pull(report: PullReport, record: IdentityRecord, record_path: Path, files) -> None:
    """Stage each file with its edits, and the identity record with each pulled note's time (see the module)."""
    for path, (_, text) in edited_files(report).items():
        files.stage(path, text.encode("utf-8"))
    notes = dict(record.notes)
    for pulled in report.pulled:
        old = notes[pulled.note.guid]
        notes[pulled.note.guid] = msgspec.structs.replace(old, pulled=pulled.note.anki_mtime, pulled_html=pulled.html)
    files.stage(record_path, partial(write_record_to, replace(record, notes=notes), previous=record))
    report.written = True
