"""The condition language: a whitelisted subset of Python expressions, type-checked and compiled once.

Pathway text is parsed with `ast.parse(..., mode="eval")` and walked node by node; only the node types
below are accepted and every name must be declared. The result is a checked tree (`tree`), from which `codegen`
builds and compiles Python functions of its own: pathway text is never evaluated.

Missing values are explicit: an unanswered question is `None`, and anything computed from `None` is
unknown (`None`) under three-valued logic, so `false and unknown` is false and `true or unknown` is true.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from backpath.core import tree as T
from backpath.core.errors import did_you_mean

Env = Mapping[str, Any]
Fn = Callable[[Env], Any]


@dataclass(frozen=True)
class Type:
    """The static type of an expression: boolean, number, choice, multi, string, list."""

    kind: str
    options: frozenset = frozenset()  # choice / multi: the option ids; string/list: the literal values
    name: str = ""  # the symbol whose options these are, for messages

    def describe(self) -> str:
        if self.kind == "choice":
            return f"the choice `{self.name}`" if self.name else "a choice"
        if self.kind == "multi":
            return f"the multi-choice `{self.name}`" if self.name else "a multi-choice"
        return {"boolean": "true/false", "number": "a number", "string": "text", "list": "a list"}[self.kind]


BOOLEAN = Type("boolean")
NUMBER = Type("number")


class ConditionError(Exception):
    """A condition does not parse, names something unknown, or compares mismatched types."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Compiled:
    """A checked expression: its text, type, the names it reads, and its checked tree. Its functions (value,
    explanation) are generated from the tree and compiled when first used (`codegen`)."""

    text: str
    type: Type
    names: tuple[str, ...]
    node: T.Node = field(compare=False, repr=False)

    # Each function is generated and compiled when first asked for (`codegen.condition_function`), on its own:
    # `assess` needs the explanations of the few rules that fired, batch the bits, the validator the values.
    @cached_property
    def fn(self) -> Fn:
        """The value for an env (answers, facts and scores by name): True, False or None (unknown), or a number
        or value for a non-boolean expression."""
        return self._function("value")

    @cached_property
    def explain(self) -> Callable[[Env], list[str]]:
        """The names that made the condition true for an env (with repeats, in reading order)."""
        return self._function("explain")

    @cached_property
    def decisions(self) -> Callable[[Env], int]:
        """The outcome of the tests `explain` makes, as bits: `explain` is a function of these (and `names`)."""
        return self._function("decisions")

    @cached_property
    def refute(self) -> Callable[[Env], list[str]]:
        """The names that made the condition false (for a derived fact that is false)."""
        return self._function("refute")

    @cached_property
    def refute_decisions(self) -> Callable[[Env], int]:
        """The outcome of the tests `refute` makes, as bits."""
        return self._function("refute_decisions")

    def _function(self, kind: str) -> Callable:
        from backpath.core.codegen import condition_function

        return condition_function(self.node, self.text[:60], kind)

    @cached_property
    def decision_count(self) -> int:
        from backpath.core.codegen import decision_count

        return decision_count(self.node)

    @cached_property
    def refute_count(self) -> int:
        from backpath.core.codegen import decision_count

        return decision_count(self.node, False)

    @cached_property
    def explains_all(self) -> bool:
        """Whether every name always contributes to a true result, so that `explain` is just `names`."""
        from backpath.core.codegen import conditional

        return not conditional(self.node)

    @cached_property
    def refutes_all(self) -> bool:
        """Whether every name always contributes to a false result, so that `refute` is just `names`."""
        from backpath.core.codegen import conditional

        return not conditional(self.node, False)

    def __call__(self, env: Env) -> Any:
        return self.fn(env)


FUNCTION = "answered"  # the one function a condition may call (`visit_Call`)
_CONSTANT_NAMES = {"true": True, "false": False, "True": True, "False": False}

_ORDER_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_OP_TEXT = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}


def compile_condition(text: str, symbols: Mapping[str, Type], *, want_boolean: bool = True) -> Compiled:
    """Parse and check `text` against the declared `symbols` (name -> Type) into a `Compiled` condition."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("the condition is empty; write an expression such as `duration_weeks > 12`.")
    source = " ".join(text.split("\n")).strip()
    try:
        parsed = ast.parse(source, mode="eval")
    except (RecursionError, MemoryError):
        raise ConditionError(f"`{source[:60]}...` nests too deeply; split it into derived facts.", 0) from None
    except SyntaxError as exc:
        raise ConditionError(
            f"`{source}` is not a valid condition ({exc.msg}). Use `and`, `or`, `not`, comparisons such as "
            "`==`, `>=`, `in`, and quote text values.", (exc.offset or 1) - 1
        ) from None
    checker = _Checker(symbols)
    try:
        typ, node = checker.visit(parsed.body)
    except RecursionError:
        raise ConditionError(f"`{source[:60]}...` nests too deeply; split it into derived facts.", 0) from None
    if want_boolean and typ.kind != "boolean":
        raise ConditionError(
            f"`{source}` gives {typ.describe()}, not true/false; compare it, e.g. `{source} > 0`.", 0
        )
    return Compiled(source, typ, tuple(dict.fromkeys(checker.names)), node)


def _node_text(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every node we accept
        return type(node).__name__


Checked = tuple[Type, T.Node]


class _Checker:
    """Walks a parsed condition: accepts only the node types below, checks names and types, and builds the
    checked tree."""

    def __init__(self, symbols: Mapping[str, Type]):
        self.symbols = symbols
        self.names: list[str] = []

    def fail(self, node: ast.AST, message: str) -> ConditionError:
        return ConditionError(message, getattr(node, "col_offset", None))

    def visit(self, node: ast.AST) -> Checked:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"`{_node_text(node)}` is not allowed in a condition: only names, numbers, "
                            "quoted text, lists, `and`/`or`/`not`, comparisons, `in`, + - * / and "
                            "`answered(name)` are.")
        return method(node)

    # --- leaves -------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> Checked:
        name = node.id
        if name in _CONSTANT_NAMES:
            return BOOLEAN, T.Const(_CONSTANT_NAMES[name])
        if name not in self.symbols:
            raise self.fail(node, f"unknown name `{name}`: it is not a question, derived fact or score of "
                            f"this pathway.{did_you_mean(name, self.symbols)}")
        self.names.append(name)
        return self.symbols[name], T.Var(name)

    def visit_Constant(self, node: ast.Constant) -> Checked:
        value = node.value
        if isinstance(value, bool):
            return BOOLEAN, T.Const(value)
        if isinstance(value, (int, float)):
            return NUMBER, T.Const(value)
        if isinstance(value, str):
            return Type("string", frozenset([value])), T.Const(value)
        raise self.fail(node, f"`{_node_text(node)}` is not allowed; use a number, true/false or quoted text.")

    def visit_List(self, node: ast.List | ast.Tuple) -> Checked:
        values = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or isinstance(elt.value, bool) or \
                    not isinstance(elt.value, (str, int, float)):
                raise self.fail(elt, f"a list may hold only quoted text or numbers, not `{_node_text(elt)}`.")
            values.append(elt.value)
        if values and len({isinstance(v, str) for v in values}) > 1:
            raise self.fail(node, "a list must hold only text or only numbers, not both.")
        frozen = frozenset(values)
        return Type("list", frozen), T.Const(frozen)

    visit_Tuple = visit_List

    def visit_Call(self, node: ast.Call) -> Checked:
        """`answered(name)`, the one function: true when the question, derived fact or score `name` has a value,
        false when it has none (never unknown)."""
        usage = "write `answered(name)` with the id of one question, derived fact or score, unquoted"
        func = node.func
        if not isinstance(func, ast.Name) or func.id != FUNCTION:
            raise self.fail(node, f"`{_node_text(node)}` is not allowed: the only function in a condition is "
                            f"`{FUNCTION}(name)`.{did_you_mean(_node_text(func), (FUNCTION,))}")
        if node.keywords:
            raise self.fail(node, f"`{_node_text(node)}`: `{FUNCTION}` takes no keywords; {usage}.")
        if len(node.args) != 1:
            count = len(node.args)
            raise self.fail(node, f"`{_node_text(node)}`: `{FUNCTION}` takes exactly one name, not {count} "
                            f"arguments; {usage}.")
        arg = node.args[0]
        if not isinstance(arg, ast.Name) or arg.id in _CONSTANT_NAMES:
            raise self.fail(arg, f"`{_node_text(node)}`: the argument of `{FUNCTION}` must be a name, not "
                            f"`{_node_text(arg)}`; {usage}.")
        self.visit_Name(arg)  # a declared name (a located error with did-you-mean otherwise); records it as read
        return BOOLEAN, T.Answered(arg.id)

    # --- operators ----------------------------------------------------------------------------
    def visit_BoolOp(self, node: ast.BoolOp) -> Checked:
        parts = [self.visit(v) for v in node.values]
        for (typ, _), sub in zip(parts, node.values):
            if typ.kind != "boolean":
                raise self.fail(sub, f"`{_node_text(sub)}` is {typ.describe()}, not true/false; "
                                "compare it with something, e.g. `x > 0` or `x == \"option\"`.")
        nodes = tuple(p[1] for p in parts)
        return BOOLEAN, (T.And(nodes) if isinstance(node.op, ast.And) else T.Or(nodes))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Checked:
        typ, operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            if typ.kind != "boolean":
                raise self.fail(node, f"`not` needs true/false, but `{_node_text(node.operand)}` is "
                                f"{typ.describe()}.")
            return BOOLEAN, T.Not(operand)
        if isinstance(node.op, ast.USub) and typ.kind == "number":
            return NUMBER, T.Neg(operand)
        raise self.fail(node, f"`{_node_text(node)}` is not allowed in a condition.")

    def visit_BinOp(self, node: ast.BinOp) -> Checked:
        op = _ARITH_OPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"`{_node_text(node)}`: only + - * / are allowed.")
        (lt, left), (rt, right) = self.visit(node.left), self.visit(node.right)
        for typ, sub in ((lt, node.left), (rt, node.right)):
            if typ.kind != "number":
                raise self.fail(sub, f"arithmetic needs numbers, but `{_node_text(sub)}` is {typ.describe()}.")
        return NUMBER, T.Arith(op, left, right)

    def visit_Compare(self, node: ast.Compare) -> Checked:
        operands = [node.left, *node.comparators]
        checked = [self.visit(o) for o in operands]
        tests = tuple(self._compare(op, operands[i], checked[i], operands[i + 1], checked[i + 1])
                      for i, op in enumerate(node.ops))
        return BOOLEAN, (tests[0] if len(tests) == 1 else T.And(tests))

    def _compare(self, op, lnode, left: Checked, rnode, right: Checked) -> T.Node:
        (lt, a), (rt, b) = left, right
        sym = _OP_TEXT.get(type(op), "?")
        if isinstance(op, (ast.Is, ast.IsNot)):
            raise self.fail(lnode, "use `==` / `!=` instead of `is` / `is not`.")
        if isinstance(op, (ast.In, ast.NotIn)):
            return self._membership(isinstance(op, ast.NotIn), lnode, left, rnode, right)
        if type(op) in _ORDER_OPS:
            if lt.kind != "number" or rt.kind != "number":
                bad, typ = (lnode, lt) if lt.kind != "number" else (rnode, rt)
                raise self.fail(bad, f"`{sym}` compares numbers, but `{_node_text(bad)}` is {typ.describe()}.")
            return T.Compare(_ORDER_OPS[type(op)], a, b)
        # == and !=
        eq = "!=" if isinstance(op, ast.NotEq) else "=="
        kinds = {lt.kind, rt.kind}
        if kinds == {"number"} or kinds == {"boolean"}:
            return T.Compare(eq, a, b)
        if kinds <= {"choice", "string"} and kinds != {"string"}:
            self._check_options(lnode, lt, rnode, rt)
            return T.Compare(eq, a, b)
        if kinds == {"multi", "list"}:
            self._check_options(lnode, lt, rnode, rt)
            return T.Compare(eq, a, b, as_sets=True)
        raise self.fail(lnode, f"`{_node_text(lnode)} {sym} {_node_text(rnode)}` compares {lt.describe()} "
                        f"with {rt.describe()}; compare like with like.")

    def _check_options(self, lnode, lt: Type, rnode, rt: Type) -> None:
        """A literal compared with a choice must be one of its options."""
        for sym_t, lit_t, lit_node in ((lt, rt, rnode), (rt, lt, lnode)):
            if sym_t.kind in ("choice", "multi") and lit_t.kind in ("string", "list"):
                for value in sorted(lit_t.options, key=str):
                    if value not in sym_t.options:
                        raise self.fail(lit_node, f"\"{value}\" is not an option of `{sym_t.name}`; options are "
                                        f"{', '.join(sorted(sym_t.options))}.{did_you_mean(value, sym_t.options)}")

    def _membership(self, negate, lnode, left: Checked, rnode, right: Checked) -> T.Node:
        (lt, a), (rt, b) = left, right
        if rt.kind == "multi" and lt.kind in ("string", "choice"):
            self._check_options(lnode, lt, rnode, rt)
        elif rt.kind == "list" and lt.kind in ("choice", "string", "number"):
            if lt.kind == "choice":
                self._check_options(lnode, lt, rnode, rt)
            elif lt.kind == "number" and any(isinstance(v, str) for v in rt.options):
                raise self.fail(rnode, f"`{_node_text(lnode)}` is a number but the list holds text.")
        else:
            raise self.fail(rnode, f"`in` needs a multi-choice answer or a list on the right and a single value "
                            f"on the left; here it is {lt.describe()} in {rt.describe()}.")
        return T.Member(a, b, negate)
