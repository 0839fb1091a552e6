"""Turning SIGTERM and SIGHUP (a closed terminal, a killed job) into an exception, so work stops cleanly."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn


@contextmanager
def raise_on_termination(make_exception: Callable[[int], BaseException]) -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise `make_exception(signum)`; the previous handlers come back after."""
    def handler(signum, frame):
        raise make_exception(signum)

    with _handling([getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)], handler):
        yield


@contextmanager
def _handling(signals: list[int], handler: Callable) -> Iterator[dict[int, Any]]:
    """While inside, `handler` handles `signals`; gives the handlers it replaced, which come back after. Nothing is
    set outside the main thread (the only one that may set handlers)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        yield previous
        return
    try:
        for s in signals:  # one by one inside the try: whatever was set is put back
            previous[s] = signal.signal(s, handler)
        yield previous
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


_STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_outside: dict[int, Any] = {}  # while deferring: the handlers in force outside `deferred`


@contextmanager
def deferred() -> Iterator[None]:
    """While inside, Ctrl-C, SIGTERM and SIGHUP wait; the first that arrived is delivered (to the handler in force
    outside) as it ends.

    For code that must not be cut in the middle: the process pool's own (starting worker processes, waiting for a
    result, shutting down). An exception raised there can leave the pool without the thread that would stop its
    workers (the batch process then exits and a worker waits forever), or a future's lock held; and one raised
    inside Python's fork handlers is printed and dropped (the run went on to the end). The signals are held by
    handlers that only note them. Blocking them (`pthread_sigmask`) is not enough: the mask is the main thread's,
    and the kernel hands a process's signal to any thread that does not block it (a library's threads, such as
    numpy's BLAS threads, started earlier), whose note makes the main thread raise at its next step all the same
    (seen once in about 40 runs interrupted at the start: a worker left waiting for work after the batch process had
    gone).
    A forked worker inherits the holding handlers: it calls `resume`."""
    if _outside:  # nested: the outer block holds them
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        held.append(signum)

    previous: dict[int, Any] = {}
    try:
        with _handling(list(_STOPPING), hold) as previous:
            _outside.update(previous)
            try:
                yield
            finally:
                _outside.clear()
    finally:  # delivered even if the block failed, as it would have been had it not waited
        if held:
            _deliver(held[0], previous[held[0]])


def _deliver(signum: int, handler: Any) -> None:
    """What would have happened had `signum` not waited: its handler runs (Ctrl-C raises KeyboardInterrupt), the
    default action is taken, or nothing if it is ignored."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


def resume() -> None:
    """In a forked worker: the handlers in force outside `deferred` in the process that forked it."""
    for s, old in _outside.items():
        signal.signal(s, old)
    _outside.clear()


def interrupted() -> NoReturn:
    """How every command ends after a Ctrl-C that nothing more particular reported."""
    sys.stderr.write("interrupted\n")
    sys.exit(130)
