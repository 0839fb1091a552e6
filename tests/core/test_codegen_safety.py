"""The safety argument of `codegen` (docs/pathway-format.md, "How conditions run"), tested: identifiers, strings
and numbers from a pathway reach the generated code only as constants, and the code calls nothing but its own
helpers."""

from __future__ import annotations

import ast
import json
import keyword
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backpath
from backpath.core import codegen
from backpath.core.conditions import BOOLEAN, NUMBER, Type, compile_condition
from backpath.core.engine import assess_json
from backpath.load.yamlio import load_yaml
from tests.conftest import FIXTURES

GENERATED_NAME = re.compile(r"^(v\d+|t\d+|(ask_\d+_)?k\d+|c\d+|env|values|answers|out|fired|value|explain|decisions"
                            r"|refute|refute_decisions|evaluate|clean|bits|ask_\d+|key|because_\d+)$")
HELPERS = set(codegen.NAMESPACE) - {"__builtins__"}
METHODS = {"get", "append", "extend"}
REAL_BUILD = codegen.build


def captured_modules(monkeypatch) -> list[ast.Module]:
    """Every module `codegen.build` compiles from now on (as the trees it was given)."""
    modules: list[ast.Module] = []

    def spy(functions, constants, filename):
        modules.append(ast.Module(body=list(functions), type_ignores=[]))
        return REAL_BUILD(functions, constants, filename)

    monkeypatch.setattr(codegen, "build", spy)
    return modules


def check_tree(module: ast.Module, allowed_constants: set, helpers: set = HELPERS) -> None:
    """Only generated names, the helpers and three methods; constants only those given; no other calls."""
    for node in ast.walk(module):
        if isinstance(node, ast.Name):
            assert GENERATED_NAME.match(node.id) or node.id in helpers, node.id
        elif isinstance(node, ast.arg):
            assert GENERATED_NAME.match(node.arg), node.arg
        elif isinstance(node, ast.FunctionDef):
            assert GENERATED_NAME.match(node.name), node.name
        elif isinstance(node, ast.Attribute):
            assert node.attr in METHODS, node.attr
        elif isinstance(node, ast.Call):
            func = node.func
            assert (isinstance(func, ast.Name) and func.id in helpers) or \
                   (isinstance(func, ast.Attribute) and func.attr in METHODS), ast.dump(func)
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, (frozenset, tuple)):  # list literals; the names an explanation lists
                assert set(value) <= allowed_constants, value
            elif value is not None and not isinstance(value, bool) and not (isinstance(value, int) and value < 64):
                assert value in allowed_constants, value  # small ints are bit positions and rule numbers
        else:
            assert isinstance(node, (ast.Module, ast.expr_context, ast.arguments, ast.Return, ast.Assign,
                                     ast.AugAssign, ast.If, ast.Expr, ast.IfExp, ast.BoolOp, ast.UnaryOp, ast.BinOp,
                                     ast.Compare, ast.NamedExpr, ast.List, ast.Tuple, ast.Subscript, ast.Pass,
                                     ast.boolop,
                                     ast.unaryop, ast.operator, ast.cmpop)), type(node).__name__


identifiers = st.from_regex(r"\A[a-z][a-z0-9_]{0,12}\Z").filter(lambda s: not keyword.iskeyword(s)
                                                                  and s not in ("true", "false"))
texts = st.text(min_size=1, max_size=20)
numbers = st.one_of(st.integers(-10 ** 30, 10 ** 30), st.floats(-1e300, 1e300))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(identifiers, min_size=3, max_size=3, unique=True), texts, numbers)
def test_fuzzed_names_strings_and_numbers_reach_code_only_as_constants(monkeypatch, names, text, number):
    a, b, flags = names
    symbols = {a: NUMBER, b: BOOLEAN, flags: Type("multi", frozenset({text, "x"}), flags)}
    literal = json.dumps(text, ensure_ascii=False)  # a quoted string literal, whatever it holds
    condition = f"not ({a} * {number!r} >= {a} / 3 or {b}) and ({literal} in {flags} or {flags} == [{literal}])"
    modules = captured_modules(monkeypatch)
    compiled = compile_condition(condition, symbols)
    env = {a: 2, b: False, flags: [text]}
    expected = not (2 * number >= 2 / 3 or False) and True
    assert compiled(env) is expected
    assert len(modules) == 1
    check_tree(modules[0], {a, b, flags, text, number, -number, frozenset({text})})  # -n is `-` applied to n


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(identifiers, min_size=4, max_size=4, unique=True), texts)
def test_because_keys_read_names_only_as_constants(monkeypatch, names, text):
    """The batch writer's `because` memo keys (`result_memos.because_key_functions`) are generated code too: each
    name is a string constant read with `env.get`, the tests are the checked tree's, and the key is the presence
    bits then the bits `Compiled.decisions` / `refute_decisions` give."""
    from backpath.core import result_memos

    a, b, flags, fact = names
    symbols = {a: NUMBER, b: BOOLEAN, flags: Type("multi", frozenset({text, "x"}), flags), fact: BOOLEAN}
    literal = json.dumps(text, ensure_ascii=False)
    when = compile_condition(f"({a} > 3 or {b}) and {fact}", symbols)
    fact_when = compile_condition(f"{literal} in {flags} or {b}", symbols)
    expected = (when.decisions, fact_when.decisions, fact_when.refute_decisions)  # compiled before the spy
    modules = captured_modules(monkeypatch)
    inputs = (a, b, fact, flags)
    [key] = result_memos.because_key_functions([(inputs, ((when, 4, None), (fact_when, 6, fact)))], "fuzzed")
    for env in ({a: 5, b: False, flags: [text], fact: True}, {a: 1, b: True, flags: ["x"], fact: False},
                {a: None, b: None, flags: None, fact: None}):
        presence = sum(1 << j for j, n in enumerate(inputs) if env[n] is not None)
        fact_bits = (1 | expected[2](env) << 1) if env[fact] is False else expected[1](env) << 1
        assert key(env) == presence | expected[0](env) << 4 | fact_bits << 6
    assert len(modules) == 1
    check_tree(modules[0], {a, b, flags, fact, text, 3, frozenset({text})})


@pytest.mark.parametrize("hostile", ["env", "values", "v0", "t1", "k0", "out", "fired", "frozenset", "evaluate",
                                     "sum", "exec", "builtins"])
def test_a_pathway_whose_names_shadow_generated_names_works_the_same(monkeypatch, tmp_path, hostile):
    """Question, fact and score ids that look like the generated code's own names change nothing."""
    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    doc = load_yaml(text, "mini.yaml").data
    renamed = json.loads(re.sub(r'"(age|onset_age|total)"', lambda m: f'"{hostile}"' if m.group(1) == "age"
                                else m.group(0), json.dumps(doc)))
    renamed = json.loads(json.dumps(renamed).replace("age - weeks", f"{hostile} - weeks"))
    path = tmp_path / "mini.yaml"
    path.write_text(json.dumps(renamed))
    modules = captured_modules(monkeypatch)
    pathway = backpath.load_pathway(str(path))
    original = backpath.load_pathway(str(FIXTURES / "mini.yaml"))
    answers = {"weeks": 20, "leg": True, "leg_nrs": 8, "flags": [], "mood": "low", "requests": []}
    ours = backpath.assess(pathway, {**answers, hostile: 30})
    theirs = backpath.assess(original, {**answers, "age": 30})
    assert json.loads(assess_json(pathway, {**answers, hostile: 30})[1]) == ours  # the batch writer's code too
    assert ours["tier"] == theirs["tier"] and ours["rules_fired"] == theirs["rules_fired"]
    assert [i["id"] for i in ours["recommendations"]] == [i["id"] for i in theirs["recommendations"]]
    strings = {s for m in modules for n in ast.walk(m) if isinstance(n, ast.Constant) for s in [n.value]
               if isinstance(s, str)}
    assert hostile in strings  # read by name, as a string constant
    for module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.Name):
                assert node.id != hostile or GENERATED_NAME.match(hostile) or hostile in HELPERS
                if node.id == hostile:  # the same spelling as a generated name: it is that name, never the answer
                    assert GENERATED_NAME.match(node.id) or node.id in HELPERS


def test_generated_code_has_no_builtins():
    compiled = compile_condition("age > 1", {"age": NUMBER})
    assert compiled.fn.__globals__["__builtins__"] == {}
    assert set(compiled.fn.__globals__) <= set(codegen.NAMESPACE) | {"value", "explain", "decisions", "refute",
                                                                     "refute_decisions"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(identifiers, min_size=2, max_size=2, unique=True))
def test_answered_reads_its_fuzzed_name_only_as_a_constant(monkeypatch, names):
    """`answered(x)` (x may even be called `answered`) in every function a condition has: x only as a constant."""
    a, b = names
    symbols = {a: NUMBER, b: BOOLEAN}
    compiled = compile_condition(f"not answered({a}) or (answered({b}) and {b}) or {a} > 1", symbols)
    modules = captured_modules(monkeypatch)
    assert compiled({}) is True and compiled({a: 1, b: False}) is False and compiled({a: 1}) is False
    assert compiled.explain({}) == [] and compiled.explain({a: 2, b: True}) == [b, b, a]
    assert compiled.decisions({a: 2}) >= 0 and compiled.refute({a: 1, b: False}) == [a, b, a]
    compiled.refute_decisions({a: 1})
    assert len(modules) == 5
    for module in modules:
        check_tree(module, {a, b, (a,), (b,), (b, a), (a, b)})
