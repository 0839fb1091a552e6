"""`Program.run`, the answer check and the decision in one generated function, against `clean` then `evaluate`
(which `test_program` checks against `answers.check_answers` and the conditions' own functions); and the code that
leaves out None tests for values never None (`nullness`) against the full three-valued code."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backpath
from backpath.core import codegen as G
from backpath.core.conditions import BOOLEAN, NUMBER, Type, compile_condition
from backpath.core.engine import _plan, decide_fired, decide_positions
from backpath.core.nullness import never_none
from backpath.core.program import Program
from tests.conftest import FIXTURES
from tests.strategies import answers_for

PATHWAY = backpath.load_pathway("low-back-pain")
MINI = backpath.load_pathway(str(FIXTURES / "mini.yaml"))
FEATURES = backpath.load_pathway(str(FIXTURES / "features.yaml"))
PATHWAYS = [PATHWAY, MINI, FEATURES]

# Values that an answer may wrongly (or rightly) hold: bools where numbers are asked and the reverse, floats for
# integers, minus zero, NaN and the infinities, numbers past the bounds and past a float, text, lists of every kind.
ODD_VALUES = [None, True, False, 0, 1, -1, 7, 0.0, -0.0, 1.5, 12.0, math.nan, math.inf, -math.inf, 10 ** 30, 1e308,
              "", "x", "good", "not_imaged", [], [None], [1], [True], ["x"], [[]], {"a": 1}, ("saddle",)]


def _option_values(pathway):
    """Each choice question's options, and lists of them (repeated, unknown, mixed), for mutations."""
    out = []
    for q in pathway.question_list():
        if q.option_ids:
            first = q.option_ids[0]
            out += [first, [first], [first, first], list(q.option_ids), [first, "nope"], [first, 1]]
    return out


@st.composite
def odd_answers(draw, pathway):
    """Valid answers, then a few mutations: an answer dropped, set to None or to an odd value; an unknown key."""
    answers = draw(answers_for(pathway))
    ids = [q.id for q in pathway.question_list()]
    pool = ODD_VALUES + _option_values(pathway)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 3))
        qid = draw(st.sampled_from(ids))
        if kind == 0:
            answers.pop(qid, None)
        elif kind == 1:
            answers[qid] = None
        elif kind == 2:
            answers[qid] = draw(st.sampled_from(pool))
        else:
            answers[draw(st.sampled_from(["nope", qid + "_", ""]))] = 1
    return answers


def _exact(values: dict) -> list:
    """A values dict as (key, type, repr) in order: -0.0 is not 0.0 here, nor 1.0 the same as 1 or True."""
    return [(k, type(v), repr(v)) for k, v in values.items()]


def _agrees(pathway, answers) -> None:
    program = _plan(pathway).program
    ran = program.run(answers)
    values = program.clean(answers)
    if values is None:
        assert ran is None, answers
        return
    fired = program.evaluate(values)
    assert ran is not None, answers
    got, got_fired, best = ran
    assert _exact(got) == _exact(values), answers
    assert got_fired == fired
    ranks = [pathway.tier_rank[pathway.rules[k].tier] for k in fired if pathway.rules[k].tier is not None]
    assert best == min(ranks, default=len(pathway.tiers))
    assert decide_fired(_plan(pathway), got_fired, best) == decide_positions(_plan(pathway), dict(values))


def test_every_pathway_here_has_a_generated_run():
    """Otherwise the tests below would compare `clean` then `evaluate` with itself."""
    for pathway in PATHWAYS:
        program = _plan(pathway).program
        assert program.run.__name__ == "run" and program.run.__code__.co_filename.startswith("<backpath"), pathway.id


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHWAYS).flatmap(lambda p: st.tuples(st.just(p), odd_answers(p))))
def test_run_gives_what_clean_then_evaluate_give(pathway_and_answers):
    _agrees(*pathway_and_answers)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHWAYS).flatmap(lambda p: st.tuples(st.just(p), answers_for(p))))
def test_run_takes_valid_answers(pathway_and_answers):
    pathway, answers = pathway_and_answers
    assert _plan(pathway).program.run(answers) is not None
    _agrees(pathway, answers)


def test_run_on_the_edges_of_the_answer_check():
    base = {"age": 40, "weeks": 3, "leg": False, "flags": [], "mood": "good"}
    for odd in ({"age": True}, {"age": 40.0}, {"age": 16.0}, {"weeks": True}, {"weeks": math.nan}, {"weeks": math.inf},
                {"weeks": -math.inf}, {"weeks": -0.1}, {"weeks": 2600.5}, {"weeks": 10 ** 400}, {"leg": 1},
                {"leg": 0}, {"mood": ["good"]}, {"flags": ["saddle", "saddle"]}, {"flags": "saddle"},
                {"mood": _Text("good")}, {"leg_nrs": 3}, {"nope": 1}):
        assert _plan(MINI).program.run({**base, **odd}) is None, odd
        _agrees(MINI, {**base, **odd})
    for fine in ({"weeks": -0.0}, {"weeks": 2600}, {"weeks": 0.5}, {"leg": True, "leg_nrs": 0}, {"requests": None},
                 {"flags": ["fever", "saddle"]}, {"flags": [_Text("fever"), "saddle"]}, {"age": 110}):
        assert _plan(MINI).program.run({**base, **fine}) is not None, fine
        _agrees(MINI, {**base, **fine})
    ran = _plan(MINI).program.run({**base, "weeks": -0.0})
    assert ran is not None and math.copysign(1, ran[0]["weeks"]) == -1  # the answer as given
    assert _plan(MINI).program.run([base]) is None and _plan(MINI).program.run(None) is None
    # a number without a maximum goes through the helper: infinity is refused there, a large float taken
    assert _plan(FEATURES).program.run({"big": math.inf}) is None
    assert _plan(FEATURES).program.run({"big": 1e308}) is not None
    _agrees(FEATURES, {"big": math.inf})


class _Text(str):
    """Text of a subclass: a valid entry of a multi-choice answer for every check, but a choice answer of that
    type the fast checks leave to `check_answers`."""


def test_a_pathway_whose_ask_when_reads_a_later_answer_runs_clean_then_evaluate():
    """The loader refuses it; built by hand, `run` cannot compute the ask_when's facts where it is asked (the
    answer is not checked yet), so it is `clean` then `evaluate`, which read it as not given."""
    late = compile_condition("'belt' in requests", MINI.symbols)
    questions = {**MINI.questions, "late": dataclasses.replace(MINI.questions["late"], ask_when=late)}
    program = Program(dataclasses.replace(MINI, questions=questions))
    assert program.run == program._clean_evaluate
    answers = {"age": 30, "weeks": 3, "leg": False, "flags": [], "mood": "good", "requests": ["belt"]}
    values = program.clean(answers)
    assert values is not None
    fired = program.evaluate(values)
    assert all(MINI.rules[k].tier is None for k in fired)
    assert program.run(answers) == (values, fired, len(MINI.tiers))
    assert program.run({**answers, "late": True}) is None  # not asked when checked (requests not read yet)


TEXTS = ["a", "not a", "a and b", "a or b", "not (a and b)", "not (a or not b)", "a and (b or n > 2)", "n > 2",
         "not n > 2", "n + m >= 3", "n / m < 1", "-n < m", "'x' in s", "'x' not in s", "s == []", "s != ['x', 'y']",
         "c == 'p' or not 'y' in s", "not (c != 'q' and (a or m <= n))", "a == b", "answered(n) and n > m",
         "(a or b) and (not a or n == 1) and (c == 'p' or s == ['y'])",
         " or ".join(["a", "b", "n > 1", "m > 1", "'x' in s", "c == 'q'", "not a", "not b", "n == m", "m < 0"]),
         " and ".join(["a", "b", "n > 1", "m > 1", "'x' in s", "c == 'q'", "not a", "not b", "n == m", "m < 0"]),
         " and ".join(["a", "b", "n > 1", "m > 1", "'x' in s", "c == 'q'", "not a", "not b", "n / m > 0", "m < 0"])]
SYMBOLS = {"a": BOOLEAN, "b": BOOLEAN, "n": NUMBER, "m": NUMBER, "s": Type("multi", frozenset({"x", "y"}), "s"),
           "c": Type("choice", frozenset({"p", "q"}), "c")}
DOMAINS = {"a": [True, False, None], "b": [True, False, None], "n": [0, 1, 3, -0.0, None], "m": [0, 2, None],
           "s": [[], ["x"], ["y", "x"], None], "c": ["p", "q", None]}


def test_code_for_values_never_none_is_the_three_valued_code_where_they_have_values():
    """With some names known to have values (`Expressions(known=...)`), the value of each condition and whether it
    is true are what the full three-valued code gives, for every mix of values of the known names and every mix
    (None included) of the others; and the code is never longer (and shorter for most)."""
    shorter = cases = 0
    for text in TEXTS:
        compiled = compile_condition(text, SYMBOLS)
        names = sorted(set(compiled.names))
        full = _functions(compiled.node, frozenset())[2]
        for r in range(1, len(names) + 1):
            for known in itertools.combinations(names, r):
                value, truth, size = _functions(compiled.node, frozenset(known))
                assert size <= full, (text, known)
                shorter, cases = shorter + (size < full), cases + 1
                domains = [[v for v in DOMAINS[n] if v is not None or n not in known] for n in names]
                for combo in itertools.product(*domains):
                    env = {n: v for n, v in zip(names, combo) if v is not None}
                    expected = compiled(env)
                    got = value(env)
                    assert got is expected or (got == expected and type(got) is type(expected)), (text, known, env)
                    assert truth(env) is (expected is True), (text, known, env)
    assert shorter > cases * 3 // 4, (shorter, cases)


def _functions(node, known):
    """(value, truth, size of both codes) of `node` with `known` names never None."""
    bools = known & {"a", "b"}  # the booleans: True or False when known
    scope = G.Scope()
    exprs = G.Expressions(scope, known, bools)
    value = G.function("value", ["env"], scope, [ast.Return(value=exprs.expr(node))])
    scope2 = G.Scope()
    truth = G.function("truth", ["env"], scope2,
                       [ast.Return(value=G.Truths(G.Expressions(scope2, known, bools)).test(node))])
    namespace = G.build([value, truth], {}, "<test>")
    size = sum(1 for fn in (value, truth) for _ in ast.walk(fn))
    return namespace["value"], namespace["truth"], size


def test_never_none():
    from backpath.core import tree as T

    known = {"a", "n"}
    assert never_none(T.Var("a"), known) and not never_none(T.Var("b"), known)
    assert never_none(T.Answered("b"), known) and never_none(T.Const(0), known)
    assert never_none(T.Not(T.Compare("<", T.Var("n"), T.Const(3))), known)
    assert never_none(T.Or((T.Var("a"), T.Member(T.Const("x"), T.Const(frozenset({"x"}))))), known)
    assert not never_none(T.And((T.Var("a"), T.Var("b"))), known)
    assert not never_none(T.Compare("<", T.Arith("/", T.Var("n"), T.Var("n")), T.Const(1)), known)  # n / 0
    assert not never_none(T.Neg(T.Var("n")), known)


def test_the_known_facts_of_the_default_pathway():
    """Facts of required, always-asked answers by comparisons are known; any through arithmetic or an optional
    answer is not; of those known, the booleans are True or False (a spot check of `Program._known` on the real
    pathway)."""
    known, bools = _plan(PATHWAY).program._known()
    assert {"age", "duration_weeks", "acute", "chronic", "startback_total", "startback_risk"} <= known
    assert not {"pregnant", "leg_pain_nrs", "onset_age", "axial_spa_criteria", "pregnant_now"} & known
    assert not any(q.id in known for q in PATHWAY.question_list() if not q.required or q.ask_when is not None)
    assert {"sciatica", "acute", "ces_suspected", "neuro_features"} <= bools <= known
    assert not {"age", "startback_total", "startback_risk", "pregnant_now"} & bools


GENERATED = re.compile(r"^(v\d+|t\d+|(ask_\d+_)?k\d+|[cr]\d+|ask_\d+|evaluate|clean|run|answers|values|env|get|fired|"
                       r"fire|best)$")


def _pathway_constants(pathway) -> set:
    """Every value the pathway's text gives: ids, option ids, bounds, the constants of its condition trees, case
    values and points."""
    from backpath.core import tree as T

    out: set = {*pathway.questions, *pathway.symbols}
    trees = [r.when.node for r in pathway.rules]
    for q in pathway.question_list():
        out |= {*q.option_ids, q.min, q.max}
        if q.ask_when is not None:
            trees.append(q.ask_when.node)
    for f in (*pathway.derived, *pathway.scores):
        if getattr(f, "expr", None) is not None:
            trees.append(f.expr.node)
        for case in getattr(f, "cases", ()):
            out.add(case.value)
            if case.when is not None:
                trees.append(case.when.node)
        for item in getattr(f, "items", ()):
            out.add(item.points)
            if item.when is not None:
                trees.append(item.when.node)
    for node in (n for t in trees for n in _subnodes(t)):
        if isinstance(node, T.Const):
            out |= set(node.value) if isinstance(node.value, frozenset) else {node.value}
    return out


def _subnodes(node):
    from backpath.core import tree as T

    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, (T.And, T.Or)):
            stack.extend(n.parts)
        elif isinstance(n, (T.Not, T.Neg)):
            stack.append(n.operand)
        elif isinstance(n, (T.Arith, T.Compare, T.Member)):
            stack.extend((n.left, n.right))
    return out


def test_the_program_holds_pathway_values_only_as_constants(monkeypatch):
    """The safety argument of `codegen` for the whole compiled program, `run` included: only generated names and
    the helpers are read, only `get`, `append` and `keys` are called on them, and every constant is a value of
    the pathway (or a small number: rule positions, tier ranks, 0 and 1)."""
    built: list[ast.FunctionDef] = []
    real = G.build

    def spy(functions, constants, filename):
        built.extend(functions)
        return real(functions, constants, filename)

    monkeypatch.setattr(G, "build", spy)
    helpers = set(G.NAMESPACE) - {"__builtins__"}
    for pathway in PATHWAYS:
        built.clear()
        program = Program(pathway)
        assert program.run is not None and program.clean is not None  # (each compiled when first asked for)
        assert {"run", "clean", "evaluate"} <= {f.name for f in built}
        allowed = _pathway_constants(pathway)
        for node in (n for f in built for n in ast.walk(f)):
            if isinstance(node, ast.Name):
                assert GENERATED.match(node.id) or node.id in helpers, node.id
            elif isinstance(node, (ast.FunctionDef, ast.arg)):
                assert GENERATED.match(getattr(node, "name", None) or getattr(node, "arg", "")), ast.dump(node)
            elif isinstance(node, ast.Attribute):
                assert node.attr in ("get", "append", "keys"), node.attr
            elif isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Attribute) or node.func.id in helpers or \
                    re.match(r"^(ask_\d+|fire|get)$", node.func.id), ast.dump(node.func)
            elif isinstance(node, ast.Constant) and node.value is not None and type(node.value) is not bool:
                value = node.value
                if isinstance(value, frozenset):
                    assert value <= allowed, value
                else:
                    assert value in allowed or (type(value) is int and 0 <= value < 200), value
            else:
                assert isinstance(node, (ast.FunctionDef, ast.arguments, ast.arg, ast.expr_context, ast.Return,
                                         ast.Assign, ast.AugAssign, ast.If, ast.Expr, ast.IfExp, ast.BoolOp,
                                         ast.UnaryOp, ast.BinOp, ast.Compare, ast.NamedExpr, ast.List, ast.Tuple,
                                         ast.Dict, ast.Subscript, ast.Constant, ast.boolop, ast.unaryop, ast.operator,
                                         ast.cmpop)), type(node).__name__


def test_rules_in_a_row_with_one_first_test_fire_as_their_conditions_say(tmp_path):
    """Rules in a row that share their first tests are generated under those tests, once (up to a depth): each
    still fires exactly when its condition is true, in pathway order, through `run` and `evaluate` alike, whatever
    mix of true, false and missing answers (long shared prefixes included)."""
    import json
    import random

    from backpath.load.yamlio import load_yaml

    doc = load_yaml((FIXTURES / "mini.yaml").read_text(encoding="utf-8"), "mini.yaml").data
    names = [f"b{i}" for i in range(12)]
    doc["sections"].append({"id": "more", "title": "More", "questions": [
        {"id": n, "prompt": n, "type": "boolean", "required": False} for n in names]})
    long = " and ".join(names[:11])
    whens = ["b0", "b0 and b1", "b0 and not b1", "b0 and b1 and b2", "b0", "not b0 and b1", f"{long} and b11",
             f"{long} and not b11", long, f"{long} or b11", "b1 and (b2 or b3)", "b1 and b2", "b1", "b1 and weeks > 4",
             "answered(b2) and b2", "answered(b2)"]
    for k, when in enumerate(whens):
        doc["rules"].append({"id": f"shared-{k}", "when": when, "consider": ["exercise"], "reason": "Shared.",
                             "sources": [{"id": "SRC", "section": "2"}]})
    path = tmp_path / "shared.yaml"
    path.write_text(json.dumps(doc))
    pathway = backpath.load_pathway(str(path))
    program = _plan(pathway).program
    rng = random.Random(7)
    base = {"age": 40, "weeks": 3, "leg": False, "flags": [], "mood": "good"}
    for _ in range(400):
        answers = {**base, "weeks": rng.choice([3, 5])}
        answers.update({n: v for n in names for v in [rng.choice([True, True, False, None])] if v is not None})
        ran = program.run(answers)
        assert ran is not None
        values, fired, _ = ran
        assert fired == [k for k, r in enumerate(pathway.rules) if r.when.fn(values) is True], answers
        assert program.evaluate(program.clean(answers)) == fired
