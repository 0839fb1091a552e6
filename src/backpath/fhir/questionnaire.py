"""The pathway's questionnaire as one FHIR R4 Questionnaire (SDC profile): `backpath questions --format fhir`.

Conventions others rely on (docs/fhir.md has the whole table): `url` is the pathway's canonical and `version` its
version; a section is a `group` item (linkId = section id); a question's linkId is its id; an option's
`valueCoding.code` is its option id; every multi-choice question has an exclusive "None of these" option (code
`none`), since a FHIR response leaves an unanswered item out and "no red flags" must be an answer.
Pure: pathway in, dict out.
"""

from __future__ import annotations

from typing import Any

from backpath.core.model import Derived, Pathway, Question, Score
from backpath.fhir import codes
from backpath.fhir.expressions import NONE_CODE, FhirPathWriter, NotExpressible, enable_when

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition"
EXT = "http://hl7.org/fhir/StructureDefinition"
SDC_PROFILE = f"{SDC}/sdc-questionnaire"
SDC_BEHAVE_PROFILE = f"{SDC}/sdc-questionnaire-behave"  # calculated items, enableWhenExpression
ENABLE_WHEN_EXPRESSION = f"{SDC}/sdc-questionnaire-enableWhenExpression"
CALCULATED_EXPRESSION = f"{SDC}/sdc-questionnaire-calculatedExpression"
ITEM_CONTROL = f"{EXT}/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
OPTION_EXCLUSIVE = f"{EXT}/questionnaire-optionExclusive"
ORDINAL_VALUE = f"{EXT}/ordinalValue"
MIN_VALUE, MAX_VALUE = f"{EXT}/minValue", f"{EXT}/maxValue"
UNIT = f"{EXT}/questionnaire-unit"
NONE_LABEL = "None of these"

ITEM_TYPES = {"boolean": "boolean", "integer": "integer", "number": "decimal", "choice": "choice",
              "multi_choice": "choice"}


class QuestionnaireError(Exception):
    """The pathway has something the FHIR questionnaire cannot say faithfully; the message names it."""


def help_link_id(question_id: str) -> str:
    return f"{question_id}.help"


def intro_link_id(section_id: str) -> str:
    return f"{section_id}.intro"


def build_questionnaire(pathway: Pathway) -> dict:
    """The Questionnaire resource (a JSON-ready dict). Raises QuestionnaireError for a condition it cannot
    translate (never leaves a question's skip logic out)."""
    writer = FhirPathWriter(pathway)
    placed = _score_sections(pathway)
    groups = []
    for section in pathway.sections:
        items: list[dict] = []
        if section.intro:
            items.append({"linkId": intro_link_id(section.id), "text": section.intro, "type": "display"})
        for qid in section.question_ids:
            items.append(question_item(pathway, pathway.questions[qid], writer))
        for score in placed.get(section.id, ()):
            items.append(score_item(pathway, score, writer))
        group = {"linkId": section.id, "text": section.title, "type": "group", "item": items}
        if section.question_ids and all(pathway.questions[q].attribution == "startback" for q in section.question_ids):
            group["code"] = [{"system": codes.LOINC, "code": codes.STARTBACK_PANEL}]
        groups.append(group)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": pathway.id,
        "meta": {"profile": [SDC_PROFILE, SDC_BEHAVE_PROFILE]},
        "url": codes.canonical(pathway),
        "version": pathway.version,
        "name": _computable_name(pathway.id),
        "title": pathway.title,
        "status": "active",
        "subjectType": ["Patient"],
    }
    if pathway.summary:
        resource["description"] = pathway.summary
    resource["purpose"] = pathway.disclaimer
    if pathway.attributions:
        resource["copyright"] = " ".join(f"{a.title}: {a.text}" for a in pathway.attributions)
    resource["item"] = groups
    return resource


def _computable_name(pathway_id: str) -> str:
    parts = [p for p in pathway_id.replace("_", "-").split("-") if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts if p.isalnum())
    return name if name[:1].isalpha() else "Pathway" + name


def question_item(pathway: Pathway, q: Question, writer: FhirPathWriter) -> dict:
    item: dict = {"linkId": q.id}
    code = codes.loinc_item(pathway, q)
    if code:
        item["code"] = [{"system": codes.LOINC, "code": code}]
    item["text"] = q.prompt
    item["type"] = ITEM_TYPES[q.type]
    extensions: list[dict[str, Any]] = []
    if q.ask_when is not None:
        simple = enable_when(pathway, q.ask_when.text, lambda other: codes.option_system(pathway, other))
        if simple is not None:
            conditions, behavior = simple
            item["enableWhen"] = conditions
            if len(conditions) > 1:
                item["enableBehavior"] = behavior
        else:
            try:
                expression = writer.condition(q.ask_when.text)
            except NotExpressible as exc:
                raise QuestionnaireError(f"question `{q.id}`: its ask_when `{q.ask_when.text}` cannot be written "
                                         f"as FHIR skip logic ({exc}).") from None
            extensions.append({"url": ENABLE_WHEN_EXPRESSION, "valueExpression": {
                "description": f"backpath ask_when: {q.ask_when.text}", "language": "text/fhirpath",
                # always true or false: empty (an answer it reads is missing) is false, as SDC asks and backpath does
                "expression": f"iif({expression}, true, false)"}})
    value_key = "valueInteger" if q.type == "integer" else "valueDecimal"
    if q.type in ("integer", "number"):
        if q.min is not None:
            extensions.append({"url": MIN_VALUE, value_key: _number(q.min, q.type)})
        if q.max is not None:
            extensions.append({"url": MAX_VALUE, value_key: _number(q.max, q.type)})
        unit = codes.UCUM_UNITS.get(q.unit or "")
        if unit:
            extensions.append({"url": UNIT, "valueCoding": {"system": codes.UCUM, "code": unit[0],
                                                            "display": unit[1]}})
    if q.type == "multi_choice":
        extensions.append(_item_control("check-box"))
    if extensions:
        item["extension"] = extensions
    item["required"] = q.required
    if q.type == "multi_choice":
        item["repeats"] = True
    if q.options:
        item["answerOption"] = _answer_options(pathway, q)
    if q.help:
        item["item"] = [{"linkId": help_link_id(q.id), "text": q.help, "type": "display",
                         "extension": [_item_control("help")]}]
    return item


def _number(value: float, qtype: str) -> int | float:
    return int(value) if qtype == "integer" or float(value).is_integer() else value


def _item_control(code: str) -> dict:
    return {"url": ITEM_CONTROL, "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": code}]}}


def _answer_options(pathway: Pathway, q: Question) -> list[dict]:
    system = codes.option_system(pathway, q)
    weights = _option_weights(pathway, q)
    out = []
    for o in q.options:
        option: dict = {"valueCoding": {"system": system, "code": o.id, "display": o.label}}
        if weights is not None:
            option["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": weights.get(o.id, 0)}]
        out.append(option)
    if q.type == "multi_choice":
        if NONE_CODE in q.option_ids:
            raise QuestionnaireError(f"question `{q.id}` has an option `{NONE_CODE}`, the code FHIR export keeps for "
                                     "'None of these'; rename the option.")
        out.append({"valueCoding": {"system": system, "code": NONE_CODE, "display": NONE_LABEL},
                    "extension": [{"url": OPTION_EXCLUSIVE, "valueBoolean": True}]})
    return out


def _option_weights(pathway: Pathway, q: Question) -> dict[str, float] | None:
    """The points a choice question's options score, when every score that reads it gives the same points."""
    if q.type != "choice":
        return None
    found = [item.values for s in pathway.scores for item in s.items if item.question == q.id and item.values]
    if not found or any(v != found[0] for v in found):
        return None
    return found[0]


# --- scores as read-only calculated items ---------------------------------------------------------

def _score_sections(pathway: Pathway) -> dict[str, list[Score]]:
    """Each score goes at the end of the section of the last question it reads (directly or through facts)."""
    order = {q.id: i for i, q in enumerate(pathway.question_list())}
    section_of = {qid: s.id for s in pathway.sections for qid in s.question_ids}
    members: tuple[Derived | Score, ...] = (*pathway.derived, *pathway.scores)
    facts = {f.id: f for f in members}

    def reads(name: str, seen: set[str]) -> set[str]:
        if name in order:
            return {name}
        if name in seen or name not in facts:
            return set()
        seen.add(name)
        f = facts[name]
        names: set[str] = set()
        if isinstance(f, Derived) and f.expr is not None:
            names |= set(f.expr.names)
        for case in f.cases:
            names |= set(case.when.names) if case.when is not None else set()
        for item in f.items if isinstance(f, Score) else ():
            if item.question:
                names |= {item.question}
            else:
                assert item.when is not None  # an item with no question has a `when` (a failed compile stops the load)
                names |= set(item.when.names)
        out: set[str] = set()
        for n in names:
            out |= reads(n, seen)
        return out

    placed: dict[str, list[Score]] = {}
    for score in pathway.scores:
        questions = reads(score.id, set())
        if questions:
            last = max(questions, key=order.__getitem__)
            placed.setdefault(section_of[last], []).append(score)
    return placed


def score_item(pathway: Pathway, score: Score, writer: FhirPathWriter) -> dict:
    try:
        expression = writer.fact(score.id)
    except NotExpressible as exc:
        raise QuestionnaireError(f"score `{score.id}` cannot be written as a FHIRPath calculation ({exc}).") from None
    item: dict = {"linkId": score.id}
    code = codes.loinc_score(score)
    if code:
        item["code"] = [{"system": codes.LOINC, "code": code}]
    item["text"] = score.title
    values = [c.value for c in score.cases]
    if score.cases:
        if not all(isinstance(v, str) for v in values):
            item["type"] = "decimal"
        else:
            item["type"] = "choice"
            options = []
            mapping: dict[str, str] = {}
            risk = code == codes.STARTBACK_SCORES["startback_risk"]
            labels = [v for v in values if isinstance(v, str)]  # all of them (checked just above)
            for v in dict.fromkeys(labels):
                loinc = codes.STARTBACK_RISK_ANSWERS.get(v) if risk else None
                coding = ({"system": codes.LOINC, "code": loinc[0], "display": loinc[1]} if loinc else
                          {"system": f"{codes.canonical(pathway)}:score:{score.id}", "code": v, "display": v})
                mapping[v] = coding["code"]
                options.append({"valueCoding": coding})
            item["answerOption"] = options
            choose = _nested_iif(list(mapping.items()))
            expression = (f"%questionnaire.repeat(item).where(linkId='{score.id}').answerOption.value"
                          f".where(code = (({expression}).select({choose})))")
    else:
        integral = all(item.values is None or all(float(w).is_integer() for w in item.values.values())
                       for item in score.items) and all(float(item.points).is_integer() for item in score.items) \
            and all(pathway.questions[i.question].type != "number" for i in score.items if i.question)
        item["type"] = "integer" if integral else "decimal"
    description = f"backpath score {score.id}" + (f": {score.description}" if score.description else "")
    item["extension"] = [{"url": CALCULATED_EXPRESSION, "valueExpression": {
        "description": description, "language": "text/fhirpath", "expression": expression}}]
    item["readOnly"] = True
    return item


def _nested_iif(pairs: list[tuple[str, str]]) -> str:
    from backpath.fhir.expressions import literal

    (value, code), rest = pairs[0], pairs[1:]
    otherwise = _nested_iif(rest) if rest else "{}"
    return f"iif($this = {literal(value)}, {literal(code)}, {otherwise})"
