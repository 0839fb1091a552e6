"""What the generated code of `codegen` calls at run time, and all it can reach: its namespace (`NAMESPACE`) holds
these helpers and a few builtins named here, and no other builtins."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from typing import Any

from backpath.core.limits import MAX_NUMBER

_INFINITIES = (math.inf, -math.inf)


def _finite(r: Any) -> Any:
    """An arithmetic result, or None (unknown, like `x / 0`) when it is not finite or beyond `MAX_NUMBER` (a whole
    number past the largest float cannot be compared with floats exactly or printed in any length)."""
    if r.__class__ is float:
        return None if r != r or r in _INFINITIES else r
    return r if -MAX_NUMBER <= r <= MAX_NUMBER else None


def _arithmetic(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """`op` on two numbers, unknown (None) when either is, or when the result is x/0, overflows or is not finite."""
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        try:
            return _finite(op(a, b))
        except (OverflowError, ZeroDivisionError):
            return None

    return apply


_add, _sub, _mul, _div = (_arithmetic(op) for op in (operator.add, operator.sub, operator.mul, operator.truediv))


def _neg(a: Any) -> Any:
    return None if a is None else _finite(-a)


def _points(table: dict, values: Iterable) -> Any:
    """A multi-choice answer's points in a score: the sum of each chosen option's points."""
    return sum([table.get(v, 0) for v in values])


def _number_in(v: Any, lo: Any, hi: Any) -> bool:
    """A valid number answer: an int or a finite float (not a bool) within the bounds (None: no bound). (With two
    finite bounds the answer check is written inline instead: `answer_code.valid`.)"""
    t = type(v)
    if t is float:
        if v != v or v in _INFINITIES:
            return False
    elif t is not int:
        return False
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def _choices_in(v: Any, options: frozenset) -> bool:
    """A valid multi-choice answer: a list of distinct option ids (the options it holds are as many as its items;
    an item that cannot be an option, a list or an object, cannot be looked up at all). Every item must be text
    as well, as `answers.check_answers` asks (`str.join` takes text and nothing else): through the Python API an
    object that is not text may still equal an option id and hash like it."""
    if type(v) is not list:
        return False
    try:
        "".join(v)
        return len(options.intersection(v)) == len(v)
    except TypeError:
        return False


def _any_of(*values: Any) -> Any:
    """Three-valued `or` of evaluated operands: True if any is, else None if any is unknown, else False."""
    unknown = False
    for v in values:
        if v is True:
            return True
        if v is None:
            unknown = True
    return None if unknown else False


def _all_of(*values: Any) -> Any:
    """Three-valued `and` of evaluated operands: False if any is, else None if any is unknown, else True."""
    unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            unknown = True
    return None if unknown else True


# What generated code may call: nothing else is in its namespace (no builtins). `_type` is called with one
# argument only (the answer checks: `_type(v) is _int`, the exact type as `answers.check_answers` asks).
NAMESPACE: dict[str, Any] = {"__builtins__": {}, "_add": _add, "_sub": _sub, "_mul": _mul, "_div": _div,
                             "_neg": _neg, "_points": _points, "_any_of": _any_of, "_all_of": _all_of,
                             "frozenset": frozenset, "_number_in": _number_in, "_choices_in": _choices_in,
                             "_type": type, "_dict": dict, "_int": int, "_float": float, "_str": str,
                             "_list": list}
