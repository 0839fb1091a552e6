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


_LAYOUT_LIMIT = 1 << 12  # layouts memoised per pathway (bounded: memory stays flat however varied the answers)


def result_dict(plan: Plan, env: dict, answer_warnings: list[Mapping[str, Any]], record_id: Any, tier: str,
                contributing: list[int]) -> dict:
    """The result for one valid set of answers: `env` holds answers, derived facts and scores; `contributing`
    the positions of the rules that contribute, in order. What does not depend on the record's values (its items
    and their states, care team, follow-up, rules fired, the rules' warnings) is its *layout*, memoised on the tier,
    the contributing rules and the requests; every list and dict of the result is fresh."""
    p, outline = plan.pathway, plan.outline
    requested = outline.requested(env)
    key = (tier, tuple(contributing), frozenset(requested))
    layout = plan.layouts.get(key)
    if layout is None:
        layout = _layout(plan, tier, contributing, requested)
        if len(plan.layouts) < _LAYOUT_LIMIT:
            plan.layouts[key] = layout
    shown, ruled_out, care_team, follow, fired, rule_warnings = layout
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
        header, sources, notes = state.parts or _item_parts(plan, position, state)
        out = dict(header)
        if "care_team" in out:
            out["care_team"] = list(out["care_team"])
        if state.section == UNREQUESTED:
            requests = list(env.get(p.request_question) or []) if p.request_question else []
            out["reasons"] = [{"rule": REQUEST_RULE, "text": outline.request_text(tier),
                               "because": {p.request_question: requests}, "effect": "not_indicated"}]
        else:
            recommended = state.section == RECOMMENDED
            out["reasons"] = [reason(ri, None if recommended else effect) for ri, effect in state.refs]
        out["sources"] = [dict(source) for source in sources]
        if notes is not None:
            out["advisory_notes"] = list(notes)
        return out

    return {
        "format_version": FORMAT_VERSION, "id": record_id, "status": "ok",
        "pathway": {"id": p.id, "version": p.version, "sha256": p.sha256},
        "tier": tier, "tier_title": p.tier(tier).title,
        "scores": {s.id: plain(env.get(s.id)) for s in p.scores},
        "red_flags": list(env.get(p.red_flag_question) or []) if p.red_flag_question else [],
        "recommendations": [item(i, s) for i, s in shown],
        "not_recommended": [item(i, s) for i, s in ruled_out],
        "care_team": list(care_team),
        "follow_up": dict(follow),
        "warnings": [dict(w) for w in answer_warnings] + [dict(w) for w in rule_warnings],
        "rules_fired": list(fired),
        "disclaimer": p.disclaimer,
    }


def _layout(plan: Plan, tier: str, contributing: list[int], requested: set[int]) -> tuple:
    """A result's parts that depend only on its tier, contributing rules and requests (`outline`)."""
    p, outline = plan.pathway, plan.outline
    shown, ruled_out = outline.sections(requested, contributing)
    rules = [p.rules[ri] for ri in contributing]
    return (tuple(shown), tuple(ruled_out),
            tuple(outline.care_team(outline.roles((i for i, _ in shown), contributing))),
            follow_up(p.tier(tier), rules), tuple(r.id for r in rules), tuple(outline.warnings((), contributing)))


def _item_parts(plan: Plan, position: int, state: ItemState) -> tuple:
    """An item's fields that depend only on its state: header, sources, advisory notes (kept on the state)."""
    p = plan.pathway
    item_id = plan.outline.item_ids[position]
    header = item_header(p, item_id, state.strength, state.requested)
    cited = [p.rules[ri] for ri, _ in state.refs]
    sources = tuple(plan.sources(item_id, cited, state.section == UNREQUESTED))
    notes = tuple(plan.notes[item_id]) if item_id in plan.notes else None
    state.parts = (header, sources, notes)
    return state.parts
