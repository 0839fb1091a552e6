"""The memos of a JSON result writer (`result_json.ResultWriter`): one record's reasons, and the bounded memos that
keep a name's value texts and a rule's `because` across records. Every memo is bounded (a full one keeps what it
has and the rest is computed afresh), so memory stays flat however varied the answers."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from backpath.core import codegen as G

_SMALL_CACHE = 1 << 12  # memos of fragments (scores, red flags, care team, follow-up, warnings, a name's value texts)
_RULE_CACHE = 1 << 10  # memos per rule of its `because` names
# Whole reasons are memoised per rule, up to a number of bytes for all rules of a writer together: each entry counts
# as its text's length plus `_ENTRY_COST` (its key and the memo's slot). The first records' reasons are kept, then
# nothing more, so memory stays bounded. A reason with its `because` is often over 500 characters: 16 MB hold about
# 19,000, full within 20,000 bench/batch.py records. 32 MB saved about 4% of CPU there but took `--jobs 2`'s peak
# memory on 100,000 records from 165 to 195 MB (issue 4's bound is 200 MB), for the same records per second.
_REASON_ROOM = 16 << 20
_ENTRY_COST = 160


class _RecordMemo:
    """What one record's reasons share: name pieces, derived-fact traces and tests, and each rule's reason."""

    __slots__ = ("w", "env", "pieces", "traces", "reasons", "facts")

    def __init__(self, writer: Any, env: Mapping[str, Any]):  # the `result_json.ResultWriter` it serves
        self.w = writer
        self.env = env
        self.pieces: dict[str, str] = {}
        self.traces: dict[str, list[str]] = {}
        self.reasons: dict[int, str] = {}
        self.facts: dict[str, int] = {}  # a derived fact's part of a `because` memo key (`because`)

    def reason(self, ri: int) -> str:
        """`{"rule":…,"text":…,"because":{…}` for rule `ri` (the caller closes it, with its effect if any)."""
        text = self.reasons.get(ri)
        if text is None:
            w = self.w
            cache = w.reason_cache[ri]
            if cache is not None:  # the reason is a function of the values its rule reads: seen before?
                key = w.reason_keys[ri](self.env)
                text = cache.get(key)
                if w.counting[ri]:
                    w._count_lookups(ri, 1, text is not None)
                if text is None:
                    text = self.make_reason(ri)
                    if w.reason_room > 0:
                        cache[key] = text
                        w.reason_room -= len(text) + _ENTRY_COST
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
        get = env.get
        key = 0
        for name, bit in w.rule_name_bits[ri]:
            if get(name) is not None:
                key |= bit
        facts = self.facts
        for when, offset, fact in w.rule_conditions[ri]:
            if fact is None:
                bits = when.decisions(env)
            else:
                bits = facts.get(fact)
                if bits is None:  # a derived fact's tests are the same for every rule of the record that reads it
                    if get(fact) is False:
                        bits = facts[fact] = 1 | when.refute_decisions(env) << 1
                    else:
                        bits = facts[fact] = when.decisions(env) << 1
            key |= bits << offset
        shapes = w.because_shapes[ri]
        names = shapes.get(key)
        if names is None:
            names = _remember(shapes, key, _RULE_CACHE, tuple(w.because_names(ri, env, self.traces)))
        pieces = self.pieces
        parts = []
        for name in names:
            piece = pieces.get(name)
            if piece is None:
                value = env[name]
                memo = w.piece_memo[name]
                piece = memo.get(tuple(value) if type(value) is list else value)
                if piece is None:
                    piece = w.piece(name, value)
                pieces[name] = piece
            parts.append(piece)
        return ",".join(parts)


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


def _remembered(memos: dict, name: str, value: Any, make) -> str:
    """`make(name, value)`, memoised in `memos[name]` by value as the chunk writer's `_column_texts` does, for
    one value."""
    memo = memos.get(name)
    if memo is None:
        memo = memos[name] = {}
    key = tuple(value) if type(value) is list else value
    text = memo.get(key)
    if text is None:
        text = _remember(memo, key, _SMALL_CACHE, make(name, value))
    return text


def key_functions(reads: Sequence[tuple[tuple[str, ...], tuple[str, ...]]], label: str) -> list[Callable]:
    """For each (scalars, lists) of `reads`, a compiled function of an env giving the key of a reason memo: the
    scalars' values, then the lists' as tuples (None stays None). As the conditions, it is built as `ast` with
    each name a string constant (`codegen`); one `tuple(map(env.get, ...))` a lookup cost about three times as
    much."""
    functions = []
    for k, (scalars, lists) in enumerate(reads):
        scope = G.Scope()
        getter = ast.Attribute(value=G._name("env"), attr="get", ctx=ast.Load())
        elts: list[ast.expr] = [ast.Call(func=getter, args=[G._const(name)], keywords=[]) for name in scalars]
        for name in lists:
            temp = scope.temp()
            read = ast.NamedExpr(target=G._name(temp, True),
                                 value=ast.Call(func=getter, args=[G._const(name)], keywords=[]))
            elts.append(G._if_else(G._is(read, None), G._const(None), G._call("_tuple", G._name(temp))))
        body: list[ast.stmt] = [ast.Return(value=ast.Tuple(elts=elts, ctx=ast.Load()))]
        functions.append(G.function(f"key_{k}", ["env"], scope, body))
    namespace = G.build(functions, {"_tuple": tuple}, f"<backpath reason keys {label}>")
    return [namespace[f"key_{k}"] for k in range(len(reads))]

