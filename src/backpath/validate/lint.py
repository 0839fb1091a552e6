"""Checks of a loaded pathway beyond the schema and the loader: score bands with gaps or unreachable cases,
rules no answers can fire, catalogue items no rule produces, questions and derived facts nothing uses, and
the editor's schema line. Pure: takes the pathway and its parsed YAML, returns findings.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path

from backpath.core.engine import fired_rules
from backpath.core.errors import Finding
from backpath.core.model import Case, Pathway, Score
from backpath.load.document import LoadedYaml, path_text
from backpath.validate.answerspace import AnswerSpace, Goal, Point

SCHEMA_LINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=(\S+)")


class Locator:
    """Finds the YAML path (and so the line) of a rule, question, item, fact or invariant by its id."""

    def __init__(self, loaded: LoadedYaml, file: str):
        self.loaded = loaded
        self.file = file
        data = loaded.data if isinstance(loaded.data, dict) else {}
        self.paths: dict[tuple[str, str], tuple] = {}
        for key in ("rules", "catalogue", "derived", "scores", "invariants"):
            for i, entry in enumerate(data.get(key) or []):
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    self.paths.setdefault((key, entry["id"]), (key, i))
        for si, section in enumerate(data.get("sections") or []):
            for qi, q in enumerate((section or {}).get("questions") or []):
                if isinstance(q, dict) and isinstance(q.get("id"), str):
                    self.paths.setdefault(("questions", q["id"]), ("sections", si, "questions", qi))

    def path(self, kind: str, id_: str, *rest) -> tuple:
        return self.paths.get((kind, id_), ()) + tuple(rest)

    def finding(self, path: tuple, message: str, code: str, severity: str = "warning", id_: str | None = None,
                details: dict | None = None) -> Finding:
        line, col = self.loaded.position(path)
        return Finding(self.file, line, col, path_text(path), message, code, severity, id_, details)


# --- static checks -----------------------------------------------------------------------------

def static_checks(pathway: Pathway, where: Locator) -> list[Finding]:
    """Checks that need no search: bands, sum ranges, unused questions and facts, unreachable items."""
    out: list[Finding] = []
    for d in pathway.derived:
        if d.cases:
            out += _bands(pathway, where, "derived", d.id, d.cases)
    for s in pathway.scores:
        if s.cases:
            out += _bands(pathway, where, "scores", s.id, s.cases)
        elif s.range is not None:
            lo, hi, _ = _sum_range(pathway, s)
            if lo < s.range[0] or hi > s.range[1]:
                out.append(where.finding(where.path("scores", s.id, "range"),
                                         f"the items of `{s.id}` can sum to {_num(lo)}–{_num(hi)}, outside the "
                                         f"declared range {_num(s.range[0])}–{_num(s.range[1])}; fix the range or "
                                         "the item points.", "score-range", "error", s.id))
    out += _unused(pathway, where)
    out += _unproduced_items(pathway, where)
    return out


def _unused(pathway: Pathway, where: Locator) -> list[Finding]:
    used: set[str] = {n for n in (pathway.red_flag_question, pathway.request_question) if n}
    for r in pathway.rules:
        used |= set(r.when.names) | set(r.reason_names)
    for q in pathway.question_list():
        if q.ask_when is not None:
            used |= set(q.ask_when.names)
    for d in pathway.derived:
        used |= set(d.expr.names) if d.expr is not None else set()
        used |= _case_names(d.cases)
    for s in pathway.scores:
        used |= _case_names(s.cases)
        used |= {i.question for i in s.items if i.question is not None}
        used |= {n for i in s.items if i.when is not None for n in i.when.names}
    out = []
    for q in pathway.question_list():
        if q.id not in used:
            out.append(where.finding(where.path("questions", q.id, "id"),
                                     f"question `{q.id}` is not used by any rule, score, derived fact, reason or "
                                     "ask_when, so its answer changes nothing; use it or remove it.",
                                     "unused-question", id_=q.id))
    for d in pathway.derived:
        if d.id not in used:
            out.append(where.finding(where.path("derived", d.id, "id"),
                                     f"derived fact `{d.id}` is not used by any rule, score, other fact, reason or "
                                     "ask_when; use it or remove it.", "unused-derived", id_=d.id))
    return out


def _case_names(cases: tuple[Case, ...]) -> set[str]:
    return {n for c in cases if c.when is not None for n in c.when.names}


def _unproduced_items(pathway: Pathway, where: Locator) -> list[Finding]:
    produced: set[str] = set()
    for r in pathway.rules:
        produced |= set(r.offer) | set(r.consider) | set(r.advise_against)
    if pathway.request_question:
        produced |= set(pathway.questions[pathway.request_question].option_ids)
    return [where.finding(where.path("catalogue", item, "id"),
                          f"catalogue item `{item}` is never offered, considered or advised against by any rule, "
                          "and cannot be requested, so no result can show it; add a rule that uses it or remove "
                          "it.", "unproduced-item", id_=item)
            for item in pathway.catalogue if item not in produced]


# --- score bands -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Interval:
    lo: float = -math.inf
    lo_closed: bool = False
    hi: float = math.inf
    hi_closed: bool = False

    def __contains__(self, x: float) -> bool:
        above = x > self.lo or (self.lo_closed and x == self.lo)
        below = x < self.hi or (self.hi_closed and x == self.hi)
        return above and below

    def meet(self, other: _Interval) -> _Interval:
        lo = max((self.lo, not self.lo_closed), (other.lo, not other.lo_closed))
        hi = min((self.hi, self.hi_closed), (other.hi, other.hi_closed))
        return _Interval(lo[0], not lo[1], hi[0], hi[1])


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def _bound(op: ast.cmpop, value: float, name_on_left: bool) -> _Interval | None:
    if isinstance(op, ast.Eq):
        return _Interval(value, True, value, True)
    flip = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}
    kind = type(op) if name_on_left else flip.get(type(op))
    if kind is None:  # (as the .get below gives)
        return None
    return {ast.Lt: _Interval(hi=value), ast.LtE: _Interval(hi=value, hi_closed=True),
            ast.Gt: _Interval(lo=value), ast.GtE: _Interval(lo=value, lo_closed=True)}.get(kind)


def band(text: str) -> tuple[str, _Interval] | None:
    """`4 <= total < 8` -> ("total", [4, 8)); None when the condition is not an interval on one name."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:  # pragma: no cover - compiled by the loader
        return None
    return _band(node)


def _band(node: ast.AST) -> tuple[str, _Interval] | None:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        found = [_band(v) for v in node.values]
        parts = [p for p in found if p is not None]
        if len(parts) < len(found) or len({p[0] for p in parts}) != 1:
            return None
        interval = _Interval()
        for _, i in parts:
            interval = interval.meet(i)
        return parts[0][0], interval
    if not isinstance(node, ast.Compare):
        return None
    operands = [node.left, *node.comparators]
    names = {o.id for o in operands if isinstance(o, ast.Name)}
    if len(names) != 1:
        return None
    name = names.pop()
    interval = _Interval()
    for op, a, b in zip(node.ops, operands, operands[1:]):
        if isinstance(a, ast.Name) and (value := _number(b)) is not None:
            bound = _bound(op, value, True)
        elif isinstance(b, ast.Name) and (value := _number(a)) is not None:
            bound = _bound(op, value, False)
        else:
            return None
        if bound is None:
            return None
        interval = interval.meet(bound)
    return name, interval


def _sum_range(pathway: Pathway, s: Score) -> tuple[float, float, bool]:
    """Lowest and highest value the items of a sum score can give, and whether it is always whole."""
    lo = hi = 0.0
    whole = True
    for item in s.items:
        if item.question is not None:
            q = pathway.questions[item.question]
            if item.values is not None:
                points = [item.values.get(o, 0) for o in q.option_ids]
                if q.type == "choice":
                    lo, hi = lo + min(points), hi + max(points)
                else:
                    lo, hi = lo + sum(p for p in points if p < 0), hi + sum(p for p in points if p > 0)
                whole = whole and all(float(p).is_integer() for p in points)
            elif q.type == "boolean":
                hi += 1
            else:
                lo += q.min if q.min is not None else -math.inf
                hi += q.max if q.max is not None else math.inf
                whole = whole and q.type == "integer"
        else:
            lo, hi = lo + min(0, item.points), hi + max(0, item.points)
            whole = whole and float(item.points).is_integer()
    return lo, hi, whole


def _domain(pathway: Pathway, name: str) -> tuple[float, float, bool] | None:
    """(low, high, whole numbers only) for a numeric question or sum score, or None when unknown."""
    q = pathway.questions.get(name)
    if q is not None:
        lo = q.min if q.min is not None else -math.inf
        hi = q.max if q.max is not None else math.inf
        return lo, hi, q.type == "integer"
    score = next((s for s in pathway.scores if s.id == name), None)
    if score is not None and score.items:
        lo, hi, whole = _sum_range(pathway, score)
        if score.range is not None:
            lo, hi = score.range
        return lo, hi, whole
    return None


def _pieces(lo: float, hi: float, whole: bool, intervals: list[_Interval]) -> list[tuple[float, str]]:
    """A representative value and a label for each elementary piece of [lo, hi] cut by the interval ends: on
    each piece every interval either holds throughout or nowhere, so testing the representatives is exact."""
    if whole and math.isfinite(lo) and math.isfinite(hi) and hi - lo <= 100_000:
        return [(float(v), _num(v)) for v in range(math.ceil(lo), math.floor(hi) + 1)]
    cuts = sorted({e for i in intervals for e in (i.lo, i.hi) if math.isfinite(e) and lo <= e <= hi}
                  | {e for e in (lo, hi) if math.isfinite(e)})
    if not cuts:
        return [(0.0, "any value")]
    out: list[tuple[float, str]] = []

    def segment(a: float, b: float, label: str) -> None:
        """The open segment (a, b); for whole numbers only if a whole number lies inside it."""
        if not whole:
            out.append(((a + b) / 2 if math.isfinite(a) and math.isfinite(b) else (b - 1 if math.isfinite(b)
                                                                                      else a + 1), label))
            return
        first = math.floor(a) + 1 if math.isfinite(a) else math.ceil(b) - 1
        if first < b:
            out.append((float(first), label))

    if lo < cuts[0]:
        segment(-math.inf, cuts[0], f"below {_num(cuts[0])}")
    for a, b in zip(cuts, cuts[1:] + [None]):
        if not whole or float(a).is_integer():
            out.append((a, _num(a)))
        if b is not None:
            segment(a, b, f"between {_num(a)} and {_num(b)}")
    if hi > cuts[-1]:
        segment(cuts[-1], math.inf, f"above {_num(cuts[-1])}")
    return out


def _bands(pathway: Pathway, where: Locator, kind: str, fact: str, cases: tuple[Case, ...]) -> list[Finding]:
    parsed: list[tuple[str, _Interval]] = []
    for c in cases:
        if c.when is None:
            break
        b = band(c.when.text)
        if b is None or (parsed and b[0] != parsed[0][0]):
            return []  # not simple bands on one number; nothing to say
        parsed.append(b)
    if not parsed:
        return []
    name = parsed[0][0]
    domain = _domain(pathway, name)
    lo, hi, whole = domain if domain is not None else (-math.inf, math.inf, False)
    span = f"{_num(lo)}–{_num(hi)}"
    intervals = [i for _, i in parsed]
    pieces = _pieces(lo, hi, whole, intervals)
    # For each piece of the domain, the first case whose interval holds it (the one that wins there): a case no
    # piece is first in can never apply. One pass a piece, stopping at its first case (was a case x piece x
    # earlier-case search: minutes for a fact of thousands of bands).
    first = [next((k for k, i in enumerate(intervals) if v in i), None) for v, _ in pieces]
    wins = set(first)
    out = []
    for k, interval in enumerate(intervals):
        if k not in wins:
            covers = any(v in interval for v, _ in pieces)
            why = f"no value of `{name}` in {span} satisfies it" if not covers else \
                "every value it covers is taken by an earlier case"
            when = cases[k].when
            assert when is not None  # the intervals stop at the first case without a `when`
            out.append(where.finding(where.path(kind, fact, "cases", k, "when"),
                                     f"case {k + 1} of `{fact}` (`{when.text}`) can never apply: {why}. "
                                     "Cases are tried in order and the first true one wins; reorder them or fix "
                                     "the bounds.", "band-unreachable", "error", fact))
    has_default = len(parsed) < len(cases)
    if domain is not None and not has_default:
        uncovered = [label for (_, label), k in zip(pieces, first) if k is None]
        if uncovered:
            shown = ", ".join(uncovered[:4]) + (", …" if len(uncovered) > 4 else "")
            out.append(where.finding(where.path(kind, fact, "cases"),
                                     f"the cases of `{fact}` leave values of `{name}` in {span} uncovered "
                                     f"({shown}), so `{fact}` would be unknown there; close the gap or add a last "
                                     "case without `when` as the default.", "band-gap", "error", fact))
    return out


def _num(x: float) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# --- search-based checks -----------------------------------------------------------------------

def never_firing_rules(space: AnswerSpace, sample: list[Point], where: Locator,
                       already_fired: set[str]) -> list[Finding]:
    """Rules that fired for no answer set of the sample, the test cases or a targeted search."""
    pathway = space.pathway
    fired = set(already_fired)
    for p in sample:
        if len(fired) == len(pathway.rules):
            break
        fired |= {r.id for r in fired_rules(pathway, p.env)}
    out = []
    for r in pathway.rules:
        if r.id in fired:
            continue
        if space.search([Goal(r.when)], sample) is not None:
            continue
        out.append(where.finding(
            where.path("rules", r.id, "when"),
            f"rule `{r.id}` can never fire: no answers found that make `{r.when.text}` true (searched "
            f"{space.evaluations} answer sets: every boundary value, every option, random combinations and a "
            "targeted search). Look for parts that contradict each other or an option that cannot be chosen "
            "together with another.", "rule-never-fires", "warning", r.id))
    return out


# --- editor support ----------------------------------------------------------------------------

def schema_line(text: str, file: Path, expected: str | None) -> list[Finding]:
    """The `# yaml-language-server: $schema=` line: required for bundled files (`expected` is the schema
    file it must point at), and when present it must point at a file that exists."""
    first = text.split("\n", 1)[0]
    m = SCHEMA_LINE.match(first)
    name = str(file)
    if m is None:
        if expected is None:
            return []
        return [Finding(name, 1, 1, "(document)", "the first line should point editors at the schema: "
                        f"`# yaml-language-server: $schema={expected}`.", "schema-line", "warning")]
    target = m.group(1)
    if "://" in target or (file.parent / target).exists():
        return []
    return [Finding(name, 1, m.start(1) + 1, "(document)", f"the schema `{target}` named on the first line does "
                    "not exist relative to this file; editors will not find it." +
                    (f" Use `{expected}`." if expected else ""), "schema-line", "warning")]
