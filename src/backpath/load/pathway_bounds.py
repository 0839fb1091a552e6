"""Bounds on what a pathway file may hold, checked before anything compiles it.

A pathway is data from a file, perhaps not the user's own. What a broken or hostile one could make cost (a
condition nested 100,000 deep that the parser cannot even build, a 400-digit constant whose results no float
holds, `min: .nan` that turns a range check off, an escape sequence that rewrites the terminal) is reported
here as an ordinary located finding, so `validate` lists it and `assess`, `batch` and `questions` exit 2 with
it, and the compilers after this never see such text. The limits are in `limits.py`.
"""

from __future__ import annotations

import ast
import io
import math
import tokenize
from collections.abc import Iterator
from typing import Any, TypeGuard

from backpath.core.errors import Finding
from backpath.core.limits import (
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_DEPTH,
    MAX_LITERAL_DIGITS,
    MAX_NUMBER,
    MAX_PATHWAY_BYTES,
)
from backpath.core.shown import clip, has_control, safe
from backpath.load.document import LoadedYaml, path_text

EXPRESSION_KEYS = frozenset({"expr", "when", "ask_when"})  # keys whose text is a condition or an expression
MAX_LITERAL = 10 ** MAX_LITERAL_DIGITS


def size_finding(size: int, name: str) -> Finding | None:
    """A finding for a pathway file over `MAX_PATHWAY_BYTES`, or None."""
    if size <= MAX_PATHWAY_BYTES:
        return None
    return Finding(name, None, None, "(file)", f"the file is {size:,} bytes or more, over the limit of "
                   f"{MAX_PATHWAY_BYTES:,} bytes (8 MiB) for a pathway; split its content or check it is the right "
                   "file.", "limit")


def content_findings(loaded: LoadedYaml, name: str) -> list[Finding]:
    """Every value of the document that is out of bounds: control characters in text or keys, numbers that
    are not finite, expressions too long, too deep or with too large a constant."""
    out = []
    for path, key, value in _walk(loaded.data, ()):
        message = _problem(key, value)
        if message:
            line, col = loaded.position(path)
            out.append(Finding(name, line, col, safe(path_text(path), lines=False), message, "limit"))
    return out


def _walk(node: Any, path: tuple) -> Iterator[tuple[tuple, Any, Any]]:
    """(path, key, value) of every leaf and every mapping key (as value `KeyText`), depth first, in order."""
    stack = [(node, path)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key in node:
                if isinstance(key, str) and has_control(key):
                    yield path, None, KeyText(key)
            stack.extend(reversed([(v, (*path, k)) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([(v, (*path, i)) for i, v in enumerate(node)]))
        else:
            yield path, path[-1] if path else None, node


class KeyText(str):
    """A mapping key (not a value) that holds a control character."""


def _problem(key: Any, value: Any) -> str | None:
    if isinstance(value, KeyText):
        return (f"the key `{clip(value)}` holds a control character; keys are plain ids (letters, digits, `_`, "
                "`-`).")
    if isinstance(value, float) and not math.isfinite(value):
        return (f"{value} is not a finite number; write a number (leave `min`/`max` out for no bound).")
    if not isinstance(value, str):
        return None
    if has_control(value):
        return ("the text holds a control character (an escape sequence, carriage return, ...) that would reach "
                f"the terminal: `{clip(value)}`; remove it (only newlines and tabs are allowed).")
    if key in EXPRESSION_KEYS:
        return expression_problem(value)
    return None


def expression_problem(text: str) -> str | None:
    """Why the expression `text` is beyond the limits, or None. It is parsed only once its length is known to
    be within `MAX_EXPRESSION_CHARS` (Python's parser itself fails on a deep enough expression)."""
    if len(text) > MAX_EXPRESSION_CHARS:
        return (f"the expression is {len(text):,} characters long, over the limit of {MAX_EXPRESSION_CHARS:,}; "
                "split it into derived facts.")
    foreign = _non_ascii_name(text)
    if foreign:
        return (f"the name `{clip(foreign)}` is not plain ASCII; names in expressions are ASCII ids (Python would "
                "read a look-alike such as a full-width letter as the plain one).")
    try:
        tree = ast.parse(" ".join(text.split()), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # a syntax error is reported, with its place, when the expression is compiled; a too-long whole-number
        # literal is a ValueError (or SyntaxError) from the parser itself on some Python versions
        return _digits_problem(text)
    depth = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_EXPRESSION_DEPTH:
            return (f"the expression nests more than {MAX_EXPRESSION_DEPTH} levels deep; split it into derived "
                    "facts.")
        depth = max(depth, level)
        # (a bool is an int but not a number here; an ast constant is never another subclass of int or float)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            if not _literal_ok(node.value):
                return (f"{_literal_text(node.value)} is too large: a number in an expression may have at most "
                        f"{MAX_LITERAL_DIGITS} digits (and be finite).")
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return None


def _non_ascii_name(text: str) -> str | None:
    """The first name in `text` (outside quoted text) that is not ASCII, or None."""
    if text.isascii():
        return None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(" ".join(text.split())).readline):
            if tok.type == tokenize.NAME and not tok.string.isascii():
                return tok.string
    except (tokenize.TokenError, SyntaxError):
        pass
    return None


def _literal_ok(value: int | float) -> bool:
    if type(value) is float:
        return math.isfinite(value) and abs(value) <= MAX_LITERAL
    return -MAX_LITERAL < value < MAX_LITERAL


def _literal_text(value: int | float) -> str:
    if type(value) is int and value.bit_length() > 200:
        return f"a whole number of about {int(value.bit_length() * 0.30103):,} digits"
    return f"the number `{clip(repr(value))}`"


def _digits_problem(text: str) -> str | None:
    """A run of digits over `MAX_LITERAL_DIGITS` in text the parser did not accept, else None (the compiler
    reports the syntax error)."""
    run = longest = 0
    for ch in text:
        run = run + 1 if ch.isdigit() else 0
        longest = max(longest, run)
    if longest > MAX_LITERAL_DIGITS:
        return (f"the expression holds a number of {longest:,} digits; a number in an expression may have at "
                f"most {MAX_LITERAL_DIGITS} digits.")
    return None


# --- numbers a derived fact can reach ----------------------------------------------------------------------------

def overflow_findings(loaded: LoadedYaml, name: str) -> list[Finding]:
    """A warning for each derived `expr` whose largest possible value (from the questions' `min`/`max`, the
    scores' `range` and the facts before it) is beyond `MAX_NUMBER`: past it the value is unknown (as `x / 0`
    is), which its author should know. A value with no known bound (a question without `max`) is not judged:
    the engine's run-time rule covers it."""
    data = loaded.data if isinstance(loaded.data, dict) else {}
    bounds: dict[str, float | None] = {}
    for section in data.get("sections") or []:
        for q in (section.get("questions") or []) if isinstance(section, dict) else []:
            if isinstance(q, dict) and isinstance(q.get("id"), str):
                lo, hi = q.get("min"), q.get("max")
                bounds[q["id"]] = max(abs(lo), abs(hi)) if _number(lo) and _number(hi) else None
    for score in data.get("scores") or []:
        if isinstance(score, dict) and isinstance(score.get("id"), str):
            rng = score.get("range")
            bounds[score["id"]] = max(map(abs, rng)) if isinstance(rng, list) and rng and all(map(_number, rng)) \
                else None
    out = []
    for i, fact in enumerate(data.get("derived") or []):
        if not isinstance(fact, dict) or not isinstance(fact.get("id"), str):
            continue
        if isinstance(fact.get("expr"), str):
            try:
                bound = _bound(ast.parse(" ".join(fact["expr"].split()), mode="eval").body, bounds)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                bound = None
            if bound is not None and bound > MAX_NUMBER:
                line, col = loaded.position(("derived", i, "expr"))
                shown = "more than any float" if math.isinf(bound) else f"about {bound:.3g}"
                out.append(Finding(name, line, col, f"derived[{i}].expr", f"`{fact['id']}` can reach {shown}, beyond "
                                   f"the largest number computed (about {float(MAX_NUMBER):.3g}); a value past it is "
                                   "unknown, as `x / 0` is. Bound its inputs (`max`) or scale it down.",
                                   "limit", "warning", id=fact["id"]))
        else:
            values: list[Any] = [c.get("value") for c in fact.get("cases") or [] if isinstance(c, dict)]
            bound = max(map(abs, values)) if values and all(map(_number, values)) else None
        bounds[fact["id"]] = bound
    return out


def _number(value: Any) -> TypeGuard[int | float]:
    return type(value) in (int, float) and math.isfinite(value)


def _bound(node: ast.AST, bounds: dict[str, float | None]) -> float | None:
    """The largest magnitude `node` can have, or None when it has no known bound (or is not a number)."""
    if isinstance(node, ast.Constant):
        return float(abs(node.value)) if _number(node.value) else None
    if isinstance(node, ast.Name):
        return bounds.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _bound(node.operand, bounds)
    if isinstance(node, ast.BinOp):
        left, right = _bound(node.left, bounds), _bound(node.right, bounds)
        if left is None or right is None:
            return None
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return left + right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant) and node.right.value:
            return left / right
    return None
