"""Every serialiser on the golden answers of the features pathway (`test_golden_semantics.GOLDEN`) and on every
case of the bundled cases files: `backpath.assess` (a dict), `backpath.assess_lines` (JSON text),
`backpath batch --format jsonl|json|csv` and `backpath assess --format json|text|markdown` must agree.

The reference is `assess`'s dict, encoded compactly; `test_golden_semantics` pins that dict by hand, so these
tests carry the hand-written semantics to every other output. The text and Markdown renderings are checked for
the key facts in the form people read them (reason texts, `because` values as shown, scores, tier, warnings).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import backpath
from backpath.cli.main import app
from backpath.load.yamlio import load_yaml
from tests.conftest import FIXTURES, ROOT
from tests.core.test_golden_semantics import ERRORS, FEATURES, GOLDEN, Golden, golden_params, reasons_by_rule

# Wide enough that no line of the text rendering wraps (the longest reason holds a 301-digit number).
RUNNER_ENV = {"NO_COLOR": "1", "COLUMNS": "2000", "TERM": "dumb"}
RECORDS = [(g.name, g.answers) for g in GOLDEN] + [(name, answers) for name, answers, _ in ERRORS]


def compact(result: dict) -> str:
    """The JSON text `batch --format jsonl` writes for a result (contract §5)."""
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture(scope="module")
def features():
    return backpath.load_pathway(FEATURES)


@pytest.fixture(scope="module")
def runner():
    return CliRunner(env=RUNNER_ENV)


@pytest.fixture(scope="module")
def records_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("golden") / "records.jsonl"
    path.write_text("".join(json.dumps({"id": rid, "answers": answers}) + "\n" for rid, answers in RECORDS),
                    encoding="utf-8")
    return path


def expected_lines(pathway, records, file: str) -> list[str]:
    """What batch writes for each record of a .jsonl file: `assess`'s dict, plus the source of an error."""
    out = []
    for line, (rid, answers) in enumerate(records, 1):
        result = backpath.assess(pathway, answers, record_id=rid)
        if result["status"] != "ok":
            result["source"] = {"file": file, "line": line}
        out.append(compact(result))
    return out


def run_batch(runner, path: Path, pathway: str | Path, fmt: str) -> tuple[int, bytes]:
    result = runner.invoke(app, ["batch", str(path), "--pathway", str(pathway), "--format", fmt, "--quiet"])
    return result.exit_code, result.stdout_bytes


# --- batch and assess_lines against assess ------------------------------------------------------------------

def test_batch_jsonl_is_assess_byte_for_byte(features, runner, records_file):
    code, out = run_batch(runner, records_file, FEATURES, "jsonl")
    assert code == 1  # the ERRORS records are invalid; every other record is still written
    expected = expected_lines(features, RECORDS, str(records_file))
    assert out.decode("utf-8").split("\n") == expected + [""]


def test_batch_json_is_assess_byte_for_byte(features, runner, records_file):
    code, out = run_batch(runner, records_file, FEATURES, "json")
    assert code == 1
    expected = expected_lines(features, RECORDS, str(records_file))
    assert out.decode("utf-8") == "[\n" + ",\n".join(expected) + "\n]\n"


def test_assess_lines_is_assess_byte_for_byte(features, records_file):
    lines = records_file.read_bytes().splitlines(keepends=True)
    assert list(backpath.assess_lines(features, lines, source="records.jsonl")) == \
        expected_lines(features, RECORDS, "records.jsonl")
    # Text lines, without their newlines, give the same.
    texts = [line.decode("utf-8").rstrip("\n") for line in lines]
    assert list(backpath.assess_lines(features, texts, source="records.jsonl")) == \
        expected_lines(features, RECORDS, "records.jsonl")


def _cell(value) -> str:
    """A score as a CSV cell, by hand: blank when missing; numbers and texts as JSON shows them."""
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def test_batch_csv_agrees(features, runner, records_file):
    code, out = run_batch(runner, records_file, FEATURES, "csv")
    assert code == 1
    rows = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    assert rows[0] == ["id", "status", "tier", "total", "xz", "level", "red_flags", "recommended", "not_recommended",
                       "errors", "source", "pathway_id", "pathway_version", "review_in_weeks", "offered",
                       "considered", "requested", "rules_fired", "care_team"]  # the audit columns (test_batch_audit)
    assert len(rows) == 1 + len(RECORDS)
    by_id = {row[0]: row for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == [rid for rid, _ in RECORDS]
    for g in GOLDEN:  # the hand-written golden values, as cells
        assert by_id[g.name][:11] == [g.name, "ok", g.tier, *[_cell(g.scores[s]) for s in ("total", "xz", "level")], "",
                                 ";".join(g.recommended), ";".join(g.not_recommended), "", ""], g.name
    for line, (name, _, errors) in enumerate(ERRORS, len(GOLDEN) + 1):
        message = " | ".join(f"{e['path']}: {e['message']}" for e in errors)
        assert by_id[name][:11] == [name, "error", "", "", "", "", "", "", "", message, f"{records_file}:{line}"]
        assert by_id[name][11:] == [features.id, features.version, "", "", "", "", "", ""]
    # ... and as `assess` gives them.
    for rid, answers in RECORDS:
        result = backpath.assess(features, answers, record_id=rid)
        if result["status"] == "ok":
            assert by_id[rid][2:6] == [result["tier"], *[_cell(v) for v in result["scores"].values()]]
            assert by_id[rid][7:9] == [";".join(e["id"] for e in result[k])
                                       for k in ("recommendations", "not_recommended")]


# --- backpath assess through the CLI ------------------------------------------------------------------------

def _assess_cli(runner, tmp_path: Path, rid: str, answers: dict, fmt: str):
    path = tmp_path / f"{rid}.json"
    path.write_text(json.dumps({"id": rid, "answers": answers}), encoding="utf-8")
    detail = ["--detail", "full"] if fmt == "text" else []  # the complete trace, with every reason and because
    return runner.invoke(app, ["assess", "--pathway", str(FEATURES), "--answers", str(path), "--format", fmt,
                               *detail])


@pytest.mark.parametrize(("rid", "answers"), RECORDS, ids=[rid for rid, _ in RECORDS])
def test_assess_cli_json(features, runner, tmp_path, rid, answers):
    result = _assess_cli(runner, tmp_path, rid, answers, "json")
    expected = backpath.assess(features, answers, record_id=rid)
    assert result.exit_code == (0 if expected["status"] == "ok" else 1)
    assert result.stdout == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"


def shown(value) -> str:
    """A `because` value as the text and Markdown renderings show it, by hand."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]" if value else "none"
    return str(value)


def because_text(because: dict) -> str:
    return ", ".join(f"{k}={shown(v)}" for k, v in because.items())


def scores_line(golden: Golden) -> str:
    return ", ".join(f"{k} {'not scored' if v is None else v}" for k, v in golden.scores.items())


@pytest.mark.parametrize("golden", golden_params())
def test_assess_cli_text(runner, tmp_path, golden):
    result = _assess_cli(runner, tmp_path, golden.name, golden.answers, "text")
    assert result.exit_code == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    title = {"routine": "ROUTINE", "attention": "ATTENTION"}[golden.tier]
    assert f"│ {title}  (tier: {golden.tier})" in [line.rstrip("│ ") for line in lines]
    assert f"│ Scores: {scores_line(golden)}" in [line.rstrip("│ ") for line in lines]
    assert f"- {golden.trace}" in lines
    assert "rule trace" in lines
    for rule, (text, because) in golden.reasons.items():
        assert f"- {text}" in lines, rule
        assert f"rule {rule}; because {because_text(because)}" in lines, rule
    for warning in golden.warnings:
        assert f"! {warning['message']}  ({warning['path']})" in lines
    for item in golden.not_recommended:
        assert f"x DO NOT OFFER  {item.removeprefix('it_').capitalize()}" in lines


@pytest.mark.parametrize("golden", golden_params())
def test_assess_cli_markdown(runner, tmp_path, golden):
    result = _assess_cli(runner, tmp_path, golden.name, golden.answers, "markdown")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"- **Tier:** {golden.tier}" in lines
    assert f"- **Scores:** {scores_line(golden)}" in lines
    assert f"   - {golden.trace} _(rule `trace`)_" in lines
    for rule, (text, because) in golden.reasons.items():
        line = f"   - {text} _(rule `{rule}`; because {because_text(because)})_"
        assert line in lines or "  " + line in lines, rule  # advised-against items are indented once more
    for warning in golden.warnings:
        assert f"- {warning['message']}" in lines


@pytest.mark.parametrize(("name", "answers", "errors"), ERRORS, ids=[e[0] for e in ERRORS])
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_assess_cli_invalid_answers(runner, tmp_path, fmt, name, answers, errors):
    result = _assess_cli(runner, tmp_path, name, answers, fmt)
    assert result.exit_code == 1
    assert result.stdout == ""
    for e in errors:
        assert f"  {e['path']}: {e['message']}" in result.stderr.splitlines()


# --- the bundled cases files: assess, assess_lines and batch give the same bytes ------------------------------

def _cases_records(cases_file: Path) -> tuple[list[tuple[str, dict]], list[str]]:
    """Each case's (name, answers) as `backpath validate` builds them, and its expected status."""
    data = load_yaml(cases_file.read_text(encoding="utf-8"), str(cases_file)).data
    base = data.get("base_answers", {})
    records, statuses = [], []
    for case in data["cases"]:
        answers = {**base, **case.get("answers", {})}
        for key in case.get("remove", []):
            answers.pop(key, None)
        records.append((case["name"], answers))
        statuses.append(case["expect"].get("status", "ok"))
    return records, statuses


@pytest.mark.parametrize(("pathway_file", "cases_file"), [
    (FIXTURES / "mini.yaml", FIXTURES / "mini.cases.yaml"),
    (ROOT / "pathways" / "low-back-pain.yaml", ROOT / "pathways" / "low-back-pain.cases.yaml"),
], ids=["mini", "low-back-pain"])
def test_cases_files_agree_across_serialisers(runner, tmp_path, pathway_file, cases_file):
    pathway = backpath.load_pathway(pathway_file)
    records, statuses = _cases_records(cases_file)
    assert len(records) >= 8 and "ok" in statuses and "error" in statuses
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps({"id": rid, "answers": a}, ensure_ascii=False) + "\n" for rid, a in records),
                    encoding="utf-8")
    expected = expected_lines(pathway, records, str(path))
    assert [json.loads(line)["status"] for line in expected] == statuses
    lines = path.read_bytes().splitlines(keepends=True)
    assert list(backpath.assess_lines(pathway, lines, source=str(path))) == expected
    code, out = run_batch(runner, path, pathway_file, "jsonl")
    assert code == 1  # some cases are invalid answers on purpose
    assert out.decode("utf-8").split("\n") == expected + [""]


def test_golden_cases_cover_every_rule(features):
    """Every rule of the features pathway fires in some golden case and is left unfired (unknown or false) in
    another, so each is pinned both ways."""
    fired = {rule for g in GOLDEN for rule in g.fired}
    assert fired == {r.id for r in features.rules}
    for rule in features.rules:
        if rule.id != "trace":
            assert any(rule.id not in g.fired for g in GOLDEN), rule.id
    for g in GOLDEN:  # reasons_by_rule is the helper the semantics tests rely on: every reason is found
        assert set(reasons_by_rule(backpath.assess(features, g.answers))) == set(g.fired)


def test_equal_numbers_of_other_types_in_any_order(features):
    """The batch writer memoises texts by value, and 0 == 0.0 == -0.0, 10 == 10.0 as dict keys: whatever order
    such answers come in, each record's text is still `assess`'s (each run starts with fresh memos)."""
    values = itertools.product((0, 0.0, -0.0, 10, 10.0, 2.5), (0, -0.0, 4, 4.0), (["red", "blue"], ["blue", "red"]))
    records = [(f"r{i}", {"x": x, "z": z, "tags": tags}) for i, (x, z, tags) in enumerate(values)]
    for order in (records, records[::-1], records[1::2] + records[::2]):
        fresh = backpath.load_pathway(FEATURES)
        lines = [json.dumps({"id": rid, "answers": answers}) for rid, answers in order]
        assert list(backpath.assess_lines(fresh, lines)) == [compact(backpath.assess(features, a, record_id=rid))
                                                             for rid, a in order]
