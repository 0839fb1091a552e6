"""Result -> one screen for the clinician: `assess --detail summary`, the default text output.

What a clinician needs at the point of care, in words rather than ids: the tier, what to do now (each offered or
considered item with a one-line reason), every option the patient asked about with its answer, one line for what
NICE advises against that nobody asked about, who to involve, the review, a short safety-net, one line of
disclaimer and attribution. `--detail full` (render.py) keeps the complete trace.

It reads only the result dict (the contract's JSON) and the pathway model. The screen is fitted to `max_lines`
at the console's width: when the full form is too long, parts are made more compact in a fixed order (reasons on
the item's line, the asked-about options grouped by answer, the safety-net cut to when to get help now), so the
same result always gives the same screen at a given width.
"""

from __future__ import annotations

import io
import re

from rich.console import Console, Group, RenderableType
from rich.text import Text

from backpath.core.model import Pathway
from backpath.present.render import TIER_STYLE, render_errors, review_text, verdict

MAX_LINES = 32
STRENGTH = {"offer": "OFFER", "consider": "CONSIDER"}
WORD_W = 13  # the answer or strength column: "NOT IN PLAN" and two spaces
REASON_INDENT = 4  # a reason on its own line, under its item
_TAG = re.compile(r"\s*\[[A-Z][A-Z-]*\]")  # authoring markers such as [INTERP]
_URGENT_WORDS = ("999", "A&E", "emergency department")


# Each level makes one more part compact: (plan, asked, safety-net, warnings). plan/asked: 2 = item and reason on
# two lines, 1 = on one line, 0 = titles only (asked: grouped by the answer); safety-net: 1 = all, 0 = when to get
# help now; warnings: 1 = whole, 0 = one line each (`--detail full` has them whole).
LEVELS = ((2, 2, 1, 1), (2, 1, 1, 1), (1, 1, 1, 1), (1, 0, 1, 1), (1, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))


def render_summary(result: dict, pathway: Pathway, width: int = 80, max_lines: int = MAX_LINES) -> RenderableType:
    """The one-screen summary of `result`, at most `max_lines` lines at `width` columns where that can be done."""
    if result.get("status") != "ok":
        return render_errors(result)
    lines: list[Text] = []
    for level in LEVELS:
        lines = _screen(result, pathway, width, level)
        if count_lines(Group(*lines), width) <= max_lines:
            break
    return Group(*lines)


def count_lines(renderable: RenderableType, width: int) -> int:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return buffer.getvalue().count("\n")


# --- the parts ---------------------------------------------------------------------------------

def _screen(result: dict, pathway: Pathway, width: int, level: tuple[int, int, int, int]) -> list[Text]:
    """The lines of the screen at one level of detail (see LEVELS)."""
    plan, asked, net, warned = level
    roles = dict(pathway.care_roles)
    lines = _headline(result, pathway)
    lines += _plan(result, width, plan)
    lines += _asked(result, pathway, width, asked)
    lines += _not_asked(result)
    team = ", ".join(roles.get(r, r) for r in result["care_team"])
    if team:
        lines.append(_labelled("Who: ", team))
    fu = result["follow_up"]
    lines.append(_labelled("Review: ", review_text(fu.get("review_in_weeks"))))
    if fu.get("safety_net"):
        lines.append(_labelled("Safety-net: ", fu["safety_net"] if net else short_safety_net(fu["safety_net"])))
    for w in result["warnings"]:
        warning = Text("Warning: ", style="bold")
        lines.append(warning.append(w["message"], style="bold") if warned else _fit(warning, w["message"], width))
    lines.append(_footer(pathway))
    return lines


def _headline(result: dict, pathway: Pathway) -> list[Text]:
    tier = pathway.tier(result["tier"])
    head = Text()
    title = tier.title.upper()
    if tier.preempts:  # the word EMERGENCY opens the first line, whatever the tier is called
        head.append(title if title.startswith("EMERGENCY") else f"EMERGENCY: {title}", style=TIER_STYLE["emergency"])
        head.append(" - act now", style="bold")
    else:
        head.append(title, style=TIER_STYLE.get(result["tier"], "bold"))
    lines = [head]
    if tier.description:
        lines.append(Text(tier.description))
    if result["red_flags"]:
        q = pathway.questions.get(pathway.red_flag_question or "")
        lines.append(_labelled("Red flags: ", ", ".join(q.label_of(f) if q else f for f in result["red_flags"])))
    scores = scores_line(result["scores"], pathway)
    if scores:
        lines.append(_labelled("Scores: ", scores))
    return lines


def scores_line(scores: dict, pathway: Pathway) -> str:
    """Each scored score by its title ("STarT Back risk group: medium"); a score not scored is left out."""
    parts = []
    for score in pathway.scores:
        value = scores.get(score.id)
        if value is None:
            continue
        shown = _number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        if score.range and isinstance(value, int | float):
            shown += f" of {_number(score.range[1])}"
        parts.append(f"{score.title}: {shown}")
    return "; ".join(parts)


def _plan(result: dict, width: int, detail: int) -> list[Text]:
    lines = [Text("What to do now", style="bold underline")]
    if not result["recommendations"]:
        lines.append(Text("  Nothing to offer or consider for these answers."))
    for rec in result["recommendations"]:
        line = Text("  ")
        line.append(STRENGTH.get(rec["strength"], rec["strength"].upper()).ljust(WORD_W), style="bold")
        line.append(rec["title"], style="bold")
        if rec.get("timeframe"):
            line.append(f" ({rec['timeframe']})")
        if rec.get("requested"):
            line.append(" - asked about")
        lines += _with_reason(line, one_reason(rec), width, detail)
    return lines


def _asked(result: dict, pathway: Pathway, width: int, detail: int) -> list[Text]:
    asked = [e for e in result["not_recommended"] if e.get("requested")]
    if not asked:
        return []
    lines = [Text("Asked about by the patient, not in the plan", style="bold underline")]
    later = pathway.tier(result["tier"]).preempts
    answers = [(e, answer_word(e, later)) for e in asked]
    if not detail:  # grouped by the answer: "No, advised against: Acupuncture, TENS or PENS"
        groups: dict[str, list[str]] = {}
        for e, answer in answers:
            groups.setdefault(answer, []).append(e["title"])
        for answer, titles in groups.items():
            lines.append(_labelled(f"  {answer}: ", ", ".join(titles)))
        return lines
    for e, answer in answers:
        line = Text("  ")
        line.append(answer.ljust(WORD_W), style="bold")
        line.append(e["title"], style="bold")
        reason = re.sub(r"^not now:\s*", "", one_reason(e), flags=re.I)  # the answer says it already
        lines += _with_reason(line, reason[:1].upper() + reason[1:], width, detail)
    return lines


def answer_word(entry: dict, preempted: bool) -> str:
    """The answer to an option the patient asked about: NO (advised against), NOT NOW (an emergency comes
    first) or NOT IN PLAN (no rule recommends it for these answers)."""
    if verdict(entry) == "DO NOT OFFER":
        return "NO"
    return "NOT NOW" if preempted else "NOT IN PLAN"


def _with_reason(line: Text, reason: str, width: int, detail: int) -> list[Text]:
    if detail >= 2:
        return [line, _fit(Text(" " * REASON_INDENT), reason, width)]
    if detail == 1:
        return [_fit(line, ": " + reason, width)]
    return [line]


def _not_asked(result: dict) -> list[Text]:
    against = [e for e in result["not_recommended"] if not e.get("requested")]
    if not against:
        return []
    n = len(against)
    return [Text(f"Also advised against: {n} option{'s' if n != 1 else ''} nobody asked about "
                 "(--detail full lists them).")]


def _footer(pathway: Pathway) -> Text:
    notices = [a.short or a.title for a in pathway.attributions]
    return Text("A decision aid: it supports, and never replaces, clinical judgement. "
                + " ".join(n.rstrip(".") + "." for n in notices), style="dim")


# --- wording -----------------------------------------------------------------------------------

def one_reason(entry: dict) -> str:
    """The first sentence of an item's first reason, without authoring markers: the summary's one-line reason."""
    text = _TAG.sub("", entry["reasons"][0]["text"]).strip() if entry["reasons"] else ""
    match = re.search(r"(?<=[a-z0-9)])[.;](\s|$)", text)
    return text[: match.start() + 1].rstrip(";") if match else text


def short_safety_net(text: str) -> str:
    """The sentences of a safety-net that say when to get help now (999, A&E); all of it if none do."""
    sentences = re.split(r"(?<=[.!])\s+", text.strip())
    urgent = [s for s in sentences if any(w in s for w in _URGENT_WORDS)]
    return " ".join(urgent) if urgent else text


def _labelled(label: str, text: str) -> Text:
    line = Text(label, style="bold")
    line.append(text)
    return line


def _fit(start: Text, rest: str, width: int) -> Text:
    """`start` followed by as much of `rest` as fits on one line of `width` columns, cut at a word with an
    ellipsis."""
    room = width - start.cell_len
    line = start.copy()
    if len(rest) <= room:
        line.append(rest)
        return line
    cut = rest[: max(room - 1, 0)]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    line.append(cut.rstrip(" ,;:-") + "…")
    return line


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)

