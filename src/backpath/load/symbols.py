"""The names, types and dependency order of a pathway's questions, derived facts and scores, as the builder works
them out."""

from __future__ import annotations

import ast

from backpath.core import model as m
from backpath.core.conditions import BOOLEAN, NUMBER, Type


def _names_in(text: str) -> set[str]:
    """The names condition `text` reads (`names_read`); none when it does not parse."""
    try:
        return names_read(ast.parse(" ".join(text.split()), mode="eval"))
    except SyntaxError:
        return set()


def names_read(tree: ast.AST) -> set[str]:
    """The names a parsed condition reads: not the function in `answered(x)`, which is no declared name (x is)."""
    nodes = list(ast.walk(tree))
    functions = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    return {n.id for n in nodes if isinstance(n, ast.Name) and id(n) not in functions}


def _question_type(q: m.Question) -> Type:
    if q.type == "boolean":
        return BOOLEAN
    if q.type in ("integer", "number"):
        return NUMBER
    return Type("choice" if q.type == "choice" else "multi", frozenset(q.option_ids), q.id)


def _guess_type(e: dict) -> Type:
    """The type of a derived fact or score before it is compiled (only used to report a cycle cleanly)."""
    if "cases" in e:
        kinds = {_value_kind(c["value"]) for c in e["cases"]}
        if kinds == {"number"}:
            return NUMBER
        if kinds == {"boolean"}:
            return BOOLEAN
        return Type("choice", frozenset(str(c["value"]) for c in e["cases"]), e["id"])
    if "items" in e:
        return NUMBER
    try:
        top = ast.parse(" ".join(e["expr"].split()), mode="eval").body
    except SyntaxError:
        return BOOLEAN
    return NUMBER if isinstance(top, (ast.BinOp, ast.Constant)) and not isinstance(getattr(top, "value", 0), bool) \
        else BOOLEAN


def _value_kind(v: object) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return "string"


def _fact_texts(e: dict) -> list[str]:
    texts = [e["expr"]] if "expr" in e else []
    texts += [c["when"] for c in e.get("cases", []) if "when" in c]
    texts += [it["when"] for it in e.get("items", []) if "when" in it]
    return texts


def _topological(ids: list[str], deps: dict[str, set[str]]) -> list[str] | None:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str) -> bool:
        if state.get(n) == 2:
            return True
        if state.get(n) == 1:
            return False
        state[n] = 1
        for d in sorted(deps.get(n, ())):
            if not visit(d):
                return False
        state[n] = 2
        order.append(n)
        return True

    for n in ids:
        if not visit(n):
            return None
    return order


def _cycle_members(deps: dict[str, set[str]]) -> set[str]:
    members = set()
    for start in deps:
        stack, seen = list(deps[start]), set()
        while stack:
            n = stack.pop()
            if n == start:
                members.add(start)
                break
            if n not in seen:
                seen.add(n)
                stack.extend(deps.get(n, ()))
    return members
