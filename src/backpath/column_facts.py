"""Derived facts and scores compiled into column functions (`fact_node`), and the names each reads
(`fact_deps`), for `columns.ColumnEngine`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .column_conditions import LIMIT, SAFE, Compiler, Fn, Node, exact_number, unsupported
from .model import Case, Derived, Pathway, Score


def _case_kind(cases: tuple[Case, ...]) -> str:
    values = [c.value for c in cases]
    if all(type(v) is bool for v in values):
        return "boolean"
    if all(exact_number(v) for v in values):
        return "number"
    if all(type(v) is str for v in values):
        return "choice"
    raise unsupported(f"case values {values!r}")


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


def _cases_node(compiler: Compiler, cases: tuple[Case, ...]) -> Node:
    kind = _case_kind(cases)
    codes = _cases_fn([None if c.when is None else compiler.condition(c.when.text).fn for c in cases])
    values = [c.value for c in cases]
    if kind == "boolean":
        t_lut = np.array([v is True for v in values] + [False])
        f_lut = np.array([v is False for v in values] + [False])
        return Node("boolean", lambda ctx: (t_lut[(c := codes(ctx))], f_lut[c]))
    if kind == "number":
        x_lut = np.array([float(v) for v in values] + [np.nan])
        kinds = {type(v) is int for v in values}
        int_lut = np.array([type(v) is int for v in values] + [False])
        if len(kinds) == 1:
            isint = kinds.pop()
            fn = lambda ctx: (x_lut[codes(ctx)], isint)  # noqa: E731
        else:
            fn = lambda ctx: (x_lut[(c := codes(ctx))], int_lut[c])  # noqa: E731
        return Node("number", fn, bound=max(abs(float(v)) for v in values))
    options = tuple(dict.fromkeys(values))
    lut = np.array([options.index(v) for v in values] + [-1], dtype=np.intp)
    return Node("choice", lambda ctx: lut[codes(ctx)], options=options)


def _item_term(compiler: Compiler, pathway: Pathway, item) -> tuple[Fn, float]:
    """One score item as fn(ctx) -> (term, isint, missing, hit) where `hit` says when the term is added at all
    (None: always), and its bound."""
    if item.question is None:
        points = item.points
        if not exact_number(points):
            raise unsupported(f"points {points!r}")
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
        raise unsupported(f"score item `{item.question}`")
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
        raise unsupported(f"score item `{item.question}` without values")
    for v in item.values.values():
        if not exact_number(v):
            raise unsupported(f"score points {v!r}")
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
        if any(not float(v).is_integer() for v in points) or not np.abs(pts).sum() < SAFE:
            # the engine sums in list order: only small integers add up the same in any order
            raise unsupported(f"points for the multi-choice `{item.question}`")
        floats = np.flatnonzero(is_float)
        scoring = np.flatnonzero(pts)
        weights = pts[scoring, None]

        def multi_term(ctx):
            m, present, _ = leaf(ctx)
            isint = ~m[floats].any(axis=0) if floats.size else True
            total = (m[scoring] * weights).sum(axis=0) if scoring.size else np.zeros(ctx.n)  # small integers: exact
            return total, isint, ~present

        return multi_term, float(np.abs(pts).sum())
    raise unsupported(f"score values for `{item.question}`")


def _items_node(compiler: Compiler, pathway: Pathway, score: Score) -> Node:
    """A sum score: terms added in item order (the same float additions as the engine); any missing -> None."""
    terms, bounds = zip(*(_item_term(compiler, pathway, it) for it in score.items))
    bound = float(sum(bounds))
    checked = not bound < SAFE

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

    return Node("number", fn, bound=bound)


def fact_node(compiler: Compiler, pathway: Pathway, fact: Derived | Score) -> Node:
    if isinstance(fact, Derived):
        if fact.expr is not None:
            node = compiler.condition(fact.expr.text, want=None)
            if node.kind not in ("boolean", "number", "choice", "multi"):
                raise unsupported(f"the derived fact `{fact.id}` is {node.kind}")
            return node
        if not fact.cases:
            raise unsupported(f"the derived fact `{fact.id}` has neither expr nor cases")
        return _cases_node(compiler, fact.cases)
    if fact.cases:
        return _cases_node(compiler, fact.cases)
    if not fact.items:
        raise unsupported(f"the score `{fact.id}` has no items")
    return _items_node(compiler, pathway, fact)



def fact_deps(fact: Derived | Score) -> set[str]:
    names: set[str] = set()
    if isinstance(fact, Derived) and fact.expr is not None:
        names |= set(fact.expr.names)
    for case in fact.cases:
        if case.when is not None:
            names |= set(case.when.names)
    for item in getattr(fact, "items", ()):
        names |= set(item.when.names) if item.when is not None else {item.question}
    return names

