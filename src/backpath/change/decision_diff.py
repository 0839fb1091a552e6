"""What changed in one record's decision between two pathway versions: pure, from two result dicts (contract §5).

A decision is what a clinician acts on: the status (valid or not), the tier, the recommended items and their
strength, the items advised against, the rules that fired, the scores and the review interval. Wording and
citations are not part of it: a result whose texts alone changed is unchanged here.

`compare(before, after)` returns a `Change` (or None when the decision is the same); `DiffSummary` counts the
changes by kind. The readers and the runs are in `diff_run`, the reports in `diff_report`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from sys import intern
from typing import Any

KINDS = (
    "became_invalid", "became_valid", "tier", "recommended_added", "recommended_removed", "strength",
    "not_recommended_added", "not_recommended_removed", "rules_started", "rules_stopped", "scores", "review",
)
"""Kinds of change, in the order reports count them."""

KIND_TITLES = {
    "became_invalid": "invalid under NEW (valid before)",
    "became_valid": "valid under NEW (invalid before)",
    "tier": "tier changed",
    "recommended_added": "items newly recommended",
    "recommended_removed": "items no longer recommended",
    "strength": "strength changed (offer/consider)",
    "not_recommended_added": "items newly advised against",
    "not_recommended_removed": "items no longer advised against",
    "rules_started": "rules that started firing",
    "rules_stopped": "rules that stopped firing",
    "scores": "scores changed",
    "review": "review interval changed",
}


@dataclass(frozen=True)
class Decision:
    """The parts of one result that make the decision."""

    status: str
    tier: str | None = None
    recommended: dict[str, str] = field(default_factory=dict)  # item id -> strength
    not_recommended: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    scores: dict[str, Any] = field(default_factory=dict)
    review_in_weeks: Any = None
    errors: tuple[dict, ...] = ()

    @staticmethod
    def of(result: dict) -> Decision:
        if result.get("status") != "ok":
            errors = tuple({"path": e.get("path", ""), "message": e.get("message", "")}
                           for e in result.get("errors", ()))
            return Decision("error", errors=errors)
        # ids repeat in every record: interned, the changes kept for a large run share one copy of each
        return Decision(
            "ok", intern(result["tier"]),
            {intern(r["id"]): intern(r.get("strength", "")) for r in result.get("recommendations", ())},
            tuple(intern(r["id"]) for r in result.get("not_recommended", ())),
            tuple(intern(r) for r in result.get("rules_fired", ())),
            {intern(k): intern(v) if isinstance(v, str) else v for k, v in result.get("scores", {}).items()},
            (result.get("follow_up") or {}).get("review_in_weeks"),
        )

    def summary(self) -> dict:
        """As `before`/`after` of a change in the JSON report."""
        if self.status != "ok":
            return {"status": "error", "errors": list(self.errors)}
        return {"status": "ok", "tier": self.tier, "recommended": sorted(self.recommended),
                "not_recommended": sorted(self.not_recommended)}


@dataclass
class Change:
    """One record whose decision differs; lists are sorted ids."""

    id: Any
    place: str
    before: Decision
    after: Decision
    kinds: list[str] = field(default_factory=list)
    recommended_added: list[str] = field(default_factory=list)
    recommended_removed: list[str] = field(default_factory=list)
    strength: dict[str, list[str]] = field(default_factory=dict)  # item -> [before, after]
    not_recommended_added: list[str] = field(default_factory=list)
    not_recommended_removed: list[str] = field(default_factory=list)
    rules_started: list[str] = field(default_factory=list)
    rules_stopped: list[str] = field(default_factory=list)
    scores: dict[str, list] = field(default_factory=dict)  # score -> [before, after]

    def as_dict(self) -> dict:
        out: dict = {"id": self.id, "place": self.place, "kinds": list(self.kinds),
                     "before": self.before.summary(), "after": self.after.summary()}
        if self.before.status == self.after.status == "ok":
            out["recommended"] = {"added": self.recommended_added, "removed": self.recommended_removed,
                                  "strength": self.strength}
            out["not_recommended"] = {"added": self.not_recommended_added, "removed": self.not_recommended_removed}
            out["rules"] = {"started": self.rules_started, "stopped": self.rules_stopped}
            out["scores"] = self.scores
            out["review_in_weeks"] = [self.before.review_in_weeks, self.after.review_in_weeks]
        return out

    def tiers_touched(self, item_tiers: dict[str, str], rule_tiers: dict[str, str | None]) -> set[str]:
        """Every tier this change involves: the tier before and after when the tier (or validity) changed, and
        the tier of each item and rule that was added, removed or changed (as the pathways file them). A record
        whose tier stayed the same, and whose items and rules of that tier stayed the same, does not involve it."""
        out = {t for t in (self.before.tier, self.after.tier) if t} if self.before.tier != self.after.tier else set()
        if self.before.status != self.after.status:
            out |= {item_tiers.get(i, "") for d in (self.before, self.after) for i in d.recommended}
        for item in (*self.recommended_added, *self.recommended_removed, *self.strength,
                     *self.not_recommended_added, *self.not_recommended_removed):
            out.add(item_tiers.get(item, ""))
        for rule in (*self.rules_started, *self.rules_stopped):
            out.add(rule_tiers.get(rule) or "")
        out.discard("")
        return out


def compare(record_id: Any, place: str, before: dict, after: dict) -> Change | None:
    """The change between two results of one record, or None when the decision is the same."""
    old, new = Decision.of(before), Decision.of(after)
    change = Change(record_id, place, old, new)
    kinds = change.kinds
    if old.status != new.status:
        kinds.append("became_invalid" if new.status == "error" else "became_valid")
        return change
    if old.status != "ok":
        return None  # invalid under both: not a change of decision (the messages may differ)
    if old.tier != new.tier:
        kinds.append("tier")
    change.recommended_added = sorted(set(new.recommended) - set(old.recommended))
    change.recommended_removed = sorted(set(old.recommended) - set(new.recommended))
    change.strength = {i: [old.recommended[i], new.recommended[i]] for i in sorted(old.recommended)
                       if i in new.recommended and old.recommended[i] != new.recommended[i]}
    change.not_recommended_added = sorted(set(new.not_recommended) - set(old.not_recommended))
    change.not_recommended_removed = sorted(set(old.not_recommended) - set(new.not_recommended))
    change.rules_started = [r for r in new.rules if r not in old.rules]
    change.rules_stopped = [r for r in old.rules if r not in new.rules]
    change.scores = {s: [old.scores.get(s), new.scores.get(s)] for s in sorted(set(old.scores) | set(new.scores))
                     if old.scores.get(s) != new.scores.get(s)}
    for kind in ("recommended_added", "recommended_removed", "strength", "not_recommended_added",
                 "not_recommended_removed", "rules_started", "rules_stopped", "scores"):
        if getattr(change, kind):
            kinds.append(kind)
    if old.review_in_weeks != new.review_in_weeks:
        kinds.append("review")
    return change if kinds else None


@dataclass
class DiffSummary:
    """Counts over every record compared, and the changes themselves, in input order."""

    records: int = 0
    unreadable: int = 0  # records neither version could read (the same error under both)
    invalid_both: int = 0
    changes: list[Change] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    tier_moves: Counter = field(default_factory=Counter)  # (before, after) -> records
    unreadable_places: list[str] = field(default_factory=list)

    def add(self, record_id: Any, place: str, before: dict, after: dict) -> Change | None:
        """Compare one record's two results and count it; return its change, if any."""
        self.records += 1
        change = compare(record_id, place, before, after)
        if change is None:
            if before.get("status") != "ok" and after.get("status") != "ok":
                self.invalid_both += 1
            return None
        self.changes.append(change)
        self.kinds.update(change.kinds)
        if "tier" in change.kinds:
            self.tier_moves[(change.before.tier, change.after.tier)] += 1
        return change

    def add_same(self) -> None:
        """A record whose two results are the same (known without comparing their parts)."""
        self.records += 1

    def add_unreadable(self, place: str) -> None:
        """A record neither version could read (not JSON, a line too long, a file that cannot be opened)."""
        self.records += 1
        self.unreadable += 1
        if len(self.unreadable_places) < 10:
            self.unreadable_places.append(place)

    def counts(self) -> dict:
        """`{"records", "unchanged", "changed", <kind>: n, ...}` with every kind, zero or not."""
        out = {"records": self.records, "changed": len(self.changes),
               "unchanged": self.records - len(self.changes) - self.unreadable - self.invalid_both,
               "invalid_under_both": self.invalid_both, "unreadable": self.unreadable}
        out.update({k: self.kinds.get(k, 0) for k in KINDS})
        return out
