"""How a `--jobs` worker hands a chunk's output to the batch process.

A chunk of default-pathway results is about 4 MB. Through the process pool's pipe it is copied into the pipe,
out of it, into a buffer and out of the pickle, and the batch process spends as much CPU on that as on writing
the output. So where the machine has a RAM-backed `/dev/shm` (Linux), each worker writes its chunk's bytes to a
file in a private folder there (mode 0700, files 0600) and passes only the file's name; the batch process reads
the file, deletes it at once and writes the bytes out. Elsewhere the bytes go through the pipe as before.

The results hold patient data, so the folder lives in RAM, never on disk; it is removed when the run ends,
however it ends (Ctrl-C, SIGTERM, an error). A run killed with SIGKILL cannot clean up: the next batch run
removes any folder whose process is gone. The folder's name holds the batch process's id for that purpose.
"""

from __future__ import annotations

import os
import shutil
import tempfile

SHARED_MEMORY = "/dev/shm"
PREFIX = "backpath-"
MIN_BYTES = 1 << 16  # smaller outputs (CSV rows, short chunks) are cheaper through the pipe


def open_folder(root: str = SHARED_MEMORY) -> str | None:
    """A new private folder for this run's hand-offs, or None when there is no RAM-backed folder to use."""
    if not os.path.isdir(root) or not os.access(root, os.W_OK | os.X_OK):
        return None
    remove_stale(root)
    try:
        return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root)
    except OSError:
        return None


def close_folder(folder: str | None) -> None:
    """Remove the folder and anything still in it (chunks not yet taken when a run stops)."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale(root: str = SHARED_MEMORY) -> None:
    """Remove hand-off folders left by batch processes that no longer exist (killed with SIGKILL)."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def hand_over(data: bytes, folder: str | None, name: str) -> str | None:
    """In a worker: write `data` to `folder/name` and return the file's path, or None to send it by pipe."""
    if folder is None or len(data) < MIN_BYTES:
        return None
    path = os.path.join(folder, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError:  # /dev/shm full: send this chunk by pipe
        _unlink(path)
        return None
    return path


def take_over(path: str) -> bytes:
    """In the batch process: the bytes a worker handed over in `path`; the file is deleted."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        _unlink(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
