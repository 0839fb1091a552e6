"""A pathway evaluated over a whole chunk of records at once, with numpy, giving exactly what the engine gives.

`ColumnEngine(pathway)` compiles every condition of the pathway (ask_when, derived facts, scores, rules) once
into small functions over columns; `run(answers)` then reads a chunk of answer mappings into columns, checks
them, computes every fact, fires every rule and decides every tier with a few array operations per condition
instead of a Python call per record and per condition.

Safety: the conditions are the loader's already checked text, re-parsed with `ast.parse(..., mode="eval")` and
walked node by node (the same whitelist as `conditions.py`: names, constants, constant lists, and/or/not, unary
minus, + - * /, comparisons and `in`). Each node becomes a numpy operation; nothing from the pathway is ever
passed to `eval`, `exec` or `compile`. Any other node, or anything this module cannot reproduce exactly, makes
the constructor raise `ColumnsUnsupported`, and the caller keeps the scalar engine for that pathway.

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

A record is clean when the engine's check gives no problem and no warning and no number leaves the exact range;
only clean records get an env, a tier and the contributing rules here. The others are left to the scalar engine,
which produces the exact messages. Reading the answers never raises, whatever the values are.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, compress, repeat
from typing import Any

import numpy as np

from .model import Case, Derived, Pathway, Question, Score

LIMIT = 2.0 ** 53  # every number a clean record holds or computes has abs below this, so float64 is exact
_SAFE = 2.0 ** 52  # a static bound below this needs no run-time range check
_NONE = type(None)

Fn = Callable[["_Ctx"], Any]


class ColumnsUnsupported(Exception):
    """The pathway uses something that cannot be evaluated over columns exactly; use the scalar engine."""


@dataclass
class ColumnRun:
    """One chunk: per input record, whether it was evaluated here, and if so its env, tier and rules."""

    clean: list[bool]
    envs: Sequence[dict | None]  # `Envs`: each made when first read
    tiers: list[str | None]
    contributing: list[list[int] | None]
    presence: list[int] | None = None  # with `run(..., presence_of=names)`: bit i set when names[i] has a value
    matrix: Any = None  # `contributing` as a records x rules bool array (rows of records not clean: all False)
    # truths(text): for the condition `text` of a rule or derived fact, a records x operands bool array: whether
    # each operand of its `or`s is true, in `Compiled.or_terms` order (None for any other text)
    truths: Callable[[str], Any] | None = None
    # values[name]: for every question, derived fact and score, each record's value as in its env (None where
    # it has none), in record order; taken from the columns the envs are made of, so reading a name for the
    # whole chunk costs no lookups
    values: Mapping[str, Sequence] | None = None


class Envs(Sequence):
    """Each record's env, as the scalar engine makes it (its present answers, the given objects, plus every fact
    and score), or None for a record that is not clean; made when first asked for, since the batch writer reads
    `ColumnRun.values` instead and needs few."""

    __slots__ = ("dicts", "whole", "bad", "fact_ids", "fact_columns", "made")

    def __init__(self, dicts: list[dict], whole: list[bool], bad: list[bool], fact_ids: list[str],
                 fact_columns: list[list]):
        self.dicts, self.whole, self.bad = dicts, whole, bad
        self.fact_ids, self.fact_columns = fact_ids, fact_columns
        self.made: dict[int, dict | None] = {}

    def __len__(self) -> int:
        return len(self.dicts)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        k = range(len(self.dicts))[k]  # a negative index counts from the end; out of range raises IndexError
        env = self.made.get(k, False)
        if env is False:
            env = self.made[k] = self._make(k)
        return env

    def _make(self, k: int) -> dict | None:
        if self.bad[k]:
            return None
        answers = self.dicts[k]
        env = dict(answers) if self.whole[k] else {key: v for key, v in answers.items() if v is not None}
        env.update(zip(self.fact_ids, [column[k] for column in self.fact_columns]))
        return env


@dataclass
class _Node:
    """A compiled expression: its kind, its evaluator (None for a text or list constant) and static facts."""

    kind: str  # boolean, number, choice, multi, string, list
    fn: Fn | None = None
    const: Any = None  # string: the text; list: the tuple of values
    options: tuple = ()  # choice / multi: the value of each code
    bound: float = math.inf  # number: a bound on abs(value) for every clean record


class _Ctx:
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


def _unsupported(what: str) -> ColumnsUnsupported:
    return ColumnsUnsupported(f"cannot evaluate over columns: {what}")


def _const_fn(value: Any) -> Fn:
    return lambda ctx: value


def _exact_number(value: Any) -> bool:
    """A pathway constant that float64 holds exactly and that compares as Python does (no NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return abs(value) < LIMIT
    return not math.isnan(value)


class _Compiler:
    """Turns condition text into `_Node`s over the names declared so far (`self.names`)."""

    def __init__(self):
        self.names: dict[str, _Node] = {}
        self.cache: dict[str, _Node] = {}  # ast.dump -> node: shared subexpressions are computed once per chunk
        self.slots = 0

    def condition(self, text: str, want: str | None = "boolean") -> _Node:
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:  # pragma: no cover - the loader has already parsed it
            raise _unsupported(f"`{text}` does not parse") from exc
        node = self.visit(tree.body)
        if want is not None and node.kind != want:
            raise _unsupported(f"`{text}` is {node.kind}, not {want}")
        return node

    def visit(self, node: ast.AST) -> _Node:
        key = ast.dump(node)
        hit = self.cache.get(key)
        if hit is None:
            method = getattr(self, "visit_" + type(node).__name__, None)
            if method is None:
                raise _unsupported(f"`{ast.unparse(node)}`")
            hit = self.cache[key] = self._memo(method(node))
        return hit

    def _memo(self, node: _Node) -> _Node:
        if node.fn is None or isinstance(node.fn, _Leaf):
            return node
        slot, inner = self.slots, node.fn
        self.slots += 1

        def fn(ctx: _Ctx):
            value = ctx.memo[slot]
            if value is None:
                value = ctx.memo[slot] = inner(ctx)
            return value

        node.fn = fn
        return node

    # leaves
    def visit_Name(self, node: ast.Name) -> _Node:
        if node.id in _CONSTANT_NAMES:
            return self._bool_const(_CONSTANT_NAMES[node.id])
        declared = self.names.get(node.id)
        if declared is None:
            raise _unsupported(f"unknown name `{node.id}`")
        return _Node(declared.kind, _Leaf(node.id), options=declared.options, bound=declared.bound)

    def visit_Constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            return self._bool_const(value)
        if isinstance(value, (int, float)):
            if not _exact_number(value):
                raise _unsupported(f"the number {value!r}")
            pair = (np.float64(value), isinstance(value, int))
            return _Node("number", _Leaf(None, pair), bound=abs(float(value)))
        if isinstance(value, str):
            return _Node("string", const=value)
        raise _unsupported(f"the constant {value!r}")

    def visit_List(self, node: ast.List | ast.Tuple) -> _Node:
        values = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or not (isinstance(elt.value, str) or _exact_number(elt.value)):
                raise _unsupported(f"the list `{ast.unparse(node)}`")
            values.append(elt.value)
        return _Node("list", const=tuple(values))

    visit_Tuple = visit_List

    @staticmethod
    def _bool_const(value: bool) -> _Node:
        return _Node("boolean", _Leaf(None, (value, not value)))

    # operators
    def visit_BoolOp(self, node: ast.BoolOp) -> _Node:
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
        return _Node("boolean", fn)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Node:
        operand = self.visit(node.operand)
        inner = operand.fn
        if isinstance(node.op, ast.Not) and operand.kind == "boolean":
            def not_fn(ctx):
                t, f = inner(ctx)
                return f, t
            return _Node("boolean", not_fn)
        if isinstance(node.op, ast.USub) and operand.kind == "number":
            def neg_fn(ctx):
                x, isint = inner(ctx)
                return _unsigned_int_zero(-x, isint), isint
            return _Node("number", neg_fn, bound=operand.bound)
        raise _unsupported(f"`{ast.unparse(node)}`")

    def visit_BinOp(self, node: ast.BinOp) -> _Node:
        ufunc = _ARITH.get(type(node.op))
        if ufunc is None:
            raise _unsupported(f"`{ast.unparse(node)}`")
        left, right = self._want(node.left, "number"), self._want(node.right, "number")
        divide = ufunc is np.divide
        const_divisor = right.fn.value[0] if isinstance(right.fn, _Leaf) and right.fn.name is None else None
        if ufunc is np.multiply:
            bound = left.bound * right.bound
        elif divide:
            bound = left.bound / abs(const_divisor) if const_divisor else math.inf
        else:
            bound = left.bound + right.bound
        return _Node("number", _arith_fn(ufunc, left.fn, right.fn, divide and not const_divisor,
                                         checked=not bound < _SAFE), bound=bound)

    def visit_Compare(self, node: ast.Compare) -> _Node:
        operands = [self.visit(o) for o in (node.left, *node.comparators)]
        tests = [self._compare(op, operands[i], operands[i + 1]) for i, op in enumerate(node.ops)]
        if len(tests) == 1:
            return _Node("boolean", tests[0])
        return _Node("boolean", _all_of(tests[0], tests[1:]))

    def _want(self, node: ast.AST, kind: str) -> _Node:
        out = self.visit(node)
        if out.kind != kind:
            raise _unsupported(f"`{ast.unparse(node)}` is {out.kind}, not {kind}")
        return out

    def _compare(self, op: ast.cmpop, a: _Node, b: _Node) -> Fn:
        if isinstance(op, (ast.In, ast.NotIn)):
            return _negated(_membership(a, b), isinstance(op, ast.NotIn))
        if type(op) in _ORDER and a.kind == b.kind == "number":
            return _order_fn(*_ORDER[type(op)], a.fn, b.fn)
        if not isinstance(op, (ast.Eq, ast.NotEq)):
            raise _unsupported(f"the comparison {type(op).__name__} of {a.kind} and {b.kind}")
        return _negated(_equality(a, b), isinstance(op, ast.NotEq))


class _Leaf:
    """A name's column (looked up in the chunk) or a constant value; not memoised (it is already cheap)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str | None, value: Any = None):
        self.name = name
        self.value = value

    def __call__(self, ctx: _Ctx):
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


def _equality(a: _Node, b: _Node) -> Fn:
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
    raise _unsupported(f"== between {a.kind} and {b.kind}")


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


def _choice_is(choice: _Node, values) -> Fn:
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


def _choice_eq(a: _Node, b: _Node) -> Fn:
    lut = _recode(b.options, a.options)
    left, right = a.fn, b.fn

    def fn(ctx):
        ca, cb = left(ctx), lut[right(ctx)]
        known = (ca >= 0) & (cb != -1)
        same = ca == cb
        return same & known, known & ~same

    return fn


def _multi_eq(multi: _Node, values: tuple) -> Fn:
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


def _membership(a: _Node, b: _Node) -> Fn:
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
    raise _unsupported(f"{a.kind} in {b.kind}")


def _option_in(multi: _Node, value: str) -> Fn:
    inner = multi.fn
    if value not in multi.options:
        return lambda ctx: (False, inner(ctx)[1])
    row = multi.options.index(value)

    def fn(ctx):
        m, present, _ = inner(ctx)
        hit = m[row]
        return hit, present & ~hit

    return fn


def _choice_in_multi(choice: _Node, multi: _Node) -> Fn:
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


# --- reading the answers -----------------------------------------------------------------------------------------

def _scrubbed(col, bad: np.ndarray, ok: Callable[[Any], bool]) -> list:
    """The slow path: a copy of `col` where every present value that is not `ok` marks its record and is missing."""
    col = list(col)
    for i, v in enumerate(col):
        if v is not None and not ok(v):
            bad[i] = True
            col[i] = None
    return col


_BOOLEAN_TYPES = frozenset({bool, _NONE})
_BOOLEAN_CODES = {None: 0, True: 1, False: 2}  # used once the types are known to be bool or None


def _read_boolean(col: list, bad: np.ndarray):
    """(T, F) and whether answered; only True and False are booleans (not 1, 0 or "true")."""
    if not set(map(type, col)) <= _BOOLEAN_TYPES:
        col = _scrubbed(col, bad, lambda v: type(v) is bool)
    codes = np.frombuffer(bytes(map(_BOOLEAN_CODES.__getitem__, col)), dtype=np.uint8)
    t, f = codes == 1, codes == 2
    return (t, f), codes != 0


def _small_number(v: Any, integer: bool) -> bool:
    if type(v) is int:
        return -LIMIT < v < LIMIT
    return not integer and type(v) is float and math.isfinite(v)


_NUMBER_TYPES = {int: 0, float: 1, _NONE: 2}  # anything else: 3


def _read_number(col: list, bad: np.ndarray, q: Question):
    """(x, isint) and whether answered: an int or (for `number`) a finite float in range, never a bool."""
    integer = q.type == "integer"
    types = np.frombuffer(bytes(map(_NUMBER_TYPES.get, map(type, col), repeat(3))), dtype=np.uint8)
    wrong = types > (0 if integer else 1)
    if (wrong & (types != 2)).any():
        col = _scrubbed(col, bad, lambda v: _small_number(v, integer))
    try:
        x = np.array(col, dtype=np.float64)  # None -> NaN
    except OverflowError:  # an int beyond float range
        col = _scrubbed(col, bad, lambda v: _small_number(v, integer))
        x = np.array(col, dtype=np.float64)
    missing = np.isnan(x)
    if (missing & (types == 1)).any():  # NaN given as an answer
        bad |= missing & (types == 1)
    wrong = ~(np.abs(x) < LIMIT) & ~missing
    if q.min is not None:
        wrong |= x < q.min
    if q.max is not None:
        wrong |= x > q.max
    if wrong.any():
        bad |= wrong
        x[wrong] = np.nan
    isint = types == 0
    present = ~np.isnan(x)
    if isint[present].all():
        isint = True
    elif not isint[present].any():
        isint = False
    return (x, isint), present


def _codes(values, index: dict) -> np.ndarray:
    """Each value's code by `index` (option -> 0..k-1, None -> k), k + 1 for anything else; raises TypeError for
    an unhashable value. Only text can equal an option id."""
    other = len(index)
    if other < 256:
        return np.frombuffer(bytes(map(index.get, values, repeat(other))), dtype=np.uint8)
    return np.array(list(map(index.get, values, repeat(other))), dtype=np.intp)


def _read_choice(col: list, bad: np.ndarray, index: dict):
    """Option codes (-1 missing) and whether answered."""
    try:
        raw = _codes(col, index)
    except Exception:  # an unhashable value (a list, a mapping)
        raw = _codes(_scrubbed(col, bad, lambda v: type(v) is str), index)
    k = len(index) - 1
    wrong = raw > k
    if wrong.any():
        bad |= wrong
    codes = raw.astype(np.intp)
    codes[raw >= k] = -1
    return codes, codes >= 0


_MULTI_TYPES = {_NONE: 0, list: 1}  # anything else: 2


def _read_multi(col: list, bad: np.ndarray, index: dict):
    """The options matrix (k x n); an entry that is not an option, or an option listed twice, marks the record."""
    n, k = len(col), len(index) - 1
    given = bytes(map(_MULTI_TYPES.get, map(type, col), repeat(2)))
    if given.count(2):
        col = _scrubbed(col, bad, lambda v: type(v) is list)
        given = bytes(map(_MULTI_TYPES.get, map(type, col), repeat(2)))
    present = np.frombuffer(given, dtype=bool)
    lists = list(compress(col, given))
    try:
        codes = _codes(chain.from_iterable(lists), index)
    except Exception:  # an unhashable entry: empty those lists the slow way
        col = _scrubbed(col, bad, lambda v: all(type(e) is str for e in v))
        col = [[] if v is None and g else v for v, g in zip(col, given)]
        lists = list(compress(col, given))
        codes = _codes(chain.from_iterable(lists), index)
    owner = np.repeat(np.flatnonzero(present), np.array(list(map(len, lists)), dtype=np.intp))
    wrong = codes >= k  # None or not an option
    if wrong.any():
        bad[owner[wrong]] = True
        owner, codes = owner[~wrong], codes[~wrong]
    counts = np.bincount(codes.astype(np.intp) * n + owner, minlength=k * n)
    if counts.size and counts.max() > 1:  # an option listed twice
        bad[np.flatnonzero(counts > 1) % n] = True
    return (np.reshape(counts > 0, (k, n)), present, col), present


# --- facts -------------------------------------------------------------------------------------------------------

def _case_kind(cases: tuple[Case, ...]) -> str:
    values = [c.value for c in cases]
    if all(type(v) is bool for v in values):
        return "boolean"
    if all(_exact_number(v) for v in values):
        return "number"
    if all(type(v) is str for v in values):
        return "choice"
    raise _unsupported(f"case values {values!r}")


def _cases_fn(whens: list[Fn | None]) -> Fn:
    """The engine's `_cases` as codes: the index of the first case whose `when` is true, -1 for None (no case,
    or a case whose `when` is unknown before any true one)."""

    def fn(ctx):
        code = np.full(ctx.n, -1, dtype=np.intp)
        open_ = np.ones(ctx.n, dtype=bool)
        for i, when in enumerate(whens):
            if when is None:
                code[open_] = i
                break
            t, f = when(ctx)
            code[open_ & t] = i
            open_ = open_ & f
        return code

    return fn


def _cases_node(compiler: _Compiler, cases: tuple[Case, ...]) -> _Node:
    kind = _case_kind(cases)
    codes = _cases_fn([None if c.when is None else compiler.condition(c.when.text).fn for c in cases])
    values = [c.value for c in cases]
    if kind == "boolean":
        t_lut = np.array([v is True for v in values] + [False])
        f_lut = np.array([v is False for v in values] + [False])
        return _Node("boolean", lambda ctx: (t_lut[(c := codes(ctx))], f_lut[c]))
    if kind == "number":
        x_lut = np.array([float(v) for v in values] + [np.nan])
        kinds = {type(v) is int for v in values}
        int_lut = np.array([type(v) is int for v in values] + [False])
        if len(kinds) == 1:
            isint = kinds.pop()
            fn = lambda ctx: (x_lut[codes(ctx)], isint)  # noqa: E731
        else:
            fn = lambda ctx: (x_lut[(c := codes(ctx))], int_lut[c])  # noqa: E731
        return _Node("number", fn, bound=max(abs(float(v)) for v in values))
    options = tuple(dict.fromkeys(values))
    lut = np.array([options.index(v) for v in values] + [-1], dtype=np.intp)
    return _Node("choice", lambda ctx: lut[codes(ctx)], options=options)


def _item_term(compiler: _Compiler, pathway: Pathway, item) -> tuple[Fn, float]:
    """One score item as fn(ctx) -> (term, isint, missing, hit) where `hit` says when the term is added at all
    (None: always), and its bound."""
    if item.question is None:
        points = item.points
        if not _exact_number(points):
            raise _unsupported(f"points {points!r}")
        when = compiler.condition(item.when.text).fn
        p, pint = float(points), type(points) is int

        def when_term(ctx):
            t, f = when(ctx)
            t = np.broadcast_to(t, (ctx.n,))
            return np.where(t, p, 0.0), (True if pint else ~t), ~(t | f)

        return when_term, abs(p)
    q = pathway.questions.get(item.question)
    node = compiler.names.get(item.question)
    if q is None or node is None:
        raise _unsupported(f"score item `{item.question}`")
    leaf = node.fn
    if item.values is None:
        if node.kind == "boolean":
            def bool_term(ctx):
                t, f = leaf(ctx)
                return t.astype(np.float64), True, ~(t | f)
            return bool_term, 1.0
        if node.kind == "number":
            def number_term(ctx):
                x, isint = leaf(ctx)
                return x, isint, np.isnan(x)
            return number_term, node.bound
        raise _unsupported(f"score item `{item.question}` without values")
    for v in item.values.values():
        if not _exact_number(v):
            raise _unsupported(f"score points {v!r}")
    points = [item.values.get(o, 0) for o in node.options]
    pts = np.array([float(v) for v in points], dtype=np.float64)
    is_float = np.array([type(v) is float for v in points], dtype=bool)
    if node.kind == "choice":
        pts_lut, int_lut = np.append(pts, 0.0), np.append(~is_float, True)
        all_int = not is_float.any()

        def choice_term(ctx):
            c = leaf(ctx)
            return pts_lut[c], (True if all_int else int_lut[c]), c < 0

        return choice_term, float(np.abs(pts).max(initial=0))
    if node.kind == "multi":
        if any(not float(v).is_integer() for v in points) or not np.abs(pts).sum() < _SAFE:
            # the engine sums in list order: only small integers add up the same in any order
            raise _unsupported(f"points for the multi-choice `{item.question}`")
        floats = np.flatnonzero(is_float)
        scoring = np.flatnonzero(pts)
        weights = pts[scoring, None]

        def multi_term(ctx):
            m, present, _ = leaf(ctx)
            isint = ~m[floats].any(axis=0) if floats.size else True
            total = (m[scoring] * weights).sum(axis=0) if scoring.size else np.zeros(ctx.n)  # small integers: exact
            return total, isint, ~present

        return multi_term, float(np.abs(pts).sum())
    raise _unsupported(f"score values for `{item.question}`")


def _items_node(compiler: _Compiler, pathway: Pathway, score: Score) -> _Node:
    """A sum score: terms added in item order (the same float additions as the engine); any missing -> None."""
    terms, bounds = zip(*(_item_term(compiler, pathway, it) for it in score.items))
    bound = float(sum(bounds))
    checked = not bound < _SAFE

    def fn(ctx):
        total = np.zeros(ctx.n)
        isint: Any = True
        missing = np.zeros(ctx.n, dtype=bool)
        for term in terms:
            x, xint, miss = term(ctx)
            total = total + x
            isint = isint & xint
            missing |= miss
            if checked:
                over = ~(np.abs(total) < LIMIT) & ~missing
                if over.any():
                    ctx.bad |= over
        return np.where(missing, np.nan, total), isint

    return _Node("number", fn, bound=bound)


def _fact_node(compiler: _Compiler, pathway: Pathway, fact: Derived | Score) -> _Node:
    if isinstance(fact, Derived):
        if fact.expr is not None:
            node = compiler.condition(fact.expr.text, want=None)
            if node.kind not in ("boolean", "number", "choice", "multi"):
                raise _unsupported(f"the derived fact `{fact.id}` is {node.kind}")
            return node
        if not fact.cases:
            raise _unsupported(f"the derived fact `{fact.id}` has neither expr nor cases")
        return _cases_node(compiler, fact.cases)
    if fact.cases:
        return _cases_node(compiler, fact.cases)
    if not fact.items:
        raise _unsupported(f"the score `{fact.id}` has no items")
    return _items_node(compiler, pathway, fact)


# --- values back to Python -----------------------------------------------------------------------------------------

def _python_list(kind: str, options: tuple, value: Any, n: int) -> list:
    """A number, choice or multi-choice column as a list of the engine's Python values (int or float as the
    engine computes it, the option id, the very answer list; None when missing)."""
    if kind == "choice":
        return list(map([*options, None].__getitem__, np.broadcast_to(value, (n,)).tolist()))
    if kind == "multi":
        return list(value[2])
    x, isint = value
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))
    missing = np.isnan(x)
    if np.ndim(isint) == 0:
        out = np.where(missing, 0, x).astype(np.int64).tolist() if isint else x.tolist()
    else:
        out = x.tolist()
        for i in np.flatnonzero(isint & ~missing).tolist():
            out[i] = int(out[i])
    for i in np.flatnonzero(missing).tolist():
        out[i] = None
    return out


# --- the engine ------------------------------------------------------------------------------------------------------

def _fact_deps(fact: Derived | Score) -> set[str]:
    names: set[str] = set()
    if isinstance(fact, Derived) and fact.expr is not None:
        names |= set(fact.expr.names)
    for case in fact.cases:
        if case.when is not None:
            names |= set(case.when.names)
    for item in getattr(fact, "items", ()):
        names |= set(item.when.names) if item.when is not None else {item.question}
    return names


class ColumnEngine:
    """A pathway compiled for columns; `run` evaluates one chunk of answer mappings."""

    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        self.questions = pathway.question_list()
        self.qids = [q.id for q in self.questions]
        self.qset = frozenset(self.qids)
        compiler = self.compiler = _Compiler()
        self.indexes = {q.id: {**{o: i for i, o in enumerate(q.option_ids)}, None: len(q.option_ids)}
                        for q in self.questions}
        for q in self.questions:
            compiler.names[q.id] = self._question_node(q)
        facts = {d.id: d for d in pathway.derived}
        facts.update({s.id: s for s in pathway.scores})
        self.facts: list[tuple[str, _Node]] = []
        for fid in pathway.facts_order:
            node = _fact_node(compiler, pathway, facts[fid])
            self._check_type(fid, node)
            compiler.names[fid] = _Node(node.kind, _Leaf(fid), options=node.options, bound=node.bound)
            self.facts.append((fid, node))
        self.boolean_facts = [fid for fid, node in self.facts if node.kind == "boolean"]
        self.fact_ids = self.boolean_facts + [fid for fid, node in self.facts if node.kind != "boolean"]
        self._check_ask_when_order(facts)
        self.ask_when = {q.id: compiler.condition(q.ask_when.text).fn for q in self.questions if q.ask_when}
        self.rules = [compiler.condition(r.when.text).fn for r in pathway.rules]
        conditions = [r.when.text for r in pathway.rules] + [d.expr.text for d in pathway.derived if d.expr]
        self.or_operands = {text: self._or_operands(text) for text in conditions}
        self._decide_tables()

    # compile time
    def _question_node(self, q: Question) -> _Node:
        if q.type == "boolean":
            return _Node("boolean", _Leaf(q.id))
        if q.type in ("integer", "number"):
            for limit in (q.min, q.max):
                if limit is not None and not _exact_number(limit):
                    raise _unsupported(f"the range of `{q.id}`")
            bound = max(abs(q.min), abs(q.max)) if q.min is not None and q.max is not None else LIMIT
            return _Node("number", _Leaf(q.id), bound=float(bound))
        if q.type in ("choice", "multi_choice"):
            return _Node("choice" if q.type == "choice" else "multi", _Leaf(q.id), options=q.option_ids)
        raise _unsupported(f"the question type {q.type!r}")

    def _check_type(self, fid: str, node: _Node) -> None:
        declared = self.pathway.symbols.get(fid)
        if declared is None or declared.kind != node.kind:
            raise _unsupported(f"the type of `{fid}`")

    def _check_ask_when_order(self, facts: Mapping[str, Derived | Score]) -> None:
        """Each ask_when may read only earlier questions (directly or through facts), as the loader requires; then
        evaluating it on the whole chunk's columns equals the engine's evaluation on the answers so far."""
        earlier: set[str] = set()
        for q in self.questions:
            if q.ask_when is not None:
                stack, seen = list(q.ask_when.names), set()
                while stack:
                    name = stack.pop()
                    if name in seen:
                        continue
                    seen.add(name)
                    if name in facts:
                        stack.extend(_fact_deps(facts[name]))
                    elif name not in earlier:
                        raise _unsupported(f"the ask_when of `{q.id}` reads `{name}`, not asked before it")
            earlier.add(q.id)

    def _or_operands(self, text: str) -> list[Fn]:
        """The evaluators of the operands of every `or` in `text`, in the order `conditions.compile` lists them
        in `or_terms` (an `or` after the `or`s inside its operands). Each is the compiled subexpression the
        condition itself evaluates, so reading it after a run costs nothing."""
        out: list[Fn] = []

        def walk(node: ast.AST) -> None:
            for child in ast.iter_child_nodes(node):
                walk(child)
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
                out.extend(self.compiler.visit(value).fn for value in node.values)

        walk(ast.parse(text, mode="eval").body)
        return out

    def _decide_tables(self) -> None:
        p = self.pathway
        tiers = [t.id for t in p.tiers]
        self.tier_ids = np.array(tiers, dtype=object)
        self.default_rank = p.tier_rank[p.default_tier]
        tiered = sorted((p.tier_rank[r.tier], j) for j, r in enumerate(p.rules) if r.tier is not None)
        self.by_urgency = np.array([j for _, j in tiered], dtype=np.intp)
        self.urgency = np.array([rank for rank, _ in tiered], dtype=np.intp)
        # allowed[t, r]: with tier t decided, whether fired rule r contributes
        self.allowed = np.array([[not tier.preempts or r.scope == "always" or r.tier == tier.id for r in p.rules]
                                 for tier in p.tiers], dtype=bool).reshape(len(tiers), len(p.rules))

    # run time
    def run(self, answers: list, presence_of: tuple[str, ...] = ()) -> ColumnRun:
        """Evaluate one chunk; never raises for any answers value. With `presence_of` (at most 62 names of
        questions, facts or scores), `ColumnRun.presence` gives per record an int whose bit i is set when
        `presence_of[i]` has a value."""
        recs = list(answers)
        n = len(recs)
        ctx = _Ctx(n, self.compiler.slots)
        with np.errstate(all="ignore"):
            dicts = self._dicts(recs, ctx.bad)
            table = self._table(dicts, ctx.bad)
            present = self._read(table, ctx)
            whole = self._check_keys(dicts, ctx.bad, present)
            for fid, node in self.facts:
                ctx.cols[fid] = node.fn(ctx)
            self._check_asked(ctx, present)
            tiers, contributing, matrix = self._decide(ctx)
            fact_columns = self._fact_columns(ctx)
            envs = self._envs(dicts, ctx, whole, fact_columns)
            presence = self._presence(ctx, present, presence_of) if presence_of else None
        truths = partial(self._truths, ctx)
        values = dict(zip(self.qids, table)) if n else {}
        values.update(zip(self.fact_ids, fact_columns))
        if not ctx.bad.any():
            return ColumnRun([True] * n, envs, tiers, contributing, presence, matrix, truths, values)
        clean = (~ctx.bad).tolist()
        matrix[ctx.bad] = False
        return ColumnRun(clean, envs, [t if ok else None for t, ok in zip(tiers, clean)],
                         [c if ok else None for c, ok in zip(contributing, clean)], presence, matrix, truths, values)

    def _truths(self, ctx: _Ctx, text: str) -> np.ndarray | None:
        """`ColumnRun.truths`: records x operands, true where the operand is true (not false or unknown)."""
        fns = self.or_operands.get(text)
        if fns is None:
            return None
        out = np.zeros((ctx.n, len(fns)), dtype=bool)
        with np.errstate(all="ignore"):
            for j, fn in enumerate(fns):
                out[:, j] = fn(ctx)[0]
        return out

    def _presence(self, ctx: _Ctx, present: dict[str, np.ndarray], names: tuple[str, ...]) -> list[int]:
        """Per record, bit i set when `names[i]` has a value (an answer given, a fact or score known)."""
        if len(names) > 62:
            raise ValueError("presence_of takes at most 62 names")
        kinds = dict(self.facts)
        bits = np.zeros(ctx.n, dtype=np.int64)
        for i, name in enumerate(names):
            if name in present:
                known = present[name]
            else:
                node, col = kinds[name], ctx.cols[name]
                if node.kind == "boolean":
                    known = col[0] | col[1]
                elif node.kind == "number":
                    known = ~np.isnan(col[0])
                elif node.kind == "choice":
                    known = col >= 0
                else:  # multi
                    known = col[1]
            bits |= np.broadcast_to(known, (ctx.n,)).astype(np.int64) << np.int64(i)
        return bits.tolist()

    def _dicts(self, recs: list, bad: np.ndarray) -> list[dict]:
        """Each record as a dict; anything else is marked not clean and read as {}."""
        if set(map(type, recs)) <= {dict}:
            return recs
        ok = [type(a) is dict for a in recs]
        bad |= ~np.array(ok, dtype=bool)
        return [a if good else {} for a, good in zip(recs, ok)]

    def _check_keys(self, dicts: list[dict], bad: np.ndarray, present: dict[str, np.ndarray]) -> np.ndarray:
        """Marks records with a key that is not a question id. Returns where every key has a (non-None) answer:
        there the env starts as a plain copy of the record."""
        answered = np.zeros(len(dicts), dtype=np.intp)
        for has in present.values():
            answered += has
        whole = answered == np.array(list(map(len, dicts)), dtype=np.intp)
        known = self.qset.issuperset
        for i in np.flatnonzero(~whole).tolist():  # a None answer, or a key that is not a question
            try:
                ok = known(dicts[i])
            except Exception:  # a key whose comparison fails: the scalar engine reports it
                ok = False
            if not ok:
                bad[i] = True
        return whole

    def _read(self, table: list[tuple], ctx: _Ctx) -> dict[str, np.ndarray]:
        """Every question's column (its value and whether answered) from the answers transposed (`_table`); a
        value that is not valid marks its record."""
        present = {}
        bad, cols = ctx.bad, ctx.cols
        for q, col in zip(self.questions, table):
            if q.type == "boolean":
                cols[q.id], present[q.id] = _read_boolean(col, bad)
            elif q.type in ("integer", "number"):
                cols[q.id], present[q.id] = _read_number(col, bad, q)
            elif q.type == "choice":
                cols[q.id], present[q.id] = _read_choice(col, bad, self.indexes[q.id])
            else:
                cols[q.id], present[q.id] = _read_multi(col, bad, self.indexes[q.id])
        return present

    def _table(self, dicts: list[dict], bad: np.ndarray) -> list[tuple]:
        """The answers transposed to one tuple per question (None where not answered), in question order: each
        question's answers looked up in every record (keys that are not questions are never read here)."""
        get = dict.get
        try:
            return [tuple(map(get, dicts, repeat(qid))) for qid in self.qids]
        except Exception:  # a key whose comparison with a question id fails: such records are read as {}
            text_keys = [all(type(k) is str for k in a) for a in dicts]
            bad |= ~np.array(text_keys, dtype=bool)
            dicts = [a if ok else {} for a, ok in zip(dicts, text_keys)]
            return [tuple(map(get, dicts, repeat(qid))) for qid in self.qids]

    def _check_asked(self, ctx: _Ctx, present: dict[str, np.ndarray]) -> None:
        """An answer to a question that is not asked is a warning; a missing required answer is a problem."""
        for q in self.questions:
            has = present[q.id]
            when = self.ask_when.get(q.id)
            if when is None:
                if q.required:
                    ctx.bad |= ~has
                continue
            asked = np.broadcast_to(np.asarray(when(ctx)[0], dtype=bool), (ctx.n,))
            ctx.bad |= has & ~asked
            if q.required:
                ctx.bad |= ~has & asked

    def _decide(self, ctx: _Ctx) -> tuple[list[str], list[list[int]], np.ndarray]:
        """`engine.decide` for every record: the most urgent fired tier (else the default); when it preempts, only
        `scope: always` rules and rules of that tier contribute. The contributing rules come as lists and as a
        records x rules array."""
        n, r = ctx.n, len(self.rules)
        fired = np.empty((r, n), dtype=bool)
        for j, rule in enumerate(self.rules):
            fired[j] = rule(ctx)[0]
        rank = np.full(n, self.default_rank, dtype=np.intp)
        if self.by_urgency.size:
            tiered = fired[self.by_urgency]  # the rules with a tier, most urgent first
            first = tiered.argmax(axis=0)
            rank = np.where(tiered[first, np.arange(n)], self.urgency[first], rank)
        contrib = np.ascontiguousarray(fired.T) & self.allowed[rank]  # records x rules
        cells = np.flatnonzero(contrib)
        flat = (cells % max(r, 1)).tolist()
        ends = np.searchsorted(cells, np.arange(1, n + 1) * r).tolist()
        contributing = [flat[s:e] for s, e in zip([0, *ends[:-1]], ends)]
        return self.tier_ids[rank].tolist(), contributing, contrib

    def _fact_columns(self, ctx: _Ctx) -> list[list]:
        """Each fact's column (in `fact_ids` order) as the engine's Python values."""
        n = ctx.n
        t = np.empty((len(self.boolean_facts), n), dtype=bool)
        f = np.empty_like(t)
        for j, fid in enumerate(self.boolean_facts):
            t[j], f[j] = ctx.cols[fid]
        columns = t.tolist()  # Python bools; unknown cells become None
        unknown = ~(t | f)
        if unknown.any():
            for j, i in zip(*(k.tolist() for k in np.nonzero(unknown))):
                columns[j][i] = None
        columns += [_python_list(node.kind, node.options, ctx.cols[fid], n) for fid, node in self.facts
                    if node.kind != "boolean"]
        return columns

    def _envs(self, dicts: list[dict], ctx: _Ctx, whole: np.ndarray, fact_columns: list[list]) -> Envs:
        """Each clean record's env: its present answers (the given objects) plus every fact and score."""
        return Envs(dicts, whole.tolist(), ctx.bad.tolist(), self.fact_ids, fact_columns)
