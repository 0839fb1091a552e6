"""What people read of the 1.2.0 default pathway's results (issue 15): a requested option no rule covers has a
neutral place of its own, emergency items show the emergency tier and cite the red-flag sources, and the
safety nets name every cauda equina symptom."""

from __future__ import annotations

import io

from rich.console import Console

import backpath
from backpath.present.render import render_result, to_markdown

PATHWAY = backpath.load_pathway("low-back-pain")
BASE = {"age": 45, "pregnant": False, "duration_weeks": 6, "back_pain_nrs": 5, "sciatica": False,
        "neurogenic_claudication": False, "red_flags": [], **{f"startback_{i}": False for i in range(1, 9)},
        "startback_9": "slightly", "imaging_findings": "not_imaged", "tried_treatments": [], "conditions": []}


def text_of(result: dict) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(render_result(result, PATHWAY))
    return out.getvalue()


def test_a_requested_option_no_rule_covers_is_not_shown_as_advised_against():
    result = backpath.assess(PATHWAY, {**BASE, "requests": ["manual_therapy", "acupuncture"]})
    # the JSON keeps the contract's shape: the request is in not_recommended with effect not_indicated
    [entry] = [e for e in result["not_recommended"] if e["id"] == "manual_therapy"]
    assert [r["effect"] for r in entry["reasons"]] == ["not_indicated"]
    assert "not advised against" in entry["reasons"][0]["text"]
    assert "neither recommends nor rules out" not in entry["reasons"][0]["text"]
    text = text_of(result)
    against, asked = text.split("You asked about: not covered by this pathway")
    assert "DO NOT OFFER  Acupuncture" in against.split("Advised against for this patient")[1]
    assert "Manual therapy" not in against.split("Advised against for this patient")[1]
    assert "? NOT COVERED  Manual therapy within an exercise package" in asked
    assert "NOT INDICATED NOW" not in text
    md = to_markdown(result, PATHWAY)
    advised, asked_md = md.split("## You asked about: not covered by this pathway")
    assert "**NOT COVERED: Manual therapy within an exercise package** (requested)" in asked_md
    assert "Manual therapy" not in advised.split("## Advised against")[1]


def test_in_an_emergency_a_request_waits_and_imaging_cites_the_red_flag_sources():
    result = backpath.assess(PATHWAY, {**BASE, "red_flags": ["saddle_anaesthesia"], "requests": ["tens"]})
    assert result["tier"] == "emergency"
    [imaging] = [r for r in result["recommendations"] if r["id"] == "imaging"]
    cited = {(s["id"], s["section"]) for s in imaging["sources"]}
    assert ("NICE-NG59", "1.1.4") not in cited and ("NICE-NG59", "1.1.6") not in cited
    assert {("NICE-NG59", "1.1.1"), ("NICE-QS155", "statement 2")} <= cited
    assert any(s["id"] == "CES" for s in imaging["sources"])
    text = text_of(result)
    assert "tier: urgent" not in text
    assert "tier: emergency (part of the emergency referral plan); who: Radiology" in text
    assert "You asked about: not part of the emergency plan" in text
    assert "? NOT NOW  TENS or PENS" in text


def test_every_routine_tier_safety_net_names_each_cauda_equina_symptom():
    for tier in PATHWAY.tiers:
        if tier.preempts:
            continue
        net = tier.follow_up.safety_net
        for words in ("genitals", "when you wipe", "bladder is full or empty", "sexual sensation or function",
                      "loss of bowel control", "sciatica in both legs"):
            assert words in net, (tier.id, words)


def test_durations_read_as_weeks_in_reasons():
    result = backpath.assess(PATHWAY, {**BASE, "duration_weeks": 1})
    text = text_of(result)
    assert "1 weeks" not in text and "1 week(s)" in text
