"""Results for a chunk of records at once: `ChunkWriter.write_many` gives, for each record the column engine
decided, the JSON text `ResultWriter.write` gives it, and `summary_many` what `ResultWriter.summary` gives (the
CSV rows), with array operations over the chunk instead of a loop of Python per record.

How: each record's item states (see `result_json`) are found for the whole chunk with array operations and
numbered; a state's frame is kept as *units* of piece codes (a text of `table`, or a placeholder for a text of
this chunk: a record's head, its tail, a varying reason). The chunk's units are laid out record by record and
expanded to piece codes, the placeholders resolved, and each record's pieces joined. Only the reasons that depend
on the record are made for it, rule by rule and from columns of value texts (`_ValueTexts`). Everything else
comes from the pathway's `ResultWriter` and its memos, which the one-record writer shares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np

from .report import plain
from .result_json import (
    _RULE_CACHE,
    _SMALL_CACHE,
    RECOMMENDED,
    REQUEST_REASON,
    RULED_OUT,
    ResultWriter,
    _presence,
    _remember,
    _truths,
)

_STATE_LIMIT = 1 << 16  # item states numbered for the arrays (pathway-wide); past it, records are written one by one
_MAX_BITS = 62  # rules mentioning one item, for its state to be an int64 in `write_many`
_LOOKUP_BITS = 12  # rules mentioning one item, for `write_many` to look its states up in an array (8,192 codes)
# `write_many`'s piece codes: >= 0 a text of `ChunkWriter.table`; < 0 a text of the chunk: the record's head, its
# tail, its request reason, or the reason of rule ri (code _FIRST_RULE - ri). Units 0-2 are a record's head, the
# opening of `not_recommended` and its tail; state s has units _FIRST_STATE_UNIT + 2s and the next.
_HEAD, _TAIL, _REQUEST, _FIRST_RULE = -1, -2, -3, -4
_HEAD_UNIT, _MIDDLE_UNIT, _TAIL_UNIT, _FIRST_STATE_UNIT = 0, 1, 2, 3


class ChunkWriter:
    """Writes a chunk's ok results for one pathway, through its `ResultWriter` (one per `_Plan`)."""

    def __init__(self, writer: ResultWriter):
        self.w = writer
        p = writer.p
        self.rec_items = sorted(range(len(writer.item_ids)), key=writer.rec_order.__getitem__)  # in result order
        self.multi = {n for n, t in p.symbols.items() if t.kind == "multi"}
        # Names of few values (yes/no, choices, lists of options): `_ValueTexts` makes their texts for a whole chunk
        # at once, from memos that keep hitting; numbers' texts are made for the records that need them.
        self.few_values = {n for n, t in p.symbols.items() if t.kind != "number"}
        # State ids, each state's units as piece codes, and the texts those codes name.
        self.state_ids: dict[tuple, int] = {}
        # Per item with at most _LOOKUP_BITS rules, its state ids by code (bits * 2 + requested), -1 where not met.
        self.state_lookups: list = [None] * len(writer.item_ids)
        self.unit_sections: list[int] = []
        self.table: list[str] = ['],"not_recommended":[']
        self.unit_codes: list[tuple[int, ...]] = [(_HEAD,), (0,), (_TAIL,)]  # _HEAD_UNIT, _MIDDLE_UNIT, _TAIL_UNIT
        self.units: _Units | None = None
        self.tail_heads: dict[tuple, str] = {}  # (tier, roles, follow-up code, warning code) -> `w.tail_head`
        # An item's state, the care team and the follow-up and warning rule sets are packed into int64 bit sets.
        self.packable = (max(map(len, writer.item_rules), default=0) <= _MAX_BITS
                         and len(writer.plan.role_index) <= _MAX_BITS
                         and len(writer.follow_up_rules) <= _MAX_BITS and len(writer.warning_rules) <= _MAX_BITS)

    @cached_property
    def role_columns(self) -> list[list[int]]:
        """For `write_many`: per care-team role (in `role_index` order), the columns of [recommended items,
        contributing rules] that bring it."""
        w = self.w
        p = w.p
        teams = [p.catalogue[item].care_team for item in w.item_ids] + [r.care_team for r in p.rules]
        return [[c for c, team in enumerate(teams) if role in team] for role in w.plan.role_index]

    def write_many(self, ids: list, envs: list[Mapping[str, Any]], tiers: list[str], contributing: list[list[int]],
                   presence: list[int] | None = None, matrix=None, truths=None,
                   values: Callable[[str], Sequence | None] | None = None) -> list[str]:
        """`ResultWriter.write` for a chunk of records (no answer warnings), assembled with array operations.

        Each record's result is a sequence of *units*: its head (id, tier, scores, red flags), the frames of its
        recommended items, the `not_recommended` opening, the frames of its other items and its tail (care team,
        follow-up, rules fired). A frame's unit is a fixed list of piece codes (a text of `self.table`, or a
        placeholder for a text of this chunk: a head, a tail, a varying reason). The item states of all records
        are found with array operations, their units laid out and expanded to piece codes, the placeholders
        resolved, and each record's pieces joined. Only the varying reasons are made record by record.
        `presence`, when given, is each record's `_RecordMemo.presence()` (bit i: `ResultWriter.names[i]` has a value),
        computed with the columns; `matrix`, when given, is `contributing` as a records x rules bool array;
        `truths`, when given, is `ColumnRun.truths` for these records; `values`, when given, is a function that
        gives a name's value for each of these records (`ColumnRun.values`), or None to read it from `envs`."""
        w = self.w
        if not self.packable or len(self.state_ids) >= _STATE_LIMIT:
            return [w.write(*args) for args in zip(ids, envs, tiers, contributing)]
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
                texts[2 * m + k] = w.request_reason(tiers[k], envs[k])
        varying = codes <= _FIRST_RULE
        if varying.any():
            keys = record_of[varying] * len(w.rules) + (_FIRST_RULE - codes[varying])
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
        """`ResultWriter.summary` for a chunk of records, the item lists found with array operations as in `write_many`
        (`values` as there)."""
        w = self.w
        if not self.packable or len(self.state_ids) >= _STATE_LIMIT:
            return [w.summary(*args) for args in zip(ids, envs, tiers, contributing)]
        if not ids:
            return []
        _, requested, _, sections = self._chunk_sections(envs, contributing, matrix, values)
        labels = np.array(w.item_ids, dtype=object)
        shown = _row_lists(sections[:, self.rec_items] == RECOMMENDED, labels[self.rec_items])
        ruled_out = sections >= RULED_OUT  # requested items first, then the others, each by item
        out = _row_lists(np.concatenate([ruled_out & requested, ruled_out & ~requested], axis=1),
                         np.concatenate([labels, labels]))
        score_ids = w.score_ids
        scores = zip(*[_column(values, envs, sid) for sid in score_ids]) if score_ids else repeat(())
        flags = _column(values, envs, w.rfq) if w.rfq else repeat(None)
        return [{"id": rid, "status": "ok", "tier": tier, "scores": dict(zip(score_ids, map(plain, score_values))),
                 "red_flags": list(red_flags or []), "recommended": rec, "not_recommended": against}
                for rid, tier, score_values, red_flags, rec, against in zip(ids, tiers, scores, flags, shown, out)]

    def _chunk_sections(self, envs: list, contributing: list[list[int]], matrix, values=None):
        """For a chunk: the records x rules contributing matrix (`matrix` if given), the records x items
        requested matrix, each item's state id (`_chunk_states`) and section. `values` as in `write_many`."""
        w = self.w
        m = len(envs)
        if matrix is None:
            matrix = np.zeros((m, len(w.rules)), dtype=bool)
            lengths = np.fromiter(map(len, contributing), dtype=np.intp, count=m)
            cells = np.fromiter((ri for rules in contributing for ri in rules), dtype=np.intp,
                                count=int(lengths.sum()))
            matrix[np.repeat(np.arange(m), lengths), cells] = True
        requested = np.zeros((m, len(w.item_ids)), dtype=bool)
        if w.rq:
            index, rq = w.item_index, w.rq
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
        w = self.w
        m, n_items = requested.shape
        states = np.empty((m, n_items), dtype=np.int64)
        lookups = self.state_lookups
        for item in range(n_items):
            rules = w.item_rules[item]
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

        A record's units in order: head, recommended items (by `ResultWriter.rec_order`), the not_recommended opening,
        requested items ruled out, other items ruled out (by item), tail. The first item of each list has the
        unit without the leading comma."""

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
        """Each record's result up to its recommendations (`ResultWriter.head`). `values` as in `write_many`."""
        w = self.w
        scores = zip(*[_column(values, envs, sid) for sid in w.score_ids]) if w.score_ids else repeat(())
        flags = _column(values, envs, w.rfq) if w.rfq else repeat(None)
        head = w.head_of
        return [head(rid, tier, score_values, red_flags)
                for rid, tier, score_values, red_flags in zip(ids, tiers, scores, flags)]

    def _tails(self, tiers: list[str], contributing: list[list[int]], contrib, recommended) -> list[str]:
        """Each record's result after its items: care team, follow-up, warnings, rules fired, disclaimer."""
        w = self.w
        both = np.concatenate([recommended, contrib], axis=1)
        roles = np.zeros((len(both), len(self.role_columns)), dtype=bool)
        for role, columns in enumerate(self.role_columns):
            roles[:, role] = both[:, columns].any(axis=1)
        memo, make = self.tail_heads, w.tail_head
        rule_json, end = w.rule_id_json.__getitem__, "]" + w.disclaimer_text
        out = []
        keys = zip(tiers, _row_codes(roles).tolist(), _row_codes(contrib[:, w.follow_up_rules]).tolist(),
                   _row_codes(contrib[:, w.warning_rules]).tolist())
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
        w = self.w
        records, rules = np.divmod(needed, len(w.rules))
        if presence is None:
            presence = [_presence(w.name_bits, env) for env in envs]
        out: list = [None] * len(needed)
        tables: dict = {}
        columns = _ValueTexts(self, envs, values)
        order = np.argsort(rules, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(rules[order])) + 1):
            ri = int(rules[group[0]])
            bits = self._truth_bits(ri, envs, truths, tables) if w.rule_conditions[ri] else None
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
        w = self.w
        mask = w.rule_mask[ri]
        if bits is None:
            keys = [presence[k] & mask for k in ks]
        else:
            shift = w.presence_bits
            keys = [presence[k] & mask | bits[k] << shift for k in ks]
        groups: dict[int, list[int]] = {}
        for k, key in zip(ks, keys):
            group = groups.get(key)
            if group is None:
                groups[key] = [k]
            else:
                group.append(k)
        made: dict[int, str] = {}
        prefix, rule_text, shapes = w.rule_prefix[ri], w.rule_text[ri], w.because_shapes[ri]
        whole = values.columns  # the names whose texts are made for the whole chunk: taken without a call
        for key, rows in groups.items():
            names = shapes.get(key)
            if names is None:
                names = _remember(shapes, key, _RULE_CACHE, tuple(w.because_names(ri, envs[rows[0]], {})))
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
                for part, name in w.templates[ri]:
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

    def _truth_bits(self, ri: int, envs: list, truths, tables: dict) -> list[int]:
        """Per record of the chunk, which of rule `ri`'s `or` operands are true, as bits (see `rule_conditions`):
        from the column engine's `truths` where given (each condition's operands read once a chunk, as a bit set a
        record, kept in `tables`), else evaluated record by record."""
        w = self.w
        conditions = w.rule_conditions[ri]
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
        """A number for the state `(item, bits, requested)` (see `ResultWriter.state`); its units for `write_many` are
        `_FIRST_STATE_UNIT + 2 * id` (the frame as is) and the next one (without its leading comma)."""
        w = self.w
        key = (item, bits, requested)
        sid = self.state_ids.get(key)
        if sid is None:
            section, frame = w.state(item, bits, requested)
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


class _Units:
    """`write_many`'s units as arrays: each unit's start and length in `pool` (its piece codes), the texts the
    codes name (`table`) and each state's section."""

    __slots__ = ("count", "starts", "lengths", "pool", "table", "sections")

    @classmethod
    def of(cls, unit_codes: list[tuple[int, ...]], table: list[str], sections: list[int],
           previous: _Units | None) -> _Units:
        """The arrays for the units so far: `previous`'s, extended with the units and texts added since."""
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


def _row_codes(matrix):
    """Per row of a records x k bool array (k <= 62), an int64 whose bit j is set when the row is true in column j.
    (An int64 matrix product: faster here than `np.packbits` along rows or a weighted sum.)"""
    return matrix.astype(np.int64) @ (np.int64(1) << np.arange(matrix.shape[1], dtype=np.int64))


def _row_lists(mask, labels) -> list[list]:
    """Per row of a records x k bool array, the `labels` (k of them) of its true columns, in column order."""
    rows, columns = np.nonzero(mask)
    values = labels[columns].tolist()
    ends = np.cumsum(np.bincount(rows, minlength=len(mask))).tolist()
    return [values[a:b] for a, b in zip([0, *ends[:-1]], ends)]


class _ValueTexts:
    """A chunk's value texts for its reasons: per name, a record's `because` piece (`ResultWriter.piece_text`) and
    its display in a reason (`ResultWriter.shown_text`), looked up by value in memos that outlive the chunk. The
    texts of a name of few values (`ChunkWriter.few_values`) are made for the whole chunk at once, when first
    asked for; a number's for the records asked for, until more than half of them have been (the memo of a
    number misses often, so making texts nobody reads costs)."""

    __slots__ = ("w", "few_values", "multi", "envs", "values", "raw", "asked", "columns")

    def __init__(self, chunks: ChunkWriter, envs: list, values: Callable[[str], Sequence | None] | None):
        self.w = chunks.w
        self.few_values, self.multi = chunks.few_values, chunks.multi
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
            if asked * 2 <= len(values) and name not in self.few_values:
                return _column_texts(memos, name, self.multi, take(values), make)
            column = self.columns[key] = _column_texts(memos, name, self.multi, values, make)
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
