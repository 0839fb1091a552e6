"""The columns of `backpath batch --format csv`, one row a record, and `--columns` to choose them.

The default columns, in this order (the first ten are those of earlier versions, in the same places):

| column | holds |
|---|---|
| `id`, `status`, `tier` | the record's id, `ok` or `error`, its tier |
| one per score | e.g. `startback_total`, `startback_psychosocial`, `startback_risk` |
| `red_flags` | the red flags answered |
| `recommended`, `not_recommended` | the item ids of the result's two lists, in result order |
| `errors`, `source` | an invalid record's problems (`path: message`, joined with ` | `) and where it came from |
| `pathway_id`, `pathway_version` | the pathway that assessed the record |
| `review_in_weeks` | the follow-up's review interval (empty when none) |
| `offered`, `considered` | the recommended items by strength (offer, consider), in result order |
| `requested` | the options the patient asked about, as answered |
| `rules_fired` | the ids of the rules that contributed, in rule order |
| `care_team` | the roles to involve |

Lists are joined with `;`. Each row is made from the outline's tables (which rules recommend or advise against
which items, the roles, `outline.follow_up`; see `RowMaker`) without any reason text or citation.
"""

from __future__ import annotations

import csv
import io
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from backpath.batch.csvcells import FORMULA_STARTS, neutral, neutral_row
from backpath.batch.streams import BatchUsageError
from backpath.core.errors import did_you_mean
from backpath.core.outline import (
    CONSIDER,
    OFFER,
    ROW_COLUMNS_AFTER_SCORES,
    ROW_COLUMNS_BEFORE_SCORES,
    follow_up,
    plain,
    positions,
)
from backpath.core.shown import safe

if TYPE_CHECKING:
    from backpath.core.model import Pathway
    from backpath.core.plan import Plan

ADDED = ROW_COLUMNS_AFTER_SCORES[ROW_COLUMNS_AFTER_SCORES.index("pathway_id"):]  # after those of earlier versions
LISTS = frozenset({"red_flags", "recommended", "not_recommended", "offered", "considered", "requested",
                   "rules_fired", "care_team"})
_QUOTED = (",", '"', "\r", "\n")  # a cell with one of these is quoted by csv.writer
_REVIEW_LIMIT = 1 << 12  # cells memoised per kind (reviews, care teams, scores): memory stays flat
_SHOWN_LIMIT = 1 << 14  # recommended items' cells memoised (5,449 different sets in 30,000 bench records; ~0.5 KB each)


def all_columns(pathway: Pathway) -> list[str]:
    """Every column, in the default order."""
    return [*ROW_COLUMNS_BEFORE_SCORES, *[s.id for s in pathway.scores], *ROW_COLUMNS_AFTER_SCORES]


def choose_columns(pathway: Pathway, spec: str | None) -> list[str]:
    """The columns `--columns a,b,c` names, in that order (every column when `spec` is None). Raises
    `BatchUsageError` for an empty list, an unknown column (with the valid ones and a did-you-mean) or a
    repeated one."""
    valid = all_columns(pathway)
    if spec is None:
        return valid
    names = [name.strip() for name in spec.split(",")]
    if not any(names):
        raise BatchUsageError(f"--columns is empty; name one or more of: {', '.join(valid)}.")
    chosen: list[str] = []
    for name in names:
        if not name:
            raise BatchUsageError(f"--columns {safe(spec, lines=False)} has an empty name (two commas in a row, "
                                  "or a comma at an end); separate the names with single commas.")
        if name not in valid:
            raise BatchUsageError(f"unknown column `{safe(name, lines=False)}` in --columns."
                                  f"{did_you_mean(name, valid)} Valid columns: {', '.join(valid)}.")
        if name in chosen:
            raise BatchUsageError(f"column `{name}` is named twice in --columns; name each column once.")
        chosen.append(name)
    return chosen


def header_bytes(columns: Sequence[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow(neutral_row(list(columns)))
    return buf.getvalue().encode("utf-8")


class RowMaker:
    """One valid record's CSV line from its decision, for one pathway and one choice of columns.

    Every ok row is made here, so each cell is made as the text the csv module would write for it (`_cell`, then
    `csvcells.neutral`): lists joined once, the follow-up's review and the care team memoised on the few things
    they depend on. The line is the cells joined with commas when no cell needs quoting (no comma, quote or line
    break in any: record ids are the only free text of an ok row); any other row is written by `csv.writer`,
    so the bytes are those of `csv.writer` either way (tested)."""

    def __init__(self, plan: Plan, columns: Sequence[str] | None = None):
        self.plan = plan
        p, outline = plan.pathway, plan.outline
        every = all_columns(p)
        self.columns = list(columns or every)
        self.pick = None if self.columns == every else [every.index(c) for c in self.columns]
        self.item_ids = outline.item_ids
        self.rule_ids = [r.id for r in p.rules]
        self.score_ids = [s.id for s in p.scores]
        self.rfq, self.rq = p.red_flag_question, p.request_question
        self.after_source = [_text(p.id, ""), _text(p.version, "")]  # pathway_id, pathway_version
        # Whether a list cell may start like a formula (an id of the pathway's that does): else `neutral` is skipped.
        ids = [*self.item_ids, *self.rule_ids, *outline.role_ids,
               *(o for q in p.questions.values() for o in getattr(q, "option_ids", None) or ())]
        self.lists_neutral = any(type(i) is str and i.startswith(FORMULA_STARTS) for i in ids)
        # Whether every text of an ok row but its id comes from the pathway without a character that needs quoting
        # (then only the id is looked at for one).
        texts = [*ids, *(t.id for t in p.tiers), p.id, str(p.version),
                 *(str(c.value) for score in p.scores for c in score.cases or ())]
        self.plain_texts = not any(c in text for text in texts for c in _QUOTED)
        # A row reads the outline as bit sets over the catalogue (bit i: item i), from one code per rule: the items
        # it advises against, offers (from bit n) and considers (from 2n), its roles (from 3n) and, above them, its
        # follow-up bit. A record's code is the OR of its contributing rules' codes, and its item lists follow as in
        # `outline.Outline._state`: advised against wins, then offered, then considered; an item requested and not
        # recommended is in `not_recommended` (the requested first). The lists' texts are memoised on their bits.
        n = self.n = len(self.item_ids)
        self.roles_shift = 3 * n
        self.follow_up_rules = [ri for ri, r in enumerate(p.rules) if r.follow_up is not None]
        self.follow_up_shift = self.roles_shift + len(outline.role_ids)
        follow_up_bit = {ri: 1 << (self.follow_up_shift + j) for j, ri in enumerate(self.follow_up_rules)}
        self.rule_code = [_bits(outline.rule_against[ri])
                          | _bits(n + item for item, strength in outline.rule_rec[ri] if strength == OFFER)
                          | _bits(2 * n + item for item, strength in outline.rule_rec[ri] if strength == CONSIDER)
                          | outline.rule_roles[ri] << self.roles_shift | follow_up_bit.get(ri, 0)
                          for ri in range(len(p.rules))]
        self.shown_texts: dict[int, tuple[str, str, str, int]] = {}
        self.out_texts: dict[int, str] = {}
        self.reviews: dict[tuple[str, int], str] = {}
        self.care_teams: dict[int, str] = {}
        # Score values key their cells: equal values have equal cells (5 and 5.0 show alike through `plain`, and
        # true cannot meet 1 since a score's cases have one type, which the loader checks).
        self.score_cells: dict[tuple, list[str]] = {}
        self.tier_cells = {t.id: _text(t.id, "") for t in p.tiers}
        self.line_buf = io.StringIO()
        self.line_writer = csv.writer(self.line_buf)  # for a line that needs quoting (its cells are neutral already)

    def line(self, record_id: Any, env: dict, tier: str, contributing: list[int]) -> str:
        """One ok record's CSV line (with its `\r\n`) in the chosen columns."""
        cells = self.cells(record_id, env, tier, contributing)
        if self.pick is None and self.plain_texts:  # every column: only the id may need quoting
            first = cells[0]
            if not ('"' in first or "," in first or "\r" in first or "\n" in first):
                return ",".join(cells) + "\r\n"
        elif self.pick is not None:
            cells = [cells[k] for k in self.pick]
        text = ",".join(cells)
        if '"' in text or "\r" in text or "\n" in text or text.count(",") != len(cells) - 1 \
                or (not text and len(cells) == 1):
            buf = self.line_buf
            buf.seek(0)
            buf.truncate()
            self.line_writer.writerow(cells)
            return buf.getvalue()
        return text + "\r\n"

    def cells(self, record_id: Any, env: dict, tier: str, contributing: list[int]) -> list[str]:
        """Every column's cell (`all_columns` order), as the text `csv.writer` writes for its value."""
        code = 0
        rule_code = self.rule_code
        for ri in contributing:
            code |= rule_code[ri]
        n = self.n
        every = (1 << n) - 1
        against = code & every
        offer = code >> n & every & ~against
        consider = code >> 2 * n & every & ~against & ~offer
        shown = self.shown_texts.get(offer | consider << n)
        if shown is None:
            shown = self._shown(offer, consider)
        recommended, offered, considered, item_roles = shown
        requested = 0
        requests = env.get(self.rq) if self.rq else None
        if requests:
            index = self.plan.outline.item_index
            for item_id in requests:
                requested |= 1 << index[item_id]
            requested &= ~(offer | consider)
        ruled_out = self.out_texts.get(against | requested << n)
        if ruled_out is None:
            ruled_out = self._ruled_out(against, requested)
        roles = (code >> self.roles_shift | item_roles) & ((1 << (self.follow_up_shift - self.roles_shift)) - 1)
        care_team = self.care_teams.get(roles)
        if care_team is None:
            care_team = self._care_team(roles)
        review = self.reviews.get((tier, code >> self.follow_up_shift))
        if review is None:
            review = self._review(tier, code >> self.follow_up_shift)
        score_values = tuple(map(env.get, self.score_ids))
        scores = self.score_cells.get(score_values)
        if scores is None:
            scores = self._score_cells(score_values)
        rule_ids = self.rule_ids
        lists = [recommended, ruled_out, "", "", *self.after_source, review, offered, considered,
                 _joined(env.get(self.rq) if self.rq else None), ";".join([rule_ids[ri] for ri in contributing]),
                 care_team]
        if self.lists_neutral:
            lists = [neutral(cell) for cell in lists]
        first = record_id if type(record_id) is str and not record_id.startswith(FORMULA_STARTS) \
            else _text(record_id, "")
        return [first, "ok", self.tier_cells[tier], *scores, neutral(_joined(env.get(self.rfq) if self.rfq else None)),
                *lists]

    def _shown(self, offer: int, consider: int) -> tuple[str, str, str, int]:
        """The `recommended`, `offered` and `considered` cells of these items (in result order: `rec_place`) and
        their roles, memoised."""
        outline = self.plan.outline
        items = positions(offer | consider)
        if outline.rec_place is not None:
            items.sort(key=outline.rec_place.__getitem__)
        ids = self.item_ids
        roles = 0
        for i in items:
            roles |= outline.item_roles[i]
        texts = (";".join([ids[i] for i in items]), ";".join([ids[i] for i in items if offer >> i & 1]),
                 ";".join([ids[i] for i in items if consider >> i & 1]), roles)
        if len(self.shown_texts) < _SHOWN_LIMIT:
            self.shown_texts[offer | consider << self.n] = texts
        return texts

    def _ruled_out(self, against: int, requested: int) -> str:
        """The `not_recommended` cell: the items advised against or requested (not recommended), the requested
        first, each part in catalogue order; memoised."""
        both = against | requested
        items = positions(requested) + positions(both & ~requested)
        text = ";".join([self.item_ids[i] for i in items])
        if len(self.out_texts) < _REVIEW_LIMIT:
            self.out_texts[against | requested << self.n] = text
        return text

    def _score_cells(self, values: tuple) -> list[str]:
        """The score columns' cells for these score values (`score_ids` order), memoised."""
        cells = [_text(plain(v), "") for v in values]
        if len(self.score_cells) < _REVIEW_LIMIT:
            self.score_cells[values] = cells
        return cells

    def _review(self, tier: str, code: int) -> str:
        """The follow-up's review interval as a cell (`outline.follow_up`) for the tier and the follow-up rules
        whose bits are set in `code`, memoised."""
        p = self.plan.pathway
        rules = [p.rules[ri] for j, ri in enumerate(self.follow_up_rules) if code >> j & 1]
        review = _text(follow_up(p.tier(tier), rules)["review_in_weeks"], "review_in_weeks")
        if len(self.reviews) < _REVIEW_LIMIT:
            self.reviews[(tier, code)] = review
        return review

    def _care_team(self, roles: int) -> str:
        text = ";".join(self.plan.outline.care_team(roles))
        if len(self.care_teams) < _REVIEW_LIMIT:
            self.care_teams[roles] = text
        return text


def _bits(positions: Iterable[int]) -> int:
    out = 0
    for i in positions:
        out |= 1 << i
    return out


def _joined(values: list | None) -> str:
    """A list answer as a cell (`;` between its options); none is an empty cell."""
    return ";".join(map(str, values)) if values else ""


def _text(value: Any, column: str) -> str:
    """A value as the text `csv.writer` writes for its cell (`_cell`, `neutral`; numbers as `str` gives them)."""
    value = neutral(_cell(value, column))
    return value if type(value) is str else str(value)


class NeutralWriter:
    """A csv writer whose text cells are never run as spreadsheet formulas (`csvcells`)."""

    def __init__(self, writer):
        self.writer = writer

    def writerow(self, row: list) -> None:
        self.writer.writerow(neutral_row(row))


_makers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def row_writer(pathway: Pathway, columns: Sequence[str] | None = None) -> Callable[[Any, tuple], tuple[str, str]]:
    """Writes a decided record's (`engine.decide_record`) CSV line in `columns` (default all), as `(tier, line)`."""
    from backpath.core.engine import _plan

    key = tuple(columns or ())
    makers = _makers.get(pathway)
    if makers is None:
        makers = _makers[pathway] = {}
    plan = _plan(pathway)
    maker = makers.get(key)
    if maker is None or maker.plan is not plan:
        maker = makers[key] = RowMaker(plan, columns)
    line = maker.line

    def write_row(record_id: Any, decided: tuple) -> tuple[str, str]:
        values, tier, contributing, _ = decided
        return tier, line(record_id, values, tier, contributing)

    return write_row


def row_assessor(pathway: Pathway, columns: Sequence[str] | None = None) -> Callable[..., tuple[str, str] | dict]:
    """`assess` for CSV rows in `columns` (default all): an ok result as `(tier, CSV line)`, an invalid one as the
    same error result as `assess`. Never raises for bad answers."""
    from backpath.core.engine import decide_record

    write = row_writer(pathway, columns)

    def assess(pathway: Pathway, answers: Any, *, record_id: Any = None) -> tuple[str, str] | dict:
        decided = decide_record(pathway, answers, record_id)
        return decided if type(decided) is dict else write(record_id, decided)  # type: ignore[arg-type]

    return assess


def error_row_writer(pathway: Pathway, columns: Sequence[str], write_row: Callable[[list], None],
                     place: Callable[[dict], str]) -> Callable[[dict], None]:
    """A function that writes an error result as the cells of `columns` (an ok record's row is its line from
    `row_assessor`)."""
    columns = list(columns)

    def write(r: dict) -> None:
        errors = " | ".join(f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in r["errors"])
        values = {"id": r["id"], "status": "error", "errors": errors,
                  "source": place(r["source"]) if "source" in r else "",
                  "pathway_id": pathway.id, "pathway_version": pathway.version}
        write_row([_cell(values.get(c, ""), c) for c in columns])

    return write


def _cell(value: Any, column: str) -> Any:
    if column in LISTS and type(value) is list:
        return ";".join(map(str, value))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
