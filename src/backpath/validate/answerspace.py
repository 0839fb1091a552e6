"""The answer space of a pathway: valid answer sets chosen to hit every boundary and every option.

`backpath validate` uses it to check safety invariants and to find rules that can never fire. An answer
set is built from a *genome* — one candidate value per question, in questionnaire order — by walking the
questions and keeping only those whose `ask_when` is true for the answers so far, so every answer set is
valid by construction (`engine.assess` accepts it).

Candidate values per question:

- boolean: false, true;
- integer / number: the range ends and, for every numeric constant compared in any condition that
  depends on the question, t-1, t, t+1 (and t+0.5 for a `number`);
- choice: every option; multi-choice: none, each option alone, all of them (every subset when there
  are at most 4 options);
- an optional question may also stay unanswered.

The sample is: three base answer sets (lowest, middle and highest candidates), every one-factor change
from each base, and seeded random combinations. `search` then looks for answers that make given
conditions true (or not true) by hill climbing on a graded truth value, so conjunctions of several
conditions are found even when random sampling would miss them. Everything is deterministic.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from backpath.core import engine
from backpath.core.conditions import Compiled, ConditionError, compile_condition
from backpath.core.model import Derived, Pathway, Question, Score
from backpath.load.symbols import names_read

SEED = 20240607
RANDOM_SAMPLES = 300
SEARCH_EVALS = 4000
"""Most answer sets one targeted search may try."""


class _Missing:
    """An optional question left unanswered."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

Genome = tuple  # one value per question, in questionnaire order (lists as tuples)


@dataclass(frozen=True)
class Point:
    """One valid answer set: the genome it came from, the answers, and answers + derived facts + scores."""

    genome: Genome
    answers: dict
    env: dict


@dataclass(frozen=True)
class Goal:
    """Make `condition` true (`want=True`) or anything but true (`want=False`: false or unknown)."""

    condition: Compiled
    want: bool = True

    def met(self, env: Mapping[str, Any]) -> bool:
        return (self.condition.fn(env) is True) == self.want


class AnswerSpace:
    """Candidate values per question, the sample, and a targeted search, for one pathway."""

    def __init__(self, pathway: Pathway, *, seed: int = SEED, random_samples: int = RANDOM_SAMPLES):
        self.pathway = pathway
        self.questions: list[Question] = pathway.question_list()
        self.index = {q.id: i for i, q in enumerate(self.questions)}
        thresholds = numeric_thresholds(pathway)
        self.domains: list[tuple] = [_domain(q, thresholds.get(q.id, set())) for q in self.questions]
        self.rng = random.Random(seed)
        self.random_samples = random_samples
        self._points: dict[Genome, Point] = {}
        self._fuzzy = _FuzzyBuilder(pathway)
        self.evaluations = 0

    # --- answer sets ----------------------------------------------------------------------------
    def point(self, genome: Genome) -> Point:
        p = self._points.get(genome)
        if p is None:
            answers: dict = {}
            for q, value in zip(self.questions, genome):
                if q.ask_when is not None and not engine.is_asked(self.pathway, q, answers):
                    continue
                if value is MISSING:
                    continue
                answers[q.id] = list(value) if isinstance(value, tuple) else value
            p = self._points[genome] = Point(genome, answers, engine.compute_facts(self.pathway, answers))
            self.evaluations += 1
        return p

    def bases(self) -> list[Genome]:
        low = tuple(d[0] for d in self.domains)
        mid = tuple(d[len(d) // 2] for d in self.domains)
        high = tuple(d[-1] for d in self.domains)
        return list(dict.fromkeys([low, mid, high]))

    def moves(self, genome: Genome, i: int) -> Iterator:
        """Every other candidate value of question i; for a multi-choice also each option toggled."""
        current = genome[i]
        seen = {current}
        for v in self.domains[i]:
            if v not in seen:
                seen.add(v)
                yield v
        q = self.questions[i]
        if q.type == "multi_choice" and isinstance(current, tuple):
            for opt in q.option_ids:
                chosen = set(current) ^ {opt}
                v = tuple(o for o in q.option_ids if o in chosen)
                if v not in seen:
                    seen.add(v)
                    yield v

    def neighbours(self, genome: Genome) -> Iterator[Genome]:
        """Every genome that differs from `genome` in one question."""
        for i in range(len(genome)):
            for v in self.moves(genome, i):
                yield genome[:i] + (v,) + genome[i + 1:]

    def random_genome(self) -> Genome:
        density = self.rng.choice((0.15, 0.4, 1.0))
        out = []
        for q, d in zip(self.questions, self.domains):
            if self.rng.random() > density:
                out.append(d[0])
            elif q.type == "multi_choice":
                out.append(tuple(o for o in q.option_ids if self.rng.random() < 0.3))
            else:
                out.append(d[self.rng.randrange(len(d))])
        return tuple(out)

    def sample(self) -> list[Point]:
        """Bases, every one-factor change of each base, then seeded random combinations; no duplicates."""
        seen: set[str] = set()
        out: list[Point] = []

        def add(genome: Genome) -> None:
            p = self.point(genome)
            key = json.dumps(p.answers, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(p)

        bases = self.bases()
        for b in bases:
            add(b)
        for b in bases:
            for g in self.neighbours(b):
                add(g)
        for _ in range(self.random_samples):
            add(self.random_genome())
        return out

    # --- targeted search ------------------------------------------------------------------------
    def score(self, goals: list[Goal]) -> Callable[[Mapping[str, Any]], float]:
        graded = [self._fuzzy.build(g.condition.text, negate=not g.want) for g in goals]
        return lambda env: sum(f(env) for f in graded) / len(graded)

    def search(self, goals: list[Goal], starts: list[Point], *, max_evals: int = SEARCH_EVALS,
               restarts: int = 3) -> Point | None:
        """Answers that meet every goal, found by hill climbing from the best `starts`; None if none found."""
        if not goals:
            return starts[0] if starts else None
        score = self.score(goals)

        def met(p: Point) -> bool:
            return all(g.met(p.env) for g in goals)

        for p in starts:
            if met(p):
                return p
        ranked = sorted(starts, key=lambda p: -score(p.env))[:restarts]
        ranked += [self.point(self.random_genome()) for _ in range(max(0, restarts - len(ranked)))]
        budget = max_evals
        for start in ranked:
            genome, best = start.genome, score(start.env)
            improved = True
            while improved and budget > 0:
                improved = False
                order = list(range(len(genome)))
                self.rng.shuffle(order)
                for i in order:
                    for v in self.moves(genome, i):
                        candidate = genome[:i] + (v,) + genome[i + 1:]
                        p = self.point(candidate)
                        budget -= 1
                        if met(p):
                            return p
                        s = score(p.env)
                        if s > best + 1e-9:
                            genome, best, improved = candidate, s, True
                            break
                    if budget <= 0:
                        break
        return None


# --- candidate values --------------------------------------------------------------------------

def _domain(q: Question, thresholds: set[float]) -> tuple:
    if q.type == "boolean":
        values: list = [False, True]
    elif q.type in ("integer", "number"):
        values = _numbers(q, thresholds)
    elif q.type == "choice":
        values = list(q.option_ids)
    else:
        opts = q.option_ids
        if len(opts) <= 4:
            values = [c for n in range(len(opts) + 1) for c in itertools.combinations(opts, n)]
        else:
            values = [(), *((o,) for o in opts), tuple(opts)]
    if not q.required:
        values = [MISSING, *values]
    return tuple(values)


def _numbers(q: Question, thresholds: set[float]) -> list:
    raw: set[float] = set()
    for t in thresholds:
        raw |= {t - 1, t, t + 1}
        if q.type == "number":
            raw.add(t + 0.5)
    lo, hi = q.min, q.max
    raw |= {v for v in (lo, hi) if v is not None}
    if not raw:
        raw = {0}
    out: set = set()
    for v in raw:
        candidates: list[float]
        if q.type == "integer" and not float(v).is_integer():
            candidates = [math.floor(v), math.ceil(v)]
        else:
            candidates = [v]
        for c in candidates:
            if (lo is None or c >= lo) and (hi is None or c <= hi):
                out.add(int(c) if float(c).is_integer() else float(c))
    return sorted(out)


def numeric_thresholds(pathway: Pathway) -> dict[str, set[float]]:
    """question id -> numbers compared (directly or through derived facts and scores) in any condition."""
    deps = _question_deps(pathway)
    out: dict[str, set[float]] = {}
    for text in condition_texts(pathway):
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError:  # pragma: no cover - the loader compiled every condition
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            numbers = {float(c.value) for c in ast.walk(node) if isinstance(c, ast.Constant)
                       and isinstance(c.value, (int, float)) and not isinstance(c.value, bool)}
            numbers |= {-float(u.operand.value) for u in ast.walk(node) if isinstance(u, ast.UnaryOp)
                        and isinstance(u.op, ast.USub) and isinstance(u.operand, ast.Constant)
                        and isinstance(u.operand.value, (int, float))}
            if not numbers:
                continue
            for name in names_read(node):
                for qid in deps.get(name, ()):
                    out.setdefault(qid, set()).update(numbers)
    return out


def condition_texts(pathway: Pathway) -> list[str]:
    """The text of every condition in the pathway (rules, ask_when, derived facts, scores, invariants)."""
    texts = [r.when.text for r in pathway.rules]
    texts += [q.ask_when.text for q in pathway.question_list() if q.ask_when is not None]
    for d in pathway.derived:
        if d.expr is not None:
            texts.append(d.expr.text)
        texts += [c.when.text for c in d.cases if c.when is not None]
    for s in pathway.scores:
        texts += [c.when.text for c in s.cases if c.when is not None]
        texts += [i.when.text for i in s.items if i.when is not None]
    for inv in pathway.invariants:
        texts += [c.text for c in (inv.when, inv.only_when) if c is not None]
    return texts


def _question_deps(pathway: Pathway) -> dict[str, set[str]]:
    """name (question, derived fact or score) -> the numeric questions its value depends on."""
    numeric = {q.id for q in pathway.question_list() if q.type in ("integer", "number")}
    direct: dict[str, set[str]] = {}
    for d in pathway.derived:
        names = set(d.expr.names) if d.expr is not None else set()
        names |= {n for c in d.cases if c.when is not None for n in c.when.names}
        direct[d.id] = names
    for s in pathway.scores:
        names = {n for c in s.cases if c.when is not None for n in c.when.names}
        names |= {n for i in s.items if i.when is not None for n in i.when.names}
        names |= {i.question for i in s.items if i.question is not None}
        direct[s.id] = names
    out: dict[str, set[str]] = {q: {q} for q in numeric}
    for name in pathway.facts_order:
        out[name] = set().union(*(out.get(n, set()) for n in direct.get(name, ())))
    return out


# --- graded truth for the search ---------------------------------------------------------------

Graded = Callable[[Mapping[str, Any]], float]

_FLIP = {ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
         ast.In: ast.NotIn, ast.NotIn: ast.In}
_MAX_DEPTH = 4


class _FuzzyBuilder:
    """Turns a condition into a function env -> [0, 1] that is 1 exactly when the condition holds and
    grows as the answers get closer to making it hold: `and` averages, `or` takes the best, numeric
    comparisons get closer as the gap shrinks, and derived facts and score bands are expanded into the
    conditions that define them."""

    def __init__(self, pathway: Pathway):
        self.symbols = pathway.symbols
        self.expr_facts = {d.id: d.expr.text for d in pathway.derived if d.expr is not None
                           and d.expr.type.kind == "boolean"}
        self.case_facts: dict[str, list[tuple[str | None, object]]] = {}
        facts: tuple[Derived | Score, ...] = (*pathway.derived, *pathway.scores)
        for f in facts:
            if f.cases:
                self.case_facts[f.id] = [(c.when.text if c.when else None, c.value) for c in f.cases]
        self._cache: dict[tuple[str, bool], Graded] = {}

    def build(self, text: str, negate: bool = False) -> Graded:
        key = (text, negate)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self._node(ast.parse(text, mode="eval").body, negate, 0)
        return fn

    def _node(self, node: ast.AST, negate: bool, depth: int) -> Graded:
        if isinstance(node, ast.BoolOp):
            parts = [self._node(v, negate, depth) for v in node.values]
            conj = isinstance(node.op, ast.And) != negate
            return _all(parts) if conj else _any(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self._node(node.operand, not negate, depth)
        if isinstance(node, ast.Name) and depth < _MAX_DEPTH:
            if node.id in self.expr_facts:
                return self._node(ast.parse(self.expr_facts[node.id], mode="eval").body, negate, depth + 1)
            if node.id in self.case_facts:
                return self._cases(node.id, lambda v: v is True, negate, depth)
        if isinstance(node, ast.Compare):
            if len(node.ops) > 1:
                operands = [node.left, *node.comparators]
                pairs: list[ast.expr] = [ast.Compare(operands[i], [op], [operands[i + 1]])
                                         for i, op in enumerate(node.ops)]
                return self._node(ast.BoolOp(ast.And(), pairs), negate, depth)
            graded = self._compare(node, negate, depth)
            if graded is not None:
                return graded
        return self._leaf(node, negate)

    def _compare(self, node: ast.Compare, negate: bool, depth: int) -> Graded | None:
        op, left, right = node.ops[0], node.left, node.comparators[0]
        # a fact defined by cases compared with a literal: expand into the cases that give matching values
        for name, other in ((left, right), (right, left)):
            if isinstance(name, ast.Name) and name.id in self.case_facts and depth < _MAX_DEPTH:
                try:
                    literal = ast.literal_eval(other)
                except ValueError:
                    continue
                if isinstance(op, (ast.Eq, ast.NotEq)):
                    def pred(v, literal=literal, eq=isinstance(op, ast.Eq)):
                        return (v == literal) == eq
                elif isinstance(op, (ast.In, ast.NotIn)) and name is left and isinstance(literal, (list, tuple)):
                    def pred(v, literal=literal, inside=isinstance(op, ast.In)):
                        return (v in literal) == inside
                else:
                    continue
                return self._cases(name.id, pred, negate, depth)
        try:
            lt = compile_condition(ast.unparse(left), self.symbols, want_boolean=False)
            rt = compile_condition(ast.unparse(right), self.symbols, want_boolean=False)
        except ConditionError:
            return None
        if lt.type.kind != "number" or rt.type.kind != "number" or type(op) not in _FLIP:
            return None
        op_type = _FLIP[type(op)] if negate else type(op)
        cmp = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
               ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b}[op_type]
        lf, rf = lt.fn, rt.fn

        def graded(env):
            a, b = lf(env), rf(env)
            if a is None or b is None:
                return 1.0 if negate else 0.0  # unknown is "not true"
            if cmp(a, b):
                return 1.0
            return 0.5 / (1.0 + abs(a - b)) if a != b else 0.25

        return graded

    def _cases(self, fact: str, pred, negate: bool, depth: int) -> Graded:
        cases = self.case_facts[fact]
        options: list[Graded] = []
        for k, (when, value) in enumerate(cases):
            if pred(value) == negate:
                continue
            parts = [self._node(ast.parse(w, mode="eval").body, True, depth + 1) for w, _ in cases[:k] if w]
            if when:
                parts.append(self._node(ast.parse(when, mode="eval").body, False, depth + 1))
            options.append(_all(parts) if parts else _const(1.0))
        if negate:  # "not this value" also holds when the fact is unknown
            def unknown(env: Mapping[str, Any]) -> float:
                return 1.0 if env.get(fact) is None else 0.0
            options.append(unknown)
        return _any(options) if options else _const(0.0)

    def _leaf(self, node: ast.AST, negate: bool) -> Graded:
        try:
            compiled = compile_condition(ast.unparse(node), self.symbols)
        except ConditionError:
            return _const(0.0)
        fn = compiled.fn
        if negate:
            return lambda env: 0.0 if fn(env) is True else 1.0
        return lambda env: 1.0 if fn(env) is True else 0.0


def _all(parts: list[Graded]) -> Graded:
    if len(parts) == 1:
        return parts[0]
    n = len(parts)
    return lambda env: sum(p(env) for p in parts) / n


def _any(parts: list[Graded]) -> Graded:
    if len(parts) == 1:
        return parts[0]
    return lambda env: max(p(env) for p in parts)


def _const(value: float) -> Graded:
    return lambda env: value
