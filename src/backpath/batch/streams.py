"""Reading batch inputs into chunks of records, and writing the output atomically.

Reading is streamed: a JSON Lines input is read a line at a time into chunks of `CHUNK_RECORDS` records, so
memory does not grow with the input. A `.json` input (one record or an array) is parsed whole; use JSON Lines
for large inputs. Nothing here parses a JSON Lines record or looks at answers: that is done where the
record is assessed (possibly in a worker process), so the reading process stays light.

A problem that stops one record or one file (a line over `MAX_LINE_BYTES`, a file that cannot be read, a
`.json` file that does not parse) becomes an item of kind `PROBLEM` in place of the records, and reading
goes on with the next line or file.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from backpath.batch import handoff, input_formats
from backpath.batch.items import LINE, MAX_LINE_BYTES, PROBLEM, VALUE, Item  # noqa: F401 (re-exported)
from backpath.core.errors import BackpathError
from backpath.core.jsontext import loads, unreadable
from backpath.core.shown import safe
from backpath.system.fileio import (
    PART_SUFFIX,
    OutputRefused,
    open_direct,
    output_target,
    remove_stale_parts,
    temp_beside,
    write_all,
)

CHUNK_RECORDS = 500  # records per chunk of work (~8 MB of default-pathway results; see docs/batch.md)
CHUNK_BYTES = 8 << 20  # input bytes per chunk at most (after the record that passes it): big records make small
# chunks, so a run's memory stays flat whatever its records hold (500 records of 1 MiB would be a 500 MB chunk)
STDIN = "-"
STDIN_NAME = "<stdin>"
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_BOM = b"\xef\xbb\xbf"

# Item kinds and the bound on a record: `items` (also read by `input_formats`).


class BatchUsageError(BackpathError):
    """The batch command was called wrongly (the run did not start); exit code 2."""


@dataclass
class Chunk:
    """A run of consecutive records; `start` is the 1-based position of the first in the whole run."""

    start: int
    items: list[Item] = field(default_factory=list)
    nbytes: int = 0  # input bytes these records came from, for the progress bar


@dataclass(frozen=True)
class InputSpec:
    """One INPUT argument: its display name, how to read it, and its size when known (for an ETA)."""

    arg: str
    name: str
    kind: str  # "jsonl" | "json" | "csv"
    size: int | None


def input_specs(args: Iterable[str]) -> list[InputSpec]:
    """Check the INPUT arguments before the run starts. A missing file is not a usage error: it becomes an
    error record in its place, so the other inputs are still assessed."""
    specs = []
    args = list(args)
    if not args:
        raise BatchUsageError("no INPUT given; give one or more .json/.jsonl files, or - for stdin.")
    if args.count(STDIN) > 1:
        raise BatchUsageError("- (stdin) is given more than once; stdin can be read only once.")
    for arg in args:
        if arg == STDIN:
            specs.append(InputSpec(arg, STDIN_NAME, "jsonl", _stdin_size()))
            continue
        suffix = Path(arg).suffix.lower()
        if other := input_formats.kind_of(arg):  # CSV
            kind = other
        elif suffix in JSON_SUFFIXES:
            kind = "json"
        elif suffix in JSONL_SUFFIXES or _is_stream(arg):  # a pipe, e.g. bash's <(zcat referrals.jsonl.gz)
            kind = "jsonl"
        else:
            raise BatchUsageError(
                f"{arg}: unknown kind of input ({suffix or 'no extension'}). Give a .json file (a record, an "
                "array of records or a FHIR resource), a .jsonl or .ndjson file (a record a line), a .csv file (a "
                "column a question) or - (JSON Lines on stdin).")
        specs.append(InputSpec(arg, arg, kind, _file_size(arg)))
    return specs


def _is_stream(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _file_size(path: str) -> int | None:
    try:
        st = os.stat(path)
    except OSError:
        return 0  # it will give an error record; count it as no bytes
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _stdin_size() -> int | None:
    try:
        st = os.fstat(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def total_size(specs: list[InputSpec]) -> int | None:
    sizes = [s.size for s in specs]
    known = [s for s in sizes if s is not None]
    return None if len(known) < len(sizes) else sum(known)


# --- reading -------------------------------------------------------------------------------------

def read_chunks(specs: list[InputSpec], stdin: BinaryIO | None = None,
                chunk_records: int = CHUNK_RECORDS) -> Iterator[Chunk]:
    """Every record of every input, in order, grouped into chunks. Positions count across all inputs."""
    chunk = Chunk(start=1)
    items = chunk.items
    add = items.append
    size = 0  # the chunk's input bytes so far
    for spec in specs:
        for item, nbytes in _read_input(spec, stdin):
            add(item)
            size += nbytes
            if len(items) >= chunk_records or size >= CHUNK_BYTES:
                chunk.nbytes = size
                yield chunk
                chunk = Chunk(start=chunk.start + len(items))
                items, add, size = chunk.items, chunk.items.append, 0
    if items:
        chunk.nbytes = size
        yield chunk


def _read_input(spec: InputSpec, stdin: BinaryIO | None) -> Iterator[tuple[Item, int]]:
    name = spec.name
    if spec.arg == STDIN:
        yield from _read_lines(stdin if stdin is not None else sys.stdin.buffer, name)
        return
    try:
        fh = open(spec.arg, "rb")  # noqa: SIM115 - closed below; read errors become error records
    except OSError as exc:
        yield (PROBLEM, name, None, ("", f"cannot read the input file: {_reason(exc)}.")), 0
        return
    with fh:
        if spec.kind == "jsonl":
            yield from _read_lines(fh, name)
        elif spec.kind == "csv":
            yield from input_formats.read_csv(fh, name)
        else:
            yield from _read_json(fh, name)


def _reason(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    return (exc.strerror or str(exc)).rstrip(".")


def _read_lines(fh: BinaryIO, name: str) -> Iterator[tuple[Item, int]]:
    """JSON Lines: one item per non-blank line. Lines are not parsed here (that is the assessing side's job)."""
    readline = fh.readline
    limit = MAX_LINE_BYTES
    line_no = 0
    while True:
        try:
            line = readline(limit + 1)
            n = len(line)
            if n > limit and line[-1] != 10:  # no newline within the limit: skip to the end of this line
                long_line = True
                while line and line[-1] != 10:
                    line = readline(limit + 1)
                    n += len(line)
            else:
                long_line = False
        except OSError as exc:
            yield (PROBLEM, name, line_no + 1, ("", f"cannot read the input after line {line_no}: "
                                                    f"{_reason(exc)}; the rest of this input is skipped.")), 0
            return
        if not n:
            return
        line_no += 1
        if long_line:
            yield long_line_item(name, line_no, n - line.endswith(b"\n")), n
        elif line_no == 1:  # perhaps after a byte order mark
            item = line_item(line, name, line_no)
            if item is not None:
                yield item, n
        elif not line.isspace():  # `line_item`, inline for every other line
            yield (LINE, name, line_no, line), n


def line_item(line: bytes, name: str, line_no: int) -> Item | None:
    """A JSON Lines line (read whole, within `MAX_LINE_BYTES`) as an item, or None for a blank line (not a
    record). A UTF-8 byte order mark at the start of line 1 is dropped."""
    if line_no == 1 and line.startswith(_BOM):
        line = line[3:]
    if line.isspace() or not line:
        return None
    return (LINE, name, line_no, line)


def long_line_item(name: str, line_no: int, length: int) -> Item:
    """The error item in place of a line of `length` bytes (without its newline), over `MAX_LINE_BYTES`."""
    return (PROBLEM, name, line_no, ("", f"the line is {length:,} bytes long, over the limit of {MAX_LINE_BYTES:,} "
                                         "bytes (1 MiB) for one record; it was not read."))


def _read_json(fh: BinaryIO, name: str) -> Iterator[tuple[Item, int]]:
    """A .json input: one record object, or an array of records. Parsed whole."""
    try:
        raw = fh.read()
    except OSError as exc:
        yield (PROBLEM, name, None, ("", f"cannot read the input file: {_reason(exc)}.")), 0
        return
    size = len(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        yield (PROBLEM, name, None, ("", f"the file is not UTF-8 text (invalid byte on line {line}); "
                                         "save it as UTF-8.")), size
        return
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        hint = " If it holds one record a line, name it .jsonl." if exc.msg == "Extra data" else ""
        yield (PROBLEM, name, None, ("", f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                                         f"{exc.colno}.{hint}")), size
        return
    except (ValueError, RecursionError) as exc:  # a repeated key, a 5,000-digit number, arrays nested deep
        yield (PROBLEM, name, None, ("", f"the file cannot be read as JSON records: {unreadable(exc)}.")), size
        return
    if input_formats.is_fhir(data):  # a QuestionnaireResponse or a Bundle of them: one item a response
        yield from input_formats.fhir_items(data, name, size)
        return
    if isinstance(data, list):
        if not data:
            return
        share = size // len(data)
        for i, value in enumerate(data, 1):
            yield (VALUE, name, i, value), share + (size - share * len(data) if i == len(data) else 0)
    else:
        yield (VALUE, name, None, data), size


# --- writing -------------------------------------------------------------------------------------

WRITEBACK_BYTES = 64 << 20  # after this much output, the kernel is asked to start writing it to disk


class Output:
    """Where the records go: stdout as they come, or a file that appears complete or not at all (a device such
    as /dev/null, or a named pipe, is written directly: replacing it would break it)."""

    def __init__(self, target: str, stdout: BinaryIO | None = None):
        self.target = target
        self.tmp: str | None = None
        self.special = False  # a device or named pipe, written directly
        if target == STDIN:
            sys.stdout.flush()
            self.fh = stdout if stdout is not None else sys.stdout.buffer
            self.name = "stdout"
            return
        try:
            resolved = output_target(target)
        except OutputRefused as exc:
            raise BatchUsageError(f"--output {safe(target, lines=False)} {safe(str(exc), lines=False)}.") from None
        if resolved.direct:  # /dev/null, a named pipe, a link to stdout: write to it, never replace it
            try:
                self.fh = open_direct(resolved, "wb", buffering=1 << 20)  # closed by commit or abort
            except OSError as exc:
                raise BatchUsageError(f"--output {target}: cannot write to it: {_reason(exc)}.") from None
            self.name = target
            self.special = True
            return
        self.path = resolved.path  # a link's file: the link stays, the file it names is replaced
        remove_stale_parts(resolved)
        try:
            fd, self.tmp = temp_beside(resolved, PART_SUFFIX, lock=True)
        except OSError as exc:
            raise BatchUsageError(f"--output {target}: cannot write in {resolved.path.parent}: "
                                  f"{_reason(exc)}.") from None
        self.fh = os.fdopen(fd, "wb", buffering=1 << 20)
        self.name = target
        self.unsynced = 0

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self._written(len(data))

    def writelines(self, pieces: list[bytes]) -> None:
        """Write `pieces` in order. Where the output has a descriptor they go to it with `writev`, after what is
        buffered, without being copied into the buffer first (a chunk's results are megabytes, in pieces of a
        record)."""
        fd = self.fileno()
        if fd is None:
            for data in pieces:
                self.fh.write(data)
        else:
            self.fh.flush()
            write_all(fd, pieces)
        self._written(sum(map(len, pieces)))

    def copy_over(self, path: str) -> None:
        """Append a worker's hand-off file (see `handoff`), copied inside the kernel where it can be, and delete it."""
        self.fh.flush()
        copied = handoff.copy_over(path, self.fh.fileno())
        if copied is None:
            self.write(handoff.take_over(path))
        else:
            self._written(copied)

    def _written(self, nbytes: int) -> None:
        """After every `WRITEBACK_BYTES` of a file, ask the kernel to start writing it to disk, in the background,
        so that the `fsync` before the rename has little left to wait for (a run writes gigabytes)."""
        if self.tmp is None:
            return
        self.unsynced += nbytes
        if self.unsynced >= WRITEBACK_BYTES:
            self.fh.flush()
            self.unsynced = 0
            start_writeback(self.fh.fileno())

    def flush(self) -> None:
        self.fh.flush()

    def fileno(self) -> int | None:
        """The descriptor the output is written to, or None where it has none (a stream in memory)."""
        try:
            return self.fh.fileno()
        except (OSError, ValueError):  # io.UnsupportedOperation is both
            return None

    def commit(self) -> None:
        """Finish: flush stdout, or move the complete temporary file into place."""
        if self.tmp is None:
            self.fh.flush()
            if self.special:
                self.fh.close()
            return
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.path)
        self.tmp = None

    def abort(self) -> None:
        """Give up: delete the temporary file (stdout, a device or a pipe keeps what was already written)."""
        if self.tmp is None:
            if self.special:
                try:
                    self.fh.close()
                except OSError:
                    pass
            return
        try:
            self.fh.close()
        except OSError:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        self.tmp = None


def start_writeback(fd: int) -> None:
    """Ask the kernel to start writing the file's dirty pages to disk now, and to drop those already written."""
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def stdin_is(path: str) -> bool:
    """Whether stdin is the file at `path` (`batch - --output f < f` would replace its own input)."""
    try:
        st = os.fstat(sys.stdin.fileno())
        return stat.S_ISREG(st.st_mode) and os.path.samestat(st, os.stat(path))
    except (OSError, ValueError, AttributeError):
        return False
