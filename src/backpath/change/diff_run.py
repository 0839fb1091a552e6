"""`backpath diff`: run two pathway versions over the same records and collect what changed (`decision_diff`).

Records come from the batch readers (`batch_io`: `.jsonl`, `.json`, `-` for stdin), a chunk at a time, and each
chunk is assessed by both pathways through the public `assess_lines` (so a record is read exactly as `batch`
reads it, and ids default to the same positions); or from the test cases beside both pathways
(`<id>.cases.yaml`), assessed with the public `assess`. Memory holds one chunk of results and the changes found.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from backpath.batch.streams import LINE, PROBLEM, VALUE, BatchUsageError, Chunk, input_specs, read_chunks
from backpath.core.errors import BackpathError
from backpath.core.model import Pathway
from backpath.load.yamlio import load_yaml
from backpath.system.heap import keep_freed_memory

__all__ = ["DiffUsageError", "CaseRecord", "diff_records", "diff_cases", "cases_records"]


class DiffUsageError(BackpathError):
    """`backpath diff` was called wrongly (bad input argument, unreadable cases file); exit code 2."""


def _place(file: str, kind: int, where: Any) -> str:
    if kind == LINE or (kind == PROBLEM and isinstance(where, int) and not file.endswith(".json")):
        return f"{file}:{where}"
    return f"{file} record {where}" if where is not None else file


def _runs(chunk: Chunk) -> Iterator[tuple[int, list]]:
    """Maximal runs of readable items of a chunk, as (index of the first in the chunk, items)."""
    run: list = []
    first = 0
    for i, item in enumerate(chunk.items):
        if item[0] == PROBLEM:
            if run:
                yield first, run
            run = []
            continue
        if not run:
            first = i
        run.append(item)
    if run:
        yield first, run


def _line(item: tuple) -> bytes:
    kind, _, _, payload = item
    if kind == VALUE:  # a record of a .json file, as the JSON Lines line that holds it
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return payload


def diff_records(old: Pathway, new: Pathway, inputs: list[str], summary, stdin: BinaryIO | None = None) -> None:
    """Assess every record of `inputs` with both pathways and add each to `summary` (a `DiffSummary`).

    Raises `DiffUsageError` for a bad INPUT argument before anything is read."""
    try:
        specs = input_specs(inputs)
    except BatchUsageError as exc:
        raise DiffUsageError(str(exc).replace("INPUT", "--records FILE")) from None
    for spec in specs:  # unlike batch, a records file that is not there is a usage error: a check must not pass
        if spec.arg != "-" and not Path(spec.arg).exists():  # on no records
            raise DiffUsageError(f"--records {spec.arg}: no such file; check the path.")
        if Path(spec.arg).is_dir():
            raise DiffUsageError(f"--records {spec.arg} is a folder; give the .jsonl or .json files inside it.")
    with _collector_tuned():
        for chunk in read_chunks(specs, stdin):
            _diff_chunk(old, new, chunk, summary)


@contextmanager
def _collector_tuned() -> Iterator[None]:
    """As batch runs: the objects alive now (both pathways) are frozen out of the collector's scans, the young
    generation is collected every 20,000 allocations rather than 700 (a chunk's results live until it is
    compared), and glibc keeps freed memory for the next chunk. About 8% of the CPU time of a diff. Undone after."""
    keep_freed_memory()
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _diff_chunk(old: Pathway, new: Pathway, chunk: Chunk, summary) -> None:
    """Assess one chunk of records with both pathways and add each record to `summary`."""
    import backpath

    by_index: dict[int, tuple] = {}
    for first, run in _runs(chunk):
        lines = [_line(item) for item in run]
        source = run[0][1]
        position = chunk.start + first
        pairs = zip(backpath.assess_lines(old, lines, source=source, first_position=position),
                    backpath.assess_lines(new, lines, source=source, first_position=position), strict=True)
        for k, (before, after) in enumerate(pairs):
            by_index[first + k] = (before, after)
    for i, item in enumerate(chunk.items):
        kind, file, where, _ = item
        place = _place(file, kind, where)
        if kind == PROBLEM:
            summary.add_unreadable(place)
            continue
        before_text, after_text = by_index[i]
        if _same_result(before_text, after_text):
            summary.add_same()
            continue
        before, after = json.loads(before_text), json.loads(after_text)
        summary.add(before.get("id"), place, before, after)


_SHA = '"sha256":"'


def _same_result(a: str, b: str) -> bool:
    """Whether two results of one record are the same text apart from the pathway's id, version and sha256 (so
    the same decision, without parsing them). Results that differ anywhere else are parsed and compared."""
    i, j = a.find(_SHA), b.find(_SHA)
    if i < 0 or j < 0:
        return False
    start_a, start_b = a.find('"pathway":'), b.find('"pathway":')
    i += len(_SHA) + 64
    j += len(_SHA) + 64
    return a[:start_a] == b[:start_b] and a[i:] == b[j:]


# --- test cases ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseRecord:
    id: str
    place: str
    answers: dict


def cases_records(files: list[Path]) -> list[CaseRecord]:
    """The answers of every case of each cases file (base answers merged, `remove` applied), one record per case.
    A case with the same name and answers in a later file is not repeated; one with the same name and other
    answers gets the file's name after its own. Raises `DiffUsageError` for a file that cannot be used."""
    from backpath.load.loader import schema_findings
    from backpath.validate.cases import cases_schema

    out: list[CaseRecord] = []
    seen: dict[str, str] = {}  # case name -> answers as JSON
    for path in files:
        name = str(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DiffUsageError(f"cannot read the cases file {name}: {getattr(exc, 'strerror', None) or exc}.") \
                from None
        loaded = load_yaml(text, name)
        problems = [f for f in loaded.findings if f.severity == "error"]
        if loaded.data is not None and not problems:
            problems = schema_findings(loaded, name, cases_schema())
        if loaded.data is None or problems:
            first = problems[0] if problems else loaded.findings[0]
            raise DiffUsageError(f"the cases file {name} is not valid ({first.where()}: {first.message}); run "
                                 f"`backpath validate` on its pathway for every finding.")
        data: dict = loaded.data  # type: ignore[assignment]  # schema-valid, so a mapping
        base = data.get("base_answers", {})
        for i, case in enumerate(data["cases"]):
            answers = {**base, **case.get("answers", {})}
            for key in case.get("remove", []):
                answers.pop(key, None)
            key = json.dumps(answers, sort_keys=True)
            cname = case["name"]
            if seen.get(cname) == key:
                continue
            rid = cname if cname not in seen else f"{cname} ({path.name})"
            seen.setdefault(cname, key)
            line, _ = loaded.position(("cases", i))
            out.append(CaseRecord(rid, f"{name}:{line}", answers))
    return out


def diff_cases(old: Pathway, new: Pathway, files: list[Path], summary) -> None:
    """Assess the answers of every case in `files` with both pathways and add each to `summary`."""
    import backpath

    for record in cases_records(files):
        before = backpath.assess(old, record.answers, record_id=record.id)
        after = backpath.assess(new, record.answers, record_id=record.id)
        summary.add(record.id, record.place, before, after)
