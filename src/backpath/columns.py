"""A pathway evaluated over a whole chunk of records at once, with numpy, giving exactly what the engine gives.

`ColumnEngine(pathway)` compiles every condition of the pathway (ask_when, derived facts, scores, rules) once
into small functions over columns; `run(answers)` then reads a chunk of answer mappings into columns, checks
them, computes every fact, fires every rule and decides every tier with a few array operations per condition
instead of a Python call per record and per condition.

How conditions become column functions, and how each kind of value is held in a column:
`column_conditions` (conditions) and `column_facts` (derived facts and scores).

A record is clean when the engine's check gives no problem and no warning and no number leaves the exact range;
only clean records get an env, a tier and the contributing rules here. The others are left to the scalar engine,
which produces the exact messages. Reading the answers never raises, whatever the values are.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, compress, repeat
from typing import Any

import numpy as np

from .column_conditions import LIMIT, ColumnsUnsupported, Compiler, Ctx, Fn, Leaf, Node, exact_number, unsupported
from .column_facts import fact_deps, fact_node
from .model import Derived, Pathway, Question, Score

_NONE = type(None)

__all__ = ["ColumnEngine", "ColumnRun", "ColumnsUnsupported", "Envs"]


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

class ColumnEngine:
    """A pathway compiled for columns; `run` evaluates one chunk of answer mappings."""

    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        self.questions = pathway.question_list()
        self.qids = [q.id for q in self.questions]
        self.qset = frozenset(self.qids)
        compiler = self.compiler = Compiler()
        self.indexes = {q.id: {**{o: i for i, o in enumerate(q.option_ids)}, None: len(q.option_ids)}
                        for q in self.questions}
        for q in self.questions:
            compiler.names[q.id] = self._question_node(q)
        facts = {d.id: d for d in pathway.derived}
        facts.update({s.id: s for s in pathway.scores})
        self.facts: list[tuple[str, Node]] = []
        for fid in pathway.facts_order:
            node = fact_node(compiler, pathway, facts[fid])
            self._check_type(fid, node)
            compiler.names[fid] = Node(node.kind, Leaf(fid), options=node.options, bound=node.bound)
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
    def _question_node(self, q: Question) -> Node:
        if q.type == "boolean":
            return Node("boolean", Leaf(q.id))
        if q.type in ("integer", "number"):
            for limit in (q.min, q.max):
                if limit is not None and not exact_number(limit):
                    raise unsupported(f"the range of `{q.id}`")
            bound = max(abs(q.min), abs(q.max)) if q.min is not None and q.max is not None else LIMIT
            return Node("number", Leaf(q.id), bound=float(bound))
        if q.type in ("choice", "multi_choice"):
            return Node("choice" if q.type == "choice" else "multi", Leaf(q.id), options=q.option_ids)
        raise unsupported(f"the question type {q.type!r}")

    def _check_type(self, fid: str, node: Node) -> None:
        declared = self.pathway.symbols.get(fid)
        if declared is None or declared.kind != node.kind:
            raise unsupported(f"the type of `{fid}`")

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
                        stack.extend(fact_deps(facts[name]))
                    elif name not in earlier:
                        raise unsupported(f"the ask_when of `{q.id}` reads `{name}`, not asked before it")
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
        ctx = Ctx(n, self.compiler.slots)
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

    def _truths(self, ctx: Ctx, text: str) -> np.ndarray | None:
        """`ColumnRun.truths`: records x operands, true where the operand is true (not false or unknown)."""
        fns = self.or_operands.get(text)
        if fns is None:
            return None
        out = np.zeros((ctx.n, len(fns)), dtype=bool)
        with np.errstate(all="ignore"):
            for j, fn in enumerate(fns):
                out[:, j] = fn(ctx)[0]
        return out

    def _presence(self, ctx: Ctx, present: dict[str, np.ndarray], names: tuple[str, ...]) -> list[int]:
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

    def _read(self, table: list[tuple], ctx: Ctx) -> dict[str, np.ndarray]:
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

    def _check_asked(self, ctx: Ctx, present: dict[str, np.ndarray]) -> None:
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

    def _decide(self, ctx: Ctx) -> tuple[list[str], list[list[int]], np.ndarray]:
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

    def _fact_columns(self, ctx: Ctx) -> list[list]:
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

    def _envs(self, dicts: list[dict], ctx: Ctx, whole: np.ndarray, fact_columns: list[list]) -> Envs:
        """Each clean record's env: its present answers (the given objects) plus every fact and score."""
        return Envs(dicts, whole.tolist(), ctx.bad.tolist(), self.fact_ids, fact_columns)
