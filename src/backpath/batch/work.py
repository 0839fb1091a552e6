"""Assessing one chunk of batch records into output bytes. Runs in the batch process or in worker processes.

Each item of a chunk (see `batch_io`) becomes exactly one result: the engine's result for a valid record, or an
error result (contract §5) that also says where the record came from:

    {"format_version": 1, "id": 7, "status": "error", "errors": [{"path": "", "message": "..."}],
     "source": {"file": "referrals.jsonl", "line": 7}}

`path` is "" when the problem is the record as a whole (not JSON, not an object...), else the field at fault
("id", "answers", "answers.age"). The source is `{"file", "line"}` for JSON Lines, `{"file", "record"}` (1-based
index) for a record of a .json array, and `{"file"}` for a whole .json file.

A worker process gets the pathway once: a forked worker reuses the batch process's copy, a spawned one loads it
from its file; either way it checks that the sha256 is the one the batch process loaded.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import signal
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backpath.batch import handoff
from backpath.batch import streams as batch_io
from backpath.batch.columns import NeutralWriter, all_columns, error_row_writer, row_writer
from backpath.batch.input_formats import read_special
from backpath.batch.streams import CHUNK_RECORDS, LINE, VALUE, Chunk, Item, line_item, long_line_item
from backpath.batch.summary import error_kinds, place
from backpath.batch.turns import Turns
from backpath.core.engine import Write, decide_record, error_result, json_writer
from backpath.core.jsontext import loads, loads_record, unreadable
from backpath.core.model import Pathway
from backpath.core.records import extra_keys, first_extra_key
from backpath.core.result_compact_json import compact_json_writer
from backpath.system import lifeline
from backpath.system.heap import keep_freed_memory
from backpath.system.signals import resume

FORMATS = ("jsonl", "json", "csv", "fhir")
MAX_ERROR_PLACES = 3  # error places kept per chunk for the summary

# One encoder for every record: compact, UTF-8 text kept as is, deterministic (keys in the engine's order).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False).encode
_JSON_TYPES = {dict: "an object", list: "an array", str: "text", bool: "true/false", type(None): "null",
               int: "a number", float: "a decimal number"}


@dataclass
class ChunkResult:
    """A chunk's output (already framed for the format) and its counts for the summary. The output is kept as
    pieces of bytes, written one after another and never joined: joining would hold the chunk's results twice
    (a chunk's peak memory)."""

    data: list[bytes]
    records: int = 0
    ok: int = 0
    errors: int = 0
    tiers: Counter = field(default_factory=Counter)
    error_places: list[str] = field(default_factory=list)
    error_kinds: Counter = field(default_factory=Counter)  # records by kind of error (batch_summary)
    ids: list = field(default_factory=list)  # (id, source) of each record read: repeated ids are warned
    nbytes: int = 0
    handed_over: str | None = None  # from a worker: the file holding `data` instead (see `handoff`)
    written: bool = False  # from a worker: `data` is already in the output, written in its turn (see `turns`)


def csv_header(pathway: Pathway) -> list[str]:
    """CSV columns: one row a record, lists joined with `;` (errors with ` | `, since messages hold `;`); the
    default columns of `batch.columns`."""
    return all_columns(pathway)


def assess_chunk(pathway: Pathway, chunk: Chunk, fmt: str, detail: str = "full",
                 columns: tuple[str, ...] | None = None) -> ChunkResult:
    """Assess every item of `chunk` in order; frame the results for `fmt` (jsonl, json, csv or fhir).

    Each record goes through the engine's compiled pathway and `result_json.ResultWriter`, whose memos are shared
    by the whole run; the bytes are those of `assess` (tested). Each result is serialised as soon as it is made,
    so only its text is kept.
    `fhir` is NDJSON: each JSON Lines result made into a FHIR Bundle by `fhir_result`. `detail` "summary" writes
    jsonl/json results compact (`result_compact`); `columns` are the CSV's (`batch.columns`; default all).
    """
    if fmt == "fhir":
        from backpath.fhir import result as fhir_result

        out = assess_chunk(pathway, chunk, "jsonl")
        out.data = fhir_result.ndjson_bundles(pathway, out.data)
        return out
    out = ChunkResult([], nbytes=chunk.nbytes)
    tiers = out.tiers
    write = row_writer(pathway, columns) if fmt == "csv" else compact_json_writer(pathway) \
        if detail == "summary" else json_writer(pathway)
    results = _assessed(pathway, chunk, write, out.ids)
    # A lone surrogate (from a \ud800 escape in the input) cannot be UTF-8: it is written back as the same escape.
    if fmt == "csv":
        buf = io.StringIO()
        write_error = _csv_error_writer(pathway, buf, columns)
        for result in results:
            if type(result) is tuple:  # an ok result already written: (tier, CSV line)
                tiers[result[0]] += 1
                buf.write(result[1])
            else:  # every assessor gives an ok result as text: a dict is an error result
                _count_error(out, result)
                write_error(result)
        out.data.append(buf.getvalue().encode("utf-8", "backslashreplace"))
        buf.close()
    else:
        # Each result's text is encoded as soon as it is made, while it is still in the CPU's cache, and let go;
        # the pieces are written as they are (`streams.Output.writelines`), never joined (a copy of ~19 KB a
        # record for the default pathway's full results).
        add = out.data.append
        separator = b"\n" if fmt == "jsonl" else b",\n"
        for result in results:
            if type(result) is tuple:  # an ok result already written: (tier, JSON text)
                tiers[result[0]] += 1
                add(result[1].encode("utf-8", "backslashreplace"))
            else:
                _count_error(out, result)
                add(_encode(result).encode("utf-8", "backslashreplace"))
            add(separator)
        if fmt == "json" and out.data:
            out.data.pop()  # no separator after a json chunk's last record (`batch.run` writes those between chunks)
    out.ok = tiers.total()
    out.records = out.ok + out.errors
    return out


def _count_error(out: ChunkResult, result: dict) -> None:
    """Count an error result for the run's summary: its kinds, and its place if among the chunk's first."""
    out.errors += 1
    out.error_kinds.update(error_kinds(result["errors"]))
    if len(out.error_places) < MAX_ERROR_PLACES:
        out.error_places.append(place(result["source"]))


def assess_lines(pathway: Pathway, lines: Iterable[str | bytes], *, source: str = "<lines>", first_line: int = 1,
                 first_position: int = 1) -> Iterator[str]:
    """Assess JSON Lines text the way `backpath batch` does, in this process: one result per non-blank line, in
    order, each the JSON text `backpath batch --format jsonl` writes for it (without the newline). A line that
    is not a valid record gives an error result naming `source` and its line number; nothing is raised for bad
    input. Lines may be text or bytes, with or without their newline.

    For a part of a larger file (a Dask or PySpark partition), `first_line` is the line number of its first line
    and `first_position` the run position of its first record (the id of a record that has none); with both,
    the results are byte for byte those of `backpath batch` over the whole file. Results are written as JSON text
    directly, as in `backpath batch`: several times faster than `assess` and `json.dumps` a record at a time. Lines are
    read as results are taken, a chunk (`CHUNK_RECORDS`) at a time, so memory stays flat however many there are."""
    chunk = Chunk(start=first_position)
    line_no = first_line - 1
    for line in lines:
        line_no += 1
        if not isinstance(line, bytes):
            line = _utf8(line)
        length = len(line) - line.endswith(b"\n")
        item: Item | None
        if length > batch_io.MAX_LINE_BYTES:
            item = long_line_item(source, line_no, length)
        else:
            item = line_item(line, source, line_no)
        if item is None:
            continue
        chunk.items.append(item)
        if len(chunk.items) >= CHUNK_RECORDS:
            yield from _result_lines(pathway, chunk)
            chunk = Chunk(start=chunk.start + len(chunk.items))
    if chunk.items:
        yield from _result_lines(pathway, chunk)


def _utf8(line: str) -> bytes:
    """A line of text as UTF-8 bytes; text decoded with `surrogateescape` gets its original bytes back, any other
    lone surrogate becomes bytes that are not UTF-8 (an error result, as for such a line in a file)."""
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return line.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return line.encode("utf-8", "surrogatepass")


def _result_lines(pathway: Pathway, chunk: Chunk) -> list[str]:
    """A chunk's results as `assess_chunk` writes them for jsonl, each as text without its newline (decoded from
    the bytes it would write: the same text, but for a lone surrogate, written as its escape)."""
    return [text if text.isascii() else _as_written(text)
            for text in (result[1] if type(result) is tuple else _encode(result)
                         for result in _assessed(pathway, chunk, json_writer(pathway)))]


def _as_written(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: written as its escape (see `assess_chunk`)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _assessed(pathway: Pathway, chunk: Chunk, write: Write, ids: list | None = None) -> Iterator:
    """One result per item, in order: `write`'s for a record (`(tier, text)`: `engine.json_writer`'s JSON,
    `compact_json_writer`'s, `columns.row_writer`'s CSV line), error dicts with the record's source. Never raises:
    a record the engine fails on gets an internal-error result in its place. `ids` gets the (id, source) of each
    record read (its own id, or its position).

    Two passes over the chunk: every record is read, checked and decided first (`engine.decide_record`), then
    every result is written, each given as soon as it is made (so that its text can be encoded and let go while
    it is still in the CPU's cache). Each pass keeps its own code and memos in the CPU's caches: about 10% less
    CPU a record than a record at a time, for the same instructions (docs/batch.md, "Measured: one engine")."""
    note_id = ids.append if ids is not None else None
    position = chunk.start
    decided: list = []
    keep = decided.append
    for item in chunk.items:
        got = _read_item(pathway, item, position)
        position += 1
        if type(got) is tuple:
            record_id, answers, source = got
            if note_id is not None:
                note_id((record_id, source))
            try:
                done = decide_record(pathway, answers, record_id)
            except Exception as exc:  # an engine bug must not stop the batch; report it in this record's place
                done = _internal_error(record_id, exc)
            if type(done) is dict:
                done["source"] = source
                keep(done)
            else:
                keep((record_id, done, source))
        else:
            keep(got)
    for entry in decided:
        if type(entry) is dict:
            yield entry
            continue
        record_id, done, source = entry
        try:
            yield write(record_id, done)
        except Exception as exc:  # as above
            result = _internal_error(record_id, exc)
            result["source"] = source
            yield result


def _error(position: int, record_id: Any, path: str, message: str, source: dict) -> dict:
    result = error_result(position if record_id is None else record_id, [{"path": path, "message": message}])
    result["source"] = source
    return result


def _read_item(pathway: Pathway, item: tuple, position: int) -> dict | tuple[Any, Any, dict]:
    """An item as `(id, answers, source)` ready to assess, or the error result that replaces it."""
    kind, file, where, payload = item
    if kind == LINE:
        source = {"file": file, "line": where}
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _error(position, None, "", f"the line is not UTF-8 text (invalid byte 0x{payload[exc.start]:02x} "
                          f"at byte {exc.start + 1}); save the file as UTF-8.", source)
        try:
            value = loads_record(text)
        except json.JSONDecodeError as exc:
            exc = _syntax_error(text, exc)
            return _error(position, None, "", f"the line is not valid JSON: {exc.msg} at column {exc.colno}.", source)
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number; arrays nested 100,000 deep
            return _error(position, None, "", f"the line cannot be read as a record: {unreadable(exc)}.", source)
        return read_record(pathway, value, position, source)
    if kind == VALUE:
        source = {"file": file} if where is None else {"file": file, "record": where}
        return read_record(pathway, payload, position, source)
    path, message = payload
    return _error(position, None, path, message, {"file": file} if where is None else {"file": file, "line": where})


def _syntax_error(text: str, exc: json.JSONDecodeError) -> json.JSONDecodeError:
    """A line's syntax error as found without its line break, so that a line cut short is reported at its end
    ("Expecting ',' delimiter at column 24") whether or not a newline follows it."""
    try:
        loads(text.rstrip("\r\n"))
    except json.JSONDecodeError as stripped:
        return stripped
    except (ValueError, RecursionError):
        pass
    return exc


def read_record(pathway: Pathway, record: Any, position: int, source: dict) -> dict | tuple[Any, Any, dict]:
    """One parsed record {"id": ..., "answers": {...}} -> `(id, answers, source)`, or the error result for a
    record that is not of that shape. The id is the record's own, else its position in the run. A CSV row or a
    FHIR resource is read by `input_formats`."""
    if type(record) is not dict or "resourceType" in record:  # perhaps a CSV row or a FHIR resource
        special = read_special(pathway, record, position, source)
        if special is not None:
            return special
    if type(record) is not dict:
        return _error(position, None, "", "a record must be a JSON object like {\"id\": ..., \"answers\": {...}}, "
                      f"not {_JSON_TYPES.get(type(record), 'that')}.", source)
    record_id = record.get("id")
    if record_id is not None and (type(record_id) is not str and type(record_id) is not int):
        return _error(position, None, "id", f"must be text or a whole number, not {_JSON_TYPES.get(type(record_id))}"
                      "; leave it out to use the record's position.", source)
    answers = record.get("answers")
    if type(answers) is not dict:
        if answers is None:
            hint = " This looks like a bare answers object: wrap it as {\"answers\": {...}}." \
                if any(k in pathway.questions for k in record) else ""
            message = f"missing: a record is {{\"id\": ..., \"answers\": {{question id: value}}}}.{hint}"
        else:
            message = f"must be an object of question id → value, not {_JSON_TYPES.get(type(answers), 'that')}."
        return _error(position, record_id, "answers", message, source)
    extra = extra_keys(record) if len(record) > 2 else None
    if extra:
        return _error(position, record_id, first_extra_key(record), extra, source)
    return (position if record_id is None else record_id), answers, source


def _internal_error(record_id: Any, exc: Exception) -> dict:
    """The error result in place of a record the engine failed on."""
    return error_result(record_id, [{"path": "", "message": f"internal error while assessing this record "
                                     f"({type(exc).__name__}); please report it with the pathway and the record."}])


def _csv_error_writer(pathway: Pathway, buf: io.StringIO, columns: tuple[str, ...] | None = None):
    writer = NeutralWriter(csv.writer(buf))
    return error_row_writer(pathway, columns or all_columns(pathway), writer.writerow, place)


# --- worker processes ----------------------------------------------------------------------------

_worker_pathway: Pathway | None = None
_handoff_folder: str | None = None
_turns: Turns | None = None
_worker_chunks = 0
inherited_pathway: Pathway | None = None  # set by the batch process before it starts workers


def init_worker(pathway_path: str, sha256: str, handoff_folder: str | None = None, turns: Turns | None = None) -> None:
    """Get the pathway once in a worker process: a forked worker reuses the batch process's (already loaded,
    same sha256); a spawned one loads it from its file. Ctrl-C is left to the batch process, which stops
    the workers. A chunk is written straight into the output when it is its turn (`turns`, forked workers
    only), else handed over through `handoff_folder` when there is one."""
    global _worker_pathway, _handoff_folder, _turns
    _handoff_folder, _turns = handoff_folder, turns
    resume()  # forked while the batch process deferred its signals
    lifeline.die_with_parent()  # a batch process killed with SIGKILL takes its workers with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()  # a forked worker has it already; a spawned one has not
    pathway = inherited_pathway
    if pathway is None or pathway.sha256 != sha256:
        from backpath.load.loader import load_pathway

        pathway = load_pathway(pathway_path)
    if pathway.sha256 != sha256:
        raise RuntimeError(f"the pathway file {pathway_path} changed while the batch was starting; run it again.")
    _worker_pathway = pathway
    freeze_warm_objects()  # again after the worker's first chunk


# Young-generation collections a batch process runs at most: one per this many new containers (Python's default
# is 700). A chunk makes some tens of thousands of lists, tuples and dicts, nearly all of which live until the
# chunk is written, so collecting every 700 scanned the same survivors again and again: 2.4% of the instructions
# a record (callgrind, default pathway, 431,700 -> 421,200). The memory this lets wait is a few MB at most.
_YOUNG_THRESHOLD = 20_000
_thresholds: tuple[int, ...] | None = None  # the collector's thresholds before `freeze_warm_objects`
_caller_froze = False  # whether objects were frozen before `freeze_warm_objects` (the backpath command's own)


def freeze_warm_objects() -> None:
    """Before a process's first chunk and again after it: move what exists now (the pathway, its engines, then
    their warm memos) out of the garbage collector's sight, and collect the young generation less often
    (`_YOUNG_THRESHOLD`). The frozen objects live as long as the run, and scanning them again at every full
    collection cost about 8% of the time (instruction counts, default pathway); the first chunk, collected every
    700 new containers, took about 35 collections (6 ms, 1.1.1 pathway). Only batch processes call this: library
    callers keep their settings."""
    global _thresholds, _caller_froze
    if _thresholds is None:
        _caller_froze = gc.get_freeze_count() > 0
        _thresholds = gc.get_threshold()
        gc.set_threshold(_YOUNG_THRESHOLD, *_thresholds[1:])
    gc.freeze()


def thaw_warm_objects() -> None:
    """Undo `freeze_warm_objects` (a run in a process that goes on, such as a test's). Where the caller had
    frozen objects itself (the backpath command freezes its imports as it starts), everything alive stays frozen
    instead: `gc.unfreeze` cannot tell the caller's objects from the run's, and thawing them all cost the command
    about 55 ms of CPU as it exited (the interpreter's last collections scanned them all; 3,000 records, 1.1.1
    pathway: 65 -> 10 ms after the run)."""
    global _thresholds
    gc.unfreeze()
    if _thresholds is not None:
        gc.set_threshold(*_thresholds)
        _thresholds = None
        if _caller_froze:
            gc.freeze()


def worker_assess_chunk(chunk: Chunk, fmt: str, seq: int | None = None, detail: str = "full",
                        columns: tuple[str, ...] | None = None) -> ChunkResult:
    """Assess chunk number `seq` of the run in a worker; write it into the output if it is its turn, else return
    its output (in a hand-off file where there is a folder for them)."""
    global _worker_chunks
    assert _worker_pathway is not None, "init_worker was not called"
    result = assess_chunk(_worker_pathway, chunk, fmt, detail, columns)
    _worker_chunks += 1
    if _worker_chunks == 1:
        freeze_warm_objects()
    if _turns is not None and seq is not None and _turns.mine(seq):
        _turns.write(seq, result.data)
        result.data, result.written = [], True
        return result
    path = handoff.hand_over(result.data, _handoff_folder, f"{chunk.start}.out")
    if path is not None:
        result.data, result.handed_over = [], path
    return result
