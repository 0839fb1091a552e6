"""From checked condition trees (`tree`) to Python functions, built as `ast` nodes and compiled once.

This is how a pathway's conditions run. The safety argument (docs/pathway-format.md, "How conditions run"):

- Only `tree` nodes reach this module, and a tree holds only what the checker (`conditions`) accepted: operators
  from a fixed set, declared names, and constants (bool, int, float, str, frozensets of those).
- Names never become code. Each name gets a local variable numbered by this module (`v0`, `v1`...), loaded with
  `env.get("<name>")` where the name is a string constant. Temporaries are `t0`, `t1`...
- Strings and numbers become `ast.Constant` nodes, never source text; nothing is parsed from text here.
- Every operator maps to an `ast` node class from a fixed table; arithmetic goes through helpers (`codegen_runtime`:
  missing operands, division by zero, overflow and non-finite results all give None, "unknown").
- The code runs with no builtins but the few helpers it is given (`codegen_runtime.NAMESPACE`).

`tests/core/test_codegen_safety.py` fuzzes identifiers, strings and numbers through a pathway and checks that the
generated trees hold them only as constants.

Three-valued logic: a boolean expression gives True, False or None (unknown: it reads a missing answer). `and`
is false when any operand is false, else unknown when any is unknown; `or` likewise with true; `not` and
comparisons of an unknown are unknown.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection
from typing import Any

from backpath.core import tree as T
from backpath.core.codegen_runtime import NAMESPACE
from backpath.core.nullness import exact_bool, never_none

_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div"}
NESTED_JUNCTION = 8  # and/or with more operands than this go through `_all_of`/`_any_of`
_COMPARE = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "==": ast.Eq, "!=": ast.NotEq}


# One instance of each field-less node read everywhere, as `ast.parse` itself shares them: a pathway's code has
# thousands of names and `is` tests, and a node less is one less to make, walk (`_locate`) and compile.
LOAD, STORE, IS = ast.Load(), ast.Store(), ast.Is()


def _name(id_: str, store: bool = False) -> ast.Name:
    return ast.Name(id=id_, ctx=STORE if store else LOAD)


def _const(value: Any) -> ast.Constant:
    return ast.Constant(value=value)


def _is(expr: ast.expr, value: Any) -> ast.Compare:
    return ast.Compare(left=expr, ops=[IS], comparators=[_const(value)])


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(helper), args=list(args), keywords=[])


def _if_else(test: ast.expr, body: ast.expr, orelse: ast.expr) -> ast.IfExp:
    return ast.IfExp(test=test, body=body, orelse=orelse)


def _compared(node: T.Compare, a: ast.expr, b: ast.expr) -> ast.expr:
    """`a op b`, the comparison of the operands' code `a`, `b` (known). As sets, a list answer is made a frozenset
    (a list literal is one), except against `[]`: `not a` is whether it is empty (`not not a` for `!=`)."""
    if node.as_sets and node.op in ("==", "!=") and T.Const(frozenset()) in (node.left, node.right):
        empty = ast.UnaryOp(op=ast.Not(), operand=b if node.left == T.Const(frozenset()) else a)
        return empty if node.op == "==" else ast.UnaryOp(op=ast.Not(), operand=empty)
    if node.as_sets:
        a = a if isinstance(node.left, T.Const) else _call("frozenset", a)
        b = b if isinstance(node.right, T.Const) else _call("frozenset", b)
    return ast.Compare(left=a, ops=[_COMPARE[node.op]()], comparators=[b])


class Scope:
    """The local variables of one generated function: a numbered variable per name read, temporaries, and
    constants too large or mutable for `ast.Constant` (kept in the function's namespace as `k0`, `k1`...)."""

    def __init__(self) -> None:
        self.slots: dict[str, str] = {}
        self.temps = 0
        self.constants: dict[str, Any] = {}

    def slot(self, name: str) -> str:
        slot = self.slots.get(name)
        if slot is None:
            slot = self.slots[name] = f"v{len(self.slots)}"
        return slot

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def constant(self, value: Any) -> ast.expr:
        if value is None or type(value) in (bool, int, float, str, frozenset):
            return _const(value)
        key = f"k{len(self.constants)}"
        self.constants[key] = value
        return _name(key)

    def loads(self, source: str) -> list[ast.stmt]:
        """`vN = source.get("name")` for every name this scope read, in first-read order."""
        getter = ast.Attribute(value=_name(source), attr="get", ctx=ast.Load())
        return [ast.Assign(targets=[_name(slot, True)], value=ast.Call(func=getter, args=[_const(name)], keywords=[]))
                for name, slot in self.slots.items()]


class Expressions:
    """Python expressions for tree nodes, in one `Scope`. The names in `known` are never None where the code runs
    (`nullness`): operands made only of them are not tested for None, and the code is otherwise the same."""

    def __init__(self, scope: Scope, known: Collection[str] = (), bools: Collection[str] = ()):
        self.scope = scope
        self.known, self.bools = known, bools  # `bools`: those of `known` that are True or False

    def truth(self, expr: ast.expr, node: T.Node, want: bool) -> ast.expr:
        """`expr is want` for `node`'s code `expr`; `expr` / `not expr` when its value is True or False."""
        if self.known and exact_bool(node, self.known, self.bools):
            return expr if want else ast.UnaryOp(op=ast.Not(), operand=expr)
        return _is(expr, want)

    def expr(self, node: T.Node) -> ast.expr:
        method = getattr(self, "_" + type(node).__name__)
        return method(node)

    def _Const(self, node: T.Const) -> ast.expr:
        return self.scope.constant(node.value)

    def _Var(self, node: T.Var) -> ast.expr:
        return _name(self.scope.slot(node.name))

    def _Answered(self, node: T.Answered) -> ast.expr:
        """`vN is not None`: a Python bool, never None (unknown)."""
        return ast.Compare(left=_name(self.scope.slot(node.name)), ops=[ast.IsNot()], comparators=[_const(None)])

    def _Neg(self, node: T.Neg) -> ast.expr:
        return _call("_neg", self.expr(node.operand))

    def _Arith(self, node: T.Arith) -> ast.expr:
        return _call(_ARITH[node.op], self.expr(node.left), self.expr(node.right))

    def _operand(self, node: T.Node) -> tuple[ast.expr, ast.expr, bool]:
        """(first use, later uses, may be None) of an operand: a name or constant is used as is, anything else
        is bound to a temporary at its first use (`(t1 := ...)`)."""
        if isinstance(node, T.Const):
            value = self.expr(node)
            return value, value, False
        if isinstance(node, T.Var):
            value = self.expr(node)
            return value, value, node.name not in self.known
        if isinstance(node, T.Answered) or (self.known and never_none(node, self.known)):
            value = self.expr(node)  # never None: used once, as is (first or later, never both)
            return value, value, False
        temp = self.scope.temp()
        return ast.NamedExpr(target=_name(temp, True), value=self.expr(node)), _name(temp), True

    def _null_safe(self, left: T.Node, right: T.Node, make: Callable[[ast.expr, ast.expr], ast.expr]) -> ast.expr:
        """`None if left is None or right is None else make(left, right)`, each operand evaluated once."""
        lfirst, lthen, lnull = self._operand(left)
        rfirst, rthen, rnull = self._operand(right)
        tests: list[ast.expr] = []
        if lnull:
            tests.append(_is(lfirst, None))
        if rnull:
            tests.append(_is(rfirst, None))
        if not tests:
            return make(lthen, rthen)
        if not lnull:  # a constant left operand is used only in `make`: evaluate it there
            lthen = lfirst
        test = tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.Or(), values=tests)
        return _if_else(test, _const(None), make(lthen, rthen))

    def _Compare(self, node: T.Compare) -> ast.expr:
        return self._null_safe(node.left, node.right, lambda a, b: _compared(node, a, b))

    def _Member(self, node: T.Member) -> ast.expr:
        op = ast.NotIn() if node.negate else ast.In()
        return self._null_safe(node.left, node.right,
                               lambda a, b: ast.Compare(left=a, ops=[op], comparators=[b]))

    def _Not(self, node: T.Not) -> ast.expr:
        first, then, nullable = self._operand(node.operand)
        negated = ast.UnaryOp(op=ast.Not(), operand=then)
        if not nullable:
            return ast.UnaryOp(op=ast.Not(), operand=first)
        return _if_else(_is(first, None), _const(None), negated)

    def _And(self, node: T.And) -> ast.expr:
        return self._junction(node.parts, False)

    def _Or(self, node: T.Or) -> ast.expr:
        return self._junction(node.parts, True)

    def _junction(self, parts: tuple[T.Node, ...], decisive: bool) -> ast.expr:
        """and (decisive False) / or (decisive True): the decisive value as soon as an operand has it, else
        None when any operand was unknown, else the other value. Up to `NESTED_JUNCTION` operands as nested
        conditional expressions (each evaluated only when needed); more through one call of `_any_of`/`_all_of`,
        so that the code's depth never grows with the number of operands (a flat `or` of hundreds of names fits a
        pathway's size limits, and deep code would exhaust the compiler's recursion)."""
        if self.known and all(exact_bool(p, self.known, self.bools) for p in parts):  # Python's and/or is it
            return ast.BoolOp(op=ast.Or() if decisive else ast.And(), values=[self.expr(p) for p in parts])
        if len(parts) > NESTED_JUNCTION:
            if self.known and all(never_none(p, self.known) for p in parts):  # no unknown: a flat test
                op: ast.cmpop = IS if decisive else ast.IsNot()  # any `is True` / every `is not False`
                return ast.BoolOp(op=ast.Or() if decisive else ast.And(), values=[
                    ast.Compare(left=self.expr(p), ops=[op], comparators=[_const(decisive)]) for p in parts])
            return _call("_any_of" if decisive else "_all_of", *(self.expr(p) for p in parts))
        bound: list[ast.expr] = []
        tests: list[ast.expr] = []
        for part in parts:
            first, then, nullable = self._operand(part)
            tests.append(self.truth(first, part, decisive))
            if nullable:
                bound.append(then)
        tail: ast.expr
        if bound:
            unknown: list[ast.expr] = [_is(b, None) for b in bound]
            test = unknown[0] if len(unknown) == 1 else ast.BoolOp(op=ast.Or(), values=unknown)
            tail = _if_else(test, _const(None), _const(not decisive))
        else:
            tail = _const(not decisive)
        for test in reversed(tests):
            tail = _if_else(test, _const(decisive), tail)
        return tail


class Truths:
    """Whether a boolean node is true (or false), for conditions read only that way: a rule fires when its
    condition is true, and unknown does not fire. The test is `expression is True` of the three-valued code
    (`Expressions`), written shorter: `and` is true when every operand is, `or` when any is, `not x` when `x` is
    false, a comparison when both operands are known and it holds (its result is then a bool). Operands are
    tested left to right and the test stops at the first that settles it, never after the three-valued code would
    have; the code is flat `and`/`or`, whose depth does not grow with the number of operands."""

    def __init__(self, exprs: Expressions):
        self.exprs = exprs

    def test(self, node: T.Node, want: bool = True) -> ast.expr:
        """An expression that is True when `node` takes the value `want`, else False."""
        if isinstance(node, T.Not):
            return self.test(node.operand, not want)
        if isinstance(node, (T.And, T.Or)):
            every = isinstance(node, T.And) == want  # and-true, or-false: every operand must; else any one
            tests = [self.test(part, want) for part in node.parts]
            return tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.And() if every else ast.Or(), values=tests)
        if isinstance(node, (T.Compare, T.Member)) and want:
            return self._holds(node)
        if isinstance(node, T.Const):  # a rule `when: true`: no test at all
            return _const(node.value is want)
        if isinstance(node, T.Answered):  # `v is not None` / `v is None`: already a bool
            slot = _name(self.exprs.scope.slot(node.name))
            return ast.Compare(left=slot, ops=[ast.IsNot() if want else IS], comparators=[_const(None)])
        return self.exprs.truth(self.exprs.expr(node), node, want)

    def _holds(self, node: T.Compare | T.Member) -> ast.expr:
        """`left is not None and right is not None and (left op right)`, each operand evaluated once."""
        exprs = self.exprs
        lfirst, lthen, lnull = exprs._operand(node.left)
        rfirst, rthen, rnull = exprs._operand(node.right)
        known: list[ast.expr] = []
        if lnull:
            known.append(ast.Compare(left=lfirst, ops=[ast.IsNot()], comparators=[_const(None)]))
        else:
            lthen = lfirst
        if rnull:
            known.append(ast.Compare(left=rfirst, ops=[ast.IsNot()], comparators=[_const(None)]))
        else:
            rthen = rfirst
        holds: ast.expr
        if isinstance(node, T.Member):
            holds = ast.Compare(left=lthen, ops=[ast.NotIn() if node.negate else ast.In()], comparators=[rthen])
        else:
            holds = _compared(node, lthen, rthen)
        return ast.BoolOp(op=ast.And(), values=[*known, holds]) if known else holds


class Explanations:
    """Statements that list, in `out`, the names that made a boolean node take a value: for `and` true and `or`
    false every operand's, for `or` true the true operands', for `and` false the false operands', `not` turning
    the question round, a comparison's all its names; `answered(x)` true lists x, false nothing (no name has a
    value then, and `because` lists only names with values). The tests on operands are also collected (`terms`),
    so that a memo can key on their outcome."""

    def __init__(self, scope: Scope, out: str = "out", known: Collection[str] = (), bools: Collection[str] = ()):
        self.exprs = Expressions(scope, known, bools)  # `known`, `bools`: as for `Expressions` (none by default)
        self.out = out
        self.terms: list[ast.expr] = []

    def stmts(self, node: T.Node, want: bool) -> list[ast.stmt]:
        if isinstance(node, T.Not):
            return self.stmts(node.operand, not want)
        if isinstance(node, (T.And, T.Or)):
            every = isinstance(node, T.And) == want  # and-true, or-false: every operand counts
            body: list[ast.stmt] = []
            for part in node.parts:
                inner = self.stmts(part, want)
                if every:
                    body.extend(inner)
                    continue
                test = self.exprs.truth(self.exprs.expr(part), part, want)
                self.terms.append(test)
                body.append(ast.If(test=test, body=inner or [ast.Pass()], orelse=[]))
            return body
        if isinstance(node, T.Answered) and not want:
            return []
        names = T.names(node)
        if not names:
            return []
        extend = ast.Attribute(value=_name(self.out), attr="extend", ctx=ast.Load())
        return [ast.Expr(value=ast.Call(func=extend, args=[_const(tuple(names))], keywords=[]))]


def decision_count(node: T.Node, want: bool = True) -> int:
    """How many tests `Explanations` makes for `node` taking `want` (without building them)."""
    if isinstance(node, T.Not):
        return decision_count(node.operand, not want)
    if isinstance(node, (T.And, T.Or)):
        every = isinstance(node, T.And) == want
        inner = sum(decision_count(p, want) for p in node.parts)
        return inner if every else inner + len(node.parts)
    return 0


def conditional(node: T.Node, want: bool = True) -> bool:
    """Whether the names that explain `node` taking `want` depend on which operands are true (an `or` met while
    asking why it is true, or an `and` while asking why it is false)."""
    if isinstance(node, T.Not):
        return conditional(node.operand, not want)
    if isinstance(node, (T.And, T.Or)):
        if isinstance(node, T.Or) == want:
            return True
        return any(conditional(p, want) for p in node.parts)
    # `answered(x)` false is explained by nothing, not by its name (x has no value then)
    return isinstance(node, T.Answered) and not want


def function(name: str, args: list[str], scope: Scope, body: list[ast.stmt], source: str = "env") -> ast.FunctionDef:
    """`def name(args): <loads of every name read from source>; body`."""
    arguments = ast.arguments(posonlyargs=[], args=[ast.arg(arg=a) for a in args], vararg=None, kwonlyargs=[],
                              kw_defaults=[], kwarg=None, defaults=[])
    fn = ast.FunctionDef(name=name, args=arguments, body=scope.loads(source) + body, decorator_list=[],
                         returns=None)
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12+
        fn.type_params = []  # type: ignore[attr-defined]  # the stubs for 3.11 (our floor) lack it
    return fn


def build(functions: list[ast.FunctionDef], constants: dict[str, Any], filename: str) -> dict[str, Any]:
    """Compile `functions` into a fresh namespace (no builtins but `NAMESPACE`'s helpers) and return it."""
    module = ast.Module(body=list(functions), type_ignores=[])
    _locate(module)
    code = compile(module, filename, "exec", dont_inherit=True)
    namespace = dict(NAMESPACE)
    namespace.update(constants)
    exec(code, namespace)  # code built above from checked trees only (see the module docstring)
    return namespace


def _locate(module: ast.Module) -> None:
    """Give every node the position `compile` needs: line 1, column 0 (the code has no source text to point
    into; a missing end position is taken to be the start). A walk of its own, about twice as fast as `ast.walk`
    setting the four positions, and several times faster than `ast.fix_missing_locations`."""
    stack: list[Any] = [module]
    while stack:
        node = stack.pop()
        if not isinstance(node, ast.AST):  # an empty field (None), or a name in a list of names
            continue
        if "lineno" in node._attributes:
            # (the stubs declare positions only on node classes that have them; `_attributes` checked that)
            node.lineno = 1  # type: ignore[attr-defined]
            node.col_offset = 0  # type: ignore[attr-defined]
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                stack.extend(value)
            else:
                stack.append(value)


def condition_function(node: T.Node, label: str, kind: str) -> Callable:
    """One function of an env mapping for a condition, by kind: `value`; `explain`, the names that made it true,
    and `decisions`, the outcome of the tests `explain` makes as bits; `refute` and `refute_decisions`, the same
    for why it is false (a derived fact that is false, read under `not`). Each is generated and compiled on its
    own, when first asked for: `assess` explains a few rules and never needs their bits."""
    if kind not in ("value", "explain", "decisions", "refute", "refute_decisions"):
        raise ValueError(f"no condition function {kind!r}")
    scope = Scope()
    body: list[ast.stmt]
    if kind == "value":
        body = [ast.Return(value=Expressions(scope).expr(node))]
    else:
        explainer = Explanations(scope)
        want = kind in ("explain", "decisions")
        explained = explainer.stmts(node, want)
        if kind in ("explain", "refute"):
            body = [ast.Assign(targets=[_name("out", True)], value=ast.List(elts=[], ctx=ast.Load())), *explained,
                    ast.Return(value=_name("out"))]
        else:
            # bits = 0; bits |= (test k) << k for each test the explanation makes, in its order: flat statements,
            # however many tests (each binds its own temporaries, so it stands alone out of its `if`).
            body = [ast.Assign(targets=[_name("bits", True)], value=_const(0))]
            for k, test in enumerate(explainer.terms):
                shifted = ast.BinOp(left=test, op=ast.LShift(), right=_const(k))
                body.append(ast.AugAssign(target=_name("bits", True), op=ast.BitOr(), value=shifted))
            body.append(ast.Return(value=_name("bits")))
    # A condition's constants are all `ast.Constant`s (bool, number, text, frozenset): no namespace constants.
    return build([function(kind, ["env"], scope, body)], {}, f"<backpath condition {label}>")[kind]
