"""A time limit for a piece of pure-Python work in the current thread, without signals.

Rendering Markdown from anywhere can meet inputs on which a library's parser
is slower than linear. The renderer gives each long text a time limit: one
watchdog thread a process raises `TimeLimitExceeded` in the working thread
once the limit has passed (CPython's `PyThreadState_SetAsyncExc`), at the
next bytecode it runs, and again every POLL seconds until the work stops, in
case some library swallowed it. No signal handler is installed, so it works
in any thread; `stop_watching` ends the watchdog when the work is done, so
the caller's process is left as it was. Where the
interpreter cannot do this (not CPython), work simply runs without a limit.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time

POLL = 0.05  # seconds between the watchdog's looks while work is running
IDLE = 1.0  # seconds without work after which the watchdog sleeps until woken


class TimeLimitExceeded(Exception):
    """The work ran past its limit and was stopped."""


try:
    _raise_in = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
        ("PyThreadState_SetAsyncExc", ctypes.pythonapi))
except AttributeError:  # pragma: no cover - not CPython
    _raise_in = None


class _Watchdog:
    """Watches the deadlines of the threads working under a limit; one a process."""

    def __init__(self) -> None:
        self._wake = threading.Condition(threading.Lock())
        self._deadlines: dict[int, float] = {}
        self._fired: set[int] = set()
        self._thread: threading.Thread | None = None
        self._sleeping = False
        self._stopping = False

    def arm(self, seconds: float) -> int:
        thread = threading.get_ident()
        with self._wake:
            self._fired.discard(thread)
            self._deadlines[thread] = time.monotonic() + seconds
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="deckgen-time-limit", daemon=True)
                self._thread.start()
            elif self._sleeping:
                self._wake.notify()
        return thread

    def disarm(self, thread: int) -> bool:
        """Stop watching `thread`; whether its limit was passed."""
        with self._wake:
            self._deadlines.pop(thread, None)
            return thread in self._fired

    def stop(self) -> None:
        """End the watchdog thread, once no work is under a limit (the next limit starts another)."""
        with self._wake:
            thread = self._thread
            if thread is None:
                return
            self._stopping = True
            self._wake.notify()
        thread.join()

    def _watch(self) -> None:
        idle_since = time.monotonic()
        with self._wake:
            while True:
                now = time.monotonic()
                if self._deadlines:
                    idle_since = now
                elif self._stopping:
                    self._thread, self._stopping = None, False
                    return
                elif now - idle_since > IDLE:
                    self._sleeping = True
                    self._wake.wait()  # until the next `arm`
                    self._sleeping = False
                    continue
                for thread, deadline in self._deadlines.items():
                    if deadline <= now:
                        self._fired.add(thread)
                        _raise_in(thread, TimeLimitExceeded)
                self._wake.wait(POLL)


_WATCHDOG = _Watchdog()


def stop_watching() -> None:
    """End the thread `time_limit` started, once no work is under a limit: a build leaves none behind in its
    caller's process."""
    _WATCHDOG.stop()


@contextlib.contextmanager
def time_limit(seconds: float):
    """Run the block with a time limit; TimeLimitExceeded when it passes."""
    if _raise_in is None:  # pragma: no cover
        yield
        return
    thread = _WATCHDOG.arm(seconds)
    try:
        yield
    finally:
        if _WATCHDOG.disarm(thread):
            # One may still be pending (raised as the block ended, or after one was swallowed); it would
            # arrive at the next bytecode, wherever that is. Let it arrive here, where it belongs.
            for _ in range(10_000):
                pass
            raise TimeLimitExceeded
