"""FHIR QuestionnaireResponses in and out: answers <-> a QuestionnaireResponse of `backpath questions --format fhir`.

Reading turns one response into backpath's record `{"id", "answers"}`; the engine then checks the answers as it
checks any record (types, ranges, options, required questions, answers to questions not asked), so a response is
judged in the same words as a JSON record. Only what is FHIR-specific is checked here: the questionnaire it
answers (pathway and version), the item structure, and which `value[x]` each item takes. An item with no answer
is a missing answer (a required one is an error, never "none"); the exclusive "None of these" option reads as `[]`.
Pure: dicts in, dicts out.
"""

from __future__ import annotations

from typing import Any

from backpath.core.errors import did_you_mean
from backpath.core.model import Pathway, Question
from backpath.fhir import codes
from backpath.fhir.expressions import NONE_CODE
from backpath.fhir.questionnaire import ITEM_TYPES, NONE_LABEL, help_link_id, intro_link_id

BUNDLE_TYPES = ("collection", "searchset", "transaction")
MAX_ITEMS = 10_000  # items walked in one response; a longer one is refused (hostile input stays cheap)
MAX_DEPTH = 20  # group nesting
_VALUE_KEY = {"boolean": "valueBoolean", "integer": "valueInteger", "decimal": "valueDecimal",
              "choice": "valueCoding"}


class ResponseProblem(Exception):
    """A response that cannot be read as answers; `errors` are error records' `{"path", "message"}` entries."""

    record_id: Any  # the response's id, set by `read_response` once read (readers use getattr with a default)

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


# --- out: answers -> QuestionnaireResponse --------------------------------------------------------

def to_response(pathway: Pathway, answers: dict, record_id: Any = None) -> dict:
    """A completed QuestionnaireResponse holding `answers` (question id -> value), grouped by section."""
    resource: dict = {"resourceType": "QuestionnaireResponse"}
    if record_id is not None:
        resource["id"] = str(record_id)
    resource["questionnaire"] = f"{codes.canonical(pathway)}|{pathway.version}"
    resource["status"] = "completed"
    groups = []
    for section in pathway.sections:
        items = [{"linkId": qid, "text": pathway.questions[qid].prompt,
                  "answer": _answers_out(pathway, pathway.questions[qid], answers[qid])}
                 for qid in section.question_ids if answers.get(qid) is not None]
        if items:
            groups.append({"linkId": section.id, "text": section.title, "item": items})
    resource["item"] = groups
    return resource


def _answers_out(pathway: Pathway, q: Question, value: Any) -> list[dict]:
    kind = ITEM_TYPES[q.type]
    if kind != "choice":
        return [{_VALUE_KEY[kind]: value}]
    system = codes.option_system(pathway, q)
    values = value if q.type == "multi_choice" else [value]
    if q.type == "multi_choice" and not values:
        return [{"valueCoding": {"system": system, "code": NONE_CODE, "display": NONE_LABEL}}]
    return [{"valueCoding": {"system": system, "code": v, "display": q.label_of(v)}} for v in values]


# --- in: resources -> responses ------------------------------------------------------------------

def responses_in(data: dict) -> list[tuple[Any, dict | None, str | None]]:
    """The responses a FHIR resource holds, each as `(where, resource, problem)`: a QuestionnaireResponse is
    itself; a Bundle (collection, searchset or transaction) gives its QuestionnaireResponse entries (others, such as
    an included Patient, are skipped), each with its entry number. A response without an `id` takes its entry's
    `fullUrl` as its id. A resource of another kind, or a Bundle of another type, is one problem."""
    kind = data.get("resourceType")
    if kind == "QuestionnaireResponse":
        return [(None, data, None)]
    if kind != "Bundle":
        return [(None, None, f"a {_show(kind)} resource is not a QuestionnaireResponse; give QuestionnaireResponses "
                             "of `backpath questions --format fhir`, or a Bundle of them.")]
    if data.get("type") not in BUNDLE_TYPES:
        return [(None, None, f"a Bundle of type {_show(data.get('type'))} is not read; give a "
                             f"{', '.join(BUNDLE_TYPES[:-1])} or {BUNDLE_TYPES[-1]} Bundle of QuestionnaireResponses.")]
    entries = data.get("entry", [])
    if type(entries) is not list:
        return [(None, None, "the Bundle's `entry` must be a list.")]
    out: list[tuple[Any, dict | None, str | None]] = []
    for n, entry in enumerate(entries, 1):
        resource = entry.get("resource") if type(entry) is dict else None
        if type(resource) is not dict:
            out.append((n, None, f"Bundle entry {n} has no resource."))
            continue
        if resource.get("resourceType") != "QuestionnaireResponse":
            continue
        if resource.get("id") is None and isinstance(entry.get("fullUrl"), str):
            resource = {**resource, "id": entry["fullUrl"]}
        out.append((n, resource, None))
    if not out:
        out.append((None, None, "the Bundle holds no QuestionnaireResponse."))
    return out


# --- in: one response -> record ------------------------------------------------------------------

def read_response(pathway: Pathway, resource: dict) -> tuple[Any, dict]:
    """One QuestionnaireResponse -> `(record id, answers)`; raises ResponseProblem (with the record id known so
    far in `.record_id`) when it cannot be read as answers to this pathway's questionnaire."""
    record_id = resource.get("id")
    if record_id is not None and type(record_id) is not str:
        record_id = None
    try:
        _check_questionnaire(pathway, resource)
        return record_id, _Reader(pathway).read(resource)
    except ResponseProblem as exc:
        exc.record_id = record_id
        raise


def _check_questionnaire(pathway: Pathway, resource: dict) -> None:
    if resource.get("status") == "entered-in-error":
        raise ResponseProblem([{"path": "status", "message": "the response is marked entered-in-error; it is not "
                                                            "assessed."}])
    ref = resource.get("questionnaire")
    if ref is None:
        return  # nothing says which form it answers; the linkIds are checked one by one
    if type(ref) is not str:
        raise ResponseProblem([{"path": "questionnaire", "message": "must be a canonical URL (text)."}])
    url, _, version = ref.partition("|")
    mine = codes.canonical(pathway)
    if url != mine:
        raise ResponseProblem([{"path": "questionnaire", "message": f"the response answers {_show(url)}, not this "
                                f"pathway's questionnaire {mine}; assess it with the pathway it was made from "
                                "(--pathway)."}])
    if version and version != pathway.version:
        raise ResponseProblem([{"path": "questionnaire", "message": f"the response answers version {_show(version)} "
                                f"of the questionnaire, but this pathway is version {pathway.version}; questions may "
                                "differ between versions, so it is not assessed. Assess it with the pathway file of "
                                f"version {version} (--pathway FILE), or collect the answers again."}])


class _Reader:
    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        self.sections = {s.id for s in pathway.sections}
        self.ignored = {s.id for s in pathway.scores}  # calculated (read-only) items: backpath computes them
        self.ignored |= {help_link_id(q) for q in pathway.questions} | {intro_link_id(s) for s in self.sections}
        self.answers: dict[str, Any] = {}
        self.errors: list[dict] = []
        self.seen = 0

    def read(self, resource: dict) -> dict:
        self._items(resource.get("item", []), "item", 0)
        if self.errors:
            raise ResponseProblem(self.errors)
        return self.answers

    def _items(self, items: Any, where: str, depth: int) -> None:
        if type(items) is not list:
            self.errors.append({"path": where, "message": "must be a list of items."})
            return
        if depth > MAX_DEPTH:
            raise ResponseProblem([{"path": where, "message": f"items nest more than {MAX_DEPTH} deep."}])
        for item in items:
            self.seen += 1
            if self.seen > MAX_ITEMS:
                raise ResponseProblem([{"path": where, "message": f"more than {MAX_ITEMS:,} items; not read."}])
            link = item.get("linkId") if type(item) is dict else None
            if type(link) is not str:
                self.errors.append({"path": where, "message": "an item without a linkId (text) cannot be read."})
                continue
            here = f"{where}[{link}]"
            q = self.pathway.questions.get(link)
            if q is not None:
                self._question(q, item)
            elif link not in self.sections and link not in self.ignored:
                known = [*self.pathway.questions, *self.sections]
                self.errors.append({"path": here, "message": f"{_show(link)} is not an item of this pathway's "
                                    f"questionnaire.{did_you_mean(link, known)}"})
                continue
            if "item" in item:
                self._items(item["item"], here + ".item", depth + 1)
            for answer in item.get("answer", []) if type(item.get("answer")) is list else []:
                if type(answer) is dict and "item" in answer:
                    self._items(answer["item"], here + ".answer.item", depth + 1)

    def _question(self, q: Question, item: dict) -> None:
        path = f"answers.{q.id}"
        if q.id in self.answers:
            self.errors.append({"path": path, "message": "the item appears twice in the response; keep one."})
            return
        answers = item.get("answer", [])
        if type(answers) is not list:
            self.errors.append({"path": path, "message": "`answer` must be a list."})
            return
        if not answers:
            return  # no answer: missing (the engine reports a required one), never "none"
        kind = ITEM_TYPES[q.type]
        key = _VALUE_KEY[kind]
        values = []
        for answer in answers:
            if type(answer) is not dict:
                self.errors.append({"path": path, "message": "each answer must be an object with a value[x]."})
                return
            found = [k for k in answer if k.startswith("value")]
            accepted = (key, "valueInteger") if kind == "decimal" else (key,)
            if len(found) != 1 or found[0] not in accepted:
                self.errors.append({"path": path, "message": f"the answer to this {kind} item is {key}, not "
                                    f"{' and '.join(found) or 'no value'}."})
                return
            value = answer[found[0]]
            if kind == "choice":
                value = self._code(q, value, path)
                if value is None:
                    return
            values.append(value)
        if q.type != "multi_choice":
            if len(values) > 1:
                self.errors.append({"path": path, "message": f"{len(values)} answers to a question that takes one."})
                return
            self.answers[q.id] = values[0]
            return
        if NONE_CODE in values:
            if len(values) > 1:
                self.errors.append({"path": path, "message": f"'{NONE_LABEL}' is given together with other options;"
                                    " choose one or the other."})
                return
            values = []
        self.answers[q.id] = values

    def _code(self, q: Question, coding: Any, path: str) -> str | None:
        if type(coding) is not dict or type(coding.get("code")) is not str:
            self.errors.append({"path": path, "message": "a valueCoding needs a `code` (the option id)."})
            return None
        system = coding.get("system")
        if system is not None and system != codes.option_system(self.pathway, q):
            self.errors.append({"path": path, "message": f"the option's system {_show(system)} is not this "
                                f"question's ({codes.option_system(self.pathway, q)})."})
            return None
        return coding["code"]


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:80] + ("..." if len(text) > 80 else ""))
