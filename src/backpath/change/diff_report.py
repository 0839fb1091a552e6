"""Reports of `backpath diff` (text, JSON, Markdown for a pull request comment), and which changes fail the run.

Each reporter reads a `DiffSummary` and returns the text to print; none decides the exit code. Counts by kind of
change come first, then the changed records (text and Markdown show the first `show` of them; JSON lists all).
Record ids and error messages come from the input: control characters are shown escaped, and Markdown puts them
in code spans with the characters that would break a table or a span replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from backpath.change.decision_diff import KIND_TITLES, KINDS, Change, DiffSummary
from backpath.core.model import Pathway

JSON_FORMAT_VERSION = 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class DiffContext:
    """What the reports say about the run besides the changes."""

    old: Pathway
    new: Pathway
    sources: list[str]  # what was compared: files, or "test cases of ..."
    show: int = 100
    fail_on: str | None = None  # None: any change fails; else a tier id (that tier and more urgent ones)


def urgent_tiers(pathway: Pathway, tier: str) -> set[str]:
    """`tier` and every tier more urgent than it."""
    return {t.id for t in pathway.tiers if pathway.tier_rank[t.id] <= pathway.tier_rank[tier]}


def failing(summary: DiffSummary, ctx: DiffContext) -> list[Change]:
    """The changes that fail the run: all of them, or with `fail_on` those that touch that tier or a more urgent
    one (the tier before or after, or an item or rule of such a tier added, removed or changed)."""
    if ctx.fail_on is None:
        return list(summary.changes)
    tiers = urgent_tiers(ctx.new, ctx.fail_on) | (urgent_tiers(ctx.old, ctx.fail_on)
                                                  if ctx.fail_on in ctx.old.tier_rank else set())
    items = {i: it.tier for p in (ctx.old, ctx.new) for i, it in p.catalogue.items()}
    rules = {r.id: r.tier for p in (ctx.old, ctx.new) for r in p.rules}
    return [c for c in summary.changes if c.tiers_touched(items, rules) & tiers]


def _plain(value: object) -> str:
    """Input text for a terminal: control characters (escape sequences, new lines) shown escaped."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


def _pathway(p: Pathway) -> str:
    return f"{p.id} {p.version} (sha256 {p.sha256[:12]}, {p.file})"


def _n(n: int) -> str:
    return f"{n:,}"


def _headline(summary: DiffSummary) -> str:
    c = summary.counts()
    extra = "".join(f", {_n(c[k])} {label}" for k, label in (("invalid_under_both", "invalid under both"),
                                                               ("unreadable", "unreadable")) if c[k])
    return f"{_n(c['changed'])} of {_n(c['records'])} records change ({_n(c['unchanged'])} unchanged{extra})"


def _lines_of(change: Change) -> list[str]:
    """What changed for one record, a line per part."""
    b, a = change.before, change.after
    if "became_invalid" in change.kinds:
        return [f"invalid under NEW (was tier {b.tier}): " + "; ".join(
            f"{e['path']}: {e['message']}" for e in a.errors)]
    if "became_valid" in change.kinds:
        return [f"valid under NEW (tier {a.tier}); it was invalid: " + "; ".join(
            f"{e['path']}: {e['message']}" for e in b.errors)]
    out = [f"tier {b.tier} -> {a.tier}" if "tier" in change.kinds else f"tier {a.tier} (unchanged)"]
    for label, items in (("+ recommended", change.recommended_added), ("- recommended", change.recommended_removed),
                         ("+ advised against", change.not_recommended_added),
                         ("- advised against", change.not_recommended_removed),
                         ("rules started firing", change.rules_started),
                         ("rules stopped firing", change.rules_stopped)):
        if items:
            out.append(f"{label}: {', '.join(items)}")
    if change.strength:
        out.append("strength: " + ", ".join(f"{i} {s[0]} -> {s[1]}" for i, s in change.strength.items()))
    if change.scores:
        out.append("scores: " + ", ".join(f"{s} {json.dumps(v[0])} -> {json.dumps(v[1])}"
                                           for s, v in change.scores.items()))
    if "review" in change.kinds:
        out.append(f"review in weeks: {b.review_in_weeks} -> {a.review_in_weeks}")
    return out


def text(summary: DiffSummary, ctx: DiffContext) -> str:
    c = summary.counts()
    lines = [f"OLD: {_plain(_pathway(ctx.old))}", f"NEW: {_plain(_pathway(ctx.new))}",
             f"records: {_plain(', '.join(ctx.sources))}", _headline(summary) + "."]
    if summary.changes:
        lines.append("by kind of change (a record can change in several ways):")
        for k in KINDS:
            if c[k]:
                lines.append(f"  {KIND_TITLES[k]:<40} {c[k]:>9,}")
    if summary.tier_moves:
        lines.append("tier moves:")
        for (before, after), n in sorted(summary.tier_moves.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {before} -> {after:<30} {n:>9,}")
    if ctx.fail_on is not None:
        lines.append(f"changes touching tier {ctx.fail_on} or a more urgent one: {_n(len(failing(summary, ctx)))}")
    for place in summary.unreadable_places:
        lines.append(f"unreadable (the same under both): {_plain(place)}")
    shown = summary.changes[: ctx.show]
    if shown:
        more = f" (the first {_n(len(shown))}; --format json lists all)" if len(shown) < len(summary.changes) else ""
        lines.append(f"changed records{more}:")
        for change in shown:
            lines.append(f"  {_plain(change.id)} ({_plain(change.place)})")
            lines += [f"      {_plain(part)}" for part in _lines_of(change)]
    return "\n".join(lines) + "\n"


def as_json(summary: DiffSummary, ctx: DiffContext) -> Iterator[str]:
    """The JSON report in pieces (the changes one at a time, so a large run is not held as one text); the pieces
    join to `json.dumps(doc, ensure_ascii=False, indent=2)` + a new line."""
    def ident(p: Pathway) -> dict:
        return {"id": p.id, "version": p.version, "sha256": p.sha256, "file": p.file}

    doc = {"format_version": JSON_FORMAT_VERSION, "old": ident(ctx.old), "new": ident(ctx.new),
           "records": ctx.sources, "counts": summary.counts(),
           "tier_moves": [{"before": b, "after": a, "records": n} for (b, a), n in
                          sorted(summary.tier_moves.items(), key=lambda kv: (-kv[1], kv[0]))],
           "unreadable": summary.unreadable_places}
    if ctx.fail_on is not None:
        doc["fail_on"] = {"tier": ctx.fail_on, "failing": len(failing(summary, ctx))}
    head = json.dumps(doc, ensure_ascii=False, indent=2)
    if not summary.changes:
        yield head[:-2] + ',\n  "changed": []\n}\n'
        return
    yield head[:-2] + ',\n  "changed": [\n'
    last = len(summary.changes) - 1
    for i, change in enumerate(summary.changes):
        text = json.dumps(change.as_dict(), ensure_ascii=False, indent=2)
        yield "    " + text.replace("\n", "\n    ") + (",\n" if i < last else "\n")
    yield "  ]\n}\n"


def _code(value: object) -> str:
    """Input text as a Markdown code span that a table cell cannot be broken by."""
    body = _CONTROL.sub(" ", str(value)).replace("`", "'").replace("|", "\\|")
    return f"`{body}`"


def _md_ids(ids: list[str], sign: str) -> list[str]:
    return [f"{sign}{_code(i)}" for i in ids]


def markdown(summary: DiffSummary, ctx: DiffContext) -> str:
    c = summary.counts()
    old, new = ctx.old, ctx.new
    out = [f"### backpath diff: {_code(old.id)} {_code(old.version)} → {_code(new.id)} {_code(new.version)}", "",
           f"**{_headline(summary)}.** Records: {', '.join(_code(s) for s in ctx.sources)}.", ""]
    if ctx.fail_on is not None:
        out += [f"Changes touching tier {_code(ctx.fail_on)} or a more urgent one: "
                f"**{_n(len(failing(summary, ctx)))}**.", ""]
    if summary.changes:
        out += ["| kind of change | records |", "|---|---:|"]
        out += [f"| {KIND_TITLES[k]} | {_n(c[k])} |" for k in KINDS if c[k]]
        out.append("")
    if summary.tier_moves:
        out += ["| tier before | tier after | records |", "|---|---|---:|"]
        out += [f"| {_code(b)} | {_code(a)} | {_n(n)} |" for (b, a), n in
                sorted(summary.tier_moves.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.append("")
    shown = summary.changes[: ctx.show]
    if shown:
        title = f"Changed records (the first {_n(len(shown))} of {_n(len(summary.changes))})" \
            if len(shown) < len(summary.changes) else "Changed records"
        out += [f"<details><summary>{title}</summary>", "", "| record | before | after | what changed |",
                "|---|---|---|---|"]
        for change in shown:
            b, a = change.before, change.after
            parts = (_md_ids(change.recommended_added, "+") + _md_ids(change.recommended_removed, "−")
                     + _md_ids(change.not_recommended_added, "+against ")
                     + _md_ids(change.not_recommended_removed, "−against ")
                     + [f"{_code(i)} {s[0]}→{s[1]}" for i, s in change.strength.items()]
                     + _md_ids(change.rules_started, "rule+ ") + _md_ids(change.rules_stopped, "rule− "))
            if "became_invalid" in change.kinds or "became_valid" in change.kinds:
                errors = a.errors or b.errors
                parts = [_code(f"{e['path']}: {e['message']}") for e in errors[:3]]
            if change.scores:
                parts += [f"{_code(s)} {_code(json.dumps(v[0]))}→{_code(json.dumps(v[1]))}"
                          for s, v in change.scores.items()]
            out.append(f"| {_code(change.id)} | {_code(b.tier or 'invalid')} | {_code(a.tier or 'invalid')} | "
                       f"{', '.join(parts)} |")
        out += ["", "</details>", ""]
    return "\n".join(out) + "\n"


REPORTERS: dict[str, Callable[[DiffSummary, DiffContext], str | Iterable[str]]] = {
    "text": text, "json": as_json, "markdown": markdown}
"""Each returns the report as one text, or as pieces to write in turn."""
