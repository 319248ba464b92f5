"""Write what a build planned: the record and the namespace, what this machine delivers, each package's
changelog and new version's package, staged as temporary files and renamed into place together; then the
stamp that lets the next build see that nothing changed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ..errors import DeckgenError
from ..identify.delivered import Delivered, write_delivered_to
from ..identify.record import EMPTY, GITATTRIBUTES, IdentityRecord, write_record_to
from ..names import package_file_name
from ..places import changelog_path, delivered_path, mark_output_folder, same_path
from ..plan.model import BuildPlan, VersionPlan, summary_line
from ..reading import regular_digest
from ..render.media import MISSING, NOT_IMAGE, TOO_LARGE, MediaResolver, read_named
from ..sources.library import Library, link_outside
from ..sources.settings import with_namespace
from .changelog import updated_changelog
from .staging import StagedFiles, remove_stale_temporaries
from .stamp import Fingerprint, write_stamp


@dataclass(frozen=True)
class PackageBuild:
    """What one package's build wrote."""

    plan: VersionPlan
    path: Path
    """Its package, written now or (when this version's package was already there) before."""


def write_build(library: Library, plan: BuildPlan, delivered: Delivered | None, new_namespace: str | None,
                new_slug: str | None, warnings: list[str], sources: Fingerprint, now: float,
                said: dict | None = None) -> list[PackageBuild]:
    """Write `plan` into the library's output folder: the identity record, what this machine delivers (see
    `delivered`), and every package's changelog and new version's package to temporary files, then rename
    them all into place, in that order: a build killed in between leaves a record from which the next build
    remakes the very same packages. `sources` is the fingerprint of what the build read (see `stamp`),
    `warnings` what it said, `said` what else the stamp keeps of it (see `stamp.write_stamp`)."""
    from .package import write_package_to

    out_dir = library.output
    # What a killed build of this library left behind: its own files' temporary names only (another
    # library's build may be writing into a shared output folder right now).
    state = delivered_path(library.root)
    for folder, name in ((library.root, library.settings_path.name), (library.record_path.parent, "*"),
                         (state.parent, state.name),
                         *((out_dir, name) for package in plan.packages for name in (
                             package_file_name(package.key, "*"), changelog_path(out_dir, package.key).name))):
        remove_stale_temporaries(folder, name)
    built = []
    with StagedFiles() as files:
        if new_namespace:  # first: the GUIDs the record will hold derive from it
            _ensure_inside(library.settings_path, library.root, "the notes folder's settings")
            files.stage(library.settings_path, with_namespace(library.settings_path, new_namespace, new_slug))
        # The record, then what this machine delivers (see `delivered`: a copy of it), put in place before
        # the packages: a build killed in between leaves a record from which the next one remakes the very
        # packages. A package is written unless the output folder holds the very bytes written there.
        _stage_record(files, library, plan.record, plan.previous)
        packages = {}
        for package in plan.packages:
            path = out_dir / package.file_name
            log = changelog_path(out_dir, package.key)
            changelog = updated_changelog(log, package, now)
            if changelog is not None:
                files.stage(log, changelog.encode("utf-8"), order=2)
            if package.is_new_version or delivered is None or not delivered.built(path):
                files.stage(path, partial(write_package_to, package.package), order=2)
                packages[same_path(path)] = (package.key, regular_digest(files.staged(path) or path))
            else:  # not written again: its images are checked here, as the writer checks them, for the record
                for _ in read_named(package.package.media):  # holds what their digests made (see `render.media`)
                    pass
            built.append(PackageBuild(plan=package, path=path))
        try:
            state.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DeckgenError(f"cannot write deckgen's state folder {state.parent}: {err.strerror} "
                               "(DECKGEN_STATE_DIR names another)") from None
        files.stage(state, partial(
            write_delivered_to, previous=delivered, root=library.root,
            record=files.staged(library.record_path) or library.record_path,
            written=[(package.key, package.version, package.digest) for package in plan.packages],
            packages=packages, namespace=library.settings.namespace or new_namespace or ""), order=1)
        files.commit()
    mark_output_folder(out_dir)  # not staged: other libraries' builds may write it too
    for legacy in delivered.legacy if delivered is not None else ():  # now in the state folder
        legacy.unlink(missing_ok=True)
    write_stamp(library, sources, *_images(library, plan, built),
                [b.path for b in built] + [changelog_path(out_dir, b.plan.key) for b in built],
                [f"{b.plan.name} {b.plan.version}: {summary_line(b.plan)} -> {b.path}" for b in built], warnings,
                said)
    return built


def _images(library: Library, plan: BuildPlan, built: list[PackageBuild]) -> tuple[list[str], list[str]]:
    """What the stamp watches of the images (see `stamp`): the files bundled, and every file where the images of
    the notes and the descriptions were looked for (see `MediaResolver.looked_for`), bundled or not (not there,
    no image, too large), one of which appearing or changing may change what a build makes; and the names, in
    lower case, of those looked for anywhere in the library by name."""
    resolver = MediaResolver(library.root, library.settings.max_image_bytes)
    watched, names = {ref.path for b in built for ref in b.plan.package.media}, set()
    for package in plan.packages:
        for part in package.decks:
            folder = part.deck.path.parent
            for ref in (*(ref for note in part.deck.notes for ref in (*note.question.media, *note.answer.media)),
                        *part.deck.description_media):
                paths, name = resolver.looked_for(ref, folder)
                watched.update(paths)
                if ref.problem in (None, MISSING, NOT_IMAGE, TOO_LARGE):
                    watched.add(ref.path)
                if name is not None:
                    names.add(name)
    return sorted(watched), sorted(names)


def _stage_record(files: StagedFiles, library: Library, record: IdentityRecord, previous: IdentityRecord) -> None:
    """The identity record, when it changed (or the file is not in order), and the files that go with it."""
    _ensure_inside(library.record_path, library.root, "the record")
    if record != previous or not previous.tidy or previous is EMPTY:
        files.stage(library.record_path, partial(write_record_to, record, previous=previous))
    attributes = library.record_path.with_name(".gitattributes")
    if not attributes.exists():
        files.stage(attributes, GITATTRIBUTES)
    for path in record.legacy:
        files.remove(path)


def _ensure_inside(path: Path, root: Path, what: str) -> None:
    if link_outside(path, root):
        raise DeckgenError(f"{path}: a symbolic link leads it outside {root}, where deckgen writes nothing: remove "
                           f"the link, and {what} is written inside the notes folder")
