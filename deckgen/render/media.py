"""The one way a file gets into a package: an image inside the notes, checked, named by its bytes.

Every way of naming a file (a Markdown image, a raw HTML `<img>`, a deck
description, a removed note shown again) asks `MediaResolver.resolve`. A
reference is bundled only when, percent-decoded once and with symbolic links
followed, it names a regular file inside the library's root whose bytes are
an image Anki shows and not larger than the size limit. Anything else is
never read into a package: the card shows the image's alt text with a mark,
and the build warns. The package writer reads the file again and checks that
its bytes are still the ones checked here; so a file the last build hashed,
whose status says it is unchanged since (see `reading.known_digest`), is not
read whole again to be checked: its start tells that it is an image.
"""

from __future__ import annotations

import base64
import html
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec

from ..errors import DeckgenError
from ..hashing import digest as content_hash
from ..reading import RealPaths, known_digest, read_regular, read_start, status_of
from ..sources.library import walk
from ..sources.settings import DEFAULTS

URL_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
DRIVE_PATH_RE = re.compile(r"^[A-Za-z]:[\\/]")  # C:\x or C:/x: an absolute path on Windows
NAME_PREFIX = "dg-"

# Why a reference is not bundled, by diagnostic code. REMOTE: an http(s) image, left as it is.
OUTSIDE, MISSING, NOT_IMAGE, TOO_LARGE = "media-outside", "missing-media", "media-not-image", "media-too-large"
REMOTE = "remote-media"

# File signatures of the image types Anki's reviewers (Chromium, WebKit) show, and their usual extension.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", 0, ".png"),
    (b"\xff\xd8\xff", 0, ".jpg"),
    (b"GIF87a", 0, ".gif"),
    (b"GIF89a", 0, ".gif"),
    (b"BM", 0, ".bmp"),
    (b"\x00\x00\x01\x00", 0, ".ico"),
)
MIME_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
              ".webp": "image/webp", ".svg": "image/svg+xml", ".avif": "image/avif", ".bmp": "image/bmp",
              ".ico": "image/x-icon"}
IMAGE_SUFFIXES = frozenset(MIME_TYPES)
ELSEWHERE_SHOWN = 3  # files named like a missing image that its warning suggests
_SVG_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:(?:<!--(?:[^-]|-(?!->))*-->|<!DOCTYPE[^>]*>)\s*)*<svg[\s>]",
                     re.DOTALL | re.IGNORECASE)


IMAGE_START = 4096
"""Bytes at the start of a file that tell whether it is an image, and of what type (see `image_type`)."""


def image_type(data: bytes) -> str | None:
    """The extension of the image type `data` (a file, or its first IMAGE_START bytes) holds, read from its
    signature; None when it is no such image."""
    for signature, offset, suffix in _SIGNATURES:
        if data.startswith(signature, offset):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return ".avif"
    if _SVG_RE.match(data[:IMAGE_START]):
        return ".svg"
    return None


class MediaRef(msgspec.Struct, frozen=True):
    """What became of one image a text names: bundled (`name` set) or not, and why."""

    src: str
    """The reference as written."""
    path: str
    """The file it names, symbolic links followed (for messages and for the writer)."""
    name: str | None = None
    """Its name in Anki's media folder (from a hash of its bytes) when it is bundled."""
    digest: str | None = None
    """SHA-256 of the bytes checked, which the writer checks again."""
    problem: str | None = None
    """None when bundled; else why not: OUTSIDE, MISSING, NOT_IMAGE, TOO_LARGE, or REMOTE (left as it is)."""
    size: int = 0


class MediaResolver:
    """Resolves image references for one build; remembers each file's verdict (one memo for the build).

    `root` is the folder being built: nothing outside it is ever bundled. `known`: what the last build's stamp
    keeps of the files it read (see `output.stamp`), whose content digests stand for files unchanged since.
    """

    def __init__(self, root: Path, size_limit: int = DEFAULTS.max_image_bytes, known: dict | None = None):
        self.root = Path(os.path.realpath(root))
        self.size_limit = size_limit
        self._known = known or {}
        self._files: dict[tuple[str, tuple], MediaRef] = {}
        self._names: dict[str, list[Path]] | None = None
        self._real = RealPaths()  # each folder's real path, found once a build

    def elsewhere(self, ref: MediaRef, folder: Path) -> list[str]:
        """Files inside the root named like a missing image (ignoring case), as links from `folder` (its note's):
        the first ELSEWHERE_SHOWN of them."""
        found = sorted(self._named(Path(ref.path).name.casefold()))
        return [Path(os.path.relpath(path, os.path.realpath(folder))).as_posix() for path in found[:ELSEWHERE_SHOWN]]

    def _named(self, name: str) -> list[Path]:
        """The files inside the root of this name, ignoring case; hidden ones (a name starting with `.`) and those
        in hidden folders left out, as Obsidian leaves them out (see `sources.library.walk`)."""
        if self._names is None:
            self._names = {}
            for folder in walk(self.root):
                for file in folder.files:
                    self._names.setdefault(file.casefold(), []).append(folder.path / file)
        return self._names.get(name, [])

    def _found_as_obsidian_does(self, relative: str) -> Path | None:
        """Where Obsidian finds a link that is not next to its file: from the library's top, else, for a bare
        file name, the one file of that name anywhere in it (none when several have it: the warning then names
        them)."""
        from_top = self._real_path(self.root / relative)
        if from_top.is_relative_to(self.root) and from_top.is_file():
            return from_top
        if "/" in relative.strip("/"):
            return None  # a path with folders names its file: no other file of that name stands in for it
        name = Path(relative).name
        candidates = self._named(name.casefold())
        named = candidates if len(candidates) == 1 else [path for path in candidates if path.name == name]
        if len(named) == 1:
            found = self._real_path(named[0])
            return found if found.is_relative_to(self.root) else None
        return None

    def resolve(self, src: str, folder: Path) -> MediaRef | None:
        """The verdict on `src`, written in a file in `folder`; None for a `data:` URL (the sanitizer's)."""
        if DRIVE_PATH_RE.match(src):
            return MediaRef(src, src, problem=OUTSIDE)  # C:\…: a Windows absolute path, no file here
        scheme = URL_SCHEME_RE.match(src)
        scheme = scheme.group().lower() if scheme else ""
        if scheme in ("http:", "https:") or (not scheme and src.startswith("//")):
            return MediaRef(src, src, problem=REMOTE)
        if scheme == "data:":
            return None
        if scheme not in ("", "file:"):
            return MediaRef(src, src, problem=OUTSIDE)
        relative = _path_in(src)
        target = self._real_path(Path(folder) / relative)
        if not target.is_relative_to(self.root):
            return MediaRef(src, str(target), problem=OUTSIDE)
        if not os.path.exists(target) and not scheme and not relative.startswith("/"):
            target = self._found_as_obsidian_does(relative) or target
        try:
            info = os.stat(target)
        except OSError:
            return MediaRef(src, str(target), problem=MISSING)
        if not stat.S_ISREG(info.st_mode):
            return MediaRef(src, str(target), problem=MISSING if stat.S_ISDIR(info.st_mode) else NOT_IMAGE)
        key = (str(target), (info.st_size, info.st_mtime_ns, info.st_ino))
        ref = self._files.get(key)
        if ref is None:
            ref = self._files[key] = self._check(target, info)
        return msgspec.structs.replace(ref, src=src)

    def looked_for(self, ref: MediaRef, folder: Path) -> tuple[list[str], str | None]:
        """Where `resolve` looks for the file `ref` (from a file in `folder`) names: the paths it tries, and the
        name (in lower case) it looks for anywhere in the library, when it would (a bare name not found at those
        paths, as Obsidian finds it); nothing for a remote image or one outside the library. What a build's stamp
        watches: a file appearing at one of them, or of that name, may change the verdict."""
        if ref.problem in (REMOTE, OUTSIDE):
            return [], None
        relative = _path_in(ref.src)
        near = self._real(os.path.join(folder, relative))  # as `_real_path(Path(folder) / relative)`, faster
        if URL_SCHEME_RE.match(ref.src) or relative.startswith("/"):
            return [near], None
        paths = [near, self._real(os.path.join(self.root, relative))]
        by_name = "/" not in relative.strip("/") and (ref.problem == MISSING or ref.path not in paths)
        return paths, Path(relative).name.casefold() if by_name else None

    def _real_path(self, path: Path) -> Path:
        return Path(self._real(path))

    def _check(self, path: Path, info: os.stat_result) -> MediaRef:
        if info.st_size > self.size_limit:
            return MediaRef("", str(path), problem=TOO_LARGE, size=info.st_size)
        status = status_of(info)
        digest = known_digest(self._known.get(str(path)), status)
        try:  # a file known unchanged: its start alone, if it is still the file looked at
            data = read_start(path, IMAGE_START, status) if digest is not None else None
            if data is None:
                digest, data = None, read_regular(path, self.size_limit)
        except OSError:  # gone, swapped for a pipe or a link since it was looked at, or grown past the limit
            return MediaRef("", str(path), problem=MISSING)
        size = info.st_size if digest is not None else len(data)
        kind = image_type(data)
        if kind is None:
            return MediaRef("", str(path), problem=NOT_IMAGE, size=size)
        digest = digest or content_hash(data)
        suffix = path.suffix.lower() if path.suffix.lower() in IMAGE_SUFFIXES else kind
        return MediaRef("", str(path), name=f"{NAME_PREFIX}{digest[:16]}{suffix}", digest=digest, size=size)

    def still_valid(self, ref: MediaRef, folder: Path) -> bool:
        """Whether `ref` (from an earlier build) is still the verdict on its reference."""
        return self.resolve(ref.src, folder) == ref


def _path_in(src: str) -> str:
    """The path a local image's `src` names: as in a URL, no query or fragment, percent-decoded once; "\" as
    Windows editors write "/"."""
    return unquote(urlsplit(src.replace("\\", "/")).path)


def read_checked(ref: MediaRef) -> bytes:
    """The bytes of a bundled file, exactly as they were checked; MediaChanged if they changed since."""
    try:
        data = read_regular(Path(ref.path), ref.size)
    except OSError:
        raise MediaChanged(ref) from None
    if content_hash(data) != ref.digest:
        raise MediaChanged(ref)
    return data


def read_named(refs: Iterable[MediaRef]) -> Iterator[tuple[MediaRef, bytes]]:
    """For each media name among `refs` (bundled images), in the order they first name it: its first file, and
    that file's bytes exactly as checked. Every other file of that name is checked too: two files share a name
    only as their bytes share a digest, which one taken from the last build's stamp may claim wrongly (see
    `MediaResolver`). MediaChanged on any difference."""
    files: dict[str, dict[str, MediaRef]] = {}  # name -> path -> ref
    for ref in refs:
        files.setdefault(ref.name, {}).setdefault(ref.path, ref)
    for first, *others in (list(named.values()) for named in files.values()):
        data = read_checked(first)
        for other in others:
            read_checked(other)
        yield first, data


def data_uri(ref: MediaRef, data: bytes) -> str:
    """A bundled image as a `data:` URL (`data`: its bytes, see `read_named`), for a page that must hold its images
    itself."""
    return f"data:{MIME_TYPES[Path(ref.name).suffix]};base64,{base64.b64encode(data).decode('ascii')}"


class MediaChanged(DeckgenError):
    """A bundled file changed between its check and the writing of the package."""

    def __init__(self, ref: MediaRef):
        self.ref = ref
        super().__init__(f"{ref.path}: changed while the build ran; build again "
                         "(if it says so again, build with --rerender, which reads every file afresh)")


def not_included_html(alt: str) -> str:
    """What a card shows instead of an image that is not bundled: its alt text and a visible mark."""
    text = f"{html.escape(alt, quote=False)} " if alt.strip() else ""
    return f'<span class="dg-no-image">{text}<span class="dg-no-image-mark">(image not included)</span></span>'


def problem_message(ref: MediaRef, size_limit: int, elsewhere: list[str] = ()) -> str:
    """The diagnostic for an image that is not bundled, saying what to do (`elsewhere`: files of its name)."""
    if ref.problem == REMOTE:
        return f"remote image: the card loads {ref.src} from the network each time it is shown"
    if ref.problem == MISSING:
        hint = f"; did you mean {' or '.join(elsewhere)}?" if elsewhere else ""
        return f"image not found, not included: {ref.src} (looked for {ref.path}){hint}"
    if ref.problem == NOT_IMAGE:
        return (f"not included: {ref.src} is not an image Anki shows (PNG, JPEG, GIF, WebP, SVG, AVIF, BMP or ICO) "
                f"({ref.path})")
    if ref.problem == TOO_LARGE:
        return (f"not included: {ref.src} is {ref.size / 1048576:.1f} MiB, more than the "
                f"{size_limit / 1048576:g} MiB a file may have ({ref.path})")
    absolute = ref.src.startswith(("/", "\\", "file:")) or DRIVE_PATH_RE.match(ref.src) is not None
    how = ("an absolute path works only on this computer: copy the image into the notes folder and link it "
           "relative to this file" if absolute else
           "only files inside the notes folder are put into a package: copy the image into it")
    return f"image outside the notes folder, not included: {ref.src} points to {ref.path}; {how}"


class Images:
    """Where the images of the text being rendered are looked up, and those met: given to
    `markdown_ext.MediaExtension` when it is made; its renderer sets `folder` before each text and reads `found`
    after it."""

    def __init__(self, resolver: MediaResolver) -> None:
        self.resolver = resolver
        """Decides what may be bundled (see `media`)."""
        self.folder = Path(".")
        """Where the text's relative paths start."""
        self.found: list[MediaRef] = []
