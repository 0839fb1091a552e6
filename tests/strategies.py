"""Hypothesis strategies that build valid answers for any pathway, honouring ask_when."""

from __future__ import annotations

from hypothesis import strategies as st

from backpath.core.engine import is_asked
from backpath.core.model import Pathway, Question


def value_strategy(q: Question) -> st.SearchStrategy:
    if q.type == "boolean":
        return st.booleans()
    if q.type == "integer":
        return st.integers(int(q.min if q.min is not None else -1000), int(q.max if q.max is not None else 1000))
    if q.type == "number":
        lo = q.min if q.min is not None else -1000.0
        hi = q.max if q.max is not None else 1000.0
        return st.one_of(st.integers(int(lo), int(hi)),
                         st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    if q.type == "choice":
        return st.sampled_from(q.option_ids)
    return st.lists(st.sampled_from(q.option_ids), unique=True, max_size=len(q.option_ids))


@st.composite
def answers_for(draw, pathway: Pathway, overrides: dict | None = None) -> dict:
    """Valid answers: each applicable question answered (optional ones sometimes skipped)."""
    overrides = overrides or {}
    values: dict = {}
    for q in pathway.question_list():
        if not is_asked(pathway, q, values):
            continue
        if q.id in overrides:
            values[q.id] = draw(overrides[q.id]) if isinstance(overrides[q.id], st.SearchStrategy) \
                else overrides[q.id]
            continue
        if not q.required and draw(st.booleans()):
            continue
        values[q.id] = draw(value_strategy(q))
    return values
