"""Audit output of `backpath batch`: the CSV's columns (`--columns`) and the compact JSON Lines (`--detail summary`),
checked against `backpath.assess` for every clinical case of the default pathway and for random records."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

import backpath
from backpath.batch.columns import ADDED, all_columns
from backpath.cli.main import app
from backpath.core.result_compact import assess_compact
from tests.conftest import FIXTURES, ROOT, case_answers
from tests.strategies import answers_for

PATHWAY = backpath.load_pathway("low-back-pain")
EARLIER = ["id", "status", "tier", "startback_total", "startback_psychosocial", "startback_risk",
           "axial_spa_criteria", "spa_peripheral_criteria", "red_flags", "recommended", "not_recommended", "errors",
           "source"]


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


def case_records() -> list[dict]:
    return [{"id": name, "answers": answers} for name, answers in case_answers()]


def bench_records(n: int, seed: int = 11) -> list[dict]:
    """bench/batch.py's seeded records (the ones the benchmark measures)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "bench" / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = random.Random(seed)
    return [{"id": f"r{i + 1:07d}", "answers": module.random_answers(rng, PATHWAY)} for i in range(n)]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), "utf-8")
    return path


def run(runner, *args):
    return runner.invoke(app, ["batch", *map(str, args), "--quiet"])


def compact_of(full: dict) -> dict:
    """What the compact result must be, read off the full one: same ids, strengths, rule ids, effects and
    `because`, in the same order, without texts, titles and citations."""
    if full["status"] != "ok":
        return full
    out = {k: full[k] for k in ("format_version", "id", "status", "pathway", "tier", "scores", "red_flags")}
    out["recommendations"] = [{"id": i["id"], "strength": i["strength"], "requested": i["requested"],
                               "reasons": [{"rule": r["rule"], "because": r["because"]} for r in i["reasons"]]}
                              for i in full["recommendations"]]
    out["not_recommended"] = [{"id": i["id"], "requested": i["requested"],
                               "reasons": [{"rule": r["rule"], "effect": r["effect"], "because": r["because"]}
                                           for r in i["reasons"]]}
                              for i in full["not_recommended"]]
    out["care_team"] = full["care_team"]
    out["follow_up"] = {"review_in_weeks": full["follow_up"]["review_in_weeks"]}
    out["warnings"] = [{"rule": w["rule"]} if "rule" in w else {"path": w["path"]} for w in full["warnings"]]
    out["rules_fired"] = full["rules_fired"]
    return out


# --- CSV columns -----------------------------------------------------------------------------------

def test_default_columns_keep_the_earlier_ones_first(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", case_records()[:3])
    result = run(runner, src, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header == EARLIER + list(ADDED) == all_columns(PATHWAY)


def test_every_clinical_case_through_csv_agrees_with_assess(runner, tmp_path):
    records = case_records() + ["not json"]
    src = write_jsonl(tmp_path / "cases.jsonl", records)
    result = run(runner, src, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(records)
    for row, record in zip(rows, records[:-1]):
        full = backpath.assess(PATHWAY, record["answers"], record_id=record["id"])
        if full["status"] == "error":  # the cases of invalid answers
            assert row["status"] == "error" and row["tier"] == row["rules_fired"] == "", record["id"]
            assert row["errors"] == " | ".join(f"{e['path']}: {e['message']}" for e in full["errors"])
            continue
        recs = full["recommendations"]
        assert row["id"] == record["id"] and row["status"] == "ok"
        assert row["tier"] == full["tier"]
        assert row["pathway_id"] == "low-back-pain" and row["pathway_version"] == PATHWAY.version
        review = full["follow_up"]["review_in_weeks"]
        assert row["review_in_weeks"] == ("" if review is None else str(review))
        assert row["recommended"] == ";".join(i["id"] for i in recs)
        assert row["offered"] == ";".join(i["id"] for i in recs if i["strength"] == "offer")
        assert row["considered"] == ";".join(i["id"] for i in recs if i["strength"] == "consider")
        assert row["not_recommended"] == ";".join(i["id"] for i in full["not_recommended"])
        assert row["requested"] == ";".join(record["answers"].get("requests", []))
        assert set(row["requested"].split(";")) - {""} == {i["id"] for i in recs + full["not_recommended"]
                                                          if i["requested"]}
        assert row["rules_fired"] == ";".join(full["rules_fired"])
        assert row["care_team"] == ";".join(full["care_team"])
        assert row["red_flags"] == ";".join(full["red_flags"])
        assert row["startback_risk"] == str(full["scores"]["startback_risk"])
        assert row["errors"] == row["source"] == ""
    bad = rows[-1]
    assert bad["status"] == "error" and bad["source"] == f"{src}:{len(records)}"
    assert bad["errors"].startswith("the line is not valid JSON") and bad["tier"] == bad["offered"] == ""
    assert bad["pathway_id"] == "low-back-pain"
    assert sum(row["status"] == "ok" for row in rows) > 100
    # the cases between them have offers, considers, requests and reviews to compare
    assert all(any(row[c] for row in rows) for c in ("offered", "considered", "requested", "review_in_weeks"))


def test_chosen_columns_in_the_order_given(runner, tmp_path):
    records = case_records()
    src = write_jsonl(tmp_path / "cases.jsonl", records)
    every = list(csv.DictReader(io.StringIO(run(runner, src, "--format", "csv").stdout)))
    chosen = ["rules_fired", "id", "startback_risk", "offered", "review_in_weeks"]
    result = run(runner, src, "--format", "csv", "--columns", " rules_fired, id,startback_risk,offered,review_in_weeks")
    assert result.exit_code == 1  # the cases include invalid answers
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == chosen
    assert rows[1:] == [[full[c] for c in chosen] for full in every]


@pytest.mark.parametrize(("spec", "expected"), [
    ("id,tierr", "unknown column `tierr` in --columns. Did you mean `tier`? Valid columns: id, status, tier,"),
    ("id,,tier", "has an empty name"),
    ("", "--columns is empty"),
    ("id,tier,id", "column `id` is named twice"),
])
def test_bad_columns_are_usage_errors(runner, tmp_path, spec, expected):
    src = write_jsonl(tmp_path / "in.jsonl", case_records()[:1])
    out = tmp_path / "out.csv"
    result = run(runner, src, "--format", "csv", "--columns", spec, "-o", out)
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert expected in message
    if "Valid columns" in expected:
        assert "rules_fired, care_team." in message
    assert not out.exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--columns", "id"], "--columns applies to --format csv only, not jsonl"),
    (["--format", "json", "--columns", "id"], "--columns applies to --format csv only, not json"),
    (["--format", "csv", "--detail", "summary"], "--detail summary applies to --format jsonl and json, not csv"),
    (["--format", "fhir", "--detail", "summary"], "--detail summary applies to --format jsonl and json, not fhir"),
    (["--detail", "short"], "unknown --detail 'short'; use one of full, summary"),
])
def test_options_that_do_not_apply_are_usage_errors(runner, tmp_path, args, expected):
    src = write_jsonl(tmp_path / "in.jsonl", case_records()[:1])
    result = run(runner, src, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert expected in " ".join(result.stderr.split())


def test_detail_full_is_accepted_with_every_format_and_changes_nothing(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", case_records()[:5])
    for fmt in ("jsonl", "json", "csv", "fhir"):
        plain = run(runner, src, "--format", fmt)
        full = run(runner, src, "--format", fmt, "--detail", "full")
        assert full.exit_code == plain.exit_code == 0 and full.stdout == plain.stdout


def test_csv_cells_are_neutralised_and_error_rows_keep_their_columns(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "=cmd()", "answers": case_records()[0]["answers"]},
                                              {"id": "@x", "answers": {"age": "old"}}])
    result = run(runner, src, "--format", "csv", "--columns", "id,status,errors,offered")
    assert result.exit_code == 1
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[1][:2] == ["'=cmd()", "ok"] and rows[2][:2] == ["'@x", "error"]
    assert rows[2][2].startswith("answers.age: ") and rows[2][3] == ""


# --- compact JSON Lines ----------------------------------------------------------------------------

def test_every_clinical_case_compact_agrees_with_the_full_result(runner, tmp_path):
    records = case_records() + [{"id": "bad", "answers": {"age": 300}}]
    src = write_jsonl(tmp_path / "cases.jsonl", records)
    full = run(runner, src)
    compact = run(runner, src, "--detail", "summary")
    assert full.exit_code == compact.exit_code == 1
    full_lines, compact_lines = full.stdout.splitlines(), compact.stdout.splitlines()
    assert len(compact_lines) == len(records)
    for f, c, record in zip(full_lines, compact_lines, records):
        expected = compact_of(json.loads(f))
        assert c == json.dumps(expected, ensure_ascii=False, separators=(",", ":")), record["id"]  # order too
        assert len(c) < len(f) or expected["status"] == "error"
    assert json.loads(compact_lines[-1])["status"] == "error"
    assert compact_lines[-1] == full_lines[-1]  # error records as in the full detail
    text = "\n".join(line for line in compact_lines if '"status":"ok"' in line)
    for absent in ('"text"', '"title"', '"sources"', '"disclaimer"', '"safety_net"', '"message"'):
        assert absent not in text


def test_compact_json_array(runner, tmp_path):
    records = case_records()[:4]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    lines = [json.loads(line) for line in run(runner, src, "--detail", "summary").stdout.splitlines()]
    assert json.loads(run(runner, src, "--detail", "summary", "--format", "json").stdout) == lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_for(PATHWAY))
def test_compact_matches_the_full_result(answers):
    full = backpath.assess(PATHWAY, answers, record_id="x")
    assert assess_compact(PATHWAY, answers, record_id="x") == compact_of(full)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_for(PATHWAY))
def test_compact_text_is_the_compact_dict_encoded(answers):
    """Batch writes the compact result as text (`result_compact_json`, sharing the full writer's memos): byte for
    byte the compact dict encoded."""
    from backpath.core.result_compact_json import assess_compact_json

    got = assess_compact_json(PATHWAY, answers, record_id="x")
    want = assess_compact(PATHWAY, answers, record_id="x")
    if want["status"] != "ok":
        assert got == want
    else:
        assert got == (want["tier"], json.dumps(want, ensure_ascii=False, separators=(",", ":")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_for(backpath.load_pathway(str(FIXTURES / "mini.yaml"))))
def test_compact_matches_the_full_result_on_another_pathway(answers):
    mini = backpath.load_pathway(str(FIXTURES / "mini.yaml"))
    full = backpath.assess(mini, answers, record_id=1)
    assert assess_compact(mini, answers, record_id=1) == compact_of(full)


def test_compact_is_much_smaller_on_bench_records(runner, tmp_path):
    """bench/batch.py's records: about 18.8 KB a record in full, 6.0 KB compact (measured; docs/batch.md)."""
    records = bench_records(300)
    src = write_jsonl(tmp_path / "bench.jsonl", records)
    full = run(runner, src).stdout.encode()
    compact = run(runner, src, "--detail", "summary").stdout.encode()
    assert len(compact) * 2.5 < len(full)


@pytest.mark.parametrize("args", [["--detail", "summary"], ["--detail", "summary", "--format", "json"],
                                  ["--format", "csv"], ["--format", "csv", "--columns", "id,offered,rules_fired"]],
                         ids=["summary-jsonl", "summary-json", "csv", "csv-columns"])
def test_jobs_1_and_2_give_identical_output(runner, tmp_path, args):
    records = bench_records(1100) + ["broken"]  # three chunks and an error record
    src = write_jsonl(tmp_path / "bench.jsonl", records)
    one, two = tmp_path / "one", tmp_path / "two"
    r1 = run(runner, src, *args, "--jobs", "1", "-o", one)
    r2 = run(runner, src, *args, "--jobs", "2", "-o", two)
    assert r1.exit_code == r2.exit_code == 1
    assert one.read_bytes() == two.read_bytes()
    assert len(one.read_bytes().splitlines()) >= len(records)


def test_compact_names_answer_warnings_by_path(runner, tmp_path):
    answers = {**case_records()[0]["answers"], "age": 70, "pregnant": False}  # pregnant is not asked at 70
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "answers": answers}])
    full = json.loads(run(runner, src).stdout)
    compact = json.loads(run(runner, src, "--detail", "summary").stdout)
    assert {"path": "answers.pregnant"} in compact["warnings"]
    assert compact == compact_of(full)
