"""Code systems and codes backpath's FHIR output uses: its own canonicals, LOINC for the STarT Back tool, UCUM.

LOINC codes of the Keele STarT Back Screening Tool, read on loinc.org (LOINC 2.77 pages of 91349-1, 91350-9,
91352-5; first released in 2.66): panel 91349-1 lists the items 91340-0 to 91348-3 in the form's order, the
distress (psychosocial) subscore 91350-9, the total score 91351-7 and the risk level 91352-5, whose normative
answer list LL3578-3 is High LA9193-9, Medium LA8982-6, Low LA9194-7. Only codes are used: LOINC's display
texts for the items are Keele's wording, which backpath does not reproduce.
"""

from __future__ import annotations

from backpath.core.model import Pathway, Question

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOINC_VERSION_READ = "2.77"

# Applied only to questions and scores whose attribution is `startback` (the Keele tool).
STARTBACK_PANEL = "91349-1"
STARTBACK_ITEMS = {f"startback_{n}": code for n, code in enumerate(
    ("91340-0", "91341-8", "91342-6", "91343-4", "91344-2", "91345-9", "91346-7", "91347-5", "91348-3"), 1)}
STARTBACK_SCORES = {"startback_total": "91351-7", "startback_psychosocial": "91350-9",
                    "startback_risk": "91352-5"}
STARTBACK_RISK_ANSWERS = {"low": ("LA9194-7", "Low"), "medium": ("LA8982-6", "Medium"), "high": ("LA9193-9", "High")}

# A pathway's unit text -> (UCUM code, display). A unit not listed here is shown as text only.
UCUM_UNITS = {
    "years": ("a", "years"), "year": ("a", "year"),
    "weeks": ("wk", "weeks"), "week": ("wk", "week"),
    "days": ("d", "days"), "months": ("mo", "months"),
    "kg/m²": ("kg/m2", "kg/m²"), "kg/m2": ("kg/m2", "kg/m²"),
    "kg": ("kg", "kg"), "cm": ("cm", "cm"),
    "/10": ("{score}", "/10"),
}


def canonical(pathway: Pathway) -> str:
    """The Questionnaire's `url`: one canonical per pathway id; the pathway's version goes in `version`."""
    return f"urn:backpath:pathway:{pathway.id}"


def option_system(pathway: Pathway, q: Question) -> str:
    """The code system of a question's option ids (codes are unique within a question)."""
    return f"{canonical(pathway)}:question:{q.id}"


def item_system(pathway: Pathway) -> str:
    """The code system of the pathway's catalogue item ids (recommendations)."""
    return f"{canonical(pathway)}:item"


def tier_system(pathway: Pathway) -> str:
    return f"{canonical(pathway)}:tier"


def loinc_item(pathway: Pathway, q: Question) -> str | None:
    return STARTBACK_ITEMS.get(q.id) if q.attribution == "startback" else None


def loinc_score(score) -> str | None:
    return STARTBACK_SCORES.get(score.id) if score.attribution == "startback" else None
