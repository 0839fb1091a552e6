"""A pathway condition as FHIR skip logic: `enableWhen` where it is a plain comparison of answers, otherwise a
FHIRPath expression (for the SDC `enableWhenExpression` and `calculatedExpression` extensions).

The condition text was checked when the pathway was loaded; here it is parsed again with `ast.parse` and
walked node by node (never evaluated). FHIRPath's empty collection plays the part of backpath's unknown: a
comparison or arithmetic on an unanswered item is empty, and `and`/`or`/`iif` treat empty the way backpath's
three-valued logic treats unknown, so an expression is enabled exactly when backpath asks the question (tested
case by case with fhirpathpy). Derived facts are written out in place (FHIR has no such names); a number score is
read from its read-only calculated item, which the form fills in (a score of named values is written out).
`answered(x)` is `.exists()` of x's value, never empty, as backpath's is never unknown: an item's answers, or
the expression written out for a derived fact (empty exactly where backpath's value is unknown); as enableWhen,
the `exists` operator.
"""

from __future__ import annotations

import ast
from typing import Any

from backpath.core.model import Derived, Pathway, Question, Score

NONE_CODE = "none"  # the exclusive "None of these" option of a multi-choice question (a FHIR answer for [])

_OPS = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_MAX_DEPTH = 40  # facts written out in place nest; a deeper expression is refused rather than built


def _numeric(score: Score) -> bool:
    return not score.cases or all(isinstance(c.value, (int, float)) and not isinstance(c.value, bool)
                                  for c in score.cases)


class NotExpressible(Exception):
    """The condition uses a construct this translation does not cover; the message says which."""


def answer_path(linkId: str) -> str:
    """The FHIRPath of an item's answer values in the response being filled in (`%resource`)."""
    return f"%resource.repeat(item).where(linkId={literal(linkId)}).answer.value"


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise NotExpressible(f"the value {value!r} has no FHIRPath literal")


def _parse(text: str) -> ast.AST:
    return ast.parse(text, mode="eval").body


def answered_name(node: ast.AST) -> str | None:
    """The name in `answered(name)` (the checker allowed no other call), else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "answered" \
            and len(node.args) == 1 and isinstance(node.args[0], ast.Name):
        return node.args[0].id
    return None


# --- enableWhen ----------------------------------------------------------------------------------

def enable_when(pathway: Pathway, condition_text: str, option_system) -> tuple[list[dict], str] | None:
    """`(enableWhen list, enableBehavior)` for a condition that is `and` or `or` of plain comparisons of answered
    items with constants (`age <= 55`, `sciatica`, `'x' in red_flags`), or None when it needs an expression.

    `!=` is never used: FHIR R4's `!=` is true for an unanswered item, where backpath's is unknown (not asked).
    """
    node = _parse(condition_text)
    parts = node.values if isinstance(node, ast.BoolOp) else [node]
    behavior = "any" if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) else "all"
    out: list[dict] = []
    for part in parts:
        terms = _simple_terms(pathway, part, option_system)
        if terms is None or (len(terms) > 1 and behavior == "any"):
            return None
        out += terms
    return out, behavior


def _simple_terms(pathway: Pathway, node: ast.AST, option_system) -> list[dict] | None:
    questions = pathway.questions
    if isinstance(node, ast.Name) and node.id in questions and questions[node.id].type == "boolean":
        return [{"question": node.id, "operator": "=", "answerBoolean": True}]
    negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    name = answered_name(node.operand if isinstance(node, ast.UnaryOp) and negated else node)
    if name is not None:  # answered(question) / not answered(question): the `exists` operator
        return [{"question": name, "operator": "exists", "answerBoolean": not negated}] if name in questions else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Name):
        name = node.operand.id
        if name in questions and questions[name].type == "boolean":
            return [{"question": name, "operator": "=", "answerBoolean": False}]
        return None
    if not isinstance(node, ast.Compare):
        return None
    operands = [node.left, *node.comparators]
    terms = []
    for left, op, right in zip(operands, node.ops, operands[1:]):
        term = _compare_term(pathway, left, op, right, option_system)
        if term is None:
            return None
        terms.append(term)
    return terms


def _compare_term(pathway: Pathway, left: ast.AST, op: ast.cmpop, right: ast.AST, option_system) -> dict | None:
    questions = pathway.questions
    if isinstance(op, ast.In) and isinstance(left, ast.Constant) and isinstance(right, ast.Name):
        q = questions.get(right.id)
        if q is not None and q.type == "multi_choice" and isinstance(left.value, str):
            return {"question": q.id, "operator": "=",
                    "answerCoding": {"system": option_system(q), "code": left.value}}
        return None
    symbol = None
    if type(op) not in _OPS:
        return None
    operator = _OPS[type(op)]
    if isinstance(left, ast.Name) and isinstance(right, ast.Constant):
        symbol, value = left.id, right.value
    elif isinstance(right, ast.Name) and isinstance(left, ast.Constant):
        symbol, value, operator = right.id, left.value, _FLIP[operator]
    if symbol is None or symbol not in questions or operator == "!=":
        return None
    q = questions[symbol]
    if q.type == "boolean" and isinstance(value, bool) and operator == "=":
        return {"question": q.id, "operator": "=", "answerBoolean": value}
    if q.type == "integer" and type(value) is int:
        return {"question": q.id, "operator": operator, "answerInteger": value}
    if q.type == "number" and type(value) in (int, float):
        return {"question": q.id, "operator": operator, "answerDecimal": value}
    if q.type == "choice" and isinstance(value, str) and operator == "=":
        return {"question": q.id, "operator": "=", "answerCoding": {"system": option_system(q), "code": value}}
    return None


# --- FHIRPath ------------------------------------------------------------------------------------

class FhirPathWriter:
    """Condition text, derived facts and scores -> FHIRPath over the response's answers."""

    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        facts: tuple[Derived | Score, ...] = (*pathway.derived, *pathway.scores)
        self.facts: dict[str, Derived | Score] = {f.id: f for f in facts}

    def condition(self, text: str) -> str:
        return self._expr(_parse(text), 0)

    def fact(self, fact_id: str) -> str:
        """A derived fact's or a score's value, as backpath computes it (empty where backpath's is unknown)."""
        return self._fact(self.facts[fact_id], 0)

    # The value of one name.
    def _name(self, name: str, depth: int) -> str:
        q = self.pathway.questions.get(name)
        if q is not None:
            return self._answer(q)
        fact = self.facts.get(name)
        if isinstance(fact, Score) and _numeric(fact):
            return answer_path(name)  # the score's calculated item, which the form fills in
        if fact is not None:
            return "(" + self._fact(fact, depth + 1) + ")"
        if name in ("true", "True", "false", "False"):
            return literal(name.lower() == "true")
        raise NotExpressible(f"`{name}` is neither a question, a derived fact nor a score")

    def _answered(self, name: str, depth: int) -> str:
        """`answered(name)`: whether the value exists. An item's answers (a question's, or a number score's
        calculated item), or a derived fact (or a score of named values) written out in place, which is empty
        exactly where backpath's value is unknown."""
        if name in self.pathway.questions:
            return f"%resource.repeat(item).where(linkId={literal(name)}).answer.exists()"
        fact = self.facts.get(name)
        if isinstance(fact, Score) and _numeric(fact):
            return f"%resource.repeat(item).where(linkId={literal(name)}).answer.exists()"
        if fact is not None:
            return f"({self._fact(fact, depth + 1)}).exists()"
        raise NotExpressible(f"`answered({name})`: `{name}` is neither a question, a derived fact nor a score")

    @staticmethod
    def _answer(q: Question) -> str:
        path = answer_path(q.id)
        if q.type in ("choice", "multi_choice"):
            return path + ".code"
        return path

    def _fact(self, f: Derived | Score, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise NotExpressible("derived facts nest too deeply")
        if isinstance(f, Derived) and f.expr is not None:
            return self._expr(_parse(f.expr.text), depth)
        if f.cases:
            return self._cases(f.cases, depth)
        # a derived fact has an expr or cases (the builder makes it with one; a failed compile stops the load)
        assert isinstance(f, Score)
        terms = [self._score_term(item, depth) for item in f.items]
        return " + ".join(terms) if terms else "0"

    def _cases(self, cases, depth: int) -> str:
        case, rest = cases[0], cases[1:]
        if case.when is None:
            return literal(case.value)
        cond = self._expr(_parse(case.when.text), depth)
        otherwise = self._cases(rest, depth) if rest else "{}"
        return f"iif(({cond}).exists(), iif({cond}, {literal(case.value)}, {otherwise}), {{}})"

    def _score_term(self, item, depth: int) -> str:
        if item.question is None:
            cond = self._expr(_parse(item.when.text), depth)
            return f"iif(({cond}).exists(), iif({cond}, {literal(item.points)}, 0), {{}})"
        q = self.pathway.questions[item.question]
        value = self._answer(q)
        if item.values is not None:
            if q.type == "multi_choice":
                parts = [f"iif({value} contains {literal(k)}, {literal(w)}, 0)" for k, w in item.values.items()]
            else:
                parts = [f"iif({value} = {literal(k)}, {literal(w)}, 0)" for k, w in item.values.items()]
            return f"iif({value}.exists(), {' + '.join(parts) or '0'}, {{}})"
        if q.type == "boolean":
            return f"iif({value}.exists(), iif({value}, 1, 0), {{}})"
        if q.type in ("integer", "number"):
            return f"({value})"
        raise NotExpressible(f"the score item `{q.id}` ({q.type}) has no points")

    # Expressions.
    def _expr(self, node: ast.AST, depth: int) -> str:
        if isinstance(node, ast.BoolOp):
            word = " and " if isinstance(node.op, ast.And) else " or "
            return word.join(f"({self._expr(v, depth)})" for v in node.values)
        if isinstance(node, ast.UnaryOp):
            inner = self._expr(node.operand, depth)
            if isinstance(node.op, ast.Not):
                return f"({inner}).not()"
            if isinstance(node.op, ast.USub):
                return f"(0 - ({inner}))"
            raise NotExpressible(f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return f"({self._expr(node.left, depth)}) {_ARITH[type(node.op)]} ({self._expr(node.right, depth)})"
        if isinstance(node, ast.Name):
            return self._name(node.id, depth)
        if isinstance(node, ast.Constant):
            return literal(node.value)
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            parts = [self._compare(a, op, b, depth) for a, op, b in zip(operands, node.ops, operands[1:])]
            return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)
        name = answered_name(node)
        if name is not None:
            return self._answered(name, depth)
        raise NotExpressible(f"the construct `{ast.unparse(node)}`")

    def _multi(self, node: ast.AST) -> Question | None:
        if isinstance(node, ast.Name):
            q = self.pathway.questions.get(node.id)
            if q is not None and q.type == "multi_choice":
                return q
        return None

    def _compare(self, left: ast.AST, op: ast.cmpop, right: ast.AST, depth: int) -> str:
        multi = self._multi(right) if isinstance(op, (ast.In, ast.NotIn)) else (self._multi(left) or
                                                                                self._multi(right))
        if multi is not None:
            return self._multi_compare(multi, left, op, right, depth)
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(right, (ast.List, ast.Tuple)) or not right.elts:
                raise NotExpressible(f"`in` over `{ast.unparse(right)}`")
            items = " | ".join(self._expr(e, depth) for e in right.elts)
            test = f"({self._expr(left, depth)}) in ({items})"
            return f"({test}).not()" if isinstance(op, ast.NotIn) else test
        if type(op) not in _OPS:
            raise NotExpressible(f"the comparison {type(op).__name__}")
        return f"({self._expr(left, depth)}) {_OPS[type(op)]} ({self._expr(right, depth)})"

    def _multi_compare(self, q: Question, left: ast.AST, op: ast.cmpop, right: ast.AST, depth: int) -> str:
        codes = f"{self._answer(q)}.where($this != {literal(NONE_CODE)})"
        answered = f"{self._answer(q)}.exists()"
        if isinstance(op, (ast.In, ast.NotIn)):
            test = f"{codes} contains ({self._expr(left, depth)})"
            if isinstance(op, ast.NotIn):
                test = f"({test}).not()"
            return f"iif({answered}, {test}, {{}})"
        other = right if self._multi(left) is q else left
        if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(other, (ast.List, ast.Tuple)):
            if other.elts:
                raise NotExpressible("a multi-choice compared with a non-empty list")
            test = f"{codes}.empty()" if isinstance(op, ast.Eq) else f"{codes}.exists()"
            return f"iif({answered}, {test}, {{}})"
        raise NotExpressible(f"the multi-choice comparison `{ast.unparse(left)} ... {ast.unparse(right)}`")
