"""Knowing, without building, that a build would change nothing.

After each build, a stamp in the cache folder (see `places`) records a fingerprint of
everything the build read (deck files, settings, the identity record, the
images it bundled, the code of deckgen and of its renderers and writer) and
what it wrote. If all of that is the same next time, the outputs are up to
date: `build_decks(..., skip_unchanged=True)` says so and writes nothing,
without loading Markdown or genanki. Only the standard library is used here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic
from ..hashing import digest as digest_of, stream
from ..places import output_folder, stamp_path
from ..reading import MARKDOWN_LIMIT, file_status, known_digest, read_with_status
from ..render import cache as render_cache
from ..sources.library import Library, author_files, find_library, walk
from .staging import atomic_write

WRITER = ("genanki", "genanki")


def _stamp_path(library: Library) -> Path:
    """The stamp of the builds of `library` (of its one file, for a file's build) into its output folder."""
    return stamp_path(library.decks[0].path if library.single_file and library.decks else library.root,
                      library.output)


class Fingerprint(str):
    """A hash of files (see `_hash`), with what the next stamp keeps of each: its status and content hash; and
    what the last stamp kept, which it was taken against (`known`)."""

    files: dict[str, list]
    known: dict


def sources_fingerprint(library: Library, known: dict | None = None) -> Fingerprint:
    """Hash of the files an author writes (decks, settings) and of the code that reads them.

    A build takes it before reading anything, so a deck saved while the build
    runs makes the next check see a change. A file whose status is the one
    the last stamp records is not read again (see `_hash`).
    """
    signature = render_cache.code_signature((*render_cache.RENDERERS.items(), WRITER))
    code = f"{signature}|render {render_cache.RENDER_VERSION}"  # the render version decides what a build says
    return _hash(code, author_files(library), _known(library) if known is None else known)


_TAKEN: dict[str, Fingerprint] = {}
"""The sources fingerprint `up_to_date` took last, by stamp, when it found a change: see `build_fingerprint`."""


def build_fingerprint(library: Library) -> Fingerprint:
    """The sources fingerprint a build of `library` records: the one the check before it took, when it found a
    change and every file still has the status it had then; else a new one."""
    taken = _TAKEN.pop(str(_stamp_path(library)), None)
    if taken is not None and all(file_status(path) == (taken.files[str(path)][:5] if str(path) in taken.files
                                                       else None) for path in author_files(library)):
        return taken
    return sources_fingerprint(library)


def _written_fingerprint(library: Library, media: list[str], known: dict) -> Fingerprint:
    """Hash of the images the last build bundled, and the size and time of the identity record files and the
    folder's settings, which builds write (and git, or their author, giving them a new time): reading a large
    record would cost more than its check, and the settings may be made by the very build that is checked."""
    records = [_signature(path) for path in (library.record_path, library.settings_path, *library.legacy_records)]
    return _hash(json.dumps(records), [Path(m) for m in media], known)


def _hash(start: str, files: list[Path], known: dict) -> Fingerprint:
    """Hash of `start` and of each file's name and content (or of its absence), its links followed.

    A file is read only when `known` (the last stamp's `files`) does not know
    its content (see `reading.known_digest`: it lacks the file, knew it with
    another status, or hashed it too soon after its last change). So a build
    that changed nothing reads none of a thousand notes, and one after an edit
    reads the edited file (`--rerender`, or deleting the cache folder, reads
    everything). The images bundled are known so to the next build's
    rendering too (see `render.media.MediaResolver`).
    """
    digest, found, now = stream(), {}, time.time_ns()
    digest.update(start.encode("utf-8"))
    for path in files:
        name = str(path)
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        status, entry = file_status(path), known.get(name)
        content = known_digest(entry, status)
        if content is not None:
            taken = entry[5]  # unchanged since it was read long enough after its last change
        elif status is None:
            content = None  # not there (a deck's settings file often is not)
        else:  # the status kept is that of the very file read (a folder renamed meanwhile leaves no other's)
            try:
                data, status = read_with_status(path, MARKDOWN_LIMIT, follow=True)
                content, taken = digest_of(data), now
            except OSError:
                content = None
        if content is None:
            digest.update(b"\0missing\0")
        else:
            digest.update(content.encode("ascii"))
            if status is not None:
                found[name] = [*status, taken, content]
    fingerprint = Fingerprint(digest.hexdigest())
    fingerprint.files, fingerprint.known = found, known
    return fingerprint


def _named(library: Library, names: list[str]) -> list[str]:
    """The files of the library whose names, ignoring case, are `names`: those of the images the last build
    looked for by name anywhere in it, as Obsidian does (see `MediaResolver.looked_for`), one of which appearing
    or going may change what it finds; the library walked only when there are such names."""
    wanted = set(names)
    return sorted(str(folder.path / name) for folder in walk(library.root) for name in folder.files
                  if name.casefold() in wanted) if wanted else []


def _known(library: Library) -> dict:
    """What the last stamp keeps of each file it hashed (see `_hash`), or nothing."""
    try:
        files = json.loads(_stamp_path(library).read_text(encoding="utf-8")).get("files")
        return files if type(files) is dict else {}
    except (OSError, ValueError, AttributeError, RecursionError):  # a damaged stamp is no stamp
        return {}


def write_stamp(library: Library, sources: Fingerprint, media: list[str], by_name: list[str], outputs: list[Path],
                lines: list[str], warnings: list[str], said: dict | None = None) -> None:
    """Record what a build read (`sources`: its fingerprint taken before reading; `media`: the image files it
    watches; `by_name`: the names, in lower case, of the images it looked for anywhere in the library, see
    `_named`) and wrote, and what else it said (`said`: what `deckgen check` would say of it, `"check"`, and the
    errors that held files back, `"held"`).

    Best effort: without a stamp the next build is only slower.
    """
    written = _written_fingerprint(library, media, sources.known)  # the last stamp, read once
    record = {"sources": sources, "written": written, "media": media,
              "by_name": by_name, "named": _named(library, by_name),
              "outputs": {str(p): _signature(p) for p in outputs}, "lines": lines, "warnings": warnings,
              **(said or {}), "files": {**sources.files, **written.files}}
    try:  # in ASCII: a name that is not UTF-8 (made on another system) is kept as an escape, not refused
        atomic_write(_stamp_path(library), json.dumps(record).encode("ascii"))
    except OSError:
        pass


def forget_stamp(library: Library) -> None:
    """Remove the last build's stamp (best effort): the next build reads every file again, and takes no digest
    from it."""
    try:
        _stamp_path(library).unlink(missing_ok=True)
    except OSError:
        pass


def library_to_build(source: Path, out_dir: Path) -> Library:
    """The library a build of `source` into `out_dir` covers, the output folder checked (see `places`)."""
    library = find_library(source, out_dir)
    output_folder(out_dir)
    return library


def last_build(library: Library, allow_new_note_type: bool = False, rerender: bool = False) -> dict | None:
    """The last build's record (see `up_to_date`) when a build of `library` into its output folder would change
    nothing; else None, and always when asked for what the last build did not do (a new note type, deckgen's
    new rendering). The command line asks it before the pipeline is even loaded, and without the library's
    lock: it only reads, and what it reads checks itself (a build under way has changed an output the stamp
    does not know yet, or has not, and then the last build is still what the folder holds)."""
    return None if allow_new_note_type or rerender else up_to_date(library)


def up_to_date(library: Library) -> dict | None:
    """The last build's record if nothing it read or wrote has changed since; else None."""
    try:
        record = json.loads(_stamp_path(library).read_text(encoding="utf-8"))
        if any(_signature(Path(p)) != signature for p, signature in record["outputs"].items()):
            return None
        known = record.get("files") if type(record.get("files")) is dict else {}
        sources = sources_fingerprint(library, known)
        if record["sources"] != sources:
            _TAKEN[str(_stamp_path(library))] = sources
            return None
        if record["written"] != _written_fingerprint(library, record["media"], known):
            return None
        if _named(library, record.get("by_name", [])) != record.get("named", []):
            return None  # an image looked for by name appeared somewhere, or one of its name went
        return record
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


@dataclass(frozen=True)
class CheckReport:
    """What `deckgen check` says: every problem a build would meet, and the cards of each deck file."""

    diagnostics: tuple[Diagnostic, ...]
    files: tuple[tuple[Path, int, int, int], ...]
    """(deck file, questions, cards, characters of description) of every deck a build would make, in path order."""

    def to_stamp(self, trust_record: bool, found: tuple[Diagnostic, ...] = ()) -> dict:
        """As the stamp keeps it, for a check after a build that changed nothing: without what the build itself
        changed (said once, and then true no more), nor what finding the library said (`found`: said afresh
        each time, see `last_check`)."""
        return {"trust_record": trust_record, "files": [[str(path), *counts] for path, *counts in self.files],
                "diagnostics": [d.to_json() for d in self.diagnostics if not d.once and d not in found]}


def last_check(library: Library, allow_new_note_type: bool = False, trust_record: bool = False
               ) -> CheckReport | None:
    """What `deckgen check` says of `library` when nothing a build reads has changed since the last build into
    its output folder (see `last_build`) and that build read the record as this check would (`trust_record`);
    else None. Only the standard library is loaded."""
    last = last_build(library, allow_new_note_type) if library.output is not None else None
    try:
        kept = last["check"]
        if kept["trust_record"] != trust_record:
            return None
        files = tuple((Path(path), *counts) for path, *counts in kept["files"])
        if not all(len(row) == 4 and all(type(count) is int for count in row[1:]) for row in files):
            return None  # not as a build writes it: the check runs
        return CheckReport(tuple(sorted((*library.diagnostics, *_diagnostics(kept["diagnostics"])))), files)
    except (KeyError, TypeError, ValueError):
        return None  # no build, something changed, held files, or a stamp of an earlier deckgen: the check runs


def held_back(last: dict) -> tuple[Diagnostic, ...]:
    """The errors that held files back in the build whose stamp is `last` (see `last_build`), said again."""
    try:
        return _diagnostics(last.get("held") or ())
    except (KeyError, TypeError, ValueError):
        return ()


def _diagnostics(kept) -> tuple[Diagnostic, ...]:
    return tuple(Diagnostic(**{**d, "path": Path(d["path"])}) for d in kept)


def _signature(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]
    except OSError:
        return None
