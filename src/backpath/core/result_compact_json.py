"""The compact result (`result_compact`) as JSON text, written straight from the decision: batch's
`--detail summary` path.

Byte for byte `json.dumps(result_compact.compact_dict(...), ensure_ascii=False, separators=(",", ":"))` (tested),
but built as `result_json.ResultWriter` builds the full result: each item state's text is made once (a *frame*:
its id, strength, requested flag and each reason's rule id and effect, with the positions of the rules whose
`because` depends on the record), and each `because` comes from the full writer's memos (`_RecordMemo.because`,
memoised per rule on which names have a value and which tests decided). The fragments after the items (care team,
follow-up, warnings) are memoised on the rules that carry them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from backpath.core.outline import RECOMMENDED, REQUEST_RULE, UNREQUESTED, ItemState, follow_up
from backpath.core.result_json import encode
from backpath.core.result_memos import _RecordMemo

if TYPE_CHECKING:
    from backpath.core.model import Pathway
    from backpath.core.plan import Plan

_FRAME_LIMIT = 1 << 16  # item frames kept (as `outline._STATE_LIMIT`)
_SMALL_LIMIT = 1 << 12  # follow-up and warnings texts kept


class CompactWriter:
    """Writes compact ok results for one pathway (one per `Plan`), sharing the full writer's memos."""

    def __init__(self, plan: Plan):
        self.plan = plan
        w = self.w = plan.writer
        p = w.p
        self.frames: dict[ItemState, str | tuple] = {}
        self.item_json = [encode(i) for i in w.item_ids]
        self.head_text = '{"format_version":1,"id":'
        self.tier_json = {t.id: ',"tier":' + encode(t.id) + ',"scores":{' for t in p.tiers}
        self.request_open = ('{"rule":' + encode(REQUEST_RULE) + ',"effect":"not_indicated","because":{'
                             + (w.request_key + ":" if p.request_question else ""))
        self.follow_ups: dict[tuple, str] = {}
        self.warnings: dict[int, str] = {}
        self.rule_warning = ['{"rule":' + w.rule_id_json[ri] + "}" for ri in range(len(p.rules))]

    def frame(self, item: int, state: ItemState) -> str | tuple:
        """An item's text as pieces: `,{"id":…,"reasons":[`, each reason's opening, the position of the rule whose
        `because` fills it (or -1 for the requests), its close, and `]}`."""
        frame = self.frames.get(state)
        if frame is None:
            w = self.w
            requested = ',"requested":' + ("true" if state.requested else "false")
            if state.section == RECOMMENDED:
                pieces: list = [',{"id":' + self.item_json[item] + ',"strength":' + encode(state.strength)
                                + requested + ',"reasons":[']
                for k, (ri, _) in enumerate(state.refs):
                    pieces += [("," if k else "") + '{"rule":' + w.rule_id_json[ri] + ',"because":{', ri, "}}"]
            else:
                pieces = [',{"id":' + self.item_json[item] + requested + ',"reasons":[']
                if state.section == UNREQUESTED:
                    pieces += [self.request_open, -1, "}}"]
                else:
                    for k, (ri, effect) in enumerate(state.refs):
                        pieces += [("," if k else "") + '{"rule":' + w.rule_id_json[ri] + ',"effect":'
                                   + encode(effect) + ',"because":{', ri, "}}"]
            pieces.append("]}")
            merged: list = []
            for piece in pieces:
                if merged and type(piece) is str and type(merged[-1]) is str:
                    merged[-1] += piece
                else:
                    merged.append(piece)
            frame = merged[0] if len(merged) == 1 else tuple(merged)
            if len(self.frames) < _FRAME_LIMIT:
                self.frames[state] = frame
        return frame

    def write(self, record_id: Any, env: Mapping[str, Any], tier: str, contributing: list[int],
              answer_warnings: Sequence[Mapping[str, Any]] = ()) -> str:
        """The compact result's JSON text."""
        w = self.w
        outline = w.outline
        shown, ruled_out = outline.sections(outline.requested(env), contributing)
        memo = _RecordMemo(w, env)
        rfq = w.rfq
        parts = [self.head_text, encode(record_id), w.pathway_text, self.tier_json[tier],
                 w.scores_text(tuple(map(env.get, w.score_ids))), '},"red_flags":',
                 w.list_text((env.get(rfq) if rfq else None) or []), ',"recommendations":[']
        requests: list[str] = []  # made once, when a request no rule covers first needs it

        def request() -> str:
            if not requests:
                requests.append(encode(list(env.get(w.rq or "") or [])))
            return requests[0]

        fill_frames(parts, [self.frame(i, st) for i, st in shown], [self.frame(i, st) for i, st in ruled_out],
                    memo.because, request)
        roles = outline.roles((i for i, _ in shown), contributing)
        follow_up_code = warning_code = 0
        for ri in contributing:
            _, follow_up_bit, warning_bit = w.rule_tail[ri]
            follow_up_code |= follow_up_bit
            warning_code |= warning_bit
        parts += ['],"care_team":', w.care_team_text(roles), ',"follow_up":', self.follow_up(tier, follow_up_code),
                  ',"warnings":', self.warnings_text(warning_code, answer_warnings), ',"rules_fired":[',
                  ",".join([w.rule_id_json[ri] for ri in contributing]), "]}"]
        return "".join(parts)

    def follow_up(self, tier: str, code: int) -> str:
        key = (tier, code)
        text = self.follow_ups.get(key)
        if text is None:
            w = self.w
            rules = [w.rules[ri] for j, ri in enumerate(w.follow_up_rules) if code >> j & 1]
            text = encode({"review_in_weeks": follow_up(w.p.tier(tier), rules)["review_in_weeks"]})
            if len(self.follow_ups) < _SMALL_LIMIT:
                self.follow_ups[key] = text
        return text

    def warnings_text(self, code: int, answer_warnings: Sequence[Mapping[str, Any]]) -> str:
        text = self.warnings.get(code)
        if text is None:
            text = ",".join(self.rule_warning[ri] for j, ri in enumerate(self.w.warning_rules) if code >> j & 1)
            if len(self.warnings) < _SMALL_LIMIT:
                self.warnings[code] = text
        if answer_warnings:
            listed = [encode({"path": a["path"]}) for a in answer_warnings] + ([text] if text else [])
            return "[" + ",".join(listed) + "]"
        return "[" + text + "]"


def fill_frames(parts: list[str], shown: Sequence, ruled_out: Sequence, reason: Callable[[int], str],
                request: Callable[[], str]) -> None:
    """Append the two item lists of a result to `parts` (`"recommendations":[` already there), each item's frame
    with its varying reasons filled in (`reason(rule position)`) and the reason of a request no rule covers
    (`request()`)."""
    for opening, frames in (("", shown), ('],"not_recommended":[', ruled_out)):
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
                    parts.append(reason(piece))
                else:
                    parts.append(request())
        if len(parts) > start:
            parts[start] = parts[start][1:]  # no comma before the first item


def compact_writer(plan: Plan) -> CompactWriter:
    """The plan's compact writer (made once, kept beside the full one)."""
    writer = getattr(plan, "compact_writer", None)
    if writer is None or writer.w is not plan.writer:
        writer = CompactWriter(plan)
        plan.compact_writer = writer  # type: ignore[attr-defined]
    return writer


def compact_json_writer(pathway: Pathway) -> Callable[[Any, tuple], tuple[str, str]]:
    """Writes a decided record's (`engine.decide_record`) compact result as `(tier, compact JSON text)`."""
    from backpath.core.engine import _plan

    writer = compact_writer(_plan(pathway))

    def write_compact(record_id: Any, decided: tuple) -> tuple[str, str]:
        values, tier, contributing, warnings = decided
        return tier, writer.write(record_id, values, tier, contributing, warnings)

    return write_compact


def assess_compact_json(pathway: Pathway, answers: Any, *, record_id: Any = None) -> tuple[str, str] | dict:
    """`result_compact.assess_compact` for batch runs, one record: an ok result as `(tier, compact JSON text)`, an
    error result as a dict (the same as `assess`'s)."""
    from backpath.core.engine import decide_record

    decided = decide_record(pathway, answers, record_id)
    if type(decided) is dict:
        return decided
    return compact_json_writer(pathway)(record_id, decided)  # type: ignore[arg-type]  # (a dict returned above)
