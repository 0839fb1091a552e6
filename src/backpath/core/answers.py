"""Checking one answers mapping against a pathway: types, ranges, options, unknown keys, required-ness.

Shared by `assess`, `batch` and the interactive questionnaire, so every front end reports a mistake in
the same words. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backpath.core.errors import OPTION_CUTOFF, AnswerProblem, did_you_mean
from backpath.core.limits import MAX_PROBLEMS_PER_RECORD
from backpath.core.model import Pathway, Question
from backpath.core.shown import clip, quoted


@dataclass
class CheckedAnswers:
    """The answers that count (asked and valid), plus problems and warnings, all keyed by `answers.<id>`."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[AnswerProblem] = field(default_factory=list)
    warnings: list[AnswerProblem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required questions asked but not answered


def with_unit(text: str, unit: str | None) -> str:
    """`6 weeks`, `7/10`: a value with its unit (a unit that starts with `/` is written against it)."""
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith("/") else f"{text} {unit}"


def describe_range(q: Question) -> str:
    lo = _num(q.min) if q.min is not None else None
    hi = _num(q.max) if q.max is not None else None
    if lo is not None and hi is not None:
        return with_unit(f"{lo}–{hi}", q.unit)
    if lo is not None:
        return with_unit(f"at least {lo}", q.unit)
    if hi is not None:
        return with_unit(f"at most {hi}", q.unit)
    return with_unit("any value", q.unit)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_value(q: Question, value: Any) -> str | None:
    """Return why `value` is not a valid answer to `q`, or None when it is."""
    t = q.type
    if t == "boolean":
        if not isinstance(value, bool):
            return f"must be true or false, not {_show(value)}."
        return None
    if t in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number ({describe_range(q)}), not {_show(value)}."
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number ({describe_range(q)})."
        if t == "integer" and not isinstance(value, int):
            return f"must be a whole number ({describe_range(q)}), not {_show(value)}."
        if (q.min is not None and value < q.min) or (q.max is not None and value > q.max):
            return f"{_show(value)} is out of range; expected {describe_range(q)}."
        return None
    if t == "choice":
        if not isinstance(value, str):
            return f"must be one option id (text), not {_show(value)}; options: {', '.join(q.option_ids)}."
        if value not in q.option_ids:
            return (f"{quoted(value)} is not an option; options: {', '.join(q.option_ids)}."
                    f"{did_you_mean(value, q.option_ids, OPTION_CUTOFF)}")
        return None
    # multi_choice
    if not isinstance(value, list):
        hint = f" Write [{quoted(value)}] for one option." if isinstance(value, str) else ""
        return f"must be a list of option ids ([] for none), not {_show(value)}.{hint}"
    seen = set()
    for v in value:
        if not isinstance(v, str):
            return f"holds {_show(v)}; every entry must be an option id (text). Options: {', '.join(q.option_ids)}."
        if v not in q.option_ids:
            return (f"{quoted(v)} is not an option; options: {', '.join(q.option_ids)}."
                    f"{did_you_mean(v, q.option_ids, OPTION_CUTOFF)}")
        if v in seen:
            return f"lists {quoted(v)} twice; list each option once."
        seen.add(v)
    return None


def _show(value: Any) -> str:
    return quoted(value, 40)


def check_answers(pathway: Pathway, answers: Any, asks) -> CheckedAnswers:
    """Check `answers` in question order, honouring each `ask_when`.

    `asks(question, values)` is the question's `ask_when` for the clean answers so far: True, False or None
    (the engine supplies it from the compiled pathway, so facts are computed one way only).
    """
    out = CheckedAnswers()
    if not isinstance(answers, Mapping):
        out.problems.append(AnswerProblem("answers", f"must be an object of question id → value, not "
                                                     f"{type(answers).__name__}."))
        return out
    questions = pathway.questions
    unknown = [key for key in answers if key not in questions]
    for key in unknown[:MAX_PROBLEMS_PER_RECORD]:
        out.problems.append(AnswerProblem(
            f"answers.{clip(str(key))}", f"unknown question `{clip(str(key))}`.{did_you_mean(key, questions)} "
            "`backpath questions` lists every question id."))
    if len(unknown) > MAX_PROBLEMS_PER_RECORD:
        out.problems.append(AnswerProblem(
            "answers", f"... and {len(unknown) - MAX_PROBLEMS_PER_RECORD:,} more unknown question ids (only the "
            f"first {MAX_PROBLEMS_PER_RECORD} are listed)."))
    env = out.values
    for q in pathway.question_list():
        present = q.id in answers and answers[q.id] is not None
        asked = q.ask_when is None or asks(q, env) is True
        if not asked:
            assert q.ask_when is not None  # only a question with an ask_when can go unasked
            if present:
                out.warnings.append(AnswerProblem(
                    f"answers.{q.id}", f"ignored: the question is asked only when `{q.ask_when.text}`, "
                    "which is not true for these answers."))
            continue
        if not present:
            if q.required:
                out.missing.append(q.id)
                out.problems.append(AnswerProblem(f"answers.{q.id}", f"required answer is missing: {q.prompt}"))
            continue
        value = answers[q.id]
        why = check_value(q, value)
        if why:
            out.problems.append(AnswerProblem(f"answers.{q.id}", why))
        else:
            env[q.id] = value
    return out
