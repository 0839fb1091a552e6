"""`--jobs` workers writing their chunks straight into the output, in input order, when it is their turn.

Chunks are numbered in input order as they are handed out (0, 1, 2...). A number in shared memory, `next`, is
the chunk that comes next in the output. A worker that finishes chunk k while `next == k` writes it itself,
straight into the output's file descriptor (inherited from the batch process when it forked), then sets `next`
to k + 1. Otherwise it hands the chunk to the batch process as before (`handoff`), which writes it when it
takes chunk k's result, in order, and then sets `next` to k + 1.

Why the order holds: `next` only ever moves from k to k + 1, by whoever wrote chunk k, after the write. While
`next == k`, only chunk k's worker can see its own number there; the batch process writes chunk j only when it
takes chunk j's result, after those of every chunk before j (so those are written), and chunk k's result has
not reached it yet. The descriptor's file offset is shared by every process that inherited it, so each write
lands after the one before. The batch process flushes its own buffer before `next` can reach a worker.

Most chunks finish after the one before them (they are started in order and take about as long), so most go
straight into the output: no copy through `/dev/shm`, none through the batch process, whose own work is then
only reading the inputs and handing out chunks. Once the run is stopping (Ctrl-C, an error), `stopped` is set
and no worker writes any more; the records written are those of the chunks before `next`.

Workers can inherit a descriptor only when they are forked (Linux); elsewhere every chunk is handed over.
"""

from __future__ import annotations

import os
import stat

# Imported with this module, not when a run makes its first RawValue: the import runs `exec`, and a Ctrl-C that
# lands inside an `exec` makes CPython end the process by SIGINT at exit even when the run caught it (seen: the
# right "interrupted after ..." message, then exit status -2 instead of 130).
from multiprocessing.sharedctypes import RawValue

from backpath.batch.streams import WRITEBACK_BYTES, start_writeback
from backpath.system.fileio import write_all


class Turns:
    """The shared turn of the chunks: made by the batch process before its workers start, inherited by them."""

    def __init__(self, fd: int, first_separator: bytes = b"", separator: bytes = b""):
        self.fd = fd
        # Written before each chunk of a `json` array (after the `[` the batch process writes): the chunks'
        # records are joined by `,\n` within a chunk but not across chunks.
        self.first_separator, self.separator = first_separator, separator
        self.next = RawValue("q", 0)
        self.stopped = RawValue("b", 0)
        self.regular = _is_regular(fd)
        self.unsynced = 0  # per process: bytes this process wrote since it last asked for write-back

    def mine(self, seq: int) -> bool:
        """Whether chunk `seq` may be written now (every chunk before it is written, and the run goes on)."""
        return not self.stopped.value and self.next.value == seq

    def write(self, seq: int, pieces: list[bytes]) -> None:
        """Write chunk `seq` (which must be `mine`) and pass the turn on."""
        write_all(self.fd, [self.separator if seq else self.first_separator, *pieces])
        if self.regular:
            self.unsynced += sum(map(len, pieces))
            if self.unsynced >= WRITEBACK_BYTES:
                self.unsynced = 0
                start_writeback(self.fd)
        self.passed(seq)

    def passed(self, seq: int) -> None:
        """Chunk `seq` is written (by this process): the next chunk's turn."""
        self.next.value = seq + 1

    def stop(self) -> None:
        self.stopped.value = 1

    @property
    def written(self) -> int:
        """How many chunks are written."""
        return self.next.value


def _is_regular(fd: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False
