"""The condition language: a whitelisted subset of Python expressions, type-checked and compiled once.

Pathway text is parsed with `ast.parse(..., mode="eval")` and walked node by node; only the node types
below are accepted and every name must be declared. The result is a tree of small Python closures —
nothing from the pathway is ever passed to `eval`, `exec` or `compile`.

Missing values are explicit: an unanswered question is `None`, and anything computed from `None` is
unknown (`None`) under three-valued logic, so `false and unknown` is false and `true or unknown` is true.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import did_you_mean
from .limits import MAX_NUMBER

Env = Mapping[str, Any]
Fn = Callable[[Env], Any]


@dataclass(frozen=True)
class Type:
    """The static type of an expression: boolean, number, choice, multi, string, list."""

    kind: str
    options: frozenset[str] = frozenset()  # choice / multi: the option ids; string/list: the literal values
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
    """A checked expression: its text, type, the names it reads, and its evaluator."""

    text: str
    type: Type
    names: tuple[str, ...]
    fn: Fn = field(compare=False, repr=False)
    explain: Callable[[Env], list[str]] = field(compare=False, repr=False)
    # The operands of every `or` in the expression, in a fixed order: `explain` lists an operand's names exactly
    # when the operand is true, so its result is a function of these operands' truth (and nothing else).
    or_terms: tuple[Fn, ...] = field(default=(), compare=False, repr=False)

    @property
    def explains_all(self) -> bool:
        """Without `or`, every name always contributes to a true result, so `explain` is just `names`."""
        return not self.or_terms

    def __call__(self, env: Env) -> Any:
        return self.fn(env)


_CONSTANT_NAMES = {"true": True, "false": False, "True": True, "False": False}

_ORDER_OPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_ARITH_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_OP_TEXT = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}


def compile_condition(text: str, symbols: Mapping[str, Type], *, want_boolean: bool = True) -> Compiled:
    """Parse, check and compile `text` against the declared `symbols` (name -> Type)."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("the condition is empty; write an expression such as `duration_weeks > 12`.")
    source = " ".join(text.split("\n")).strip()
    try:
        tree = ast.parse(source, mode="eval")
    except (RecursionError, MemoryError):
        raise ConditionError(f"`{source[:60]}...` nests too deeply; split it into derived facts.", 0) from None
    except SyntaxError as exc:
        raise ConditionError(
            f"`{source}` is not a valid condition ({exc.msg}). Use `and`, `or`, `not`, comparisons such as "
            "`==`, `>=`, `in`, and quote text values.", (exc.offset or 1) - 1
        ) from None
    compiler = _Compiler(symbols)
    try:
        typ, fn, explain = compiler.visit(tree.body)
    except RecursionError:
        raise ConditionError(f"`{source[:60]}...` nests too deeply; split it into derived facts.", 0) from None
    if want_boolean and typ.kind != "boolean":
        raise ConditionError(
            f"`{source}` gives {typ.describe()}, not true/false; compare it, e.g. `{source} > 0`.", 0
        )
    return Compiled(source, typ, tuple(dict.fromkeys(compiler.names)), fn, explain, or_terms=tuple(compiler.or_terms))


def _node_text(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every node we accept
        return type(node).__name__


class _Compiler:
    def __init__(self, symbols: Mapping[str, Type]):
        self.symbols = symbols
        self.names: list[str] = []
        self.or_terms: list[Fn] = []

    def fail(self, node: ast.AST, message: str) -> ConditionError:
        return ConditionError(message, getattr(node, "col_offset", None))

    def visit(self, node: ast.AST) -> tuple[Type, Fn, Callable[[Env], list[str]]]:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"`{_node_text(node)}` is not allowed in a condition: only names, numbers, "
                            "quoted text, lists, `and`/`or`/`not`, comparisons, `in` and + - * / are.")
        return method(node)

    # --- leaves -------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name):
        name = node.id
        if name in _CONSTANT_NAMES:
            value = _CONSTANT_NAMES[name]
            return BOOLEAN, (lambda env: value), _no_names
        if name not in self.symbols:
            raise self.fail(node, f"unknown name `{name}`: it is not a question, derived fact or score of "
                            f"this pathway.{did_you_mean(name, self.symbols)}")
        self.names.append(name)
        get = operator.methodcaller("get", name)
        return self.symbols[name], get, lambda env: [name]

    def visit_Constant(self, node: ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return BOOLEAN, (lambda env: value), _no_names
        if isinstance(value, (int, float)):
            return NUMBER, (lambda env: value), _no_names
        if isinstance(value, str):
            return Type("string", frozenset([value])), (lambda env: value), _no_names
        raise self.fail(node, f"`{_node_text(node)}` is not allowed; use a number, true/false or quoted text.")

    def visit_List(self, node: ast.List | ast.Tuple):
        values = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or isinstance(elt.value, bool) or \
                    not isinstance(elt.value, (str, int, float)):
                raise self.fail(elt, f"a list may hold only quoted text or numbers, not `{_node_text(elt)}`.")
            values.append(elt.value)
        if values and len({isinstance(v, str) for v in values}) > 1:
            raise self.fail(node, "a list must hold only text or only numbers, not both.")
        frozen = frozenset(values)
        return Type("list", frozen), (lambda env: frozen), _no_names

    visit_Tuple = visit_List

    # --- operators ----------------------------------------------------------------------------
    def visit_BoolOp(self, node: ast.BoolOp):
        parts = [self.visit(v) for v in node.values]
        for (typ, _, _), sub in zip(parts, node.values):
            if typ.kind != "boolean":
                raise self.fail(sub, f"`{_node_text(sub)}` is {typ.describe()}, not true/false; "
                                "compare it with something, e.g. `x > 0` or `x == \"option\"`.")
        fns = [p[1] for p in parts]
        explains = [p[2] for p in parts]
        if isinstance(node.op, ast.And):
            def fn(env, fns=fns):
                unknown = False
                for f in fns:
                    v = f(env)
                    if v is False:
                        return False
                    if v is None:
                        unknown = True
                return None if unknown else True

            def explain(env):
                return [n for e in explains for n in e(env)]
        else:
            self.or_terms.extend(fns)

            def fn(env, fns=fns):
                unknown = False
                for f in fns:
                    v = f(env)
                    if v is True:
                        return True
                    if v is None:
                        unknown = True
                return None if unknown else False

            def explain(env):
                return [n for f, e in zip(fns, explains) if f(env) is True for n in e(env)]
        return BOOLEAN, fn, explain

    def visit_UnaryOp(self, node: ast.UnaryOp):
        typ, f, explain = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            if typ.kind != "boolean":
                raise self.fail(node, f"`not` needs true/false, but `{_node_text(node.operand)}` is "
                                f"{typ.describe()}.")
            return BOOLEAN, (lambda env: None if (v := f(env)) is None else not v), explain
        if isinstance(node.op, ast.USub) and typ.kind == "number":
            return NUMBER, (lambda env: None if (v := f(env)) is None else -v), explain
        raise self.fail(node, f"`{_node_text(node)}` is not allowed in a condition.")

    def visit_BinOp(self, node: ast.BinOp):
        op = _ARITH_OPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"`{_node_text(node)}`: only + - * / are allowed.")
        (lt, lf, le), (rt, rf, re_) = self.visit(node.left), self.visit(node.right)
        for typ, sub in ((lt, node.left), (rt, node.right)):
            if typ.kind != "number":
                raise self.fail(sub, f"arithmetic needs numbers, but `{_node_text(sub)}` is {typ.describe()}.")

        def fn(env):
            a, b = lf(env), rf(env)
            if a is None or b is None:
                return None
            try:
                return _finite(op(a, b))
            except (ZeroDivisionError, OverflowError):  # x / 0; a whole number too big for a float, divided
                return None

        return NUMBER, fn, lambda env: le(env) + re_(env)

    def visit_Compare(self, node: ast.Compare):
        operands = [node.left, *node.comparators]
        compiled = [self.visit(o) for o in operands]
        tests = []
        for i, op in enumerate(node.ops):
            tests.append(self._compare(op, operands[i], compiled[i], operands[i + 1], compiled[i + 1]))
        explains = [c[2] for c in compiled]

        def explain(env):
            return [n for e in explains for n in e(env)]

        if len(tests) == 1:
            return BOOLEAN, tests[0], explain

        def fn(env):
            unknown = False
            for t in tests:
                v = t(env)
                if v is False:
                    return False
                if v is None:
                    unknown = True
            return None if unknown else True

        return BOOLEAN, fn, explain

    def _compare(self, op, lnode, left, rnode, right) -> Fn:
        (lt, lf, _), (rt, rf, _) = left, right
        sym = _OP_TEXT.get(type(op), "?")
        if isinstance(op, (ast.Is, ast.IsNot)):
            raise self.fail(lnode, "use `==` / `!=` instead of `is` / `is not`.")
        if isinstance(op, (ast.In, ast.NotIn)):
            return self._membership(isinstance(op, ast.NotIn), lnode, left, rnode, right)
        if type(op) in _ORDER_OPS:
            if lt.kind != "number" or rt.kind != "number":
                bad, typ = (lnode, lt) if lt.kind != "number" else (rnode, rt)
                raise self.fail(bad, f"`{sym}` compares numbers, but `{_node_text(bad)}` is {typ.describe()}.")
            cmp = _ORDER_OPS[type(op)]
            return _null_safe(cmp, lf, rf)
        # == and !=
        negate = isinstance(op, ast.NotEq)
        kinds = {lt.kind, rt.kind}
        if kinds == {"number"} or kinds == {"boolean"}:
            return _null_safe(operator.ne if negate else operator.eq, lf, rf)
        if kinds <= {"choice", "string"} and kinds != {"string"}:
            self._check_options(lnode, lt, rnode, rt)
            return _null_safe(operator.ne if negate else operator.eq, lf, rf)
        if kinds == {"multi", "list"}:
            self._check_options(lnode, lt, rnode, rt)

            def eq(a, b):
                return (set(a) == set(b)) != negate

            return _null_safe(eq, lf, rf)
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

    def _membership(self, negate, lnode, left, rnode, right) -> Fn:
        (lt, lf, _), (rt, rf, _) = left, right
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

        def fn(env):
            a, b = lf(env), rf(env)
            if a is None or b is None:
                return None
            return (a in b) != negate

        return fn


def _finite(value: Any) -> Any:
    """An arithmetic result, or None (unknown, like `x / 0`) when it is not finite or beyond `MAX_NUMBER`."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    return value if -MAX_NUMBER <= value <= MAX_NUMBER else None


def _null_safe(cmp, lf: Fn, rf: Fn) -> Fn:
    def fn(env):
        a = lf(env)
        if a is None:
            return None
        b = rf(env)
        if b is None:
            return None
        return cmp(a, b)

    return fn


def _no_names(env) -> list[str]:
    return []
