"""The engine on the small test pathway: tiers, precedence, requests, reasons, follow-up, determinism."""

from __future__ import annotations

import json

import pytest

from backpath import assess, check

BASE = {"age": 40, "weeks": 2, "leg": False, "flags": [], "mood": "good"}


def run(pathway, **changes):
    answers = {**BASE, **changes}
    return assess(pathway, answers, record_id="r1")


def ids(entries):
    return [e["id"] for e in entries]


def test_default_tier_and_result_shape(mini_pathway):
    result = run(mini_pathway)
    assert result["status"] == "ok" and result["id"] == "r1" and result["format_version"] == 1
    assert result["tier"] == "self_management"
    assert result["pathway"] == {"id": "mini", "version": "0.0.1", "sha256": mini_pathway.sha256}
    assert ids(result["recommendations"]) == ["advice"]
    assert ids(result["not_recommended"]) == ["belt"]
    assert result["scores"] == {"total": 0, "risk": "low"}
    assert result["follow_up"] == {"review_in_weeks": 8, "safety_net": "Self-care."}
    assert result["care_team"] == ["gp"]


def test_most_urgent_tier_wins_and_contraindication_beats_recommendation(mini_pathway):
    result = run(mini_pathway, mood="very_low", flags=["fever"])
    assert result["tier"] == "conservative"
    assert "massage" not in ids(result["recommendations"])
    massage = next(e for e in result["not_recommended"] if e["id"] == "massage")
    effects = [r.get("effect") for r in massage["reasons"]]
    assert effects == ["advise_against", "consider"]            # both reasons kept
    exercise = next(e for e in result["recommendations"] if e["id"] == "exercise")
    assert exercise["strength"] == "offer"                         # offer beats consider
    assert [r["rule"] for r in exercise["reasons"]] == ["high-risk", "mood-low-consider-exercise"]


def test_emergency_preempts_the_routine_plan(mini_pathway):
    result = run(mini_pathway, flags=["saddle"], mood="very_low", requests=["exercise"])
    assert result["tier"] == "emergency"
    assert ids(result["recommendations"]) == ["emergency_referral"]
    exercise = next(e for e in result["not_recommended"] if e["id"] == "exercise")
    assert exercise["requested"] is True and exercise["reasons"][0]["text"] == "Emergency first."
    assert result["follow_up"]["review_in_weeks"] == 0
    assert result["red_flags"] == ["saddle"]


def test_requested_items_are_always_answered(mini_pathway):
    result = run(mini_pathway, requests=["exercise", "belt"])
    nr = {e["id"]: e for e in result["not_recommended"]}
    assert ids(result["not_recommended"]) == ["exercise", "belt"]    # requested first, catalogue order
    assert nr["exercise"]["reasons"][0]["rule"] == "request-not-indicated"
    assert nr["exercise"]["reasons"][0]["text"] == "Not indicated for these answers."
    assert nr["belt"]["requested"] and nr["belt"]["advisory_notes"] == ["belt-note"]


def test_reasons_render_values_and_trace_answers(mini_pathway):
    result = run(mini_pathway, weeks=20, leg=True, leg_nrs=8)
    exercise = next(e for e in result["recommendations"] if e["id"] == "exercise")
    reason = exercise["reasons"][0]
    assert reason["text"] == "Risk low, leg pain 8."
    assert reason["because"] == {"chronic": True, "weeks": 20, "leg_nrs": 8}   # derived fact traced to its answer
    assert result["follow_up"] == {"review_in_weeks": 4, "safety_net": "Come back if worse. Watch the leg."}
    assert {"rule": "high-risk"}.items() <= reason.items()


def test_unverified_citations_are_flagged(mini_pathway):
    result = run(mini_pathway, flags=["fever"])
    massage = next(e for e in result["not_recommended"] if e["id"] == "massage")
    assert {"id": "SRC", "section": "5", "verified": False} in massage["sources"]   # the note stays in the pathway


def test_answer_to_a_question_not_asked_is_ignored_with_a_warning(mini_pathway):
    result = run(mini_pathway, leg=False, leg_nrs=9)
    assert result["status"] == "ok"
    assert result["warnings"][0]["path"] == "answers.leg_nrs" and "ignored" in result["warnings"][0]["message"]
    assert "high-risk" not in result["rules_fired"]


@pytest.mark.parametrize(
    "changes, path, words",
    [
        ({"age": 15}, "answers.age", "out of range; expected 16–110 years"),
        ({"age": 40.5}, "answers.age", "whole number"),
        ({"age": True}, "answers.age", "must be a number"),
        ({"age": "40"}, "answers.age", "must be a number"),
        ({"weeks": float("nan")}, "answers.weeks", "finite"),
        ({"leg": "yes"}, "answers.leg", "true or false"),
        ({"mood": "gloomy"}, "answers.mood", "is not an option"),
        ({"mood": "god"}, "answers.mood", "Did you mean `good`?"),
        ({"flags": "fever"}, "answers.flags", 'Write ["fever"]'),
        ({"flags": ["fever", "fever"]}, "answers.flags", "twice"),
        ({"flags": ["feaver"]}, "answers.flags", "Did you mean `fever`?"),
        ({"moood": "good"}, "answers.moood", "unknown question `moood`. Did you mean `mood`?"),
        ({"leg": True}, "answers.leg_nrs", "required answer is missing"),
    ],
)
def test_each_kind_of_invalid_answer_names_the_answer(mini_pathway, changes, path, words):
    result = run(mini_pathway, **changes)
    assert result["status"] == "error"
    messages = {e["path"]: e["message"] for e in result["errors"]}
    assert path in messages and words in messages[path], result["errors"]


def test_missing_required_answer_and_not_a_mapping(mini_pathway):
    answers = dict(BASE)
    del answers["age"]
    checked = check(mini_pathway, answers)
    assert checked.missing == ["age"]
    assert assess(mini_pathway, ["not", "a", "dict"])["errors"][0]["path"] == "answers"


def test_null_counts_as_not_answered(mini_pathway):
    assert run(mini_pathway, requests=None)["status"] == "ok"
    assert run(mini_pathway, age=None)["errors"][0]["path"] == "answers.age"


def test_output_is_deterministic(mini_pathway):
    a = json.dumps(run(mini_pathway, mood="low", flags=["fever"], requests=["belt"]))
    b = json.dumps(run(mini_pathway, requests=["belt"], flags=["fever"], mood="low"))
    assert a == b


def test_complete_is_check_finding_nothing(default_pathway):
    """`complete` (what `backpath assess` asks before it needs the checker) says yes exactly when the checker
    would find no problem, nothing missing and nothing to warn of: every case of the bundled cases file, and
    each with an answer taken out, made invalid, or given where it is not asked."""
    from backpath.core.engine import complete
    from tests.conftest import case_answers

    seen = set()
    for _, answers in case_answers():
        variants = [answers, {**answers, "age": "old"}, {**answers, "not_a_question": 1}]
        variants += [{k: v for k, v in answers.items() if k != key} for key in list(answers)[:6]]
        for given in variants:
            checked = check(default_pathway, given)
            expected = not (checked.problems or checked.warnings or checked.missing)
            assert complete(default_pathway, given) is expected, given
            seen.add(expected)
    assert seen == {True, False}
