"""A CSV row of `batch --format csv` is made straight from the decision (`columns.RowMaker`): it must be the line
`csv.writer` writes for the cells read off the full result of `assess`, for every column choice and any record id
(commas, quotes, line breaks and formula starts included)."""

from __future__ import annotations

import csv
import io

import pytest

from backpath.batch.columns import all_columns, row_assessor
from backpath.batch.csvcells import neutral_row
from backpath.core.engine import assess
from tests.conftest import case_answers

IDS = ["plain", 7, -5, "", "with,comma", 'a "quote"', "line\nbreak", "cr\rhere", "=HYPERLINK(\"x\")", "-5", "+1",
       "@sum", "\tstart", "é ü – 😀", " spaced ", "semi;colon"]
COLUMN_CHOICES = [None, ("errors",), ("id",), ("not_recommended",), ("id", "tier", "not_recommended", "care_team"),
                  ("review_in_weeks", "requested", "offered", "considered", "rules_fired")]


def expected_line(pathway, result: dict, answers: dict, columns: list[str]) -> str:
    """The row as the plain reading of the contract: each column's value from the full result, then `_cell`,
    `neutral` and `csv.writer`."""
    recs = result["recommendations"]
    values = {"id": result["id"], "status": "ok", "tier": result["tier"], **result["scores"],
              "red_flags": result["red_flags"], "recommended": [i["id"] for i in recs],
              "not_recommended": [i["id"] for i in result["not_recommended"]], "errors": "", "source": "",
              "pathway_id": result["pathway"]["id"], "pathway_version": result["pathway"]["version"],
              "review_in_weeks": result["follow_up"]["review_in_weeks"],
              "offered": [i["id"] for i in recs if i["strength"] == "offer"],
              "considered": [i["id"] for i in recs if i["strength"] == "consider"],
              "requested": list(answers.get(pathway.request_question) or []),
              "rules_fired": result["rules_fired"], "care_team": result["care_team"]}

    def cell(value):
        if type(value) is list:
            return ";".join(map(str, value))
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    buf = io.StringIO()
    csv.writer(buf).writerow(neutral_row([cell(values[c]) for c in columns]))
    return buf.getvalue()


@pytest.mark.parametrize("columns", COLUMN_CHOICES, ids=lambda c: ",".join(c) if c else "all")
def test_rows_are_what_csv_writer_writes_for_the_result(default_pathway, columns):
    row = row_assessor(default_pathway, columns)
    chosen = list(columns or all_columns(default_pathway))
    checked = 0
    for k, (_, answers) in enumerate(case_answers()):
        record_id = IDS[k % len(IDS)]
        result = assess(default_pathway, answers, record_id=record_id)
        got = row(default_pathway, answers, record_id=record_id)
        if result["status"] != "ok":
            assert got == result  # an invalid record: the error result, written by the error row writer
            continue
        assert got == (result["tier"], expected_line(default_pathway, result, answers, chosen)), record_id
        checked += 1
    assert checked > 50

