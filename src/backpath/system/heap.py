"""Keeping freed memory for reuse during a batch run (glibc).

Each chunk of a batch makes a few buffers of megabytes (its results joined, then encoded) and frees them before
the next chunk makes the same again. By default glibc gives such memory back to the operating system as soon as
it is freed (big blocks are mapped and unmapped; the top of the heap is trimmed), so the next chunk takes page
faults on fresh pages: about ten a record, a sixth of a run's time on the development machine. `keep_freed_memory`
tells glibc to keep up to `KEEP_BYTES` of freed memory for reuse. The peak memory of a run is unchanged (what is
kept was in use a moment before); the run just does not shrink between chunks.

Elsewhere (musl, macOS, Windows) there is no `mallopt` and nothing is done.
"""

from __future__ import annotations

import sys

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 32 << 20  # blocks up to this size come from the heap (glibc's largest allowed value on 64-bit)
KEEP_BYTES = 128 << 20  # free memory at the top of the heap kept up to this size


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse; True if it was asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
