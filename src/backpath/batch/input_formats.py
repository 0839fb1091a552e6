"""Input formats beside backpath's own JSON records: CSV tables and FHIR QuestionnaireResponses.

- Which reader an INPUT gets is decided by its extension: `.json`, `.jsonl`/`.ndjson`, `.csv`. Inside JSON, a
  FHIR resource is told from a record by its `resourceType` (a QuestionnaireResponse, or a Bundle of them).
- A CSV file has a header row of question ids (and optionally `id`), then one row a record. An empty cell is an
  unanswered question; a multi-choice cell lists option ids separated by `;`, and `[]` or `none` is the empty list.
- Reading happens in two steps, as for JSON Lines: the reading process only splits the input into items (a
  `CsvRow`, a parsed resource); the assessing side (possibly a worker process) turns an item into answers with the
  pathway (`read_special`), so one bad row or response becomes one error record and the rest go on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from backpath.core.engine import error_result
from backpath.core.errors import did_you_mean
from backpath.core.model import Pathway, Question

CSV_SUFFIXES = (".csv",)
LIST_SEPARATOR = ";"
EMPTY_LIST = ("[]", "none")
ID_COLUMN = "id"


def kind_of(path: str) -> str | None:
    """`csv` for a CSV file by its extension; None for the formats batch_io knows itself."""
    return "csv" if Path(path).suffix.lower() in CSV_SUFFIXES else None


# --- CSV -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvRow:
    """One data row as read: the header, the cells, and the line the row starts on."""

    header: tuple[str, ...]
    cells: tuple[str, ...]
    line: int


def read_csv(fh: BinaryIO, name: str) -> Iterator[tuple[tuple, int]]:
    """A CSV input as batch items `(kind, file, where, payload)` with the bytes each came from. A row whose cell
    count differs from the header's is an error item; reading stops at a quoting error, bytes that are not UTF-8
    or a line over 1 MiB (each makes the rest of the file unreliable), with an error item."""
    from backpath.batch.items import PROBLEM, VALUE

    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    try:
        yield from _csv_items(csv.reader(_bounded_lines(text)), name, PROBLEM, VALUE)
    finally:
        text.detach()  # the caller closes `fh`


class _LineTooLong(Exception):
    pass


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    """The file's lines, none read past `MAX_LINE_BYTES` characters (a hostile file cannot fill memory)."""
    from backpath.batch.items import MAX_LINE_BYTES

    while True:
        line = text.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES:
            raise _LineTooLong
        yield line


def _csv_items(reader, name: str, PROBLEM: int, VALUE: int) -> Iterator[tuple[tuple, int]]:  # noqa: N803
    header: tuple[str, ...] | None = None
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield (PROBLEM, name, line, ("", f"the file is not UTF-8 text (an invalid byte after line {line - 1}); "
                                             "save it as UTF-8 CSV. The rest of the file is skipped.")), 0
            return
        except _LineTooLong:
            yield (PROBLEM, name, line, ("", "a line is over 1 MiB (the limit for one record); the rest of the file "
                                             "is skipped.")), 0
            return
        except csv.Error as exc:
            yield (PROBLEM, name, line, ("", f"the CSV cannot be read at line {line}: {exc}. Check its quotes; "
                                             "the rest of the file is skipped.")), 0
            return
        start, line = line, reader.line_num + 1
        nbytes = sum(len(c.encode("utf-8", "replace")) for c in row) + len(row)
        if header is None:
            header = tuple(c.strip() for c in row)
            continue
        if not any(c.strip() for c in row):
            continue  # a blank line is not a record
        if len(row) != len(header):
            yield (PROBLEM, name, start, ("", f"the row has {len(row)} cells but the header has {len(header)}; "
                                              "give one cell a column (empty for unanswered).")), nbytes
            continue
        yield (VALUE, name, start, CsvRow(header, tuple(row), start)), nbytes


def csv_answers(pathway: Pathway, row: CsvRow) -> tuple[Any, dict, list[dict]]:
    """A row -> (its `id` cell or None, answers, header problems). Cells are converted by the question's type
    where they can be; a cell that does not convert is passed on as text, so the engine reports it in its usual
    words ("must be a number (16-110 years), not "fifty"")."""
    record_id = None
    answers: dict[str, Any] = {}
    problems = []
    for column, cell in zip(row.header, row.cells):
        if column == ID_COLUMN:
            record_id = cell.strip() or None
            continue
        q = pathway.questions.get(column)
        if q is None:
            problems.append({"path": f"answers.{column}", "message": f"the column {column!r} is not a question of "
                             f"this pathway.{did_you_mean(column, pathway.questions)} `backpath questions` lists "
                             "them."})
            continue
        value = cell.strip()
        if value:
            answers[column] = _convert(q, value)
    return record_id, answers, problems


def _convert(q: Question, text: str) -> Any:
    if q.type == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if q.type in ("integer", "number"):
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                pass
        return text
    if q.type == "multi_choice":
        if text.lower() in EMPTY_LIST and text not in q.option_ids:
            return []
        return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]
    return text


# --- the assessing side --------------------------------------------------------------------------

def is_fhir(value: Any) -> bool:
    """A FHIR resource (it names its `resourceType`), not a backpath record."""
    return type(value) is dict and "resourceType" in value


def fhir_items(data: dict, name: str, size: int) -> Iterator[tuple[tuple, int]]:
    """A FHIR resource parsed from a .json input -> one item per QuestionnaireResponse it holds."""
    from backpath.batch.items import PROBLEM, VALUE
    from backpath.fhir.response import responses_in

    found = responses_in(data)
    share = size // len(found)
    for where, resource, problem in found:
        if problem is not None:
            yield (PROBLEM, name, None, ("", problem)), share
        else:
            yield (VALUE, name, where, resource), share


def read_special(pathway: Pathway, record: Any, position: int, source: dict) -> tuple | dict | None:
    """A CSV row or a FHIR resource as `(id, answers, source)`, or its error result (with `source`); None for
    anything else (a backpath record, read as usual)."""
    if type(record) is CsvRow:
        source = {"file": source["file"], "line": record.line}
        record_id, answers, problems = csv_answers(pathway, record)
        if problems:
            return _error(position, record_id, problems, source)
        return (position if record_id is None else record_id), answers, source
    if not is_fhir(record):
        return None
    from backpath.fhir.response import ResponseProblem

    try:
        record_id, answers = single_response(pathway, record, "give a Bundle as a .json file, or one "
                                                              "QuestionnaireResponse a line")
    except ResponseProblem as exc:
        return _error(position, getattr(exc, "record_id", None), exc.errors, source)
    return (position if record_id is None else record_id), answers, source


def single_response(pathway: Pathway, data: dict, hint: str) -> tuple[Any, dict]:
    """The one QuestionnaireResponse `data` is or holds -> `(record id, answers)`; raises ResponseProblem for
    anything else (`hint` says what to do with a Bundle of several)."""
    from backpath.fhir.response import ResponseProblem, read_response, responses_in

    found = responses_in(data)
    if len(found) > 1:
        raise ResponseProblem([{"path": "", "message": f"a Bundle of {len(found)} responses where one is read; "
                                f"{hint}."}])
    _, resource, problem = found[0]
    if problem is not None:
        raise ResponseProblem([{"path": "resourceType", "message": problem}])
    assert resource is not None  # responses_in gives a resource wherever it gives no problem
    return read_response(pathway, resource)


def _error(position: int, record_id: Any, errors: list[dict], source: dict) -> dict:
    result = error_result(position if record_id is None else record_id, errors)
    result["source"] = source
    return result
