"""How a `--jobs` worker hands a chunk's output to the batch process.

A chunk of default-pathway results is about 8 MB. Through the process pool's pipe it is copied into the pipe,
out of it, into a buffer and out of the pickle, and the batch process spends as much CPU on that as on writing
the output. So where the machine has a RAM-backed `/dev/shm` (Linux), each worker writes its chunk's bytes to a
file in a private folder there (mode 0700, files 0600) and passes only the file's name; the batch process has
the kernel copy the file into the output (`sendfile`, so the bytes never pass through its own memory) and deletes
it at once, or reads and writes it where the kernel cannot. Elsewhere the bytes go through the pipe as before.

The results hold patient data, so the folder lives in RAM, never on disk; it is removed when the run ends,
however it ends (Ctrl-C, SIGTERM, an error). A run killed with SIGKILL cannot clean up: a later batch run
removes its folder. A run holds an exclusive `flock` on its folder for as long as it lives (the kernel drops
it when the process and its workers are gone), so a folder is stale only when its lock is free. The process id
in the folder's name is not enough on its own: containers that share /dev/shm have their own process ids, and a
live run elsewhere would look gone. A folder is removed only when its lock is free, its process id is not a
live process here, and it is over a minute old (a folder is made a moment before it is locked).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time

from backpath.system.fileio import process_alive, write_all

try:
    import fcntl
except ImportError:  # not on Windows, which has no /dev/shm either
    fcntl = None  # type: ignore[assignment]  # mypy checks the POSIX build, where the import succeeds

SHARED_MEMORY = "/dev/shm"
PREFIX = "backpath-"
MIN_BYTES = 1 << 16  # smaller outputs (CSV rows, short chunks) are cheaper through the pipe
STALE_AFTER = 60.0  # seconds: a younger unlocked folder may be one whose run has not locked it yet

# sendfile cannot write to this descriptor (old kernels, some file systems): read and write instead
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV, errno.EBADF}

_locks: dict[str, int] = {}  # folder -> the open descriptor holding its lock, in the batch process


def open_folder(root: str = SHARED_MEMORY) -> str | None:
    """A new private folder for this run's hand-offs, or None when there is no RAM-backed folder to use."""
    if fcntl is None or not os.path.isdir(root) or not os.access(root, os.W_OK | os.X_OK):
        return None
    remove_stale(root)
    try:
        folder = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root)
    except OSError:
        return None
    fd = _lock(folder)
    if fd is None:  # a folder no other run can tell is in use is not used
        shutil.rmtree(folder, ignore_errors=True)
        return None
    _locks[folder] = fd
    return folder


def close_folder(folder: str | None) -> None:
    """Remove the folder and anything still in it (chunks not yet taken when a run stops), then drop its lock."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        fd = _locks.pop(folder, None)
        if fd is not None:
            os.close(fd)


def remove_stale(root: str = SHARED_MEMORY, now: float | None = None) -> None:
    """Remove hand-off folders left by batch runs that no longer exist (killed with SIGKILL)."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    now = time.time() if now is None else now
    for name in names:
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        folder = os.path.join(root, name)
        try:
            if now - os.lstat(folder).st_mtime < STALE_AFTER:
                continue
        except OSError:
            continue
        fd = _lock(folder)
        if fd is None:  # locked: a live run, here or in another container
            continue
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)


def hand_over(data: list[bytes], folder: str | None, name: str) -> str | None:
    """In a worker: write `data` (pieces of bytes) to `folder/name` and return the file's path, or None to send
    it by pipe."""
    if folder is None or sum(map(len, data)) < MIN_BYTES:
        return None
    path = os.path.join(folder, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    try:
        write_all(fd, data)  # a piece a record: through no buffer, many a system call
    except OSError:  # /dev/shm full: send this chunk by pipe
        _unlink(path)
        return None
    finally:
        os.close(fd)
    return path


def take_over(path: str) -> bytes:
    """In the batch process: the bytes a worker handed over in `path`; the file is deleted."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        _unlink(path)


def copy_over(path: str, out_fd: int) -> int | None:
    """In the batch process: copy the bytes a worker handed over in `path` to the file descriptor `out_fd` inside
    the kernel (`sendfile`: they never pass through this process's memory) and delete the file. Returns the
    number of bytes copied, or None, with nothing copied and the file kept, where the kernel cannot copy to
    `out_fd` (then `take_over` reads it)."""
    if not hasattr(os, "sendfile"):
        return None
    done = 0
    try:
        with open(path, "rb", buffering=0) as fh:
            size = os.fstat(fh.fileno()).st_size
            while done < size:
                try:
                    sent = os.sendfile(out_fd, fh.fileno(), done, size - done)
                except OSError as exc:
                    if done == 0 and exc.errno in _NO_SENDFILE:
                        return None
                    raise
                if sent == 0:  # cannot happen to a hand-off file, which only its worker wrote and is done with
                    raise OSError(errno.EIO, f"the hand-off file ended after {done} of {size} bytes")
                done += sent
    except BaseException:
        _unlink(path)
        raise
    _unlink(path)
    return done


def _lock(folder: str) -> int | None:
    """An open descriptor of `folder` holding an exclusive lock on it, or None if another process holds one."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd



def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
