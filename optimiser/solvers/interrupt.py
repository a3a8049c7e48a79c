"""Ctrl-C during a solve: stop every running solver and keep the best plans found.

Solvers run outside the main thread; the main thread waits in short steps, so
a KeyboardInterrupt reaches it, and it then asks each registered solver to
stop (HiGHS ``cancelSolve``, CP-SAT ``StopSearch``). The solvers return their
best plans with status feasible.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

_stoppers: dict[int, Callable[[], None]] = {}
_lock = threading.Lock()
_next = [0]
interrupted = threading.Event()


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


def stop_all() -> None:
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
    interrupted.clear()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(function, *args, **kwargs)
        wait_all([future])
        return future.result()
