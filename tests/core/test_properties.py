"""Properties of the default pathway that must hold for any valid answers (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backpath
from tests.strategies import answers_for

PATHWAY = backpath.load_pathway("low-back-pain")
EMERGENCY_FLAGS = ["saddle_anaesthesia", "bladder_dysfunction", "bowel_incontinence", "progressive_neuro_deficit",
                   "major_trauma"]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(answers_for(PATHWAY))
def test_any_valid_answers_evaluate_deterministically(answers):
    first = backpath.assess(PATHWAY, answers)
    assert first["status"] == "ok", first.get("errors")
    assert json.dumps(first) == json.dumps(backpath.assess(PATHWAY, json.loads(json.dumps(answers))))


@SETTINGS
@given(st.data())
def test_any_emergency_red_flag_gives_tier_emergency(data):
    flag = data.draw(st.sampled_from(EMERGENCY_FLAGS))
    others = st.lists(st.sampled_from(PATHWAY.questions["red_flags"].option_ids), unique=True)
    answers = data.draw(answers_for(PATHWAY, {"red_flags": others.map(lambda fs: sorted(set(fs) | {flag}))}))
    result = backpath.assess(PATHWAY, answers)
    assert result["tier"] == "emergency"
    assert "emergency_referral" in [r["id"] for r in result["recommendations"]]


@SETTINGS
@given(answers_for(PATHWAY))
def test_items_are_consistent_reasoned_and_sourced(answers):
    result = backpath.assess(PATHWAY, answers)
    recommended = [r["id"] for r in result["recommendations"]]
    against = [r["id"] for r in result["not_recommended"]]
    assert not set(recommended) & set(against)
    assert len(set(recommended)) == len(recommended) and len(set(against)) == len(against)
    for entry in result["recommendations"] + result["not_recommended"]:
        assert entry["reasons"] and entry["sources"], entry["id"]
        assert all(r["text"] and r["rule"] for r in entry["reasons"])
    assert "spinal_fusion" not in recommended and "disc_replacement" not in recommended
    for requested in answers.get("requests") or []:
        assert requested in recommended or requested in against
    assert result["follow_up"]["safety_net"]
    assert result["follow_up"]["review_in_weeks"] is not None
