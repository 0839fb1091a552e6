"""`backpath questions --format fhir`: the SDC Questionnaire, checked in layers (HL7's R4 JSON Schema,
fhir.resources R4B models, the que-* invariants in FHIRPath, backpath's own checks), and its skip logic and
calculations evaluated with fhirpathpy against the engine, case by case."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from backpath.cli.main import app
from backpath.core import engine
from backpath.fhir.codes import LOINC, STARTBACK_ITEMS, canonical, option_system
from backpath.fhir.expressions import NONE_CODE
from backpath.fhir.questionnaire import (
    CALCULATED_EXPRESSION,
    ENABLE_WHEN_EXPRESSION,
    OPTION_EXCLUSIVE,
    QuestionnaireError,
    build_questionnaire,
)
from backpath.fhir.response import to_response
from backpath.load.loader import load_pathway
from tests.conftest import FIXTURES, case_answers
from tests.fhir_checks import ENABLE_WHEN_INVARIANTS, ITEM_INVARIANTS, all_items, fhirpath, r4b_model, schema_errors
from tests.strategies import answers_for


@pytest.fixture(scope="module")
def questionnaire(default_pathway):
    return build_questionnaire(default_pathway)


def items_by_link(questionnaire) -> dict[str, dict]:
    return {i["linkId"]: i for i in all_items(questionnaire["item"])}


def extension(item: dict, url: str) -> dict | None:
    return next((e for e in item.get("extension", []) if e["url"] == url), None)


# --- layer 1 and 2: HL7's schema and the R4B models ---------------------------------------------------

def test_valid_against_hl7_r4_schema(questionnaire):
    assert schema_errors(questionnaire) == []


def test_schema_catches_a_broken_questionnaire(questionnaire):
    broken = json.loads(json.dumps(questionnaire))
    broken["item"][0]["item"][1]["type"] = "yes-no"
    broken["item"][0]["item"][1]["answerBoolean"] = True
    errors = schema_errors(broken)
    assert any("yes-no" in e for e in errors) and any("answerBoolean" in e for e in errors)


def test_parses_as_r4b_model(questionnaire):
    model = r4b_model(questionnaire)
    assert model.url == questionnaire["url"] and len(model.item) == len(questionnaire["item"])


def test_mini_pathway_exports_and_validates():
    q = build_questionnaire(load_pathway(FIXTURES / "mini.yaml"))
    assert schema_errors(q) == []
    r4b_model(q)


# --- layer 3: the que-* invariants, in FHIRPath -------------------------------------------------------

def test_linkids_distinct_que2(questionnaire):
    assert fhirpath(questionnaire, "descendants().linkId.isDistinct()") == [True]


@pytest.mark.parametrize("name", sorted(ITEM_INVARIANTS))
def test_item_invariants(questionnaire, name):
    expression = ITEM_INVARIANTS[name]
    broken = [i["linkId"] for i in all_items(questionnaire["item"]) if fhirpath(i, expression) != [True]]
    assert broken == [], f"{name} fails on {broken}"


def test_enable_when_invariant_que7(questionnaire):
    for item in all_items(questionnaire["item"]):
        for condition in item.get("enableWhen", []):
            assert fhirpath(condition, ENABLE_WHEN_INVARIANTS["que-7"]) == [True]


def test_invariant_check_catches_a_duplicate_linkid(questionnaire):
    broken = json.loads(json.dumps(questionnaire))
    broken["item"][1]["item"][1]["linkId"] = "age"
    assert fhirpath(broken, "descendants().linkId.isDistinct()") == [False]


# --- layer 4: backpath's own checks -------------------------------------------------------------------

def test_conventions(questionnaire, default_pathway):
    pw = default_pathway
    assert questionnaire["url"] == canonical(pw) and questionnaire["version"] == pw.version
    assert [g["linkId"] for g in questionnaire["item"]] == [s.id for s in pw.sections]
    assert all(g["type"] == "group" for g in questionnaire["item"])
    items = items_by_link(questionnaire)
    types = {"boolean": "boolean", "integer": "integer", "number": "decimal", "choice": "choice",
             "multi_choice": "choice"}
    for q in pw.question_list():
        item = items[q.id]
        assert item["type"] == types[q.type] and item["text"] == q.prompt and item["required"] == q.required
        assert item.get("repeats", False) == (q.type == "multi_choice")
        codes = [o["valueCoding"]["code"] for o in item.get("answerOption", [])]
        if q.type == "multi_choice":
            assert codes == [*q.option_ids, NONE_CODE]
            none = item["answerOption"][-1]
            assert extension(none, OPTION_EXCLUSIVE)["valueBoolean"] is True
        else:
            assert codes == list(q.option_ids)
        if q.help:
            (help_item,) = item["item"]
            assert help_item["type"] == "display" and help_item["text"] == q.help
            assert extension(help_item, "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl")[
                "valueCodeableConcept"]["coding"][0]["code"] == "help"
    age = items["age"]
    assert extension(age, "http://hl7.org/fhir/StructureDefinition/minValue") == {
        "url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 16}
    assert extension(age, "http://hl7.org/fhir/StructureDefinition/questionnaire-unit")["valueCoding"]["code"] == "a"
    assert extension(items["duration_weeks"], "http://hl7.org/fhir/StructureDefinition/questionnaire-unit")[
        "valueCoding"]["code"] == "wk"


def test_every_ask_when_is_exported_and_enable_when_reads_earlier_items(questionnaire, default_pathway):
    order = [i["linkId"] for i in all_items(questionnaire["item"])]
    items = items_by_link(questionnaire)
    for q in default_pathway.question_list():
        item = items[q.id]
        has_expression = extension(item, ENABLE_WHEN_EXPRESSION) is not None
        if q.ask_when is None:
            assert "enableWhen" not in item and not has_expression
            continue
        assert ("enableWhen" in item) != has_expression, q.id
        for condition in item.get("enableWhen", []):
            other = items[condition["question"]]
            assert order.index(other["linkId"]) < order.index(q.id), (q.id, condition)
            answer = [k for k in condition if k.startswith("answer")]
            expected = {"boolean": "answerBoolean", "integer": "answerInteger", "decimal": "answerDecimal",
                        "choice": "answerCoding"}[other["type"]]
            assert answer == [expected], (q.id, condition)
            if expected == "answerCoding":
                assert condition["answerCoding"]["code"] in [o["valueCoding"]["code"] for o in other["answerOption"]]
                assert condition["answerCoding"]["system"] == other["answerOption"][0]["valueCoding"]["system"]
            assert condition["operator"] != "!="  # R4's != is true for an unanswered item


def test_skip_logic_uses_enable_when_where_plain(questionnaire):
    items = items_by_link(questionnaire)
    assert items["pregnant"]["enableWhen"] == [{"question": "age", "operator": "<=", "answerInteger": 55}]
    assert items["leg_pain_nrs"]["enableWhen"] == [{"question": "sciatica", "operator": "=", "answerBoolean": True}]
    # a derived fact (onset age) and "not empty" need FHIRPath
    assert extension(items["inflammatory_features"], ENABLE_WHEN_EXPRESSION) is not None
    assert extension(items["treatment_response"], ENABLE_WHEN_EXPRESSION) is not None


def test_startback_loinc_codes_and_scores(questionnaire):
    items = items_by_link(questionnaire)
    for qid, code in STARTBACK_ITEMS.items():
        assert items[qid]["code"] == [{"system": LOINC, "code": code}]
        assert "display" not in items[qid]["code"][0]  # LOINC's display is Keele's wording: not reproduced
    assert items["start_back_screening"]["code"] == [{"system": LOINC, "code": "91349-1"}]
    assert items["startback_total"]["code"][0]["code"] == "91351-7"
    assert items["startback_psychosocial"]["code"][0]["code"] == "91350-9"
    risk = items["startback_risk"]
    assert risk["code"][0]["code"] == "91352-5"
    assert [o["valueCoding"]["code"] for o in risk["answerOption"]] == ["LA9194-7", "LA8982-6", "LA9193-9"]
    for sid in ("startback_total", "startback_psychosocial", "startback_risk"):
        assert items[sid]["readOnly"] is True and extension(items[sid], CALCULATED_EXPRESSION)
    options = items["startback_9"]["answerOption"]
    weights = {o["valueCoding"]["code"]: o["extension"][0]["valueDecimal"] for o in options}
    assert weights == {"not_at_all": 0, "slightly": 0, "moderately": 0, "very_much": 1, "extremely": 1}


def test_copyright_is_the_pathway_attribution(questionnaire, default_pathway):
    assert "Keele University" in questionnaire["copyright"]
    assert default_pathway.attributions[0].text in questionnaire["copyright"]


# --- the skip logic and calculations mean what the engine means ----------------------------------------

def check_against_engine(pathway, questionnaire, answers: dict) -> None:
    checked = engine.check(pathway, answers)
    if any(not p.message.startswith("required answer is missing") for p in checked.problems):
        return  # values of the wrong type: no skip logic to compare (the engine refuses them first)
    response = to_response(pathway, answers)
    items = items_by_link(questionnaire)
    for q in pathway.question_list():
        if q.ask_when is None:
            continue
        item = items[q.id]
        expected = engine.applies(pathway, q, answers) is True
        ext = extension(item, ENABLE_WHEN_EXPRESSION)
        if ext is not None:
            got = fhirpath(response, ext["valueExpression"]["expression"], resource=response)
            assert got in ([True], [False]), got  # never empty: SDC wants a boolean
            enabled = got == [True]
        else:
            enabled = enable_when_holds(response, item)
        assert enabled == expected, (q.id, answers)
    result = engine.assess(pathway, answers)
    if result["status"] != "ok":
        return
    scores = result["scores"]
    for score_id in pathway.facts_order:  # in dependency order, as a form fills in its calculated items
        if score_id not in scores:
            continue
        ext = extension(items[score_id], CALCULATED_EXPRESSION)
        got = fhirpath(response, ext["valueExpression"]["expression"], resource=response,
                       questionnaire=questionnaire)
        key = {"integer": "valueInteger", "decimal": "valueDecimal", "choice": "valueCoding"}[items[score_id]["type"]]
        response["item"].append({"linkId": score_id, "answer": [{key: v} for v in got]})
        score = next(s for s in pathway.scores if s.id == score_id)
        want = scores[score.id]
        if want is None:
            continue
        if isinstance(want, str):
            labels = {o["valueCoding"]["code"]: o["valueCoding"]["display"] for o in items[score.id]["answerOption"]}
            assert [labels[c["code"]].lower() for c in got] == [want], score.id
        else:
            assert got == [want], (score.id, got, want)


def enable_when_holds(response: dict, item: dict) -> bool:
    """R4's enableWhen, read plainly: each condition compares the named item's answers with the value."""
    answers = {i["linkId"]: i.get("answer", []) for i in all_items(response["item"])}
    results = []
    for c in item["enableWhen"]:
        key = next(k for k in c if k.startswith("answer"))
        want = c[key]["code"] if key == "answerCoding" else c[key]
        values = [a.get("valueCoding", {}).get("code") if key == "answerCoding" else next(iter(a.values()))
                  for a in answers.get(c["question"], [])]
        if c["operator"] == "exists":  # answered(question): whether the item has an answer
            results.append(bool(values) == want)
            continue
        compare = {"=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                   ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[c["operator"]]
        results.append(any(compare(v, want) for v in values))
    return all(results) if item.get("enableBehavior", "all") == "all" else any(results)


@pytest.mark.parametrize("name,answers", case_answers(), ids=[n for n, _ in case_answers()])
def test_skip_logic_and_scores_match_the_engine_for_every_case(default_pathway, questionnaire, name, answers):
    known = {k: v for k, v in answers.items() if k in default_pathway.questions}
    check_against_engine(default_pathway, questionnaire, known)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=__import__("hypothesis").strategies.data())
def test_skip_logic_and_scores_match_the_engine_for_generated_answers(default_pathway, questionnaire, data):
    answers = data.draw(answers_for(default_pathway))
    check_against_engine(default_pathway, questionnaire, answers)


# --- the command ----------------------------------------------------------------------------------------

def test_questions_format_fhir_cli(default_pathway):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["questions", "--format", "fhir"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == build_questionnaire(default_pathway)


def test_an_option_named_none_is_refused(default_pathway):
    import dataclasses

    from backpath.core.model import Option

    q = default_pathway.questions["conditions"]
    renamed = dataclasses.replace(q, options=(*q.options, Option("none", "None")))
    other = dataclasses.replace(default_pathway, questions={**default_pathway.questions, q.id: renamed})
    with pytest.raises(QuestionnaireError, match="`conditions` has an option `none`"):
        build_questionnaire(other)


def test_option_system_is_per_question(default_pathway):
    a, b = default_pathway.questions["red_flags"], default_pathway.questions["conditions"]
    assert option_system(default_pathway, a) != option_system(default_pathway, b)


def test_a_condition_it_cannot_translate_is_refused_not_dropped(default_pathway):
    import dataclasses

    from backpath.core.conditions import compile_condition

    q = default_pathway.questions["treatment_response"]
    odd = compile_condition("tried_treatments == ['nsaid']", default_pathway.symbols)
    other = dataclasses.replace(default_pathway, questions={**default_pathway.questions,
                                                            q.id: dataclasses.replace(q, ask_when=odd)})
    with pytest.raises(QuestionnaireError, match="treatment_response.*cannot be written as FHIR skip logic"):
        build_questionnaire(other)


# --- answered(name) -------------------------------------------------------------------------------------

ANSWERED_ASK_WHEN = [
    ("answered(high_stress)", [{"question": "high_stress", "operator": "exists", "answerBoolean": True}]),
    ("not answered(limited_social_support)",
     [{"question": "limited_social_support", "operator": "exists", "answerBoolean": False}]),
    ("answered(preferences) and not answered(high_stress)",
     [{"question": "preferences", "operator": "exists", "answerBoolean": True},
      {"question": "high_stress", "operator": "exists", "answerBoolean": False}]),
    ("answered(axial_spa_criteria_separated)", None),  # a derived fact: written out, `.exists()`
    # a score of named values (written out; always known here, its items are required), a number score
    ("answered(startback_risk) and not answered(spa_peripheral_criteria)", None),
    ("answered(spa_peripheral_criteria) or high_stress", None),  # a number score: its calculated item's answer
]


def _answered_variants() -> list[dict]:
    """Answer sets with each name the conditions above read answered and not: an NG65 case (the separate count
    asked), with or without stress, social support, preferences, the separate count."""
    import itertools

    cases = dict(case_answers())
    bases = [cases["ng65-three-grouped-detail-unanswered-hla-b27"]]
    toggles = [("high_stress", True), ("limited_social_support", False), ("preferences", []),
               ("spa_peripheral_features", ["arthritis"])]
    out = []
    for base, chosen in itertools.product(bases, itertools.product((False, True), repeat=len(toggles))):
        answers = {k: v for k, v in base.items() if k not in dict(toggles)}
        answers.update(kv for kv, on in zip(toggles, chosen) if on)
        out.append(answers)
    return out


# Each case evaluates its FHIRPath over 16 answer sets (~2.5 s): `.ci/run` runs them (`-m slow`); the engine's own
# answered() is tested by default in tests/core/test_answered.py.
@pytest.mark.slow
@pytest.mark.parametrize("text,simple", ANSWERED_ASK_WHEN, ids=[t for t, _ in ANSWERED_ASK_WHEN])
def test_answered_exports_as_exists_and_means_what_the_engine_means(default_pathway, text, simple):
    import dataclasses

    from backpath.core.conditions import compile_condition

    q = default_pathway.questions["requests"]
    when = compile_condition(text, default_pathway.symbols)
    pathway = dataclasses.replace(default_pathway, questions={**default_pathway.questions,
                                                              q.id: dataclasses.replace(q, ask_when=when)})
    questionnaire = build_questionnaire(pathway)
    item = items_by_link(questionnaire)["requests"]
    ext = extension(item, ENABLE_WHEN_EXPRESSION)
    if simple is not None:
        assert item["enableWhen"] == simple and ext is None
    else:
        assert "enableWhen" not in item and ".exists()" in ext["valueExpression"]["expression"]
    items = items_by_link(questionnaire)
    seen = set()
    for answers in _answered_variants():
        known = {k: v for k, v in answers.items() if k in pathway.questions and k != "requests"}
        response = to_response(pathway, known)
        for score_id in pathway.facts_order:  # the form fills in its calculated items before the skip logic
            calc = extension(items.get(score_id, {}), CALCULATED_EXPRESSION)
            if calc is None:
                continue
            got = fhirpath(response, calc["valueExpression"]["expression"], resource=response,
                           questionnaire=questionnaire)
            key = {"integer": "valueInteger", "decimal": "valueDecimal",
                   "choice": "valueCoding"}[items[score_id]["type"]]
            response["item"].append({"linkId": score_id, "answer": [{key: v} for v in got]})
        expected = engine.applies(pathway, pathway.questions["requests"], known) is True
        if ext is not None:
            got = fhirpath(response, ext["valueExpression"]["expression"], resource=response)
            assert got in ([True], [False]), got
            enabled = got == [True]
        else:
            enabled = enable_when_holds(response, item)
        assert enabled == expected, (text, known)
        seen.add(enabled)
    assert seen == {True, False}  # both ways, or the comparison proves little
