"""Whether the notes an identity record holds are this notes folder's own: a record may not claim other decks' notes.

The record is committed with the notes, so a cloned repository decides what
it holds; the GUIDs of another deck's notes are public (in that deck's own
record), and a package updates any note whose GUID it carries. So a note of
the record is taken as this folder's only when its GUID shows it, surest
first:

1. the record says what the GUID was minted from (`NoteRecord.minted`, written
   for every note minted since deckgen 0.3), and this folder's namespace mints
   that very GUID from it;
2. this machine built the note before (what it delivered is kept outside the
   library, see `delivered`): it is trusted as it is;
3. notes minted before `minted` was recorded: the namespace mints the GUID from
   what the record says now (the note was never reworded), or deckgen 0.1's
   rule does (from a package's slug and the question, as 0.1 kept them); or,
   where the notes folder is in a git repository, from what an earlier commit
   of the record said of it (`minted_in_history`: no history, whoever wrote
   it, can make a namespace mint a GUID it does not).

What stays possible by design: a copy of the folder with its `deckgen.toml`
(a fork) shares its namespace, and so its notes; and any package at all can
update a note whose GUID it knows. A note none of this vouches for is refused
(`foreign_notes`); `deckgen build --trust-record` accepts them, once, on a
machine that has never built the folder (the author's own folder, first built
elsewhere by an older deckgen, its notes reworded since).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path

import msgspec

from .identity_file import IdentityRecord, NoteRecord
from .ids import note_guid, stable_hash
from .syntax import question_key

OCCURRENCES = 8  # identical questions of one deck minted before `minted` was recorded: the 1st to 8th are found


def minted_from(kind: str, deck: str, note_type: int, text: str, occurrence: int) -> tuple[str, ...]:
    """What a new note's GUID is minted from (see `ids.note_guid`), as the record keeps it."""
    return kind, deck, str(note_type), text, str(occurrence)


def foreign_notes(record: IdentityRecord, namespace: str | None, delivered: Iterable[str] = ()) -> list[NoteRecord]:
    """The notes of `record` that nothing shows to be this folder's (see the module), by GUID; `delivered`: the
    GUIDs this machine built before."""
    delivered = set(delivered)
    foreign = []
    for guid, note in record.notes.items():
        if guid in delivered:
            continue
        if note.minted:
            if not _mints(namespace, note.minted, guid):
                foreign.append(note)
        elif not _minted_before(record, namespace, note):
            foreign.append(note)
    return sorted(foreign, key=lambda note: note.guid)


HISTORY_COMMITS = 2000  # the most commits of the record looked at
HISTORY_SECONDS = 60


def minted_in_history(root: Path, record_path: Path, record: IdentityRecord, namespace: str | None,
                      notes: list[NoteRecord]) -> set[str]:
    """The GUIDs of `notes` that the namespace mints from what an earlier commit of the record (in the git
    repository `root` is in) said of them, newest first; empty without git or a repository.

    Only git's plumbing is run, with hooks and the file-system monitor off, so that a repository from
    anywhere runs nothing of its own; a repository git refuses (another user's) proves nothing.
    """
    import shutil
    import subprocess

    left = {note.guid for note in notes if not note.minted}
    git = shutil.which("git")
    if not left or git is None or namespace is None:
        return set()
    command = [git, "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "--no-pager", "-C", str(root)]
    try:
        prefix = subprocess.run([*command, "rev-parse", "--show-prefix"], capture_output=True, text=True,
                                timeout=HISTORY_SECONDS, check=True).stdout.strip()
        relative = record_path.relative_to(root).as_posix()
        commits = subprocess.run([*command, "rev-list", f"--max-count={HISTORY_COMMITS}", "HEAD", "--", relative],
                                 capture_output=True, text=True, timeout=HISTORY_SECONDS, check=True).stdout.split()
        if not commits:
            return set()
        blobs = subprocess.run([*command, "cat-file", "--batch"], input="".join(
            f"{commit}:{prefix}{relative}\n" for commit in commits).encode(), capture_output=True,
            timeout=HISTORY_SECONDS, check=True).stdout
    except (OSError, ValueError, subprocess.SubprocessError):
        return set()
    proven: set[str] = set()
    for content in _batch_contents(blobs):
        for line in content.split(b"\n"):
            if not line.startswith(b'{"guid":"') or line[9:line.find(b'"', 9)].decode("utf-8", "replace") not in left:
                continue
            try:
                earlier = msgspec.json.decode(line, type=NoteRecord)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                continue
            if _minted_before(record, namespace, earlier):
                proven.add(earlier.guid)
                left.discard(earlier.guid)
        if not left:
            break
    return proven


def _batch_contents(output: bytes):
    """The contents `git cat-file --batch` gave, in order (an object it did not find gives none)."""
    position = 0
    while position < len(output):
        end = output.find(b"\n", position)
        header = output[position:end].split()
        if len(header) != 3:  # "<name> missing"
            position = end + 1
            continue
        size = int(header[2])
        yield output[end + 1:end + 1 + size]
        position = end + 1 + size + 1


def _mints(namespace: str | None, minted: tuple[str, ...], guid: str) -> bool:
    if namespace is None or len(minted) != 5 or not minted[2].isdigit() or not minted[4].isdigit():
        return False
    kind, deck, note_type, text, occurrence = minted
    return note_guid(namespace, deck, int(note_type), kind, text, int(occurrence)) == guid


def _minted_before(record: IdentityRecord, namespace: str | None, note: NoteRecord) -> bool:
    """Whether the namespace (or deckgen 0.1's rule) mints the note's GUID from what the record says now."""
    kind, text = ("id", note.explicit_id) if note.explicit_id else ("question", question_key(note.question))
    models = {model for model in (note.model, record.decks[note.deck].model if note.deck in record.decks else None)
              if model is not None} or set(record.note_types)
    for occurrence in range(1, OCCURRENCES + 1):
        if namespace is not None and any(note_guid(namespace, note.deck, model, kind, text, occurrence) == note.guid
                                         for model in models):
            return True
        if any(_guid_of_0_1(slug, kind, text, occurrence) == note.guid
               for slug in _slugs_of_0_1(record, note, models)):
            return True
    return False


def _slugs_of_0_1(record: IdentityRecord, note: NoteRecord, models: set[int]) -> list[str]:
    """What deckgen 0.1 may have minted a note's GUID under: its deck's slug (0.1 made a package of each deck,
    under its slug: the record's package keys; or that of the deck's file name), followed by `@` and the note
    type's id for a note type other than Basic."""
    from .note_types import BASIC_MODEL_ID
    from .settings import default_slug

    slugs = {*record.packages, default_slug(note.deck.rsplit("/", 1)[-1])}
    return sorted(slugs | {f"{slug}@{model}" for slug in slugs for model in models if model != BASIC_MODEL_ID})


def _guid_of_0_1(slug: str, kind: str, text: str, occurrence: int) -> str:
    """deckgen 0.1's GUID of a new note (its `identity.new_guid`)."""
    return base64.b32encode(stable_hash(kind, slug, text, str(occurrence))[:10]).decode("ascii").lower()
