"""Whether the notes an identity record holds are this notes folder's own: a record may not claim other decks' notes.

The record is committed with the notes, so a cloned repository decides what
it holds; the GUIDs of another deck's notes are public (in that deck's own
record), and a package updates any note whose GUID it carries. So a note of
the record is taken as this folder's only when something shows it (`proof`):

1. this folder's namespace mints its GUID (see `ids.note_guid`) from what the
   record says of it now (its deck, note type and question or explicit id),
   as for every note never reworded or moved since it was minted;
2. or from what the record says it was minted from (`NoteRecord.minted`,
   written when a note is first reworded or moved, since what it was minted
   from is then no longer in the record, and for a note minted as the second
   of identical questions);
3. or from what an earlier git commit of the record said of it, where the
   notes folder is in a git repository (`minted_in_history`, for notes
   reworded before deckgen 0.3 recorded `minted`): no history, whoever wrote
   it, makes a namespace mint a GUID it does not;
4. or this machine built the note before (what it delivered is kept outside the
   library, see `delivered`): it is trusted as it is.

Notes first built by deckgen 0.1, before namespaces, have GUIDs minted from
their deck's slug and question alone (0.1's rule, checked as 1 and 2 are):
anyone can mint those, so a record may claim them as 0.2 let it. What stays
possible by design: a copy of the folder with its `deckgen.toml` (a fork)
shares its namespace, and so its notes; and any package at all can update a
note whose GUID it knows. A note nothing vouches for is refused
(`foreign_notes`); `deckgen build --trust-record` accepts them (the author's
own folder, first built elsewhere by an older deckgen, with no git history).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from ..hashing import raw_digest
from ..names import default_slug
from ..parse.syntax import question_key
from .ids import note_guid
from .note_types import BASIC_MODEL_ID
from .record import IdentityRecord, NoteRecord

OCCURRENCES = 8  # identical questions of one deck minted before `minted` was recorded: the 1st to 8th are found
RULE_0_1 = "0.1"  # what `minted` starts with for a GUID of deckgen 0.1's rule
HISTORY_COMMITS = 2000  # the most commits of the record looked at
HISTORY_SECONDS = 60

Minted = tuple[str, ...]
"""What a GUID is minted from: (kind, deck, note type, text, occurrence) for a namespace's (see `ids.note_guid`),
or ("0.1", slug, kind, text, occurrence) for deckgen 0.1's rule."""


def minted_from(kind: str, deck: str, note_type: int, text: str, occurrence: int) -> Minted:
    """What a new note's GUID is minted from, as the record keeps it."""
    return kind, deck, str(note_type), text, str(occurrence)


def proof(record: IdentityRecord, namespace: str | None, note: NoteRecord) -> Minted | None:
    """What shows the note's GUID to be this folder's (see the module, 1 and 2), or None; `record` gives the
    decks, note types and packages it may have been minted under."""
    if note.minted and _mints(namespace, note.minted, note.guid):
        return note.minted
    kind, text = ("id", note.explicit_id) if note.explicit_id else ("question", question_key(note.question))
    models = {model for model in (note.model, record.decks[note.deck].model if note.deck in record.decks else None)
              if model is not None} or set(record.note_types)
    slugs = _slugs_of_0_1(record, note, models)
    for occurrence in range(1, OCCURRENCES + 1):
        if namespace is not None:
            for model in sorted(models):
                if note_guid(namespace, note.deck, model, kind, text, occurrence) == note.guid:
                    return minted_from(kind, note.deck, model, text, occurrence)
        for slug in slugs:
            if _guid_of_0_1(slug, kind, text, occurrence) == note.guid:
                return RULE_0_1, slug, kind, text, str(occurrence)
    return None


def foreign_notes(record: IdentityRecord, namespace: str | None, vouched: Iterable[str] = ()) -> list[NoteRecord]:
    """The notes of `record` that nothing shows to be this folder's (see the module), by GUID; `vouched`: the
    GUIDs this machine built before."""
    vouched = set(vouched)
    return sorted((note for guid, note in record.notes.items()
                   if guid not in vouched and proof(record, namespace, note) is None), key=lambda note: note.guid)


def _mints(namespace: str | None, minted: Minted, guid: str) -> bool:
    if len(minted) != 5 or not minted[4].isdigit():
        return False
    if minted[0] == RULE_0_1:
        return _guid_of_0_1(minted[1], minted[2], minted[3], int(minted[4])) == guid
    kind, deck, note_type, text, occurrence = minted
    return namespace is not None and note_type.isdigit() and \
        note_guid(namespace, deck, int(note_type), kind, text, int(occurrence)) == guid


def _slugs_of_0_1(record: IdentityRecord, note: NoteRecord, models: set[int]) -> list[str]:
    """What deckgen 0.1 may have minted a note's GUID under: its deck's slug (0.1 made a package of each deck,
    under its slug: the record's package keys; or that of the deck's file name), followed by `@` and the note
    type's id for a note type other than Basic."""
    slugs = {*record.packages, default_slug(note.deck.rsplit("/", 1)[-1])}
    return sorted(slugs | {f"{slug}@{model}" for slug in slugs for model in models if model != BASIC_MODEL_ID})


def _guid_of_0_1(slug: str, kind: str, text: str, occurrence: int) -> str:
    """deckgen 0.1's GUID of a new note (its `identity.new_guid`)."""
    return base64.b32encode(raw_digest(kind, slug, text, str(occurrence))[:10]).decode("ascii").lower()


def minted_in_history(root: Path, record_path: Path, record: IdentityRecord, namespace: str | None,
                      notes: list[NoteRecord]) -> dict[str, Minted]:
    """For the notes of `notes` that an earlier commit of the record (in the git repository `root` is in) shows
    to be this folder's (see `proof`), what their GUIDs were minted from; newest commits first, each read in
    turn, stopping once all are shown. Empty without git or a repository (a shallow clone shows what it has).

    Only git's plumbing runs, found on PATH (never in the notes folder or the current one), with hooks and the
    file-system monitor off, so that a repository from anywhere runs nothing of its own; a repository git
    refuses (another user's) shows nothing.
    """
    import subprocess

    left = {note.guid for note in notes}
    git = _git()
    if not left or git is None:
        return {}
    command = [git, "-c", "core.fsmonitor=false", "-c", "core.hooksPath=" + os.devnull, "--no-pager", "-C",
               str(root)]
    try:
        prefix = subprocess.run([*command, "rev-parse", "--show-prefix"], capture_output=True, text=True,
                                timeout=HISTORY_SECONDS, check=True).stdout.strip()
        relative = record_path.relative_to(root).as_posix()
        commits = subprocess.run([*command, "rev-list", f"--max-count={HISTORY_COMMITS}", "HEAD", "--", relative],
                                 capture_output=True, text=True, timeout=HISTORY_SECONDS, check=True).stdout.split()
    except (OSError, ValueError, subprocess.SubprocessError):
        return {}
    proven: dict[str, Minted] = {}
    for content in _contents(command, [f"{commit}:{prefix}{relative}" for commit in commits]):
        for line in content.split(b"\n"):
            if not line.startswith(b'{"guid":"') or line[9:line.find(b'"', 9)].decode("utf-8", "replace") not in left:
                continue
            try:
                earlier = msgspec.json.decode(line, type=NoteRecord)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                continue
            shown = proof(record, namespace, earlier)
            if shown is not None:
                proven[earlier.guid] = shown
                left.discard(earlier.guid)
        if not left:
            break
    return proven


def _contents(command: list[str], objects: list[str]) -> Iterator[bytes]:
    """The contents of git's `objects`, one at a time (`git cat-file --batch`: one is asked for once the one
    before is read, so that no more than one is held at once); an object git does not have gives none."""
    import subprocess

    if not objects:
        return
    with subprocess.Popen([*command, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as batch:
        try:
            for name in objects:
                batch.stdin.write(name.encode("utf-8") + b"\n")
                batch.stdin.flush()
                header = batch.stdout.readline().split()
                if len(header) != 3 or not header[2].isdigit():  # "<name> missing"
                    continue
                content = batch.stdout.read(int(header[2]))
                batch.stdout.read(1)  # the line end after it
                yield content
        except OSError:
            return
        finally:
            batch.stdin.close()
            batch.kill()


def _git() -> str | None:
    """git's path from PATH alone: never a `git` in the current folder, as Windows would take first (a cloned
    repository could hold one)."""
    names = ["git"] + [f"git{suffix}" for suffix in os.environ.get("PATHEXT", "").split(os.pathsep) if suffix] \
        if os.name == "nt" else ["git"]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or not os.path.isabs(folder) or os.path.abspath(folder) == os.path.abspath(os.curdir):
            continue
        for name in names:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None
