"""The per-package changelog in build/: what each version added, changed, renamed and removed."""

from __future__ import annotations

import errno
import re
import time
from pathlib import Path

from ..plan.model import CHANGE_KINDS, NoteChange, VersionPlan
from ..reading import MIB, read_regular

CHANGELOG_LIMIT = 64 * MIB

HEADINGS = {"new": "Added", "changed": "Changed", "renamed": "Renamed", "restored": "Restored", "removed": "Removed",
            "replaced": "Left behind by the new note type (tagged deckgen::replaced)"}
RENDERING_HEADING = "Updated for deckgen's new rendering"
CLEANING_HEADING = "Updated: deckgen's cleaning now removes what Anki would run, load or act on in them"


def version_entry(plan: VersionPlan, now: float) -> str:
    """The changelog section of the plan's version."""
    lines = [f"## {plan.version} ({time.strftime('%Y-%m-%d', time.gmtime(now))})", ""]
    groups = [(HEADINGS[kind], [c for c in plan.changes if c.kind == kind and not c.rendering])
              for kind in CHANGE_KINDS]
    groups.append((RENDERING_HEADING, [c for c in plan.changes if c.rendering and not c.cleaned]))
    groups.append((CLEANING_HEADING, [c for c in plan.changes if c.cleaned]))
    for heading, changes in groups:
        if changes:
            lines.append(f"{heading} ({len(changes)}):")
            lines.extend(f"- {_describe(c)}" for c in changes)
            lines.append("")
    if plan.descriptions_changed:
        lines += [f"Description changed ({len(plan.descriptions_changed)}):",
                  *(f"- {name}" for name in plan.descriptions_changed), ""]
    if plan.note_type_change and plan.note_type_change != "new":
        lines += [f"Note type: {plan.note_type_change}.", ""]
    if len(lines) == 2:
        lines += ["No note changed.", ""]
    return "\n".join(lines)


def updated_changelog(path: Path, plan: VersionPlan, now: float) -> str | None:
    """The changelog with the plan's new version on top; None when the version did not change."""
    if not plan.is_new_version:
        return None
    title = f"# Changelog: {plan.name}\n\n"
    try:  # never through a link, nor from anything but a regular file: a cloned output folder may hold either
        old = read_regular(path, CHANGELOG_LIMIT).decode("utf-8", "replace")
    except OSError as err:
        if err.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EINVAL):  # none, a link, no file:
            raise  # (a new one is written in its place)
        old = title
    body = old[len(title):] if old.startswith(title) else old
    # A build killed after writing this entry but before its identity record writes it again: replace it.
    body = re.sub(rf"\A## {re.escape(plan.version)} \(.*?(?=^## |\Z)", "", body, flags=re.DOTALL | re.MULTILINE)
    return (title + version_entry(plan, now) + "\n" + body).rstrip("\n") + "\n"


def _describe(change: NoteChange) -> str:
    if change.kind == "renamed":
        return f"{change.previous_question} → {change.question} ({change.source})"
    return f"{change.question} ({change.source})"
