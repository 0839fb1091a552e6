"""`backpath batch`: assess every record of every input, one result per record, in input order.

The flow: `batch_io.read_chunks` streams the inputs into chunks of records; `batch_work.assess_chunk` turns a
chunk into output bytes (here, or in `--jobs` worker processes that each load the pathway once); the chunks are
written in input order to stdout or to an atomically replaced file. At most a few chunks are in flight, so
memory stays flat for JSON Lines whatever the number of records. Nothing here prints a record's contents to
stderr: the summary gives counts and the places of the first errors only.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from rich.console import Console

from backpath.batch import handoff
from backpath.batch.columns import header_bytes
from backpath.batch.shape import output_shape
from backpath.batch.streams import (
    BatchUsageError,
    Chunk,
    Output,
    input_specs,
    read_chunks,
    same_file,
    stdin_is,
    total_size,
)
from backpath.batch.summary import Repeats, print_summary
from backpath.batch.turns import Turns
from backpath.batch.work import (
    FORMATS,
    ChunkResult,
    assess_chunk,
    csv_header,
    freeze_warm_objects,
    init_worker,
    thaw_warm_objects,
    worker_assess_chunk,
)
from backpath.core.model import Pathway
from backpath.core.shown import safe
from backpath.system.heap import keep_freed_memory
from backpath.system.signals import deferred, raise_on_termination

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
IN_FLIGHT_PER_JOB = 2  # chunks queued or running per worker: enough to keep workers busy, few enough for memory

__all__ = ["BatchOptions", "BatchStats", "BatchUsageError", "run_batch"]


@dataclass
class BatchOptions:
    inputs: list[str]
    output: str = "-"
    format: str = "jsonl"
    jobs: int = 1
    quiet: bool = False
    pathway_ref: str | None = None  # the --pathway argument (bundled id or path); workers load it from its file
    detail: str | None = None  # jsonl/json: "full" (None) or "summary" (`result_compact`)
    columns: str | None = None  # csv: the --columns list (`batch.columns`); None for every column


@dataclass
class BatchStats:
    records: int = 0
    ok: int = 0
    errors: int = 0
    tiers: Counter = field(default_factory=Counter)
    error_places: list[str] = field(default_factory=list)
    error_kinds: Counter = field(default_factory=Counter)
    repeats: Repeats = field(default_factory=Repeats)

    def add(self, r: ChunkResult) -> None:
        self.records += r.records
        self.ok += r.ok
        self.errors += r.errors
        self.tiers.update(r.tiers)
        self.error_kinds.update(r.error_kinds)
        self.repeats.add(r.ids)
        if len(self.error_places) < 3:
            self.error_places.extend(r.error_places[: 3 - len(self.error_places)])


def _abort(out: Output | None, phrase: str) -> str:
    """Abandon `out` (its temporary file removed, a previous file kept), if it was made; `phrase` with its name
    ("; {} was not written") when it is a file, else ""."""
    if out is None:
        return ""
    out.abort()
    return "" if out.name == "stdout" or out.special else phrase.format(out.name)


def run_batch(pathway: Pathway, options: BatchOptions, console: Console) -> int:
    """Run a batch; return the exit code (0 all ok, 1 some records invalid, 130 interrupted by Ctrl-C,
    143/129 stopped by SIGTERM/SIGHUP).

    Raises `BatchUsageError` (a usage error, exit code 2) before anything is read or written.
    """
    fmt = options.format
    if fmt not in FORMATS:
        raise BatchUsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if options.jobs < 0:
        raise BatchUsageError("--jobs must be 0 (one per core) or more.")
    jobs = options.jobs or os.cpu_count() or 1
    detail, columns = output_shape(pathway, options.format, options.detail, options.columns)
    specs = input_specs(options.inputs)
    if options.output != "-":
        for spec in specs:
            if same_file(spec.arg, options.output) if spec.arg != "-" else stdin_is(options.output):
                raise BatchUsageError(f"--output {safe(options.output, lines=False)} is also an input"
                                      f"{' (stdin)' if spec.arg == '-' else ''}; write the results elsewhere.")
    keep_freed_memory()  # before workers fork, so they inherit it; before the output file exists (Ctrl-C)
    if jobs == 1:  # what runs killed with SIGKILL left in memory files (a --jobs run does it as it starts)
        handoff.remove_stale()
    stats = BatchStats()
    show_progress = not options.quiet and console.is_terminal
    started = time.perf_counter()
    out: Output | None = None
    try:
        freeze_warm_objects()  # the pathway and its engines, before the first chunk (`thaw_warm_objects` below)
        with raise_on_termination(_Stopped):
            with deferred():  # Ctrl-C or SIGTERM while the temporary file is made waits until `out` can remove it
                out = Output(options.output)
            with _progress(console, total_size(specs), show_progress) as advance:
                framing = _Framing(out, fmt, pathway, columns)

                def take(result: ChunkResult) -> None:
                    with deferred():  # a chunk is written and counted whole: a stopped run's count is what it wrote
                        framing.write(result.data, result.handed_over, result.written)
                        stats.add(result)
                    advance(result.nbytes, stats.records)

                chunks = read_chunks(specs)
                if jobs == 1:
                    for n, chunk in enumerate(chunks):
                        take(assess_chunk(pathway, chunk, fmt, detail, columns))
                        if n == 0:
                            freeze_warm_objects()  # and the memos the first chunk warmed
                else:
                    _run_pool(pathway, options.pathway_ref, chunks, fmt, jobs, take, out, detail, columns)
                framing.close()
        out.commit()
    except (KeyboardInterrupt, _Stopped) as exc:
        where = _abort(out, "; {} was not written")
        interrupted = isinstance(exc, KeyboardInterrupt)
        console.print(f"{'interrupted' if interrupted else 'stopped'} after {stats.records:,} records "
                      f"({stats.ok:,} ok, {stats.errors:,} errors){where}.", markup=False, highlight=False,
                      soft_wrap=True)
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 128 + exc.signum
    except BrokenPipeError:
        _abort(out, "")
        _silence_stdout()
        return EXIT_INVALID
    except OSError as exc:  # writing the results failed (a full disk...); input errors are error records
        if out is None:  # not a write: Output reports what it can foresee as usage errors
            raise
        kept = _abort(out, " and {} was not written")
        if out.name == "stdout":
            _silence_stdout()
        # stdout, a device or a pipe keeps what reached it: the records counted, and perhaps part of the next
        # chunk (written in pieces when the error came), so the count is of records written whole
        written = kept or " written whole, and part of the records after them may follow (the last line cut short)"
        console.print(safe(f"error: cannot write the results to {out.name}: {(exc.strerror or str(exc)).rstrip('.')};"
                           f" stopped after {stats.records:,} records{written}.", lines=False), markup=False,
                      highlight=False, soft_wrap=True)
        return EXIT_INVALID
    except BrokenProcessPool:
        kept = _abort(out, " and {} was not written")
        console.print(f"error: a worker process died after {stats.records:,} records; nothing more was written"
                      f"{kept}. Try --jobs 1.",
                      markup=False, highlight=False, soft_wrap=True)
        return EXIT_INVALID
    except BaseException:
        _abort(out, "")
        raise
    finally:
        thaw_warm_objects()
    if not options.quiet:
        print_summary(console, pathway, stats, out.name, time.perf_counter() - started)
    return EXIT_OK if stats.errors == 0 else EXIT_INVALID


class _Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: stop like Ctrl-C does, so the temporary output file is removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _run_pool(pathway: Pathway, pathway_ref: str | None, chunks: Iterator[Chunk], fmt: str, jobs: int,
              take: Callable[[ChunkResult], None], out: Output, detail: str = "full",
              columns: tuple[str, ...] | None = None) -> None:
    """Assess chunks in `jobs` worker processes; hand the results to `take` in input order.

    Chunks are submitted as results are taken, never more than IN_FLIGHT_PER_JOB per worker ahead, so a
    slow writer or a huge input does not pile chunks up in memory. Forked workers write a chunk into `out`
    themselves when it is its turn (`turns`); the others' outputs are written by `take`, in turn too.
    """
    from backpath.batch import work as batch_work
    from backpath.load.catalog import resolve

    path = str(resolve(pathway_ref))
    batch_work.inherited_pathway = pathway  # reused by workers started with fork (Linux), saving a reload
    limit = jobs * IN_FLIGHT_PER_JOB
    turns = None
    fd = out.fileno()
    if fd is not None and _workers_inherit_output():
        out.flush()  # the `[` or the CSV header first
        turns = Turns(fd, *((b"\n", b",\n") if fmt == "json" else (b"", b"")))

    def take_in_turn(seq: int, result: ChunkResult) -> None:
        with deferred():
            take(result)
            if turns is not None and not result.written:
                out.flush()
                turns.passed(seq)

    # Forked workers share the batch process's memory until they write to it; freezing the objects made so far
    # keeps the garbage collector from touching (and so copying) those pages in every worker.
    gc.freeze()
    folder = pool = None
    pending: deque[tuple[int, Future]] = deque()
    try:
        folder = handoff.open_folder()
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=init_worker,
                                   initargs=(path, pathway.sha256, folder, turns))
        for seq, chunk in enumerate(chunks):
            with deferred():  # a submit may fork the workers: a Ctrl-C during a fork would be lost
                pending.append((seq, pool.submit(worker_assess_chunk, chunk, fmt, seq, detail, columns)))
            if len(pending) >= limit:
                take_in_turn(*_next_result(pending))
        while pending:
            take_in_turn(*_next_result(pending))
    finally:
        gc.unfreeze()
        try:
            if turns is not None:
                turns.stop()  # no worker writes into the output any more
            if pool is not None:  # cancel what has not started and wait for the workers, so that none is still
                # writing into the folder when it is removed (a shutdown without waiting, first, would make
                # this one return at once: the pool forgets its manager thread). A second Ctrl-C waits until
                # the workers have finished their chunks, for the reason `_result` gives.
                with deferred():
                    pool.shutdown(wait=True, cancel_futures=True)
            if turns is not None:  # a stopped run: count the chunks workers wrote that were not taken yet
                for seq, future in pending:
                    if seq < turns.written and not future.cancelled() and future.exception() is None:
                        take(future.result())
        finally:  # whatever happened: no results left in memory files
            handoff.close_folder(folder)


def _workers_inherit_output() -> bool:
    """Whether the pool's workers are forked (Linux up to Python 3.13), so they inherit the output's descriptor."""
    return multiprocessing.get_start_method() == "fork"


def _next_result(pending: deque[tuple[int, Future]]) -> tuple[int, ChunkResult]:
    """The first pending chunk's number and result, taken off `pending` once there is a result (so that a chunk
    is never counted twice, nor missed if the run stops while waiting for it)."""
    seq, future = pending[0]
    result = _result(future)
    pending.popleft()
    return seq, result


def _result(future: Future) -> ChunkResult:
    """A worker's chunk result. Ctrl-C, SIGTERM and SIGHUP wait while the pool's own code runs and are delivered
    between waits of at most 0.2 s: an exception raised inside `Future.result` can leave the future's lock held,
    and the shutdown that follows then waits forever for the pool's manager thread, which needs that lock to
    cancel the future (seen once in about 250 interrupted test runs; py-spy showed the manager thread blocked in
    `Future.cancel`)."""
    while True:
        with deferred():
            try:
                return future.result(timeout=0.2)
            except TimeoutError:
                pass


class _Framing:
    """Writes the bytes around the records: `[`, `,` and `]` for json, the header row for csv."""

    def __init__(self, out: Output, fmt: str, pathway: Pathway, columns: tuple[str, ...] | None = None):
        self.out = out
        self.fmt = fmt
        self.first = True
        if fmt == "json":
            out.write(b"[")
        elif fmt == "csv":
            out.write(header_bytes(columns or csv_header(pathway)))

    def write(self, data: list[bytes], handed_over: str | None = None, written: bool = False) -> None:
        """A chunk's output, in pieces (see `ChunkResult`), or in the file a worker `handed_over`; nothing when
        its worker has `written` it (with the separator before it)."""
        if written:
            self.first = False
            return
        if not data and handed_over is None:
            return
        if self.fmt == "json":
            self.out.write(b"\n" if self.first else b",\n")
        self.first = False
        if handed_over is None:
            self.out.writelines(data)
        else:
            self.out.copy_over(handed_over)
        if self.out.tmp is None:
            self.out.flush()  # stdout: pass each chunk on as it is done

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write(b"]\n" if self.first else b"\n]\n")


class _progress:
    """A progress bar on stderr (records, records/s, and an ETA when the input size is known), or nothing."""

    def __init__(self, console: Console, total_bytes: int | None, show: bool):
        self.console, self.total, self.show = console, total_bytes, show
        self.started = time.perf_counter()

    def __enter__(self) -> Callable[[int, int], None]:
        if not self.show:
            return lambda nbytes, records: None
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        columns = [TextColumn("assessing"), BarColumn(), TaskProgressColumn(),
                   TextColumn("{task.fields[records]:,} records · {task.fields[rate]:,.0f}/s")]
        if self.total is not None:
            columns.append(TimeRemainingColumn())
        self.bar = Progress(*columns, console=self.console, transient=True)
        self.bar.start()
        task = self.bar.add_task("batch", total=self.total, records=0, rate=0.0)

        def advance(nbytes: int, records: int) -> None:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            self.bar.update(task, advance=nbytes, records=records, rate=records / elapsed)

        return advance

    def __exit__(self, *exc) -> None:
        if self.show:
            self.bar.stop()


def _silence_stdout() -> None:
    """After a closed pipe (`backpath batch ... | head`), stop Python complaining when it flushes stdout."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
