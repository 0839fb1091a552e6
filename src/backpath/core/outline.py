"""What a result contains and in what order (contract §5): the one outline that every serialiser follows.

Given the pathway, a record's tier, its contributing rules (positions in `pathway.rules`, in that order) and its
requests, the outline says:

- each item's *state*: recommended (with its strength: `offer` beats `consider`), ruled out (a rule advises
  against it: a contraindication wins, and both sides' reasons are kept, the advice against first), requested but
  covered by no rule, or not shown; and its reasons as (rule, effect) in the order the rules contribute;
- the order of items: recommended by the tier of the item then catalogue order; not recommended with the requested
  ones first, then catalogue order;
- the care team: the roles of the recommended items and of the contributing rules, in the pathway's role order;
- the follow-up: the soonest review of the tier and the rules, and every safety net once;
- the warnings: answers' warnings, then the contributing rules' in rule order;
- the keys of a result in contract order (`TOP_KEYS`).

`report.result_dict` serialises it as Python data (`assess`), `result_json.ResultWriter` as JSON text a frame per
item state (batch); the CSV row, the renderers, the invariants and the questionnaire read those results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import reduce
from operator import or_
from typing import Any

from backpath.core.model import Pathway, Tier

FORMAT_VERSION = 1
# A result as one row (the CSV of `backpath batch`, `batch.columns`): these columns, with one a score between them;
# a score may not take one of these names (the loader refuses it), or its column would replace another.
ROW_COLUMNS_BEFORE_SCORES = ("id", "status", "tier")
ROW_COLUMNS_AFTER_SCORES = ("red_flags", "recommended", "not_recommended", "errors", "source", "pathway_id",
                            "pathway_version", "review_in_weeks", "offered", "considered", "requested", "rules_fired",
                            "care_team")
TOP_KEYS = ("format_version", "id", "status", "pathway", "tier", "tier_title", "scores", "red_flags",
            "recommendations", "not_recommended", "care_team", "follow_up", "warnings", "rules_fired", "disclaimer")
NO_RULE_FOR_REQUEST = "Requested, but no rule of this pathway recommends it for these answers."
REQUEST_RULE = "request-not-indicated"
# An item's section in the result.
NONE, RECOMMENDED, RULED_OUT, UNREQUESTED = 0, 1, 2, 3
OFFER, CONSIDER = 0, 1
STRENGTHS = ("offer", "consider")
ADVISE_AGAINST = "advise_against"
_STATE_LIMIT = 1 << 16  # item states memoised per pathway (bounded: memory stays flat however varied the answers)
_ORDER_LIMIT = 1 << 14  # orders of recommended and of not-recommended items memoised per pathway (each; 5,415
# different recommended sets in 30,000 bench records, a tuple of a few numbers each)


class ItemState:
    """An item's place in one kind of result: its section, strength (recommended only) and reasons as
    `(rule position, effect)` (`effect`: offer, consider or advise_against; none for a request no rule covers).
    `frame`, `first` and `parts` are for the serialisers to keep what they made of the state (`result_json` its JSON
    text, after a comma and as a list's first item; `report` the item's fields that do not depend on the record)."""

    __slots__ = ("section", "strength", "refs", "requested", "frame", "first", "parts")

    def __init__(self, section: int, strength: str | None, refs: tuple[tuple[int, str], ...], requested: bool):
        self.section = section
        self.strength = strength
        self.refs = refs
        self.requested = requested
        self.frame: Any = None
        self.first: Any = None
        self.parts: Any = None


_NOT_SHOWN = ItemState(NONE, None, (), False)
_VARIES = (None, None, None, None)  # `Outline.single_states` of an item more than one rule mentions


class Section:
    """One of a result's two item lists as far as its key settles it (`Outline.section_pair`): its items in order,
    the state of each item that only one rule mentions (the same in every record with this list: that rule made
    the item be here, or it is a request no rule covers) and None for the others, `var` the positions and items
    of those others, and `roles` the care-team roles of its items when they are recommended (the care team counts
    no others: 0 in the not-recommended list). `frames` is for a serialiser's use (as
    `ItemState.frame`)."""

    __slots__ = ("items", "states", "var", "roles", "frames")

    def __init__(self, items: tuple[int, ...], states: list[ItemState | None], roles: int):
        self.items = items
        self.states = states
        self.var = [(k, item) for k, item in enumerate(items) if states[k] is None]
        self.roles = roles
        self.frames: Any = None


class Outline:
    """A pathway's outline tables, and the sections of one record's result (memoised by item state)."""

    def __init__(self, pathway: Pathway):
        p = self.pathway = pathway
        self.item_ids = list(p.catalogue)
        index = self.item_index = {item_id: i for i, item_id in enumerate(self.item_ids)}
        # Per rule: the items it recommends as (item, strength) in the order its reasons are met, and rules out.
        self.rule_rec = [tuple([(index[i], OFFER) for i in r.offer] + [(index[i], CONSIDER) for i in r.consider])
                         for r in p.rules]
        self.rule_against = [tuple(index[i] for i in r.advise_against) for r in p.rules]
        # Per item, the rules that mention it, in rule order, as a list and as bits over rule positions.
        mentioned = [list(dict.fromkeys([i for i, _ in self.rule_rec[ri]] + list(self.rule_against[ri])))
                     for ri in range(len(p.rules))]
        self.item_rules: list[list[int]] = [[] for _ in self.item_ids]
        for ri, items in enumerate(mentioned):
            for item in items:
                self.item_rules[item].append(ri)
        self.item_rule_mask = [_bits(rules) for rules in self.item_rules]
        # A rule's *layout code*, bits over the catalogue: the items it advises against (bit i for item i), the
        # items it recommends (from bit n), then its own bit (from bit 2n, by rule position). A record's code is
        # the OR of its contributing rules' codes (`section_pair`).
        n = self.n = len(self.item_ids)
        self.every = (1 << n) - 1  # a bit for every item
        self.rule_layout = [_bits(self.rule_against[ri]) | _bits(n + i for i, _ in self.rule_rec[ri])
                            | 1 << (2 * n + ri) for ri in range(len(p.rules))]
        self.shown_orders: dict[int, tuple[int, ...]] = {}  # recommended bits -> items in order (`_shown`)
        self.out_orders: dict[int, tuple[int, ...]] = {}  # not-recommended bits -> items in order (`_ruled_out`)
        self.shown_sections: dict[int, Section] = {}  # (`section_pair`)
        # Per item that one rule mentions (or none), its four states by (placed by its rule) << 1 | (requested):
        # the same in every record, since that rule contributes exactly when it placed the item (`_section`). An
        # item more rules mention has four Nones: its state is the record's. Made here (26 items of the bench
        # pathway, a few µs each), so a new section only looks its states up.
        self.single_states: list[tuple[ItemState | None, ...]] = [
            tuple(self._state(item, mask if which & 2 else 0, bool(which & 1)) for which in range(4))
            if len(rules) <= 1 else _VARIES for item, (rules, mask) in enumerate(zip(self.item_rules,
                                                                                     self.item_rule_mask))]
        self.placed_states = [states[2] for states in self.single_states]  # placed, not requested
        self.out_sections: dict[int, Section] = {}
        rank = p.tier_rank
        self.rec_order = [(rank[p.catalogue[item].tier], i) for i, item in enumerate(self.item_ids)]
        # Each item's place among recommended items (by its tier's rank, then catalogue order); None when that is
        # catalogue order already, so a record's recommended items need no sorting.
        places = {item: k for k, (_, item) in enumerate(sorted(self.rec_order))}
        self.rec_place: list[int] | None = None if all(places[i] == i for i in places) \
            else [places[i] for i in range(len(self.item_ids))]
        self.role_ids = [role for role, _ in p.care_roles]
        role_index = {role: i for i, role in enumerate(self.role_ids)}
        self.item_roles = [_bits(role_index[c] for c in p.catalogue[item].care_team) for item in self.item_ids]
        self.rule_roles = [_bits(role_index[c] for c in r.care_team) for r in p.rules]
        self.states: list[dict[int, ItemState]] = [{} for _ in self.item_ids]  # per item: key -> state
        self.state_gets = [memo.get for memo in self.states]
        self.state_count = 0

    # --- items ----------------------------------------------------------------------------------
    def _keyed_state(self, item: int, key: int) -> ItemState:
        """The state of `item` for its key: the contributing rules that mention it (bit ri for rule position ri),
        shifted left by one, and bit 0 set when it was requested. Made once and memoised (up to `_STATE_LIMIT`)."""
        state = self._state(item, key >> 1, bool(key & 1))
        if self.state_count < _STATE_LIMIT:
            self.states[item][key] = state
            self.state_count += 1
        return state

    def _state(self, item: int, rule_bits: int, requested: bool) -> ItemState:
        rules = [ri for ri in self.item_rules[item] if rule_bits >> ri & 1]  # in contributing order
        recs = [(ri, code) for ri in rules for it, code in self.rule_rec[ri] if it == item]
        against = [ri for ri in rules for it in self.rule_against[ri] if it == item]
        if against:  # a contraindication wins; both sides' reasons are kept
            refs = [(ri, ADVISE_AGAINST) for ri in against] + [(ri, STRENGTHS[code]) for ri, code in recs]
            return ItemState(RULED_OUT, None, tuple(refs), requested)
        if recs:
            return ItemState(RECOMMENDED, STRENGTHS[min(code for _, code in recs)],
                             tuple((ri, STRENGTHS[code]) for ri, code in recs), requested)
        if requested:
            return ItemState(UNREQUESTED, None, (), True)
        return _NOT_SHOWN

    def requested(self, values: Mapping[str, Any]) -> set[int]:
        """The catalogue positions of the record's requests."""
        question = self.pathway.request_question
        if not question:
            return set()
        index = self.item_index
        return {index[i] for i in values.get(question) or ()}

    def asked(self, values: Mapping[str, Any]) -> int:
        """The record's requests as bits over catalogue positions (`requested`)."""
        question = self.pathway.request_question
        asked = 0
        if question:
            index = self.item_index
            for i in values.get(question) or ():
                asked |= 1 << index[i]
        return asked

    def sections(self, requested: set[int], contributing: Iterable[int]
                 ) -> tuple[list[tuple[int, ItemState]], list[tuple[int, ItemState]]]:
        """The recommended and the not-recommended items of a result, in result order, with their states."""
        asked = 0
        for item in requested:
            asked |= 1 << item
        shown, ruled_out, rules, _ = self.section_pair(reduce(or_, map(self.rule_layout.__getitem__, contributing), 0),
                                                      asked)
        return self._pairs(shown, rules, asked), self._pairs(ruled_out, rules, asked)

    def _pairs(self, section: Section, rules: int, asked: int) -> list[tuple[int, ItemState]]:
        """A section's items with their states for these rules and requests."""
        states = list(section.states)
        for k, item in section.var:
            states[k] = self.item_state(item, rules, asked)
        return list(zip(section.items, states))  # type: ignore[arg-type]  # (every None filled in above)

    def section_pair(self, code: int, asked: int) -> tuple[Section, Section, int, int]:
        """A record's two item lists as `Section`s (recommended, not recommended), from its code (the OR of its
        contributing rules' `rule_layout`) and its requests as bits (`asked`), with the rules part of the code and
        the requests no rule covers (not zero when a `REQUEST_RULE` reason is in the result). A record's states are
        the sections' `states` with the `var` items' states (`item_state`) in their places.

        This runs for every record, so it works on bits: the code says which items are advised against and which
        recommended, hence which items each list holds; their order is memoised on that (`_shown`, `_ruled_out`),
        each section on what settles it, and each item's state on the contributing rules that mention it
        (`_keyed_state`)."""
        n = self.n
        against = code & self.every
        recommended = code >> n & self.every & ~against
        if asked:
            shown_key = recommended | (asked & recommended) << n
            out = against | asked & ~recommended
            order_key = out | (asked & out) << n
        else:  # most records request nothing: the same keys, fewer steps
            shown_key = recommended
            out = order_key = against
        shown = self.shown_sections.get(shown_key)
        if shown is None:
            items = self.shown_orders.get(recommended) or self._shown(recommended)
            shown = self._section(self.shown_sections, shown_key, items, asked & recommended, recommended,
                                  reduce(or_, map(self.item_roles.__getitem__, items), 0))
        out_key = order_key | against << 2 * n  # a request is advised against, or covered by no rule
        ruled_out = self.out_sections.get(out_key)
        if ruled_out is None:
            ruled_out = self._section(self.out_sections, out_key, self.out_orders.get(order_key)
                                      or self._ruled_out(order_key, out, asked & out), asked & out, against, 0)
        return shown, ruled_out, code >> 2 * n, asked and asked & out & ~against

    def item_state(self, item: int, rules: int, asked: int) -> ItemState:
        """An item's state for the contributing rules (bits by rule position) and requests (bits by item)."""
        key = (rules & self.item_rule_mask[item]) << 1 | (asked >> item & 1)
        return self.state_gets[item](key) or self._keyed_state(item, key)

    def _section(self, memo: dict, key: int, items: tuple[int, ...], requested: int, placed: int,
                 roles: int) -> Section:
        """The section of `items`; `placed`: the items a contributing rule put in this list (recommended, or
        advised against), the others being requests no rule covers; `requested`: the requested ones. An item that
        one rule mentions (or none) has the same state in every record with this key (`single_states`): placed and
        not requested (`placed_states`) unless the item is one of the few requested."""
        states = list(map(self.placed_states.__getitem__, items))
        if requested:
            single = self.single_states
            for item in positions(requested):
                states[items.index(item)] = single[item][(placed >> item & 1) << 1 | 1]
        section = Section(items, states, roles)
        if len(memo) < _ORDER_LIMIT:
            memo[key] = section
        return section

    def _shown(self, recommended: int) -> tuple[int, ...]:
        """The recommended items (bits of `recommended`) in result order (`rec_place`); memoised."""
        items = positions(recommended)
        if self.rec_place is not None:
            items.sort(key=self.rec_place.__getitem__)
        return _remember(self.shown_orders, recommended, tuple(items))

    def _ruled_out(self, key: int, out: int, asked_out: int) -> tuple[int, ...]:
        """The not-recommended items (bits of `out`), the requested ones (`asked_out`) first, each part in
        catalogue order; memoised under `key`."""
        items = positions(asked_out) + positions(out & ~asked_out)
        return _remember(self.out_orders, key, tuple(items))

    # --- the rest of a result -------------------------------------------------------------------
    def roles(self, recommended: Iterable[int], contributing: Iterable[int]) -> int:
        """The care team as bits of `role_ids`: the recommended items' roles and the contributing rules'."""
        roles = 0
        for item in recommended:
            roles |= self.item_roles[item]
        for ri in contributing:
            roles |= self.rule_roles[ri]
        return roles

    def care_team(self, roles: int) -> list[str]:
        return [r for i, r in enumerate(self.role_ids) if roles >> i & 1]

    def warnings(self, answer_warnings: Iterable[Mapping[str, Any]], contributing: Iterable[int]) -> list[dict]:
        rules = self.pathway.rules
        return [dict(w) for w in answer_warnings] + [{"rule": rules[ri].id, "message": rules[ri].warning}
                                                     for ri in contributing if rules[ri].warning]

    def request_text(self, tier: str) -> str:
        """The reason given for a request no rule covers (the tier's own when it preempts the plan)."""
        tier_def = self.pathway.tier(tier)
        if tier_def.preempts and tier_def.preempt_reason:
            return tier_def.preempt_reason
        return self.pathway.unrequested_reason or NO_RULE_FOR_REQUEST


def follow_up(tier: Tier, rules) -> dict:
    """The result's follow-up: the soonest review of the tier and the rules, and every safety net once."""
    review = tier.follow_up.review_in_weeks
    nets = [tier.follow_up.safety_net] if tier.follow_up.safety_net else []
    for rule in rules:
        if rule.follow_up is not None:
            if rule.follow_up.review_in_weeks is not None:
                review = rule.follow_up.review_in_weeks if review is None \
                    else min(review, rule.follow_up.review_in_weeks)
            if rule.follow_up.safety_net and rule.follow_up.safety_net not in nets:
                nets.append(rule.follow_up.safety_net)
    return {"review_in_weeks": plain(review), "safety_net": " ".join(nets)}


def item_header(p: Pathway, item_id: str, strength: str | None, requested: bool) -> dict:
    """An item's fields before its reasons; `strength` is None for an item not recommended."""
    item = p.catalogue[item_id]
    out: dict = {"id": item_id, "title": item.title}
    if strength is not None:
        out["strength"] = strength
        out["tier"] = item.tier
        out["category"] = item.category
        out["care_team"] = list(item.care_team)
        if item.timeframe:
            out["timeframe"] = item.timeframe
    else:
        out["category"] = item.category
    out["requested"] = requested
    return out


def plain(value: Any) -> Any:
    """Numbers as people read them: 12.0 -> 12, 51.8076923 -> 51.81, 2.999 -> 3, -0.001 -> 0 (a number that
    rounds to a whole one is shown whole, and never as -0)."""
    if isinstance(value, float):
        if not value.is_integer():
            value = round(value, 2)
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return list(value)
    return value


def as_answered(value: Any) -> Any:
    """An answer as `because` and reasons show it: exactly as given (12.004 weeks stays 12.004, for audit), a
    whole float as a whole number (12.0 -> 12, as `plain` shows it), a list copied."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return list(value) if isinstance(value, list) else value


def _remember(memo: dict, key: int, value: tuple[int, ...]) -> tuple[int, ...]:
    """Keep `value` under `key` while `memo` holds fewer than `_ORDER_LIMIT` entries; return it."""
    if len(memo) < _ORDER_LIMIT:
        memo[key] = value
    return value


def positions(bits: int) -> list[int]:
    """The positions of the bits set in `bits` (not negative), lowest first. A byte at a time, each byte's
    positions looked up (`_BYTE_POSITIONS`): half the time of a bit at a time for a result's nine or so items.
    Numbers wider than `_TABLE_BITS` (a catalogue of hundreds of items) go a bit at a time, so a hostile pathway
    cannot make the tables large."""
    if bits >> _TABLE_BITS:
        return _positions_by_bit(bits)
    out: list[int] = []
    tables = _BYTE_POSITIONS
    k = 0
    rest = bits
    try:
        while rest:
            if rest & 255:
                out += tables[k][rest & 255]
            rest >>= 8
            k += 1
    except IndexError:  # wider than any number before: make the tables it needs (they are shared)
        _byte_positions(bits.bit_length())
        return positions(bits)
    return out


_TABLE_BITS = 256  # `positions` tables cover numbers this wide at most: 32 tables of 256 tuples, about 1.5 MB
_BYTE_POSITIONS: list[list[tuple[int, ...]]] = []  # [k][byte]: the positions of the bits of `byte << 8 * k`


def _byte_positions(width: int) -> None:
    """Make the tables of `positions` for numbers of up to `width` bits (once: they are shared)."""
    while 8 * len(_BYTE_POSITIONS) < width:
        k = len(_BYTE_POSITIONS)
        _BYTE_POSITIONS.append([tuple(8 * k + i for i in range(8) if byte >> i & 1) for byte in range(256)])


def _positions_by_bit(bits: int) -> list[int]:
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


def _bits(positions) -> int:
    out = 0
    for i in positions:
        out |= 1 << i
    return out
