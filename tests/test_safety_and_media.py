"""Nothing executable reaches Anki, and images travel with the deck under names that cannot collide."""

from __future__ import annotations

import html
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from deckgen import build_decks
from deckgen.cli import main

from conftest import png, write_deck

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="https://x.invalid/a.png" onerror="alert(1)">',
    "<img src=https://x.invalid/b onerror=alert(1)//",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](jav&#x61;script:alert(1))",
    '<a href=" java\tscript:alert(1)">tab</a>',
    "<iframe src=https://evil.example></iframe>",
    "<object data=x></object><embed src=x>",
    "<div><p onclick='alert(1)'>nested <b onmouseover=alert(1)>bold</div>",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    '<a href="data:text/html;base64,PHNjcmlwdD4=">data</a>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<<script>script>alert(1)<</script>/script>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<!--<script>alert(1)</script>-->",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
]
HARMLESS = "H<sub>2</sub>O, x<sup>2</sup>, <kbd>Ctrl</kbd>+<kbd>C</kbd>, <mark>key</mark><br>next"


def package_fields(apkg: Path) -> list[str]:
    with zipfile.ZipFile(apkg) as archive, open(apkg.with_suffix(".anki2"), "wb") as db:
        db.write(archive.read("collection.anki2"))
    with sqlite3.connect(apkg.with_suffix(".anki2")) as conn:
        rows = conn.execute("select flds, tags from notes").fetchall()
        decks = conn.execute("select decks from col").fetchone()[0]
    return [field for flds, tags in rows for field in flds.split("\x1f") + [tags]] + [decks]


def executable_parts(field: str) -> list[str]:
    """What a browser could run in this HTML: script-like elements, handlers, script URLs."""
    found = []
    soup = BeautifulSoup(field, "html.parser")
    for element in soup.find_all(True):
        if element.name in {"script", "iframe", "object", "embed", "svg", "math", "form", "meta", "style", "base"}:
            found.append(f"<{element.name}>")
        for attribute, value in element.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            if attribute.lower().startswith("on"):
                found.append(f"{attribute}=")
            if re.sub(r"[\x00-\x20]", "", html.unescape(value)).lower().startswith(("javascript:", "vbscript:",
                                                                                       "data:text")):
                found.append(f"{attribute}={value}")
            if attribute == "style" and "url(" in value:
                found.append("style url()")
    return found


def test_hostile_answers_leave_nothing_executable_and_are_reported(tmp_path):
    body = "".join(f"### Hostile {i}?\nBefore {i}.\n{attack}\nAfter {i}.\n\n" for i, attack in enumerate(HOSTILE))
    write_deck(tmp_path / "src", "deck", "## Section <img/src/onerror=alert(1)>\n" + body
               + f"### Harmless?\n{HARMLESS}\n")
    result = CliRunner().invoke(main, ["build", str(tmp_path / "src"), "-o", str(tmp_path / "out"), "-v"])
    assert result.exit_code == 0, result.output
    apkg = next((tmp_path / "out").glob("*.apkg"))
    fields = package_fields(apkg)
    assert [(f, executable_parts(f)) for f in fields if executable_parts(f)] == []
    with sqlite3.connect(apkg.with_suffix(".anki2")) as conn:  # Anki puts tags into cards as they are
        tags = {tag for (row,) in conn.execute("select tags from notes") for tag in row.split()}
    assert tags and all(re.fullmatch(r"[\w.+\-/:]+", tag) for tag in tags), tags
    assert all(f"Before {i}." in "".join(fields) and f"After {i}." in "".join(fields) for i in range(len(HOSTILE)))
    warned = set(re.findall(r"deck\.md:(\d+):\d+: warning: .*\[(?:unsafe-html|unknown-html|anki-syntax)\]",
                            result.stderr))
    assert len(warned) >= len(HOSTILE) - 2  # comments and broken-up tags may leave nothing harmful to report
    harmless = next(f for f in fields if "H<sub>2</sub>O" in f)
    for tag in ("<sub>2</sub>", "<sup>2</sup>", "<kbd>Ctrl</kbd>", "<mark>key</mark>", "<br"):
        assert tag in harmless


def test_same_named_images_in_two_folders_arrive_distinct_and_intact(tmp_path, anki):
    src = tmp_path / "src"
    for folder, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (src / folder).mkdir(parents=True)
        (src / folder / "img.png").write_bytes(png(3, 2, colour))
    write_deck(src, "deck", "### Red?\n![red](red/img.png)\n### Blue?\n![blue](blue/img.png)\n"
                            "### Red again?\n![same file](red/img.png)\n")
    report = build_decks(src, tmp_path / "out", now=1_800_000_000)
    log = anki.import_package(report.packages[0].path)
    assert len(log.new) == 3
    media = Path(anki.col.media.dir())
    names = {}
    for note in anki.notes():
        (img,) = BeautifulSoup(note["Answer"], "html.parser").find_all("img")
        names[note["Question"]] = img["src"]
    assert names["Red?"] == names["Red again?"] != names["Blue?"]
    assert (media / names["Red?"]).read_bytes() == (src / "red" / "img.png").read_bytes()
    assert (media / names["Blue?"]).read_bytes() == (src / "blue" / "img.png").read_bytes()
    assert anki.check_database()[1]


def test_a_changed_image_gets_a_new_name_and_updates_the_note(tmp_path, anki):
    src = tmp_path / "src"
    (src / "img").mkdir(parents=True)
    (src / "img" / "plot.png").write_bytes(png(2, 2, (0, 128, 0)))
    write_deck(src, "deck", "### Plot?\n![plot](img/plot.png)\n")
    first = build_decks(src, tmp_path / "out", now=1_800_000_000).packages[0]
    anki.import_package(first.path)
    (src / "img" / "plot.png").write_bytes(png(2, 2, (128, 0, 128)))
    second = build_decks(src, tmp_path / "out", now=1_800_000_100).packages[0]
    assert second.plan.version == "1.0.1" and [c.kind for c in second.plan.changes] == ["changed"]
    log = anki.import_package(second.path)
    assert len(log.updated) == 1
    (note,) = anki.notes()
    src_name = BeautifulSoup(note["Answer"], "html.parser").img["src"]
    assert (Path(anki.col.media.dir()) / src_name).read_bytes() == (src / "img" / "plot.png").read_bytes()


def test_images_written_as_html_are_bundled_or_reported_too(tmp_path, anki):
    src = tmp_path / "src"
    (src / "img").mkdir(parents=True)
    (src / "img" / "a.png").write_bytes(png(2, 2, (10, 20, 30)))
    write_deck(src, "deck", '### Raw?\n<img src="img/a.png" width="40">\n### Missing?\n<p><img src="img/b.png"></p>\n')
    result = CliRunner().invoke(main, ["build", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert (f"{src / 'deck.md'}:4:14: warning: image not found, not included: img/b.png (looked for "
            f"{src / 'img' / 'b.png'})") in result.stderr
    (src / "deck.md").write_text('### Raw?\n<img src="img/a.png" width="40">\n')
    report = build_decks(src, tmp_path / "out", now=1_800_000_000)
    anki.import_package(report.packages[0].path)
    (note,) = [n for n in anki.notes() if n["Question"] == "Raw?"]
    name = BeautifulSoup(note["Answer"], "html.parser").img["src"]
    assert name.startswith("dg-") and (Path(anki.col.media.dir()) / name).read_bytes() == (src / "img" / "a.png").read_bytes()


def test_a_path_is_resolved_as_realpath_resolves_it_with_each_folder_looked_at_once(tmp_path):
    """`RealPaths` (images, deck files and their settings) finds each folder's real path once a build: the same
    paths as `os.path.realpath`, through links to folders and files, `..` after a link, links that lead nowhere
    or in a loop; and the same links found leading outside."""
    import os

    from deckgen.reading import RealPaths
    from deckgen.render.media import MediaResolver
    from deckgen.sources.library import link_outside

    root = tmp_path / "notes"
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    (root / "a" / "b" / "x.png").write_bytes(b"1")
    (root / "c" / "y.png").write_bytes(b"2")
    os.symlink(root / "a" / "b", root / "link")
    os.symlink("../c/y.png", root / "a" / "y-link.png")
    os.symlink(root / "nowhere", root / "dangling")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink(tmp_path, root / "out")
    resolver, real = MediaResolver(root), RealPaths()
    outside = []
    for name in ("a/b/x.png", "link/x.png", "a/y-link.png", "a/../c/y.png", "link/../c/y.png", "dangling",
                 "dangling/x", "loop1", "loop1/x", "missing/z.png", "link/../../etc", ".", "..", "a/", "link/",
                 "out/x.png"):
        for folder in (root, root / "a", root / "link"):
            assert resolver._real_path(folder / name) == Path(os.path.realpath(folder / name)), (folder, name)
            assert real(folder / name) == os.path.realpath(folder / name), (folder, name)
            assert link_outside(folder / name, root, real) == link_outside(folder / name, root), (folder, name)
            outside += [name] if link_outside(folder / name, root, real) else []
    assert "out/x.png" in outside and ".." in outside and "a/b/x.png" not in outside and "dangling" not in outside


def _full_reads(monkeypatch) -> list[Path]:
    """Every image file read whole from here on (to check it, or to bundle it), in order."""
    import deckgen.render.media as media

    reads, read = [], media.read_regular

    def counted(path, limit, follow=False):
        reads.append(Path(path))
        return read(path, limit, follow)
    monkeypatch.setattr(media, "read_regular", counted)
    return reads


def test_a_rebuild_reads_an_image_unchanged_since_the_last_build_once(tmp_path, monkeypatch):
    """An image the last build hashed, unchanged since, is read whole once, by the writer that bundles it and checks
    its bytes: its verdict comes from the stamp and its first bytes (each image was read twice on every rebuild:
    a vault of screenshots read twice its size)."""
    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)  # as if hashed long after it was written
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "img").mkdir(parents=True)
    image = src / "img" / "plot.png"
    image.write_bytes(png(3, 3, (0, 128, 0), text=b"x" * 20_000))
    deck = write_deck(src, "deck", "### Plot?\n![plot](img/plot.png)\n\n### Other?\nText.\n")
    build_decks(src, out, now=1_800_000_000)
    deck.write_text("### Plot?\n![plot](img/plot.png)\n\n### Other?\nText, edited.\n", encoding="utf-8")
    reads = _full_reads(monkeypatch)
    built = build_decks(src, out, now=1_800_000_100).packages[0]
    assert built.plan.version == "1.0.1" and [c.kind for c in built.plan.changes] == ["changed"]
    assert reads == [image.resolve()]  # by the writer alone
    with zipfile.ZipFile(built.path) as archive:
        assert image.read_bytes() in [archive.read(name) for name in archive.namelist()]


def test_an_image_changed_keeping_its_size_and_time_is_read_and_bundled_anew(tmp_path, monkeypatch):
    """Its status still changes (the change time, which no one sets): read again, named by its new bytes."""
    import os

    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "img").mkdir(parents=True)
    image = src / "img" / "plot.png"
    image.write_bytes(png(2, 2, (0, 128, 0), text=b"first"))
    write_deck(src, "deck", "### Plot?\n![plot](img/plot.png)\n")
    first = build_decks(src, out, now=1_800_000_000).packages[0]
    before = os.stat(image)
    image.write_bytes(png(2, 2, (0, 128, 0), text=b"other"))
    os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(image).st_size == before.st_size and os.stat(image).st_mtime_ns == before.st_mtime_ns
    second = build_decks(src, out, now=1_800_000_100).packages[0]
    assert second.plan.version == "1.0.1" and [c.kind for c in second.plan.changes] == ["changed"]
    (old,), (new,) = first.plan.package.media, second.plan.package.media
    assert old.name != new.name and new.digest != old.digest
    with zipfile.ZipFile(second.path) as archive:
        assert image.read_bytes() in [archive.read(name) for name in archive.namelist()]


def test_a_file_the_stamp_knows_that_is_no_image_is_still_not_bundled(tmp_path, monkeypatch):
    """Its first bytes are read each time: a page named `.png` stays out of the package."""
    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "page.png").write_bytes(b"<html><script>alert(1)</script></html>" + b" " * 5000)
    deck = write_deck(src, "deck", "### Page?\n![x](page.png)\n")
    assert not build_decks(src, out, now=1_800_000_000).packages[0].plan.package.media
    deck.write_text("### Page?\n![x](page.png)\n\nMore.\n", encoding="utf-8")
    built = build_decks(src, out, now=1_800_000_100)
    assert not built.packages[0].plan.package.media
    assert any(d.code == "media-not-image" for d in built.diagnostics)


def test_a_known_digest_stands_only_for_the_very_status_hashed_long_enough_after_its_change():
    from deckgen.reading import RACY_NS, known_digest

    digest, status = "ab" * 32, [1, 2, 3, 10, 20]
    taken = 20 + RACY_NS + 1
    assert known_digest([*status, taken, digest], status) == digest
    for entry in ([*status, 20 + RACY_NS, digest],  # hashed too soon after its change
                  [1, 2, 4, 10, 20, taken, digest], [1, 3, 3, 10, 20, taken, digest],  # another size, inode
                  [*status, taken, "../../x.png"], [*status, taken, digest.upper()], [*status, taken, digest[:-1]],
                  [*status, str(taken), digest], [*status, taken], None, "x", [*status, taken, None]):
        assert known_digest(entry, status) is None, entry
    assert known_digest([*status, taken, digest], None) is None  # the file is gone


def test_reading_the_start_of_a_file_refuses_one_swapped_since_it_was_looked_at(tmp_path):
    import os

    from deckgen.reading import read_start, status_of

    path = tmp_path / "a.png"
    path.write_bytes(b"0123456789")
    status = status_of(os.stat(path))
    assert read_start(path, 4, status) == b"0123"
    replacement = tmp_path / "b.png"
    replacement.write_bytes(b"abcdefghij")
    os.replace(replacement, path)  # same size, another file
    assert read_start(path, 4, status) is None


def run_build(src: Path, out: Path, *arguments: str):
    return CliRunner().invoke(main, ["build", str(src), "-o", str(out), *arguments])


def _stale_digest(src: Path, out: Path, image: Path, digest: str) -> None:
    """Make the stamp of the last build of `src` keep `digest` for `image` (whose status it keeps as it is): as a
    stamp taken while a folder was swapped, or on a system whose times miss an edit, could."""
    import json

    from deckgen.output.stamp import _stamp_path
    from deckgen.sources.library import find_library

    path = _stamp_path(find_library(src, out))
    stamp = json.loads(path.read_text(encoding="utf-8"))
    stamp["files"][str(image.resolve())][6] = digest
    path.write_text(json.dumps(stamp), encoding="utf-8")


def _two_images(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "img").mkdir(parents=True)
    (src / "img" / "a.png").write_bytes(png(2, 2, (255, 0, 0)))
    (src / "img" / "b.png").write_bytes(png(2, 2, (0, 0, 255)))
    write_deck(src, "deck", "### Red?\n![a](img/a.png)\n\n### Blue?\n![b](img/b.png)\n")
    return src, out, src / "img" / "a.png", src / "img" / "b.png"


def _card_images(apkg: Path) -> dict[str, bytes]:
    """Each card's question and the bytes of the image its answer shows, as the package holds them."""
    import json

    collection = apkg.with_suffix(".anki2")
    with zipfile.ZipFile(apkg) as archive:
        files = {name: archive.read(index) for index, name in json.loads(archive.read("media")).items()}
        collection.write_bytes(archive.read("collection.anki2"))
    shown = {}
    with sqlite3.connect(collection) as conn:
        for (flds,) in conn.execute("select flds from notes"):
            question, answer = flds.split("\x1f")[:2]
            shown[question] = files[BeautifulSoup(answer, "html.parser").img["src"]]
    return shown


def test_a_stale_digest_in_the_stamp_never_puts_one_image_on_another_card(tmp_path, monkeypatch):
    """A digest the stamp keeps that is another image's named a.png as b.png, and the writer, which bundled one
    file a name, checked b.png alone: the red card showed blue, silently, on every build after. Every file behind
    a name is checked now: the build stops, forgets the stamp, and the next one is right."""
    import hashlib

    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)
    src, out, red, blue = _two_images(tmp_path)
    assert run_build(src, out).exit_code == 0
    _stale_digest(src, out, red, hashlib.sha256(blue.read_bytes()).hexdigest())
    (src / "deck.md").write_text("### Red?\n![a](img/a.png)\n\n### Blue?\n![b](img/b.png)\n\nEdited.\n")
    stopped = run_build(src, out)
    assert stopped.exit_code == 1 and "changed while the build ran; build again" in stopped.output
    assert "build with --rerender" in stopped.output  # the way out, should the stamp not go
    assert sorted(p.name for p in out.glob("*.apkg")) == ["deck-1.0.0.apkg"]  # nothing written
    assert run_build(src, out).exit_code == 0
    assert _card_images(out / "deck-1.0.1.apkg") == {"Red?": red.read_bytes(), "Blue?": blue.read_bytes()}


def test_rerender_takes_no_digest_from_the_stamp(tmp_path, monkeypatch):
    """`--rerender` reads every file again: a digest the stamp keeps that matches no file stopped every build."""
    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)
    src, out, red, blue = _two_images(tmp_path)
    assert run_build(src, out).exit_code == 0
    _stale_digest(src, out, red, "0" * 64)
    (src / "deck.md").write_text("### Red?\n![a](img/a.png)\n\n### Blue?\n![b](img/b.png)\n\nEdited.\n")
    assert run_build(src, out, "--rerender").exit_code == 0
    assert _card_images(out / "deck-1.0.1.apkg") == {"Red?": red.read_bytes(), "Blue?": blue.read_bytes()}


def test_the_stamp_keeps_the_status_of_the_very_file_it_hashed(tmp_path, monkeypatch):
    """A folder swapped for another while the stamp hashed a file in it: the status kept was the first file's, the
    digest the other's, and the next build took that digest for the first file's (its status unchanged)."""
    import os

    from deckgen.output import stamp
    from deckgen.reading import file_status, known_digest

    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)
    img, other, aside = tmp_path / "img", tmp_path / "other", tmp_path / "aside"
    img.mkdir(), other.mkdir()
    (img / "a.png").write_bytes(png(2, 2, (255, 0, 0)))
    (other / "a.png").write_bytes(png(2, 2, (0, 0, 255)))
    looked_at = stamp.file_status

    def swapped_after_the_look(path):
        status = looked_at(path)
        os.rename(img, aside), os.rename(other, img)  # the folder's name now holds the other a.png
        return status
    monkeypatch.setattr(stamp, "file_status", swapped_after_the_look)
    entry = stamp._hash("", [img / "a.png"], {}).files[str(img / "a.png")]
    os.rename(img, other), os.rename(aside, img)  # back as it was: img/a.png is the red one, never changed
    kept = known_digest(entry, file_status(img / "a.png"))
    assert kept is None  # not taken for the red file's: it is read again


def _images_shown(apkg: Path) -> list[bytes]:
    """The bytes of every image a package shows: its media files, and those its decks' descriptions hold."""
    import base64
    import json

    collection = apkg.with_suffix(".anki2")
    with zipfile.ZipFile(apkg) as archive:
        shown = [archive.read(index) for index in json.loads(archive.read("media"))]
        collection.write_bytes(archive.read("collection.anki2"))
    with sqlite3.connect(collection) as conn:
        decks = json.loads(conn.execute("select decks from col").fetchone()[0])
    shown += [base64.b64decode(data) for deck in decks.values()
              for data in re.findall(r'src="data:image/png;base64,([^"]+)"', deck.get("desc", ""))]
    return sorted(shown)


@pytest.mark.parametrize("markdown", ["### Colours?\nRed: ![a](img/a.png) Blue: ![b](img/b.png)\n",
                                      "Colours: ![a](img/a.png) ![b](img/b.png)\n\n### Q?\nA.\n"],
                         ids=["in one note", "in a description"])
def test_two_images_sharing_a_stale_name_are_each_checked(tmp_path, monkeypatch, markdown):
    """The images of one note (or of a description) were taken once a name: the second file behind a stale name
    was never read, and the first image showed twice (exit 0; a duplicated screenshot edited in a way its status
    missed did it too). Each file is checked now."""
    import hashlib

    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)
    src, out, red, blue = _two_images(tmp_path)
    (src / "deck.md").write_text(markdown)
    assert run_build(src, out).exit_code == 0
    _stale_digest(src, out, blue, hashlib.sha256(red.read_bytes()).hexdigest())
    (src / "deck.md").write_text(markdown + "\nEdited.\n")
    stopped = run_build(src, out)
    assert stopped.exit_code == 1 and "changed while the build ran; build again" in stopped.output
    assert run_build(src, out).exit_code == 0
    assert _images_shown(out / "deck-1.0.1.apkg") == sorted([red.read_bytes(), blue.read_bytes()])


def test_a_stamp_damaged_past_what_json_reads_or_with_rows_of_another_shape_breaks_no_command(tmp_path):
    """A stamp nested too deeply stopped every build and check with a traceback until it was deleted; a row of its
    check of another length stopped `check`."""
    import json

    from deckgen.output.stamp import _stamp_path
    from deckgen.sources.library import find_library

    src, out = tmp_path / "src", tmp_path / "out"
    write_deck(src, "deck", "### Q?\nA.\n")
    assert run_build(src, out).exit_code == 0
    path = _stamp_path(find_library(src, out))
    stamp = json.loads(path.read_text(encoding="utf-8"))
    stamp["check"]["files"] = [[str(src / "deck.md"), 1]]
    path.write_text(json.dumps(stamp), encoding="utf-8")
    checked = CliRunner().invoke(main, ["check", str(src), "-o", str(out)])
    assert checked.exit_code == 0 and "1 question(s), 1 card(s)" in checked.output, checked.output
    path.write_text("[" * 100_000, encoding="utf-8")
    for command in (["build", str(src), "-o", str(out)], ["check", str(src), "-o", str(out)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0 and result.exception is None, (command, result.output)


def test_a_stale_digest_reaches_no_record_when_the_package_is_not_written_again(tmp_path, monkeypatch):
    """A record line rewritten by a build that writes no package (one without a fingerprint, as deckgen 0.1's
    records convert) took its fingerprint from the stamp's digest unchecked: the committed record then said the
    red image was the blue one's bytes, and the day the file became those bytes, no build delivered it."""
    import hashlib
    import json

    monkeypatch.setattr("deckgen.reading.RACY_NS", 0)
    src, out, red, blue = _two_images(tmp_path)
    assert run_build(src, out).exit_code == 0
    _stale_digest(src, out, red, hashlib.sha256(blue.read_bytes()).hexdigest())
    record = src / ".deckgen" / "identity.jsonl"
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        if line.get("question") == "Red?":
            del line["fingerprint"]
    record.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    stopped = run_build(src, out)
    assert stopped.exit_code == 1 and "changed while the build ran" in stopped.output
    assert run_build(src, out).exit_code == 0
    red.write_bytes(blue.read_bytes())  # the author paints the red picture blue
    built = run_build(src, out, "-v")
    assert built.exit_code == 0 and "deck-1.0.1.apkg" in built.output, built.output
    assert _card_images(out / "deck-1.0.1.apkg") == {"Red?": blue.read_bytes(), "Blue?": blue.read_bytes()}
