"""The compiled pathway (`program`): its fast answer check agrees with `answers.check_answers`, and its facts and
decision with the conditions' own functions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backpath
from backpath.core.answers import check_answers
from backpath.core.engine import _plan
from tests.batch.test_batch_chunks import broken
from tests.conftest import FIXTURES
from tests.strategies import answers_for

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
    for flags in ([{"saddle": 1}], ["saddle", 1], [None], [True], ["fever", "saddle", "nope"], ("saddle",)):
        assert plan.program.clean({**base, "flags": flags}) is None, flags
    assert plan.program.clean({**base, "flags": ["fever", "saddle"]}) == {**base, "flags": ["fever", "saddle"]}
    assert plan.program.clean({**base, "nope": 1}) is None
    assert plan.program.clean({**base, "leg_nrs": 3}) is None  # answered but not asked: a warning to word
    assert plan.program.clean(list(base)) is None


class _LooksLikeText:
    """Not text, but equal to its text and hashed alike: found in a set of option ids."""

    def __init__(self, text: str):
        self.text = text

    def __eq__(self, other):
        return other == self.text

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return f"_LooksLikeText({self.text!r})"


def test_a_multi_choice_entry_that_is_not_text_is_refused_as_the_full_check_refuses_it():
    """Through the Python API an entry may be any object: one that equals an option id without being text is an
    error for `check_answers`, so the fast check must not take it, and `assess` gives that error. A subclass of
    str is text for both."""
    plan = _plan(MINI)
    base = {"age": 40, "weeks": 3, "leg": False, "flags": [], "mood": "good"}
    odd = {**base, "flags": [_LooksLikeText("saddle")]}
    assert check_answers(MINI, odd, plan.asks).problems
    assert plan.program.clean(odd) is None
    result = backpath.assess(MINI, odd)
    assert result["status"] == "error" and result["errors"][0]["path"] == "answers.flags", result

    class Text(str):
        pass

    sub = {**base, "flags": [Text("saddle"), Text("fever")]}
    assert not check_answers(MINI, sub, plan.asks).problems
    assert backpath.assess(MINI, sub) == backpath.assess(MINI, {**base, "flags": ["saddle", "fever"]})


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


def _names(n: int) -> list[str]:
    import keyword
    import string

    pairs = (a + b for a in string.ascii_lowercase for b in string.ascii_lowercase)
    return [p for p in pairs if not keyword.iskeyword(p)][:n]


def test_wide_conditions_compile_at_a_depth_that_does_not_grow_with_them():
    """A flat `or`/`and` of hundreds of names, or a long chain of comparisons, fits a pathway's size limits (2,000
    characters): the generated code must not nest once per operand (it exhausted the recursion of copy and the
    compiler: a RecursionError while assessing)."""
    from backpath.core.conditions import BOOLEAN, NUMBER, compile_condition

    names = _names(330)
    symbols = {n: BOOLEAN for n in names}
    wide_or = compile_condition(" or ".join(names), symbols)
    wide_and = compile_condition(" and ".join(names), symbols)
    assert wide_or({names[-1]: True}) is True and wide_or({}) is None
    assert wide_or(dict.fromkeys(names, False)) is False
    assert wide_and(dict.fromkeys(names, True)) is True and wide_and({names[0]: False}) is False
    assert wide_and({n: True for n in names[:-1]}) is None
    assert wide_or.explain({names[5]: True, names[7]: False}) == [names[5]]
    assert wide_or.decisions({names[5]: True}) == 1 << 5
    assert wide_and.refute({names[3]: False, names[4]: True}) == [names[3]]
    chain = compile_condition(" < ".join(["x"] * 200), {"x": NUMBER})
    assert chain({"x": 1}) is False and chain({}) is None


@pytest.mark.slow  # ~2 s: `.ci/run` runs it (`-m slow`), so that the default run stays under 90 s
def test_a_fact_with_thousands_of_cases_and_a_rule_reading_hundreds_of_answers(tmp_path):
    """Through the whole engine: loading, the compiled program, `because`, batch."""
    import json

    from backpath.load.yamlio import load_yaml

    doc = load_yaml((FIXTURES / "mini.yaml").read_text(encoding="utf-8"), "mini.yaml").data
    names = _names(300)
    doc["sections"].append({"id": "wide", "title": "Wide", "questions": [
        {"id": n, "prompt": n, "type": "boolean", "required": False} for n in names]})
    doc["derived"].append({"id": "banded", "description": "Weeks in one of 3,000 bands.",
                           "cases": [{"when": f"weeks < {k + 1}", "value": k} for k in range(3000)]})
    doc["rules"].append({"id": "wide-or", "when": " or ".join(names), "consider": ["exercise"],
                         "reason": "One of many.", "sources": [{"id": "SRC", "section": "2"}]})
    path = tmp_path / "wide.yaml"
    path.write_text(json.dumps(doc))
    wide = backpath.load_pathway(str(path))
    answers = {"age": 40, "weeks": 2.5, "leg": False, "flags": [], "mood": "good", names[200]: True}
    result = backpath.assess(wide, answers)
    assert result["status"] == "ok" and "wide-or" in result["rules_fired"]
    reasons = [r for item in result["recommendations"] for r in item["reasons"] if r["rule"] == "wide-or"]
    assert reasons[0]["because"] == {names[200]: True}
    from backpath.core.engine import compute_facts

    assert compute_facts(wide, {"weeks": 2.5})["banded"] == 2
    line = json.dumps({"id": 1, "answers": answers})
    assert json.loads(next(backpath.assess_lines(wide, [line]))) == {**result, "id": 1}


def test_a_rule_fires_exactly_when_its_condition_is_true():
    """Rules fire on `codegen.Truths` tests, a shorter form of `condition is True`: the same for every mix of
    true, false, unknown (missing) and numbers, through `and`, `or`, `not`, comparisons, `in` and arithmetic."""
    import ast
    import itertools

    from backpath.core import codegen as G
    from backpath.core.conditions import BOOLEAN, NUMBER, Type, compile_condition

    symbols = {"a": BOOLEAN, "b": BOOLEAN, "n": NUMBER, "m": NUMBER,
               "s": Type("multi", frozenset({"x", "y"}), "s"), "c": Type("choice", frozenset({"p", "q"}), "c")}
    texts = ["a", "not a", "a and b", "a or b", "not (a and b)", "not (a or not b)", "a and (b or n > 2)",
             "n > 2", "not n > 2", "n + m >= 3", "n / m < 1", "-n < m", "'x' in s", "'x' not in s", "s == []",
             "s != ['x', 'y']", "c == 'p' or not 'y' in s", "not (c != 'q' and (a or m <= n))", "a == b",
             "(a or b) and (not a or n == 1) and (c == 'p' or s == ['y'])"]
    domains = {"a": [True, False, None], "b": [True, False, None], "n": [0, 1, 3, None], "m": [0, 2, None],
               "s": [[], ["x"], ["y", "x"], None], "c": ["p", "q", None]}
    for text in texts:
        compiled = compile_condition(text, symbols)
        scope = G.Scope()
        fn = G.function("test", ["env"], scope, [ast.Return(value=G.Truths(G.Expressions(scope)).test(compiled.node))])
        test = G.build([fn], {}, "<test>")["test"]
        names = sorted(compiled.names)
        for combo in itertools.product(*(domains[n] for n in names)):
            env = {n: v for n, v in zip(names, combo) if v is not None}
            assert test(env) is (compiled(env) is True), (text, env)
