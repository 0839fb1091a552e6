"""`backpath batch` reads CSV: a column a question, lists `;`-separated, one error record a bad row."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from backpath.batch import streams as batch_io
from backpath.batch.input_formats import CsvRow, csv_answers, kind_of
from backpath.cli.main import app
from backpath.core import engine

from .test_fhir_questionnaire import case_answers


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


def to_csv(pathway, records: list[tuple[str, dict]]) -> str:
    columns = ["id", *(q.id for q in pathway.question_list())]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for record_id, answers in records:
        row = [record_id]
        for q in pathway.question_list():
            value = answers.get(q.id)
            if value is None:
                row.append("")
            elif isinstance(value, bool):
                row.append("true" if value else "false")
            elif isinstance(value, list):
                row.append(";".join(value) if value else "[]")
            else:
                row.append(str(value))
        writer.writerow(row)
    return buf.getvalue()


def valid_cases(pathway):
    return [(n, a) for n, a in case_answers() if engine.assess(pathway, a)["status"] == "ok"]


def test_kind_by_extension():
    assert kind_of("a.csv") == "csv" and kind_of("A.CSV") == "csv" and kind_of("a.json") is None
    (spec,) = batch_io.input_specs(["records.csv"])
    assert spec.kind == "csv"


def test_csv_gives_the_same_results_as_json_lines(runner, tmp_path, default_pathway):
    records = valid_cases(default_pathway)
    table = tmp_path / "records.csv"
    table.write_text(to_csv(default_pathway, records), encoding="utf-8")
    out = runner.invoke(app, ["batch", str(table), "--quiet"])
    assert out.exit_code == 0, out.output
    got = [json.loads(line) for line in out.stdout.splitlines()]
    assert got == [engine.assess(default_pathway, a, record_id=n) for n, a in records]


def test_cells_by_type(default_pathway):
    header = ("id", "age", "sciatica", "duration_weeks", "red_flags", "conditions", "tried_treatments", "bmi")
    row = CsvRow(header, (" p1 ", "52", "TRUE", "0.5", "major_trauma; cancer_history", "none", "[]", ""), 2)
    record_id, answers, problems = csv_answers(default_pathway, row)
    assert (record_id, problems) == ("p1", [])
    assert answers == {"age": 52, "sciatica": True, "duration_weeks": 0.5,
                       "red_flags": ["major_trauma", "cancer_history"], "conditions": [], "tried_treatments": []}


def test_bad_rows_are_error_records_and_the_rest_go_on(runner, tmp_path, default_pathway):
    (name, good), *_ = valid_cases(default_pathway)
    text = to_csv(default_pathway, [("ok1", good)])
    header, row = text.splitlines()
    bad_age = row.replace("ok1,52,", "bad,fifty,", 1)
    short = "short,52,false"
    table = tmp_path / "t.csv"
    table.write_text("\n".join([header, row, bad_age, "", short, row.replace("ok1", "ok2", 1)]) + "\n",
                     encoding="utf-8")
    out = runner.invoke(app, ["batch", str(table), "--quiet"])
    assert out.exit_code == 1
    got = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["status"]) for r in got] == [("ok1", "ok"), ("bad", "error"), (3, "error"), ("ok2", "ok")]
    assert got[1]["errors"][0]["path"] == "answers.age" and "fifty" in got[1]["errors"][0]["message"]
    assert got[1]["source"] == {"file": str(table), "line": 3}
    assert "cells but the header has" in got[2]["errors"][0]["message"] and got[2]["source"]["line"] == 5


def test_unknown_column_is_named_with_a_suggestion(runner, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("id,agee\n1,50\n", encoding="utf-8")
    out = runner.invoke(app, ["batch", str(table), "--quiet"])
    (result,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert result["errors"][0]["path"] == "answers.agee" and "Did you mean `age`?" in result["errors"][0]["message"]


def test_not_utf8_and_bad_quotes_stop_the_file_with_one_error(runner, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,age\n1,50\n2,\xe9\n")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('id,age\n"1,50\n', encoding="utf-8")
    out = runner.invoke(app, ["batch", str(latin), str(quoted), "--quiet"])
    got = [json.loads(line) for line in out.stdout.splitlines()]
    messages = [r["errors"][0]["message"] for r in got if r["status"] == "error"]
    assert any("not UTF-8" in m for m in messages)
    assert any("CSV cannot be read" in m or "cells but the header" in m for m in messages)
    assert "Traceback" not in out.output


def test_unknown_extension_names_every_format():
    with pytest.raises(batch_io.BatchUsageError, match=r"\.csv file"):
        batch_io.input_specs(["records.txt"])


def test_a_line_over_the_limit_stops_the_file_with_one_error(runner, tmp_path):
    table = tmp_path / "long.csv"
    table.write_text("id,age\n1,50\n" + "x," * (batch_io.MAX_LINE_BYTES // 2 + 10) + "\n2,60\n", encoding="utf-8")
    out = runner.invoke(app, ["batch", str(table), "--quiet"])
    got = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["status"]) for r in got] == [("1", "error"), (2, "error")]  # row 1 lacks most answers
    assert "required answer is missing" in got[0]["errors"][0]["message"]
    assert "over 1 MiB" in got[1]["errors"][0]["message"] and got[1]["source"]["line"] == 3
