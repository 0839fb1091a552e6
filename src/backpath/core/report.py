"""A result as Python data (`assess`): the outline (`outline`) serialised as the contract's dicts.

`result_json.ResultWriter` serialises the same outline as JSON text for batch runs; the two are tested to give
the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from backpath.core.outline import (
    FORMAT_VERSION,
    RECOMMENDED,
    REQUEST_RULE,
    UNREQUESTED,
    ItemState,
    follow_up,
    item_header,
    plain,
)
from backpath.core.reasons import because_values, reason_text

if TYPE_CHECKING:
    from backpath.core.plan import Plan


def result_dict(plan: Plan, env: dict, answer_warnings: list[Mapping[str, Any]], record_id: Any, tier: str,
                contributing: list[int]) -> dict:
    """The result for one valid set of answers: `env` holds answers, derived facts and scores; `contributing`
    the positions of the rules that contribute, in order."""
    p, outline = plan.pathway, plan.outline
    requested_ids = list(env.get(p.request_question) or []) if p.request_question else []
    requested = outline.requested(env)
    shown, ruled_out = outline.sections(requested, contributing)
    rules = [p.rules[ri] for ri in contributing]
    item_ids = outline.item_ids
    because: dict[int, dict] = {}
    traces: dict[str, list[str]] = {}

    def reason(ri: int, effect: str | None) -> dict:
        rule = p.rules[ri]
        names = because.get(ri)
        if names is None:
            names = because[ri] = because_values(p, rule.when, env, plan.expr_facts, traces)
        out = {"rule": rule.id, "text": reason_text(p, rule, env), "because": dict(names)}
        if effect is not None:
            out["effect"] = effect
        return out

    def item(position: int, state: ItemState) -> dict:
        item_id = item_ids[position]
        recommended = state.section == RECOMMENDED
        out = item_header(p, item_id, state.strength, state.requested)
        if state.section == UNREQUESTED:
            out["reasons"] = [{"rule": REQUEST_RULE, "text": outline.request_text(tier),
                               "because": {p.request_question: list(requested_ids)}, "effect": "not_indicated"}]
        else:
            out["reasons"] = [reason(ri, None if recommended else effect) for ri, effect in state.refs]
        cited = [p.rules[ri] for ri, _ in state.refs]
        out["sources"] = [dict(s) for s in plan.sources(item_id, cited, state.section == UNREQUESTED)]
        if item_id in plan.notes:
            out["advisory_notes"] = list(plan.notes[item_id])
        return out

    return {
        "format_version": FORMAT_VERSION, "id": record_id, "status": "ok",
        "pathway": {"id": p.id, "version": p.version, "sha256": p.sha256},
        "tier": tier, "tier_title": p.tier(tier).title,
        "scores": {s.id: plain(env.get(s.id)) for s in p.scores},
        "red_flags": list(env.get(p.red_flag_question) or []) if p.red_flag_question else [],
        "recommendations": [item(i, s) for i, s in shown],
        "not_recommended": [item(i, s) for i, s in ruled_out],
        "care_team": outline.care_team(outline.roles((i for i, _ in shown), contributing)),
        "follow_up": follow_up(p.tier(tier), rules),
        "warnings": outline.warnings(answer_warnings, contributing),
        "rules_fired": [r.id for r in rules],
        "disclaimer": p.disclaimer,
    }
