"""Worker outputs handed over through a private folder in RAM: permissions, clean-up, fallbacks."""

from __future__ import annotations

import fcntl
import os
import stat
import time

import pytest

from backpath.batch import handoff


def test_a_big_output_goes_through_a_private_file_that_is_deleted_when_taken(tmp_path):
    folder = handoff.open_folder(str(tmp_path))
    assert folder is not None and folder.startswith(str(tmp_path / f"backpath-{os.getpid()}-"))
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    data = b"x" * handoff.MIN_BYTES
    path = handoff.hand_over([data], folder, "1.out")
    assert path is not None and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert handoff.take_over(path) == data
    assert os.listdir(folder) == []
    handoff.close_folder(folder)
    assert not os.path.exists(folder)


def test_small_outputs_and_no_folder_go_by_pipe(tmp_path):
    folder = handoff.open_folder(str(tmp_path))
    assert handoff.hand_over([b"x" * (handoff.MIN_BYTES - 1)], folder, "1.out") is None
    assert handoff.hand_over([b"x" * handoff.MIN_BYTES], None, "1.out") is None
    assert handoff.open_folder(str(tmp_path / "missing")) is None


def test_a_chunk_that_cannot_be_written_goes_by_pipe(tmp_path):
    folder = handoff.open_folder(str(tmp_path))
    handoff.close_folder(folder)  # the folder is gone (the run is stopping)
    assert handoff.hand_over([b"x" * handoff.MIN_BYTES], folder, "1.out") is None


def _aged(folder, seconds: float = 2 * handoff.STALE_AFTER):
    past = time.time() - seconds
    os.utime(folder, (past, past))
    return folder


def test_folders_of_processes_that_are_gone_are_removed(tmp_path):
    stale = tmp_path / "backpath-999999999-abc"
    stale.mkdir()
    (stale / "7.out").write_bytes(b"results")
    _aged(stale)
    mine = tmp_path / f"backpath-{os.getpid()}-abc"
    mine.mkdir()
    _aged(mine)
    other = tmp_path / "something-else"
    other.mkdir()
    handoff.remove_stale(str(tmp_path))
    assert not stale.exists() and mine.exists() and other.exists()


def test_a_locked_folder_is_kept_whatever_its_process_id_says(tmp_path):
    """A run in another container sharing /dev/shm has a process id that means nothing here: its lock is what
    tells that it is alive."""
    live = tmp_path / "backpath-999999998-abc"
    live.mkdir()
    (live / "3.out").write_bytes(b"results")
    _aged(live)
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        handoff.remove_stale(str(tmp_path))
        assert (live / "3.out").exists()
    finally:
        os.close(fd)
    handoff.remove_stale(str(tmp_path))
    assert not live.exists()


def test_a_new_unlocked_folder_is_kept(tmp_path):
    """Between making its folder and locking it, a run's folder is unlocked for a moment: young folders stay."""
    young = tmp_path / "backpath-999999997-abc"
    young.mkdir()
    handoff.remove_stale(str(tmp_path))
    assert young.exists()


def test_a_run_locks_its_folder_until_it_closes_it(tmp_path):
    folder = handoff.open_folder(str(tmp_path))
    fd = os.open(folder, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    _aged(folder)
    handoff.remove_stale(str(tmp_path), now=time.time() + 3600)  # its process id is alive, and it is locked
    assert os.path.isdir(folder)
    handoff.close_folder(folder)
    assert not os.path.exists(folder) and folder not in handoff._locks


def test_close_removes_what_was_not_taken(tmp_path):
    folder = handoff.open_folder(str(tmp_path))
    handoff.hand_over([b"x" * handoff.MIN_BYTES], folder, "1.out")
    handoff.close_folder(folder)
    assert not os.path.exists(folder)
    handoff.close_folder(None)


def _handed_over(tmp_path, data: bytes) -> tuple[str, str]:
    folder = handoff.open_folder(str(tmp_path))
    path = handoff.hand_over([data[: len(data) // 2], data[len(data) // 2:]], folder, "1.out")
    assert path is not None
    return folder, path


def test_a_handed_over_file_is_copied_inside_the_kernel_and_deleted(tmp_path):
    data = bytes(range(256)) * (handoff.MIN_BYTES // 64)
    folder, path = _handed_over(tmp_path, data)
    with open(tmp_path / "out", "wb") as out:
        out.write(b"before:")
        out.flush()
        assert handoff.copy_over(path, out.fileno()) == len(data)
    assert (tmp_path / "out").read_bytes() == b"before:" + data
    assert os.listdir(folder) == []


def test_where_the_kernel_cannot_copy_the_file_is_kept_for_take_over(tmp_path, monkeypatch):
    import errno

    def refuse(*args):
        raise OSError(errno.EINVAL, "Invalid argument")

    data = b"y" * handoff.MIN_BYTES
    folder, path = _handed_over(tmp_path, data)
    monkeypatch.setattr(os, "sendfile", refuse)
    with open(tmp_path / "out", "wb") as out:
        assert handoff.copy_over(path, out.fileno()) is None
    assert handoff.take_over(path) == data
    assert os.listdir(folder) == []


def test_a_copy_that_fails_half_way_raises_and_deletes_the_file(tmp_path, monkeypatch):
    import errno

    real_sendfile = os.sendfile
    calls = []

    def full_disk(out_fd, in_fd, offset, count):
        calls.append(offset)
        if len(calls) == 1:
            return real_sendfile(out_fd, in_fd, offset, 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    folder, path = _handed_over(tmp_path, b"z" * handoff.MIN_BYTES)
    monkeypatch.setattr(os, "sendfile", full_disk)
    with open(tmp_path / "out", "wb") as out, pytest.raises(OSError, match="No space left"):
        handoff.copy_over(path, out.fileno())
    assert calls == [0, 1000]  # went on from where the first call stopped
    assert os.listdir(folder) == []


def test_the_output_file_appends_a_handed_over_file_after_what_it_buffered(tmp_path, monkeypatch):
    from backpath.batch.streams import Output

    data = b"r" * handoff.MIN_BYTES
    for kernel_copies in (True, False):
        if not kernel_copies:
            monkeypatch.setattr(handoff, "copy_over", lambda path, fd: None)
        folder, path = _handed_over(tmp_path, data)
        out = Output(str(tmp_path / "results.jsonl"))
        out.write(b"[")
        out.copy_over(path)
        out.write(b"]")
        out.commit()
        assert (tmp_path / "results.jsonl").read_bytes() == b"[" + data + b"]"
        assert os.listdir(folder) == []
        handoff.close_folder(folder)
