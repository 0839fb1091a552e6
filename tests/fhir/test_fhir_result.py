"""Results as FHIR (a Bundle: GuidanceResponse + RequestGroup + Parameters) and as CDS Hooks cards."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from backpath.cli.main import app
from backpath.core import engine
from backpath.fhir.result import DO_NOT_PERFORM, to_bundle, to_cards
from tests.conftest import case_answers
from tests.fhir_checks import r4b_model, schema_errors

CASES = case_answers()


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


def resources(bundle: dict) -> dict[str, dict]:
    return {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}


@pytest.mark.parametrize("name,answers", CASES[::4], ids=[n for n, _ in CASES[::4]])
def test_bundle_valid_r4_for_cases(default_pathway, name, answers):
    result = engine.assess(default_pathway, answers, record_id=name)
    bundle = to_bundle(default_pathway, result)
    assert schema_errors(bundle) == []
    r4b_model(bundle)


def test_every_case_maps_every_item(default_pathway):
    for name, answers in CASES:
        result = engine.assess(default_pathway, answers, record_id=name)
        found = resources(to_bundle(default_pathway, result))
        guidance = found["GuidanceResponse"]
        if result["status"] != "ok":
            assert guidance["status"] == "failure"
            issues = found["OperationOutcome"]["issue"]
            assert [i["diagnostics"] for i in issues if i["severity"] == "error"] == \
                [e["message"] for e in result["errors"]]
            continue
        assert guidance["status"] == "success" and guidance["requestIdentifier"]["value"] == name
        assert guidance["result"]["reference"] == f"urn:uuid:{found['RequestGroup']['id']}"
        groups = {g["title"]: g["action"] for g in found["RequestGroup"].get("action", [])}
        recommended = groups.get("Recommended", [])
        ruled_out = groups.get("Not recommended for this patient", [])
        assert [a["code"][0]["coding"][0]["code"] for a in recommended] == [r["id"] for r in result["recommendations"]]
        assert [a["prefix"] for a in recommended] == [r["strength"].capitalize() for r in result["recommendations"]]
        assert [a["code"][0]["coding"][0]["code"] for a in ruled_out] == [r["id"] for r in result["not_recommended"]]
        for action, rec in zip(recommended + ruled_out, result["recommendations"] + result["not_recommended"]):
            reasons = [d["display"] for d in action["documentation"] if d["type"] == "justification"]
            assert reasons == [r["text"] for r in rec["reasons"]]
            cited = [d["label"] for d in action["documentation"] if d["type"] == "citation"]
            assert len(cited) == len(rec["sources"])
        assert all(a["extension"] == [{"url": DO_NOT_PERFORM, "valueBoolean": True}] for a in ruled_out)
        params = {p["name"]: p for p in found["Parameters"]["parameter"]}
        assert params["tier"]["valueCoding"]["code"] == result["tier"]


def test_emergency_is_stat_and_startback_risk_is_loinc(default_pathway):
    answers = dict(CASES[0][1])
    result = engine.assess(default_pathway, answers)
    assert result["tier"] == "emergency"
    found = resources(to_bundle(default_pathway, result))
    assert found["RequestGroup"]["priority"] == "stat"
    params = {p["name"]: p for p in found["Parameters"]["parameter"]}
    assert params["startback_risk"]["valueCoding"] == {"system": "http://loinc.org", "code": "LA9194-7",
                                                      "display": "Low"}
    assert params["startback_total"]["part"][0]["valueCoding"]["code"] == "91351-7"


def test_deterministic_and_distinct(default_pathway):
    a = engine.assess(default_pathway, CASES[0][1], record_id="x")
    b = engine.assess(default_pathway, CASES[1][1], record_id="x")
    assert json.dumps(to_bundle(default_pathway, a)) == json.dumps(to_bundle(default_pathway, a))
    assert to_bundle(default_pathway, a)["id"] != to_bundle(default_pathway, b)["id"]


def test_cds_hooks_cards(default_pathway):
    seen = set()
    for name, answers in CASES:
        result = engine.assess(default_pathway, answers, record_id=name)
        (card,) = to_cards(default_pathway, result)["cards"]
        assert len(card["summary"]) < 140
        assert card["source"]["label"].startswith(f"backpath {default_pathway.id} {default_pathway.version}")
        if result["status"] == "ok":
            want = {"emergency": "critical", "urgent": "critical", "surgical_consult": "warning",
                    "interventional": "warning"}.get(result["tier"], "info")
            assert card["indicator"] == want
            for rec in result["recommendations"]:
                assert rec["title"].replace("(", "").split()[0] in card["detail"]
        else:
            assert card["indicator"] == "warning" and "not valid" in card["summary"]
        seen.add(card["indicator"])
    assert seen == {"critical", "warning", "info"}


def test_cds_markdown_escapes_text(default_pathway):
    result = engine.assess(default_pathway, CASES[0][1])
    result["recommendations"][0]["title"] = "a *bold* [link](x)"
    (card,) = to_cards(default_pathway, result)["cards"]
    assert "a \\*bold\\* \\[link\\](x)" in card["detail"]


def test_assess_and_batch_formats(runner, tmp_path, default_pathway, chronic_sciatica_answers):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"id": "p1", "answers": chronic_sciatica_answers}))
    result = engine.assess(default_pathway, chronic_sciatica_answers, record_id="p1")
    out = runner.invoke(app, ["assess", "--answers", str(path), "--format", "fhir"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == to_bundle(default_pathway, result)
    out = runner.invoke(app, ["assess", "--answers", str(path), "--format", "cds-hooks"])
    assert json.loads(out.stdout) == to_cards(default_pathway, result)
    records = tmp_path / "r.jsonl"
    records.write_text("".join(json.dumps({"id": n, "answers": a}) + "\n" for n, a in CASES[:40]))
    assert all(engine.assess(default_pathway, a)["status"] == "ok" for _, a in CASES[:40])
    for jobs in ("1", "2"):
        target = tmp_path / f"out{jobs}.ndjson"
        out = runner.invoke(app, ["batch", str(records), "--format", "fhir", "--quiet", "--jobs", jobs,
                                  "--output", str(target)])
        assert out.exit_code == 0, out.output
        lines = target.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 40
        for line, (name, answers) in zip(lines, CASES[:40]):
            assert json.loads(line) == to_bundle(default_pathway, engine.assess(default_pathway, answers,
                                                                                 record_id=name))


def test_assess_invalid_answers_fhir_is_a_failure_bundle(runner, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"age": 200}))
    out = runner.invoke(app, ["assess", "--answers", str(path), "--format", "fhir"])
    assert out.exit_code == 1
    found = resources(json.loads(out.stdout))
    assert found["GuidanceResponse"]["status"] == "failure"
    assert any("answers.age" in i["expression"] for i in found["OperationOutcome"]["issue"])
