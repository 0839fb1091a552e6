"""`signals.deferred`: Ctrl-C, SIGTERM and SIGHUP wait until the block ends, whichever thread receives them."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from backpath.system.signals import deferred, raise_on_termination


def _in_another_thread(action):
    """Run `action(thread)` while a helper thread (signals not blocked) is alive."""
    ready, done = threading.Event(), threading.Event()
    helper = threading.Thread(target=lambda: (ready.set(), done.wait(5)))
    helper.start()
    ready.wait()
    try:
        action(helper)
    finally:
        done.set()
        helper.join()


def test_ctrl_c_inside_waits_for_the_end_of_the_block():
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with deferred():
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.01)
            finished.append(True)
    assert finished


def test_a_signal_another_thread_receives_still_waits():
    """The kernel may hand a process's signal to any thread that does not block it (numpy's BLAS threads): the
    main thread must still not be interrupted inside the block."""
    finished = []

    def body(helper):
        with deferred():
            signal.pthread_kill(helper.ident, signal.SIGINT)
            for _ in range(10_000):  # bytecodes at which a noted signal's handler would run
                pass
            time.sleep(0.05)
            finished.append(True)

    with pytest.raises(KeyboardInterrupt):
        _in_another_thread(body)
    assert finished


def test_sigterm_waits_and_then_reaches_its_handler():
    class Stopped(Exception):
        pass

    finished = []
    with raise_on_termination(lambda signum: Stopped(signum)):
        with pytest.raises(Stopped):
            with deferred():
                signal.raise_signal(signal.SIGTERM)
                finished.append(True)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers put back
    assert finished


def test_nothing_held_nothing_raised_and_handlers_put_back():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with deferred():
        pass
    assert {s: signal.getsignal(s) for s in before} == before
