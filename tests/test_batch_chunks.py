"""A batch chunk gives, record by record, exactly what `assess` gives, whichever engine decided each record.

Valid records of a chunk are decided together over columns and written by `result_chunks.ChunkWriter`; the
others go through the scalar engine. These tests mix both kinds in one chunk and compare every output line with the
encoded result of `backpath.assess` for the same record.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backpath
from backpath import batch_io, batch_work

from .conftest import FIXTURES, ROOT
from .strategies import answers_for

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


def run_chunk(pathway, records: list[dict], fmt: str = "jsonl", one_by_one: list | None = None) -> list[str]:
    """The chunk's output lines; `one_by_one`, if given, collects the ids the scalar engine assessed."""
    items = [(batch_io.LINE, "t.jsonl", i + 1, json.dumps(r).encode()) for i, r in enumerate(records)]
    real = batch_work._assess_answers
    if one_by_one is not None:
        batch_work._assess_answers = lambda p, answers, rid, *rest: one_by_one.append(rid) or real(p, answers, rid,
                                                                                                   *rest)
    try:
        data = b"".join(batch_work.assess_chunk(pathway, batch_io.Chunk(start=1, items=items), fmt).data).decode()
    finally:
        batch_work._assess_answers = real
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


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(answers_for(PATHWAY), min_size=20, max_size=60), st.randoms(use_true_random=False))
def test_a_chunk_matches_assess_record_by_record(answer_sets, rng):
    records, bad = [], []
    for i, answers in enumerate(answer_sets):
        record = {"answers": broken(answers, rng) if rng.random() < 0.25 else answers}
        if i % 3:
            record["id"] = f"r{i}"
        if record["answers"] is not answers:
            bad.append(record.get("id", i + 1))
        records.append(record)
    one_by_one: list = []
    lines = run_chunk(PATHWAY, records, one_by_one=one_by_one)
    assert one_by_one == bad  # the valid records all took the column engine
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
    cases = yaml.safe_load(Path(PATHWAY.file).with_name("low-back-pain.cases.yaml").read_text(encoding="utf-8"))
    records = []
    for case in cases["cases"]:
        answers = {k: v for k, v in {**cases["base_answers"], **case.get("answers", {})}.items()
                   if k not in case.get("remove", [])}
        records.append({"id": case["name"], "answers": answers})
    lines = run_chunk(PATHWAY, records)
    for i, (line, record) in enumerate(zip(lines, records)):
        assert line == expected_line(PATHWAY, record, i + 1), record["id"]


def test_csv_rows_match_the_full_results():
    rng = random.Random(5)
    records = [{"id": i, "answers": random_answers(rng, PATHWAY)} for i in range(40)]
    records[3]["answers"] = broken(records[3]["answers"], rng)
    rows = run_chunk(PATHWAY, records, "csv")
    import csv
    for row, record in zip(csv.reader(rows), records):
        result = backpath.assess(PATHWAY, record["answers"], record_id=record["id"])
        assert row[0] == str(record["id"]) and row[1] == result["status"]
        if result["status"] == "ok":
            assert row[2] == result["tier"]
            assert row[-4] == ";".join(i["id"] for i in result["recommendations"])
            assert row[-3] == ";".join(i["id"] for i in result["not_recommended"])


def test_a_column_engine_failure_costs_nothing(monkeypatch):
    """If the column engine raised on a chunk, every record still gets its result from the scalar engine."""
    engine = batch_work._columns(PATHWAY)
    assert engine is not None

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(engine, "run", boom)
    rng = random.Random(6)
    records = [{"id": i, "answers": random_answers(rng, PATHWAY)} for i in range(20)]
    for i, line in enumerate(run_chunk(PATHWAY, records)):
        assert line == expected_line(PATHWAY, records[i], i + 1)


def test_benchmark_records_match_assess(monkeypatch):
    rng = random.Random(7)
    records = [{"id": f"b{i}", "answers": random_answers(rng, PATHWAY)} for i in range(600)]
    scalar = []
    real = batch_work._assess_answers
    monkeypatch.setattr(batch_work, "_assess_answers", lambda *a: scalar.append(1) or real(*a))
    lines = run_chunk(PATHWAY, records)
    assert not scalar  # valid records all took the column engine
    for i, line in enumerate(lines):
        assert line == expected_line(PATHWAY, records[i], i + 1), i


@pytest.mark.parametrize("size", [1, 15, 16, 17])
def test_small_chunks(size):
    rng = random.Random(size)
    records = [{"answers": random_answers(rng, PATHWAY)} for _ in range(size)]
    for i, line in enumerate(run_chunk(PATHWAY, records)):
        assert line == expected_line(PATHWAY, records[i], i + 1)


def test_a_pathway_the_column_engine_cannot_take_is_assessed_record_by_record(monkeypatch):
    from backpath import columns

    def unsupported(pathway):
        raise columns.ColumnsUnsupported("test")

    monkeypatch.setattr(batch_work, "ColumnEngine", unsupported)
    monkeypatch.setattr(batch_work, "_column_engines", type(batch_work._column_engines)())
    rng = random.Random(8)
    records = [{"id": i, "answers": random_answers(rng, PATHWAY)} for i in range(30)]
    assert batch_work._columns(PATHWAY) is None
    for i, line in enumerate(run_chunk(PATHWAY, records)):
        assert line == expected_line(PATHWAY, records[i], i + 1)


def test_an_engine_bug_costs_only_its_record(monkeypatch):
    """If writing a chunk failed, its records are assessed one by one; one that fails there too becomes an error
    record that asks for a report, and the others are unaffected."""
    from backpath.result_chunks import ChunkWriter

    def broken_writer(*args, **kwargs):
        raise RuntimeError("writer bug")

    real = batch_work.assess_json

    def flaky(pathway, answers, *, record_id=None):
        if record_id == "bad":
            raise KeyError("engine bug")
        return real(pathway, answers, record_id=record_id)

    monkeypatch.setattr(ChunkWriter, "write_many", broken_writer)
    monkeypatch.setattr(batch_work, "assess_json", flaky)
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


def test_past_the_state_memo_limit_a_chunk_is_written_record_by_record(monkeypatch):
    """`write_many` numbers item states for its arrays; once the pathway-wide memo is full it writes each record
    with `write` instead (memory stays flat), and the bytes are the same."""
    from backpath import result_chunks
    from backpath.engine import _plan

    writer = _plan(PATHWAY).writer
    rng = random.Random(9)
    records = [{"id": i, "answers": random_answers(rng, PATHWAY)} for i in range(40)]
    monkeypatch.setattr(result_chunks, "_STATE_LIMIT", len(_plan(PATHWAY).chunk_writer.state_ids))
    per_record = []
    monkeypatch.setattr(writer, "write", lambda *a: per_record.append(a[0]) or type(writer).write(writer, *a))
    for i, line in enumerate(run_chunk(PATHWAY, records)):
        assert line == expected_line(PATHWAY, records[i], i + 1)
    assert per_record == list(range(40))


def test_a_pathway_whose_rules_read_more_than_64_names(tmp_path):
    """The `because` memo key keeps which names have a value below which `or` operands are true: with more
    names than 64 bits the two parts must not overlap (a record citing b69 must not get b64's `because`)."""
    from backpath.yamlio import load_yaml

    doc = load_yaml((FIXTURES / "mini.yaml").read_text(encoding="utf-8"), "mini.yaml").data
    doc["sections"].append({"id": "wide", "title": "Wide", "questions": [
        {"id": f"b{i:02d}", "prompt": f"B{i}", "type": "boolean", "required": False} for i in range(70)]})
    doc["rules"] += [{"id": f"wide-{i:02d}", "when": f"b{i:02d}", "consider": [("exercise", "advice")[i % 2]],
                      "reason": "Wide.", "sources": [{"id": "SRC", "section": "2"}]} for i in range(64)]
    doc["rules"].append({"id": "wide-or", "when": " or ".join(f"b{i}" for i in range(64, 70)),
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
    from backpath.engine import _plan

    plan = _plan(fresh)
    assert plan.chunk_writer.packable and len(plan.writer.names) > 64  # the chunk path, no presence bits
    lines = run_chunk(fresh, records)
    for i, line in enumerate(lines):
        assert line == expected_line(wide, records[i], i + 1)
    cited = [r["because"] for item in json.loads(lines[5])["recommendations"] for r in item["reasons"]
               if r["rule"] == "wide-or"]
    assert cited == [{"b69": True}]


@pytest.mark.parametrize("pathway", [PATHWAY, MINI], ids=["default", "mini"])
def test_summaries_of_a_chunk_are_those_of_each_record(pathway):
    """`--format csv` takes `summary_many` (item lists found with array operations for the chunk); each summary
    is the one `summary` makes for the record alone: ids, scores, red flags, and the item lists in order
    (requested items first among those not recommended)."""
    from backpath.columns import ColumnEngine
    from backpath.engine import _plan

    rng = random.Random(11)
    answers = [random_answers(rng, pathway) for _ in range(300)]
    requests = pathway.request_question
    items = list(pathway.catalogue)
    for k in range(0, 300, 3):  # requests, some for items a rule advises against
        answers[k][requests] = rng.sample(items, 2)
    run = ColumnEngine(pathway).run(answers, ())
    clean = [k for k, ok in enumerate(run.clean) if ok]
    assert len(clean) > 150
    writer, chunks = _plan(pathway).writer, _plan(pathway).chunk_writer
    ids = [f"r{k}" for k in clean]
    envs, tiers = [run.envs[k] for k in clean], [run.tiers[k] for k in clean]
    rules = [run.contributing[k] for k in clean]
    many = chunks.summary_many(ids, envs, tiers, rules, run.matrix[clean])
    assert many == [writer.summary(*args) for args in zip(ids, envs, tiers, rules)]
    assert any(s["not_recommended"] for s in many) and any(s["recommended"] for s in many)
    assert chunks.summary_many(ids, envs, tiers, rules) == many  # without the column engine's matrix
    values = batch_work._column_rows(run.values, clean, len(run.clean))
    assert chunks.summary_many(ids, envs, tiers, rules, None, values) == many  # values read off the columns


@pytest.mark.parametrize("pathway", [PATHWAY, MINI], ids=["default", "mini"])
def test_results_of_a_chunk_are_the_same_from_the_columns_or_from_the_envs(pathway):
    """`write_many` reads names' values off the column engine's columns (`ColumnRun.values`, only the clean
    records' rows when some are not clean) or, without them, from each record's env: the same texts, and
    with the columns the envs are hardly made (`columns.Envs` makes one when it is read)."""
    from backpath.columns import ColumnEngine
    from backpath.engine import _plan

    rng = random.Random(12)
    answers = [random_answers(rng, pathway) for _ in range(300)]
    for k in range(0, 300, 7):
        answers[k] = {**answers[k], "no_such_question": 1}  # not clean: the columns' rows are taken
    writer = _plan(pathway).chunk_writer
    names = batch_work._presence_names(pathway)

    def write(use_values: bool) -> tuple[list[str], int]:
        run = ColumnEngine(pathway).run(answers, names)
        clean = [k for k, ok in enumerate(run.clean) if ok]
        assert 150 < len(clean) < 300
        envs = batch_work._Rows(run.envs, clean)
        values = batch_work._column_rows(run.values, clean, len(run.clean)) if use_values else None
        texts = writer.write_many([f"r{k}" for k in clean], envs, [run.tiers[k] for k in clean],
                                  [run.contributing[k] for k in clean], [run.presence[k] for k in clean],
                                  run.matrix[clean], lambda text: batch_work._rows(run.truths(text), clean), values)
        return texts, len(run.envs.made)

    from_columns, _ = write(True)
    from_envs, _ = write(False)
    assert from_columns == from_envs
    again, made = write(True)  # the writer's memos warm: an env is read for little more than a request's reason
    assert again == from_columns and made < 30


def test_column_texts_are_memoised_by_value():
    """A name's value texts are memoised by value (equal values share one text, lists by their items), so each
    value's text is made once."""
    from backpath.result_chunks import _column_texts

    memos: dict = {}
    made = []

    def make(name, value):
        made.append(value)
        return f"{name}={json.dumps(value)}"

    assert _column_texts(memos, "x", set(), [1, 2, 1], make) == ["x=1", "x=2", "x=1"]
    assert _column_texts(memos, "x", set(), (2.0, None), make) == ["x=2", "x=null"]  # equal values: one text
    assert _column_texts(memos, "b", set(), [True, None, False, True], make) == ["b=true", "b=null", "b=false",
                                                                                "b=true"]
    assert _column_texts(memos, "l", {"l"}, [["a"], None, ["a"]], make) == ['l=["a"]', "l=null", 'l=["a"]']
    assert made == [1, 2, 1, None, True, None, False, True, ["a"], None, ["a"]]  # the first column's misses
    assert _column_texts(memos, "l", {"l"}, [["a"]], make) == ['l=["a"]'] and len(made) == 11


def test_column_rows_take_the_clean_records_rows():
    """`_column_rows` gives the writer the clean records' rows of each column: all of them as they are, one, or
    several; None for a name the columns do not have (the writer then reads the envs)."""
    values = {"a": (10, 11, 12), "b": (None, True, False)}
    every = batch_work._column_rows(values, [0, 1, 2], 3)
    assert every("a") == (10, 11, 12) and every("zz") is None
    assert batch_work._column_rows(values, [1], 3)("b") == [True]
    some = batch_work._column_rows(values, [0, 2], 3)
    assert some("a") == [10, 12] and some("b") == [None, False] and some("zz") is None
    assert batch_work._column_rows(values, [], 3)("a") == []


def test_envs_are_made_when_read():
    """`columns.Envs` makes a record's env when it is first read, the same object every time after; negative
    indexes and slices read as a list's would, and a record that is not clean has None."""
    from backpath.columns import ColumnEngine

    rng = random.Random(13)
    answers = [random_answers(rng, PATHWAY) for _ in range(20)]
    answers[3] = {**answers[3], "no_such_question": 1}
    run = ColumnEngine(PATHWAY).run(answers)
    envs = run.envs
    assert len(envs) == 20 and envs.made == {}
    first = envs[0]
    assert envs[0] is first and envs[-20] is first and envs.made.keys() == {0}
    assert envs[3] is None
    assert envs[18:] == [envs[18], envs[19]]
    assert list(envs) == [envs[k] for k in range(20)]
    with pytest.raises(IndexError):
        envs[20]


def test_past_the_state_memo_limit_csv_rows_are_made_record_by_record(monkeypatch):
    """As for full results: once the item-state memo is full, `summary_many` gives each record's `summary`."""
    from backpath import result_chunks
    from backpath.engine import _plan

    writer = _plan(PATHWAY).writer
    rng = random.Random(9)
    records = [{"id": i, "answers": random_answers(rng, PATHWAY)} for i in range(40)]
    before = run_chunk(PATHWAY, records, "csv")
    monkeypatch.setattr(result_chunks, "_STATE_LIMIT", len(_plan(PATHWAY).chunk_writer.state_ids))
    per_record = []
    monkeypatch.setattr(writer, "summary", lambda *a: per_record.append(a[0]) or type(writer).summary(writer, *a))
    assert run_chunk(PATHWAY, records, "csv") == before
    assert per_record == list(range(40))


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
