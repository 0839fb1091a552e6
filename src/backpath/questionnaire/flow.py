"""The questionnaire's logic, without a terminal: reading one typed answer, skip logic, navigation, emergencies.

`prompts.py` owns the terminal; everything it decides is decided here, so it can be tested with plain data.
Answers are checked with `answers.check_value`, so a mistake is explained in the same words as
`assess --answers` and `batch` use. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backpath.core import engine
from backpath.core.answers import check_value, describe_range, with_unit
from backpath.core.errors import OPTION_CUTOFF, did_you_mean
from backpath.core.model import Pathway, Question, Rule

NONE_WORDS = ("none", "0", "-")
YES_WORDS = ("y", "yes", "true")
NO_WORDS = ("n", "no", "false")
BACK_WORDS = ("b", "back")
HELP_WORDS = ("?", "help")


# --- one typed answer --------------------------------------------------------------------------

@dataclass(frozen=True)
class Parsed:
    """What one line of input means for a question: a value, a skip, or why it is not an answer."""

    value: Any = None
    error: str | None = None
    skip: bool = False


def parse_answer(q: Question, text: str) -> Parsed:
    """Turn what was typed for `q` into an answer value (not yet range-checked against anything else).

    An empty line is a skip for an optional question and an error for a required one; the caller decides
    what an empty line means when there is already an answer (it keeps it).
    """
    text = text.strip()
    if not text:
        if q.required:
            return Parsed(error="an answer is required. " + input_hint(q))
        return Parsed(skip=True)
    if q.type == "boolean":
        word = text.lower()
        if word in YES_WORDS:
            return Parsed(True)
        if word in NO_WORDS:
            return Parsed(False)
        return Parsed(error=f"type y for yes or n for no, not \"{text}\".")
    if q.type in ("integer", "number"):
        return _checked(q, _number(q, text))
    if q.type == "choice":
        value = _option(q, text)
        if isinstance(value, Parsed):
            return value
        return _checked(q, value)
    return _parse_multi(q, text)


def _checked(q: Question, value: Any) -> Parsed:
    why = check_value(q, value)
    return Parsed(error=why) if why else Parsed(value)


# A duration typed in another unit, in that unit's length in days: "3 days", "2 months", "1 year".
TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 364 / 12, "year": 364.0}  # a year is 52 weeks, as clinics count
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(day|week|month|year|d|w|m|y)s?$")


def _duration(q: Question, text: str) -> float | None:
    """A number of `q`'s time unit (weeks, say) from "3 days", "2 months", "1.5 years"; None if not a duration."""
    unit = _time_unit(q)
    match = _DURATION.match(text.lower())
    if unit is None or match is None:
        return None
    typed = {"d": "day", "w": "week", "m": "month", "y": "year"}.get(match.group(2), match.group(2))
    value = float(match.group(1)) * TIME_UNITS[typed] / TIME_UNITS[unit]
    return round(value, 2)


def _time_unit(q: Question) -> str | None:
    """The time unit of a duration question (days, weeks, months); None otherwise. An age in years is not a
    duration a person types as "3 days", so a question in years keeps plain numbers."""
    unit = (q.unit or "").lower().rstrip("s")
    return unit if unit in TIME_UNITS and unit != "year" else None


def _number(q: Question, text: str) -> Any:
    """'52', '10.5', '12 weeks', '3 days' -> a number; anything else stays text so check_value explains it."""
    duration = _duration(q, text)
    if duration is not None:
        return int(duration) if duration.is_integer() and q.type == "integer" else duration
    if q.unit and text.lower().endswith(q.unit.lower()):
        text = text[: -len(q.unit)].strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return text
    if value.is_integer() and q.type == "integer":
        return int(value)
    return value


def _option(q: Question, token: str) -> str | Parsed:
    """An option number (1-based) or id, case-insensitive."""
    if token.isdigit():
        n = int(token)
        if 1 <= n <= len(q.options):
            return q.options[n - 1].id
        return Parsed(error=f"there is no option {n}; type a number from 1 to {len(q.options)} or an option id.")
    lowered = token.lower()
    for o in q.options:
        if o.id.lower() == lowered:
            return o.id
    return Parsed(error=f"\"{token}\" is not an option; type a number from 1 to {len(q.options)} or an option id "
                  f"(? lists the ids).{did_you_mean(lowered, q.option_ids, OPTION_CUTOFF)}")


def _parse_multi(q: Question, text: str) -> Parsed:
    tokens = [t for t in re.split(r"[\s,;]+", text) if t]
    if not tokens:
        return Parsed(error=input_hint(q))
    if all(t.lower() in NONE_WORDS for t in tokens):
        return Parsed([])
    if any(t.lower() in NONE_WORDS for t in tokens):
        return Parsed(error="\"none\" cannot be combined with options; type none alone, or only the options.")
    chosen = []
    for token in tokens:
        value = _option(q, token)
        if isinstance(value, Parsed):
            return value
        chosen.append(value)
    order = {o.id: i for i, o in enumerate(q.options)}
    unique = sorted(set(chosen), key=lambda v: order.get(v, len(order)))
    return _checked(q, unique)


def input_hint(q: Question) -> str:
    """How to answer `q`, in one short sentence."""
    if q.type == "boolean":
        return "Type y (yes) or n (no)."
    if q.type in ("integer", "number"):
        kind = "a whole number" if q.type == "integer" else "a number"
        if _time_unit(q) is not None:
            return f"Type {kind}, {describe_range(q)}, or 3 days, 2 months."
        return f"Type {kind}, {describe_range(q)}."
    if q.type == "choice":
        return "Type the number of one option."
    return "Type the numbers of all that apply (e.g. 1 3), or none."


def show_value(q: Question, value: Any, *, unit: bool = True) -> str:
    """An answer as people read it: yes/no, option labels, numbers (with their unit)."""
    if value is None:
        return "not answered"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(q.label_of(v) for v in value) if value else "none"
    if isinstance(value, str):
        return q.label_of(value)
    number = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if not unit:
        return number
    shown = with_unit(number, q.unit)
    if _time_unit(q) == "week" and 0 < value < 4 and not float(value).is_integer():
        days = round(value * 7)  # "3 days" was typed: 0.43 weeks reads better with it
        shown += f" ({days} day{'s' if days != 1 else ''})"
    return shown


# --- the session: answers so far, skip logic, where to go next ---------------------------------

@dataclass
class Session:
    """Answers given so far and what to ask next.

    `answers` only ever holds answers that apply or may still apply (their `ask_when` is true, or not known
    until an earlier answer comes);
    `skipped` holds optional questions passed over. `preset` are the ids that came from an answers file:
    they are not asked again unless an edit makes them apply afresh.
    """

    pathway: Pathway
    answers: dict[str, Any] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    preset: frozenset[str] = frozenset()

    @classmethod
    def start(cls, pathway: Pathway, given: Mapping[str, Any] | None = None) -> Session:
        """A session resuming from `given` (valid answers; `null` marks an optional question already skipped)."""
        given = dict(given or {})
        values = dict(engine.check(pathway, {k: v for k, v in given.items() if k in pathway.questions}).values)
        for k, v in given.items():  # valid answers whose question waits for an earlier answer (pregnant, age)
            q = pathway.questions.get(k)
            if q is not None and k not in values and v is not None and check_value(q, v) is None:
                values[k] = v
        skipped = {k for k, v in given.items() if v is None and k in pathway.questions
                   and not pathway.questions[k].required}
        session = cls(pathway, dict(values), skipped, frozenset(values) | frozenset(skipped))
        session.prune()
        return session

    @property
    def order(self) -> list[Question]:
        return self.pathway.question_list()

    def applicability(self) -> dict[str, bool | None]:
        """Each question id -> True (asked), False (not asked) or None (not known until earlier answers come)."""
        out: dict[str, bool | None] = {}
        env: dict[str, Any] = {}
        for q in self.order:
            applies = out[q.id] = engine.applies(self.pathway, q, env)
            if applies and q.id in self.answers:
                env[q.id] = self.answers[q.id]
        return out

    def prune(self) -> list[str]:
        """Drop answers (and skips) of questions that no longer apply; return the dropped answer ids.

        An answer whose question may still apply (its `ask_when` waits for an earlier answer, as `pregnant`
        waits for `age` in a resumed file) is kept, so it is never asked again once that answer comes."""
        status = self.applicability()
        dropped = [qid for qid in self.answers if status.get(qid) is False]
        for qid in dropped:
            del self.answers[qid]
        self.skipped = {qid for qid in self.skipped if status.get(qid) is not False}
        return [q.id for q in self.order if q.id in dropped]

    def answer(self, qid: str, value: Any) -> list[str]:
        """Record an answer; return the ids of earlier answers dropped because they no longer apply."""
        self.answers[qid] = value
        self.skipped.discard(qid)
        return self.prune()

    def skip(self, qid: str) -> list[str]:
        """Pass over an optional question (removing any answer it had)."""
        if self.pathway.questions[qid].required:
            raise ValueError(f"{qid} is required and cannot be skipped")
        self.answers.pop(qid, None)
        self.skipped.add(qid)
        return self.prune()

    def settled(self, qid: str) -> bool:
        return qid in self.answers or qid in self.skipped

    def visits(self, qid: str) -> bool:
        """Whether the walk through the questionnaire stops at `qid` (when it applies)."""
        return qid not in self.preset or not self.settled(qid)

    def next_question(self, after: str | None = None, *, only_unsettled: bool = False) -> Question | None:
        """The next question to show after `after` (or from the start), or None at the end.

        The walk stops at every applicable question of this session, answered or not (so after going back the
        user walks forward through their answers); `only_unsettled` stops only where an answer is still due.
        """
        status = self.applicability()
        seen = after is None
        for q in self.order:
            if not seen:
                seen = q.id == after
                continue
            if status[q.id] is not True:
                continue
            if (not self.settled(q.id)) if only_unsettled else self.visits(q.id):
                return q
        return None

    def first_unsettled(self) -> Question | None:
        return self.next_question(None, only_unsettled=True)

    def progress(self, qid: str) -> tuple[int, int] | None:
        """(n, about) for "question n of about N": N counts this session's questions that apply, plus those
        after the first unanswered one that may apply once earlier answers come (their `ask_when` is unknown).
        An unknown question before that point can no longer become known, so it is not counted."""
        status = self.applicability()
        order = [q.id for q in self.order]
        first = self.first_unsettled()
        horizon = order.index(first.id) if first is not None else len(order)
        ids = [qid for i, qid in enumerate(order)
               if (status[qid] is True or status[qid] is None and i > horizon) and self.visits(qid)]
        if qid not in ids:
            return None
        return ids.index(qid) + 1, len(ids)

    def missing(self) -> list[str]:
        """Required questions that apply and have no answer yet."""
        status = self.applicability()
        return [q.id for q in self.order if status[q.id] is True and q.required and q.id not in self.answers]

    def review_items(self) -> list[Question]:
        """Every question that applies, in order: what the review screen lists."""
        status = self.applicability()
        return [q for q in self.order if status[q.id] is True]

    def to_record(self, *, keep_skips: bool) -> dict[str, Any]:
        """The answers in question order; with `keep_skips`, skipped optional questions as null."""
        out: dict[str, Any] = {}
        for q in self.order:
            if q.id in self.answers:
                out[q.id] = self.answers[q.id]
            elif keep_skips and q.id in self.skipped:
                out[q.id] = None
        return out

    def section_of(self, qid: str) -> tuple[int, str, str | None]:
        """(1-based section number, title, intro) of the section holding `qid`."""
        for i, s in enumerate(self.pathway.sections, 1):
            if qid in s.question_ids:
                return i, s.title, s.intro
        raise KeyError(qid)


# --- emergencies -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Emergency:
    """A rule of a pre-empting tier (e.g. emergency) that is definitely true for the answers so far."""

    rule: Rule
    tier_title: str
    reason: str
    referrals: tuple[str, ...]  # "Offer: <item title>; when: <timeframe>", one per offered or considered item
    safety_net: str | None


def emergencies(pathway: Pathway, answers: Mapping[str, Any]) -> list[Emergency]:
    """Rules of pre-empting tiers that fire on the answers so far. Unknown is not true: only definite ones."""
    env = engine.compute_facts(pathway, answers)
    found = []
    for rule in pathway.rules:
        if rule.tier is None or not pathway.tier(rule.tier).preempts:
            continue
        if rule.when.fn(env) is not True:
            continue
        tier = pathway.tier(rule.tier)
        referrals = []
        for strength, ids in (("Offer", rule.offer), ("Consider", rule.consider)):
            for item_id in ids:
                item = pathway.catalogue.get(item_id)
                if item is not None:
                    referrals.append(f"{strength}: {item.title}" + (f"; when: {item.timeframe}" if item.timeframe
                                                                      else ""))
        nets = [n for n in (tier.follow_up.safety_net, rule.follow_up.safety_net if rule.follow_up else None) if n]
        found.append(Emergency(rule, tier.title, engine.reason_text(pathway, rule, env), tuple(referrals),
                               " ".join(dict.fromkeys(nets)) or None))
    return found
