"""Result -> what people read: Rich renderables for the terminal and Markdown for the patient record.

Meaning is never carried by colour alone: every tier, strength and verdict is also written in words,
so the output reads the same with NO_COLOR, on a monochrome terminal or through a screen reader.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from backpath.core.model import Pathway

TIER_STYLE = {
    "emergency": "bold white on red",
    "urgent": "bold black on yellow",
    "surgical_consult": "bold magenta",
    "interventional": "bold cyan",
    "conservative": "bold green",
    "self_management": "bold green",
}
STRENGTH_WORD = {"offer": "OFFER", "consider": "CONSIDER"}
OVERRULED = {"offer": "(overruled: would offer) ", "consider": "(overruled: would consider) "}


def _sources(sources: Iterable[dict]) -> str:
    parts = []
    for s in sources:
        text = s["id"] + (f" {s['section']}" if s.get("section") else "")
        if s.get("verified") is False:
            text += " (number unverified)"
        parts.append(text)
    return "; ".join(parts)


def _role_titles(pathway: Pathway) -> dict[str, str]:
    return dict(pathway.care_roles)


def render_result(result: dict, pathway: Pathway) -> RenderableType:
    """The recommendation as a clinician reads it: tier first, then the plan, what not to do, team, follow-up."""
    if result.get("status") != "ok":
        return render_errors(result)
    roles = _role_titles(pathway)
    tier = result["tier"]
    tier_def = pathway.tier(tier)
    parts: list[RenderableType] = []
    headline = Text()
    if tier_def.preempts:
        headline.append("!! ", style="bold")
    headline.append(f"{tier_def.title.upper()}", style=TIER_STYLE.get(tier, "bold"))
    headline.append(f"  (tier: {tier})")
    body = [headline]
    if tier_def.description:
        body.append(Text(tier_def.description))
    if result["red_flags"]:
        q = pathway.questions.get(pathway.red_flag_question or "")
        labels = [q.label_of(f) if q else f for f in result["red_flags"]]
        body.append(Text("Red flags: " + ", ".join(labels), style="bold"))
    scores = scores_text(result["scores"])
    if scores:
        body.append(Text("Scores: " + scores))
    title = "EMERGENCY — act now" if tier_def.preempts else "Recommendation"
    parts.append(Panel(Group(*body), title=title, title_align="left",
                       border_style="red" if tier_def.preempts else "blue"))

    parts.append(Rule("Plan, in order", align="left"))
    if not result["recommendations"]:
        parts.append(Text("No items recommended."))
    for i, rec in enumerate(result["recommendations"], 1):
        line = Text(f"{i}. ")
        line.append(STRENGTH_WORD.get(rec["strength"], rec["strength"].upper()), style="bold")
        line.append(f"  {rec['title']}", style="bold")
        if rec.get("requested"):
            line.append("  [requested]")
        parts.append(line)
        details: list[RenderableType] = []
        team = ", ".join(roles.get(r, r) for r in rec["care_team"])
        item_tier = f"{tier} (part of the {tier_def.title.lower()} plan)" if tier_def.preempts else rec["tier"]
        meta = f"tier: {item_tier}" + (f"; who: {team}" if team else "") + \
            (f"; when: {rec['timeframe']}" if rec.get("timeframe") else "")
        details.append(Text(meta, style="dim"))
        details += _reasons(rec, pathway)
        parts.append(Padding(Group(*details), (0, 0, 1, 3)))

    against, asked = split_not_recommended(result)
    if against:
        parts.append(Rule("Advised against for this patient", align="left"))
        for rec in against:
            line = Text("x ", style="bold")
            line.append(verdict(rec), style="bold")
            line.append(f"  {rec['title']}", style="bold")
            if rec.get("requested"):
                line.append("  [requested by the patient]")
            parts.append(line)
            parts.append(Padding(Group(*_reasons(rec, pathway)), (0, 0, 1, 3)))
    if asked:
        parts.append(Rule(ASKED_HEADING_PREEMPTED if tier_def.preempts else ASKED_HEADING, align="left"))
        for rec in asked:
            line = Text("? ", style="bold")
            line.append(verdict(rec, tier_def.preempts), style="bold")
            line.append(f"  {rec['title']}", style="bold")
            line.append("  [requested by the patient]")
            parts.append(line)
            parts.append(Padding(Group(*_reasons(rec, pathway)), (0, 0, 1, 3)))

    parts.append(Rule("Care team and follow-up", align="left"))
    team = ", ".join(roles.get(r, r) for r in result["care_team"]) or "—"
    parts.append(Text(f"Care team: {team}"))
    fu = result["follow_up"]
    parts.append(Text(f"Review: {review_text(fu.get('review_in_weeks'))}"))
    if fu.get("safety_net"):
        parts.append(Text(f"Safety net: {fu['safety_net']}"))
    if result["warnings"]:
        parts.append(Rule("Warnings", align="left"))
        for w in result["warnings"]:
            where = w.get("path") or w.get("rule") or ""
            parts.append(Text(f"! {w['message']}" + (f"  ({where})" if where else "")))
    parts.append(Rule(style="dim"))
    parts.append(Text(result["disclaimer"], style="italic"))
    for a in pathway.attributions:
        parts.append(Text(f"{a.title}: {a.text}", style="dim"))
    parts.append(Text(f"Pathway {pathway.id} {pathway.version} (sha256 {pathway.sha256[:12]}…)", style="dim"))
    return Group(*parts)


ASKED_HEADING = "You asked about: not covered by this pathway"
ASKED_HEADING_PREEMPTED = "You asked about: not part of the emergency plan"


def not_covered(entry: dict) -> bool:
    """A requested item that no rule recommends or advises against: every reason is the pathway's neutral
    `unrequested_reason` (or, in an emergency, the tier's `preempt_reason`), with effect `not_indicated`."""
    return all(r.get("effect") == "not_indicated" for r in entry["reasons"])


def split_not_recommended(result: dict) -> tuple[list[dict], list[dict]]:
    """The result's `not_recommended`, in its order, as (advised against by a rule, asked about but not covered).
    The JSON keeps both in one list (the contract); people read them apart, because a request no rule covers is
    not a recommendation against it."""
    against = [e for e in result["not_recommended"] if not not_covered(e)]
    asked = [e for e in result["not_recommended"] if not_covered(e)]
    return against, asked


def verdict(entry: dict, preempted: bool = False) -> str:
    """DO NOT OFFER when a rule advises against the item; for a request no rule covers, NOT COVERED, or NOT NOW
    when an emergency withholds the routine plan."""
    if not_covered(entry):
        return "NOT NOW" if preempted else "NOT COVERED"
    return "DO NOT OFFER"


def notes_of(entry: dict, pathway: Pathway) -> list:
    """The advisory notes an item's result names by id, looked up in the pathway."""
    ids = entry.get("advisory_notes", [])
    return [n for n in pathway.advisory_notes if n.id in ids]


def explained(entry: dict, pathway: Pathway) -> tuple[list[tuple[str, str, str]], str, list[str]]:
    """What both renderers show under an item: per reason (its text, marked when overruled; its rule id; what
    it was because of), the sources, and the advisory notes."""
    reasons = [(OVERRULED.get(r.get("effect"), "") + r["text"], r["rule"],
                ", ".join(f"{k}={_show(v)}" for k, v in r["because"].items())) for r in entry["reasons"]]
    notes = [f"Note: {note.text} ({_sources(c.as_dict() for c in note.sources)})" for note in notes_of(entry, pathway)]
    return reasons, "Sources: " + _sources(entry["sources"]), notes


def _reasons(entry: dict, pathway: Pathway) -> list[RenderableType]:
    """Reasons as a grid, so wrapped lines keep a hanging indent under their bullet."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    reasons, sources, notes = explained(entry, pathway)
    for text, rule, because in reasons:
        grid.add_row("-", Text(text))
        grid.add_row("", Text(f"rule {rule}" + (f"; because {because}" if because else ""), style="dim"))
    for line in [sources, *notes]:
        grid.add_row("", Text(line, style="dim"))
    return [grid]


def _show(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]" if v else "none"
    return str(v)


def render_errors(result: dict) -> RenderableType:
    lines = [Text("The answers are not valid; nothing was assessed.", style="bold")]
    for e in result.get("errors", []):
        lines.append(Text(f"- {e['path']}: {e['message']}"))
    return Panel(Group(*lines), title="Invalid answers", title_align="left")


def to_markdown(result: dict, pathway: Pathway) -> str:
    """The same content as a Markdown handout for the patient record."""
    if result.get("status") != "ok":
        return "# Invalid answers\n\n" + "\n".join(f"- `{e['path']}`: {e['message']}" for e in result["errors"]) + "\n"
    roles = _role_titles(pathway)
    tier_def = pathway.tier(result["tier"])
    md = [f"# Back pain plan — {tier_def.title}", ""]
    if tier_def.preempts:
        md += [f"> **EMERGENCY.** {tier_def.description}", ""]
    elif tier_def.description:
        md += [tier_def.description, ""]
    md += [f"- **Tier:** {result['tier']}"]
    if result["red_flags"]:
        q = pathway.questions.get(pathway.red_flag_question or "")
        md.append("- **Red flags:** " + ", ".join(q.label_of(f) if q else f for f in result["red_flags"]))
    if result["scores"]:
        md.append("- **Scores:** " + scores_text(result["scores"]))
    md += ["", "## Plan", ""]
    for i, rec in enumerate(result["recommendations"], 1):
        team = ", ".join(roles.get(r, r) for r in rec["care_team"])
        requested = " (requested)" if rec.get("requested") else ""
        md.append(f"{i}. **{rec['strength'].upper()}: {rec['title']}**{requested}")
        if team or rec.get("timeframe"):
            md.append(f"   - Who: {team or '—'}" + (f"; when: {rec['timeframe']}" if rec.get("timeframe") else ""))
        md += _md_reasons(rec, pathway)
    if not result["recommendations"]:
        md.append("No items recommended.")
    against, asked = split_not_recommended(result)
    if against:
        md += ["", "## Advised against", ""]
        for rec in against:
            md.append(f"- **{verdict(rec)}: {rec['title']}**" + (" (requested)" if rec.get("requested") else ""))
            md += ["  " + line for line in _md_reasons(rec, pathway)]
    if asked:
        md += ["", f"## {ASKED_HEADING_PREEMPTED if tier_def.preempts else ASKED_HEADING}", ""]
        for rec in asked:
            md.append(f"- **{verdict(rec, tier_def.preempts)}: {rec['title']}** (requested)")
            md += ["  " + line for line in _md_reasons(rec, pathway)]
    fu = result["follow_up"]
    md += ["", "## Care team and follow-up", "",
           "- **Care team:** " + (", ".join(roles.get(r, r) for r in result["care_team"]) or "—"),
           f"- **Review:** {review_text(fu.get('review_in_weeks'))}"]
    if fu.get("safety_net"):
        md.append(f"- **Safety net:** {fu['safety_net']}")
    if result["warnings"]:
        md += ["", "## Warnings", ""] + [f"- {w['message']}" for w in result["warnings"]]
    md += ["", "---", "", f"*{result['disclaimer']}*", ""]
    for a in pathway.attributions:
        md.append(f"*{a.title}: {a.text}*")
        md.append("")
    md.append(f"Pathway `{pathway.id}` {pathway.version}, sha256 `{pathway.sha256}`.")
    return "\n".join(md) + "\n"


def _md_reasons(entry: dict, pathway: Pathway) -> list[str]:
    reasons, sources, notes = explained(entry, pathway)
    out = [f"   - {text} _(rule `{rule}`" + (f"; because {because}" if because else "") + ")_"
           for text, rule, because in reasons]
    return out + [f"   - {line}" for line in [sources, *notes]]


def scores_text(scores: dict) -> str:
    return ", ".join(f"{k} {v if v is not None else 'not scored'}" for k, v in scores.items())


def review_text(weeks) -> str:
    if weeks is None:
        return "as needed"
    if weeks == 0:
        return "immediately (same day)"
    return f"in {weeks} week{'s' if weeks != 1 else ''}"
