"""Time and memory of each stage of one deckgen command, in one process.

    python bench/stages.py build NOTES -o OUT [other deckgen arguments]

Runs the command line as `deckgen` does, with each stage the pipeline calls
(the functions `deckgen.build` imports for them) wrapped, and prints for each
call: its wall and CPU seconds (this process's), the resident memory after
it, and the highest during it (Linux's VmRSS and VmHWM, the high-water mark
reset before each stage; elsewhere the times alone). `read_decks` hands each
file to `parse_decks` as it is read, so reading counts in parsing. Texts
rendered by worker processes count in neither CPU nor memory here
(bench/run.py measures whole process trees); set
DECKGEN_STATE_DIR and DECKGEN_CACHE_DIR to keep a run off this machine's own
state and cache, as bench/run.py does.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

STAGES = ("build_fingerprint", "library_cache", "read_decks", "parse_decks", "read_history", "hold_back",
          "identify_library", "render_library", "plan_next_build", "write_build")
STATUS = Path("/proc/self/status")


def memory() -> dict[str, int]:
    """VmRSS and VmHWM in MiB, or nothing where the system does not say."""
    try:
        lines = STATUS.read_text().splitlines()
    except OSError:
        return {}
    return {key: int(value.split()[0]) // 1024 for key, _, value in (line.partition(":") for line in lines)
            if key in ("VmRSS", "VmHWM")}


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def wrapped(name: str, function):
    @functools.wraps(function)
    def stage(*args, **kwargs):
        reset_peak()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            found = memory()
            used = f"  RSS {found['VmRSS']:6} MiB after, {found['VmHWM']:6} MiB at most" if found else ""
            print(f"{name:<18} {wall:7.2f} s  CPU {cpu:7.2f} s{used}", file=sys.stderr)
    return stage


def main() -> None:
    import deckgen.build as pipeline
    from deckgen.cli import main as deckgen

    for name in STAGES:
        setattr(pipeline, name, wrapped(name, getattr(pipeline, name)))
    start = time.perf_counter()
    try:
        deckgen(args=sys.argv[1:], prog_name="deckgen")
    except SystemExit as done:
        found = memory()
        print(f"{'whole command':<18} {time.perf_counter() - start:7.2f} s  exit {done.code}"
              + (f"  RSS {found['VmRSS']} MiB at the end" if found else ""), file=sys.stderr)


if __name__ == "__main__":  # not in a render worker, which loads this module again as its main one
    main()
