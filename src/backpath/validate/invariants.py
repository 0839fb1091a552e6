"""Checking a pathway's safety invariants by searching its answer space for a counterexample.

For each invariant, in order: every answer set of the sample where it applies; then a targeted search
for the answers most likely to break it — for `never_recommended: [X]`, answers that fire each rule
offering or considering X; for `recommended_only_when`, answers that fire each such rule while the
condition is not true; for `recommended: [X]`, answers that fire each rule advising against X; for
`recommended_only_with_warning`, answers that fire each rule offering or considering one of its items — and the
one-factor neighbourhood of what that search finds and of a sample witness. A counterexample is shrunk
towards the lowest answers, confirmed with `engine.assess`, and returned as an answers object that
`backpath assess --answers` accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backpath.core import engine
from backpath.core.model import Invariant, Pathway
from backpath.validate.answerspace import AnswerSpace, Goal, Point

NEIGHBOURHOODS = 2
"""Sample witnesses of an invariant's `when` whose one-factor neighbourhoods are searched."""


@dataclass(frozen=True)
class Violation:
    """A valid answer set for which an invariant does not hold."""

    invariant: Invariant
    problem: str
    answers: dict


def decision(pathway: Pathway, env) -> tuple[str, frozenset[str]]:
    """The result tier and the recommended item ids, from the engine's own decision, without building the result.

    The search calls this for every answer set; every violation it finds is confirmed with `engine.assess`
    before it is reported.
    """
    tier, recommended, _ = decision_with_warnings(pathway, env)
    return tier, recommended


def decision_with_warnings(pathway: Pathway, env) -> tuple[str, frozenset[str], frozenset[str]]:
    """`decision`, plus the ids of the contributing rules that give a warning (those the result's `warnings`
    name)."""
    tier, fired = engine.decide(pathway, env)
    recommended: set[str] = set()
    against: set[str] = set()
    for r in fired:
        recommended.update(r.offer)
        recommended.update(r.consider)
        against.update(r.advise_against)
    return tier, frozenset(recommended - against), frozenset(r.id for r in fired if r.warning)


def applies(inv: Invariant, env) -> bool:
    return inv.when is None or inv.when.fn(env) is True


def violations(pathway: Pathway, inv: Invariant, env, tier: str, recommended: Iterable[str],
               warned: Iterable[str] = ()) -> list[tuple]:
    """How the outcome (tier, recommended ids, ids of the rules whose warning is shown) breaks `inv`, as (what,
    item or rule id or None); empty when it holds. The caller checked that it applies."""
    rec = set(recommended)
    out: list[tuple] = []
    if inv.tier is not None and tier != inv.tier:
        out.append(("tier", None))
    if inv.tier_at_least is not None and pathway.tier_rank[tier] > pathway.tier_rank[inv.tier_at_least]:
        out.append(("tier_at_least", None))
    out += [("not_recommended", x) for x in inv.recommended if x not in rec]
    out += [("recommended", x) for x in inv.never_recommended if x in rec]
    if inv.only_when_items:
        assert inv.only_when is not None  # the items come with their condition (`recommended_only_when`)
        if inv.only_when.fn(env) is not True:
            out += [("only_when", x) for x in inv.only_when_items if x in rec]
    if any(x in rec for x in inv.warned_items):
        shown = set(warned)
        out += [("warning", r) for r in inv.warning_rules if r not in shown]
    return out


def broken(pathway: Pathway, inv: Invariant, env, tier: str, recommended: Iterable[str],
           warned: Iterable[str] = ()) -> bool:
    """Whether the outcome (tier, recommended ids, rules whose warning is shown) breaks `inv`; the caller
    checked that it applies."""
    return bool(violations(pathway, inv, env, tier, recommended, warned))


def describe(pathway: Pathway, inv: Invariant, env, result: dict) -> str:
    """What the engine's result does wrong, in words, naming the rules responsible."""
    tier = result["tier"]
    rec = {r["id"]: r for r in result["recommendations"]}
    against = {r["id"]: r for r in result["not_recommended"]}
    fired = ", ".join(result["rules_fired"]) or "none"

    def by(entry: dict) -> str:
        rules = sorted({r["rule"] for r in entry["reasons"]})
        return ", ".join(f"`{r}`" for r in rules)

    problems = []
    warned = [w["rule"] for w in result["warnings"] if w.get("rule")]
    for what, x in violations(pathway, inv, env, tier, rec, warned):
        if what == "tier":
            problems.append(f"the tier is `{tier}`, not `{inv.tier}` (rules fired: {fired})")
        elif what == "tier_at_least":
            problems.append(f"the tier is `{tier}`, less urgent than `{inv.tier_at_least}` (rules fired: {fired})")
        elif what == "not_recommended":
            problems.append(f"`{x}` is not recommended" + (f" (advised against by {by(against[x])})"
                                                           if x in against else " (no rule that fired offers it)"))
        elif what == "recommended":
            problems.append(f"`{x}` is recommended ({rec[x]['strength']}) by {by(rec[x])}")
        elif what == "warning":
            shown = ", ".join(f"`{i}`" for i in inv.warned_items if i in rec)
            problems.append(f"{shown} is recommended but the warning of rule `{x}` is not shown "
                            f"(rules fired: {fired})")
        else:
            assert inv.only_when is not None  # an "only_when" problem comes only from an invariant with one
            state = "unknown" if inv.only_when.fn(env) is None else "false"
            problems.append(f"`{x}` is recommended ({rec[x]['strength']}) by {by(rec[x])} although "
                            f"`{inv.only_when.text}` is {state}")
    return "; ".join(problems)


class _Checker:
    def __init__(self, space: AnswerSpace, sample: list[Point]):
        self.space = space
        self.pathway = space.pathway
        self.sample = sample
        self._decisions: dict[tuple, tuple[str, frozenset[str], frozenset[str]]] = {}

    def decide(self, p: Point) -> tuple[str, frozenset[str], frozenset[str]]:
        d = self._decisions.get(p.genome)
        if d is None:
            d = self._decisions[p.genome] = decision_with_warnings(self.pathway, p.env)
        return d

    def violates(self, inv: Invariant, p: Point) -> bool:
        return applies(inv, p.env) and broken(self.pathway, inv, p.env, *self.decide(p))

    def check(self, inv: Invariant) -> Violation | None:
        witnesses = []
        for p in self.sample:
            if applies(inv, p.env):
                if broken(self.pathway, inv, p.env, *self.decide(p)):
                    return self.confirm(inv, p)
                witnesses.append(p)
        starts = [witnesses[i * len(witnesses) // NEIGHBOURHOODS] for i in range(NEIGHBOURHOODS)] if witnesses \
            else []
        for goals in self.targets(inv):
            found = self.space.search(goals, witnesses or self.sample)
            if found is not None:
                starts.insert(0, found)
        seen = set()
        for start in starts:
            if start.genome in seen:
                continue
            seen.add(start.genome)
            for candidate in (start.genome, *self.space.neighbours(start.genome)):
                p = self.space.point(candidate)
                if self.violates(inv, p):
                    return self.confirm(inv, p)
        return None

    def targets(self, inv: Invariant) -> list[list[Goal]]:
        base = [Goal(inv.when)] if inv.when is not None else []
        out = [base] if base else []
        rules = self.pathway.rules
        for x in inv.never_recommended:
            out += [base + [Goal(r.when)] for r in rules if x in r.offer or x in r.consider]
        for x in inv.only_when_items:
            assert inv.only_when is not None  # the items come with their condition (`recommended_only_when`)
            out += [base + [Goal(r.when), Goal(inv.only_when, want=False)] for r in rules
                    if x in r.offer or x in r.consider]
        for x in inv.recommended:
            out += [base + [Goal(r.when)] for r in rules if x in r.advise_against]
        for x in inv.warned_items:
            out += [base + [Goal(r.when)] for r in rules if x in r.offer or x in r.consider]
        return out

    def confirm(self, inv: Invariant, p: Point) -> Violation | None:
        p = self.shrink(inv, p)
        result = engine.assess(self.pathway, p.answers)
        if result["status"] != "ok" or not broken(self.pathway, inv, p.env, result["tier"],
                                                  (r["id"] for r in result["recommendations"]),
                                                  (w["rule"] for w in result["warnings"] if w.get("rule"))):
            return None  # pragma: no cover - `decision` and the engine disagree; a test guards this
        return Violation(inv, describe(self.pathway, inv, p.env, result), p.answers)

    def shrink(self, inv: Invariant, p: Point) -> Point:
        """Move each answer towards the lowest candidate while the invariant stays broken."""
        low = self.space.bases()[0]
        genome = p.genome
        for i in range(len(genome)):
            changed = True
            while changed:
                changed = False
                options = [low[i]]
                if isinstance(genome[i], tuple):
                    options += [tuple(o for o in genome[i] if o != drop) for drop in genome[i]]
                for v in options:
                    if v == genome[i]:
                        continue
                    candidate = genome[:i] + (v,) + genome[i + 1:]
                    if self.violates(inv, self.space.point(candidate)):
                        genome, changed = candidate, True
                        break
        return self.space.point(genome)


def check_invariants(space: AnswerSpace, sample: list[Point]) -> list[Violation]:
    """One violation (with a shrunk counterexample) per broken invariant, in pathway order."""
    checker = _Checker(space, sample)
    out = []
    for inv in space.pathway.invariants:
        v = checker.check(inv)
        if v is not None:
            out.append(v)
    return out
