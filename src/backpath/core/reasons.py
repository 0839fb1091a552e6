"""A rule's reason for one record: its text with placeholders filled in, and its `because` (the answers, facts
and scores that made it fire). Shared by the serialisers of the outline (`report`, `result_json`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backpath.core.model import Pathway, Rule
from backpath.core.outline import as_answered, plain


def because_names(when, env: Mapping[str, Any], expr_facts: Mapping[str, Any], traces: dict) -> list[str]:
    """The names a rule's `because` lists, in order: each name of `when` that made it true and has a value, a
    derived fact followed by the names its value came from (recursively), each name once. `traces` memoises
    the derived facts' traces for one record."""
    out: dict[str, None] = {}
    for name in when.names if when.explains_all else when.explain(env):
        if name in out or env.get(name) is None:
            continue
        out[name] = None
        if name in expr_facts:
            for inner in _trace(name, env, expr_facts, traces):
                if inner not in out:
                    out[inner] = None
    return list(out)


def because_values(pathway: Pathway, when, env: Mapping[str, Any], expr_facts: Mapping[str, Any],
                   traces: dict) -> dict[str, Any]:
    """A rule's `because`: each name of `because_names` with its value, answers as given (`as_answered`), derived
    facts and scores rounded (`plain`)."""
    answered = pathway.questions
    return {n: as_answered(env[n]) if n in answered else plain(env[n])
            for n in because_names(when, env, expr_facts, traces)}


def _trace(fact: str, env: Mapping[str, Any], expr_facts: Mapping[str, Any], traces: dict) -> list[str]:
    """The names (with a value) a derived fact's value came from, recursively; repeats are dropped later. A fact
    that is false is traced to what made it false (`not either`, with `either = c or d`, lists c and d)."""
    trace = traces.get(fact)
    if trace is None:
        expr = expr_facts[fact]
        trace = []
        if env.get(fact) is False:
            names = expr.names if expr.refutes_all else expr.refute(env)
        else:
            names = expr.names if expr.explains_all else expr.explain(env)
        for name in names:
            if env.get(name) is None:
                continue
            trace.append(name)
            if name in expr_facts:
                trace.extend(_trace(name, env, expr_facts, traces))
        traces[fact] = trace
    return trace


def reason_text(pathway: Pathway, rule: Rule, env: Mapping[str, Any]) -> str:
    """A rule's reason with its {placeholders} filled in from answers, facts and scores (options by label)."""
    if not rule.reason_names:
        return rule.reason
    return rule.reason.format(**{n: show_value(pathway, n, env.get(n)) for n in rule.reason_names})


def show_value(pathway: Pathway, name: str, value: Any) -> str:
    """One value as a reason shows it: yes/no, option labels, plain numbers, "not answered"."""
    q = pathway.questions.get(name)
    if value is None:
        return "not answered"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if not value:
            return "none"
        return ", ".join(q.label_of(v) if q else str(v) for v in value)
    if isinstance(value, str):
        return q.label_of(value) if q else value.replace("_", " ")
    return str(as_answered(value) if q else plain(value))
