"""`answered(name)`: the one test in the condition language that is never unknown. True when the question, derived
fact or score has a value, false when it has none; it combines with and/or/not like any boolean. Checked by the
checker (located errors), and the same through every path: the value, the short true-tests rules fire on
(`Truths`), the explanations (`because`) and their decision bits, whole pathways (assess, batch, validate)."""

from __future__ import annotations

import ast
import itertools
import json

import pytest

import backpath
from backpath.core import codegen as G
from backpath.core import tree as T
from backpath.core.conditions import BOOLEAN, NUMBER, ConditionError, Type, compile_condition
from backpath.validate.run import check_file
from tests.conftest import FIXTURES, case_answers

SYMBOLS = {"a": BOOLEAN, "b": BOOLEAN, "n": NUMBER, "m": NUMBER,
           "s": Type("multi", frozenset({"x", "y"}), "s"), "c": Type("choice", frozenset({"p", "q"}), "c")}
DOMAINS = {"a": [True, False, None], "b": [True, False, None], "n": [0, 3, None], "m": [0, 2, None],
           "s": [[], ["x"], None], "c": ["p", None]}
TEXTS = ["answered(n)", "not answered(n)", "answered(s)", "answered(a) and a", "not answered(a) or a",
         "answered(n) and n > 2", "not (answered(n) and n >= 2)", "c == 'p' and not (answered(m) and m >= 2)",
         "answered(a) == b", "answered(n) or answered(m)", "not (answered(a) or answered(b)) and n > 1",
         "answered(s) and 'x' in s or not answered(c)"]


def c(text: str):
    return compile_condition(text, SYMBOLS)


def envs(names):
    for combo in itertools.product(*(DOMAINS[n] for n in names)):
        yield {n: v for n, v in zip(names, combo) if v is not None}


# --- the checker -----------------------------------------------------------------------------------------

def test_parses_to_an_answered_node_that_reads_its_name():
    cond = c("answered(n) and not answered(s)")
    assert cond.type == BOOLEAN
    assert cond.node == T.And((T.Answered("n"), T.Not(T.Answered("s"))))
    assert cond.names == ("n", "s")
    assert T.names(cond.node) == ["n", "s"]
    assert T.nodes(cond.node) == 4


@pytest.mark.parametrize("text, offset, message", [
    ("answered(nn)", 9, "unknown name `nn`: it is not a question, derived fact or score of this pathway. "
                        "Did you mean `n`?"),
    ("a and answered(cc)", 15, "unknown name `cc`"),
    ("answerd(n)", 0, "the only function in a condition is `answered(name)`. Did you mean `answered`?"),
    ("len(s) > 1", 0, "the only function in a condition is `answered(name)`"),
    ("answered()", 0, "`answered` takes exactly one name, not 0 arguments; write `answered(name)`"),
    ("answered(a, b)", 0, "`answered` takes exactly one name, not 2 arguments"),
    ("answered(name=a)", 0, "`answered` takes no keywords; write `answered(name)`"),
    ("a or answered('a')", 14, "the argument of `answered` must be a name, not `'a'`"),
    ("answered(n + 1)", 9, "the argument of `answered` must be a name, not `n + 1`"),
    ("answered(true)", 9, "the argument of `answered` must be a name, not `true`"),
    ("answered(n) > 1", 0, "`>` compares numbers, but `answered(n)` is true/false"),
    ("answered", 0, "unknown name `answered`"),
])
def test_errors_are_located_and_say_how_to_write_it(text, offset, message):
    with pytest.raises(ConditionError) as err:
        c(text)
    assert message in err.value.message
    assert err.value.offset == offset


# --- one meaning through every path ----------------------------------------------------------------------

def test_never_unknown_and_true_exactly_when_the_name_has_a_value():
    for name in SYMBOLS:
        cond, negated = c(f"answered({name})"), c(f"not answered({name})")
        for env in envs([name]):
            assert cond(env) is (name in env)
            assert negated(env) is (name not in env)


def test_three_valued_truth_table():
    # and/or with an unknown operand: answered() decides where it is decisive, else the unknown stays
    assert c("not answered(n) and a")({}) is None
    assert c("not answered(n) and a")({"n": 1}) is False
    assert c("answered(n) or a")({"n": 1}) is True
    assert c("answered(n) or a")({}) is None
    # the pathway's use: `not (answered(x) and x >= 4)` is true when x is missing, where `not x >= 4` is unknown
    assert c("not (answered(n) and n >= 4)")({}) is True
    assert c("not n >= 4")({}) is None
    assert c("not (answered(n) and n >= 4)")({"n": 4}) is False
    assert c("not (answered(n) and n >= 4)")({"n": 3}) is True


def _truth_test(node):
    scope = G.Scope()
    fn = G.function("test", ["env"], scope, [ast.Return(value=G.Truths(G.Expressions(scope)).test(node))])
    return G.build([fn], {}, "<test>")["test"]


@pytest.mark.parametrize("text", TEXTS)
def test_truths_value_explain_refute_and_decisions_agree(text):
    cond = c(text)
    fires = _truth_test(cond.node)
    names = sorted(cond.names)
    memo: dict = {}
    for env in envs(names):
        value = cond(env)
        assert value in (True, False, None)
        assert fires(env) is (value is True), env
        if value is None:
            continue
        explained = cond.explain(env) if value else cond.refute(env)
        decisions = cond.decisions(env) if value else cond.refute_decisions(env)
        # `because` lists only names with a value; answered() false has none to list
        assert all(n in cond.names for n in explained)
        # the batch memo keys on the decisions and which names have a value
        key = (value, decisions, tuple(sorted(env)))
        assert memo.setdefault(key, explained) == explained, env
        # where every name always explains, the explanation is just `names` (less those without a value)
        if (cond.explains_all if value else cond.refutes_all):
            assert list(dict.fromkeys(n for n in explained if n in env)) == [n for n in cond.names if n in env]
    for want, count in ((True, cond.decision_count), (False, cond.refute_count)):
        explainer = G.Explanations(G.Scope())
        explainer.stmts(cond.node, want)
        assert count == len(explainer.terms)


@pytest.mark.parametrize("text, env, why", [
    ("answered(n)", {"n": 0}, ["n"]),  # true: the name, which has a value (0 too)
    ("not answered(n)", {}, []),  # true because nothing has a value: nothing to list
    ("not answered(n) and a", {"a": True}, ["a"]),
    ("answered(n) or a", {"n": 3, "a": True}, ["n", "a"]),  # `or` true: every true operand
    ("answered(n) or a", {"n": 3, "a": False}, ["n"]),
    ("c == 'p' and not (answered(m) and m >= 2)", {"c": "p"}, ["c"]),
    ("c == 'p' and not (answered(m) and m >= 2)", {"c": "p", "m": 0}, ["c", "m"]),
])
def test_explain_names_what_made_it_true(text, env, why):
    cond = c(text)
    assert cond(env) is True
    assert cond.explain(env) == why


@pytest.mark.parametrize("text, env, why", [
    ("answered(n)", {}, []),
    ("not answered(n)", {"n": 5}, ["n"]),
    ("not answered(a) or a", {"a": False}, ["a", "a"]),
])
def test_refute_names_what_made_it_false(text, env, why):
    cond = c(text)
    assert cond(env) is False
    assert cond.refute(env) == why


def test_the_explanation_of_not_answered_is_not_its_names():
    assert c("answered(n)").explains_all and not c("answered(n)").refutes_all
    assert not c("not answered(n)").explains_all and c("not answered(n)").refutes_all


def test_generated_code_holds_the_name_only_as_a_string_constant():
    hostile = "__import__('os').system('x')"
    cond = compile_condition("answered(q) and not answered(q)", {"q": NUMBER})
    assert cond({}) is False
    for kind in ("value", "explain", "decisions", "refute", "refute_decisions"):
        scope = G.Scope()
        if kind == "value":
            body = [ast.Return(value=G.Expressions(scope).expr(cond.node))]
        else:
            explainer = G.Explanations(scope)
            body = [ast.Expr(value=ast.Constant(0)), *explainer.stmts(cond.node, kind.startswith("explain"))]
        fn = G.function(kind, ["env"], scope, body)
        names = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        assert "q" not in names and hostile not in names
        constants = {n.value for n in ast.walk(fn) if isinstance(n, ast.Constant)}
        assert constants & {"q", ("q",)} or kind == "refute_decisions"  # (which reads nothing: no tests)


# --- whole pathways --------------------------------------------------------------------------------------

MINI = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
LATE_RULES = '''  - id: late-unanswered
    when: "chronic and not answered(late)"
    consider: [exercise]
    reason: "Chronic, and the late question was not answered."
    sources: [{id: SRC, section: "2"}]
  - id: leg-score-given
    when: "answered(leg_nrs) and not answered(risk) == false"
    consider: [exercise]
    reason: "Leg pain score {leg_nrs}."
    sources: [{id: SRC, section: "2"}]
advisory_notes:'''


def mini_with_rules(tmp_path, rules: str):
    """mini.yaml with `rules` before its advisory notes, written to `tmp_path`."""
    path = tmp_path / "mini.yaml"
    path.write_text(MINI.replace("advisory_notes:", rules, 1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def late_pathway(tmp_path_factory):
    path = mini_with_rules(tmp_path_factory.mktemp("answered"), LATE_RULES)
    return backpath.load_pathway(path), path


BASE = {"age": 30, "weeks": 20, "leg": True, "leg_nrs": 3, "flags": [], "mood": "good", "requests": []}


def _reasons(result, rule):
    return [r for item in result["recommendations"] for r in item["reasons"] if r["rule"] == rule]


def test_a_rule_fires_on_an_unanswered_optional_question(late_pathway):
    pathway, _ = late_pathway
    result = backpath.assess(pathway, BASE)  # `late` is asked (onset before 40) and optional: not answered
    assert result["status"] == "ok", result
    assert "late-unanswered" in result["rules_fired"]
    # `because`: chronic, traced to weeks; `not answered(late)` adds nothing (late has no value)
    assert _reasons(result, "late-unanswered")[0]["because"] == {"chronic": True, "weeks": 20}
    answered = backpath.assess(pathway, {**BASE, "late": False})
    assert "late-unanswered" not in answered["rules_fired"]
    assert "leg-score-given" in result["rules_fired"]
    assert _reasons(result, "leg-score-given")[0]["because"] == {"leg_nrs": 3, "risk": "low"}
    without = backpath.assess(pathway, {**BASE, "leg": False, "leg_nrs": None})
    assert "leg-score-given" not in without["rules_fired"]


def test_batch_gives_what_assess_gives(late_pathway):
    pathway, _ = late_pathway
    records = [BASE, {**BASE, "late": True}, {**BASE, "leg": False, "leg_nrs": None}, {**BASE, "weeks": 2}]
    lines = [json.dumps({"id": i, "answers": a}) for i, a in enumerate(records)]
    for i, (line, answers) in enumerate(zip(backpath.assess_lines(pathway, lines), records)):
        assert json.loads(line) == {**backpath.assess(pathway, answers), "id": i}


def test_validate_locates_an_unknown_name_with_did_you_mean(tmp_path, late_pathway):
    _, good = late_pathway
    assert not [f for f in check_file(good).findings if f.severity == "error"]
    path = mini_with_rules(tmp_path, LATE_RULES.replace("answered(late)", "answered(lates)"))
    errors = [f for f in check_file(path).findings if f.severity == "error"]
    assert len(errors) == 1
    assert "unknown name `lates`" in errors[0].message and "Did you mean `late`?" in errors[0].message
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "answered(lates)" in text)
    assert errors[0].line == line and errors[0].column is not None


def test_the_default_pathway_offers_hla_b27_only_below_four_separated_criteria(default_pathway):
    cases = dict(case_answers())
    base = cases["ng65-three-grouped-detail-unanswered-hla-b27"]
    assert "spa_peripheral_features" not in base
    for detail, hla, refer in ((None, True, False), (["arthritis", "psoriasis"], False, True),
                               (["enthesitis"], True, False), (["arthritis", "enthesitis", "psoriasis"], False, True)):
        answers = base if detail is None else {**base, "spa_peripheral_features": detail}
        fired = backpath.assess(default_pathway, answers)["rules_fired"]
        assert ("axial-spa-hla-b27" in fired, "axial-spa-refer" in fired) == (hla, refer), detail


def test_dependency_names_skip_the_function_itself():
    from backpath.load.symbols import _names_in

    assert _names_in("answered(x) and not answered(y) or z") == {"x", "y", "z"}


def test_the_answer_space_search_knows_when_a_name_can_be_missing(tmp_path, late_pathway):
    """`not answered(late)` can fire (late is optional); `not answered(age)` cannot (age is required)."""
    _, good = late_pathway
    assert not [f for f in check_file(good).findings if f.code == "rule-never-fires"]
    path = mini_with_rules(tmp_path, LATE_RULES.replace("not answered(late)", "not answered(age)"))
    never = [f for f in check_file(path).findings if f.code == "rule-never-fires"]
    assert [f.id for f in never] == ["late-unanswered"]


def test_the_graph_draws_what_answered_reads():
    from typer.testing import CliRunner

    from backpath.cli.main import app

    result = CliRunner().invoke(app, ["graph", "--view", "rule axial-spa-hla-b27"])
    assert result.exit_code == 0, result.output
    assert "answered(axial_spa_criteria_separated)" in result.stdout
    assert "spa_peripheral_features" in result.stdout  # read through the separate count
