"""The memos of a JSON result writer (`result_json.ResultWriter`): one record's reasons, and the bounded memos that
keep a name's value texts and a rule's `because` across records. Every memo is bounded (a full one keeps what it
has and the rest is computed afresh), so memory stays flat however varied the answers."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from backpath.core import codegen as G

_SMALL_CACHE = 1 << 12  # memos of fragments (scores, red flags, care team, follow-up, warnings, a name's value texts)
_RULE_CACHE = 1 << 10  # memos per rule of its `because` names
# Reason frames are memoised per rule, up to a number of characters for all rules of a writer together: each entry
# counts as its text's length plus `_ENTRY_COST` (its key and the memo's slot). The first records' frames are kept,
# then nothing more, so memory stays bounded.
_REASON_ROOM = 16 << 20
_ENTRY_COST = 160
# In a reason frame, a slot (an int) stands for one value's text, by its name's position in `ResultWriter.slot_names`:
# `VALUE` its JSON in `because`, `SHOWN` its display in the reason's text (`_RecordMemo.fill`). A name's two slots
# differ in their lowest bit only (`slot ^ 1` is the other): a number's two texts are the same, and are made once.
VALUE, SHOWN = 0, 1


class _RecordMemo:
    """What one record's reasons share: each name's `"name":value` piece, display and slot text, and derived facts'
    traces.

    A reason is a *frame*: its text with a slot for each number or list it shows (their values seldom repeat),
    everything else written in. Which frame depends only on the record's `because` key (which names have a value,
    which tests decided, `because_key_functions`) and the values of the rule's other names (yes/no, choices):
    memoised on those, it is made once and filled with the record's numbers and lists. A rule whose key cannot vary
    keeps its one frame and makes no key (`ResultWriter.constant_key`)."""

    __slots__ = ("w", "env", "pieces", "traces", "fills")

    def __init__(self, writer: Any, env: Mapping[str, Any]):  # the `result_json.ResultWriter` it serves
        self.w = writer
        self.env = env
        self.pieces: dict[str, str] = {}  # for `because`, as the compact result shows it
        self.traces: dict[str, list[str]] = {}
        self.fills: dict[int, str] = {}

    def reasons(self, rules: list[int], texts: dict[int, str]) -> None:
        """Each rule's `{"rule":…,"text":…,"because":{…}` (the caller closes it, with its effect if any) into
        `texts`, by rule position."""
        w, env, fills = self.w, self.env, self.fills
        keys, memos, constant, constant_key = w.reason_keys, w.reason_frames, w.constant_frames, w.constant_key
        names, slot_memos = w.slot_names, w.slot_memos
        for ri in rules:
            frame = constant[ri]
            if frame is None:
                key = (keys[ri] or w.reason_key(ri))(env)
                frame = memos[ri].get(key) or self.new_frame(ri, key)
                if constant_key[ri]:
                    constant[ri] = frame
            pieces, slots = frame
            if not slots:
                texts[ri] = pieces[0]
                continue
            for slot in slots:
                if slot not in fills:
                    value: Any = env.get(names[slot >> 1])
                    kind = type(value)
                    if kind is int:  # its own text in both places (`fill`), without a call
                        fills[slot] = fills[slot ^ 1] = int.__repr__(value)
                    elif kind is list:  # a list's text, from the slot's memo (`fill`) when it has it
                        fills[slot] = slot_memos[slot].get(tuple(value)) or self.fill(slot)
                    else:
                        fills[slot] = self.fill(slot)
            # A frame is text and slots in turn, text first and last (`frame`). The two most common lengths are
            # unpacked: for one slot two concatenations, for two a join of a tuple (a third of the time of a
            # join over `fills.get`).
            n = len(pieces)
            if n == 3:
                texts[ri] = pieces[0] + fills[pieces[1]] + pieces[2]
            elif n == 5:
                a, s, b, t, c = pieces
                texts[ri] = "".join((a, fills[s], b, fills[t], c))
            else:
                texts[ri] = "".join(map(fills.get, pieces, pieces))

    def new_frame(self, ri: int, key: tuple) -> tuple[tuple, tuple[int, ...]]:
        """Rule `ri`'s frame for `key` (`reasons`), made and kept while the memos have room."""
        w = self.w
        frame = self.frame(ri, key[0])
        if w.reason_room > 0:
            w.reason_frames[ri][key] = frame
            w.reason_room -= sum(map(len, frame[0][::2])) + _ENTRY_COST  # (its texts: every other piece)
        return frame

    def frame(self, ri: int, because_key: int) -> tuple[tuple, tuple[int, ...]]:
        """Rule `ri`'s reason as a frame for this record: its pieces (text and slots in turn, text first and last:
        neighbouring text is one piece, and text, even empty, comes before every slot; `reasons` unpacks frames so)
        and its slots, in order of first use."""
        w, env = self.w, self.env
        slot_of = w.slot_of
        pieces: list = []
        slots: dict[int, None] = {}
        text = w.rule_prefix[ri]
        if w.rule_text[ri] is not None:
            text += w.rule_text[ri]
        else:
            literals, names = w.templates[ri]
            for literal, name in zip(literals, names):
                slot = slot_of.get(name)
                if slot is None:
                    text += literal + _remembered(w.shown_memo, name, env.get(name), w.shown_text)
                else:
                    pieces += (text + literal, slot + SHOWN)
                    slots[slot + SHOWN] = None
                    text = ""
            text += literals[-1]
        text += ',"because":{'
        piece_memo = w.piece_memo
        for k, name in enumerate(self.because_names(ri, because_key)):
            if k:
                text += ","
            slot = slot_of.get(name)
            if slot is None:
                text += _remembered(piece_memo, name, env[name], w.piece_text)
            else:
                pieces += (text + w.name_json[name], slot + VALUE)
                slots[slot + VALUE] = None
                text = ""
        pieces.append(text + "}")
        return tuple(pieces), tuple(slots)

    def fill(self, slot: int) -> str:
        """A slot's text for this record: a number's (the same in both places: a whole number as is, a decimal one
        by `ResultWriter.float_text`), a list's JSON (`VALUE`) or display (`SHOWN`, memoised per slot by value), or
        what `show_value` shows for no value."""
        w = self.w
        name = w.slot_names[slot >> 1]
        value: Any = self.env.get(name)
        kind = type(value)
        if kind is int:  # (`plain` and `as_answered` keep a whole number as it is)
            return int.__repr__(value)
        if kind is float and math.isfinite(value):
            text = self.fills[slot ^ 1] = w.float_text(name, value)  # the same text in both places
            return text
        if kind is list:
            memo = w.slot_memos[slot]
            key = tuple(value)
            text = memo.get(key)
            if text is None:
                text = _remember(memo, key, _SMALL_CACHE, w.piece_text(name, value)[len(w.name_json[name]):]
                                 if slot & 1 == VALUE else w.shown_text(name, value))
            return text
        if slot & 1 == VALUE:
            return w.piece_text(name, value)[len(w.name_json[name]):]
        return w.shown_text(name, value)

    def because_names(self, ri: int, key: int) -> tuple[str, ...]:
        """The names rule `ri`'s `because` lists for this record, whose `because` key is `key`."""
        w = self.w
        shapes = w.because_shapes[ri]
        names = shapes.get(key)
        if names is None:
            names = _remember(shapes, key, _RULE_CACHE, tuple(w.because_names(ri, self.env, self.traces)))
        return names

    def because(self, ri: int) -> str:
        """The inside of a rule's `because`: `"name":value` for what made it fire, facts traced to inputs. Which
        names is memoised per rule on the key its generated function gives (`ResultWriter.because_key`)."""
        w, env = self.w, self.env
        names = self.because_names(ri, (w.because_keys[ri] or w.because_key(ri))(env))
        pieces = self.pieces
        parts = []
        for name in names:
            piece = pieces.get(name)
            if piece is None:
                piece = pieces[name] = w.piece(name, env[name])
            parts.append(piece)
        return ",".join(parts)


def _remember(cache: dict, key: Any, limit: int, value: Any) -> Any:
    """Store `value` under `key` unless the cache holds `limit` entries (the first values seen are the common ones)."""
    if len(cache) < limit:
        cache[key] = value
    return value


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


def because_key_functions(rules: Sequence[tuple[tuple[str, ...], tuple]], label: str,
                          also: Sequence[tuple[str, ...]] | None = None, known: Collection[str] = (),
                          bools: Collection[str] = ()) -> list[Callable]:
    """For each rule's (inputs, conditions) (`ResultWriter.rule_inputs` and `rule_conditions`), a compiled function
    of an env giving the key of its `because` memo: bit j set when input j has a value, then
    from each condition's offset the outcome of the tests its explanation makes (`Compiled.decisions`); for a
    derived fact, first a bit set when the fact is false, then the tests of why it is false
    (`Compiled.refute_decisions`) or else of why it is true. One function reads each name once and makes every
    test inline, where a loop over the names and a call of each condition's `decisions` cost about four times
    as much. Built as `ast` from the checked trees, as every generated function (`codegen`). With `also`, the
    function gives a tuple instead: the key, then the value of each of the rule's names in `also[k]` (the key of
    its reason frame memo, `_RecordMemo.reason`). The names in `known` always have a value where the function
    runs (an ok result's, `Program.known`; `bools` those of them that are True or False): their bit is left out
    (it would always be set) and the tests on them are written shorter, as in the program (`nullness`)."""
    functions = []
    for k, (inputs, conditions) in enumerate(rules):
        scope = G.Scope()
        body: list[ast.stmt] = [ast.Assign(targets=[G._name("key", True)], value=G._const(0))]
        for j, name in enumerate(inputs):
            if name in known:
                continue
            present = ast.Compare(left=G._name(scope.slot(name)), ops=[ast.IsNot()], comparators=[G._const(None)])
            body.append(_or_into_key(present, j))
        for when, offset, fact in conditions:
            if fact is None:
                body += _tests_into_key(scope, when.node, True, offset, known, bools)
                continue
            is_false = G._is(G._name(scope.slot(fact)), False)
            body.append(ast.If(test=is_false,
                               body=[_or_into_key(G._const(1), offset),
                                     *_tests_into_key(scope, when.node, False, offset + 1, known, bools)],
                               orelse=_tests_into_key(scope, when.node, True, offset + 1, known, bools)
                               or [ast.Pass()]))
        result: ast.expr = G._name("key")
        if also is not None:
            result = ast.Tuple(elts=[result, *(G._name(scope.slot(name)) for name in also[k])], ctx=G.LOAD)
        body.append(ast.Return(value=result))
        functions.append(G.function(f"because_{k}", ["env"], scope, body))
    namespace = G.build(functions, {}, f"<backpath because keys {label}>")
    return [namespace[f"because_{k}"] for k in range(len(rules))]


def _or_into_key(bit: ast.expr, shift: int) -> ast.stmt:
    """`key |= bit << shift` (bit a bool or 1)."""
    value = bit if shift == 0 and not isinstance(bit, ast.Constant) else ast.BinOp(left=bit, op=ast.LShift(),
                                                                                   right=G._const(shift))
    return ast.AugAssign(target=G._name("key", True), op=ast.BitOr(), value=value)


def _tests_into_key(scope: G.Scope, node: Any, want: bool, offset: int, known: Collection[str],
                    bools: Collection[str]) -> list[ast.stmt]:
    """The tests the explanation of `node` taking `want` makes, each ORed into the key at its bit from `offset`
    (as `Compiled.decisions` / `refute_decisions` number them)."""
    explainer = G.Explanations(scope, known=known, bools=bools)
    explainer.stmts(node, want)
    return [_or_into_key(test, offset + j) for j, test in enumerate(explainer.terms)]
