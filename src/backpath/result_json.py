"""An ok result as compact JSON text, written straight from the decision (tier + contributing rules).

This is the batch's hot path: byte for byte `json.dumps(report.as_dict(), ensure_ascii=False,
separators=(",", ":"))` (property-tested against `Report`), but without building the result's dicts. What
does not depend on the record is encoded once per pathway (item headers, citations, rule ids, constant
reason texts); what does is memoised per record (each name's `"name":value` piece, each derived fact's
trace, each rule's `because`), since one value appears in many reasons of the same result.

Items are numbered by their position in the catalogue and rules by their position in `pathway.rules`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .report import FORMAT_VERSION, NO_RULE_FOR_REQUEST, REQUEST_RULE, _item_header, plain, reason_text

if TYPE_CHECKING:
    from .engine import _Plan

encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

OFFER, CONSIDER = 0, 1
_STRENGTH = ("offer", "consider")
_EFFECT_TAIL = {"offer": ',"effect":"offer"}', "consider": ',"effect":"consider"}',
                "advise_against": ',"effect":"advise_against"}'}
_SCALARS = (str, int, bool)
_CACHE_LIMIT = 1 << 16  # entries kept per cache: bounds memory however varied the answers (then computed afresh)


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
        self.rule_id_json = [encode(r.id) for r in p.rules]
        # A rule with a fixed reason text and nothing in `because` (e.g. `when: true`): its whole reason.
        self.fixed_reason = [self.rule_prefix[i] + encode(r.reason) + ',"because":{}'
                             if not r.reason_names and not r.when.names else None for i, r in enumerate(p.rules)]
        self.rule_names = [tuple(r.when.names) if r.when.explains_all else None for r in p.rules]
        rank = p.tier_rank
        self.rec_order = {i: (rank[p.catalogue[item].tier], i) for i, item in enumerate(items)}
        self.expr_facts = plan.expr_facts
        self.trace_names = {f: (tuple(e.names) if e.explains_all else None) for f, e in plan.expr_facts.items()}
        # A rule's `because` lists names of its condition and, through derived facts, of their conditions. With
        # no `or` among them, which names it lists depends only on which of them have a value: memoise it per
        # rule and presence pattern (`because_shapes`; None where an `or` makes it depend on more).
        closures = [self.closure(r.when) for r in p.rules]
        self.names = sorted({n for c in closures if c is not None for n in c})
        bit = {n: 1 << i for i, n in enumerate(self.names)}
        self.name_bits = [(n, bit[n]) for n in self.names]
        self.name_json = {n: encode(n) + ":" for n in p.symbols}
        self.rule_mask = [_bits(self.names.index(n) for n in c) if c is not None else 0 for c in closures]
        self.because_shapes: list[dict[int, tuple[str, ...]] | None] = [None if c is None else {} for c in closures]
        # With an `or`, they depend on the values of every name the condition reads, through derived facts.
        self.rule_inputs = [tuple(sorted(self.inputs(r.when))) for r in p.rules]
        self.or_shapes: list[dict[tuple, tuple[str, ...]]] = [{} for _ in p.rules]
        self.frames: dict[tuple, tuple[str, list[str]]] = {}
        self.notes = [',"advisory_notes":' + encode(plan.notes[item]) if item in plan.notes else "" for item in items]
        roles = plan.role_index
        self.item_roles = [_bits(roles[c] for c in p.catalogue[item].care_team) for item in items]
        self.rule_roles = [_bits(roles[c] for c in r.care_team) for r in p.rules]
        self.role_text: dict[int, str] = {}
        self.role_ids = [role for role, _ in p.care_roles]
        self.rule_has_extras = [r.follow_up is not None or bool(r.warning) for r in p.rules]
        self.extras_text: dict[tuple, str] = {}
        self.tier_text = {t.id: ',"tier":' + encode(t.id) + ',"tier_title":' + encode(t.title) + ',"scores":{'
                          for t in p.tiers}
        self.head_text = '{"format_version":' + str(FORMAT_VERSION) + ',"id":'
        self.pathway_text = ',"status":"ok","pathway":' + encode({"id": p.id, "version": p.version,
                                                                   "sha256": p.sha256})
        self.disclaimer_text = ',"disclaimer":' + encode(p.disclaimer) + "}"
        self.score_ids = [s.id for s in p.scores]
        self.score_keys = [("" if i == 0 else ",") + encode(s.id) + ":" for i, s in enumerate(p.scores)]
        self.values: dict[tuple, str] = {}  # (name, scalar value) -> its JSON text
        self.pieces: dict[tuple, str] = {}  # (name, value or tuple of a list's values) -> `"name":value`
        self.reason_texts: dict[tuple, str] = {}
        self.lists: dict[tuple, str] = {}
        self.rfq = p.red_flag_question
        self.rq = p.request_question
        self.request_key = encode(p.request_question) if p.request_question else ""
        self.request_texts = {t.id: encode(t.preempt_reason if t.preempts and t.preempt_reason
                                           else p.unrequested_reason or NO_RULE_FOR_REQUEST) for t in p.tiers}

    def closure(self, when) -> set[str] | None:
        """Every name `when` can list in `because`, through derived facts; None when an `or` is involved."""
        if not when.explains_all:
            return None
        out = set()
        for name in when.names:
            out.add(name)
            if name in self.expr_facts:
                inner = self.closure(self.expr_facts[name])
                if inner is None:
                    return None
                out |= inner
        return out

    def outline(self, env: Mapping[str, Any], contributing: list[int]):
        """Which items the contributing rules recommend (`rec`: item -> [best strength, [(rule, strength)…]])
        and rule out (`against`: item -> [rule…]), the requested items, and those no rule speaks to."""
        rec: dict[int, list] = {}
        against: dict[int, list[int]] = {}
        rule_rec, rule_against = self.rule_rec, self.rule_against
        for ri in contributing:
            for item, code in rule_rec[ri]:
                entry = rec.get(item)
                if entry is None:
                    rec[item] = [code, [(ri, code)]]
                else:
                    entry[1].append((ri, code))
                    if code < entry[0]:
                        entry[0] = code
            for item in rule_against[ri]:
                refs = against.get(item)
                if refs is None:
                    against[item] = [ri]
                else:
                    refs.append(ri)

        requested_list = list(env.get(self.rq) or []) if self.rq else []
        index = self.item_index
        requested = {index[i] for i in requested_list}
        unrequested = [i for i in requested if i not in rec and i not in against]

        return rec, against, requested_list, requested, unrequested

    def summary(self, record_id: Any, env: Mapping[str, Any], tier: str, contributing: list[int]) -> dict:
        """What a one-row-a-record table needs (id, tier, scores, red flags, item ids), without reasons."""
        rec, against, _, requested, unrequested = self.outline(env, contributing)
        ids = self.item_ids
        p = self.p
        return {"id": record_id, "status": "ok", "tier": tier,
                "scores": {sid: plain(env.get(sid)) for sid in self.score_ids},
                "red_flags": list(env.get(p.red_flag_question) or []) if p.red_flag_question else [],
                "recommended": [ids[i] for i in sorted((i for i in rec if i not in against),
                                                       key=self.rec_order.__getitem__)],
                "not_recommended": [ids[i] for i in sorted(list(against) + unrequested,
                                                           key=lambda i: (i not in requested, i))]}

    def inputs(self, when) -> set[str]:
        """Every name `when` reads, directly or through derived facts."""
        out = set()
        for name in when.names:
            out.add(name)
            if name in self.expr_facts:
                out |= self.inputs(self.expr_facts[name])
        return out

    # --- the whole result ------------------------------------------------------------------------
    def write(self, record_id: Any, env: Mapping[str, Any], tier: str, contributing: list[int],
              answer_warnings: list[dict] = ()) -> str:
        """The result's JSON text for `env` (answers + facts), its tier and contributing rules (positions)."""
        rec, against, requested_list, requested, unrequested = self.outline(env, contributing)
        memo = _RecordMemo(self, env)
        parts = [self.head_text, _id_text(record_id), self.pathway_text, self.tier_text[tier]]
        for key, sid in zip(self.score_keys, self.score_ids):
            parts.append(key)
            parts.append(self.value_text(sid, plain(env.get(sid))))
        parts.append('},"red_flags":')
        parts.append(self.list_text(env.get(self.rfq) or [] if self.rfq else []))

        parts.append(',"recommendations":[')
        shown = sorted((i for i in rec if i not in against), key=self.rec_order.__getitem__)
        roles = 0
        item_roles = self.item_roles
        frames = self.frames
        reasons = memo.reasons
        first = True
        for item in shown:
            roles |= item_roles[item]
            code, refs = rec[item]
            key = (item, code, item in requested, tuple(refs))
            frame = frames.get(key)
            if frame is None:
                frame = _remember(frames, key, self.frame(item, code, key[2], [(ri, "}") for ri, _ in refs], False))
            for piece in frame:
                if type(piece) is int:
                    text = reasons.get(piece)
                    parts.append(memo.reason(piece) if text is None else text)
                else:
                    parts.append(piece[1:] if first else piece)
                    first = False

        parts.append('],"not_recommended":[')
        ruled_out = sorted(list(against) + unrequested, key=lambda i: (i not in requested, i))
        first = True
        for item in ruled_out:
            refs = against.get(item)
            if refs is None:  # requested, but no rule speaks to it
                head, tail = self.frame(item, None, True, [], True)
                parts.append(head[1:] if first else head)
                first = False
                parts.append('{"rule":' + encode(REQUEST_RULE) + ',"text":' + self.request_texts[tier]
                             + ',"because":{' + self.request_key + ":" + encode(requested_list)
                             + '},"effect":"not_indicated"}')
                parts.append(tail)
                continue
            entry = rec.get(item)
            key = (item, item in requested, tuple(refs), None if entry is None else tuple(entry[1]))
            frame = frames.get(key)
            if frame is None:
                effects = [(ri, _EFFECT_TAIL["advise_against"]) for ri in refs]
                if entry is not None:
                    effects += [(ri, _EFFECT_TAIL[_STRENGTH[code]]) for ri, code in entry[1]]
                frame = _remember(frames, key, self.frame(item, None, key[1], effects, False))
            for piece in frame:
                if type(piece) is int:
                    text = reasons.get(piece)
                    parts.append(memo.reason(piece) if text is None else text)
                else:
                    parts.append(piece[1:] if first else piece)
                    first = False

        rule_roles = self.rule_roles
        for ri in contributing:
            roles |= rule_roles[ri]
        parts.append('],"care_team":')
        parts.append(self.care_team_text(roles))
        parts.append(self.extras(tier, tuple([ri for ri in contributing if self.rule_has_extras[ri]]),
                                 answer_warnings))
        parts.append(',"rules_fired":[')
        parts.append(",".join([self.rule_id_json[ri] for ri in contributing]))
        parts.append("]")
        parts.append(self.disclaimer_text)
        return "".join(parts)

    # --- cached fragments ------------------------------------------------------------------------
    def frame(self, item: int, code: int | None, requested: bool, refs: list[tuple[int, str]],
              unrequested: bool) -> tuple:
        """An item's JSON as text pieces and the positions of rules whose reason depends on the record.

        The item starts `,{"id":…,"reasons":[` (the caller drops the comma for a list's first item; `code` is
        the strength, None when not recommended); each reason is followed by its close (`}` or its effect)
        and the item ends with its sources, advisory notes and `}`. A reason that cannot vary (no placeholders,
        nothing in `because`) is written into the text. With no refs (a request no rule covers), the result is
        (head, tail) around the one reason the caller writes."""
        entry = _item_header(self.p, self.item_ids[item], None if code is None else _STRENGTH[code], requested)
        pieces: list = ["," + encode(entry)[:-1] + ',"reasons":[']
        rules = tuple(ri for ri, _ in refs)
        cited = self.plan.sources(self.item_ids[item], [self.rules[ri] for ri in rules], unrequested)
        sources = '],"sources":' + encode(cited) + self.notes[item] + "}"
        if not refs:
            return pieces[0], sources
        for k, (ri, tail) in enumerate(refs):
            if k:
                pieces.append(",")
            fixed = self.fixed_reason[ri]
            pieces.append(ri if fixed is None else fixed)
            pieces.append(tail)
        pieces.append(sources)
        merged: list = []
        for piece in pieces:  # join neighbouring text so the record's loop appends as little as possible
            if merged and type(piece) is str and type(merged[-1]) is str:
                merged[-1] += piece
            else:
                merged.append(piece)
        return tuple(merged)

    def care_team_text(self, roles: int) -> str:
        text = self.role_text.get(roles)
        if text is None:
            text = _remember(self.role_text, roles, encode([r for i, r in enumerate(self.role_ids) if roles >> i & 1]))
        return text

    def extras(self, tier: str, rules: tuple[int, ...], answer_warnings) -> str:
        """`,"follow_up":…,"warnings":…` from the tier and the contributing rules that carry either."""
        key = (tier, rules)
        text = self.extras_text.get(key) if not answer_warnings else None
        if text is None:
            tier_def = self.p.tier(tier)
            review = tier_def.follow_up.review_in_weeks
            nets = [tier_def.follow_up.safety_net] if tier_def.follow_up.safety_net else []
            warnings = [dict(w) for w in answer_warnings]
            for ri in rules:
                rule = self.rules[ri]
                if rule.follow_up is not None:
                    if rule.follow_up.review_in_weeks is not None:
                        review = rule.follow_up.review_in_weeks if review is None \
                            else min(review, rule.follow_up.review_in_weeks)
                    if rule.follow_up.safety_net and rule.follow_up.safety_net not in nets:
                        nets.append(rule.follow_up.safety_net)
                if rule.warning:
                    warnings.append({"rule": rule.id, "message": rule.warning})
            text = (',"follow_up":' + encode({"review_in_weeks": plain(review), "safety_net": " ".join(nets)})
                    + ',"warnings":' + encode(warnings))
            if not answer_warnings:
                _remember(self.extras_text, key, text)
        return text

    def value_text(self, name: str, value: Any) -> str:
        """A value's JSON text, cached for text, true/false and whole numbers (a name's values have one type).

        Floats are not cached: 0.0 == 0 and -0.0 == 0.0 as keys, but their JSON differs."""
        kind = type(value)
        if kind is float and math.isfinite(value):
            return float.__repr__(value)
        if kind in _SCALARS:
            key = (name, value)
            text = self.values.get(key)
            if text is None:
                text = _remember(self.values, key, encode(value))
            return text
        return encode(value)

    def piece(self, name: str, value: Any) -> str:
        """`"name":value` as `because` shows it (numbers through `plain`), cached but for fractions."""
        kind = type(value)
        if kind is float:
            value = plain(value)
            if type(value) is float:
                return self.name_json[name] + (float.__repr__(value) if math.isfinite(value) else encode(value))
            kind = int
        key = (name, tuple(value)) if kind is list else (name, value)
        text = self.pieces.get(key)
        if text is None:
            text = self.name_json[name] + encode(plain(value))
            _remember(self.pieces, key, text)
        return text

    def list_text(self, values: list) -> str:
        key = tuple(values)
        text = self.lists.get(key)
        if text is None:
            text = _remember(self.lists, key, encode(list(values)))
        return text


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
            rule_text = w.rule_text[ri]
            if rule_text is None:
                rule_text = self.reason_text(ri)
            text = self.reasons[ri] = w.rule_prefix[ri] + rule_text + ',"because":{' + self.because(ri) + "}"
        return text

    def reason_text(self, ri: int) -> str:
        w, env = self.w, self.env
        rule = w.rules[ri]
        key = (ri, *[_hashable(env.get(n)) for n in rule.reason_names])
        text = w.reason_texts.get(key)
        if text is None:
            text = encode(reason_text(w.p, rule, env))
            _remember(w.reason_texts, key, text)
        return text

    def because(self, ri: int) -> str:
        """The inside of a rule's `because`: `"name":value` for what made it fire, facts traced to inputs."""
        w, env = self.w, self.env
        shapes = w.because_shapes[ri]
        if shapes is None:  # an `or` somewhere: which names count depends on the values, not just their presence
            key = tuple([_hashable(env.get(n)) for n in w.rule_inputs[ri]])
            names = w.or_shapes[ri].get(key)
            if names is None:
                names = _remember(w.or_shapes[ri], key, tuple(self.because_names(ri)))
        else:  # otherwise only on which of the names have a value
            sig = self.presence() & w.rule_mask[ri]
            names = shapes.get(sig)
            if names is None:
                names = _remember(shapes, sig, tuple(self.because_names(ri)))
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
            env = self.env
            sig = 0
            for name, bit in self.w.name_bits:
                if env.get(name) is not None:
                    sig |= bit
            self.sig = sig
        return sig

    def because_names(self, ri: int) -> list[str]:
        """What `Report.because` lists for rule `ri`, in its order: each name that made the rule fire and has a
        value, a derived fact followed by the names it came from, each name once."""
        w, env = self.w, self.env
        names = w.rule_names[ri]
        if names is None:
            names = w.rules[ri].when.explain(env)
        out: dict[str, None] = {}
        expr_facts = w.expr_facts
        for name in names:
            if name in out or env.get(name) is None:
                continue
            out[name] = None
            if name in expr_facts:
                for inner in self.trace(name):
                    if inner not in out:
                        out[inner] = None
        return list(out)

    def trace(self, fact: str) -> list[str]:
        """The names (with a value) a derived fact's value came from, recursively; repeats are dropped later."""
        trace = self.traces.get(fact)
        if trace is None:
            w, env = self.w, self.env
            names = w.trace_names[fact]
            if names is None:
                names = w.expr_facts[fact].explain(env)
            trace = []
            for name in names:
                if env.get(name) is None:
                    continue
                trace.append(name)
                if name in w.expr_facts:
                    trace.extend(self.trace(name))
            self.traces[fact] = trace
        return trace


def _remember(cache: dict, key: Any, value: Any) -> Any:
    """Store `value` under `key` unless the cache is full (the first values seen are the common ones)."""
    if len(cache) < _CACHE_LIMIT:
        cache[key] = value
    return value


def _id_text(record_id: Any) -> str:
    return encode(record_id)


def _bits(positions) -> int:
    out = 0
    for i in positions:
        out |= 1 << i
    return out


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
