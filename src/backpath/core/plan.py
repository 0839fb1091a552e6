"""Everything about one pathway that the engine works out once, before its first record: the compiled program,
the result outline, citations and advisory notes. The serialisers (`report`, `result_json`) read it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from backpath.core.model import Pathway, Question, Rule
from backpath.core.outline import Outline
from backpath.core.program import Program


class Plan:
    """Everything about a pathway the engine can work out once, before the first record."""

    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        self.program = Program(pathway)
        self.outline = Outline(pathway)
        self.expr_facts = {d.id: d.expr for d in pathway.derived if d.expr is not None}
        self.catalogue_index = {item_id: i for i, item_id in enumerate(pathway.catalogue)}
        self.notes: dict[str, list[str]] = {}
        for note in pathway.advisory_notes:
            for item in note.items:
                self.notes.setdefault(item, []).append(note.id)
        self.item_sources = {i.id: [c.as_dict() for c in i.sources] for i in pathway.catalogue.values()}
        self.rule_sources = {r.id: [c.as_dict() for c in r.sources] for r in pathway.rules}
        self.unrequested_sources = [c.as_dict() for c in pathway.unrequested_sources]
        self._merged_sources: dict[tuple, list[dict]] = {}
        self.layouts: dict[tuple, Any] = {}  # `report.result_dict`'s memo of a result's record-independent parts
        self.make_writer: Callable[[Plan], Any] | None = None  # set by `engine._plan` (which owns the serialisers)

    @cached_property
    def writer(self) -> Any:
        """Its `result_json.ResultWriter`, made when first asked for (`assess` of one record never needs it), then
        a plain attribute: batch reads it for every record."""
        assert self.make_writer is not None, "a plan is made by `engine._plan`"
        return self.make_writer(self)

    def sources(self, item_id: str, rules: list[Rule], unrequested: bool) -> list[dict]:
        """The item's own citations, then those of the rules that produced it, without repeats (memoised)."""
        key = (item_id, tuple(r.id for r in rules), unrequested)
        merged = self._merged_sources.get(key)
        if merged is None:
            merged = list(self.item_sources[item_id])
            seen = {(s["id"], s["section"]) for s in merged}
            extras = [s for rule in rules for s in self.rule_sources[rule.id]]
            for extra in extras + (self.unrequested_sources if unrequested else []):
                if (extra["id"], extra["section"]) not in seen:
                    seen.add((extra["id"], extra["section"]))
                    merged.append(extra)
            self._merged_sources[key] = merged
        return merged

    def asks(self, question: Question, values: Mapping[str, Any]) -> bool | None:
        """The question's `ask_when` for the answers so far (True when it has none; None when unknown)."""
        return self.program.asks(question.id, values)
