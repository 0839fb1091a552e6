"""The engine: (pathway, answers) -> result. Pure: no files, terminal, clock or randomness.

`assess` returns the result as JSON-ready data in the shape of the contract (§5), so batch jobs,
Spark/Dask tasks and the CLI all serialise exactly the same thing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from backpath.core.answers import CheckedAnswers, check_answers
from backpath.core.model import Pathway, Question, Rule
from backpath.core.outline import FORMAT_VERSION
from backpath.core.plan import Plan
from backpath.core.reasons import reason_text, show_value  # noqa: F401 (re-exported)
from backpath.core.report import result_dict

_plans: weakref.WeakKeyDictionary[Pathway, Plan] = weakref.WeakKeyDictionary()


def _plan(pathway: Pathway) -> Plan:
    """The pathway's plan, made once (its JSON writer when first used) and kept while the pathway lives."""
    plan = _plans.get(pathway)
    if plan is None:
        plan = _plans[pathway] = Plan(pathway)
        plan.make_writer = _result_writer
    return plan


def _result_writer(plan: Plan) -> Any:
    from backpath.core.result_json import ResultWriter  # here: `assess` (one result, as a dict) needs none

    return ResultWriter(plan)


def check(pathway: Pathway, answers: Any) -> CheckedAnswers:
    """Check answers only (types, ranges, options, required-ness with ask_when)."""
    return check_answers(pathway, answers, _plan(pathway).asks)


def complete(pathway: Pathway, answers: Any) -> bool:
    """Whether the answers need no words at all: every one valid and asked, every required question asked
    answered, nothing to warn of (the compiled `Program.run` takes them). `check` would then find nothing
    missing; this asks without compiling the checker's functions (`clean`, `evaluate`, the `ask when`s: about
    11 ms of a ~160 ms `assess --format json`), and `assess` reuses the `run` it compiles."""
    return _plan(pathway).program.run(answers) is not None


def compute_facts(pathway: Pathway, values: Mapping[str, Any]) -> dict[str, Any]:
    """Answers plus every derived fact and score (missing ones are None)."""
    env = dict(values)
    _plan(pathway).program.evaluate(env)
    return env


def is_asked(pathway: Pathway, question: Question, values: Mapping[str, Any]) -> bool:
    """Whether `question` applies given the answers so far (its ask_when is true)."""
    return applies(pathway, question, values) is True


def applies(pathway: Pathway, question: Question, values: Mapping[str, Any]) -> bool | None:
    """Whether `question` applies given the answers so far: True, False, or None when its ask_when cannot be
    known yet (it reads an answer not given)."""
    return _plan(pathway).asks(question, values)


def fired_rules(pathway: Pathway, env: Mapping[str, Any]) -> list[Rule]:
    """Every rule whose condition is true (unknown does not fire)."""
    return [r for r in pathway.rules if r.when.fn(env) is True]


def decide(pathway: Pathway, env: Mapping[str, Any]) -> tuple[str, list[Rule]]:
    """The result tier and the rules that contribute to the plan.

    The tier is the most urgent tier of any rule that fired. When that tier preempts (emergency), only
    `scope: always` rules and rules of that tier contribute; otherwise every rule that fired does.
    """
    fired = fired_rules(pathway, env)
    tier = min((r.tier for r in fired if r.tier is not None), key=pathway.tier_rank.__getitem__,
               default=pathway.default_tier)
    if pathway.tier(tier).preempts:
        return tier, [r for r in fired if r.scope == "always" or r.tier == tier]
    return tier, fired


def assess(pathway: Pathway, answers: Any, *, record_id: Any = None) -> dict:
    """Assess one set of answers. Invalid answers give a result with status "error"; never raises for them."""
    decided = _decided(pathway, answers, record_id)
    if isinstance(decided, dict):
        return decided
    plan, checked, tier, contributing = decided
    return result_dict(plan, checked.values, [w.as_dict() for w in checked.warnings], record_id, tier, contributing)


# A record checked and decided, ready for a serialiser (`decide_record`): its values (answers and facts), tier,
# contributing rules (positions) and answer warnings (dicts).
Decided = tuple[dict, str, list[int], Sequence[Mapping[str, Any]]]
Write = Callable[[Any, Decided], tuple[str, str]]  # (record id, decided) -> (tier, text): `json_writer`


def decide_record(pathway: Pathway, answers: Any, record_id: Any = None) -> Decided | dict:
    """Check and decide one record for the batch serialisers (`json_writer`, and the compact and CSV ones): its
    `Decided`, or the error result (a dict, naming `record_id`) for answers that cannot be assessed. Batch
    decides a chunk's records first and writes their results after (`batch.work._assessed`)."""
    plan = _plan(pathway)
    ran = plan.program.run(answers)
    if ran is not None:  # valid, nothing to warn of (the common record): checked and decided in one call
        values, fired, best = ran
        return (values, *decide_fired(plan, fired, best), ())
    decided = _decided(pathway, answers, record_id)
    if isinstance(decided, dict):
        return decided
    _, checked, tier, contributing = decided
    return checked.values, tier, contributing, [w.as_dict() for w in checked.warnings]


def json_writer(pathway: Pathway) -> Write:
    """Writes a decided record's result as `(tier, compact JSON text)`: byte for byte `json.dumps(assess(...),
    ensure_ascii=False, separators=(",", ":"))`, by `result_json.ResultWriter`, without building the result's
    dicts (several times faster)."""
    write = _plan(pathway).writer.write

    def write_json(record_id: Any, decided: Decided) -> tuple[str, str]:
        values, tier, contributing, warnings = decided
        return tier, write(record_id, values, tier, contributing, warnings)

    return write_json


def assess_json(pathway: Pathway, answers: Any, *, record_id: Any = None) -> tuple[str, str] | dict:
    """`assess` for batch runs, one record: an ok result as `(tier, compact JSON text)` (`json_writer`), an
    error result as a dict."""
    decided = decide_record(pathway, answers, record_id)
    if type(decided) is dict:
        return decided
    return json_writer(pathway)(record_id, decided)  # type: ignore[arg-type]  # (a dict is returned above)


def _decided(pathway: Pathway, answers: Any, record_id: Any) -> tuple[Plan, CheckedAnswers, str, list[int]] | dict:
    """Check, compute facts (into `checked.values`) and decide (the contributing rules by position); an error
    result for invalid answers."""
    plan = _plan(pathway)
    ran = plan.program.run(answers)
    if ran is not None:
        values, fired, best = ran
        return (plan, CheckedAnswers(values), *decide_fired(plan, fired, best))
    checked = check_answers(pathway, answers, plan.asks)
    if checked.problems:
        return error_result(record_id, [p.as_dict() for p in checked.problems])
    tier, contributing = decide_positions(plan, checked.values)
    return plan, checked, tier, contributing


def decide_positions(plan: Plan, values: dict) -> tuple[str, list[int]]:
    """`decide` on clean answers through the compiled program (facts are added to `values`): the tier and the
    positions of the contributing rules."""
    fired = plan.program.evaluate(values)
    rules, rank = plan.pathway.rules, plan.pathway.tier_rank
    return decide_fired(plan, fired, min([rank[t] for t in (rules[k].tier for k in fired) if t is not None],
                                         default=len(plan.pathway.tiers)))


def decide_fired(plan: Plan, fired: list[int], best: int) -> tuple[str, list[int]]:
    """The tier and contributing rules (positions) from the rules that fired and the most urgent rank of their
    tiers (`len(tiers)` when none sets one: the default tier)."""
    p = plan.pathway
    if best == len(p.tiers):  # no rule that fired sets a tier
        best = p.tier_rank[p.default_tier]
    tier = p.tiers[best]
    if tier.preempts:
        rules = p.rules
        return tier.id, [k for k in fired if rules[k].scope == "always" or rules[k].tier == tier.id]
    return tier.id, fired


def error_result(record_id: Any, errors: list[dict]) -> dict:
    return {"format_version": FORMAT_VERSION, "id": record_id, "status": "error", "errors": errors}
