"""Offline FHIR checks for the tests: HL7's R4 JSON Schema (vendored), fhir.resources R4B models, FHIRPath."""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import cache

import jsonschema

from tests.conftest import FIXTURES

SCHEMA = FIXTURES / "fhir" / "fhir.schema.json.gz"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"

# R4 Questionnaire invariants (FHIRPath, transcribed from the R4 specification's Questionnaire page), checked on
# every item. que-12 is written as intended ("more than one"): R4's text says `count() > 2`, a known slip.
QUESTIONNAIRE_INVARIANTS = {
    "que-2": ("Questionnaire", "descendants().linkId.isDistinct()"),
}
ITEM_INVARIANTS = {
    "que-1": "(type='group' implies item.empty().not()) and (type='display' implies item.empty())",
    "que-3": "type!='display' or code.empty()",
    "que-4": "answerOption.empty() or answerValueSet.empty()",
    "que-5": "(type ='choice' or type = 'open-choice' or type = 'decimal' or type = 'integer' or type = 'date' or "
             "type = 'dateTime' or type = 'time' or type = 'string' or type = 'quantity') or "
             "(answerValueSet.empty() and answerOption.empty())",
    "que-6": "type!='display' or (required.empty() and repeats.empty())",
    "que-8": "(type!='group' and type!='display') or initial.empty()",
    "que-9": "type!='display' or readOnly.empty()",
    "que-10": "(type in ('boolean' | 'decimal' | 'integer' | 'string' | 'text' | 'url' | 'open-choice')) or "
              "maxLength.empty()",
    "que-11": "answerOption.empty() or initial.empty()",
    "que-12": "enableWhen.count() > 1 implies enableBehavior.exists()",
    "que-13": "repeats=true or initial.count() <= 1",
}
ENABLE_WHEN_INVARIANTS = {
    "que-7": "operator = 'exists' implies (answer is boolean)",
}


@cache
def schema() -> dict:
    raw = gzip.decompress(SCHEMA.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "the vendored FHIR schema was changed"
    return json.loads(raw)


@cache
def validator(resource_type: str) -> jsonschema.Draft6Validator:
    """A validator for one resource type (its errors point into the resource, not at the top-level oneOf)."""
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}",
                                       "definitions": schema()["definitions"]})


def schema_errors(resource: dict) -> list[str]:
    found = validator(resource["resourceType"]).iter_errors(resource)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in found]


def r4b_model(resource: dict):
    """The resource parsed by fhir.resources' R4B models (raises pydantic's ValidationError)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def fhirpath(target: dict, expression: str, **env) -> list:
    """`expression` on `target` with the R4 model (which `.value` of a choice type needs) and `%` variables."""
    return _compiled(expression)(target, env)


@cache
def _compiled(expression: str):
    from fhirpathpy import compile
    from fhirpathpy.models import models

    return compile(expression, models["r4"])


def all_items(items: list[dict]):
    for item in items:
        yield item
        yield from all_items(item.get("item", []))
