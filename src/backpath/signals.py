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
