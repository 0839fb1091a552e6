"""Pathway conditions compiled into functions over columns (numpy), for `columns.ColumnEngine`.

Safety: the conditions are the loader's already checked text, re-parsed with `ast.parse(..., mode="eval")` and
walked node by node (the same whitelist as `conditions.py`: names, constants, constant lists, and/or/not, unary
minus, + - * /, comparisons and `in`). Each node becomes a numpy operation; nothing from the pathway is ever
passed to `eval`, `exec` or `compile`. Any other node, or anything this module cannot reproduce exactly, raises
`ColumnsUnsupported` while the pathway is compiled, and the caller keeps the scalar engine for that pathway.

Representation of a column of n records (missing = unknown = None in the scalar engine):

- boolean: a pair (T, F) of bool arrays, T = definitely true, F = definitely false, unknown = neither; Kleene
  logic is then `and`: (Ta & Tb, Fa | Fb), `or`: (Ta | Tb, Fa & Fb), `not`: (F, T). Constants are Python bools.
- number: a pair (x, isint): float64 values with NaN = missing, and whether the scalar engine's value is a
  Python int (a bool or a bool array), so that facts come back as int or float exactly as the engine makes them.
  Answers are exact in float64 because a record is clean only when every number has abs < 2**53, and every
  arithmetic result that reaches abs >= 2**53 (or is not finite) makes its record not clean; below that bound
  + - * / on exact operands round exactly as Python's int and float arithmetic do, and comparisons are exact.
  Division by zero is missing, as the engine's ZeroDivisionError is.
- choice: int codes into the node's option tuple, -1 = missing.
- multi-choice: (M, present, raw): M is a (options x n) bool matrix, present a bool array, raw the answer lists
  themselves (a fact that passes a multi-choice through returns the very list, in its order).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

LIMIT = 2.0 ** 53  # every number a clean record holds or computes has abs below this, so float64 is exact
SAFE = 2.0 ** 52  # a static bound below this needs no run-time range check

Fn = Callable[["Ctx"], Any]


class ColumnsUnsupported(Exception):
    """The pathway uses something that cannot be evaluated over columns exactly; use the scalar engine."""


@dataclass
class Node:
    """A compiled expression: its kind, its evaluator (None for a text or list constant) and static facts."""

    kind: str  # boolean, number, choice, multi, string, list
    fn: Fn | None = None
    const: Any = None  # string: the text; list: the tuple of values
    options: tuple = ()  # choice / multi: the value of each code
    bound: float = math.inf  # number: a bound on abs(value) for every clean record


class Ctx:
    """The columns of one chunk: values by name, memoised subexpressions, and the not-clean mask."""

    __slots__ = ("n", "bad", "cols", "memo")

    def __init__(self, n: int, slots: int):
        self.n = n
        self.bad = np.zeros(n, dtype=bool)
        self.cols: dict[str, Any] = {}
        self.memo: list[Any] = [None] * slots


# --- expressions ----------------------------------------------------------------------------------------------

_CONSTANT_NAMES = {"true": True, "false": False, "True": True, "False": False}
_ORDER = {  # op -> (T, F) of the comparison; NaN compares false both ways, so missing stays unknown
    ast.Lt: (operator.lt, operator.ge), ast.LtE: (operator.le, operator.gt),
    ast.Gt: (operator.gt, operator.le), ast.GtE: (operator.ge, operator.lt),
}
_ARITH = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}


def _all_of(first: Fn, rest: list[Fn]) -> Fn:
    """Kleene `and` of boolean columns: true where all are, false where any is."""
    def fn(ctx):
        t, f = first(ctx)
        for g in rest:
            t2, f2 = g(ctx)
            t, f = t & t2, f | f2
        return t, f

    return fn


def unsupported(what: str) -> ColumnsUnsupported:
    return ColumnsUnsupported(f"cannot evaluate over columns: {what}")


def _const_fn(value: Any) -> Fn:
    return lambda ctx: value


def exact_number(value: Any) -> bool:
    """A pathway constant that float64 holds exactly and that compares as Python does (no NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return abs(value) < LIMIT
    return not math.isnan(value)


class Compiler:
    """Turns condition text into `Node`s over the names declared so far (`self.names`)."""

    def __init__(self):
        self.names: dict[str, Node] = {}
        self.cache: dict[str, Node] = {}  # ast.dump -> node: shared subexpressions are computed once per chunk
        self.slots = 0

    def condition(self, text: str, want: str | None = "boolean") -> Node:
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:  # pragma: no cover - the loader has already parsed it
            raise unsupported(f"`{text}` does not parse") from exc
        node = self.visit(tree.body)
        if want is not None and node.kind != want:
            raise unsupported(f"`{text}` is {node.kind}, not {want}")
        return node

    def visit(self, node: ast.AST) -> Node:
        key = ast.dump(node)
        hit = self.cache.get(key)
        if hit is None:
            method = getattr(self, "visit_" + type(node).__name__, None)
            if method is None:
                raise unsupported(f"`{ast.unparse(node)}`")
            hit = self.cache[key] = self._memo(method(node))
        return hit

    def _memo(self, node: Node) -> Node:
        if node.fn is None or isinstance(node.fn, Leaf):
            return node
        slot, inner = self.slots, node.fn
        self.slots += 1

        def fn(ctx: Ctx):
            value = ctx.memo[slot]
            if value is None:
                value = ctx.memo[slot] = inner(ctx)
            return value

        node.fn = fn
        return node

    # leaves
    def visit_Name(self, node: ast.Name) -> Node:
        if node.id in _CONSTANT_NAMES:
            return self._bool_const(_CONSTANT_NAMES[node.id])
        declared = self.names.get(node.id)
        if declared is None:
            raise unsupported(f"unknown name `{node.id}`")
        return Node(declared.kind, Leaf(node.id), options=declared.options, bound=declared.bound)

    def visit_Constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool):
            return self._bool_const(value)
        if isinstance(value, (int, float)):
            if not exact_number(value):
                raise unsupported(f"the number {value!r}")
            pair = (np.float64(value), isinstance(value, int))
            return Node("number", Leaf(None, pair), bound=abs(float(value)))
        if isinstance(value, str):
            return Node("string", const=value)
        raise unsupported(f"the constant {value!r}")

    def visit_List(self, node: ast.List | ast.Tuple) -> Node:
        values = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or not (isinstance(elt.value, str) or exact_number(elt.value)):
                raise unsupported(f"the list `{ast.unparse(node)}`")
            values.append(elt.value)
        return Node("list", const=tuple(values))

    visit_Tuple = visit_List

    @staticmethod
    def _bool_const(value: bool) -> Node:
        return Node("boolean", Leaf(None, (value, not value)))

    # operators
    def visit_BoolOp(self, node: ast.BoolOp) -> Node:
        parts = [self._want(v, "boolean") for v in node.values]
        first, rest = parts[0].fn, [p.fn for p in parts[1:]]
        if isinstance(node.op, ast.And):
            fn = _all_of(first, rest)
        else:
            def fn(ctx):
                t, f = first(ctx)
                for g in rest:
                    t2, f2 = g(ctx)
                    t, f = t | t2, f & f2
                return t, f
        return Node("boolean", fn)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Node:
        operand = self.visit(node.operand)
        inner = operand.fn
        if isinstance(node.op, ast.Not) and operand.kind == "boolean":
            def not_fn(ctx):
                t, f = inner(ctx)
                return f, t
            return Node("boolean", not_fn)
        if isinstance(node.op, ast.USub) and operand.kind == "number":
            def neg_fn(ctx):
                x, isint = inner(ctx)
                return _unsigned_int_zero(-x, isint), isint
            return Node("number", neg_fn, bound=operand.bound)
        raise unsupported(f"`{ast.unparse(node)}`")

    def visit_BinOp(self, node: ast.BinOp) -> Node:
        ufunc = _ARITH.get(type(node.op))
        if ufunc is None:
            raise unsupported(f"`{ast.unparse(node)}`")
        left, right = self._want(node.left, "number"), self._want(node.right, "number")
        divide = ufunc is np.divide
        const_divisor = right.fn.value[0] if isinstance(right.fn, Leaf) and right.fn.name is None else None
        if ufunc is np.multiply:
            bound = left.bound * right.bound
        elif divide:
            bound = left.bound / abs(const_divisor) if const_divisor else math.inf
        else:
            bound = left.bound + right.bound
        return Node("number", _arith_fn(ufunc, left.fn, right.fn, divide and not const_divisor,
                                         checked=not bound < SAFE), bound=bound)

    def visit_Compare(self, node: ast.Compare) -> Node:
        operands = [self.visit(o) for o in (node.left, *node.comparators)]
        tests = [self._compare(op, operands[i], operands[i + 1]) for i, op in enumerate(node.ops)]
        if len(tests) == 1:
            return Node("boolean", tests[0])
        return Node("boolean", _all_of(tests[0], tests[1:]))

    def _want(self, node: ast.AST, kind: str) -> Node:
        out = self.visit(node)
        if out.kind != kind:
            raise unsupported(f"`{ast.unparse(node)}` is {out.kind}, not {kind}")
        return out

    def _compare(self, op: ast.cmpop, a: Node, b: Node) -> Fn:
        if isinstance(op, (ast.In, ast.NotIn)):
            return _negated(_membership(a, b), isinstance(op, ast.NotIn))
        if type(op) in _ORDER and a.kind == b.kind == "number":
            return _order_fn(*_ORDER[type(op)], a.fn, b.fn)
        if not isinstance(op, (ast.Eq, ast.NotEq)):
            raise unsupported(f"the comparison {type(op).__name__} of {a.kind} and {b.kind}")
        return _negated(_equality(a, b), isinstance(op, ast.NotEq))


class Leaf:
    """A name's column (looked up in the chunk) or a constant value; not memoised (it is already cheap)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str | None, value: Any = None):
        self.name = name
        self.value = value

    def __call__(self, ctx: Ctx):
        return self.value if self.name is None else ctx.cols[self.name]


def _arith_fn(ufunc, left: Fn, right: Fn, zero_check: bool, checked: bool) -> Fn:
    """+ - * / over numbers: missing in, missing out; x / 0 is missing; an inexact result marks the record."""
    divide = ufunc is np.divide

    def fn(ctx):
        (a, ia), (b, ib) = left(ctx), right(ctx)
        r = ufunc(a, b)
        if zero_check:
            r = np.where(b == 0, np.nan, r)
        if checked:
            over = ~(np.abs(r) < LIMIT) & (a == a) & (b == b)
            if divide:
                over &= b != 0
            if over.any():
                ctx.bad |= over
                r = np.where(over, np.nan, r)
        if divide:
            return r, False
        isint = ia & ib
        return _unsigned_int_zero(r, isint), isint

    return fn


def _unsigned_int_zero(x: np.ndarray, isint) -> np.ndarray:
    """Python's whole-number 0 has no sign; float64 arithmetic on it can give -0.0 (which then shows in a float
    result, e.g. `-n / 2`). Adding +0.0 turns -0.0 into 0.0 and leaves every other value as it is."""
    if isint is False:
        return x
    return np.where(isint, x + 0.0, x)


def _order_fn(true_op, false_op, left: Fn, right: Fn) -> Fn:
    def fn(ctx):
        a, b = left(ctx)[0], right(ctx)[0]
        return true_op(a, b), false_op(a, b)

    return fn


def _negated(fn: Fn, negate: bool) -> Fn:
    if not negate:
        return fn

    def swapped(ctx):
        t, f = fn(ctx)
        return f, t

    return swapped


def _equality(a: Node, b: Node) -> Fn:
    """== between numbers, booleans, choices (or a choice and text), or a multi-choice and a list (as sets)."""
    kinds = {a.kind, b.kind}
    if a.kind == b.kind == "number":
        return _number_eq(a.fn, b.fn)
    if a.kind == b.kind == "boolean":
        return _boolean_eq(a.fn, b.fn)
    if kinds == {"choice", "string"}:
        choice, text = (a, b) if a.kind == "choice" else (b, a)
        return _choice_is(choice, [text.const])
    if kinds == {"choice"}:
        return _choice_eq(a, b)
    if kinds == {"multi", "list"}:
        multi, lst = (a, b) if a.kind == "multi" else (b, a)
        return _multi_eq(multi, lst.const)
    raise unsupported(f"== between {a.kind} and {b.kind}")


def _number_eq(left: Fn, right: Fn) -> Fn:
    def fn(ctx):
        a, b = left(ctx)[0], right(ctx)[0]
        return a == b, (a < b) | (a > b)

    return fn


def _boolean_eq(left: Fn, right: Fn) -> Fn:
    def fn(ctx):
        (ta, fa), (tb, fb) = left(ctx), right(ctx)
        return (ta & tb) | (fa & fb), (ta & fb) | (fa & tb)

    return fn


def _choice_is(choice: Node, values) -> Fn:
    """`choice == "x"` / `choice in [...]`: true for the listed options, false for any other present answer."""
    codes = sorted({choice.options.index(v) for v in values if isinstance(v, str) and v in choice.options})
    inner = choice.fn

    def fn(ctx):
        c = inner(ctx)
        if not codes:
            return False, c >= 0
        hit = c == codes[0]
        for k in codes[1:]:
            hit = hit | (c == k)
        return hit, (c >= 0) & ~hit

    return fn


def _recode(source: tuple, target: tuple) -> np.ndarray:
    """Codes of `source` -> codes of the same value in `target` (-2: not there); the last entry maps -1 to -1."""
    return np.array([target.index(v) if v in target else -2 for v in source] + [-1], dtype=np.intp)


def _choice_eq(a: Node, b: Node) -> Fn:
    lut = _recode(b.options, a.options)
    left, right = a.fn, b.fn

    def fn(ctx):
        ca, cb = left(ctx), lut[right(ctx)]
        known = (ca >= 0) & (cb != -1)
        same = ca == cb
        return same & known, known & ~same

    return fn


def _multi_eq(multi: Node, values: tuple) -> Fn:
    """`multi == [...]` compares as sets; a value that is not an option can never be equal."""
    inner = multi.fn
    if any(not isinstance(v, str) or v not in multi.options for v in values):
        def never(ctx):
            present = inner(ctx)[1]
            return False, present
        return never
    want = np.zeros(len(multi.options), dtype=bool)
    want[[multi.options.index(v) for v in values]] = True
    column = want[:, None]

    def fn(ctx):
        m, present, _ = inner(ctx)
        differs = (m != column).any(axis=0) if len(want) else np.zeros(ctx.n, dtype=bool)
        return present & ~differs, present & differs

    return fn


def _membership(a: Node, b: Node) -> Fn:
    """`a in b`: text or a choice in a multi-choice; a choice, text or number in a constant list."""
    if b.kind == "multi" and a.kind == "string":
        return _option_in(b, a.const)
    if b.kind == "multi" and a.kind == "choice":
        return _choice_in_multi(a, b)
    if b.kind == "list" and a.kind == "choice":
        return _choice_is(a, b.const)
    if b.kind == "list" and a.kind == "string":
        return _const_fn((a.const in b.const, a.const not in b.const))
    if b.kind == "list" and a.kind == "number" and all(not isinstance(v, str) for v in b.const):
        return _number_in(a.fn, np.array(b.const, dtype=np.float64))
    raise unsupported(f"{a.kind} in {b.kind}")


def _option_in(multi: Node, value: str) -> Fn:
    inner = multi.fn
    if value not in multi.options:
        return lambda ctx: (False, inner(ctx)[1])
    row = multi.options.index(value)

    def fn(ctx):
        m, present, _ = inner(ctx)
        hit = m[row]
        return hit, present & ~hit

    return fn


def _choice_in_multi(choice: Node, multi: Node) -> Fn:
    lut = _recode(choice.options, multi.options)
    left, right = choice.fn, multi.fn

    def fn(ctx):
        rows = lut[left(ctx)]
        m, present, _ = right(ctx)
        known = (rows != -1) & present
        hit = np.zeros(ctx.n, dtype=bool)
        where = np.flatnonzero(rows >= 0)
        hit[where] = m[rows[where], where]
        return hit, known & ~hit

    return fn


def _number_in(inner: Fn, values: np.ndarray) -> Fn:
    def fn(ctx):
        x = inner(ctx)[0]
        hit = np.isin(x, values)
        return hit, (x == x) & ~hit

    return fn

