"""Whatever the input, deckgen builds a deck Anki accepts or stops with its own error; a kill loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from deckgen import build_decks
from deckgen.cli import main
from deckgen.places import delivered_path

from conftest import AnkiProfile, record_of, record_path, write_deck

PIECES = ["### Q?", "### Q? {#q}", "###", "## Section", "# Part", "#### Detail", "- item", "* item", "1. one",
          "  - nested", "    - deeper", "```", "```python", "~~~", "$$", "$x_1 * y_2$", "\\(", "\\]", "$5 and $10",
          "| a | b |", "|---|---|", "> quote", "<b>bold</b>", "<script>x</script>", "**b**", "`code`", "[link](x)",
          "https://example.org", "", "   ", "\t- tab", "{#id}", "&amp; &lt;", "\\", "<!-- c"]
line = st.one_of(st.sampled_from(PIECES), st.text(max_size=30),
                 st.builds(lambda t: "### " + t, st.text(min_size=1, max_size=15)))
documents = st.one_of(st.lists(line, max_size=25).map("\n".join).map(lambda s: s.encode("utf-8")),
                      st.binary(max_size=64))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents)
def test_any_input_builds_an_importable_deck_or_stops_with_a_deckgen_error(document):
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "source", Path(tmp) / "build"
        src.mkdir()
        (src / "deck.md").write_bytes(document)
        result = CliRunner().invoke(main, ["build", str(src), "-o", str(out)])
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        leftovers = [p for p in Path(tmp).rglob("*") if p.name.endswith(".deckgen-tmp")]
        assert leftovers == []
        packages = list(out.glob("*.apkg")) if out.exists() else []
        if result.exit_code == 1:
            assert packages == [] and not record_path(src).exists()
            assert result.output.splitlines()[-1].startswith("Error: ")
            return
        if not packages:  # a file with no questions: a warning, nothing to build
            assert "[no-questions]" in result.output
            return
        profile = AnkiProfile(Path(tmp) / "collection.anki2")
        try:
            log = profile.import_package(packages[0])
            assert len(log.conflicting) == 0
            assert profile.col.note_count() == len(record_of(src).notes)
            assert profile.check_database()[1]
        finally:
            profile.close()


def big_deck(answers: str, count: int = 3000) -> str:
    """Enough Markdown (1.5 MB) to be rendered in several processes."""
    return "".join(f"### Question number {i}?\n{answers} {i}, with **bold** and `code`. " + "Some more words. " * 25
                   + "\n- a\n- b\n\n" for i in range(count))


def test_a_build_killed_at_any_moment_leaves_the_previous_deck_and_identity_intact(tmp_path):
    src, out = tmp_path / "source", tmp_path / "build"
    src.mkdir()
    deck = src / "deck.md"
    deck.write_text(big_deck("First answer"), encoding="utf-8")
    command = [sys.executable, "-m", "deckgen", "build", str(src), "-o", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    old_apkg = (out / "deck-1.0.0.apkg").read_bytes()
    old_identity = record_path(src).read_bytes()
    delivered = delivered_path(src)
    old_delivered = delivered.read_bytes()

    deck.write_text(big_deck("Second answer"), encoding="utf-8")
    start = time.monotonic()  # how long the rebuild takes, run once to the end and then undone
    subprocess.run(command, check=True, capture_output=True)
    duration = time.monotonic() - start
    record_path(src).write_bytes(old_identity)
    (out / "deck-1.0.1.apkg").unlink()
    delivered.write_bytes(old_delivered)  # as if 1.0.1 had never been built here
    outcomes = set()
    for step in range(14):  # kills from the start to past the end of the rebuild
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * step / 10)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert (out / "deck-1.0.0.apkg").read_bytes() == old_apkg
        identity = record_path(src).read_bytes()
        if identity == old_identity:
            outcomes.add("old")
        else:
            assert record_of(src).packages["deck"].version == "1.0.1"
            outcomes.add("new")
            record_path(src).write_bytes(old_identity)  # try again from the old state
            (out / "deck-1.0.1.apkg").unlink(missing_ok=True)
        delivered.write_bytes(old_delivered)
        for package in out.glob("*.apkg"):
            assert zipfile.ZipFile(package).testzip() is None
    assert outcomes == {"old", "new"}  # killed both before and after the files were renamed into place

    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert record_of(src).packages["deck"].version == "1.0.1"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.name.startswith(".")) == sorted([
        ".deckgen-output", ".deckgen.lock", ".gitattributes"])
    assert [p.name for p in delivered.parent.iterdir()] == [delivered.name]  # no temporary file left there


def processes_in_session(session: int) -> list[int]:
    """The processes of a session (Linux: from /proc), zombies left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) == session and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux's /proc")
@pytest.mark.parametrize("how", ["SIGTERM to the build", "SIGKILL to the build", "Ctrl-C to its group"])
def test_no_process_of_a_build_outlives_it_by_more_than_a_second(tmp_path, how):
    src, out = tmp_path / "source", tmp_path / "build"
    src.mkdir()
    (src / "deck.md").write_text(big_deck("An answer"), encoding="utf-8")  # renders in several processes
    command = [sys.executable, "-m", "deckgen", "build", str(src), "-o", str(out)]
    with (tmp_path / "stderr").open("wb") as stderr:
        # As from a terminal: Ctrl-C not ignored, as it is in a job a script started in the background (a
        # program started so rightly ignores it, and the build would then finish).
        build = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while len(processes_in_session(build.pid)) < 3 and time.monotonic() < deadline:  # the workers have started
        time.sleep(0.02)
    assert len(processes_in_session(build.pid)) >= 3, "the build never rendered in several processes"
    if how == "Ctrl-C to its group":
        os.killpg(build.pid, signal.SIGINT)
    else:
        os.kill(build.pid, signal.SIGTERM if how.startswith("SIGTERM") else signal.SIGKILL)
    build.wait(10)
    time.sleep(1.0)
    assert processes_in_session(build.pid) == []
    assert not list(out.glob("*.apkg")) and not record_path(src).exists()
    if how == "Ctrl-C to its group":  # said, and told apart from problems in the sources (status 1)
        assert build.returncode == 130 and b"interrupted: what earlier builds wrote is intact" in (tmp_path / "stderr").read_bytes()


def _children() -> list[str]:
    """The command lines of this process's child processes (Linux: from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, IndexError, ValueError):
            pass
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")
@pytest.mark.parametrize("parallel", [False, True], ids=["in this process", "in worker processes"])
def test_a_build_leaves_no_thread_process_or_signal_handler_in_the_callers_process(tmp_path, monkeypatch, parallel):
    """A library leaves its caller's process as it found it: the time-limit watchdog a long answer starts (see
    `time_limit`) ends with the build, and the next limit starts another; the render workers, and the helper
    process multiprocessing starts for their locks, end with the rendering; no signal handler is changed."""
    import threading

    from deckgen.render import pool, time_limit
    from deckgen.render.renderer import TIME_LIMIT_FROM

    time_limit.stop_watching()  # another test's
    armed = []
    arm = time_limit._WATCHDOG.arm
    monkeypatch.setattr(time_limit._WATCHDOG, "arm", lambda seconds: armed.append(seconds) or arm(seconds))
    if parallel:
        monkeypatch.setattr(pool, "PARALLEL_MIN", 0)
        monkeypatch.setattr(os, "cpu_count", lambda: 2)
    before = set(threading.enumerate())
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    children = _children()
    answer = "Words and more words. " * (TIME_LIMIT_FROM // 20 + 1)  # long enough to render under a limit
    write_deck(tmp_path / "src", "deck", f"### A long one?\n{answer}\n" + "".join(
        f"### Question {i}?\nAnswer {i}.\n" for i in range(300)))
    build_decks(tmp_path / "src", tmp_path / "out")
    assert [t.name for t in threading.enumerate() if t not in before] == []
    assert _children() == children
    assert {number: signal.getsignal(number) for number in handlers} == handlers
    if not parallel:
        assert armed
        with time_limit.time_limit(10):
            assert [t.name for t in threading.enumerate() if t not in before] == ["deckgen-time-limit"]
        time_limit.stop_watching()


def test_a_build_leaves_alone_what_another_librarys_build_is_writing_into_a_shared_output_folder(tmp_path):
    """Libraries may share an output folder (each with packages of its own names): a build's sweep of what
    killed builds left behind touches only what its own lock covers, never a file another build is writing
    there right now (here, that build's marker of the output folder, half-written)."""
    from deckgen.places import OUTPUT_MARKER
    from deckgen.output.staging import TEMP_SUFFIX

    out = tmp_path / "build"
    write_deck(tmp_path / "one", "first", "### Q one?\nA one.\n")
    build_decks(tmp_path / "one", out)
    (out / OUTPUT_MARKER).unlink()  # another library's build is about to write it
    in_flight = out / f".{OUTPUT_MARKER}.x1y2z3{TEMP_SUFFIX}"
    in_flight.write_bytes(b"deckgen builds")
    write_deck(tmp_path / "two", "second", "### Q two?\nA two.\n")
    build_decks(tmp_path / "two", out)
    assert in_flight.exists() and (out / OUTPUT_MARKER).is_file()
    assert sorted(p.name for p in out.glob("*.apkg")) == ["first-1.0.0.apkg", "second-1.0.0.apkg"]
