"""The answer check as generated code (`program`'s `clean` and `run`): whether an answers mapping may go the fast
way, and whether one answer is valid, as `answers.check_answers` decides, written as `ast` expressions on locals.
Pathway values (ids, options, bounds) enter only as `ast.Constant`s."""

from __future__ import annotations

import ast
import math
from typing import Any

from backpath.core import codegen as G
from backpath.core.model import Pathway, Question


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=G.LOAD)


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=G.STORE)


def answers_checked(pathway: Pathway) -> list[ast.stmt]:
    """`return None` unless `answers` is a dict (exactly) whose keys are all question ids."""
    ids = ast.Constant(frozenset(pathway.questions))  # type: ignore[arg-type]  # compile() takes frozensets
    keys = ast.Call(func=ast.Attribute(value=_load("answers"), attr="keys", ctx=G.LOAD), args=[], keywords=[])
    return [ast.If(test=ast.Compare(left=G._call("_type", _load("answers")), ops=[ast.IsNot()],
                                    comparators=[_load("_dict")]), body=[ast.Return(ast.Constant(None))], orelse=[]),
            ast.If(test=ast.UnaryOp(op=ast.Not(), operand=ast.Compare(left=keys, ops=[ast.LtE()], comparators=[ids])),
                   body=[ast.Return(ast.Constant(None))], orelse=[])]


def valid(q: Question, value: ast.Name, scope: G.Scope) -> ast.expr:
    """Whether the answer in local `value` is valid for `q` (`answers.check_value` finds nothing to say): a bool;
    an int of exactly that type (not a bool), or also a float for a number, within the bounds; text of exactly
    that type among the options; a list (exactly), empty or of distinct text options
    (`codegen_runtime._choices_in`). A number question with a missing or non-finite bound goes through
    `codegen_runtime._number_in` (NaN and infinities fail there); with two finite bounds the bounds themselves
    refuse them (NaN compares false, an infinity is out of range)."""
    def is_type(of: ast.expr, name: str) -> ast.expr:
        return ast.Compare(left=of, ops=[ast.Is()], comparators=[_load(name)])

    if q.type == "boolean":
        return ast.BoolOp(op=ast.Or(), values=[G._is(value, True), G._is(_load(value.id), False)])
    if q.type == "choice" or (q.type == "integer"):
        kind = is_type(G._call("_type", value), "_str" if q.type == "choice" else "_int")
        if q.type == "choice":
            options = ast.Constant(frozenset(q.option_ids))  # type: ignore[arg-type]  # (as above)
            return ast.BoolOp(op=ast.And(), values=[kind, ast.Compare(left=_load(value.id), ops=[ast.In()],
                                                                      comparators=[options])])
        return _within(kind, value.id, q.min, q.max)
    if q.type == "number":
        if not all(isinstance(b, (int, float)) and type(b) is not bool and math.isfinite(b) for b in (q.min, q.max)):
            return G._call("_number_in", value, ast.Constant(q.min), ast.Constant(q.max))
        t = scope.temp()
        typed = ast.NamedExpr(target=_store(t), value=G._call("_type", value))
        kind = ast.BoolOp(op=ast.Or(), values=[is_type(typed, "_int"), is_type(_load(t), "_float")])
        return _within(kind, value.id, q.min, q.max)
    options = ast.Constant(frozenset(q.option_ids))  # type: ignore[arg-type]  # (as above)
    empty = ast.UnaryOp(op=ast.Not(), operand=_load(value.id))  # `[]` (the most common answer) without a call
    return ast.BoolOp(op=ast.And(), values=[is_type(G._call("_type", value), "_list"), ast.BoolOp(
        op=ast.Or(), values=[empty, G._call("_choices_in", _load(value.id), options)])])


def _within(kind: ast.expr, value: str, lo: Any, hi: Any) -> ast.expr:
    """`kind and lo <= value <= hi` (a missing bound left out)."""
    ops: list[ast.cmpop] = []
    comparators: list[ast.expr] = []
    left: ast.expr = _load(value)
    if lo is not None:
        left, ops, comparators = ast.Constant(lo), [ast.LtE()], [_load(value)]
    if hi is not None:
        ops.append(ast.LtE())
        comparators.append(ast.Constant(hi))
    return ast.BoolOp(op=ast.And(), values=[kind, ast.Compare(left=left, ops=ops, comparators=comparators)]) \
        if ops else kind
