"""Ctrl-C during a solve: stop every running solver and keep the best plans found.

Inside ``session()`` (``api.allocate`` and ``api.solve`` open one) the first
Ctrl-C does not raise: it sets ``interrupted`` and asks each registered
solver to stop (HiGHS ``cancelSolve``, CP-SAT ``StopSearch``); a solver that
registers later stops at once. The solvers return their best plans with
status feasible, and a Ctrl-C before any solver started gives the warm start.
A second Ctrl-C raises KeyboardInterrupt (abort, nothing written).

Solvers run outside the main thread; the main thread waits in short steps,
so Python's signal handler runs promptly. Outside a session (or off the main
thread) a KeyboardInterrupt caught in ``wait_all`` does the same as the first
Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

_stoppers: dict[int, Callable[[], None]] = {}
_lock = threading.Lock()
_next = [0]
_depth = [0]
interrupted = threading.Event()
stop_reason = ["stopped at a limit"]


@contextlib.contextmanager
def session():
    """A solve session: clears ``interrupted``; in the main thread, Ctrl-C stops solvers (twice aborts)."""
    outermost = _depth[0] == 0
    _depth[0] += 1
    installed, previous = False, None
    try:
        if outermost:
            interrupted.clear()
            stop_reason[0] = "stopped at a limit"
            if threading.current_thread() is threading.main_thread():
                previous = signal.signal(signal.SIGINT, _on_ctrl_c)
                installed = True
        yield
    finally:
        _depth[0] -= 1
        if installed:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def _on_ctrl_c(signum, frame) -> None:
    if interrupted.is_set():
        raise KeyboardInterrupt
    print("Ctrl-C: stopping, keeping the best plan found (Ctrl-C again to abort).", file=sys.stderr, flush=True)
    stop_all()


def register(stop: Callable[[], None]) -> int:
    """Register a running solver's stop function; returns a key for ``unregister``."""
    with _lock:
        _next[0] += 1
        _stoppers[_next[0]] = stop
        if interrupted.is_set():
            stop()
        return _next[0]


def unregister(key: int) -> None:
    with _lock:
        _stoppers.pop(key, None)


def stop_all(reason: str = "stopped by Ctrl-C") -> None:
    """Ask every running solver to stop; ``reason`` is kept for the plan's message."""
    if not interrupted.is_set():
        stop_reason[0] = reason
    interrupted.set()
    with _lock:
        for stop in list(_stoppers.values()):
            stop()


def wait_all(futures: list[Future]) -> None:
    """Wait for futures; on Ctrl-C stop every solver and keep waiting for their results."""
    pending = set(futures)
    while pending:
        try:
            _, pending = wait(pending, timeout=0.1)
        except KeyboardInterrupt:
            stop_all()


def run_interruptibly(function: Callable, *args, **kwargs):
    """Run function in a worker thread (when called from the main thread) so Ctrl-C can stop it."""
    if threading.current_thread() is not threading.main_thread():
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(function, *args, **kwargs)
        wait_all([future])
        return future.result()
