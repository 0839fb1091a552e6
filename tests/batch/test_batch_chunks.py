"""A batch chunk gives, record by record, exactly what `assess` gives.

Batch writes each result's JSON text directly (`result_json.ResultWriter`, memos shared by the run); `assess`
builds the result's dicts (`report.result_dict`); both serialise `outline.Outline`. These tests mix valid and
invalid records in one chunk and compare every output line with the encoded result of `backpath.assess` for the
same record.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backpath
from backpath.batch import streams as batch_io
from backpath.batch import work as batch_work
from tests.conftest import FIXTURES, ROOT, case_answers
from tests.strategies import answers_for

PATHWAY = backpath.load_pathway("low-back-pain")
MINI = backpath.load_pathway(str(FIXTURES / "mini.yaml"))


def _bench_generator():
    """bench/batch.py's seeded record generator (the records the benchmark measures)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "bench" / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.random_answers


random_answers = _bench_generator()


def expected_line(pathway, record: dict, position: int) -> str:
    rid = record.get("id", position)
    result = backpath.assess(pathway, record["answers"], record_id=rid)
    if result["status"] != "ok":
        result["source"] = {"file": "t.jsonl", "line": position}
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


def run_chunk(pathway, records: list[dict], fmt: str = "jsonl") -> list[str]:
    """The chunk's output lines."""
    items = [(batch_io.LINE, "t.jsonl", i + 1, json.dumps(r).encode()) for i, r in enumerate(records)]
    data = b"".join(batch_work.assess_chunk(pathway, batch_io.Chunk(start=1, items=items), fmt).data).decode()
    return data.splitlines()


def broken(answers: dict, rng: random.Random) -> dict:
    """The same answers with one mistake or one ignored answer."""
    kind = rng.randrange(7)
    out = dict(answers)
    if kind == 0:
        out["agee"] = 40
    elif kind == 1:
        out["age"] = 500
    elif kind == 2:
        out["back_pain_nrs"] = True
    elif kind == 3:
        out["red_flags"] = "cauda_equina"
    elif kind == 4:
        out.pop("age", None)
    elif kind == 5:
        out["age"], out["pregnant"] = 70, True  # pregnant is asked only up to 55: ignored, with a warning
    else:
        out["duration_weeks"] = 10 ** 30
    return out


@pytest.mark.slow  # ~2 s: `.ci/run` runs it (`-m slow`), so that the default run stays under 90 s
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(answers_for(PATHWAY), min_size=20, max_size=60), st.randoms(use_true_random=False))
def test_a_chunk_matches_assess_record_by_record(answer_sets, rng):
    records = []
    for i, answers in enumerate(answer_sets):
        record = {"answers": broken(answers, rng) if rng.random() < 0.25 else answers}
        if i % 3:
            record["id"] = f"r{i}"
        records.append(record)
    lines = run_chunk(PATHWAY, records)
    assert len(lines) == len(records)
    for i, (line, record) in enumerate(zip(lines, records)):
        assert line == expected_line(PATHWAY, record, i + 1), i


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(answers_for(MINI), min_size=20, max_size=40))
def test_a_chunk_of_another_pathway_matches_assess(answer_sets):
    records = [{"id": i, "answers": a} for i, a in enumerate(answer_sets)]
    for i, line in enumerate(run_chunk(MINI, records)):
        assert line == expected_line(MINI, records[i], i + 1)


def test_every_clinical_case_in_one_chunk():
    records = [{"id": name, "answers": answers} for name, answers in case_answers()]
    lines = run_chunk(PATHWAY, records)
    for i, (line, record) in enumerate(zip(lines, records)):
        assert line == expected_line(PATHWAY, record, i + 1), record["id"]


def test_csv_rows_match_the_full_results():
    rng = random.Random(5)
    records = [{"id": i, "answers": random_answers(rng, PATHWAY)} for i in range(40)]
    records[3]["answers"] = broken(records[3]["answers"], rng)
    rows = run_chunk(PATHWAY, records, "csv")
    import csv

    from backpath.batch.work import csv_header
    for row, record in zip(csv.DictReader(rows, fieldnames=csv_header(PATHWAY)), records):
        result = backpath.assess(PATHWAY, record["answers"], record_id=record["id"])
        assert row["id"] == str(record["id"]) and row["status"] == result["status"]
        if result["status"] == "ok":
            assert row["tier"] == result["tier"]
            assert row["recommended"] == ";".join(i["id"] for i in result["recommendations"])
            assert row["not_recommended"] == ";".join(i["id"] for i in result["not_recommended"])


def test_benchmark_records_match_assess():
    rng = random.Random(7)
    records = [{"id": f"b{i}", "answers": random_answers(rng, PATHWAY)} for i in range(600)]
    lines = run_chunk(PATHWAY, records)
    for i, line in enumerate(lines):
        assert line == expected_line(PATHWAY, records[i], i + 1), i


@pytest.mark.parametrize("size", [1, 15, 16, 17])
def test_small_chunks(size):
    rng = random.Random(size)
    records = [{"answers": random_answers(rng, PATHWAY)} for _ in range(size)]
    for i, line in enumerate(run_chunk(PATHWAY, records)):
        assert line == expected_line(PATHWAY, records[i], i + 1)


@pytest.mark.parametrize("where", ["deciding", "writing"])
def test_an_engine_bug_costs_only_its_record(monkeypatch, where):
    """A record whose assessment raises (an engine bug), while it is decided or while its result is written
    (the chunk's two passes, `_assessed`), becomes an error record that asks for a report, counted with the
    errors; the others are unaffected."""
    if where == "deciding":
        real_decide = batch_work.decide_record

        def flaky_decide(pathway, answers, record_id=None):
            if record_id == "bad":
                raise KeyError("engine bug")
            return real_decide(pathway, answers, record_id)

        monkeypatch.setattr(batch_work, "decide_record", flaky_decide)
    else:
        real_writer = batch_work.json_writer

        def flaky_writer(pathway):
            write = real_writer(pathway)

            def flaky_write(record_id, decided):
                if record_id == "bad":
                    raise KeyError("engine bug")
                return write(record_id, decided)

            return flaky_write

        monkeypatch.setattr(batch_work, "json_writer", flaky_writer)
    rng = random.Random(9)
    records = [{"id": f"r{i}", "answers": random_answers(rng, PATHWAY)} for i in range(20)]
    records[4]["id"] = "bad"
    lines = run_chunk(PATHWAY, records)
    bad = json.loads(lines[4])
    assert bad["status"] == "error" and bad["id"] == "bad" and bad["source"] == {"file": "t.jsonl", "line": 5}
    assert "internal error while assessing this record (KeyError)" in bad["errors"][0]["message"]
    for i, line in enumerate(lines):
        if i != 4:
            assert line == expected_line(PATHWAY, records[i], i + 1)


def test_a_pathway_whose_rules_read_more_than_64_names(tmp_path):
    """The `because` memo key keeps which of a rule's inputs have a value below which `or` operands are true: with
    a rule of more than 64 inputs the two parts must not overlap (a record citing b69 must not get b64's
    `because`)."""
    from backpath.load.yamlio import load_yaml

    doc = load_yaml((FIXTURES / "mini.yaml").read_text(encoding="utf-8"), "mini.yaml").data
    doc["sections"].append({"id": "wide", "title": "Wide", "questions": [
        {"id": f"b{i:02d}", "prompt": f"B{i}", "type": "boolean", "required": False} for i in range(70)]})
    doc["rules"] += [{"id": f"wide-{i:02d}", "when": f"b{i:02d}", "consider": [("exercise", "advice")[i % 2]],
                      "reason": "Wide.", "sources": [{"id": "SRC", "section": "2"}]} for i in range(64)]
    doc["rules"].append({"id": "wide-or", "when": " or ".join(f"b{i:02d}" for i in range(70)),
                         "consider": ["exercise"], "reason": "One of the last six.",
                         "sources": [{"id": "SRC", "section": "2"}]})
    path = tmp_path / "wide.yaml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    wide = backpath.load_pathway(str(path))
    records = []
    for i in range(24):
        answers = {"age": 40, "weeks": 3, "leg": False, "flags": [], "mood": "good",
                   **{f"b{j:02d}": False for j in range(70)}}
        answers[f"b{64 + i % 6}"] = True
        records.append({"id": i, "answers": answers})
    for record in records[:6]:  # one by one (`assess`), before any chunk
        cited = [r["because"] for item in backpath.assess(wide, record["answers"])["recommendations"]
                 for r in item["reasons"] if r["rule"] == "wide-or"]
        assert cited == [{f"b{64 + record['id']}": True}]
    fresh = backpath.load_pathway(str(path))
    from backpath.core.engine import _plan

    writer = _plan(fresh).writer
    assert writer.presence_width[[r.id for r in fresh.rules].index("wide-or")] > 64
    lines = run_chunk(fresh, records)
    for i, line in enumerate(lines):
        assert line == expected_line(wide, records[i], i + 1)
    cited = [r["because"] for item in json.loads(lines[5])["recommendations"] for r in item["reasons"]
               if r["rule"] == "wide-or"]
    assert cited == [{"b69": True}]


def test_a_batch_process_collects_young_objects_less_often_and_gives_the_settings_back():
    import gc

    before = gc.get_threshold()
    batch_work.freeze_warm_objects()
    try:
        assert gc.get_threshold() == (batch_work._YOUNG_THRESHOLD, *before[1:])
        batch_work.freeze_warm_objects()  # a second call (a worker's later chunk) keeps the saved settings
    finally:
        batch_work.thaw_warm_objects()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_what_the_caller_froze_stays_frozen_after_a_run():
    """The backpath command freezes its imports as it starts; a batch run must not leave them to the interpreter's
    last collections (thawing them cost ~55 ms of CPU at exit)."""
    import gc

    before = gc.get_threshold()
    kept = [[] for _ in range(10)]  # containers made before the caller's freeze
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        batch_work.freeze_warm_objects()
        batch_work.thaw_warm_objects()
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
    del kept
