"""Stopping solves: a :class:`Cancellation` passed down to every route, and Ctrl-C.

A Cancellation holds the stop functions of the solvers running under it (HiGHS
``cancelSolve``, CP-SAT ``stop_search``); ``cancel(reason)`` calls them all, and a
solver that registers later stops at once. A ``child()`` is cancelled with its
parent but can also be cancelled alone (one of two solves side by side stopping the
other); ``root`` is the session's, whose ``reason`` goes in the plan's message.

``session()`` opens one for a solve: in the main thread the first Ctrl-C (or SIGTERM, what
schedulers and containers send) does not raise but cancels it (the solvers return their best plans, status feasible; before
any started, the warm start is kept), and a second raises KeyboardInterrupt
(abort, nothing written). Solvers run outside the main thread; the main thread waits
in short steps (``wait_all``), so Python's signal handler runs promptly.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

LIMIT_REASON = "stopped at a limit"


class Cancellation:
    """Stop every solver registered here (and under its children); see the module doc."""

    def __init__(self, parent: Cancellation | None = None) -> None:
        self._parent = parent
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._stoppers: dict[int, Callable[[], None]] = {}
        self._children: list[Cancellation] = []
        self._next = 0
        self.reason = LIMIT_REASON

    @property
    def root(self) -> Cancellation:
        return self if self._parent is None else self._parent.root

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self._parent is not None and self._parent.cancelled)

    def child(self) -> Cancellation:
        child = Cancellation(self)
        with self._lock:
            self._children.append(child)
        if self.cancelled:
            child.cancel()
        return child

    def register(self, stop: Callable[[], None]) -> int:
        """Register a running solver's stop function; returns a key for ``unregister``."""
        with self._lock:
            self._next += 1
            self._stoppers[self._next] = stop
            key = self._next
        if self.cancelled:
            stop()
        return key

    def unregister(self, key: int) -> None:
        with self._lock:
            self._stoppers.pop(key, None)

    @contextlib.contextmanager
    def registered(self, stop: Callable[[], None]) -> Iterator[None]:
        key = self.register(stop)
        try:
            yield
        finally:
            self.unregister(key)

    def cancel(self, reason: str | None = None) -> None:
        """Ask every registered solver (and those of the children) to stop; ``reason`` is kept
        (the first one given) for the plan's message."""
        with self._lock:
            if not self._event.is_set() and reason is not None:
                self.reason = reason
            self._event.set()
            stoppers = list(self._stoppers.values())
            children = list(self._children)
        for stop in stoppers:
            stop()
        for child in children:
            child.cancel()

    def wait_all(self, futures: list[Future]) -> None:
        """Wait for futures; on Ctrl-C (KeyboardInterrupt here) cancel and keep waiting for their results."""
        pending = set(futures)
        while pending:
            try:
                _, pending = wait(pending, timeout=0.1)
            except KeyboardInterrupt:
                self.root.cancel("stopped by Ctrl-C")

    def run(self, function: Callable, *args, **kwargs):
        """Run function in a worker thread (when called from the main thread) so Ctrl-C can stop it."""
        if threading.current_thread() is not threading.main_thread():
            return function(*args, **kwargs)
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(function, *args, **kwargs)
            self.wait_all([future])
            return future.result()


@contextlib.contextmanager
def session(cancellation: Cancellation | None = None) -> Iterator[Cancellation]:
    """A solve session: ``cancellation`` if given (an outer session's), else a new one that,
    in the main thread, Ctrl-C cancels (twice aborts)."""
    if cancellation is not None:
        yield cancellation
        return
    cancellation = Cancellation()
    installed = threading.current_thread() is threading.main_thread()
    previous = {}
    if installed:

        def on_signal(signum, frame) -> None:
            name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
            if cancellation.cancelled:
                raise KeyboardInterrupt
            print(f"{name}: stopping, keeping the best plan found ({name} again to abort).", file=sys.stderr, flush=True)
            cancellation.cancel(f"stopped by {name}")

        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        yield cancellation
    finally:
        for signum, handler in previous.items():
            fallback = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            signal.signal(signum, handler if handler is not None else fallback)
