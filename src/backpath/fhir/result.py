"""A result as FHIR R4 (`--format fhir`) and as CDS Hooks cards (`--format cds-hooks`).

Built from the result dict of the contract (`assess(...)`) and the loaded pathway (titles, categories, sources),
never from a writer's internals. Output is deterministic: resource ids are UUIDs made from the result's own
bytes, and no clock is read (a GuidanceResponse carries no occurrence time; the receiving system stamps it).

A result is a Bundle (type collection) of a GuidanceResponse, the RequestGroup it points to (`result`), a
Parameters resource with the scores and tier (`outputParameters`) and, when there are warnings or errors, an
OperationOutcome (`evaluationMessage`). The RequestGroup has two action groups: what is recommended (each action's
prefix the strength, "Offer" or "Consider"), and what is not recommended for this patient (each marked with the
`request-doNotPerform` extension), both with their reasons and sources.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from backpath.core.model import Pathway
from backpath.fhir import codes

DO_NOT_PERFORM = "http://hl7.org/fhir/StructureDefinition/request-doNotPerform"
RECORD_ID_SYSTEM = "urn:backpath:record-id"
PRIORITY = {"emergency": "stat", "urgent": "urgent"}  # every other tier: routine
INDICATOR = {"emergency": "critical", "urgent": "critical", "surgical_consult": "warning",
             "interventional": "warning"}  # every other tier: info
_NAMESPACE = uuid.UUID("6f1c5a52-3d0e-4e38-9a57-9b7c2f0d2b11")  # backpath's namespace for UUIDv5 ids


def _ids(result: dict, text: str | None = None) -> dict[str, str]:
    """Ids from the result's compact JSON text (`text` when the caller has it already, as batch does)."""
    seed = text if text is not None else json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    return {kind: str(uuid.uuid5(_NAMESPACE, f"{kind}:{seed}"))
            for kind in ("Bundle", "GuidanceResponse", "RequestGroup", "Parameters", "OperationOutcome")}


def _ref(ids: dict[str, str], kind: str) -> dict:
    return {"reference": f"urn:uuid:{ids[kind]}"}


def to_bundle(pathway: Pathway, result: dict, text: str | None = None) -> dict:
    """One result (ok or error) -> a FHIR R4 Bundle of type collection. `text`: the result's compact JSON, if
    already made (it seeds the ids)."""
    ids = _ids(result, text)
    ok = result.get("status") == "ok"
    guidance: dict = {"resourceType": "GuidanceResponse", "id": ids["GuidanceResponse"]}
    if result.get("id") is not None:
        guidance["requestIdentifier"] = {"system": RECORD_ID_SYSTEM, "value": str(result["id"])}
    guidance["moduleUri"] = f"{codes.canonical(pathway)}|{pathway.version}"
    guidance["status"] = "success" if ok else "failure"
    entries: list[dict] = [guidance]
    messages = _outcome(ids, result)
    if messages is not None:
        guidance["evaluationMessage"] = [_ref(ids, "OperationOutcome")]
    if ok:
        guidance["reasonCode"] = [{"coding": [{"system": codes.tier_system(pathway), "code": result["tier"],
                                               "display": result.get("tier_title") or result["tier"]}]}]
        guidance["note"] = [{"text": result["disclaimer"]}]
        guidance["outputParameters"] = _ref(ids, "Parameters")
        guidance["result"] = _ref(ids, "RequestGroup")
        entries += [_request_group(pathway, result, ids), _parameters(pathway, result, ids)]
    if messages is not None:
        entries.append(messages)
    return {"resourceType": "Bundle", "id": ids["Bundle"], "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries]}


def _outcome(ids: dict[str, str], result: dict) -> dict | None:
    issues = [_issue("error", "invalid", e) for e in result.get("errors", [])]
    issues += [_issue("warning", "informational", w) for w in result.get("warnings", [])]
    if not issues:
        return None
    return {"resourceType": "OperationOutcome", "id": ids["OperationOutcome"], "issue": issues}


def _issue(severity: str, code: str, entry: dict) -> dict:
    """An error or warning as an OperationOutcome issue: an answer's path as its `expression`, a rule's warning
    with the rule id as its `details` code."""
    issue: dict = {"severity": severity, "code": code}
    if entry.get("rule"):
        issue["details"] = {"coding": [{"system": "urn:backpath:rule", "code": entry["rule"]}]}
    issue["diagnostics"] = entry["message"]
    if entry.get("path"):
        issue["expression"] = [entry["path"]]
    return issue


def _request_group(pathway: Pathway, result: dict, ids: dict[str, str]) -> dict:
    tier = result["tier"]
    recommended = [_action(pathway, rec, False) for rec in result["recommendations"]]
    ruled_out = [_action(pathway, rec, True) for rec in result["not_recommended"]]
    actions = []
    if recommended:
        actions.append({"title": "Recommended", "description": result.get("tier_title") or tier,
                        "groupingBehavior": "logical-group", "action": recommended})
    if ruled_out:
        actions.append({"title": "Not recommended for this patient", "groupingBehavior": "logical-group",
                        "action": ruled_out})
    group: dict = {"resourceType": "RequestGroup", "id": ids["RequestGroup"], "status": "draft",
                   "intent": "proposal", "priority": PRIORITY.get(tier, "routine")}
    group["code"] = {"coding": [{"system": codes.tier_system(pathway), "code": tier,
                                 "display": result.get("tier_title") or tier}]}
    follow_up = result.get("follow_up") or {}
    notes = [f"Review in {follow_up['review_in_weeks']:g} weeks." if follow_up.get("review_in_weeks") is not None
             else None, follow_up.get("safety_net")]
    group["note"] = [{"text": n} for n in notes if n]
    if actions:
        group["action"] = actions
    return group


def _action(pathway: Pathway, rec: dict, ruled_out: bool) -> dict:
    item = pathway.catalogue.get(rec["id"])
    action: dict = {}
    if ruled_out:
        action["extension"] = [{"url": DO_NOT_PERFORM, "valueBoolean": True}]
        action["prefix"] = "Do not offer"
    else:
        action["prefix"] = rec["strength"].capitalize()
    action["title"] = rec["title"]
    if item is not None and item.description:
        action["description"] = item.description
    if not ruled_out:
        action["priority"] = PRIORITY.get(rec.get("tier", ""), "routine")
    coding = [{"system": codes.item_system(pathway), "code": rec["id"], "display": rec["title"]}]
    if item is not None:
        coding.append({"system": f"{codes.canonical(pathway)}:category", "code": item.category})
    action["code"] = [{"coding": coding}]
    action["documentation"] = [{"type": "justification", "label": r["rule"], "display": r["text"]}
                               for r in rec["reasons"]] + [_citation(pathway, s) for s in rec["sources"]]
    if rec.get("requested"):
        action["textEquivalent"] = "The patient asked about this option."
    return action


def _citation(pathway: Pathway, cite: dict) -> dict:
    source = pathway.sources.get(cite["id"])
    label = cite["id"] + (f" {cite['section']}" if cite.get("section") else "")
    if cite.get("verified") is False:
        label += " (number unverified)"
    out: dict = {"type": "citation", "label": label}
    if source is not None:
        out["display"] = source.title
        if source.url:
            out["url"] = source.url
    return out


def _parameters(pathway: Pathway, result: dict, ids: dict[str, str]) -> dict:
    params: list[dict] = [{"name": "tier", "valueCoding": {"system": codes.tier_system(pathway),
                                                            "code": result["tier"]}}]
    scores = {s.id: s for s in pathway.scores}
    for name, value in result["scores"].items():
        if value is None:
            continue
        param: dict = {"name": name}
        loinc = codes.loinc_score(scores[name]) if name in scores else None
        if isinstance(value, str):
            answer = codes.STARTBACK_RISK_ANSWERS.get(value) if loinc == codes.STARTBACK_SCORES["startback_risk"] \
                else None
            param["valueCoding"] = ({"system": codes.LOINC, "code": answer[0], "display": answer[1]} if answer else
                                    {"system": f"{codes.canonical(pathway)}:score:{name}", "code": value})
        elif isinstance(value, bool):
            param["valueBoolean"] = value
        elif isinstance(value, int) or float(value).is_integer():
            param["valueInteger"] = int(value)
        else:
            param["valueDecimal"] = value
        if loinc:
            param["part"] = [{"name": "code", "valueCoding": {"system": codes.LOINC, "code": loinc}}]
        params.append(param)
    params += [{"name": "red_flag", "valueCode": flag} for flag in result.get("red_flags", [])]
    review = (result.get("follow_up") or {}).get("review_in_weeks")
    if review is not None:
        params.append({"name": "review_in_weeks", "valueDecimal": review})
    return {"resourceType": "Parameters", "id": ids["Parameters"], "parameter": params}


# --- CDS Hooks -----------------------------------------------------------------------------------

def to_cards(pathway: Pathway, result: dict) -> dict:
    """One result -> a CDS Hooks response `{"cards": [...]}`: one card for the decision (or for the invalid
    answers), with the pathway and its version as the source."""
    ids = _ids(result)
    source = {"label": f"backpath {pathway.id} {pathway.version}: {pathway.title}",
              "topic": {"system": codes.canonical(pathway), "code": pathway.id, "display": pathway.version}}
    if result.get("status") != "ok":
        detail = "\n".join(f"- `{_md(e['path']) or 'record'}`: {_md(e['message'])}" for e in result["errors"])
        return {"cards": [{"uuid": ids["GuidanceResponse"], "summary": "backpath: the answers are not valid; no "
                           "recommendation was made", "indicator": "warning", "detail": detail, "source": source}]}
    tier = result["tier"]
    title = result.get("tier_title") or tier
    offered = [r for r in result["recommendations"]]
    summary = _short(f"{title}: " + ", ".join(r["title"] for r in offered[:3]) +
                     (f" and {len(offered) - 3} more" if len(offered) > 3 else ""), 140)
    lines = [f"**{_md(title)}**", ""]
    if result.get("red_flags"):
        labels = pathway.questions[pathway.red_flag_question].labels if pathway.red_flag_question else {}
        lines += ["Red flags: " + ", ".join(_md(labels.get(f, f)) for f in result["red_flags"]), ""]
    for r in offered:
        reason = r["reasons"][0]["text"] if r["reasons"] else ""
        lines.append(f"- {r['strength'].capitalize()}: **{_md(r['title'])}**. {_md(reason)}")
    asked = [r for r in result["not_recommended"] if r.get("requested")]
    for r in asked:
        reason = r["reasons"][0]["text"] if r["reasons"] else ""
        lines.append(f"- Not recommended (asked about): **{_md(r['title'])}**. {_md(reason)}")
    others = len(result["not_recommended"]) - len(asked)
    if others:
        lines.append(f"- {others} other option{'s are' if others != 1 else ' is'} not recommended for this patient "
                     "(see the FHIR result).")
    follow_up = result.get("follow_up") or {}
    review = follow_up.get("review_in_weeks")
    if review is not None:
        lines += ["", "Review: now." if review == 0 else f"Review in {review:g} week{'s' if review != 1 else ''}."]
    if follow_up.get("safety_net"):
        lines += ["", f"Safety-net: {_md(follow_up['safety_net'])}"]
    for w in result.get("warnings", []):
        lines += ["", f"{'Note' if w.get('path') else 'Warning'}: {_md(w['message'])}"]
    lines += ["", f"_{_md(result['disclaimer'])}_"]
    card = {"uuid": ids["GuidanceResponse"], "summary": summary, "indicator": INDICATOR.get(tier, "info"),
            "detail": "\n".join(lines), "source": source}
    return {"cards": [card]}


def _short(text: str, limit: int) -> str:
    return text if len(text) < limit else text[: limit - 2].rstrip() + "…"


def _md(text: Any) -> str:
    """Pathway or answer text inside Markdown: characters Markdown would read as markup are escaped."""
    out = str(text)
    for ch in "\\`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return out


def ndjson_bundles(pathway: Pathway, pieces: list[bytes]) -> list[bytes]:
    """`batch --format fhir`: JSON Lines results (a chunk's output) -> NDJSON, a Bundle a line, in the same order."""
    text = b"".join(pieces)
    out = []
    for line in text.splitlines():
        if line:
            line_text = line.decode("utf-8")
            bundle = to_bundle(pathway, json.loads(line_text), line_text)
            bundle_text = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
            out.append(bundle_text.encode("utf-8", "backslashreplace"))
            out.append(b"\n")
    return out
