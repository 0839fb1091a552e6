"""The data dictionary of a pathway: what each question id means and which values it takes."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backpath.core.answers import describe_range
from backpath.core.model import Pathway, Question


def question_entry(q: Question) -> dict:
    entry: dict = {"id": q.id, "section": q.section, "type": q.type, "prompt": q.prompt,
                   "required": q.required, "ask_when": q.ask_when.text if q.ask_when else None}
    if q.type in ("integer", "number"):
        entry.update({"min": q.min, "max": q.max, "unit": q.unit})
    if q.options:
        entry["options"] = [{"id": o.id, "label": o.label} for o in q.options]
    if q.help:
        entry["help"] = q.help
    return entry


def data_dictionary(pathway: Pathway) -> dict:
    """JSON-ready dictionary; `answers_template` has every question id with null, to fill in.

    Null everywhere, multi-choice questions too: `[]` means "none of them" (no red flags, no conditions), an
    answer a person must give, so an unfilled template fails as missing instead of passing as "none".
    """
    qs = pathway.question_list()
    return {
        "pathway": {"id": pathway.id, "version": pathway.version, "title": pathway.title},
        "questions": [question_entry(q) for q in qs],
        "answers_template": {q.id: None for q in qs},
    }


def allowed_values(q: Question) -> str:
    if q.type == "boolean":
        return "true / false"
    if q.type in ("integer", "number"):
        return ("whole number " if q.type == "integer" else "number ") + describe_range(q)
    ids = ", ".join(q.option_ids)
    return f"one of: {ids}" if q.type == "choice" else f"list of: {ids} ([] = none)"


def render_dictionary(pathway: Pathway) -> RenderableType:
    parts: list[RenderableType] = [Text(f"{pathway.title} ({pathway.id} {pathway.version})", style="bold")]
    for section in pathway.sections:
        table = Table("id", "type", "values", "required / asked when", title=section.title, title_justify="left",
                      show_lines=False, expand=True)
        for qid in section.question_ids:
            q = pathway.questions[qid]
            when = ("required" if q.required else "optional") + (f" when {q.ask_when.text}" if q.ask_when else "")
            table.add_row(Text(q.id), Text(q.type), Text(allowed_values(q)), Text(when))
        parts.append(table)
    return Group(*parts)
