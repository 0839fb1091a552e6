"""From a decision to the result: which items, in which order, with which reasons and citations.

`Report` works out the outline (items, reasons, care team, follow-up, warnings) and gives it as the contract's
result in fresh Python data (`as_dict()`). Batch runs use `result_json.ResultWriter` instead, which follows
the same rules without building dicts and is property-tested to give exactly the bytes of encoding `as_dict()`
(and the same item ids in its summaries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .answers import CheckedAnswers
from .model import Pathway, Rule, Tier

if TYPE_CHECKING:
    from .engine import _Plan

FORMAT_VERSION = 1
STRENGTH_RANK = {"offer": 0, "consider": 1}
NO_RULE_FOR_REQUEST = "Requested, but no rule of this pathway recommends it for these answers."
REQUEST_RULE = "request-not-indicated"


class Report:
    """The result for one valid set of answers (`env` holds answers, derived facts and scores)."""

    def __init__(self, plan: _Plan, env: dict, checked: CheckedAnswers, record_id: Any,
                 tier: str, contributing: list[Rule]):
        self.plan = plan
        self.p = plan.pathway
        self.env = env
        self.checked = checked
        self.record_id = record_id
        self.tier = tier
        self.contributing = contributing
        self._because: dict[str, dict] = {}
        self._traces: dict[str, list[str]] = {}
        self._outline()

    # --- the outline ----------------------------------------------------------------------------
    def _outline(self) -> None:
        p, env = self.p, self.env
        tier_def = p.tier(self.tier)
        recommend: dict[str, dict] = {}
        against: dict[str, dict] = {}
        for rule in self.contributing:
            for strength, ids in (("offer", rule.offer), ("consider", rule.consider)):
                for item_id in ids:
                    entry = recommend.get(item_id)
                    if entry is None:
                        entry = recommend[item_id] = {"strength": strength, "refs": [], "rules": []}
                    elif STRENGTH_RANK[strength] < STRENGTH_RANK[entry["strength"]]:
                        entry["strength"] = strength
                    entry["refs"].append((rule, strength))
                    entry["rules"].append(rule)
            for item_id in rule.advise_against:
                entry = against.setdefault(item_id, {"strength": None, "refs": [], "rules": []})
                entry["refs"].append((rule, "advise_against"))
                entry["rules"].append(rule)

        requested = list(env.get(p.request_question) or []) if p.request_question else []
        self.requested_list = requested
        for item_id in requested:
            if item_id not in recommend and item_id not in against:
                against[item_id] = {"strength": None, "refs": [(None, "not_indicated")], "rules": [],
                                    "unrequested": True}
        self.request_text = tier_def.preempt_reason if tier_def.preempts and tier_def.preempt_reason \
            else p.unrequested_reason or NO_RULE_FOR_REQUEST

        req = self.requested = set(requested)
        rank, index = p.tier_rank, self.plan.catalogue_index
        self.recommended = [(i, recommend[i]) for i in sorted(recommend, key=lambda i: (rank[p.catalogue[i].tier],
                                                                                        index[i]))
                            if i not in against]
        self.not_recommended = []
        for item_id in sorted(against, key=lambda i: (i not in req, index[i])):
            entry = against[item_id]
            if item_id in recommend:  # a contraindication wins; both sides' reasons are kept
                rec = recommend[item_id]
                entry = {**entry, "refs": entry["refs"] + rec["refs"], "rules": entry["rules"] + rec["rules"]}
            self.not_recommended.append((item_id, entry))

        roles = set()
        for item_id, _ in self.recommended:
            roles.update(p.catalogue[item_id].care_team)
        for rule in self.contributing:
            roles.update(rule.care_team)
        role_index = self.plan.role_index
        self.care_team = sorted(roles, key=lambda r: role_index.get(r, len(role_index)))

        self.follow_up = follow_up(tier_def, self.contributing)

    def _top(self) -> list[tuple[str, Any]]:
        """The result's keys in contract order; `None` values mark the two item lists."""
        p, env = self.p, self.env
        warnings = [w.as_dict() for w in self.checked.warnings]
        warnings += [{"rule": r.id, "message": r.warning} for r in self.contributing if r.warning]
        return [
            ("format_version", FORMAT_VERSION), ("id", self.record_id), ("status", "ok"), ("pathway", None),
            ("tier", self.tier), ("tier_title", p.tier(self.tier).title),
            ("scores", {s.id: plain(env.get(s.id)) for s in p.scores}),
            ("red_flags", list(env.get(p.red_flag_question) or []) if p.red_flag_question else []),
            ("recommendations", None), ("not_recommended", None), ("care_team", self.care_team),
            ("follow_up", self.follow_up), ("warnings", warnings),
            ("rules_fired", [r.id for r in self.contributing]), ("disclaimer", None),
        ]

    # --- as Python data -------------------------------------------------------------------------
    def as_dict(self) -> dict:
        out: dict = {}
        for key, value in self._top():
            if key == "pathway":
                value = {"id": self.p.id, "version": self.p.version, "sha256": self.p.sha256}
            elif key == "recommendations":
                value = [self._item_dict(i, e) for i, e in self.recommended]
            elif key == "not_recommended":
                value = [self._item_dict(i, e) for i, e in self.not_recommended]
            elif key == "disclaimer":
                value = self.p.disclaimer
            out[key] = value
        return out

    def _item_dict(self, item_id: str, entry: dict) -> dict:
        recommended = self._is_recommended(entry)
        out = _item_header(self.p, item_id, entry["strength"] if recommended else None, item_id in self.requested)
        out["reasons"] = [self._reason_dict(rule, effect, recommended=recommended) for rule, effect in entry["refs"]]
        out["sources"] = [dict(s) for s in self.plan.sources(item_id, entry["rules"], entry.get("unrequested", False))]
        if item_id in self.plan.notes:
            out["advisory_notes"] = list(self.plan.notes[item_id])
        return out

    @staticmethod
    def _is_recommended(entry: dict) -> bool:
        return all(effect in STRENGTH_RANK for _, effect in entry["refs"])

    def _reason_dict(self, rule: Rule | None, effect: str, *, recommended: bool) -> dict:
        if rule is None:
            return {"rule": REQUEST_RULE, "text": self.request_text,
                    "because": {self.p.request_question: list(self.requested_list)}, "effect": effect}
        out = {"rule": rule.id, "text": reason_text(self.p, rule, self.env), "because": dict(self.because(rule))}
        if not recommended:
            out["effect"] = effect
        return out

    # --- reasons --------------------------------------------------------------------------------
    def because(self, rule: Rule) -> dict:
        """The answers, facts and scores that made `rule` fire, derived facts traced to their own inputs."""
        out = self._because.get(rule.id)
        if out is None:
            env = self.env
            names = because_names(rule.when, env, self.plan.expr_facts, self._traces)
            answered = self.plan.pathway.questions  # answers are shown as given (audit); facts and scores rounded
            out = self._because[rule.id] = {name: as_answered(env[name]) if name in answered else plain(env[name])
                                            for name in names}
        return out


def because_names(when, env: Mapping[str, Any], expr_facts: Mapping[str, Any], traces: dict) -> list[str]:
    """The names a rule's `because` lists, in order: each name of `when` that made it true and has a value, a
    derived fact followed by the names its value came from (recursively), each name once. `traces` memoises
    the derived facts' traces for one record."""
    out: dict[str, None] = {}
    for name in when.names if when.explains_all else when.explain(env):
        if name in out or env.get(name) is None:
            continue
        out[name] = None
        if name in expr_facts:
            for inner in _trace(name, env, expr_facts, traces):
                if inner not in out:
                    out[inner] = None
    return list(out)


def _trace(fact: str, env: Mapping[str, Any], expr_facts: Mapping[str, Any], traces: dict) -> list[str]:
    """The names (with a value) a derived fact's value came from, recursively; repeats are dropped later."""
    trace = traces.get(fact)
    if trace is None:
        expr = expr_facts[fact]
        trace = []
        for name in expr.names if expr.explains_all else expr.explain(env):
            if env.get(name) is None:
                continue
            trace.append(name)
            if name in expr_facts:
                trace.extend(_trace(name, env, expr_facts, traces))
        traces[fact] = trace
    return trace


def follow_up(tier: Tier, rules) -> dict:
    """The result's follow-up: the soonest review of the tier and the rules, and every safety net once."""
    review = tier.follow_up.review_in_weeks
    nets = [tier.follow_up.safety_net] if tier.follow_up.safety_net else []
    for rule in rules:
        if rule.follow_up is not None:
            if rule.follow_up.review_in_weeks is not None:
                review = rule.follow_up.review_in_weeks if review is None \
                    else min(review, rule.follow_up.review_in_weeks)
            if rule.follow_up.safety_net and rule.follow_up.safety_net not in nets:
                nets.append(rule.follow_up.safety_net)
    return {"review_in_weeks": plain(review), "safety_net": " ".join(nets)}


def _item_header(p: Pathway, item_id: str, strength: str | None, requested: bool) -> dict:
    """An item's fields before its reasons; `strength` is None for an item not recommended."""
    item = p.catalogue[item_id]
    out: dict = {"id": item_id, "title": item.title}
    if strength is not None:
        out["strength"] = strength
        out["tier"] = item.tier
        out["category"] = item.category
        out["care_team"] = list(item.care_team)
        if item.timeframe:
            out["timeframe"] = item.timeframe
    else:
        out["category"] = item.category
    out["requested"] = requested
    return out


def reason_text(pathway: Pathway, rule: Rule, env: Mapping[str, Any]) -> str:
    """A rule's reason with its {placeholders} filled in from answers, facts and scores (options by label)."""
    if not rule.reason_names:
        return rule.reason
    return rule.reason.format(**{n: show_value(pathway, n, env.get(n)) for n in rule.reason_names})


def show_value(pathway: Pathway, name: str, value: Any) -> str:
    """One value as a reason shows it: yes/no, option labels, plain numbers, "not answered"."""
    q = pathway.questions.get(name)
    if value is None:
        return "not answered"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if not value:
            return "none"
        return ", ".join(q.label_of(v) if q else str(v) for v in value)
    if isinstance(value, str):
        return q.label_of(value) if q else value.replace("_", " ")
    return str(as_answered(value) if q else plain(value))


def as_answered(value: Any) -> Any:
    """An answer as `because` shows it: exactly as given (12.004 weeks stays 12.004), a whole float as a whole
    number (12.0 -> 12, as `plain` shows it), a list copied."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return list(value) if isinstance(value, list) else value


def plain(value: Any) -> Any:
    """Numbers as people read them: 12.0 -> 12, 51.8076923 -> 51.81."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return round(value, 2)
    if isinstance(value, list):
        return list(value)
    return value
