"""An ok result as compact JSON text, written straight from the decision (tier + contributing rules).

This is the batch's hot path: byte for byte `json.dumps(report.as_dict(), ensure_ascii=False,
separators=(",", ":"))` (property-tested against `Report`), but without building the result's dicts.

How: an item's place and text depend only on which of the rules that mention it contribute and on whether it
was requested. That is its *state*; each state's text is made once per pathway as a *frame* (the item's header,
citations and every reason that cannot vary, with the positions of the rules whose reason depends on the
record). A record's result is then its frames in order with those reasons filled in. A varying reason is itself
a frame, with a slot for each number or list it shows (`result_memos._RecordMemo.reason`), memoised on the rule's
`because` key and its other values; each slot's text is made once a record, since one value appears in many
reasons of the same result. `write` finds one record's states and writes its text.

Items are numbered by their position in the catalogue and rules by their position in `pathway.rules`.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from itertools import chain
from operator import or_
from typing import TYPE_CHECKING, Any

from backpath.core import tree as T
from backpath.core.outline import (
    FORMAT_VERSION,
    RECOMMENDED,
    REQUEST_RULE,
    RULED_OUT,
    ItemState,
    Section,
    as_answered,
    follow_up,
    item_header,
    plain,
)
from backpath.core.reasons import because_names, show_value
from backpath.core.result_memos import (
    _REASON_ROOM,
    _SMALL_CACHE,
    _RecordMemo,
    _remember,
    _remembered,
    because_key_functions,
)

if TYPE_CHECKING:
    from backpath.core.conditions import Compiled
    from backpath.core.plan import Plan

encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False).encode
_encode_text = json.encoder.encode_basestring  # `encode` of a str, without its checks (C)

_EFFECT_TAIL = {"offer": ',"effect":"offer"}', "consider": ',"effect":"consider"}',
                "advise_against": ',"effect":"advise_against"}'}
# Every memo is bounded (a full one keeps what it has and the rest is computed afresh), so memory stays flat however
# varied the answers. Item states and their frames are memoised by the outline (`outline._STATE_LIMIT`).
_HEAD_CACHE = 1 << 13  # heads after the id (`head_after_id`): about 300 characters each, 2.5 MB at most
_MIDDLE_FRAMES = [('],"not_recommended":[',)]  # between a result's two item lists (`write`)
REQUEST_REASON = -1  # in a frame: the reason of a requested item no rule covers (it lists the record's requests)
# A `because` memo key (`ResultWriter.because_shapes`): which of the rule's inputs have a value in the low bits
# (`ResultWriter.rule_inputs`), the outcome of the tests its explanation makes (`Compiled.decisions`) above them.


class ResultWriter:
    """Writes ok results for one pathway (one per `Plan`)."""

    def __init__(self, plan: Plan):
        p = self.p = plan.pathway
        self.plan = plan
        outline = self.outline = plan.outline
        items = self.item_ids = outline.item_ids
        self.rules = p.rules
        self.item_rule_mask_1 = [mask << 1 for mask in outline.item_rule_mask]  # (`write`: an item state's key)
        self.rule_prefix = ['{"rule":' + encode(r.id) + ',"text":' for r in p.rules]
        self.rule_text = [None if r.reason_names else encode(r.reason) for r in p.rules]
        # A reason with placeholders as its literals and its names, the literals already JSON-escaped and quoted:
        # its JSON text is the literals with each name's display (`reasons.show_value`, escaped) between them.
        self.templates = [_template(r.reason) if r.reason_names else ((), ()) for r in p.rules]
        self.rule_id_json = [encode(r.id) for r in p.rules]
        # A rule whose reason cannot vary: no placeholders, and `because` either empty (`when: true`) or naming
        # only answers that the condition pins to one value whenever it is true (`sciatica`, `not smoker`,
        # `startback_risk == "high"`, `red_flags == []`): its whole reason, written into the item frames.
        self.fixed_reason: list[str | None] = []
        for i, r in enumerate(p.rules):
            pinned = None if r.reason_names else {} if not r.when.names else _pinned(r.when.node, p.symbols)
            if pinned is not None and not set(r.when.names) - set(pinned) and not set(pinned) & set(plan.expr_facts):
                because = ",".join(encode(n) + ":" + encode(pinned[n]) for n in r.when.names)
                self.fixed_reason.append(self.rule_prefix[i] + encode(r.reason) + ',"because":{' + because + "}")
            else:
                self.fixed_reason.append(None)
        # Whether a rule's reason is made for each record it contributes to: it varies, and it is written (the rule
        # mentions an item, and every item a contributing rule mentions is in one of a result's lists).
        mentions = outline.item_rules
        mentioned = {ri for rules in mentions for ri in rules}
        self.needs_reason = [self.fixed_reason[ri] is None and ri in mentioned for ri in range(len(p.rules))]
        self.expr_facts = plan.expr_facts
        # A rule's `because` lists names of its condition and, through derived facts, of their conditions: which
        # ones depends only on which of those names have a value and on which operands of each `or` among those
        # conditions are true. It is memoised per rule on exactly that (`because_shapes`).
        self.rule_inputs = [tuple(sorted(self.inputs(r.when))) for r in p.rules]
        # Per rule, bit j of the low part of its memo key is set when input j has a value; the tests' outcomes start
        # at bit `presence_width[ri]`.
        self.presence_width = [len(names) for names in self.rule_inputs]
        self.name_json = {n: encode(n) + ":" for n in p.symbols}
        self.question_names = frozenset(p.questions)
        # The tests a rule's `because` depends on (`Compiled.decisions`): its condition's, then those of each
        # derived fact it reads (directly or through other facts), as (condition, bit offset) in the high part of
        # its memo key.
        self.rule_conditions: list[tuple] = []
        for ri, r in enumerate(p.rules):
            conditions: list[tuple[Compiled, int, str | None]] = []
            offset = 0
            if r.when.decision_count:
                conditions.append((r.when, offset, None))
                offset += r.when.decision_count
            for f in self.rule_inputs[ri]:
                expr = self.expr_facts.get(f)
                if expr is not None and (expr.decision_count or expr.refute_count):
                    # bit 0: the fact is false (traced to what made it false), then that explanation's tests
                    conditions.append((expr, offset, f))
                    offset += 1 + max(expr.decision_count, expr.refute_count)
            self.rule_conditions.append(tuple((when, offset + self.presence_width[ri], fact)
                                              for when, offset, fact in conditions))
        self.because_shapes: list[dict] = [{} for _ in p.rules]
        self.because_keys: list[Callable[[Mapping[str, Any]], int] | None] = [None] * len(p.rules)  # `because_key`
        # A reason is memoised as a frame (`result_memos._RecordMemo.reason`): numbers and lists are slots in it,
        # filled for each record; its key is the `because` key and the values of the rule's other names.
        kinds = {n: t.kind for n, t in p.symbols.items()}
        self.slot_names = [n for n in p.symbols if kinds[n] in ("number", "multi")]
        self.slot_of = {n: 2 * k for k, n in enumerate(self.slot_names)}
        self.slot_memos: list[dict] = [{} for _ in range(2 * len(self.slot_names))]  # a list's texts (`fill`)
        self.keyed_names = [tuple(n for n in sorted(set(self.rule_inputs[ri]) | set(r.reason_names))
                                  if n not in self.slot_of) for ri, r in enumerate(p.rules)]
        self.reason_frames: list[dict] = [{} for _ in p.rules]
        # A rule whose frame key is the same in every record it fires for (no tests decide its `because`, each name
        # it reads always has a value or is pinned by its condition, each keyed value is pinned): its frame is
        # found once and kept (`constant_frames`), no key made a record. Four of the eight reasons of a record of
        # the bench are of such rules (`no-opioids-chronic`, `stratified-care-medium-risk`...).
        known = plan.program.known[0]
        self.constant_key = []
        for ri, r in enumerate(p.rules):
            pins = _pinned(r.when.node, p.symbols) or {}
            self.constant_key.append(not self.rule_conditions[ri]
                                     and all(n in known or n in pins for n in self.rule_inputs[ri])
                                     and all(n in pins for n in self.keyed_names[ri]))
        self.constant_frames: list[tuple | None] = [None] * len(p.rules)
        self.reason_keys: list[Callable[[Mapping[str, Any]], tuple] | None] = [None] * len(p.rules)  # `reason_key`
        self.reason_room = _REASON_ROOM  # characters the reason frame memos may still keep (`result_memos`)
        # Per name, memos of its values' texts (`result_memos._remembered`): `because`
        # pieces, displays.
        self.piece_memo: dict[str, dict] = {name: {} for name in p.symbols}
        self.shown_memo: dict[str, dict] = {}
        self.item_heads: dict[tuple, str] = {}  # an item frame's head by (item, strength, requested) (`frame`)
        self.notes = [',"advisory_notes":' + encode(plan.notes[item]) if item in plan.notes else "" for item in items]
        self.role_text: dict[int, str] = {}
        # The follow-up and the warnings are made apart: the follow-up depends on the tier and on which rules that
        # carry one contribute (few combinations), the warnings are the warning objects of the rules that carry
        # one. Each is memoised on a bit set of those rules (bit j: the j-th of `follow_up_rules`/`warning_rules`).
        self.follow_up_rules = [ri for ri, r in enumerate(p.rules) if r.follow_up is not None]
        self.warning_rules = [ri for ri, r in enumerate(p.rules) if r.warning]
        self.follow_up_bit = {ri: 1 << j for j, ri in enumerate(self.follow_up_rules)}
        self.warning_bit = {ri: 1 << j for j, ri in enumerate(self.warning_rules)}
        # Per rule, what it adds to a result's tail: its care-team roles, follow-up bit and warning bit.
        self.rule_tail = [(outline.rule_roles[ri], self.follow_up_bit.get(ri, 0), self.warning_bit.get(ri, 0))
                          for ri in range(len(p.rules))]
        # The same as one number a rule, its *tail code*: role bits, then follow-up bits from `follow_up_shift`, then
        # warning bits from `warning_shift`. A record's code is the OR of its items' roles and its rules' codes. Its
        # tail is memoised in two parts: the care team on the role bits, the rest on the tier and the bits above
        # (`after_care_team`). Whole, the tail was too varied to memoise: 9,575 tails in 30,000 bench records, but
        # 583 care teams and 2,734 rests.
        self.follow_up_shift = len(outline.role_ids)
        self.role_mask = (1 << self.follow_up_shift) - 1
        self.warning_shift = self.follow_up_shift + len(self.follow_up_rules)
        self.rule_code = [roles | follow_up_bit << self.follow_up_shift | warning_bit << self.warning_shift
                          for roles, follow_up_bit, warning_bit in self.rule_tail]
        # A rule's layout code (`outline.rule_layout`) and its tail code above it, in one number.
        self.layout_width = 2 * outline.n + len(p.rules)
        self.layout_mask = (1 << self.layout_width) - 1
        self.rule_both = [layout | code << self.layout_width
                          for layout, code in zip(outline.rule_layout, self.rule_code)]
        self.warning_json = [encode({"rule": r.id, "message": r.warning}) if r.warning else "" for r in p.rules]
        self.follow_up_texts: dict[tuple, str] = {}
        self.after_texts: dict[tuple, str] = {}  # (`after_care_team`)
        self.warnings_texts: dict[int, str] = {}
        self.tier_text = {t.id: ',"tier":' + encode(t.id) + ',"tier_title":' + encode(t.title) + ',"scores":{'
                          for t in p.tiers}
        self.head_text = '{"format_version":' + str(FORMAT_VERSION) + ',"id":'
        self.pathway_text = ',"status":"ok","pathway":' + encode({"id": p.id, "version": p.version,
                                                                   "sha256": p.sha256})
        self.end_text = '],"disclaimer":' + encode(p.disclaimer) + "}"
        self.score_ids = [s.id for s in p.scores]
        self.score_keys = [("" if i == 0 else ",") + encode(s.id) + ":" for i, s in enumerate(p.scores)]
        self.scores: dict[tuple, str] = {}  # score values -> the inside of `scores`
        self.lists: dict[tuple, str] = {}
        self.heads: dict[tuple, str] = {}  # (`head_after_id`)
        self.rfq = p.red_flag_question
        self.rq = p.request_question
        self.request_key = encode(p.request_question) if p.request_question else ""
        self.request_texts = {t.id: encode(outline.request_text(t.id)) for t in p.tiers}

    def because_key(self, ri: int) -> Callable[[Mapping[str, Any]], int]:
        """Rule `ri`'s `because` memo key as a compiled function of an env, made when the rule first needs it
        (each on its own: a run meets a few dozen of a pathway's rules, and compiling them all cost 30 ms)."""
        fn = self.because_keys[ri]
        if fn is None:
            [fn] = because_key_functions([(self.rule_inputs[ri], self.rule_conditions[ri])],
                                         f"{self.p.id} {self.p.rules[ri].id}", None, *self.plan.program.known)
            self.because_keys[ri] = fn
        return fn

    def reason_key(self, ri: int) -> Callable[[Mapping[str, Any]], tuple]:
        """Rule `ri`'s reason frame key (`because_key_functions` with its `keyed_names`) as a compiled function of
        an env, made when the rule first needs it."""
        fn = self.reason_keys[ri]
        if fn is None:
            [fn] = because_key_functions([(self.rule_inputs[ri], self.rule_conditions[ri])],
                                         f"{self.p.id} {self.p.rules[ri].id}", [self.keyed_names[ri]],
                                         *self.plan.program.known)
            self.reason_keys[ri] = fn
        return fn

    def inputs(self, when) -> set[str]:
        """Every name `when` reads, directly or through derived facts."""
        out = set()
        for name in when.names:
            out.add(name)
            if name in self.expr_facts:
                out |= self.inputs(self.expr_facts[name])
        return out

    # --- item frames -----------------------------------------------------------------------------
    def frame_of(self, item: int, state: ItemState) -> tuple:
        """The item's frame for its state (made once, kept on the state with its first-of-a-list form, `first`)."""
        frame = state.frame
        if frame is None:
            if state.section == RULED_OUT:
                refs = [(ri, _EFFECT_TAIL[effect]) for ri, effect in state.refs]
            else:
                refs = [(ri, "}") for ri, _ in state.refs]
            frame = self.frame(item, state.strength if state.section == RECOMMENDED else None, state.requested, refs)
            state.first = (frame[0][1:], *frame[1:])
            state.frame = frame
        return frame

    def section_frames(self, section: Section) -> list:
        """A section's frames (kept on it): each fixed state's, the first item's in its first-of-a-list form, None
        for the items whose state is the record's (`Section.var`)."""
        frames = [None if state is None else state.frame or self.frame_of(item, state) for item, state in
                  zip(section.items, section.states)]
        if frames and section.states[0] is not None:
            frames[0] = section.states[0].first
        section.frames = frames
        return frames

    def frame(self, item: int, strength: str | None, requested: bool, refs: list[tuple[int, str]]) -> tuple:
        """An item's JSON as text pieces, with the position of each rule whose reason depends on the record (one
        piece when nothing in it varies).

        It starts `,{"id":…,"reasons":[` (the caller drops the comma before a list's first item; `code` is the
        strength, None when not recommended); each reason is followed by its close (`}` or its effect) and the
        item ends with its sources, advisory notes and `}`. A reason that cannot vary (no placeholders, nothing
        in `because`) is written into the text. With no refs (a request no rule covers), the one reason is
        `REQUEST_REASON`, which lists the record's requests. Neighbouring text is one piece, so a record's loop
        appends as little as possible."""
        head_key = (item, strength, requested)
        text = self.item_heads.get(head_key)
        if text is None:
            text = self.item_heads[head_key] = "," + encode(item_header(self.p, self.item_ids[item], strength,
                                                                        requested))[:-1] + ',"reasons":['
        pieces: list = []
        for k, (ri, tail) in enumerate(refs):
            if k:
                text += ","
            fixed = self.fixed_reason[ri]
            if fixed is None:
                pieces += (text, ri)
                text = tail
            else:
                text += fixed + tail
        if not refs:
            pieces += (text, REQUEST_REASON)
            text = ""
        cited = self.plan.sources(self.item_ids[item], [self.rules[ri] for ri, _ in refs], not refs)
        pieces.append(text + '],"sources":' + encode(cited) + self.notes[item] + "}")
        return tuple(pieces)

    # --- results ----------------------------------------------------------------------------------
    def write(self, record_id: Any, env: Mapping[str, Any], tier: str, contributing: list[int],
              answer_warnings: Sequence[Mapping[str, Any]] = ()) -> str:
        """The result's JSON text for `env` (answers + facts), its tier and contributing rules (positions).

        Its two item lists come from the outline's memoised sections (`outline.section_pair`: their frames kept on
        them), with the frames of the items more than one rule mentions looked up for the record. A frame's pieces
        are text, or the position of a rule whose reason depends on the record (`REQUEST_REASON` for the requests
        no rule covers). Those reasons are made
        first, one per contributing rule that needs one, and every piece is then looked up in them at once
        (`texts.get(piece, piece)`: a text is not a key, so it stands for itself)."""
        outline = self.outline
        # One OR over the rules gives both the record's layout code (low bits) and its tail code (`rule_both`).
        both = reduce(or_, map(self.rule_both.__getitem__, contributing), 0)
        asked = outline.asked(env)
        shown, ruled_out, rules, uncovered = outline.section_pair(both & self.layout_mask, asked)
        count = len(shown.items)
        frames = (shown.frames or self.section_frames(shown)) + _MIDDLE_FRAMES \
            + (ruled_out.frames or self.section_frames(ruled_out))
        masks, state_gets = self.item_rule_mask_1, outline.state_gets
        rules_1 = rules << 1
        for offset, section in ((0, shown), (count + 1, ruled_out)):
            for k, item in section.var:  # the items more than one rule mentions: their state is the record's
                key = rules_1 & masks[item]  # (`outline.item_state`'s key)
                if asked:
                    key |= asked >> item & 1
                state = state_gets[item](key) or outline.item_state(item, rules, asked)
                frame = state.frame or self.frame_of(item, state)
                frames[offset + k] = state.first if k == 0 else frame
        code = (both >> self.layout_width) | shown.roles
        texts: dict[int, str] = {}
        needed = list(filter(self.needs_reason.__getitem__, contributing))
        if needed:
            _RecordMemo(self, env).reasons(needed, texts)
        if uncovered:
            texts[REQUEST_REASON] = self.request_reason(tier, env)
        rule_id_json = self.rule_id_json
        pieces = list(chain.from_iterable(frames))
        # The head: the id, then pathway, tier, scores, red flags and `"recommendations":[` (`head_after_id`).
        head_key = (tier, *map(env.get, self.score_ids), *((env.get(self.rfq) if self.rfq else None) or ()))
        parts = [self.head_text, _encode_text(record_id) if type(record_id) is str else encode(record_id),
                 self.heads.get(head_key) or self.head_after_id(head_key)]
        parts += map(texts.get, pieces, pieces) if texts else pieces
        roles = code & self.role_mask
        rest = code >> self.follow_up_shift
        parts += ('],"care_team":', self.role_text.get(roles) or self.care_team_text(roles),
                  self.after_care_team(tier, rest, answer_warnings) if answer_warnings else
                  self.after_texts.get((tier, rest)) or self.after_care_team(tier, rest),
                  ",".join(map(rule_id_json.__getitem__, contributing)), self.end_text)
        return "".join(parts)

    def after_care_team(self, tier: str, rest: int, answer_warnings: Sequence[Mapping[str, Any]] = ()) -> str:
        """A result's follow-up and warnings, up to `"rules_fired":[`, for its tier and the follow-up and warning
        bits of its tail code (`rest`: the code without its role bits); memoised on those when there are no answer
        warnings."""
        follow_up_code = rest & ((1 << len(self.follow_up_rules)) - 1)
        warnings = self.warnings_for_code(rest >> len(self.follow_up_rules))
        if answer_warnings:
            listed = [encode(dict(w)) for w in answer_warnings] + ([warnings[1:-1]] if warnings != "[]" else [])
            warnings = "[" + ",".join(listed) + "]"
        text = ',"follow_up":' + self.follow_up_for_code(tier, follow_up_code) + ',"warnings":' + warnings \
            + ',"rules_fired":['
        if not answer_warnings:
            _remember(self.after_texts, (tier, rest), _SMALL_CACHE, text)
        return text

    def shown_text(self, name: str, value: Any) -> str:
        """A value's display in a reason (`show_value`), JSON-escaped."""
        if type(value) is bool:
            return "yes" if value else "no"
        return encode(show_value(self.p, name, value))[1:-1]

    def because_names(self, ri: int, env: Mapping[str, Any], traces: dict) -> list[str]:
        """What `Report.because` lists for rule `ri` (`report.because_names`); `traces` memoises derived facts'
        traces for this `env`."""
        return because_names(self.rules[ri].when, env, self.expr_facts, traces)

    def request_reason(self, tier: str, env: Mapping[str, Any]) -> str:
        return ('{"rule":' + encode(REQUEST_RULE) + ',"text":' + self.request_texts[tier] + ',"because":{'
                + self.request_key + ":" + encode(list(env.get(self.rq or "") or [])) + '},"effect":"not_indicated"}')

    # --- cached fragments ------------------------------------------------------------------------
    def care_team_text(self, roles: int) -> str:
        text = self.role_text.get(roles)
        if text is None:
            text = _remember(self.role_text, roles, _SMALL_CACHE, encode(self.outline.care_team(roles)))
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

    def head_after_id(self, key: tuple) -> str:
        """A result's head after its id, for `key`: the tier, the score values (in `score_ids` order) and the red
        flags; memoised on it (a few thousand combinations where scores and red flags are many: 30,000 bench
        records have about 1,000)."""
        scores = len(self.score_ids)
        text = (self.pathway_text + self.tier_text[key[0]] + self.scores_text(key[1:1 + scores]) + '},"red_flags":'
                + self.list_text(list(key[1 + scores:])) + ',"recommendations":[')
        return _remember(self.heads, key, _HEAD_CACHE, text)

    def scores_text(self, values: tuple) -> str:
        """The inside of `scores` for these score values (in `score_ids` order)."""
        text = self.scores.get(values)
        if text is None:
            text = "".join(key + encode(plain(v)) for key, v in zip(self.score_keys, values))
            _remember(self.scores, values, _SMALL_CACHE, text)  # equal numbers (5, 5.0) show alike through `plain`
        return text

    def piece(self, name: str, value: Any) -> str:
        """`"name":value` as `because` shows it (`piece_text`), memoised per name (`_remembered`)."""
        return _remembered(self.piece_memo, name, value, self.piece_text)

    def float_text(self, name: str, value: float) -> str:
        """A decimal number as both `because` and a reason's text show it: an answer as given (a whole one as a
        whole number, `as_answered`), a fact or score rounded (`plain`). Floats in a record are finite (answers
        are checked, arithmetic that is not finite is unknown); any other goes the general way (`piece_text`)."""
        if not math.isfinite(value):
            return encode(show_value(self.p, name, value))[1:-1]
        if name in self.question_names:
            return int.__repr__(int(value)) if value.is_integer() else float.__repr__(value)
        shown = plain(value)
        return float.__repr__(shown) if type(shown) is float else int.__repr__(shown)

    def piece_text(self, name: str, value: Any) -> str:
        """`"name":value` as `because` shows it, numbers through `plain` (answers through `as_answered`; not
        memoised)."""
        if type(value) is float:
            value = as_answered(value) if name in self.p.questions else plain(value)
            if type(value) is float:
                return self.name_json[name] + (float.__repr__(value) if math.isfinite(value) else encode(value))
        return self.name_json[name] + encode(plain(value))

    def list_text(self, values: list) -> str:
        key = tuple(values)
        text = self.lists.get(key)
        if text is None:
            text = _remember(self.lists, key, _SMALL_CACHE, encode(list(values)))
        return text


def _template(reason: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A reason's literals (one more than its placeholders, JSON-escaped, the first and last with the text's
    quotes) and its placeholders' names."""
    literals, names = ['"'], []
    for literal, name, _, _ in string.Formatter().parse(reason):
        literals[-1] += encode(literal)[1:-1]
        if name is not None:
            names.append(name)
            literals.append("")
    literals[-1] += '"'
    return tuple(literals), tuple(names)


def _pinned(node: T.Node, symbols: Mapping[str, Any]) -> dict[str, Any] | None:
    """The value each name must have for the condition (its checked tree) to be true, when the condition is an
    `and` of such pins: `name` or `name == true` (a yes/no answer), `not name`, `name == "option"` (a choice),
    `name == []` (a multi-choice). None for any other condition."""
    atoms = node.parts if isinstance(node, T.And) else (node,)
    pinned: dict[str, Any] = {}
    for atom in atoms:
        name: str | None = None
        value: Any = None
        if isinstance(atom, T.Var):
            name, value = atom.name, True
        elif isinstance(atom, T.Not) and isinstance(atom.operand, T.Var):
            name, value = atom.operand.name, False
        elif isinstance(atom, T.Compare) and atom.op == "==" and isinstance(atom.left, T.Var) \
                and isinstance(atom.right, T.Const):
            right = atom.right.value
            if type(right) in (str, bool):
                name, value = atom.left.name, right
            elif atom.as_sets and right == frozenset():
                name, value = atom.left.name, []
        typ = symbols.get(name) if name is not None else None
        if name is None or typ is None:
            return None
        expected = {bool: "boolean", str: "choice", list: "multi"}[type(value)]
        if typ.kind != expected or (name in pinned and pinned[name] != value):
            return None
        pinned[name] = value
    return pinned
