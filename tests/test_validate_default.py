"""The default pathway passes `validate`, its invariants hold, and they have teeth: weakening the rules they
protect makes `validate` find a counterexample that the engine confirms."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

import backpath
from backpath.core import engine
from backpath.load.catalog import resolve
from backpath.load.yamlio import load_yaml
from backpath.validate.run import check_file

DEFAULT = resolve("low-back-pain")
REQUIRED_INVARIANTS = {
    "emergency-red-flags-give-emergency", "cancer-with-neurology-gives-emergency", "no-fusion-no-disc-replacement",
    "decompression-only-when-indicated", "no-epidural-for-stenosis-claudication",
}


@pytest.fixture(scope="module")
def report():
    return check_file(DEFAULT)


def test_the_default_pathway_has_no_errors_or_warnings(report):
    assert [f for f in report.findings if f.severity != "note"] == []


def test_the_default_pathway_declares_and_keeps_its_safety_invariants(report):
    pathway = backpath.load_pathway("low-back-pain")
    assert REQUIRED_INVARIANTS <= {i.id for i in pathway.invariants}
    assert report.invariants["violated"] == 0 and report.invariants["checked"] == len(pathway.invariants)
    assert report.invariants["answer_sets"] > 1000


def test_the_default_pathway_starts_with_the_editor_schema_line():
    first = DEFAULT.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == "# yaml-language-server: $schema=../src/backpath/schemas/pathway.schema.json"


def test_the_default_cases_cover_every_rule(report):
    assert report.cases is not None, "pathways/low-back-pain.cases.yaml is missing"
    assert report.cases.coverage.rules.missing == ()


# --- mutations ------------------------------------------------------------------------------------

def _data() -> dict:
    return load_yaml(DEFAULT.read_text(encoding="utf-8"), str(DEFAULT)).data  # type: ignore[return-value]


def _weaken_emergency_rule(rule_id: str):
    def mutate(data: dict) -> None:
        rule = next(r for r in data["rules"] if r["id"] == rule_id)
        rule["when"] = f"({rule['when']}) and duration_weeks < 52"
    return mutate


def _decompression_for_any_sciatica(data: dict) -> None:
    for r in data["rules"]:
        if "spinal_decompression" in r.get("consider", []) + r.get("offer", []):
            r["when"] = "sciatica"


def _fusion_without_its_contraindication(data: dict) -> None:
    for r in data["rules"]:
        r["advise_against"] = [i for i in r.get("advise_against", []) if i != "spinal_fusion"]
        if "spinal_decompression" in r.get("consider", []):
            r["consider"] = r["consider"] + ["spinal_fusion"]


def _epidural_without_its_contraindication(data: dict) -> None:
    for r in data["rules"]:
        r["advise_against"] = [i for i in r.get("advise_against", []) if i != "epidural_injection"]
        if "epidural_injection" in r.get("consider", []) + r.get("offer", []):
            r["when"] = "sciatica and leg_pain_nrs >= 7"


EMERGENCY_RULES = [r.id for r in backpath.load_pathway("low-back-pain").rules if r.tier == "emergency"]
MUTATIONS = [(f"weaken-{rid}", _weaken_emergency_rule(rid), None) for rid in EMERGENCY_RULES] + [
    ("decompression-for-any-sciatica", _decompression_for_any_sciatica, "decompression-only-when-indicated"),
    ("fusion-considered", _fusion_without_its_contraindication, "no-fusion-no-disc-replacement"),
    ("epidural-in-stenosis", _epidural_without_its_contraindication, "no-epidural-for-stenosis-claudication"),
]


@pytest.mark.parametrize("mutate, invariant", [(m, i) for _, m, i in MUTATIONS], ids=[n for n, _, _ in MUTATIONS])
def test_weakening_a_protected_rule_breaks_an_invariant(tmp_path: Path, mutate, invariant):
    data = copy.deepcopy(_data())
    mutate(data)
    path = tmp_path / "low-back-pain.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200), encoding="utf-8")
    found = [f for f in check_file(path).findings if f.code == "invariant-violated"]
    assert found, "no invariant caught the mutation"
    if invariant is not None:
        assert invariant in {f.id for f in found}
    mutant = backpath.load_pathway(path)
    for f in found:  # every counterexample is valid and shows the violation through the engine
        result = engine.assess(mutant, f.details["counterexample"])
        assert result["status"] == "ok"
        inv = next(i for i in mutant.invariants if i.id == f.id)
        recommended = {r["id"] for r in result["recommendations"]}
        rank = mutant.tier_rank
        assert (inv.tier is not None and result["tier"] != inv.tier) \
            or (inv.tier_at_least is not None and rank[result["tier"]] > rank[inv.tier_at_least]) \
            or recommended & (set(inv.never_recommended) | set(inv.only_when_items)) \
            or (recommended & set(inv.warned_items)
                and not {w.get("rule") for w in result["warnings"]} & set(inv.warning_rules))
