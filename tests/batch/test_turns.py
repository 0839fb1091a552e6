"""Workers writing chunks straight into the output in turn (`turns`): the turn, the separators, partial writes."""

from __future__ import annotations

import errno
import os
import warnings

import pytest

from backpath.batch.turns import Turns, write_all
from backpath.system import fileio


def test_a_chunk_is_written_only_in_its_turn_and_passes_the_turn_on(tmp_path):
    with open(tmp_path / "out.json", "wb") as fh:
        t = Turns(fh.fileno(), b"\n", b",\n")
        assert t.mine(0) and not t.mine(1)
        t.write(0, [b"{1}", b",\n", b"{2}"])
        assert t.written == 1 and t.mine(1) and not t.mine(0)
        t.passed(1)  # chunk 1 written by the batch process
        assert t.mine(2)
        t.write(2, [b"{3}"])
        t.stop()
        assert not t.mine(3) and t.written == 3
    assert (tmp_path / "out.json").read_bytes() == b"\n{1},\n{2},\n{3}"


def test_the_turn_is_shared_with_forked_processes(tmp_path):
    with open(tmp_path / "out.jsonl", "wb") as fh:
        t = Turns(fh.fileno())
        with warnings.catch_warnings():  # Python 3.12+ warns of fork in a process with threads; this child only writes
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child writes chunk 0, as a forked worker would
            try:
                t.write(0, [b"a\n"])
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert t.written == 1 and t.mine(1)
        t.write(1, [b"b\n"])  # after the child's bytes: the descriptor's offset is shared
    assert (tmp_path / "out.jsonl").read_bytes() == b"a\nb\n"


def test_write_all_finishes_what_the_kernel_writes_in_part(tmp_path, monkeypatch):
    real_writev = os.writev
    calls = []

    def short_writev(fd, buffers):
        calls.append(len(buffers))
        if len(calls) == 1:  # the first call stops in the middle of the third buffer
            return real_writev(fd, [buffers[0], buffers[1], buffers[2][:2]])
        return real_writev(fd, buffers)

    monkeypatch.setattr(os, "writev", short_writev)
    monkeypatch.setattr(fileio, "IOV_BATCH", 4)
    pieces = [b"one", b"", b"two", b"three", b"four", b"five", b"six"]
    with open(tmp_path / "out", "wb") as fh:
        write_all(fh.fileno(), pieces)
    assert (tmp_path / "out").read_bytes() == b"".join(pieces)
    assert calls[0] == 4  # empty pieces are left out; then at most IOV_BATCH buffers a call


def test_a_failed_write_keeps_the_turn(tmp_path, monkeypatch):
    def full(fd, buffers):
        raise OSError(errno.ENOSPC, "No space left on device")

    with open(tmp_path / "out", "wb") as fh:
        t = Turns(fh.fileno())
        monkeypatch.setattr(os, "writev", full)
        with pytest.raises(OSError, match="No space left"):
            t.write(0, [b"x"])
        assert t.written == 0
