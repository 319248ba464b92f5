"""A cloned repository decides what its files are: links, pipes, endless or deep files, and a committed output folder
never make deckgen hang, crash, read what it should not, or report as built what it did not build."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deckgen.places import library_tag, same_path

from conftest import record_path

QUESTIONS = "### What is LoRA?\nLow-rank adapters trained beside frozen weights.\n"


def deckgen(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The deckgen program in a process of its own: a build that hangs fails the test instead of the test run."""
    return subprocess.run([sys.executable, "-m", "deckgen", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=os.environ.copy())


def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "deck.md").write_text(QUESTIONS, encoding="utf-8")
    (folder / "sub" / "more.md").write_text("### What is a KV cache?\nKeys and values kept between steps.\n",
                                            encoding="utf-8")
    return folder


# name: (what to make, at which path inside the notes folder; the exit status; what the output says)
FILES = {
    "a sub-folder's settings linked to /dev/zero": ("link:/dev/zero", "sub/deckgen.toml", 0, "[link-outside]"),
    "a deck's settings linked to /dev/zero": ("link:/dev/zero", "deck.deck.toml", 0, "[link-outside]"),
    "the library's settings as a pipe": ("fifo", "deckgen.toml", 1, "not a regular file"),
    "a sub-folder's settings as a pipe": ("fifo", "sub/deckgen.toml", 1, "not a regular file"),
    "a deck's settings as a pipe": ("fifo", "deck.deck.toml", 1, "not a regular file"),
    "the identity record as a pipe": ("fifo", ".deckgen/identity.jsonl", 1, "not a regular file"),
    "settings nested 100,000 deep": ("text:x = " + "[" * 100_000, "deckgen.toml", 1, "nested too deeply"),
    "settings with a 5,000-digit number": ("text:x = " + "9" * 5_000, "sub/deckgen.toml", 1, "digits"),
    "a notes file larger than 128 MiB": ("sparse:129", "big.md", 1, "larger than 128 MiB"),
}


def make(folder: Path, what: str, where: str) -> None:
    path = folder / where
    path.parent.mkdir(parents=True, exist_ok=True)
    if what == "fifo":
        os.mkfifo(path)
    elif what.startswith("sparse:"):  # that many MiB, of which the disk holds nothing
        with open(path, "wb") as file:
            file.truncate(int(what[7:]) * 1024 * 1024)
    elif what.startswith("link:"):
        path.symlink_to(what[5:])
    else:
        path.write_text(what[5:], encoding="utf-8")


@pytest.mark.parametrize("name", FILES)
def test_no_file_makes_a_build_hang_crash_or_read_without_end(tmp_path, name):
    what, where, status, said = FILES[name]
    folder = notes(tmp_path)
    if where.startswith(".deckgen/"):
        assert deckgen("build", str(folder), "-o", str(tmp_path / "build")).returncode == 0
        (folder / where).unlink()
    make(folder, what, where)
    for command in ("build", "check"):
        result = deckgen(command, str(folder), "-o", str(tmp_path / "build"))
        assert result.returncode == status and "Traceback" not in result.stderr, result.stderr
        assert said in result.stdout + result.stderr
        if status:  # the error names the file
            assert str(folder / where) in result.stdout + result.stderr
    checked = deckgen("check", "--format", "json", str(folder))
    report = json.loads(checked.stdout)  # JSON, whatever went wrong
    assert (report["errors"] > 0) == bool(status) and checked.returncode == status


def test_a_pipe_named_like_the_settings_of_a_folder_above_the_library_is_not_waited_on(tmp_path):
    """Every folder above the one given is looked at for a library's settings."""
    os.mkfifo(tmp_path / "deckgen.toml")
    folder = notes(tmp_path)
    assert deckgen("check", str(folder)).returncode == 0


def test_an_image_that_is_a_pipe_is_no_image(tmp_path):
    folder = notes(tmp_path)
    os.mkfifo(folder / "plot.png")
    (folder / "deck.md").write_text(QUESTIONS + "![plot](plot.png)\n", encoding="utf-8")
    result = deckgen("build", str(folder), "-o", str(tmp_path / "build"))
    assert result.returncode == 0 and "[media-not-image]" in result.stderr, result.stderr


# The output folder a repository commits (build/, where builds go by default).

def cloned(tmp_path: Path) -> tuple[Path, Path]:
    """A repository built once by its author elsewhere, cloned here: notes with their record, and its build/."""
    repo = tmp_path / "repo"
    folder = notes(repo)
    author = dict(os.environ, DECKGEN_STATE_DIR=str(tmp_path / "author-state"),
                  DECKGEN_CACHE_DIR=str(tmp_path / "author-cache"))
    subprocess.run([sys.executable, "-m", "deckgen", "build", "notes"], cwd=repo, env=author, check=True,
                   capture_output=True)
    return folder, repo / "build"


def test_a_package_in_a_cloned_output_folder_is_never_reported_as_built(tmp_path, anki):
    """A committed build/notes-1.0.0.apkg, hand-made with script in its templates, was reported as the build's and
    left for the user to import or share."""
    folder, build = cloned(tmp_path)
    (package,) = build.glob("*.apkg")
    forged = package.read_bytes().replace(b"dg-card", b"dg-card\\\"><script>alert(1)</script>")
    package.write_bytes(forged)
    result = deckgen("build", "notes", cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    assert f"notes 1.0.0: 2 notes in 2 decks (2 unchanged) -> build/{package.name}" in result.stdout
    assert package.read_bytes() != forged  # written again, by this build
    anki.import_package(package)
    assert all("<script" not in template["qfmt"] + template["afmt"] for model in anki.col.models.all()
               if model["name"].startswith("deckgen") for template in model["tmpls"])
    again = deckgen("build", "notes", cwd=folder.parent)  # now this machine's own: kept as it is
    assert again.returncode == 0 and "(nothing changed)" in again.stdout


def test_a_changelog_linked_to_a_local_file_copies_nothing_of_it(tmp_path):
    folder, build = cloned(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("DECKGEN-SECRET-4d1f\n", encoding="utf-8")
    (changelog,) = build.glob("*.changelog.md")
    changelog.unlink()
    changelog.symlink_to(secret)
    (folder / "deck.md").write_text(QUESTIONS + "### New?\nYes.\n", encoding="utf-8")
    assert deckgen("build", "notes", cwd=folder.parent).returncode == 0
    assert not changelog.is_symlink() and "DECKGEN-SECRET" not in changelog.read_text(encoding="utf-8")
    assert secret.read_text(encoding="utf-8") == "DECKGEN-SECRET-4d1f\n"  # untouched


def test_a_render_cache_or_stamp_in_a_cloned_output_folder_is_neither_read_nor_written(tmp_path):
    """A linked render cache had tables written into a database elsewhere; a committed one could hand any HTML to
    cards. Caches and stamps now live in the user's cache folder (see deckgen.places)."""
    folder, build = cloned(tmp_path)
    elsewhere = tmp_path / "elsewhere.sqlite"
    with sqlite3.connect(elsewhere) as db:
        db.execute("create table kept (x)")
    (build / ".cache").mkdir()
    (build / ".cache" / "render.sqlite").symlink_to(elsewhere)
    (author_stamp,) = (tmp_path / "author-cache" / "stamps").iterdir()  # the author's: "all up to date"
    (build / ".cache" / f"stamp-{library_tag(folder)}.json").write_bytes(author_stamp.read_bytes())
    before = elsewhere.read_bytes()
    result = deckgen("build", "notes", cwd=folder.parent)
    assert result.returncode == 0 and "(nothing changed)" not in result.stdout  # a build of this machine's own
    assert elsewhere.read_bytes() == before


def test_a_delivery_record_committed_in_the_output_folder_vouches_for_no_note(tmp_path, anki):
    """deckgen 0.2 kept what a machine delivered in the output folder: a repository could commit one claiming
    another deck's notes (as delivered, then removed), whose notes its package would then mark removed."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "deck.md").write_text("### Victim's question?\nThe victim's answer, studied for months.\n")
    assert deckgen("build", str(victim), "-o", str(tmp_path / "victim-build")).returncode == 0
    anki.import_package(next((tmp_path / "victim-build").glob("*.apkg")))
    victims = [line for line in record_path(victim).read_text(encoding="utf-8").splitlines()
               if line.startswith('{"guid":')]

    folder, build = cloned(tmp_path)
    record = record_path(folder).read_text(encoding="utf-8")
    delivered = record + "".join(json.dumps({**json.loads(line), "deck": "deck"}, separators=(",", ":")) + "\n"
                                 for line in victims)
    header = {"deckgen_delivered": 1, "library": str(folder.resolve()), "versions": {}}
    (build / f".deckgen-delivered-{library_tag(folder)}.jsonl").write_text(json.dumps(header) + "\n" + delivered)
    result = deckgen("build", "notes", cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    for package in build.glob("*.apkg"):
        anki.import_package(package)
    (note,) = [n for n in anki.notes() if n["Question"] == "Victim's question?"]
    assert "deckgen::removed" not in note.tags and note["Status"] == ""


def test_an_output_folder_that_is_a_link_is_not_written_through(tmp_path):
    notes(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "build").symlink_to(tmp_path / "elsewhere")
    for command in ("build", "preview"):
        result = deckgen(command, "notes", cwd=tmp_path)
        assert result.returncode == 1 and "build is a symbolic link" in result.stderr, (command, result.stderr)
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert deckgen("build", "notes", "-o", "elsewhere", cwd=tmp_path).returncode == 0  # named as it is: fine


def test_what_this_machine_delivered_outlives_its_output_folder(tmp_path):
    """Deleting build/ lost revert protection; it is kept in the state folder now."""
    import shutil

    folder = notes(tmp_path)
    assert deckgen("build", "notes", cwd=tmp_path).returncode == 0
    first = record_path(folder).read_bytes()
    (folder / "deck.md").write_text(QUESTIONS.replace("frozen", "FROZEN"), encoding="utf-8")
    assert deckgen("build", "notes", cwd=tmp_path).returncode == 0
    shutil.rmtree(tmp_path / "build")
    (folder / "deck.md").write_text(QUESTIONS, encoding="utf-8")  # as git revert would, the record with it
    record_path(folder).write_bytes(first)
    result = deckgen("build", "notes", cwd=tmp_path)
    assert result.returncode == 0 and "no record of building" not in result.stdout
    assert "notes-1.0.2.apkg" in result.stdout and zipfile.ZipFile(tmp_path / "build" / "notes-1.0.2.apkg").testzip() is None


def test_a_delivery_record_planted_in_the_output_folder_cannot_vouch_for_a_package(tmp_path):
    """Written as this release writes its own (format 2, with the SHA-256 of each package), it would have had a
    forged package kept as built: from an output folder only deckgen 0.2's format is read, and none of its
    packages."""
    import hashlib

    folder, build = cloned(tmp_path)
    (package,) = build.glob("*.apkg")
    forged = package.read_bytes() + b"FORGED"
    package.write_bytes(forged)
    header = {"deckgen_delivered": 2, "library": str(folder.resolve()), "versions": {},
              "packages": {same_path(package): ["notes", hashlib.sha256(forged).hexdigest()]}}
    (build / f".deckgen-delivered-{library_tag(folder)}.jsonl").write_text(
        json.dumps(header) + "\n" + record_path(folder).read_text(encoding="utf-8"))
    assert deckgen("build", "notes", cwd=folder.parent).returncode == 0
    assert package.read_bytes() != forged
