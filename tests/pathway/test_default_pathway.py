"""The default pathway covers the contract and the clinical reference's modality table."""

from __future__ import annotations

import re

import backpath
from tests.conftest import ROOT

PATHWAY = backpath.load_pathway("low-back-pain")

# Every modality the issue names from the clinical reference's modality table (§8) must map to a catalogue item.
MODALITIES = ["physical therapy", "aquatic exercise", "heat", "ice", "electrical stimulation",
              "chiropractic manipulation", "soft-tissue therapy", "corrective exercise", "ergonomic advice",
              "nerve root block", "muscle relaxants", "neuropathic agents", "corticosteroids", "discectomy",
              "laminectomy", "minimally invasive spine surgery", "mindfulness", "nutritional counselling",
              "social support"]


def contract_ids(heading: str) -> set[str]:
    text = (ROOT.parent / "shared" / "spec" / "contract.md")
    if not text.exists():  # outside the workspace (e.g. an sdist); the contract ids below are then checked alone
        return set()
    body = text.read_text(encoding="utf-8")
    section = body[body.index(heading):]
    section = section[: section.index("\n## ", 1)]
    return set(re.findall(r"`([a-z][a-z0-9_]+)`", section))


def test_every_modality_maps_to_a_catalogue_item():
    covered = {name.lower() for item in PATHWAY.catalogue.values() for name in item.also_covers}
    for modality in MODALITIES:
        assert any(modality in name for name in covered), modality


def test_catalogue_has_every_contract_id():
    expected = contract_ids("## 4. Recommendation catalogue")
    assert expected <= set(PATHWAY.catalogue), sorted(expected - set(PATHWAY.catalogue))
    for must in ("spinal_fusion", "disc_replacement", "emergency_referral", "exercise_programme"):
        assert must in PATHWAY.catalogue


def test_tiers_are_the_contract_tiers_most_urgent_first():
    assert [t.id for t in PATHWAY.tiers] == ["emergency", "urgent", "surgical_consult", "interventional",
                                             "conservative", "self_management"]
    assert PATHWAY.tier("emergency").preempts


def test_every_rule_and_item_cites_a_source_and_every_result_has_a_follow_up():
    for rule in PATHWAY.rules:
        assert rule.sources and rule.reason, rule.id
    for item in PATHWAY.catalogue.values():
        assert item.sources and item.stance, item.id
    for tier in PATHWAY.tiers:
        assert tier.follow_up.review_in_weeks is not None and tier.follow_up.safety_net, tier.id


def test_unverified_evidence_is_marked():
    numbers = [c for r in PATHWAY.rules for c in r.sources if c.id == "NICE-NG59" and c.section
               and re.match(r"1\.[23]\.", c.section)]
    assert numbers and all(c.verified is False for c in numbers)   # NG59 numbers after 1.1.6 are unverified
