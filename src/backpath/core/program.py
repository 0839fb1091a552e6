"""A pathway compiled once into Python (`codegen`): its derived facts, scores, rule conditions and `ask_when`s.

The program holds these functions, generated from the checked trees of the loaded pathway:

- `evaluate(values)`: with the clean answers of one record in `values` (a dict, question id -> value), adds every
  derived fact and score to it (None when unknown) and returns the positions of the rules that fired, in pathway
  order;
- one `ask when` function per question that has one, reading the answers so far and computing inline the facts its
  condition needs;
- `clean(answers)`: the answers as checked values when they need no words (all valid, asked, required ones given),
  else None (then `answers.check_answers` words the problems);
- `run(answers)`: `clean` and `evaluate` in one function for the common record (what batch calls): the answers are
  checked into locals, the facts computed from them, the rules tested, with no None tests where a value cannot be
  None after the check (`nullness`); it gives the same values, rules and tier as the other two.

Semantics (the same in every function): a fact is None when any answer it needs is missing; `cases` take the
first case whose condition is true, stop at an unknown one, and give None when none is true; a score sums its
items (a missing answer or unknown condition makes the score None), or classifies by `cases`; arithmetic that
divides by zero, overflows or gives a non-finite number is unknown.
"""

from __future__ import annotations

import ast
import copy
import itertools
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from backpath.core import codegen as G
from backpath.core import tree as T
from backpath.core.answer_code import answers_checked, valid
from backpath.core.model import Case, Derived, Pathway, Question, Score
from backpath.core.nullness import exact_bool, never_none


class Program:
    """The compiled functions of one pathway."""

    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        facts: dict[str, Derived | Score] = {d.id: d for d in pathway.derived}
        facts.update({s.id: s for s in pathway.scores})
        self.facts = [facts[f] for f in pathway.facts_order]
        self._deps = {f.id: _fact_names(f) for f in self.facts}
        self.ask_when_index: dict[str, int] = {}
        for q in pathway.question_list():
            if q.ask_when is not None:
                self.ask_when_index[q.id] = len(self.ask_when_index)

    # The functions are generated and compiled when first asked for (a few ms each for a real pathway): one
    # record's `assess` needs `run` alone when its answers are valid; batch needs the others only for a record
    # that is not.
    @cached_property
    def _namespace(self) -> dict[str, Any]:
        """`evaluate`, the `ask when` functions and `clean` (which calls them), compiled together."""
        functions = [self._evaluate()]
        for q in self.pathway.question_list():
            if q.ask_when is not None:
                k = self.ask_when_index[q.id]
                functions.append(self._ask_when(f"ask_{k}", q.ask_when.node, q.ask_when.names))
        functions.append(self._clean())
        constants: dict[str, Any] = {}
        for _, scope in functions:
            constants.update(scope.constants)
        return G.build([fn for fn, _ in functions], constants, f"<backpath pathway {self.pathway.id}>")

    @cached_property
    def evaluate(self) -> Callable[[dict], list[int]]:
        return self._namespace["evaluate"]

    @cached_property
    def clean(self) -> Callable[[Any], dict | None]:
        return self._namespace["clean"]

    @cached_property
    def _ask(self) -> list[Callable[[Mapping[str, Any]], bool | None]]:
        return [self._namespace[f"ask_{k}"] for k in range(len(self.ask_when_index))]

    @cached_property
    def run(self) -> Callable[[Any], tuple[dict, list[int], int] | None]:
        """`run(answers)` (see `_run`), compiled on its own."""
        fused = self._run(*self._known())
        if fused is None:
            return self._clean_evaluate
        fn, scope = fused
        return G.build([fn], scope.constants, f"<backpath pathway {self.pathway.id} run>")["run"]

    def _clean_evaluate(self, answers: Any) -> tuple[dict, list[int], int] | None:
        """`run` as `clean` then `evaluate`, for a pathway whose `run` cannot be generated (see `_run`)."""
        values = self.clean(answers)
        if values is None:
            return None
        fired = self.evaluate(values)
        rank, ranks = self.pathway.tier_rank, [len(self.pathway.tiers)]
        ranks += [rank[t] for t in (self.pathway.rules[k].tier for k in fired) if t is not None]
        return values, fired, min(ranks)

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
        body += _firing(self.pathway, G.Truths(exprs))
        body.append(ast.Return(value=_load("fired")))
        return G.function("evaluate", ["values"], scope, body, source="values"), scope

    def _clean(self) -> tuple[ast.FunctionDef, G.Scope]:
        """`clean(answers)`: the answers as checked values when every answer is valid and asked and every
        required question asked is answered; else None (the caller then words the problems with
        `answers.check_answers`). It accepts only what `check_answers` accepts, and gives the same values."""
        scope = _FactScope("c")
        body = [*answers_checked(self.pathway),
                ast.Assign(targets=[_store("values")], value=ast.Dict(keys=[], values=[]))]
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
            present.append(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=valid(q, _load(value), scope)),
                                  body=give_up, orelse=[]))
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

    @cached_property
    def known(self) -> tuple[frozenset[str], frozenset[str]]:
        """`_known`, made once: also what the JSON writer's memo keys need not test (`result_memos`)."""
        known, bools = self._known()
        return frozenset(known), frozenset(bools)

    def _known(self) -> tuple[set[str], set[str]]:
        """The answers and facts never None in a record that passed the answer check, and those of them that are
        True or False (`nullness`)."""
        questions = self.pathway.question_list()
        known = {q.id for q in questions if q.required and q.ask_when is None}
        bools = {q.id for q in questions if q.id in known and q.type == "boolean"}
        for f in self.facts:
            if isinstance(f, Derived) and f.expr is not None:
                sure = never_none(f.expr.node, known)
                exact = exact_bool(f.expr.node, known, bools)
            elif f.cases:
                reached = list(itertools.takewhile(lambda c: c.when is not None, f.cases))
                values = [c.value for c in f.cases[:len(reached) + 1]]
                sure = len(reached) < len(f.cases) and None not in values and all(
                    never_none(c.when.node, known) for c in reached if c.when is not None)
                exact = sure and all(type(v) is bool for v in values)
            else:
                assert isinstance(f, Score)
                sure = all((i.question is None or i.question in known)
                           and (i.when is None or never_none(i.when.node, known)) for i in f.items)
                exact = False
            if sure:
                known.add(f.id)
            if exact:
                bools.add(f.id)
        return known, bools

    def _run(self, known: set[str], bools: set[str]) -> tuple[ast.FunctionDef, G.Scope] | None:
        """`run(answers)`: `clean` and `evaluate` in one function: `(values, fired, best)` (`best`: the most urgent
        tier rank of a fired rule, `len(tiers)` when none sets one), or None when `clean` gives None.

        Each answer is checked into a local and read from there. The facts an `ask_when` needs are computed where
        it is first needed, and not again: they read only answers checked before it (the loader's rule, tested
        here: for a pathway that breaks it there is no `run`, and `Program.run` is `clean` then `evaluate`).
        `values` is made at the end with the keys `clean` then `evaluate` give it, in the same order. The code
        leaves out the tests for None where a value is never None (`nullness`)."""
        p = self.pathway
        earlier: set[str] = set()
        for q in p.question_list():
            if q.ask_when is not None:
                facts = _closure(q.ask_when.names, self._deps)
                reads = set(q.ask_when.names).union(*(self._deps[f] for f in facts))
                if any(n in p.questions and n not in earlier for n in reads):
                    return None
            earlier.add(q.id)
        scope = _FactScope("r")
        scope.computed.update(p.questions)  # every answer is read into its local below
        exprs = G.Expressions(scope, frozenset(known), frozenset(bools))
        truths = G.Truths(exprs)
        give_up: list[ast.stmt] = [ast.Return(ast.Constant(None))]
        get = ast.Attribute(value=_load("answers"), attr="get", ctx=G.LOAD)
        body = [*answers_checked(p), ast.Assign(targets=[_store("get")], value=get)]
        done: set[str] = set()
        for q in p.question_list():
            slot = scope.slot(q.id)
            body.append(ast.Assign(targets=[_store(slot)], value=ast.Call(func=_load("get"),
                                                                          args=[ast.Constant(q.id)], keywords=[])))
            present: list[ast.stmt] = []
            absent: list[ast.stmt] = []
            if q.ask_when is not None:
                for f in self.facts:
                    if f.id in _closure(q.ask_when.names, self._deps) - done:
                        body += _fact(f, exprs, scope, p.questions)
                        done.add(f.id)
                asked = truths.test(q.ask_when.node)
                present.append(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=asked), body=give_up, orelse=[]))
                if q.required:  # missing when asked
                    absent.append(ast.If(test=truths.test(q.ask_when.node), body=give_up, orelse=[]))
            present.append(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=valid(q, _load(slot), scope)),
                                  body=give_up, orelse=[]))
            if q.id in known:  # required and always asked: no answer (None) is not valid
                body += present
            else:
                body.append(ast.If(test=ast.Compare(left=_load(slot), ops=[ast.IsNot()],
                                                    comparators=[ast.Constant(None)]), body=present, orelse=absent))
        for f in self.facts:
            if f.id not in done:
                body += _fact(f, exprs, scope, p.questions)
        body.append(ast.Assign(targets=[_store("values")], value=ast.Dict(keys=[], values=[])))
        for name in [*(q.id for q in p.question_list()), *(f.id for f in self.facts)]:
            # one store each (measured faster than one dict display: CPython builds a large one item by item)
            store: ast.stmt = ast.Assign(targets=[ast.Subscript(value=_load("values"), slice=ast.Constant(name),
                                                                ctx=G.STORE)], value=_load(scope.slot(name)))
            if name in p.questions and name not in known:  # an answer not given is not in `values` (nor in `clean`'s)
                store = ast.If(test=ast.Compare(left=_load(scope.slot(name)), ops=[ast.IsNot()],
                                                comparators=[ast.Constant(None)]), body=[store], orelse=[])
            body.append(store)
        body += _firing(p, truths, rank=True)
        body.append(ast.Return(ast.Tuple(elts=[_load("values"), _load("fired"), _load("best")], ctx=G.LOAD)))
        return G.function("run", ["answers"], scope, body), scope

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


def _firing(pathway: Pathway, truths: G.Truths, rank: bool = False) -> list[ast.stmt]:
    """`fired = []`, then each rule's position appended when its condition is true (`is True` of it, written
    shorter: `Truths`; rules in a row with the same condition, or the same first test, under one test); with
    `rank`, `best` is also the most urgent rank (`tier_rank`) of a fired rule's tier, `len(tiers)` when none sets
    one (a rule whose tier cannot make `best` more urgent than it already is, after a rule `when: true`, does not
    test it)."""
    body: list[ast.stmt] = [
        ast.Assign(targets=[_store("fired")], value=ast.List(elts=[], ctx=G.LOAD)),
        ast.Assign(targets=[_store("fire")], value=ast.Attribute(value=_load("fired"), attr="append", ctx=G.LOAD))]
    if rank:
        body.append(ast.Assign(targets=[_store("best")], value=ast.Constant(len(pathway.tiers))))
    at_most = len(pathway.tiers)  # what `best` is at most here, whatever the record
    steps: list[tuple[T.Node | None, list[ast.stmt]]] = []  # (condition, what its rules do when it is true)
    for when, group in itertools.groupby(enumerate(pathway.rules), key=lambda kr: kr[1].when.node):
        then: list[ast.stmt] = []
        for k, rule in group:
            then.append(ast.Expr(ast.Call(func=_load("fire"), args=[ast.Constant(k)], keywords=[])))
            r = pathway.tier_rank[rule.tier] if rank and rule.tier is not None else at_most
            if r < at_most:
                then.append(ast.If(test=ast.Compare(left=_load("best"), ops=[ast.Gt()], comparators=[ast.Constant(r)]),
                                   body=[ast.Assign(targets=[_store("best")], value=ast.Constant(r))], orelse=[]))
                if when == T.Const(True):
                    at_most = r
        steps.append((when, then))
    return body + _under_first_tests(steps, truths)


def _under_first_tests(steps: list[tuple[T.Node | None, list[ast.stmt]]], truths: G.Truths,
                       depth: int = 0) -> list[ast.stmt]:
    """`if test(condition): <what its rules do>` for each step, but steps in a row whose conditions start with one
    test (`x and ...`, or `x` itself) under that test, once, and so on for the rest of their conditions (up to
    `G.NESTED_JUNCTION` deep, so that the code's depth does not grow with a condition's length): a rule fires when
    `test(first) and test(rest)`, as `Truths` writes `and`, and the order of `fire` is kept. A step without a
    condition (None) is done as it is."""
    body: list[ast.stmt] = []
    for first, row in itertools.groupby(steps, key=lambda step: None if step[0] is None else _first(step[0])):
        row_ = list(row)
        if first is None:
            body += [stmt for _, then in row_ for stmt in then]
        elif len(row_) == 1 or depth >= G.NESTED_JUNCTION:
            body += [ast.If(test=truths.test(when), body=then, orelse=[]) for when, then in row_ if when]
        else:
            rests: list[tuple[T.Node | None, list[ast.stmt]]] = [(_rest(when), then) for when, then in row_ if when]
            inner = _under_first_tests(rests, truths, depth + 1)
            body.append(ast.If(test=truths.test(first), body=inner, orelse=[]))
    return body


def _rest(node: T.Node) -> T.Node | None:
    """What an `and` asks after its first operand (None: nothing, for a condition that is not an `and`)."""
    if not isinstance(node, T.And):
        return None
    return node.parts[1] if len(node.parts) == 2 else T.And(node.parts[1:])


def _first(node: T.Node) -> T.Node:
    """A condition's first test: the first operand of an `and`, else the condition itself."""
    return node.parts[0] if isinstance(node, T.And) else node


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
        step: list[ast.stmt]
        if exprs.known and never_none(case.when.node, exprs.known):  # true or false: no unknown to stop at
            step = [ast.If(test=G.Truths(exprs).test(case.when.node), body=take, orelse=[])]
        else:
            temp = scope.temp()
            step = [ast.Assign(targets=[_store(temp)], value=exprs.expr(case.when.node)),
                    ast.If(test=G._is(_load(temp), True), body=take,
                           orelse=[ast.If(test=G._is(_load(temp), None), body=copy.deepcopy(found), orelse=[])])]
        body += step if len(body) == 2 else [ast.If(test=_load(searching), body=step, orelse=[])]  # first: searching
    return body


def _score_sum(score: Score, slot: str, exprs: G.Expressions, scope: _FactScope,
               questions: Mapping[str, Question]) -> list[ast.stmt]:
    """`slot = 0`, then each item added in order while the total is known (a missing answer or unknown
    condition makes it None); when no item can be unknown (`nullness`), each item added, with no tests."""
    body: list[ast.stmt] = [ast.Assign(targets=[_store(slot)], value=ast.Constant(0))]
    sure = score.id in exprs.known
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
        if sure:  # the item's value into its temporary, then added (nothing is None)
            body += [ast.Assign(targets=[_store(temp)], value=value), *add]
            continue
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
