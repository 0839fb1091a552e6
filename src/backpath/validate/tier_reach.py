"""Tiers that no answers can make the result (a check of `backpath validate`).

The result tier is the most urgent tier of every rule that fired (the default tier when none did). Rules are not a
first-hit table: every rule whose condition is true fires. So a rule of a more urgent tier whose condition is
always true (a catch-all `when: "true"`, as a literal translation of a first-hit table's last row would have)
hides every less urgent tier: their rules still fire, but the result is never theirs.

A tier is reachable when some answer set of the sample (or of a targeted search) gives it as the result. For one
that is not, the finding names the more urgent rules that fire for every answer set found. It is an error when a
rule whose condition reads no answer at all (a constant such as `true`) hides the tier, and a warning otherwise
(the search may miss a narrow combination of answers, as for rules that never fire).
"""

from __future__ import annotations

from backpath.core.engine import decide
from backpath.core.errors import Finding
from backpath.core.model import Pathway, Rule, Tier
from backpath.validate.answerspace import AnswerSpace, Goal, Point
from backpath.validate.lint import Locator


def reachable_tiers(pathway: Pathway, sample: list[Point]) -> set[str]:
    return {decide(pathway, p.env)[0] for p in sample}


def _witness(space: AnswerSpace, sample: list[Point], tier: Tier) -> Point | None:
    """Answers whose result is `tier`, or None when the search found none."""
    pathway = space.pathway
    rank = pathway.tier_rank[tier.id]
    urgent = [Goal(r.when, want=False) for r in pathway.rules
              if r.tier is not None and pathway.tier_rank[r.tier] < rank]
    attempts = [[Goal(r.when), *urgent] for r in pathway.rules if r.tier == tier.id]
    if tier.id == pathway.default_tier:  # no tiered rule fires at all
        attempts.append([Goal(r.when, want=False) for r in pathway.rules if r.tier is not None])
    for goals in attempts:
        found = space.search(goals, sample)
        if found is not None and decide(pathway, found.env)[0] == tier.id:
            return found
    return None


def _always_firing(space: AnswerSpace, sample: list[Point], rules: list[Rule]) -> list[Rule]:
    """Those of `rules` that fired for every answer set of the sample and that no search could stop firing."""
    return [r for r in rules if all(r.when.fn(p.env) is True for p in sample)
            and space.search([Goal(r.when, want=False)], sample) is None]


def unreachable_tiers(space: AnswerSpace, sample: list[Point], where: Locator) -> list[Finding]:
    """A finding at each tier that no answers found make the result."""
    pathway = space.pathway
    reached = reachable_tiers(pathway, sample)
    out = []
    for index, tier in enumerate(pathway.tiers):
        if tier.id in reached or _witness(space, sample, tier) is not None:
            continue
        rank = pathway.tier_rank[tier.id]
        own = [r for r in pathway.rules if r.tier == tier.id]
        urgent = [r for r in pathway.rules if r.tier is not None and pathway.tier_rank[r.tier] < rank]
        always = _always_firing(space, sample, urgent)
        path = ("tiers", index, "id")
        if not own and tier.id != pathway.default_tier:
            out.append(where.finding(path, f"tier `{tier.id}` can never be the result: no rule sets it and it is not "
                                     "the `default_tier`. Add a rule with this tier, or remove the tier.",
                                     "tier-unreachable", "warning", tier.id))
            continue
        how = "whenever its rules fire" if own else "for every answer set"
        if tier.id == pathway.default_tier:
            how = "whenever its rules fire or no tiered rule fires" if own else "because a tiered rule always fires"
        if always:
            names = ", ".join(f"`{r.id}` (tier `{r.tier}`, when `{r.when.text}`)" for r in always)
            constant = [r for r in always if not r.when.names]
            message = (f"tier `{tier.id}` can never be the result: {names} fire{'s' if len(always) == 1 else ''} "
                       f"for every answer set, and the most urgent tier of the rules that fire wins. Rules are not "
                       f"tried in order (not first-hit): narrow that condition so it excludes the answers meant for "
                       f"`{tier.id}`, or give the rule no tier.")
            severity = "error" if constant else "warning"
        else:
            message = (f"tier `{tier.id}` can never be the result: no answers found that give it ({how}, a rule of "
                       f"a more urgent tier fires too, and the most urgent tier wins; searched {space.evaluations} "
                       "answer sets). Check the conditions of the more urgent rules against this tier's rules.")
            severity = "warning"
        out.append(where.finding(path, message, "tier-unreachable", severity, tier.id,
                                 details={"tier": tier.id, "always_firing": [r.id for r in always]}))
    return out
