"""Writing files so that a reader never sees half of one, and never replacing what backpath did not make.

An output path is resolved first (`output_target`):

- a regular file, or a new name, is written to a temporary file beside it and renamed into place at the end,
  keeping an existing file's permissions (a 0600 results file stays 0600; a new one gets the umask's);
- a symbolic link to a regular file is followed: the file it points to is replaced the same way, and the link
  stays a link (`ln -s /proc/self/fd/1 out` writes to wherever stdout goes);
- one of this process's own open files (`/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`, or a link to one) is
  written through that descriptor, after what the process already wrote there (`assess --save-answers
  /dev/stdout > out.txt` puts the answers after the result; nothing is truncated or replaced);
- a device, a named pipe or a socket (`/dev/null`, a FIFO), directly or through a link, is written directly:
  renaming over it would replace it;
- a link to nothing is refused: writing there would create a file the user did not name.

A temporary output file is named `.<name>.<pid>-<random>.part` and locked (`flock`) for as long as its run
lives, so a later run can tell one left by a run killed with SIGKILL (its process gone and its lock free) and
remove it (`remove_stale_parts`): it holds results, which hold patient data.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no locks, no stale files told apart
    fcntl = None  # type: ignore[assignment]  # mypy checks the POSIX build, where the import succeeds

PART_SUFFIX = ".part"
NAME_KEPT = 200  # characters of the output's name in a temporary file's name (a name may have 255 bytes)
STALE_AFTER = 60.0  # seconds: a younger unlocked temporary file may be one whose run has not locked it yet


class OutputRefused(OSError):
    """An output path that must not be written (a folder, a link to nothing, a missing folder); the message
    follows the path ("out.jsonl is a folder; ...")."""


@dataclass(frozen=True)
class Target:
    """Where an output goes: `path` to replace atomically (keeping `mode`, or the umask's for a new file), or
    `path` to write directly when `direct`."""

    path: Path
    direct: bool = False
    mode: int | None = None
    owner: tuple[int, int] | None = None
    fd: int | None = None  # this process's own descriptor the path names (`/dev/stdout`): write through it


_OWN_FD = re.compile(r"^/(?:proc/(?:self|thread-self|(\d+))|dev)/fd/(\d+)$")
_STD_NAMES = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
MAX_LINKS = 40  # links followed at most when looking for an own descriptor (the kernel's own limit)


def own_descriptor(path: Path | str) -> int | None:
    """The descriptor of this process that `path` names, directly or through links (`/dev/stdout`,
    `/proc/self/fd/1`, a link to either), or None."""
    current = os.path.abspath(path)
    for _ in range(MAX_LINKS):
        if current in _STD_NAMES:
            return _STD_NAMES[current]
        match = _OWN_FD.match(current)
        if match and (match.group(1) is None or int(match.group(1)) == os.getpid()):
            return int(match.group(2))
        try:
            target = os.readlink(current)
        except OSError:
            return None
        if not target.startswith("/") and ":" in target:  # the kernel's name of a pipe or socket
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
    return None


def output_target(path: Path | str) -> Target:
    """Resolve an output path (see the module's text); raise `OutputRefused` saying why it cannot be written."""
    path = Path(path)
    fd = own_descriptor(path)
    if fd is not None:
        try:
            os.fstat(fd)
        except OSError:
            raise OutputRefused(f"names descriptor {fd}, which this process does not have open") from None
        return Target(path, direct=True, fd=fd)
    try:
        st = os.stat(path)  # through links
    except FileNotFoundError:
        if path.is_symlink():
            raise OutputRefused(f"is a link to {os.readlink(path)}, which does not exist; give a file name or fix "
                                "the link") from None
        if not path.parent.is_dir():
            raise OutputRefused(f"is in a folder that does not exist ({path.parent})") from None
        return Target(path)
    except OSError as exc:
        raise OutputRefused(f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputRefused("is a folder; give a file name")
    if not stat.S_ISREG(st.st_mode):
        return Target(path, direct=True)
    real = path
    if path.is_symlink():
        real = Path(os.path.realpath(path))
        try:
            same = os.path.samestat(os.stat(real), st)
        except OSError:
            same = False
        if not same:  # a file no path names any more (/proc/self/fd/1 of a deleted file): write it directly
            return Target(path, direct=True)
    return Target(real, mode=stat.S_IMODE(st.st_mode), owner=(st.st_uid, st.st_gid))


def write_atomic(path: Path | str, text: str) -> None:
    """Write `text` to the output `path` (see `output_target`): through a temporary file renamed into place, or
    directly into a device or pipe."""
    target = output_target(path)
    if target.direct:
        with open_direct(target, "w") as fh:
            fh.write(text)
        return
    fd, tmp = temp_beside(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target.path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def open_direct(target: Target, mode: str, **kwargs):
    """Open a `direct` target for writing: through a copy of the process's own descriptor (after flushing what
    Python holds for it), else by its path."""
    if target.fd is None:
        if "b" not in mode:
            kwargs.setdefault("encoding", "utf-8")
            kwargs.setdefault("newline", "")
        return open(target.path, mode, **kwargs)  # noqa: SIM115 - the caller closes it
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream.fileno() == target.fd:
                stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "")
    return os.fdopen(os.dup(target.fd), mode, **kwargs)


def temp_beside(target: Target, suffix: str = ".tmp", *, lock: bool = False) -> tuple[int, str]:
    """A new temporary file beside `target.path` (its descriptor and path), with the permissions the target
    keeps (`target.mode`, else those of an ordinary new file), locked with `lock`."""
    name = target.path.name[:NAME_KEPT]
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}-", suffix=suffix, dir=target.path.parent)
    try:
        if target.owner is not None and os.geteuid() == 0 and target.owner != (0, 0):
            os.chown(tmp, *target.owner)  # root replacing someone's file: it stays theirs
        os.chmod(tmp, target.mode if target.mode is not None else 0o666 & ~umask())
        if lock and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def remove_stale_parts(target: Target, now: float | None = None) -> list[str]:
    """Remove the temporary files (`.part`) beside `target.path` that runs killed with SIGKILL left: named for
    this output, their process gone, their lock free and over `STALE_AFTER` seconds old. Returns their paths."""
    if fcntl is None:
        return []
    folder = target.path.parent
    prefix = f".{target.path.name[:NAME_KEPT]}."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    now = time.time() if now is None else now
    removed = []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(PART_SUFFIX)):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < STALE_AFTER:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: a live run (in another container, perhaps)
            os.unlink(path)
            removed.append(path)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists (someone else's counts): a stale file's owner is gone only when not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def unwritable(path: Path | str) -> str | None:
    """Why a file cannot be written at `path` (a folder, in a missing folder, a link to nothing), or None."""
    try:
        output_target(path)
    except OutputRefused as exc:
        return f"{path} {exc}"
    return None


def umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The bytes of the file at `path`, at most `limit` + 1 of them: a result longer than `limit` means the file
    is over it (and `/dev/zero` or an endless pipe is not read for ever)."""
    with open(path, "rb") as fh:
        return fh.read(limit + 1)


# Buffers a writev call is given (the system's limit is at least 1,024). A batch chunk is a piece a record and a
# separator, so 64 is ~600 KB a call with default-pathway results. Writing 60,000 fresh 18.8 KB pieces to ext4
# (a microbenchmark, with `streams.Output`'s write-back requests) cost about 9.6 µs of CPU a piece in calls of 64,
# 11.7 in calls of 512 (~4.7 MB: more kernel time for the same bytes) and 13 joined in groups and written through
# a 1 MB buffer, as batch did before.
IOV_BATCH = 64
_HAS_WRITEV = hasattr(os, "writev")  # not on Windows


def write_all(fd: int, pieces: list[bytes]) -> None:
    """Write every byte of `pieces` to `fd`, in order, with as few system calls as the kernel allows (`writev`:
    many pieces a call, none copied into a buffer first; one `write` a piece where there is no `writev`)."""
    pieces = [p for p in pieces if p]
    i = 0
    while i < len(pieces):
        batch = pieces[i:i + IOV_BATCH]
        written = os.writev(fd, batch) if _HAS_WRITEV else os.write(fd, batch[0])
        for piece in batch:  # skip what was written whole; finish a piece written in part
            if written >= len(piece):
                written -= len(piece)
                i += 1
                continue
            view = memoryview(piece)[written:]
            while view:
                view = view[os.write(fd, view):]
            i += 1
            break
