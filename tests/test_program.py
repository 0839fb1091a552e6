"""The compiled pathway (`program`): its fast answer check agrees with `answers.check_answers`, and its facts and
decision with the conditions' own functions."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backpath
from backpath.core.answers import check_answers
from backpath.core.engine import _plan

from .conftest import FIXTURES
from .strategies import answers_for
from .test_batch_chunks import broken

PATHWAY = backpath.load_pathway("low-back-pain")
MINI = backpath.load_pathway(str(FIXTURES / "mini.yaml"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([PATHWAY, MINI]).flatmap(lambda p: st.tuples(st.just(p), answers_for(p))),
       st.randoms(use_true_random=False))
def test_the_fast_check_accepts_exactly_the_clean_answers(pathway_and_answers, rng):
    pathway, answers = pathway_and_answers
    if pathway is PATHWAY and rng.random() < 0.5:
        answers = broken(answers, rng)
    plan = _plan(pathway)
    slow = check_answers(pathway, answers, plan.asks)
    fast = plan.program.clean(answers)
    if slow.problems or slow.warnings:
        assert fast is None
    else:
        assert fast == slow.values and list(fast) == list(slow.values)


def test_the_fast_check_leaves_odd_but_valid_values_to_the_full_check():
    """A value of a subclass (an IntEnum, a bool where a number is asked) is not taken by the fast path; the full
    check decides."""
    plan = _plan(MINI)
    base = {"age": 40, "weeks": 3, "leg": False, "flags": [], "mood": "good"}
    assert plan.program.clean(base) == base
    assert plan.program.clean({**base, "age": True}) is None
    assert plan.program.clean({**base, "weeks": float("nan")}) is None
    assert plan.program.clean({**base, "flags": ["saddle", "saddle"]}) is None
    assert plan.program.clean({**base, "flags": [["saddle"]]}) is None
    assert plan.program.clean({**base, "nope": 1}) is None
    assert plan.program.clean({**base, "leg_nrs": 3}) is None  # answered but not asked: a warning to word
    assert plan.program.clean(list(base)) is None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_for(PATHWAY))
def test_the_compiled_decision_is_the_conditions_own(answers):
    """Facts from `evaluate` and rules fired agree with each condition's function over the same env."""
    from backpath.core.engine import decide

    plan = _plan(PATHWAY)
    values = plan.program.clean(answers)
    if values is None:
        return
    fired = plan.program.evaluate(values)
    assert fired == [k for k, r in enumerate(PATHWAY.rules) if r.when.fn(values) is True]
    for d in PATHWAY.derived:
        if d.expr is not None:
            assert d.expr.fn(values) == values[d.id], d.id
    tier, rules = decide(PATHWAY, values)
    assert tier == backpath.assess(PATHWAY, answers)["tier"]
