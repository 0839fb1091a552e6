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

Lists are joined with `;`. Each row is made from the outline (`outline.Outline.sections`, the item states'
strengths, `outline.follow_up`) without any reason text or citation.
"""

from __future__ import annotations

import csv
import io
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from backpath.batch.csvcells import neutral_row
from backpath.batch.streams import BatchUsageError
from backpath.core.errors import did_you_mean
from backpath.core.outline import ROW_COLUMNS_AFTER_SCORES, ROW_COLUMNS_BEFORE_SCORES, follow_up, plain
from backpath.core.shown import safe

if TYPE_CHECKING:
    from backpath.core.model import Pathway
    from backpath.core.plan import Plan

ADDED = ROW_COLUMNS_AFTER_SCORES[ROW_COLUMNS_AFTER_SCORES.index("pathway_id"):]  # after those of earlier versions
LISTS = frozenset({"red_flags", "recommended", "not_recommended", "offered", "considered", "requested",
                   "rules_fired", "care_team"})
_REVIEW_LIMIT = 1 << 12  # review intervals memoised per (tier, contributing rules)


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
    """What a row needs from one valid record's decision, for one pathway (one per `Plan`)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.reviews: dict[tuple, Any] = {}

    def row(self, record_id: Any, env: dict, tier: str, contributing: list[int]) -> dict:
        """One ok record as a dict of column values (lists as lists)."""
        plan = self.plan
        p, outline = plan.pathway, plan.outline
        shown, ruled_out = outline.sections(outline.requested(env), contributing)
        ids = outline.item_ids
        rules = p.rules
        out: dict[str, Any] = {"id": record_id, "status": "ok", "tier": tier}
        for score in p.scores:
            out[score.id] = plain(env.get(score.id))
        recommended = [ids[i] for i, _ in shown]
        out.update({
            "red_flags": list(env.get(p.red_flag_question) or []) if p.red_flag_question else [],
            "recommended": recommended,
            "not_recommended": [ids[i] for i, _ in ruled_out],
            "errors": "", "source": "",
            "pathway_id": p.id, "pathway_version": p.version,
            "review_in_weeks": self.review(tier, contributing),
            "offered": [ids[i] for i, s in shown if s.strength == "offer"],
            "considered": [ids[i] for i, s in shown if s.strength == "consider"],
            "requested": list(env.get(p.request_question) or []) if p.request_question else [],
            "rules_fired": [rules[ri].id for ri in contributing],
            "care_team": outline.care_team(outline.roles((i for i, _ in shown), contributing)),
        })
        return out

    def review(self, tier: str, contributing: list[int]) -> Any:
        """The follow-up's review interval (`outline.follow_up`), memoised on the tier and the rules."""
        key = (tier, tuple(contributing))
        review = self.reviews.get(key)
        if review is None:
            p = self.plan.pathway
            review = follow_up(p.tier(tier), [p.rules[ri] for ri in contributing])["review_in_weeks"]
            if len(self.reviews) < _REVIEW_LIMIT:
                self.reviews[key] = review
        return review


_makers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def assess_row(pathway: Pathway, answers: Any, *, record_id: Any = None) -> dict:
    """`assess` as one CSV row's values (`RowMaker.row`), or the same error result as `assess` for invalid
    answers. Never raises for bad answers."""
    from backpath.core.engine import _decided

    decided = _decided(pathway, answers, record_id)
    if isinstance(decided, dict):
        return decided
    plan, checked, tier, contributing = decided
    maker = _makers.get(pathway)
    if maker is None or maker.plan is not plan:
        maker = _makers[pathway] = RowMaker(plan)
    return maker.row(record_id, checked.values, tier, contributing)


def row_writer(pathway: Pathway, columns: Sequence[str], write_row: Callable[[list], None],
               place: Callable[[dict], str]) -> Callable[[dict], None]:
    """A function that writes one result (a `RowMaker.row` dict, or an error result) as the cells of `columns`."""
    columns = list(columns)

    def write(r: dict) -> None:
        if r["status"] == "ok":
            write_row([_cell(r[c], c) for c in columns])
            return
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
