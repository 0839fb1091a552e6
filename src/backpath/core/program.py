"""A pathway compiled once into Python (`codegen`): its derived facts, scores, rule conditions and `ask_when`s.

The program holds two kinds of function, generated from the checked trees of the loaded pathway:

- `evaluate(values)`: with the clean answers of one record in `values` (a dict, question id -> value), adds every
  derived fact and score to it (None when unknown) and returns the positions of the rules that fired, in pathway
  order;
- one `ask when` function per question that has one, reading the answers so far and computing inline the facts its
  condition needs.

Semantics (the same in every function): a fact is None when any answer it needs is missing; `cases` take the
first case whose condition is true, stop at an unknown one, and give None when none is true; a score sums its
items (a missing answer or unknown condition makes the score None), or classifies by `cases`; arithmetic that
divides by zero, overflows or gives a non-finite number is unknown.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Mapping
from typing import Any

from backpath.core import codegen as G
from backpath.core import tree as T
from backpath.core.model import Case, Derived, Pathway, Question, Score


class Program:
    """The compiled functions of one pathway."""

    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        facts: dict[str, Derived | Score] = {d.id: d for d in pathway.derived}
        facts.update({s.id: s for s in pathway.scores})
        self.facts = [facts[f] for f in pathway.facts_order]
        self._deps = {f.id: _fact_names(f) for f in self.facts}
        functions = [self._evaluate()]
        self.ask_when_index: dict[str, int] = {}
        for q in pathway.question_list():
            if q.ask_when is not None:
                k = self.ask_when_index[q.id] = len(self.ask_when_index)
                functions.append(self._ask_when(f"ask_{k}", q.ask_when.node, q.ask_when.names))
        functions.append(self._clean())
        constants: dict[str, Any] = {}
        for _, scope in functions:
            constants.update(scope.constants)
        namespace = G.build([fn for fn, _ in functions], constants, f"<backpath pathway {pathway.id}>")
        self.evaluate: Callable[[dict], list[int]] = namespace["evaluate"]
        self._ask = [namespace[f"ask_{k}"] for k in range(len(self.ask_when_index))]
        self.clean: Callable[[Any], dict | None] = namespace["clean"]

    def asks(self, question_id: str, env: Mapping[str, Any]) -> bool | None:
        """The question's `ask_when` for the answers so far (True when it has none)."""
        k = self.ask_when_index.get(question_id)
        return True if k is None else self._ask[k](env)

    # --- generation -----------------------------------------------------------------------------
    def _evaluate(self) -> tuple[ast.FunctionDef, G.Scope]:
        scope = _FactScope("k")
        exprs = G.Expressions(scope)
        body: list[ast.stmt] = []
        for f in self.facts:
            body += _fact(f, exprs, scope, self.pathway.questions)
            body.append(ast.Assign(targets=[ast.Subscript(value=_load("values"), slice=ast.Constant(f.id),
                                                          ctx=ast.Store())], value=_load(scope.slot(f.id))))
        body.append(ast.Assign(targets=[_store("fired")], value=ast.List(elts=[], ctx=ast.Load())))
        body.append(ast.Assign(targets=[_store("fire")], value=ast.Attribute(value=_load("fired"), attr="append",
                                                                            ctx=ast.Load())))
        truths = G.Truths(exprs)  # a rule fires when its condition is true: `is True` of it, written shorter
        for k, rule in enumerate(self.pathway.rules):
            body.append(ast.If(test=truths.test(rule.when.node),
                               body=[ast.Expr(ast.Call(func=_load("fire"), args=[ast.Constant(k)], keywords=[]))],
                               orelse=[]))
        body.append(ast.Return(value=_load("fired")))
        return G.function("evaluate", ["values"], scope, body, source="values"), scope

    def _clean(self) -> tuple[ast.FunctionDef, G.Scope]:
        """`clean(answers)`: the answers as checked values when every answer is valid and asked and every
        required question asked is answered; else None (the caller then words the problems with
        `answers.check_answers`). It accepts only what `check_answers` accepts, and gives the same values."""
        scope = _FactScope("c")
        body: list[ast.stmt] = [
            ast.If(test=ast.UnaryOp(op=ast.Not(), operand=G._call("_is_dict", _load("answers"))),
                   body=[ast.Return(ast.Constant(None))], orelse=[]),
            ast.If(test=ast.UnaryOp(op=ast.Not(), operand=G._call(
                "_keys_known", _load("answers"),
                ast.Constant(frozenset(self.pathway.questions)))),  # type: ignore[arg-type]  # (as `_valid`)
                   body=[ast.Return(ast.Constant(None))], orelse=[]),
            ast.Assign(targets=[_store("values")], value=ast.Dict(keys=[], values=[])),
        ]
        give_up: list[ast.stmt] = [ast.Return(ast.Constant(None))]
        get = ast.Attribute(value=_load("answers"), attr="get", ctx=ast.Load())
        for q in self.pathway.question_list():
            value = scope.temp()
            k = self.ask_when_index.get(q.id)
            asked = None if k is None else G._call(f"ask_{k}", _load("values"))
            present: list[ast.stmt] = []
            if asked is not None:  # answered but not asked: ignored with a warning
                present.append(ast.If(test=ast.Compare(left=asked, ops=[ast.IsNot()], comparators=[ast.Constant(True)]),
                                      body=give_up, orelse=[]))
            present.append(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=_valid(q, _load(value))), body=give_up,
                                  orelse=[]))
            present.append(ast.Assign(targets=[ast.Subscript(value=_load("values"), slice=ast.Constant(q.id),
                                                             ctx=ast.Store())], value=_load(value)))
            absent: list[ast.stmt] = []
            if q.required and asked is None:  # missing
                absent = give_up
            elif q.required and asked is not None:  # missing when asked
                absent = [ast.If(test=G._is(copy.deepcopy(asked), True), body=give_up, orelse=[])]
            body.append(ast.Assign(targets=[_store(value)], value=ast.Call(func=get, args=[ast.Constant(q.id)],
                                                                            keywords=[])))
            if absent is give_up and asked is None:  # required and always asked: no answer (None) is not valid
                body += present
                continue
            body.append(ast.If(test=ast.Compare(left=_load(value), ops=[ast.IsNot()], comparators=[ast.Constant(None)]),
                               body=present, orelse=absent))
        body.append(ast.Return(_load("values")))
        return G.function("clean", ["answers"], scope, body, source="answers"), scope

    def _ask_when(self, name: str, node: T.Node, names: tuple[str, ...]) -> tuple[ast.FunctionDef, G.Scope]:
        needed = _closure(names, self._deps)
        scope = _FactScope(f"{name}_k")
        exprs = G.Expressions(scope)
        body: list[ast.stmt] = []
        for f in self.facts:
            if f.id in needed:
                body += _fact(f, exprs, scope, self.pathway.questions)
        body.append(ast.Return(value=exprs.expr(node)))
        return G.function(name, ["env"], scope, body), scope


class _FactScope(G.Scope):
    """A scope in which facts are computed (assigned) rather than read; its namespace constants are prefixed so
    that the functions of one program do not share names."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix
        self.computed: set[str] = set()

    def constant(self, value: Any) -> ast.expr:
        if value is None or type(value) in (bool, int, float, str, frozenset):
            return ast.Constant(value)
        key = f"{self.prefix}{len(self.constants)}"
        self.constants[key] = value
        return _load(key)

    def loads(self, source: str) -> list[ast.stmt]:
        read = {n: s for n, s in self.slots.items() if n not in self.computed}
        saved, self.slots = self.slots, read
        try:
            return super().loads(source)
        finally:
            self.slots = saved


def _valid(q: Question, value: ast.expr) -> ast.expr:
    """Whether `value` is a valid answer to `q` (`answers.check_value` finds nothing to say)."""
    if q.type == "boolean":
        return ast.BoolOp(op=ast.Or(), values=[G._is(value, True), G._is(copy.deepcopy(value), False)])
    if q.type in ("integer", "number"):
        return G._call("_int_in" if q.type == "integer" else "_number_in", value, ast.Constant(q.min),
                       ast.Constant(q.max))
    options = ast.Constant(frozenset(q.option_ids))  # type: ignore[arg-type]  # compile() takes frozensets
    return G._call("_choice_in" if q.type == "choice" else "_choices_in", value, options)


def _fact(f: Derived | Score, exprs: G.Expressions, scope: _FactScope,
          questions: Mapping[str, Question]) -> list[ast.stmt]:
    """Statements giving fact `f` its value in its slot."""
    slot = scope.slot(f.id)
    scope.computed.add(f.id)
    if isinstance(f, Derived) and f.expr is not None:
        return [ast.Assign(targets=[_store(slot)], value=exprs.expr(f.expr.node))]
    if f.cases:
        return _cases(f.cases, slot, exprs, scope)
    assert isinstance(f, Score)  # a derived fact has `expr` or `cases` (loader)
    return _score_sum(f, slot, exprs, scope, questions)


def _cases(cases: tuple[Case, ...], slot: str, exprs: G.Expressions, scope: G.Scope) -> list[ast.stmt]:
    """`slot` = the value of the first case whose condition is true; None at an unknown condition or when none is
    true. Flat statements (a `searching` flag), so the code's depth does not grow with the number of cases."""
    searching = scope.temp()
    body: list[ast.stmt] = [ast.Assign(targets=[_store(slot)], value=ast.Constant(None)),
                            ast.Assign(targets=[_store(searching)], value=ast.Constant(True))]
    found: list[ast.stmt] = [ast.Assign(targets=[_store(searching)], value=ast.Constant(False))]
    for case in cases:
        value = scope.constant(case.value)
        take = [ast.Assign(targets=[_store(slot)], value=value), *copy.deepcopy(found)]
        if case.when is None:  # the default: later cases cannot be reached
            body.append(ast.If(test=_load(searching), body=take, orelse=[]))
            break
        temp = scope.temp()
        step: list[ast.stmt] = [
            ast.Assign(targets=[_store(temp)], value=exprs.expr(case.when.node)),
            ast.If(test=G._is(_load(temp), True), body=take,
                   orelse=[ast.If(test=G._is(_load(temp), None), body=copy.deepcopy(found), orelse=[])]),
        ]
        body.append(ast.If(test=_load(searching), body=step, orelse=[]))
    return body


def _score_sum(score: Score, slot: str, exprs: G.Expressions, scope: _FactScope,
               questions: Mapping[str, Question]) -> list[ast.stmt]:
    """`slot = 0`, then each item added in order while the total is known (a missing answer or unknown
    condition makes it None)."""
    body: list[ast.stmt] = [ast.Assign(targets=[_store(slot)], value=ast.Constant(0))]
    for item in score.items:
        temp = scope.temp()
        points: ast.expr
        if item.question is not None:
            value = exprs.expr(T.Var(item.question))
            q = questions[item.question].type
            if item.values is not None:
                table = scope.constant(dict(item.values))
                if q == "multi_choice":
                    points = G._call("_points", table, _load(temp))
                else:
                    get = ast.Attribute(value=table, attr="get", ctx=ast.Load())
                    points = ast.Call(func=get, args=[_load(temp), ast.Constant(0)], keywords=[])
            elif q == "boolean":
                points = G._if_else(_load(temp), ast.Constant(1), ast.Constant(0))
            else:
                points = _load(temp)
            add: list[ast.stmt] = [ast.AugAssign(target=_store(slot), op=ast.Add(), value=points)]
        else:
            assert item.when is not None  # an item has a question or a condition (loader)
            value = exprs.expr(item.when.node)
            add = [ast.If(test=_load(temp), body=[ast.AugAssign(target=_store(slot), op=ast.Add(),
                                                                value=scope.constant(item.points))], orelse=[])]
        body.append(ast.If(
            test=ast.Compare(left=_load(slot), ops=[ast.IsNot()], comparators=[ast.Constant(None)]),
            body=[ast.Assign(targets=[_store(temp)], value=value),
                  ast.If(test=G._is(_load(temp), None), body=[ast.Assign(targets=[_store(slot)],
                                                                          value=ast.Constant(None))],
                         orelse=add)],
            orelse=[]))
    return body


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=G.LOAD)


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=G.STORE)


def _fact_names(f: Derived | Score) -> set[str]:
    names: set[str] = set()
    if isinstance(f, Derived) and f.expr is not None:
        names |= set(f.expr.names)
    for case in getattr(f, "cases", ()):
        if case.when is not None:
            names |= set(case.when.names)
    for item in getattr(f, "items", ()):
        if item.when is not None:
            names |= set(item.when.names)
        if item.question is not None:
            names.add(item.question)
    return names


def _closure(names, deps: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n in deps and n not in out:
            out.add(n)
            stack.extend(deps[n])
    return out
