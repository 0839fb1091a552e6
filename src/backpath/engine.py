"""The engine: (pathway, answers) -> result. Pure: no files, terminal, clock or randomness.

`assess` returns the result as JSON-ready data in the shape of the contract (§5), so batch jobs,
Spark/Dask tasks and the CLI all serialise exactly the same thing.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from .answers import CheckedAnswers, check_answers
from .model import Derived, Pathway, Question, Rule, Score

FORMAT_VERSION = 1
_STRENGTH_RANK = {"offer": 0, "consider": 1}
_NO_RULE_FOR_REQUEST = "Requested, but no rule of this pathway recommends it for these answers."


class _Plan:
    """Everything about a pathway the engine can work out once, before the first record."""

    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        facts: dict[str, Derived | Score] = {d.id: d for d in pathway.derived}
        facts.update({s.id: s for s in pathway.scores})
        self.facts = [facts[f] for f in pathway.facts_order]
        self.fact_ids = set(facts)
        deps = {f.id: _fact_names(f) for f in self.facts}
        self.ask_when_facts: dict[str, list[Derived | Score]] = {}
        for q in pathway.question_list():
            if q.ask_when is not None:
                needed = _closure(q.ask_when.names, deps)
                self.ask_when_facts[q.id] = [f for f in self.facts if f.id in needed]
        self.expr_facts = {d.id: d.expr for d in pathway.derived if d.expr is not None}
        self.catalogue_index = {item_id: i for i, item_id in enumerate(pathway.catalogue)}
        self.role_index = {role: i for i, (role, _) in enumerate(pathway.care_roles)}
        self.questions = pathway.questions
        self.notes: dict[str, list[str]] = {}
        for note in pathway.advisory_notes:
            for item in note.items:
                self.notes.setdefault(item, []).append(note.id)
        self.item_sources = {i.id: [c.as_dict() for c in i.sources] for i in pathway.catalogue.values()}
        self.rule_sources = {r.id: [c.as_dict() for c in r.sources] for r in pathway.rules}
        self.unrequested_sources = [c.as_dict() for c in pathway.unrequested_sources]
        self._merged_sources: dict[tuple, list[dict]] = {}

    def sources(self, item_id: str, rules: list[Rule], unrequested: bool) -> list[dict]:
        """The item's own citations, then those of the rules that produced it, without repeats (memoised)."""
        key = (item_id, tuple(r.id for r in rules), unrequested)
        merged = self._merged_sources.get(key)
        if merged is None:
            merged = list(self.item_sources[item_id])
            seen = {(s["id"], s["section"]) for s in merged}
            extras = [s for rule in rules for s in self.rule_sources[rule.id]]
            for extra in extras + (self.unrequested_sources if unrequested else []):
                if (extra["id"], extra["section"]) not in seen:
                    seen.add((extra["id"], extra["section"]))
                    merged.append(extra)
            self._merged_sources[key] = merged
        return merged

    def facts_for_ask_when(self, q: Question, env: Mapping[str, Any]) -> Mapping[str, Any]:
        needed = self.ask_when_facts.get(q.id)
        if not needed:
            return env
        scratch = dict(env)
        for f in needed:
            scratch[f.id] = _fact_value(f, scratch)
        return scratch


_plans: weakref.WeakKeyDictionary[Pathway, _Plan] = weakref.WeakKeyDictionary()


def _plan(pathway: Pathway) -> _Plan:
    plan = _plans.get(pathway)
    if plan is None:
        plan = _plans[pathway] = _Plan(pathway)
    return plan


def check(pathway: Pathway, answers: Any) -> CheckedAnswers:
    """Check answers only (types, ranges, options, required-ness with ask_when)."""
    return check_answers(pathway, answers, _plan(pathway).facts_for_ask_when)


def compute_facts(pathway: Pathway, values: Mapping[str, Any]) -> dict[str, Any]:
    """Answers plus every derived fact and score (missing ones are None)."""
    env = dict(values)
    for f in _plan(pathway).facts:
        env[f.id] = _fact_value(f, env)
    return env


def is_asked(pathway: Pathway, question: Question, values: Mapping[str, Any]) -> bool:
    """Whether `question` applies given the answers so far (its ask_when is true)."""
    if question.ask_when is None:
        return True
    return question.ask_when.fn(_plan(pathway).facts_for_ask_when(question, values)) is True


def fired_rules(pathway: Pathway, env: Mapping[str, Any]) -> list[Rule]:
    return [r for r in pathway.rules if r.when.fn(env) is True]


def decide(pathway: Pathway, env: Mapping[str, Any]) -> tuple[str, list[Rule]]:
    """The result tier and the rules that contribute to the plan.

    The tier is the most urgent tier of any rule that fired. When that tier preempts (emergency), only
    `scope: always` rules and rules of that tier contribute; otherwise every rule that fired does.
    """
    fired = [r for r in pathway.rules if r.when.fn(env) is True]
    tier = min((r.tier for r in fired if r.tier is not None), key=pathway.tier_rank.__getitem__,
               default=pathway.default_tier)
    if pathway.tier(tier).preempts:
        return tier, [r for r in fired if r.scope == "always" or r.tier == tier]
    return tier, fired


def assess(pathway: Pathway, answers: Any, *, record_id: Any = None) -> dict:
    """Assess one set of answers. Invalid answers give a result with status "error"; never raises for them."""
    plan = _plan(pathway)
    checked = check_answers(pathway, answers, plan.facts_for_ask_when)
    if checked.problems:
        return error_result(record_id, [p.as_dict() for p in checked.problems])
    env = checked.values
    for f in plan.facts:
        env[f.id] = _fact_value(f, env)
    return _Result(plan, env, checked, record_id).build()


def error_result(record_id: Any, errors: list[dict]) -> dict:
    return {"format_version": FORMAT_VERSION, "id": record_id, "status": "error", "errors": errors}


class _Result:
    def __init__(self, plan: _Plan, env: dict, checked: CheckedAnswers, record_id: Any):
        self.plan = plan
        self.p = plan.pathway
        self.env = env
        self.checked = checked
        self.record_id = record_id
        self._reasons: dict[tuple, dict] = {}
        self._traces: dict[str, list[tuple[str, Any]]] = {}

    def build(self) -> dict:
        p, env = self.p, self.env
        rank = p.tier_rank
        tier, contributing = decide(p, env)
        tier_def = p.tier(tier)

        recommend: dict[str, dict] = {}
        against: dict[str, dict] = {}
        for rule in contributing:
            for strength, ids in (("offer", rule.offer), ("consider", rule.consider)):
                for item_id in ids:
                    entry = recommend.get(item_id)
                    if entry is None:
                        entry = recommend[item_id] = {"strength": strength, "reasons": [], "rules": []}
                    elif _STRENGTH_RANK[strength] < _STRENGTH_RANK[entry["strength"]]:
                        entry["strength"] = strength
                    entry["reasons"].append(self.reason(rule, strength))
                    entry["rules"].append(rule)
            for item_id in rule.advise_against:
                entry = against.setdefault(item_id, {"reasons": [], "rules": []})
                entry["reasons"].append(self.reason(rule, "advise_against"))
                entry["rules"].append(rule)

        requested = list(env.get(p.request_question) or []) if p.request_question else []
        for item_id in requested:
            if item_id not in recommend and item_id not in against:
                text = tier_def.preempt_reason if tier_def.preempts and tier_def.preempt_reason \
                    else p.unrequested_reason or _NO_RULE_FOR_REQUEST
                against[item_id] = {"reasons": [{"rule": "request-not-indicated", "text": text, "because":
                                                 {p.request_question: requested}, "effect": "not_indicated"}],
                                    "rules": [], "unrequested": True}

        req = set(requested)
        recommendations = []
        for item_id in sorted(recommend, key=lambda i: (rank[p.catalogue[i].tier], self.plan.catalogue_index[i])):
            if item_id in against:
                continue
            recommendations.append(self.item_entry(item_id, recommend[item_id], req, recommended=True))
        not_recommended = []
        for item_id in sorted(against, key=lambda i: (i not in req, self.plan.catalogue_index[i])):
            entry = against[item_id]
            if item_id in recommend:
                # a contraindication wins; keep both sides' reasons
                for r in recommend[item_id]["reasons"]:
                    entry["reasons"].append({**r, "effect": recommend[item_id]["strength"]})
                entry["rules"] = entry["rules"] + recommend[item_id]["rules"]
            not_recommended.append(self.item_entry(item_id, entry, req, recommended=False))

        roles = set()
        for rec in recommendations:
            roles.update(rec["care_team"])
        for rule in contributing:
            roles.update(rule.care_team)
        care_team = sorted(roles, key=lambda r: self.plan.role_index.get(r, len(self.plan.role_index)))

        review = tier_def.follow_up.review_in_weeks
        nets = [tier_def.follow_up.safety_net] if tier_def.follow_up.safety_net else []
        for rule in contributing:
            if rule.follow_up is not None:
                if rule.follow_up.review_in_weeks is not None:
                    review = rule.follow_up.review_in_weeks if review is None \
                        else min(review, rule.follow_up.review_in_weeks)
                if rule.follow_up.safety_net and rule.follow_up.safety_net not in nets:
                    nets.append(rule.follow_up.safety_net)

        warnings = [w.as_dict() for w in self.checked.warnings]
        warnings += [{"rule": r.id, "message": r.warning} for r in contributing if r.warning]

        return {
            "format_version": FORMAT_VERSION,
            "id": self.record_id,
            "status": "ok",
            "pathway": {"id": p.id, "version": p.version, "sha256": p.sha256},
            "tier": tier,
            "tier_title": tier_def.title,
            "scores": {s.id: _plain(env.get(s.id)) for s in p.scores},
            "red_flags": list(env.get(p.red_flag_question) or []) if p.red_flag_question else [],
            "recommendations": recommendations,
            "not_recommended": not_recommended,
            "care_team": care_team,
            "follow_up": {"review_in_weeks": _plain(review), "safety_net": " ".join(nets)},
            "warnings": warnings,
            "rules_fired": [r.id for r in contributing],
            "disclaimer": p.disclaimer,
        }

    def item_entry(self, item_id: str, entry: dict, requested: set, *, recommended: bool) -> dict:
        item = self.p.catalogue[item_id]
        sources = self.plan.sources(item_id, entry["rules"], entry.get("unrequested", False))
        out: dict = {"id": item_id, "title": item.title}
        if recommended:
            out["strength"] = entry["strength"]
            out["tier"] = item.tier
            out["category"] = item.category
            out["care_team"] = list(item.care_team)
            if item.timeframe:
                out["timeframe"] = item.timeframe
        else:
            out["category"] = item.category
        out["requested"] = item_id in requested
        out["reasons"] = entry["reasons"]
        out["sources"] = sources
        if item_id in self.plan.notes:
            out["advisory_notes"] = self.plan.notes[item_id]
        return out

    def reason(self, rule: Rule, effect: str) -> dict:
        """The reason a rule gives (made once per rule and record; items of one rule share it)."""
        key = (rule.id, effect == "advise_against")
        reason = self._reasons.get(key)
        if reason is None:
            reason = {"rule": rule.id, "text": reason_text(self.p, rule, self.env), "because": self.because(rule)}
            if effect == "advise_against":
                reason["effect"] = effect
            self._reasons[key] = reason
        return reason

    def because(self, rule: Rule) -> dict:
        """The answers, facts and scores that made `rule` fire, derived facts traced to their own inputs."""
        when = rule.when
        names = when.names if when.explains_all else when.explain(self.env)
        out: dict = {}
        env = self.env
        for name in names:
            if name in out:
                continue
            value = env.get(name)
            if value is None:
                continue
            out[name] = _plain(value)
            if name in self.plan.expr_facts:
                for inner, inner_value in self.fact_trace(name):
                    if inner not in out:
                        out[inner] = inner_value
        return out

    def fact_trace(self, fact: str) -> list[tuple[str, Any]]:
        """(name, value) of everything a derived fact's value came from, recursively (memoised per record)."""
        trace = self._traces.get(fact)
        if trace is None:
            expr = self.plan.expr_facts[fact]
            trace = []
            for name in expr.names if expr.explains_all else expr.explain(self.env):
                value = self.env.get(name)
                if value is None:
                    continue
                trace.append((name, _plain(value)))
                if name in self.plan.expr_facts:
                    trace.extend(self.fact_trace(name))
            self._traces[fact] = trace
        return trace


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
    return str(_plain(value))


def _plain(value: Any) -> Any:
    """Numbers as people read them: 12.0 -> 12, 51.8076923 -> 51.81."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return round(value, 2)
    if isinstance(value, list):
        return list(value)
    return value


def _fact_value(f: Derived | Score, env: Mapping[str, Any]) -> Any:
    if isinstance(f, Derived):
        if f.expr is not None:
            return f.expr.fn(env)
        return _cases(f.cases, env)
    if f.cases:
        return _cases(f.cases, env)
    total: float = 0
    for item in f.items:
        if item.question is not None:
            value = env.get(item.question)
            if value is None:
                return None
            if item.values is not None:
                points = item.values
                if isinstance(value, list):
                    total += sum(points.get(v, 0) for v in value)
                else:
                    total += points.get(value, 0)
            elif isinstance(value, bool):
                total += 1 if value else 0
            else:
                total += value
        else:
            hit = item.when.fn(env)
            if hit is None:
                return None
            if hit:
                total += item.points
    return total


def _cases(cases, env) -> Any:
    for case in cases:
        if case.when is None:
            return case.value
        hit = case.when.fn(env)
        if hit is None:
            return None
        if hit:
            return case.value
    return None


def _fact_names(f: Derived | Score) -> set[str]:
    names: set[str] = set()
    if isinstance(f, Derived) and f.expr is not None:
        names |= set(f.expr.names)
    for case in getattr(f, "cases", ()):
        if case.when is not None:
            names |= set(case.when.names)
    for item in getattr(f, "items", ()):
        if item.when is not None:
            names |= set(item.when.names)
        if item.question is not None:
            names.add(item.question)
    return names


def _closure(names, deps: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n in deps and n not in out:
            out.add(n)
            stack.extend(deps[n])
    return out
