"""FHIR QuestionnaireResponses in: answers -> response -> answers is the identity for every case (and the result is
byte-identical); Bundles and NDJSON of responses in batch; every bad response is an error record naming why."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from backpath.cli.main import app
from backpath.core import engine
from backpath.fhir.codes import option_system
from backpath.fhir.response import ResponseProblem, read_response, responses_in, to_response

from .fhir_checks import r4b_model, schema_errors
from .strategies import answers_for
from .test_fhir_questionnaire import case_answers


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


def dumps(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


def through_json(value):
    return json.loads(json.dumps(value))


# --- the round trip -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,answers", case_answers(), ids=[n for n, _ in case_answers()])
def test_round_trip_every_case(default_pathway, name, answers):
    pw = default_pathway
    if set(answers) - set(pw.questions):
        # An answer to no question (the case `error-unknown-question`) has no item to go in: a response cannot
        # hold it, so the case is checked by its own test below instead.
        assert name == "error-unknown-question"
        return
    response = through_json(to_response(pw, answers, name))
    wrong_types = [p for p in engine.check(pw, answers).problems if not p.message.startswith("required answer")]
    if not wrong_types:  # a value of the wrong type ("52" for age) goes in as it is, which FHIR does not allow
        assert schema_errors(response) == []
    record_id, back = read_response(pw, response)
    assert (record_id, back) == (name, answers)
    assert dumps(engine.assess(pw, back, record_id=record_id)) == dumps(engine.assess(pw, answers, record_id=name))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_round_trip_generated_answers(default_pathway, data):
    answers = data.draw(answers_for(default_pathway))
    response = through_json(to_response(default_pathway, answers, "r"))
    assert read_response(default_pathway, response) == ("r", answers)


def test_response_parses_as_r4b_model(default_pathway, chronic_sciatica_answers):
    model = r4b_model(to_response(default_pathway, chronic_sciatica_answers, "p1"))
    assert model.questionnaire.endswith("|" + default_pathway.version)


def test_empty_multi_choice_is_the_none_option(default_pathway, chronic_sciatica_answers):
    response = to_response(default_pathway, {**chronic_sciatica_answers, "red_flags": []})
    item = next(i for g in response["item"] for i in g["item"] if i["linkId"] == "red_flags")
    assert item["answer"] == [{"valueCoding": {"system": option_system(default_pathway,
                                                                        default_pathway.questions["red_flags"]),
                                               "code": "none", "display": "None of these"}}]


# --- what a response may not do -------------------------------------------------------------------

def response_for(pathway, answers, **changes):
    response = through_json(to_response(pathway, answers, "r1"))
    response.update(changes)
    return response


def item_of(response, link):
    return next(i for g in response["item"] for i in g["item"] if i["linkId"] == link)


def test_missing_required_item_stays_missing(default_pathway, chronic_sciatica_answers):
    response = response_for(default_pathway, chronic_sciatica_answers)
    for group in response["item"]:
        group["item"] = [i for i in group["item"] if i["linkId"] != "red_flags"]
    record_id, answers = read_response(default_pathway, response)
    assert "red_flags" not in answers
    result = engine.assess(default_pathway, answers, record_id=record_id)
    assert result["status"] == "error"
    assert [e["path"] for e in result["errors"]] == ["answers.red_flags"]
    assert "required answer is missing" in result["errors"][0]["message"]


def test_an_item_without_answers_is_missing_not_none(default_pathway, chronic_sciatica_answers):
    response = response_for(default_pathway, chronic_sciatica_answers)
    item_of(response, "conditions")["answer"] = []
    _, answers = read_response(default_pathway, response)
    assert "conditions" not in answers


def test_an_answer_to_a_disabled_item_is_reported_not_trusted(default_pathway, chronic_sciatica_answers):
    answers = {**chronic_sciatica_answers, "age": 70}  # pregnant is asked only up to 55
    answers.pop("inflammatory_features", None)
    response = response_for(default_pathway, {**answers, "pregnant": True})
    _, read = read_response(default_pathway, response)
    result = engine.assess(default_pathway, read)
    assert result["status"] == "ok"
    assert any(w["path"] == "answers.pregnant" and w["message"].startswith("ignored") for w in result["warnings"])
    assert dumps({k: v for k, v in result.items() if k != "warnings"}) == \
        dumps({k: v for k, v in engine.assess(default_pathway, answers).items() if k != "warnings"})


def problems(pathway, response) -> list[dict]:
    with pytest.raises(ResponseProblem) as caught:
        read_response(pathway, response)
    return caught.value.errors


def test_another_pathway_version_is_refused(default_pathway, chronic_sciatica_answers):
    response = response_for(default_pathway, chronic_sciatica_answers,
                            questionnaire="urn:backpath:pathway:low-back-pain|0.9.0")
    (error,) = problems(default_pathway, response)
    assert error["path"] == "questionnaire"
    assert "version '0.9.0'" in error["message"] and default_pathway.version in error["message"]


def test_another_questionnaire_is_refused(default_pathway, chronic_sciatica_answers):
    response = response_for(default_pathway, chronic_sciatica_answers,
                            questionnaire="http://loinc.org/q/91349-1")
    (error,) = problems(default_pathway, response)
    assert "not this pathway's questionnaire" in error["message"]


@pytest.mark.parametrize("link,answer,words", [
    ("age", [{"valueString": "52"}], "valueInteger, not valueString"),
    ("age", [{"valueInteger": 52}, {"valueInteger": 53}], "2 answers to a question that takes one"),
    ("red_flags", [{"valueCoding": {"code": "none"}}, {"valueCoding": {"code": "major_trauma"}}],
     "together with other options"),
    ("imaging_findings", [{"valueCoding": {"system": "http://snomed.info/sct", "code": "x"}}], "is not this question"),
    ("imaging_findings", [{"valueCoding": {"display": "Not imaged"}}], "needs a `code`"),
])
def test_bad_answers_are_named(default_pathway, chronic_sciatica_answers, link, answer, words):
    response = response_for(default_pathway, chronic_sciatica_answers)
    item_of(response, link)["answer"] = answer
    (error,) = problems(default_pathway, response)
    assert error["path"] == f"answers.{link}" and words in error["message"]


def test_option_outside_the_list_is_the_engines_usual_error(default_pathway, chronic_sciatica_answers):
    response = response_for(default_pathway, chronic_sciatica_answers)
    item_of(response, "imaging_findings")["answer"] = [{"valueCoding": {"code": "not_imagd"}}]
    _, answers = read_response(default_pathway, response)
    result = engine.assess(default_pathway, answers)
    assert "Did you mean" in result["errors"][0]["message"]


def test_unknown_and_duplicate_items(default_pathway, chronic_sciatica_answers):
    response = response_for(default_pathway, chronic_sciatica_answers)
    response["item"][0]["item"].append({"linkId": "agee", "answer": [{"valueInteger": 3}]})
    response["item"][0]["item"].append(item_of(response, "sciatica"))
    errors = problems(default_pathway, response)
    assert any("'agee' is not an item" in e["message"] and "`age`" in e["message"] for e in errors)
    assert any(e["path"] == "answers.sciatica" and "twice" in e["message"] for e in errors)


def test_calculated_and_display_items_are_ignored(default_pathway, chronic_sciatica_answers):
    response = response_for(default_pathway, chronic_sciatica_answers)
    response["item"][0]["item"].append({"linkId": "startback_total", "answer": [{"valueInteger": 9}]})
    assert read_response(default_pathway, response)[1] == chronic_sciatica_answers


def test_bundles(default_pathway, chronic_sciatica_answers):
    qr = to_response(default_pathway, chronic_sciatica_answers)
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": qr},
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p"}},
        {"resource": {**qr, "id": "own-id"}}]}
    found = responses_in(bundle)
    assert [(where, r["id"]) for where, r, _ in found] == [(1, "urn:uuid:1"), (3, "own-id")]
    assert responses_in({"resourceType": "Bundle", "type": "history"})[0][2].startswith("a Bundle of type 'history'")
    assert "holds no QuestionnaireResponse" in responses_in({"resourceType": "Bundle", "type": "collection"})[0][2]
    assert "is not a QuestionnaireResponse" in responses_in({"resourceType": "Patient"})[0][2]


# --- through the command line ---------------------------------------------------------------------

def test_assess_reads_a_response(runner, tmp_path, default_pathway, chronic_sciatica_answers):
    path = tmp_path / "response.json"
    path.write_text(json.dumps(to_response(default_pathway, chronic_sciatica_answers, "qr-7")), encoding="utf-8")
    result = runner.invoke(app, ["assess", "--answers", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == engine.assess(default_pathway, chronic_sciatica_answers, record_id="qr-7")


def test_assess_refuses_another_version(runner, tmp_path, default_pathway, chronic_sciatica_answers):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(response_for(default_pathway, chronic_sciatica_answers,
                                            questionnaire="urn:backpath:pathway:low-back-pain|1.0.0")))
    result = runner.invoke(app, ["assess", "--answers", str(path)])
    assert result.exit_code == 1
    assert "cannot be read as answers" in result.stderr and "version '1.0.0'" in result.stderr
    assert "Traceback" not in result.output


def test_batch_reads_bundles_and_ndjson_and_keeps_going(runner, tmp_path, default_pathway, chronic_sciatica_answers):
    pw = default_pathway
    good = to_response(pw, chronic_sciatica_answers, "a")
    old = response_for(pw, chronic_sciatica_answers, questionnaire=f"urn:backpath:pathway:{pw.id}|0.1", id="b")
    missing = response_for(pw, chronic_sciatica_answers, id="c")
    for group in missing["item"]:
        group["item"] = [i for i in group["item"] if i["linkId"] != "conditions"]
    ndjson = tmp_path / "responses.ndjson"
    ndjson.write_text("".join(json.dumps(r) + "\n" for r in (good, old, missing, {"resourceType": "Patient"})))
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:d", "resource": {k: v for k, v in good.items() if k != "id"}}]}))
    result = runner.invoke(app, ["batch", str(ndjson), str(bundle), "--quiet"])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["status"]) for r in lines] == [("a", "ok"), ("b", "error"), ("c", "error"), (4, "error"),
                                                       ("urn:uuid:d", "ok")]
    assert lines[1]["errors"][0]["path"] == "questionnaire"
    assert lines[2]["errors"][0]["path"] == "answers.conditions"
    assert lines[3]["source"] == {"file": str(ndjson), "line": 4}
    expected = dumps(engine.assess(pw, chronic_sciatica_answers, record_id="a"))
    assert dumps({k: v for k, v in lines[0].items()}) == expected


def test_example_response_is_the_example_answers(default_pathway, chronic_sciatica_answers):
    from .conftest import EXAMPLES

    example = json.loads((EXAMPLES / "response-chronic-sciatica.fhir.json").read_text(encoding="utf-8"))
    assert schema_errors(example) == []
    assert read_response(default_pathway, example) == ("chronic-sciatica-example", chronic_sciatica_answers)
    assert example == through_json(to_response(default_pathway, chronic_sciatica_answers, "chronic-sciatica-example"))


# --- hostile input stays cheap and never raises anything but ResponseProblem --------------------------

def test_deep_nesting_and_many_items_are_refused(default_pathway):
    deep: dict = {"linkId": "evaluation", "item": []}
    top = deep
    for _ in range(200):
        child = {"linkId": "evaluation", "item": []}
        deep["item"].append(child)
        deep = child
    errors = problems(default_pathway, {"resourceType": "QuestionnaireResponse", "item": [top]})
    assert "nest more than" in errors[0]["message"]
    many = {"resourceType": "QuestionnaireResponse", "item": [{"linkId": "evaluation"}] * 20_000}
    assert "more than 10,000 items" in problems(default_pathway, many)[0]["message"]


@pytest.mark.parametrize("response", [
    {"resourceType": "QuestionnaireResponse", "item": "no"},
    {"resourceType": "QuestionnaireResponse", "item": [1, None, {"linkId": 5}]},
    {"resourceType": "QuestionnaireResponse", "item": [{"linkId": "age", "answer": "52"}]},
    {"resourceType": "QuestionnaireResponse", "item": [{"linkId": "age", "answer": [52]}]},
    {"resourceType": "QuestionnaireResponse", "item": [{"linkId": "red_flags", "answer": [{"valueCoding": "x"}]}]},
    {"resourceType": "QuestionnaireResponse", "questionnaire": 7},
])
def test_malformed_responses_are_problems(default_pathway, response):
    assert problems(default_pathway, response)
