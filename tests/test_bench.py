"""The bench scripts run to the end and print their tables (tiny sizes: this times nothing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def bench(script: str, *arguments: str) -> str:
    done = subprocess.run([sys.executable, str(BENCH / script), *arguments], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def row(output: str, case: str) -> list[float]:
    """The figures printed after a case's name at the start of a line of the table."""
    for line in output.splitlines():
        if line.startswith(case + " "):
            words = line[len(case):].split()
            if words and all(w.replace(".", "", 1).isdigit() for w in words):
                return [float(w) for w in words]
    raise AssertionError(f"no row for {case!r} in:\n{output}")


def test_run_times_every_case_and_loses_no_reworded_note():
    output = bench("run.py", "--questions", "40", "--rounds", "1")
    for case in ("floor", "reused", "plain", "deckgen cold", "deckgen no change", "deckgen one edit", "reword 1000",
                 "edit 1000", "reword+edit 1000"):
        assert row(output, case)[0] > 0
    assert "CHECK" not in output, output


def test_run_on_the_seed_deck_times_the_obvious_program_beside_the_imports():
    output = bench("run.py", "--seed-deck", "--rounds", "1")
    for case in ("imports only", "reused", "deckgen cold", "deckgen no change", "deckgen one edit"):
        assert row(output, case)[0] > 0
    assert row(output, "imports only")[2] == 1.0  # the ratio to itself
    assert "CHECK" not in output, output


def test_library_times_every_case_finds_every_question_and_image_and_keeps_renamed_notes():
    output = bench("library.py", "--files", "12", "--questions", "120", "--images", "10", "--rounds", "1")
    for case in ("floor", "deckgen cold", "deckgen no change", "deckgen check", "deckgen one edit",
                 "deckgen one rename"):
        assert row(output, case)[0] > 0
    assert "deckgen cold: 120 notes, 10 media file(s)" in output
    assert "CHECK" not in output, output


def test_pathological_times_each_kind_against_ordinary_markdown():
    output = bench("pathological.py", "--questions", "2", "--chars", "300", "--rounds", "1",
                   "--only", "unclosed brackets", "emphasis runs")
    ordinary = row(output, "ordinary")[0]
    for kind in ("unclosed brackets", "emphasis runs"):  # each kind's ratio is its time over the ordinary deck's
        seconds, ratio = row(output, kind)[:2]
        assert seconds > 0 and abs(ratio - seconds / ordinary) <= 0.01 + 0.01 * ratio


def test_memory_measures_each_collector_setting():
    output = bench("memory.py", "--questions", "5", "--rounds", "1")
    for case in ("deckgen as installed", "collector as Python sets it", "collector off"):
        assert row(output, case)[1] > 10  # a peak RSS in MiB, not a placeholder


def test_one_note_says_for_each_shape_whether_it_rendered_or_timed_out():
    output = bench("one_note.py", "--chars", "3000", "--only", "a long table", "unclosed math", "one line of 1 MiB")
    assert "a long table" in output and "rendered (ordinary)" in output
    assert "one line of 1 MiB" in output and "refused (line too long)" not in output  # 3,000 characters: one line
    assert output.rstrip().endswith("shapes that still time out: none")


def test_same_output_tells_a_change_of_what_is_written_from_none(tmp_path):
    library = tmp_path / "notes"
    library.mkdir()
    (library / "deck.md").write_text("### A?\nAn answer.\n", encoding="utf-8")
    assert "notes: 7 files, the same bytes" in bench("same_output.py", "--before", str(BENCH.parent), str(library))
    changed = tmp_path / "before"
    shutil.copytree(BENCH.parent / "deckgen", changed / "deckgen", ignore=shutil.ignore_patterns("__pycache__"))
    card_html = changed / "deckgen" / "render" / "card_html.py"
    card_html.write_text(card_html.read_text(encoding="utf-8").replace("Version {version}", "v{version}"))
    done = subprocess.run([sys.executable, str(BENCH / "same_output.py"), "--before", str(changed), str(library)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "DIFFERENT: out/deck-1.0.0.apkg, out/deck-1.0.1.apkg" in done.stdout


def test_matching_times_each_case():
    output = bench("matching.py", "--questions", "200", "--same-titles", "20", "--rounds", "1")
    for case in ("no change", "1 % answers edited", "1 % reworded", "1 % moved", "20 'Example?', edited"):
        assert len(row(output, case)) == 2, output  # seconds, and the ratio to no change


def test_pull_edits_counts_each_kind_and_pulls_every_typo_and_sentence():
    output = bench("pull_edits.py", "--notes", "4", "--check")
    totals = {line[25:35].strip(): line[35:].split()[:4] for line in output.splitlines() if line.startswith("all ")}
    for kind in ("typo", "sentence", "bold", "list item", "code line", "formula", "link"):
        edited, seen, pulled, by_hand = map(int, totals[kind])
        assert edited > 0 and seen == edited and pulled + by_hand == edited


def test_budget_sets_the_required_work_beside_the_reference():
    output = bench("budget.py", "--questions", "40", "--rounds", "1")
    reference = row(output, "reference (whole process)")
    assert reference[0] > 0 and reference[1] == 1.0
    required = [row(output, case)[0] for case in ("clean every answer (nh3)", "structure (pyromark events)",
                                                  "second process (imports)")]
    total, ratio = row(output, "reference + the required three")
    assert abs(total - reference[0] - sum(required)) <= 0.002 and abs(ratio - total / reference[0]) <= 0.02  # rounded
    for case in ("render: Python-Markdown", "deckgen: split into questions", "deckgen: render and clean"):
        assert row(output, case)[0] > 0
    assert len(row(output, "render: pyromark HTML")) == 2  # 40 answers may take less than a millisecond


def test_stages_times_each_stage_of_a_build(tmp_path):
    notes, out = tmp_path / "notes", tmp_path / "out"
    notes.mkdir()
    (notes / "deck.md").write_text("### A?\nAn answer.\n\n### B?\nAnother.\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCH / "stages.py"), "build", str(notes), "-o", str(out)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DECKGEN_STATE_DIR": str(tmp_path / "state"),
                               "DECKGEN_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "2 notes (first build)" in done.stdout and list(out.glob("*.apkg"))
    lines = {line.split()[0]: line for line in done.stderr.splitlines() if " s  CPU " in line}
    for stage in ("parse_decks", "read_history", "identify_library", "render_library", "plan_next_build",
                  "write_build"):
        assert stage in lines, done.stderr
        if sys.platform == "linux":
            assert int(lines[stage].split("RSS")[1].split()[0]) > 10  # MiB, not a placeholder
    assert "whole command" in done.stderr and "exit 0" in done.stderr
