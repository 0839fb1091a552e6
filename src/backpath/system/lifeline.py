"""`--jobs` workers die with the batch process that started them.

A batch process killed with SIGKILL cannot stop its workers, and an orphaned worker would run on for as long as
its chunk takes, holding the lock on the run's hand-off folder and writing results (patient data) into a
temporary output file no run will ever finish. So each worker asks Linux to send it SIGKILL when its parent
dies (`prctl(PR_SET_PDEATHSIG)`), checks at once that the parent is still the one that started it (it may have
died before the request was made), and, where prctl is not available, watches its parent's id from a thread and
ends itself when it changes. What a killed run leaves on disk is removed by the next run (`handoff.remove_stale`,
`fileio.remove_stale_parts`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 1.0  # how often the fallback thread looks at the parent's id

def die_with_parent() -> str:
    """In a worker process: end it when the process that started it dies. Returns how: "prctl" or "watch";
    "none" outside a worker process (a test calling a worker's set-up in its own process); "gone" when the
    parent had already died (then this process has ended, which only a test that stubs `_end` can see)."""
    parent_process = multiprocessing.parent_process()
    if parent_process is None:
        return "none"
    parent = parent_process.pid
    how = "prctl" if _request_death_signal() else "watch"
    if os.getppid() != parent:  # the parent died before the request: nobody will send the signal
        _end()
        return "gone"
    if how == "watch":
        threading.Thread(target=_watch, args=(parent,), name="backpath-lifeline", daemon=True).start()
    return how


def _request_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    event = threading.Event()
    while not event.wait(WATCH_SECONDS):
        if os.getppid() != parent:
            _end()


def _end() -> None:
    os._exit(1)
