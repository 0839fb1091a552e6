"""An ok result as compact JSON text, written straight from the decision (tier + contributing rules).

This is the batch's hot path: byte for byte `json.dumps(report.as_dict(), ensure_ascii=False,
separators=(",", ":"))` (property-tested against `Report`), but without building the result's dicts.

How: an item's place and text depend only on which of the rules that mention it contribute and on whether it
was requested. That is its *state*; each state's text is made once per pathway as a *frame* (the item's header,
citations and every reason that cannot vary, with the positions of the rules whose reason depends on the
record). A record's result is then its frames in order with those reasons filled in. The reasons that vary are
memoised per record (each name's `"name":value` piece, each rule's `because`), since one value appears in many
reasons of the same result. `write_many` finds the states of a whole chunk of records with a few array
operations; `write` does the same for one record.

Items are numbered by their position in the catalogue and rules by their position in `pathway.rules`.
"""

from __future__ import annotations

import ast
import json
import math
import string
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .report import (
    FORMAT_VERSION,
    NO_RULE_FOR_REQUEST,
    REQUEST_RULE,
    _item_header,
    because_names,
    follow_up,
    plain,
    show_value,
)

if TYPE_CHECKING:
    from .engine import _Plan

encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

OFFER, CONSIDER = 0, 1
_STRENGTH = ("offer", "consider")
_EFFECT_TAIL = {"offer": ',"effect":"offer"}', "consider": ',"effect":"consider"}',
                "advise_against": ',"effect":"advise_against"}'}
# Every memo is bounded (a full one keeps what it has and the rest is computed afresh), so memory stays flat however
# varied the answers.
_CACHE_LIMIT = 1 << 16  # pathway-wide memos (item states)
_SMALL_CACHE = 1 << 12  # memos of fragments (scores, red flags, care team, follow-up, warnings, a name's value texts)
_RULE_CACHE = 1 << 10  # memos per rule of its `because` names
_REASON_CACHE = 1 << 8  # memos per rule of whole reasons, for one record at a time (a few hundred bytes each)
# An item's section in the result: not shown, recommended, not recommended (ruled out, or requested but
# indicated by no rule).
NONE, RECOMMENDED, RULED_OUT, UNREQUESTED = 0, 1, 2, 3
REQUEST_REASON = -1  # in a frame: the reason of a requested item no rule covers (it lists the record's requests)
_GIVE_UP_LOOKUPS = 4096  # a rule whose reasons were found in its memo less than half of this many times stops using it
_MAX_BITS = 62  # rules mentioning one item, for its state to be an int64 in `write_many`
_LOOKUP_BITS = 12  # rules mentioning one item, for `write_many` to look its states up in an array (8,192 codes)
# A `because` memo key (`ResultWriter.because_shapes`): which names have a value in the low bits, which `or`
# operands are true from bit `ResultWriter.presence_bits` up (64, or one a name when more names are read).
_PRESENCE_BITS = 64
# `write_many`'s piece codes: >= 0 a text of `ResultWriter.table`; < 0 a text of the chunk: the record's head, its
# tail, its request reason, or the reason of rule ri (code _FIRST_RULE - ri). Units 0-2 are a record's head, the
# opening of `not_recommended` and its tail; state s has units _FIRST_STATE_UNIT + 2s and the next.
_HEAD, _TAIL, _REQUEST, _FIRST_RULE = -1, -2, -3, -4
_HEAD_UNIT, _MIDDLE_UNIT, _TAIL_UNIT, _FIRST_STATE_UNIT = 0, 1, 2, 3


class ResultWriter:
    """Writes ok results for one pathway (one per `_Plan`)."""

    def __init__(self, plan: _Plan):
        p = self.p = plan.pathway
        self.plan = plan
        items = list(p.catalogue)
        self.item_ids = items
        index = {item_id: i for i, item_id in enumerate(items)}
        self.item_index = index
        self.rules = p.rules
        # Per rule: the items it recommends as (item, strength) in the order Report meets them, and rules out.
        self.rule_rec = [tuple([(index[i], OFFER) for i in r.offer] + [(index[i], CONSIDER) for i in r.consider])
                         for r in p.rules]
        self.rule_against = [tuple(index[i] for i in r.advise_against) for r in p.rules]
        self.rule_prefix = ['{"rule":' + encode(r.id) + ',"text":' for r in p.rules]
        self.rule_text = [None if r.reason_names else encode(r.reason) for r in p.rules]
        # A reason with placeholders as (literal, name) pairs, the literals already JSON-escaped: its JSON text is
        # the literals with each value's display (`report.show_value`, escaped) between them.
        self.templates = [None if not r.reason_names else
                          [(encode(literal)[1:-1], name) for literal, name, _, _ in string.Formatter().parse(r.reason)]
                          for r in p.rules]
        self.rule_id_json = [encode(r.id) for r in p.rules]
        # A rule whose reason cannot vary: no placeholders, and `because` either empty (`when: true`) or naming
        # only answers that the condition pins to one value whenever it is true (`sciatica`, `not smoker`,
        # `startback_risk == "high"`, `red_flags == []`): its whole reason, written into the item frames.
        self.fixed_reason = []
        for i, r in enumerate(p.rules):
            pinned = None if r.reason_names else {} if not r.when.names else _pinned(r.when.text, p.symbols)
            if pinned is not None and not set(r.when.names) - set(pinned) and not set(pinned) & set(plan.expr_facts):
                because = ",".join(encode(n) + ":" + encode(pinned[n]) for n in r.when.names)
                self.fixed_reason.append(self.rule_prefix[i] + encode(r.reason) + ',"because":{' + because + "}")
            else:
                self.fixed_reason.append(None)
        rank = p.tier_rank
        self.rec_order = {i: (rank[p.catalogue[item].tier], i) for i, item in enumerate(items)}
        self.expr_facts = plan.expr_facts
        # A rule's `because` lists names of its condition and, through derived facts, of their conditions: which
        # ones depends only on which of those names have a value and on which operands of each `or` among those
        # conditions are true. It is memoised per rule on exactly that (`because_shapes`).
        self.rule_inputs = [tuple(sorted(self.inputs(r.when))) for r in p.rules]
        self.names = tuple(sorted({n for names in self.rule_inputs for n in names}))
        bit = {n: 1 << i for i, n in enumerate(self.names)}
        self.name_bits = [(n, bit[n]) for n in self.names]
        self.presence_bits = max(_PRESENCE_BITS, len(self.names))
        self.name_json = {n: encode(n) + ":" for n in p.symbols}
        self.rule_mask = [_bits(self.names.index(n) for n in names) for names in self.rule_inputs]
        # The `or` operands a rule's `because` depends on: its condition's, then those of each derived fact it
        # reads (directly or through other facts), as (condition, bit offset) in the high part of its memo key.
        self.rule_conditions: list[tuple] = []
        for ri, r in enumerate(p.rules):
            conditions, offset = [], 0
            for when in [r.when] + [self.expr_facts[f] for f in self.rule_inputs[ri] if f in self.expr_facts]:
                if when.or_terms:
                    conditions.append((when, offset))
                    offset += len(when.or_terms)
            self.rule_conditions.append(tuple(conditions))
        self.because_shapes: list[dict] = [{} for _ in p.rules]
        # A whole reason (text and `because`) is a function of those values and the reason's placeholders: it is
        # memoised per rule unless a rule proves too varied (see `_GIVE_UP_LOOKUPS`).
        reads = [sorted(set(self.rule_inputs[ri]) | set(r.reason_names)) for ri, r in enumerate(p.rules)]
        multi = {n for n, t in p.symbols.items() if t.kind == "multi"}
        self.reason_scalars = [tuple(n for n in names if n not in multi) for names in reads]
        self.reason_lists = [tuple(n for n in names if n in multi) for names in reads]
        self.reason_cache: list[dict | None] = [{} for _ in p.rules]
        self.multi = multi
        # Names of few values (yes/no, choices, lists of options): `_ValueTexts` makes their texts for a whole chunk
        # at once, from memos that keep hitting; numbers' texts are made for the records that need them.
        self.few_values = {n for n, t in p.symbols.items() if t.kind != "number"}
        # Per name, memos of its values' texts for `write_many` (see `_column_texts`): `because` pieces, displays.
        self.piece_memo: dict[str, dict] = {}
        self.shown_memo: dict[str, dict] = {}
        self.reason_lookups = [0] * len(p.rules)
        self.reason_hits = [0] * len(p.rules)
        # Per item, the rules that mention it (offer, consider or advise against), in rule order; per rule, the
        # items it mentions with the rule's bit in each item's state.
        mentioned = [list(dict.fromkeys([i for i, _ in self.rule_rec[ri]] + list(self.rule_against[ri])))
                     for ri in range(len(p.rules))]
        self.item_rules: list[list[int]] = [[] for _ in items]
        for ri, its in enumerate(mentioned):
            for item in its:
                self.item_rules[item].append(ri)
        self.rule_item_bits = [[(item, 1 << self.item_rules[item].index(ri)) for item in its] for ri, its in
                               enumerate(mentioned)]
        self.states: dict[tuple, tuple[int, Any]] = {}
        order = sorted(range(len(items)), key=self.rec_order.__getitem__)
        self.rec_items = order
        # For `write_many`: state ids, each state's units as piece codes, and the texts those codes name.
        self.state_ids: dict[tuple, int] = {}
        # Per item with at most _LOOKUP_BITS rules, its state ids by code (bits * 2 + requested), -1 where not met.
        self.state_lookups: list = [None] * len(items)
        self.unit_sections: list[int] = []
        self.table: list[str] = ['],"not_recommended":[']
        self.unit_codes: list[tuple[int, ...]] = [(_HEAD,), (0,), (_TAIL,)]  # _HEAD_UNIT, _MIDDLE_UNIT, _TAIL_UNIT
        self.units: _Units | None = None
        self.notes = [',"advisory_notes":' + encode(plan.notes[item]) if item in plan.notes else "" for item in items]
        roles = plan.role_index
        self.item_roles = [_bits(roles[c] for c in p.catalogue[item].care_team) for item in items]
        self.rule_roles = [_bits(roles[c] for c in r.care_team) for r in p.rules]
        self.role_text: dict[int, str] = {}
        self.role_ids = [role for role, _ in p.care_roles]
        # The follow-up and the warnings are made apart: the follow-up depends on the tier and on which rules that
        # carry one contribute (few combinations), the warnings are the warning objects of the rules that carry
        # one. Each is memoised on a bit set of those rules (bit j: the j-th of `follow_up_rules`/`warning_rules`).
        self.follow_up_rules = [ri for ri, r in enumerate(p.rules) if r.follow_up is not None]
        self.warning_rules = [ri for ri, r in enumerate(p.rules) if r.warning]
        self.follow_up_bit = {ri: 1 << j for j, ri in enumerate(self.follow_up_rules)}
        self.warning_bit = {ri: 1 << j for j, ri in enumerate(self.warning_rules)}
        self.warning_json = [encode({"rule": r.id, "message": r.warning}) if r.warning else None for r in p.rules]
        self.follow_up_texts: dict[tuple, str] = {}
        self.warnings_texts: dict[int, str] = {}
        self.tail_heads: dict[tuple, str] = {}  # (tier, roles, follow-up code, warning code) -> `tail_head`
        # `write_many` packs an item's state, the care team and those rule sets into int64 bit sets.
        self.packable = (max(map(len, self.item_rules), default=0) <= _MAX_BITS and len(roles) <= _MAX_BITS
                         and len(self.follow_up_rules) <= _MAX_BITS and len(self.warning_rules) <= _MAX_BITS)
        self.tier_text = {t.id: ',"tier":' + encode(t.id) + ',"tier_title":' + encode(t.title) + ',"scores":{'
                          for t in p.tiers}
        self.head_text = '{"format_version":' + str(FORMAT_VERSION) + ',"id":'
        self.pathway_text = ',"status":"ok","pathway":' + encode({"id": p.id, "version": p.version,
                                                                   "sha256": p.sha256})
        self.disclaimer_text = ',"disclaimer":' + encode(p.disclaimer) + "}"
        self.score_ids = [s.id for s in p.scores]
        self.score_keys = [("" if i == 0 else ",") + encode(s.id) + ":" for i, s in enumerate(p.scores)]
        self.scores: dict[tuple, str] = {}  # score values -> the inside of `scores`
        self.lists: dict[tuple, str] = {}
        self.rfq = p.red_flag_question
        self.rq = p.request_question
        self.request_key = encode(p.request_question) if p.request_question else ""
        self.request_texts = {t.id: encode(t.preempt_reason if t.preempts and t.preempt_reason
                                           else p.unrequested_reason or NO_RULE_FOR_REQUEST) for t in p.tiers}

    @cached_property
    def role_columns(self) -> list[list[int]]:
        """For `write_many`: per care-team role (in `role_index` order), the columns of [recommended items,
        contributing rules] that bring it."""
        p = self.p
        teams = [p.catalogue[item].care_team for item in self.item_ids] + [r.care_team for r in p.rules]
        return [[c for c, team in enumerate(teams) if role in team] for role in self.plan.role_index]

    def inputs(self, when) -> set[str]:
        """Every name `when` reads, directly or through derived facts."""
        out = set()
        for name in when.names:
            out.add(name)
            if name in self.expr_facts:
                out |= self.inputs(self.expr_facts[name])
        return out

    # --- item states -----------------------------------------------------------------------------
    def state(self, item: int, bits: int, requested: bool) -> tuple[int, Any]:
        """`(section, frame)` of an item, given which of the rules that mention it contribute (`bits`, bit j for
        `item_rules[item][j]`) and whether it was requested. Memoised."""
        key = (item, bits, requested)
        state = self.states.get(key)
        if state is None:
            state = _remember(self.states, key, _CACHE_LIMIT, self._state(item, bits, requested))
        return state

    def _state(self, item: int, bits: int, requested: bool) -> tuple[int, Any]:
        rules = [ri for j, ri in enumerate(self.item_rules[item]) if bits >> j & 1]  # in contributing order
        recs = [(ri, code) for ri in rules for it, code in self.rule_rec[ri] if it == item]
        against = [ri for ri in rules for it in self.rule_against[ri] if it == item]
        if against:  # a contraindication wins; both sides' reasons are kept
            refs = [(ri, _EFFECT_TAIL["advise_against"]) for ri in against]
            refs += [(ri, _EFFECT_TAIL[_STRENGTH[code]]) for ri, code in recs]
            return RULED_OUT, self.frame(item, None, requested, refs)
        if recs:
            best = min(code for _, code in recs)
            return RECOMMENDED, self.frame(item, best, requested, [(ri, "}") for ri, _ in recs])
        if requested:
            return UNREQUESTED, self.frame(item, None, True, [])
        return NONE, None

    def frame(self, item: int, code: int | None, requested: bool, refs: list[tuple[int, str]]) -> str | tuple:
        """An item's JSON as text pieces, with the position of each rule whose reason depends on the record (just
        the text when nothing in it varies).

        It starts `,{"id":…,"reasons":[` (the caller drops the comma before a list's first item; `code` is the
        strength, None when not recommended); each reason is followed by its close (`}` or its effect) and the
        item ends with its sources, advisory notes and `}`. A reason that cannot vary (no placeholders, nothing
        in `because`) is written into the text. With no refs (a request no rule covers), the one reason is
        `REQUEST_REASON`, which lists the record's requests."""
        entry = _item_header(self.p, self.item_ids[item], None if code is None else _STRENGTH[code], requested)
        pieces: list = ["," + encode(entry)[:-1] + ',"reasons":[']
        rules = [ri for ri, _ in refs]
        cited = self.plan.sources(self.item_ids[item], [self.rules[ri] for ri in rules], not refs)
        for k, (ri, tail) in enumerate(refs):
            if k:
                pieces.append(",")
            fixed = self.fixed_reason[ri]
            pieces.append(ri if fixed is None else fixed)
            pieces.append(tail)
        if not refs:
            pieces.append(REQUEST_REASON)
        pieces.append('],"sources":' + encode(cited) + self.notes[item] + "}")
        merged: list = []
        for piece in pieces:  # join neighbouring text so a record's loop appends as little as possible
            if merged and type(piece) is str and type(merged[-1]) is str:
                merged[-1] += piece
            else:
                merged.append(piece)
        return merged[0] if len(merged) == 1 else tuple(merged)

    def sections(self, env: Mapping[str, Any], contributing: list[int]) -> tuple[list[int], list[int], list, list]:
        """One record's recommended and not-recommended items in result order, and their frames."""
        bits: dict[int, int] = {}
        for ri in contributing:
            for item, bit in self.rule_item_bits[ri]:
                bits[item] = bits.get(item, 0) | bit
        requested = self.requested(env)
        for item in requested:
            bits.setdefault(item, 0)
        shown, ruled_out = [], []
        for item, b in bits.items():
            section, frame = self.state(item, b, item in requested)
            if section == RECOMMENDED:
                shown.append((self.rec_order[item], item, frame))
            elif section != NONE:
                ruled_out.append((item not in requested, item, frame))
        shown.sort()
        ruled_out.sort()
        return ([i for _, i, _ in shown], [i for _, i, _ in ruled_out],
                [f for _, _, f in shown], [f for _, _, f in ruled_out])

    def requested(self, env: Mapping[str, Any]) -> set[int]:
        index = self.item_index
        return {index[i] for i in env.get(self.rq) or ()} if self.rq else set()

    # --- results ----------------------------------------------------------------------------------
    def summary(self, record_id: Any, env: Mapping[str, Any], tier: str, contributing: list[int]) -> dict:
        """What a one-row-a-record table needs (id, tier, scores, red flags, item ids), without reasons."""
        shown, ruled_out, _, _ = self.sections(env, contributing)
        ids = self.item_ids
        p = self.p
        return {"id": record_id, "status": "ok", "tier": tier,
                "scores": {sid: plain(env.get(sid)) for sid in self.score_ids},
                "red_flags": list(env.get(p.red_flag_question) or []) if p.red_flag_question else [],
                "recommended": [ids[i] for i in shown], "not_recommended": [ids[i] for i in ruled_out]}

    def write(self, record_id: Any, env: Mapping[str, Any], tier: str, contributing: list[int],
              answer_warnings: list[dict] = ()) -> str:
        """The result's JSON text for `env` (answers + facts), its tier and contributing rules (positions)."""
        shown, _, shown_frames, out_frames = self.sections(env, contributing)
        roles = 0
        for item in shown:
            roles |= self.item_roles[item]
        for ri in contributing:
            roles |= self.rule_roles[ri]
        follow_up_code = sum(self.follow_up_bit.get(ri, 0) for ri in contributing)
        warning_code = sum(self.warning_bit.get(ri, 0) for ri in contributing)
        return self.text(record_id, env, tier, contributing, shown_frames, out_frames,
                         self.tail(tier, contributing, roles, follow_up_code, warning_code, answer_warnings))

    def write_many(self, ids: list, envs: list[Mapping[str, Any]], tiers: list[str], contributing: list[list[int]],
                   presence: list[int] | None = None, matrix=None, truths=None,
                   values: Callable[[str], Sequence | None] | None = None) -> list[str]:
        """`write` for a chunk of records (no answer warnings), assembled with array operations.

        Each record's result is a sequence of *units*: its head (id, tier, scores, red flags), the frames of its
        recommended items, the `not_recommended` opening, the frames of its other items and its tail (care team,
        follow-up, rules fired). A frame's unit is a fixed list of piece codes (a text of `self.table`, or a
        placeholder for a text of this chunk: a head, a tail, a varying reason). The item states of all records
        are found with array operations, their units laid out and expanded to piece codes, the placeholders
        resolved, and each record's pieces joined. Only the varying reasons are made record by record.
        `presence`, when given, is each record's `_RecordMemo.presence()` (bit i: `names[i]` has a value),
        computed with the columns; `matrix`, when given, is `contributing` as a records x rules bool array;
        `truths`, when given, is `ColumnRun.truths` for these records; `values`, when given, is a function that
        gives a name's value for each of these records (`ColumnRun.values`), or None to read it from `envs`."""
        if not self.packable or len(self.state_ids) >= _CACHE_LIMIT:
            return [self.write(*args) for args in zip(ids, envs, tiers, contributing)]
        import numpy as np  # only batch runs need it; single assessments start faster without

        m = len(ids)
        if not m:
            return []
        matrix, requested, states, sections = self._chunk_sections(envs, contributing, matrix, values)
        units = self._units()
        codes, record_of = self._chunk_layout(units, states, sections, requested)

        # The chunk's own texts: heads (0..m-1), tails (m..2m-1), request reasons (2m..3m-1), then varying
        # reasons, one per (record, rule) that needs one.
        texts = self._heads(ids, envs, tiers, values)
        texts += self._tails(tiers, contributing, matrix, sections == RECOMMENDED)
        texts += [None] * m
        placeholders = codes < 0
        where = np.where(codes == _HEAD, record_of, np.where(codes == _TAIL, m + record_of, 2 * m + record_of))
        if (codes == _REQUEST).any():
            for k in np.unique(record_of[codes == _REQUEST]).tolist():
                texts[2 * m + k] = self.request_reason(tiers[k], envs[k])
        varying = codes <= _FIRST_RULE
        if varying.any():
            keys = record_of[varying] * len(self.rules) + (_FIRST_RULE - codes[varying])
            needed, inverse = np.unique(keys, return_inverse=True)
            where[varying] = len(texts) + inverse
            texts += self._reasons(needed, envs, presence, truths, values)
        chunk_texts = np.empty(len(texts), dtype=object)
        chunk_texts[:] = texts
        pieces = np.empty(len(codes), dtype=object)
        pieces[~placeholders] = units.table[codes[~placeholders]]
        pieces[placeholders] = chunk_texts[where[placeholders]]
        pieces = pieces.tolist()
        bounds = np.cumsum(np.bincount(record_of, minlength=m)).tolist()
        return ["".join(pieces[a:b]) for a, b in zip([0, *bounds[:-1]], bounds)]

    def summary_many(self, ids: list, envs: Sequence[Mapping[str, Any]], tiers: list[str],
                     contributing: list[list[int]], matrix=None,
                     values: Callable[[str], Sequence | None] | None = None) -> list[dict]:
        """`summary` for a chunk of records, the item lists found with array operations as in `write_many`
        (`values` as there)."""
        if not self.packable or len(self.state_ids) >= _CACHE_LIMIT:
            return [self.summary(*args) for args in zip(ids, envs, tiers, contributing)]
        import numpy as np

        if not ids:
            return []
        _, requested, _, sections = self._chunk_sections(envs, contributing, matrix, values)
        labels = np.array(self.item_ids, dtype=object)
        shown = _row_lists(sections[:, self.rec_items] == RECOMMENDED, labels[self.rec_items])
        ruled_out = sections >= RULED_OUT  # requested items first, then the others, each by item
        out = _row_lists(np.concatenate([ruled_out & requested, ruled_out & ~requested], axis=1),
                         np.concatenate([labels, labels]))
        score_ids = self.score_ids
        scores = zip(*[_column(values, envs, sid) for sid in score_ids]) if score_ids else repeat(())
        flags = _column(values, envs, self.rfq) if self.rfq else repeat(None)
        return [{"id": rid, "status": "ok", "tier": tier, "scores": dict(zip(score_ids, map(plain, score_values))),
                 "red_flags": list(red_flags or []), "recommended": rec, "not_recommended": against}
                for rid, tier, score_values, red_flags, rec, against in zip(ids, tiers, scores, flags, shown, out)]

    def _chunk_sections(self, envs: list, contributing: list[list[int]], matrix, values=None):
        """For a chunk: the records x rules contributing matrix (`matrix` if given), the records x items
        requested matrix, each item's state id (`_chunk_states`) and section. `values` as in `write_many`."""
        import numpy as np

        m = len(envs)
        if matrix is None:
            matrix = np.zeros((m, len(self.rules)), dtype=bool)
            lengths = np.fromiter(map(len, contributing), dtype=np.intp, count=m)
            cells = np.fromiter((ri for rules in contributing for ri in rules), dtype=np.intp,
                                count=int(lengths.sum()))
            matrix[np.repeat(np.arange(m), lengths), cells] = True
        requested = np.zeros((m, len(self.item_ids)), dtype=bool)
        if self.rq:
            index, rq = self.item_index, self.rq
            requests = _column(values, envs, rq)
            req_lists = [items or () for items in requests]
            req_lengths = np.fromiter(map(len, req_lists), dtype=np.intp, count=m)
            req_cells = np.fromiter((index[i] for items in req_lists for i in items), dtype=np.intp,
                                    count=int(req_lengths.sum()))
            requested[np.repeat(np.arange(m), req_lengths), req_cells] = True
        states = self._chunk_states(matrix, requested)
        return matrix, requested, states, self._units().sections[states]

    def _chunk_states(self, contrib, requested):
        """Each record's state of each item (a records x items array of state ids; see `state_id`)."""
        import numpy as np

        m, n_items = requested.shape
        states = np.empty((m, n_items), dtype=np.int64)
        lookups = self.state_lookups
        for item in range(n_items):
            rules = self.item_rules[item]
            codes = _row_codes(contrib[:, rules])
            codes = codes * 2 + requested[:, item]
            lookup = lookups[item]
            if lookup is None and len(rules) <= _LOOKUP_BITS:
                lookup = lookups[item] = np.full(2 << len(rules), -1, dtype=np.int64)
            if lookup is not None:  # state ids by code, filled as codes are met
                found = lookup[codes]
                if found.min() < 0:
                    for code in np.unique(codes[found < 0]).tolist():
                        lookup[code] = self.state_id(item, code >> 1, bool(code & 1))
                    found = lookup[codes]
                states[:, item] = found
                continue
            uniques, inverse = np.unique(codes, return_inverse=True)
            found = [self.state_id(item, code >> 1, bool(code & 1)) for code in uniques.tolist()]
            states[:, item] = np.array(found, dtype=np.int64)[inverse]
        return states

    def _chunk_layout(self, units: _Units, states, sections, requested):
        """Every record's piece codes, one after the other, and the record each code belongs to.

        A record's units in order: head, recommended items (by `rec_order`), the not_recommended opening,
        requested items ruled out, other items ruled out (by item), tail. The first item of each list has the
        unit without the leading comma."""
        import numpy as np

        def item_units(block):
            present = block >= 0
            first = present & (np.cumsum(present, axis=1) == 1)
            return np.where(present, _FIRST_STATE_UNIT + 2 * block + first, -1)

        ruled_out = sections >= RULED_OUT
        column = np.ones((len(states), 1), dtype=np.int64)
        grid = np.concatenate([
            column * _HEAD_UNIT, item_units(np.where(sections == RECOMMENDED, states, -1)[:, self.rec_items]),
            column * _MIDDLE_UNIT, item_units(np.concatenate([np.where(ruled_out & requested, states, -1),
                                                              np.where(ruled_out & ~requested, states, -1)], axis=1)),
            column * _TAIL_UNIT], axis=1)
        rows, cols = np.nonzero(grid >= 0)  # row-major: record by record, in order
        unit_ids = grid[rows, cols]
        lens = units.lengths[unit_ids]
        ends = np.cumsum(lens)
        codes = units.pool[np.arange(int(ends[-1])) - np.repeat(ends - lens, lens)
                           + np.repeat(units.starts[unit_ids], lens)]
        return codes, np.repeat(rows, lens)

    def _heads(self, ids: list, envs: list, tiers: list[str], values=None) -> list[str]:
        """Each record's result up to its recommendations (`head`). `values` as in `write_many`."""
        scores = zip(*[_column(values, envs, sid) for sid in self.score_ids]) if self.score_ids else repeat(())
        flags = _column(values, envs, self.rfq) if self.rfq else repeat(None)
        head = self.head_of
        return [head(rid, tier, score_values, red_flags)
                for rid, tier, score_values, red_flags in zip(ids, tiers, scores, flags)]

    def _tails(self, tiers: list[str], contributing: list[list[int]], contrib, recommended) -> list[str]:
        """Each record's result after its items: care team, follow-up, warnings, rules fired, disclaimer."""
        import numpy as np

        both = np.concatenate([recommended, contrib], axis=1)
        roles = np.zeros((len(both), len(self.role_columns)), dtype=bool)
        for role, columns in enumerate(self.role_columns):
            roles[:, role] = both[:, columns].any(axis=1)
        memo, make = self.tail_heads, self.tail_head
        rule_json, end = self.rule_id_json.__getitem__, "]" + self.disclaimer_text
        out = []
        keys = zip(tiers, _row_codes(roles).tolist(), _row_codes(contrib[:, self.follow_up_rules]).tolist(),
                   _row_codes(contrib[:, self.warning_rules]).tolist())
        for key, fired in zip(keys, contributing):
            head = memo.get(key)
            if head is None:
                head = _remember(memo, key, _SMALL_CACHE, make(*key))
            out.append(head + ",".join(map(rule_json, fired)) + end)
        return out

    def _reasons(self, needed, envs: list, presence: list[int] | None, truths, values=None) -> list[str]:
        """The varying reason of each `needed` (record * rules + rule, in order), made rule by rule from the
        chunk's columns of value texts (`_ValueTexts`; the `or` operand bits of each rule's `because` memo key
        read for the whole chunk at once)."""
        import numpy as np

        records, rules = np.divmod(needed, len(self.rules))
        if presence is None:
            presence = [_presence(self.name_bits, env) for env in envs]
        out: list = [None] * len(needed)
        tables: dict = {}
        columns = _ValueTexts(self, envs, values)
        order = np.argsort(rules, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(rules[order])) + 1):
            ri = int(rules[group[0]])
            bits = self._truth_bits(ri, envs, truths, tables) if self.rule_conditions[ri] else None
            for position, text in zip(group.tolist(), self._rule_reasons(ri, records[group].tolist(), envs,
                                                                          presence, bits, columns)):
                out[position] = text
        return out

    def _rule_reasons(self, ri: int, ks: list[int], envs: list, presence: list[int], bits: list[int] | None,
                      values: _ValueTexts) -> list[str]:
        """Rule `ri`'s reason for each record `ks` of the chunk (the text `_RecordMemo.reason` makes), made
        together: the records are grouped by their `because` memo key (a group's `because` lists the same
        names), and each group's texts are joined from the chunk's columns of value texts. (A memo of whole
        reasons, keyed on every value a rule reads, cost more in keys than it saved: most reasons differ.)"""
        mask = self.rule_mask[ri]
        if bits is None:
            keys = [presence[k] & mask for k in ks]
        else:
            shift = self.presence_bits
            keys = [presence[k] & mask | bits[k] << shift for k in ks]
        groups: dict[int, list[int]] = {}
        for k, key in zip(ks, keys):
            group = groups.get(key)
            if group is None:
                groups[key] = [k]
            else:
                group.append(k)
        made: dict[int, str] = {}
        prefix, rule_text, shapes = self.rule_prefix[ri], self.rule_text[ri], self.because_shapes[ri]
        whole = values.columns  # the names whose texts are made for the whole chunk: taken without a call
        for key, rows in groups.items():
            names = shapes.get(key)
            if names is None:
                names = _remember(shapes, key, _RULE_CACHE, tuple(self.because_names(ri, envs[rows[0]], {})))
            take, count = _taker(rows), len(rows)
            if names:
                because = list(map(",".join, zip(*[
                    values.pieces(name, take, count) if (column := whole.get((name, _PIECE))) is None else take(column)
                    for name in names])))
            else:
                because = [""] * count
            if rule_text is None:
                columns: list = []
                literal = prefix + '"'
                for part, name in self.templates[ri]:
                    literal += part
                    if name is not None:
                        columns += [repeat(literal), values.shown(name, take, count)]
                        literal = ""
                columns += [repeat(literal + '","because":{'), because, repeat("}")]
                texts = map("".join, zip(*columns))
            else:
                head = prefix + rule_text + ',"because":{'
                texts = [head + tail + "}" for tail in because]
            made.update(zip(rows, texts))
        return list(map(made.__getitem__, ks))

    def shown_text(self, name: str, value: Any) -> str:
        """A value's display in a reason (`show_value`), JSON-escaped."""
        if type(value) is bool:
            return "yes" if value else "no"
        return encode(show_value(self.p, name, value))[1:-1]

    def _count_lookups(self, ri: int, lookups: int, hits: int) -> None:
        """Count a rule's reason memo lookups and hits; a rule found less than half of the time over its first
        `_GIVE_UP_LOOKUPS` lookups stops using its memo (too varied to be worth the keys)."""
        before = self.reason_lookups[ri]
        after = self.reason_lookups[ri] = before + lookups
        self.reason_hits[ri] += hits
        if before < _GIVE_UP_LOOKUPS <= after and self.reason_hits[ri] < after // 2:
            self.reason_cache[ri] = None

    def because_names(self, ri: int, env: Mapping[str, Any], traces: dict) -> list[str]:
        """What `Report.because` lists for rule `ri` (`report.because_names`); `traces` memoises derived facts'
        traces for this `env`."""
        return because_names(self.rules[ri].when, env, self.expr_facts, traces)

    def _truth_bits(self, ri: int, envs: list, truths, tables: dict) -> list[int]:
        """Per record of the chunk, which of rule `ri`'s `or` operands are true, as bits (see `rule_conditions`):
        from the column engine's `truths` where given (each condition's operands read once a chunk, as a bit set a
        record, kept in `tables`), else evaluated record by record."""
        conditions = self.rule_conditions[ri]
        bits = None
        for when, offset in conditions:
            codes = tables.get(when.text, False)
            if codes is False:
                table = None if truths is None or len(when.or_terms) > 62 else truths(when.text)
                codes = tables[when.text] = None if table is None else _row_codes(table)
            if codes is None or offset + len(when.or_terms) > 62:
                return [sum(_truths(when.or_terms, env) << offset for when, offset in conditions) for env in envs]
            if len(conditions) == 1:
                return _listed(tables, when.text, codes)  # offset 0
            part = codes << offset
            bits = part if bits is None else bits | part
        return bits.tolist()

    def state_id(self, item: int, bits: int, requested: bool) -> int:
        """A number for the state `(item, bits, requested)` (see `state`); its units for `write_many` are
        `_FIRST_STATE_UNIT + 2 * id` (the frame as is) and the next one (without its leading comma)."""
        key = (item, bits, requested)
        sid = self.state_ids.get(key)
        if sid is None:
            section, frame = self.state(item, bits, requested)
            sid = self.state_ids[key] = len(self.state_ids)
            self.unit_sections.append(section)
            if frame is None:
                self.unit_codes += [(), ()]
                return sid
            codes = []
            for piece in (frame,) if type(frame) is str else frame:
                if type(piece) is str:
                    codes.append(len(self.table))
                    self.table.append(piece)
                else:
                    codes.append(_REQUEST if piece == REQUEST_REASON else _FIRST_RULE - piece)
            self.unit_codes.append(tuple(codes))
            self.unit_codes.append((len(self.table), *codes[1:]))  # a frame starts with a text: ",{..."
            self.table.append(self.table[codes[0]][1:])
        return sid

    def _units(self) -> _Units:
        """The units and texts made so far, as arrays (extended when states were added since the last call)."""
        units = self.units
        if units is None or units.count != len(self.unit_codes):
            self.units = units = _Units.of(self.unit_codes, self.table, self.unit_sections, units)
        return units

    def text(self, record_id: Any, env: Mapping[str, Any], tier: str, contributing: list[int], shown_frames: list,
             out_frames: list, tail: str) -> str:
        """A result's JSON from its frames: the varying reasons are filled in from `env`."""
        memo = _RecordMemo(self, env)
        reasons = memo.reasons
        parts = [self.head(record_id, env, tier)]
        for opening, frames in (("", shown_frames), ('],"not_recommended":[', out_frames)):
            parts.append(opening)
            start = len(parts)
            for frame in frames:
                if type(frame) is str:  # nothing in it varies
                    parts.append(frame)
                    continue
                for piece in frame:
                    if type(piece) is not int:
                        parts.append(piece)
                    elif piece >= 0:
                        text = reasons.get(piece)
                        parts.append(memo.reason(piece) if text is None else text)
                    else:
                        parts.append(self.request_reason(tier, env))
            if len(parts) > start:
                parts[start] = parts[start][1:]  # no comma before the first item
        parts.append(tail)
        return "".join(parts)

    def head(self, record_id: Any, env: Mapping[str, Any], tier: str) -> str:
        """A result up to its recommendations: id, pathway, tier, scores, red flags, `"recommendations":[`."""
        return self.head_of(record_id, tier, tuple(map(env.get, self.score_ids)), env.get(self.rfq) if self.rfq
                            else None)

    def head_of(self, record_id: Any, tier: str, score_values: tuple, red_flags: list | None) -> str:
        """`head` from a record's id, tier, score values (in `score_ids` order) and red flags answer."""
        return "".join((self.head_text, encode(record_id), self.pathway_text, self.tier_text[tier],
                        self.scores_text(score_values), '},"red_flags":', self.list_text(red_flags or []),
                        ',"recommendations":['))

    def tail(self, tier: str, contributing: list[int], roles: int, follow_up_code: int, warning_code: int,
             answer_warnings=()) -> str:
        """A result after its items: `]`, care team (`roles`), follow-up and warnings (the codes of the rules that
        carry them), rules fired, disclaimer. Answer warnings come before the rules' warnings."""
        return (self.tail_head(tier, roles, follow_up_code, warning_code, answer_warnings)
                + ",".join([self.rule_id_json[ri] for ri in contributing]) + "]" + self.disclaimer_text)

    def tail_head(self, tier: str, roles: int, follow_up_code: int, warning_code: int, answer_warnings=()) -> str:
        """`tail` up to the rules fired (`"rules_fired":[`), which depends on these codes alone (`write_many`
        memoises it in `tail_heads`; records with answer warnings are not written there)."""
        warnings = self.warnings_for_code(warning_code)
        if answer_warnings:
            listed = [encode(dict(w)) for w in answer_warnings] + ([warnings[1:-1]] if warnings != "[]" else [])
            warnings = "[" + ",".join(listed) + "]"
        return "".join(('],"care_team":', self.care_team_text(roles), ',"follow_up":',
                        self.follow_up_for_code(tier, follow_up_code), ',"warnings":', warnings, ',"rules_fired":['))

    def request_reason(self, tier: str, env: Mapping[str, Any]) -> str:
        return ('{"rule":' + encode(REQUEST_RULE) + ',"text":' + self.request_texts[tier] + ',"because":{'
                + self.request_key + ":" + encode(list(env.get(self.rq) or [])) + '},"effect":"not_indicated"}')

    # --- cached fragments ------------------------------------------------------------------------
    def care_team_text(self, roles: int) -> str:
        text = self.role_text.get(roles)
        if text is None:
            team = [r for i, r in enumerate(self.role_ids) if roles >> i & 1]
            text = _remember(self.role_text, roles, _SMALL_CACHE, encode(team))
        return text

    def follow_up_for_code(self, tier: str, code: int) -> str:
        """The follow-up's JSON for `tier` and the rules of `follow_up_rules` whose bits are set in `code`."""
        key = (tier, code)
        text = self.follow_up_texts.get(key)
        if text is None:
            rules = [self.rules[ri] for j, ri in enumerate(self.follow_up_rules) if code >> j & 1]
            text = _remember(self.follow_up_texts, key, _SMALL_CACHE, encode(follow_up(self.p.tier(tier), rules)))
        return text

    def warnings_for_code(self, code: int) -> str:
        """The warnings' JSON for the rules of `warning_rules` whose bits are set in `code`."""
        text = self.warnings_texts.get(code)
        if text is None:
            text = "[" + ",".join(self.warning_json[ri] for j, ri in enumerate(self.warning_rules)
                                  if code >> j & 1) + "]"
            _remember(self.warnings_texts, code, _SMALL_CACHE, text)
        return text

    def scores_text(self, values: tuple) -> str:
        """The inside of `scores` for these score values (in `score_ids` order)."""
        text = self.scores.get(values)
        if text is None:
            text = "".join(key + encode(plain(v)) for key, v in zip(self.score_keys, values))
            _remember(self.scores, values, _SMALL_CACHE, text)  # equal numbers (5, 5.0) show alike through `plain`
        return text

    def reason_text(self, ri: int, env: Mapping[str, Any]) -> str:
        """Rule `ri`'s reason with its placeholders filled in from `env`, as JSON text (`report.reason_text`,
        encoded). Each value's display is memoised per name (`_remembered`)."""
        parts = ['"']
        for literal, name in self.templates[ri]:
            parts.append(literal)
            if name is not None:
                parts.append(_remembered(self.shown_memo, name, env.get(name), self.shown_text))
        parts.append('"')
        return "".join(parts)

    def piece(self, name: str, value: Any) -> str:
        """`"name":value` as `because` shows it (`piece_text`), memoised per name (`_remembered`)."""
        return _remembered(self.piece_memo, name, value, self.piece_text)

    def piece_text(self, name: str, value: Any) -> str:
        """`"name":value` as `because` shows it, numbers through `plain` (not memoised)."""
        if type(value) is float:
            value = plain(value)
            if type(value) is float:
                return self.name_json[name] + (float.__repr__(value) if math.isfinite(value) else encode(value))
        return self.name_json[name] + encode(plain(value))

    def list_text(self, values: list) -> str:
        key = tuple(values)
        text = self.lists.get(key)
        if text is None:
            text = _remember(self.lists, key, _SMALL_CACHE, encode(list(values)))
        return text


class _Units:
    """`write_many`'s units as arrays: each unit's start and length in `pool` (its piece codes), the texts the
    codes name (`table`) and each state's section."""

    __slots__ = ("count", "starts", "lengths", "pool", "table", "sections")

    @classmethod
    def of(cls, unit_codes: list[tuple[int, ...]], table: list[str], sections: list[int],
           previous: _Units | None) -> _Units:
        """The arrays for the units so far: `previous`'s, extended with the units and texts added since."""
        import numpy as np

        done = 0 if previous is None else previous.count
        new = unit_codes[done:]
        lengths = np.fromiter(map(len, new), dtype=np.int64, count=len(new))
        base = 0 if previous is None else len(previous.pool)
        starts = base + np.cumsum(lengths) - lengths
        pool = np.fromiter((c for codes in new for c in codes), dtype=np.int64, count=int(lengths.sum()))
        texts = np.empty(len(table) - (0 if previous is None else len(previous.table)), dtype=object)
        texts[:] = table[len(table) - len(texts):]
        self = cls()
        self.count = len(unit_codes)
        if previous is None:
            self.starts, self.lengths, self.pool, self.table = starts, lengths, pool, texts
        else:
            self.starts = np.concatenate([previous.starts, starts])
            self.lengths = np.concatenate([previous.lengths, lengths])
            self.pool = np.concatenate([previous.pool, pool])
            self.table = np.concatenate([previous.table, texts])
        self.sections = np.array(sections, dtype=np.int8)
        return self


class _RecordMemo:
    """What one record's reasons share: name pieces, derived-fact traces and each rule's reason."""

    __slots__ = ("w", "env", "pieces", "traces", "reasons", "sig")

    def __init__(self, writer: ResultWriter, env: Mapping[str, Any]):
        self.w = writer
        self.env = env
        self.pieces: dict[str, str] = {}
        self.traces: dict[str, list[str]] = {}
        self.reasons: dict[int, str] = {}
        self.sig: int | None = None

    def reason(self, ri: int) -> str:
        """`{"rule":…,"text":…,"because":{…}` for rule `ri` (the caller closes it, with its effect if any)."""
        text = self.reasons.get(ri)
        if text is None:
            w = self.w
            cache = w.reason_cache[ri]
            if cache is not None:  # the reason is a function of the values its rule reads: seen before?
                get = self.env.get
                key = tuple(map(get, w.reason_scalars[ri]))
                lists = w.reason_lists[ri]
                if lists:
                    key += tuple(map(_tuple_or_none, map(get, lists)))
                text = cache.get(key)
                w._count_lookups(ri, 1, text is not None)
                if text is None:
                    text = _remember(cache, key, _REASON_CACHE, self.make_reason(ri))
            else:
                text = self.make_reason(ri)
            self.reasons[ri] = text
        return text

    def make_reason(self, ri: int) -> str:
        w = self.w
        rule_text = w.rule_text[ri]
        if rule_text is None:
            rule_text = w.reason_text(ri, self.env)
        return w.rule_prefix[ri] + rule_text + ',"because":{' + self.because(ri) + "}"

    def because(self, ri: int) -> str:
        """The inside of a rule's `because`: `"name":value` for what made it fire, facts traced to inputs."""
        w, env = self.w, self.env
        shapes = w.because_shapes[ri]
        key = self.presence() & w.rule_mask[ri]
        for when, offset in w.rule_conditions[ri]:
            key |= _truths(when.or_terms, env) << (w.presence_bits + offset)
        names = shapes.get(key)
        if names is None:
            names = _remember(shapes, key, _RULE_CACHE, tuple(w.because_names(ri, env, self.traces)))
        pieces = self.pieces
        parts = []
        for name in names:
            piece = pieces.get(name)
            if piece is None:
                piece = pieces[name] = w.piece(name, env[name])
            parts.append(piece)
        return ",".join(parts)

    def presence(self) -> int:
        """Bit i set when the i-th name of `ResultWriter.names` has a value (computed once per record)."""
        sig = self.sig
        if sig is None:
            sig = self.sig = _presence(self.w.name_bits, self.env)
        return sig


def _presence(name_bits: list[tuple[str, int]], env: Mapping[str, Any]) -> int:
    """Bit i set when the i-th name of `ResultWriter.names` has a value in `env`."""
    sig = 0
    for name, bit in name_bits:
        if env.get(name) is not None:
            sig |= bit
    return sig


_BOOLEAN_NAMES = {"true": True, "True": True, "false": False, "False": False}


def _pinned(text: str, symbols: Mapping[str, Any]) -> dict[str, Any] | None:
    """The value each name must have for condition `text` (already checked by the loader) to be true, when the
    condition is an `and` of such pins: `name` or `name == true` (a yes/no answer), `not name`,
    `name == "option"` (a choice), `name == []` (a multi-choice). None for any other condition."""
    try:
        body = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    atoms = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    pinned: dict[str, Any] = {}
    for atom in atoms:
        name, value = None, None
        if isinstance(atom, ast.Name):
            name, value = atom.id, True
        elif isinstance(atom, ast.UnaryOp) and isinstance(atom.op, ast.Not) and isinstance(atom.operand, ast.Name):
            name, value = atom.operand.id, False
        elif (isinstance(atom, ast.Compare) and len(atom.ops) == 1 and isinstance(atom.ops[0], ast.Eq)
              and isinstance(atom.left, ast.Name)):
            right = atom.comparators[0]
            if isinstance(right, ast.Name) and right.id in _BOOLEAN_NAMES:
                name, value = atom.left.id, _BOOLEAN_NAMES[right.id]
            elif isinstance(right, ast.Constant) and type(right.value) in (str, bool):
                name, value = atom.left.id, right.value
            elif isinstance(right, ast.List) and not right.elts:
                name, value = atom.left.id, []
        typ = symbols.get(name)
        if typ is None:
            return None
        expected = {bool: "boolean", str: "choice", list: "multi"}[type(value)]
        if typ.kind != expected or (name in pinned and pinned[name] != value):
            return None
        pinned[name] = value
    return pinned


def _remember(cache: dict, key: Any, limit: int, value: Any) -> Any:
    """Store `value` under `key` unless the cache holds `limit` entries (the first values seen are the common ones)."""
    if len(cache) < limit:
        cache[key] = value
    return value


def _bits(positions) -> int:
    out = 0
    for i in positions:
        out |= 1 << i
    return out


def _row_codes(matrix):
    """Per row of a records x k bool array (k <= 62), an int64 whose bit j is set when the row is true in column j.
    (An int64 matrix product: faster here than `np.packbits` along rows or a weighted sum.)"""
    import numpy as np

    return matrix.astype(np.int64) @ (np.int64(1) << np.arange(matrix.shape[1], dtype=np.int64))


def _row_lists(mask, labels) -> list[list]:
    """Per row of a records x k bool array, the `labels` (k of them) of its true columns, in column order."""
    import numpy as np

    rows, columns = np.nonzero(mask)
    values = labels[columns].tolist()
    ends = np.cumsum(np.bincount(rows, minlength=len(mask))).tolist()
    return [values[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def _truths(terms, env: Mapping[str, Any]) -> int:
    """Bit j set when `terms[j]` is true for `env`."""
    out, bit = 0, 1
    for t in terms:
        if t(env) is True:
            out |= bit
        bit <<= 1
    return out


class _ValueTexts:
    """A chunk's value texts for its reasons: per name, a record's `because` piece (`ResultWriter.piece_text`) and
    its display in a reason (`ResultWriter.shown_text`), looked up by value in memos that outlive the chunk. The
    texts of a name of few values (`ResultWriter.few_values`) are made for the whole chunk at once, when first
    asked for; a number's for the records asked for, until more than half of them have been (the memo of a
    number misses often, so making texts nobody reads costs)."""

    __slots__ = ("w", "envs", "values", "raw", "asked", "columns")

    def __init__(self, writer: ResultWriter, envs: list, values: Callable[[str], Sequence | None] | None):
        self.w = writer
        self.envs = envs
        self.values = values
        self.raw: dict[str, Sequence] = {}  # name -> every record's value
        self.asked: dict[tuple[str, int], int] = {}  # (name, PIECE or SHOWN) -> records asked for so far
        self.columns: dict[tuple[str, int], list[str]] = {}  # (name, PIECE or SHOWN) -> every record's text

    def pieces(self, name: str, take: Callable, count: int) -> Sequence[str]:
        """The `because` pieces of `name` for the records `take` takes (`count` of them)."""
        return self._texts(name, _PIECE, take, count, self.w.piece_memo, self.w.piece_text)

    def shown(self, name: str, take: Callable, count: int) -> Sequence[str]:
        """The displays in a reason of `name`'s values for the records `take` takes (`count` of them)."""
        return self._texts(name, _SHOWN, take, count, self.w.shown_memo, self.w.shown_text)

    def _texts(self, name: str, kind: int, take: Callable, count: int, memos: dict, make) -> Sequence[str]:
        key = (name, kind)
        column = self.columns.get(key)
        if column is None:
            values = self.column(name)
            asked = self.asked[key] = self.asked.get(key, 0) + count
            if asked * 2 <= len(values) and name not in self.w.few_values:
                return _column_texts(memos, name, self.w.multi, take(values), make)
            column = self.columns[key] = _column_texts(memos, name, self.w.multi, values, make)
        return take(column)

    def column(self, name: str) -> Sequence:
        """Each record's value of `name` (see `_column`)."""
        values = self.raw.get(name)
        if values is None:
            values = self.raw[name] = _column(self.values, self.envs, name)
        return values


_PIECE, _SHOWN = 0, 1


def _column(values: Callable[[str], Sequence | None] | None, envs: Sequence[Mapping[str, Any]],
            name: str) -> Sequence:
    """Each record's value of `name`: from `values` (see `write_many`) when it has the name, else from `envs`."""
    column = None if values is None else values(name)
    return [env.get(name) for env in envs] if column is None else column


def _listed(tables: dict, text: str, codes) -> list[int]:
    """`codes.tolist()`, kept in `tables` beside the codes of condition `text` (several rules read one fact's)."""
    key = (text, list)
    listed = tables.get(key)
    if listed is None:
        listed = tables[key] = codes.tolist()
    return listed


def _taker(rows: list[int]):
    """A function that takes the items at `rows` of a list, as a tuple."""
    if len(rows) == 1:
        row = rows[0]
        return lambda column: (column[row],)
    return itemgetter(*rows)


def _remembered(memos: dict, name: str, value: Any, make) -> str:
    """`make(name, value)`, memoised in `memos[name]` by value as `_column_texts` does, for one value."""
    memo = memos.get(name)
    if memo is None:
        memo = memos[name] = {}
    key = tuple(value) if type(value) is list else value
    text = memo.get(key)
    if text is None:
        text = _remember(memo, key, _SMALL_CACHE, make(name, value))
    return text


def _column_texts(memos: dict, name: str, multi: set, values: Sequence, make) -> list[str]:
    """`make(name, value)` for each of `values` (all of name `name`), memoised in `memos[name]` by value (a list's
    as a tuple). A name's values are all of its kind (answers are checked, facts typed), so yes/no values, which
    show unlike the numbers they equal (True == 1), never meet numbers in one memo."""
    memo = memos.get(name)
    if memo is None:
        memo = memos[name] = {}
    keys = values if name not in multi else [None if v is None else tuple(v) for v in values]
    texts = list(map(memo.get, keys))
    if None in texts:
        for j, text in enumerate(texts):
            if text is None:
                texts[j] = _remember(memo, keys[j], _SMALL_CACHE, make(name, values[j]))
    return texts


def _tuple_or_none(value: Any) -> Any:
    return None if value is None else tuple(value)
