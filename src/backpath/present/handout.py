"""Result -> a plain-language handout for the patient (`assess --handout FILE.html|FILE.md`).

Written for the person, not the clinician: short sentences and everyday words (Flesch reading ease 60 or more,
about 900 words at most), no rule ids, codes or abbreviations. One part per option in the plan (what it is,
what to expect, what it can do and its downsides, as the IPDAS criteria ask), what the person asked about and the
answer, when to get help now, and when the next check is. The words come from each catalogue item's `plain`
fields in the pathway; an item without them falls back to its title and description.

`handout(result, pathway)` builds the content once; `to_markdown` and `to_html` only serialise it. The HTML is
one self-contained printable page: a `lang`, print CSS for A4, no scripts, no links to fetch, every text escaped.
Pure: no I/O.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from backpath.core.model import Item, Pathway

LANG = "en-GB"
TITLE = "Your back pain plan"
INTRO = ("This sheet is for you to keep. It sums up the plan you talked about with your clinician, and says "
         "when to get help.")
FOOTER = ("This sheet was made with backpath, a tool that supports your clinician. It follows the national "
          "guideline for low back pain and sciatica (NICE). It does not replace the advice of your clinician. "
          "If you are worried, ask.")


@dataclass(frozen=True)
class Part:
    """One option: its plain name and up to four short paragraphs, each with a heading."""

    name: str
    lead: str
    paragraphs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Handout:
    urgent: str | None  # for an emergency: what to do now, first on the page
    plan: tuple[Part, ...]
    asked: tuple[tuple[str, str], ...]  # (what was asked about, the answer)
    safety_net: str | None
    review: str
    notes: tuple[str, ...] = field(default=())


def handout(result: dict, pathway: Pathway) -> Handout:
    """The handout's content for an `ok` result."""
    if result.get("status") != "ok":
        raise ValueError("a handout needs a valid result; the answers were not valid")
    tier = pathway.tier(result["tier"])
    safety_net = result["follow_up"].get("safety_net")
    urgent = (safety_net or "Go to the emergency department now, or call 999.") if tier.preempts else None
    plan = tuple(_part(rec, pathway.catalogue.get(rec["id"])) for rec in result["recommendations"])
    asked = []
    for rec in result["recommendations"]:
        if rec.get("requested"):
            asked.append((_name(rec, pathway), "Yes. It is part of your plan (see above)."))
    for entry in result["not_recommended"]:
        if entry.get("requested"):
            asked.append((_name(entry, pathway), _answer(entry, pathway, tier.preempts)))
    return Handout(urgent, plan, tuple(asked), None if tier.preempts else safety_net,
                   _review(result["follow_up"].get("review_in_weeks")))


def _name(entry: dict, pathway: Pathway) -> str:
    item = pathway.catalogue.get(entry["id"])
    return item.plain.name if item is not None and item.plain else entry["title"]


def _part(rec: dict, item: Item | None) -> Part:
    lead = ("This is advised for you." if rec["strength"] == "offer"
            else "This is an option to talk over with your clinician.")
    if item is None or item.plain is None:
        return Part(rec["title"], lead, ((("What it is", item.description),) if item else ()))
    p = item.plain
    paragraphs = [("What it is", p.what)]
    for heading, text in (("What to expect", p.expect), ("What it can do", p.benefits), ("Downsides", p.harms)):
        if text:
            paragraphs.append((heading, text))
    return Part(p.name, lead, tuple(paragraphs))


def _answer(entry: dict, pathway: Pathway, preempted: bool) -> str:
    item = pathway.catalogue.get(entry["id"])
    advised_against = any(r.get("effect") != "not_indicated" for r in entry["reasons"])
    if advised_against:
        why = item.plain.against if item is not None and item.plain and item.plain.against else None
        return "No. " + (why or "It is not advised for you. Your clinician can tell you why.")
    if preempted:
        return "Not now. Your urgent check comes first."
    return "It is not part of your plan now. Talk it over with your clinician."


def _review(weeks) -> str:
    if weeks is None:
        return "See your clinician again if you need to."
    if weeks == 0:
        return "Go today. Do not wait for an appointment."
    n = int(weeks) if float(weeks).is_integer() else weeks
    return f"See your clinician again in {n} week{'s' if n != 1 else ''}, or sooner if you need to."


# --- Markdown ----------------------------------------------------------------------------------

def to_markdown(h: Handout) -> str:
    md = [f"# {TITLE}", ""]
    if h.urgent:
        md += [f"> **Get help now.** {h.urgent}", ""]
    md += [INTRO, ""]
    if h.plan:
        md += ["## Your plan", ""]
        for part in h.plan:
            md += [f"### {part.name}", "", part.lead, ""]
            md += [f"**{heading}:** {text}\n" for heading, text in part.paragraphs]
    if h.asked:
        md += ["## You asked about", ""]
        md += [f"- **{name}:** {answer}" for name, answer in h.asked]
        md.append("")
    if h.safety_net:
        md += ["## When to get help", "", h.safety_net, ""]
    md += ["## Your next check", "", h.review, "", "---", "", f"*{FOOTER}*"]
    return "\n".join(md) + "\n"


# --- HTML --------------------------------------------------------------------------------------

CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11pt; line-height: 1.35; color: #111;
       max-width: 46em; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 18pt; margin: 0 0 0.3em; }
h2 { font-size: 13pt; margin: 1em 0 0.3em; border-bottom: 1px solid #999; }
h3 { font-size: 11.5pt; margin: 0.7em 0 0.1em; }
p { margin: 0.15em 0 0.35em; }
.urgent { border: 3px solid #b00; padding: 0.4em 0.7em; font-weight: bold; }
.lead { font-style: italic; }
.part { break-inside: avoid; page-break-inside: avoid; }
footer { margin-top: 1em; font-size: 9.5pt; color: #333; }
@page { size: A4; margin: 14mm 15mm; }
@media print { body { margin: 0; padding: 0; max-width: none; font-size: 10.5pt; } }
""".strip()


def to_html(h: Handout) -> str:
    e = html.escape
    body = [f"<h1>{e(TITLE)}</h1>"]
    if h.urgent:
        body.append(f'<p class="urgent">Get help now. {e(h.urgent)}</p>')
    body.append(f"<p>{e(INTRO)}</p>")
    if h.plan:
        body.append("<h2>Your plan</h2>")
        for part in h.plan:
            body.append('<section class="part">')
            body.append(f"<h3>{e(part.name)}</h3>")
            body.append(f'<p class="lead">{e(part.lead)}</p>')
            body += [f"<p><strong>{e(heading)}:</strong> {e(text)}</p>" for heading, text in part.paragraphs]
            body.append("</section>")
    if h.asked:
        body.append("<h2>You asked about</h2>")
        body.append("<ul>" + "".join(f"<li><strong>{e(name)}:</strong> {e(answer)}</li>" for name, answer in h.asked)
                    + "</ul>")
    if h.safety_net:
        body += ["<h2>When to get help</h2>", f"<p>{e(h.safety_net)}</p>"]
    body += ["<h2>Your next check</h2>", f"<p>{e(h.review)}</p>", f"<footer>{e(FOOTER)}</footer>"]
    return ("<!DOCTYPE html>\n"
            f'<html lang="{LANG}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(TITLE)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def render(result: dict, pathway: Pathway, kind: str) -> str:
    """The handout as `html` or `markdown` text."""
    content = handout(result, pathway)
    return to_html(content) if kind == "html" else to_markdown(content)


def kind_of(filename: str) -> str | None:
    """`html` or `markdown` by the file's extension, or None when it is neither."""
    lower = filename.lower()
    if lower.endswith((".html", ".htm")):
        return "html"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    return None
