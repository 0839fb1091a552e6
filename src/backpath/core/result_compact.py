"""A compact result for analysts (`backpath batch --detail summary`): the outline (`outline`) serialised with
ids, strengths, rule ids and `because`, without texts, titles, citations, notes or the disclaimer.

    {"format_version": 1, "id": "r1", "status": "ok",
     "pathway": {"id": "low-back-pain", "version": "1.2.0", "sha256": "..."},
     "tier": "conservative", "scores": {...}, "red_flags": [],
     "recommendations": [{"id": "exercise_programme", "strength": "offer", "requested": false,
                          "reasons": [{"rule": "...", "because": {"startback_risk": "medium"}}]}],
     "not_recommended": [{"id": "traction", "requested": true,
                          "reasons": [{"rule": "...", "effect": "advise_against", "because": {}}]}],
     "care_team": ["gp", "physiotherapist"], "follow_up": {"review_in_weeks": 4},
     "warnings": [{"path": "answers.pregnant"}, {"rule": "..."}], "rules_fired": ["..."]}

Every id, strength, rule id, effect and `because` is the full result's (`report.result_dict`), in the same order:
both serialise the same outline, and `because` comes from `reasons.because_values` for both. A warning is named
by its answer path (an answer's) or its rule id (a rule's), without its message. An invalid record gives the same
error result as the full detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from backpath.core.outline import FORMAT_VERSION, RECOMMENDED, REQUEST_RULE, UNREQUESTED, ItemState, follow_up, plain
from backpath.core.reasons import because_values

if TYPE_CHECKING:
    from backpath.core.model import Pathway
    from backpath.core.plan import Plan

DETAILS = ("full", "summary")


def compact_dict(plan: Plan, env: dict, answer_warnings: list[Mapping[str, Any]], record_id: Any, tier: str,
                 contributing: list[int]) -> dict:
    """The compact result for one valid set of answers (arguments as `report.result_dict`'s)."""
    p, outline = plan.pathway, plan.outline
    requested = outline.requested(env)
    shown, ruled_out = outline.sections(requested, contributing)
    rules = p.rules
    item_ids = outline.item_ids
    because: dict[int, dict] = {}
    traces: dict[str, list[str]] = {}

    def because_of(ri: int) -> dict:
        values = because.get(ri)
        if values is None:
            values = because[ri] = because_values(p, rules[ri].when, env, plan.expr_facts, traces)
        return dict(values)

    def item(position: int, state: ItemState) -> dict:
        out: dict = {"id": item_ids[position]}
        if state.section == RECOMMENDED:
            out["strength"] = state.strength
            out["requested"] = state.requested
            out["reasons"] = [{"rule": rules[ri].id, "because": because_of(ri)} for ri, _ in state.refs]
            return out
        out["requested"] = state.requested
        if state.section == UNREQUESTED:
            out["reasons"] = [{"rule": REQUEST_RULE, "effect": "not_indicated",
                               "because": {p.request_question: list(env.get(p.request_question) or [])}}]
        else:
            out["reasons"] = [{"rule": rules[ri].id, "effect": effect, "because": because_of(ri)}
                              for ri, effect in state.refs]
        return out

    fired = [rules[ri] for ri in contributing]
    return {
        "format_version": FORMAT_VERSION, "id": record_id, "status": "ok",
        "pathway": {"id": p.id, "version": p.version, "sha256": p.sha256},
        "tier": tier,
        "scores": {s.id: plain(env.get(s.id)) for s in p.scores},
        "red_flags": list(env.get(p.red_flag_question) or []) if p.red_flag_question else [],
        "recommendations": [item(i, s) for i, s in shown],
        "not_recommended": [item(i, s) for i, s in ruled_out],
        "care_team": outline.care_team(outline.roles((i for i, _ in shown), contributing)),
        "follow_up": {"review_in_weeks": follow_up(p.tier(tier), fired)["review_in_weeks"]},
        "warnings": [{"path": w["path"]} for w in answer_warnings]
                    + [{"rule": r.id} for r in fired if r.warning],
        "rules_fired": [r.id for r in fired],
    }


def assess_compact(pathway: Pathway, answers: Any, *, record_id: Any = None) -> dict:
    """`assess` with the compact detail: the compact result for valid answers, the same error result as
    `assess` for invalid ones. Never raises for bad answers."""
    from backpath.core.engine import _decided

    decided = _decided(pathway, answers, record_id)
    if isinstance(decided, dict):
        return decided
    plan, checked, tier, contributing = decided
    return compact_dict(plan, checked.values, [w.as_dict() for w in checked.warnings], record_id, tier,
                        contributing)
