"""The loaded pathway: frozen dataclasses, with every condition already compiled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from backpath.core.conditions import Compiled, Type


@dataclass(frozen=True)
class Citation:
    id: str
    section: str | None = None
    verified: bool = True
    note: str | None = None

    def as_dict(self) -> dict:
        """As a result shows it: id, section, and `verified: false` when unverified (the note stays in the pathway)."""
        out: dict = {"id": self.id, "section": self.section}
        if not self.verified:
            out["verified"] = False
        return out


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str | None = None
    publisher: str | None = None
    year: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    help: str | None = None


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str
    type: str
    section: str
    help: str | None = None
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    options: tuple[Option, ...] = ()
    required: bool = True
    ask_when: Compiled | None = None
    attribution: str | None = None

    @cached_property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)

    @cached_property
    def labels(self) -> dict[str, str]:
        return {o.id: o.label for o in self.options}

    def label_of(self, option_id: str) -> str:
        return self.labels.get(option_id, option_id)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str | None
    question_ids: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    when: Compiled | None
    value: object


@dataclass(frozen=True)
class ScoreItem:
    question: str | None = None
    values: dict[str, float] | None = None
    when: Compiled | None = None
    points: float = 1


@dataclass(frozen=True)
class Score:
    id: str
    title: str
    description: str | None = None
    attribution: str | None = None
    items: tuple[ScoreItem, ...] = ()
    cases: tuple[Case, ...] = ()
    range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Derived:
    id: str
    description: str
    expr: Compiled | None = None
    cases: tuple[Case, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    review_in_weeks: float | None = None
    safety_net: str | None = None


@dataclass(frozen=True)
class Tier:
    id: str
    title: str
    description: str = ""
    preempts: bool = False
    preempt_reason: str | None = None
    follow_up: FollowUp = FollowUp()


@dataclass(frozen=True)
class PlainText:
    """An item in plain language, for the patient handout: what it is, what to expect, benefits and harms."""

    name: str
    what: str
    sources: tuple[Citation, ...]
    expect: str | None = None
    benefits: str | None = None
    harms: str | None = None
    against: str | None = None  # why it is advised against, for a patient who asked about it


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    description: str
    category: str
    tier: str
    care_team: tuple[str, ...]
    stance: str
    sources: tuple[Citation, ...]
    timeframe: str | None = None
    also_covers: tuple[str, ...] = ()
    plain: PlainText | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    when: Compiled
    reason: str
    sources: tuple[Citation, ...]
    title: str | None = None
    tier: str | None = None
    scope: str = "routine"
    offer: tuple[str, ...] = ()
    consider: tuple[str, ...] = ()
    advise_against: tuple[str, ...] = ()
    care_team: tuple[str, ...] = ()
    warning: str | None = None
    follow_up: FollowUp | None = None
    reason_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdvisoryNote:
    id: str
    items: tuple[str, ...]
    text: str
    sources: tuple[Citation, ...]


@dataclass(frozen=True)
class Invariant:
    """A safety property that must hold for every valid set of answers; `backpath validate` searches for a
    counterexample. It applies when `when` is true (always when None) and then expects:

    - `tier`: the result tier is exactly this one; `tier_at_least`: this tier or a more urgent one;
    - `recommended`: each item is recommended; `never_recommended`: none of these items is recommended;
    - `only_when` / `only_when_items`: the items are recommended only when `only_when` is true (an unknown
      condition counts as not true);
    - `warned_items` / `warning_rules`: whenever any of the items is recommended, each of the rules contributes
      to the result, so its warning is shown.
    """

    id: str
    description: str
    sources: tuple[Citation, ...] = ()
    when: Compiled | None = None
    tier: str | None = None
    tier_at_least: str | None = None
    recommended: tuple[str, ...] = ()
    never_recommended: tuple[str, ...] = ()
    only_when: Compiled | None = None
    only_when_items: tuple[str, ...] = ()
    warned_items: tuple[str, ...] = ()
    warning_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attribution:
    id: str
    title: str
    text: str
    short: str | None = None  # one line, for the one-screen summary


@dataclass(frozen=True, eq=False)
class Pathway:
    """A loaded, checked pathway. Compared and hashed by identity (the engine caches plans per pathway)."""

    id: str
    title: str
    version: str
    file: str
    sha256: str
    disclaimer: str
    jurisdiction: str | None
    summary: str | None
    attributions: tuple[Attribution, ...]
    sources: dict[str, Source]
    care_roles: tuple[tuple[str, str], ...]
    tiers: tuple[Tier, ...]
    default_tier: str
    sections: tuple[Section, ...]
    questions: dict[str, Question]
    derived: tuple[Derived, ...]
    scores: tuple[Score, ...]
    facts_order: tuple[str, ...]  # derived and score ids in dependency order
    catalogue: dict[str, Item]
    rules: tuple[Rule, ...]
    advisory_notes: tuple[AdvisoryNote, ...] = ()
    red_flag_question: str | None = None
    request_question: str | None = None
    unrequested_reason: str | None = None
    unrequested_sources: tuple[Citation, ...] = ()
    tier_rank: dict[str, int] = field(default_factory=dict)
    invariants: tuple[Invariant, ...] = ()
    symbols: Mapping[str, Type] = field(default_factory=dict)  # every name a condition may use -> its type

    def tier(self, tier_id: str) -> Tier:
        return self.tiers[self.tier_rank[tier_id]]

    def question_list(self) -> list[Question]:
        return [self.questions[q] for s in self.sections for q in s.question_ids]
