"""Turning SIGTERM and SIGHUP (a closed terminal, a killed job) into an exception, so work stops cleanly."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def raise_on_termination(make_exception: Callable[[int], BaseException]) -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise `make_exception(signum)`; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(signum, frame):
        raise make_exception(signum)

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


_STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def deferred() -> Iterator[None]:
    """While inside, Ctrl-C, SIGTERM and SIGHUP wait; one that arrived is delivered as it ends.

    For starting worker processes: Python runs its fork handlers in the parent right after `fork`, and an
    exception raised by a signal handler inside one of them is printed and dropped, so a Ctrl-C at that moment
    was lost and the run went on to the end. A forked worker inherits the blocked signals: it calls `resume`."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def resume() -> None:
    """In a forked worker: no longer block the signals `deferred` blocked in the process that forked it."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
