"""Turn pathway YAML into a checked, compiled `Pathway`, or report every problem found."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backpath.core import model as m
from backpath.core.errors import Finding, PathwayError, did_you_mean
from backpath.core.limits import MAX_PATHWAY_BYTES
from backpath.load import pathway_cache
from backpath.load.builder import Builder, _id_at
from backpath.load.document import LoadedYaml, path_text
from backpath.system.fileio import read_bounded

if TYPE_CHECKING:
    import jsonschema


@lru_cache(maxsize=1)
def pathway_schema() -> dict:
    """The JSON Schema of the pathway format, shipped inside the package."""
    return json.loads(_schema_bytes())


@lru_cache(maxsize=1)
def _schema_bytes() -> bytes:
    return resources.files("backpath.schemas").joinpath("pathway.schema.json").read_bytes()


def load_pathway(path: str | Path, *, display_name: str | None = None) -> m.Pathway:
    """Load and check one pathway file; raise `PathwayError` listing every problem."""
    path = Path(path)
    name = display_name or str(path)
    try:
        raw = read_bounded(path, MAX_PATHWAY_BYTES)
    except OSError as exc:
        raise PathwayError(name, [Finding(name, None, None, "(file)", f"cannot read the file: {exc.strerror}.",
                                          "file")]) from None
    cached = pathway_cache.read(raw, _schema_bytes())
    if cached is not None:
        pathway = _build_checked(cached, raw, name, path.stem)
        if pathway is not None:
            return pathway
    pathway, findings, loaded = check_pathway_document(raw, name, stem=path.stem)
    errors = [f for f in findings if f.severity == "error"]
    if errors or pathway is None:
        raise PathwayError(name, errors or findings)
    if loaded is not None and _only_builder_warnings(findings):
        pathway_cache.write(raw, _schema_bytes(), loaded.data)
    return pathway


# The warnings the builder gives: it gives them again when it builds a cached document (`_build_checked`), so a
# pathway whose only findings are these is cached like one with none (no caller of `load_pathway` shows
# warnings; `backpath validate` checks in full). The common case is a file named other than its pathway's id
# (`lbp-2026.yaml` holding `id: low-back-pain`), which was parsed and schema-checked at every start: about 100 ms
# of CPU. A warning of the YAML reader or of the bounds pass is not given again from JSON: that file is not cached.
_BUILDER_WARNINGS = frozenset({"id-file-name", "rule-empty"})


def _only_builder_warnings(findings: list[Finding]) -> bool:
    return all(f.severity == "warning" and f.code in _BUILDER_WARNINGS for f in findings)


def _build_checked(document: Any, raw: bytes, name: str, stem: str) -> m.Pathway | None:
    """A pathway from a document the schema already passed (`pathway_cache`); None unless it builds with no
    finding but the builder's warnings (`_BUILDER_WARNINGS`; the caller then checks the file in full)."""
    try:
        builder = Builder(LoadedYaml(document), name, hashlib.sha256(raw).hexdigest(), stem)
        pathway = builder.build()
    except Exception:  # a cache entry that is not what was written: check the file itself
        return None
    return pathway if pathway is not None and _only_builder_warnings(builder.findings) else None


def check_pathway_bytes(raw: bytes, name: str, *, stem: str | None = None) -> tuple[m.Pathway | None, list[Finding]]:
    """Check a pathway given as bytes. Returns the pathway (None if it has errors) and all findings."""
    pathway, findings, _ = check_pathway_document(raw, name, stem=stem)
    return pathway, findings


def check_pathway_document(raw: bytes, name: str, *, stem: str | None = None
                           ) -> tuple[m.Pathway | None, list[Finding], LoadedYaml | None]:
    """Like `check_pathway_bytes`, and also return the parsed YAML with its positions (None if unreadable),
    so further checks (`backpath validate`) can point at lines."""
    # here, not at start-up: a cached pathway (`pathway_cache`) is JSON, parsed and bounded when it was cached
    from backpath.load.pathway_bounds import content_findings, overflow_findings, size_finding
    from backpath.load.yamlio import load_yaml

    too_large = size_finding(len(raw), name)
    if too_large:
        return None, [too_large], None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Finding(name, line, None, "(file)", "the file is not valid UTF-8; save it as UTF-8.",
                              "encoding")], None
    loaded = load_yaml(text, name)
    findings = list(loaded.findings)
    if loaded.data is None or any(f.severity == "error" for f in findings):
        return None, findings, loaded
    bounds = content_findings(loaded, name)
    if bounds:  # nothing compiles text beyond the limits (a parser can fail on it)
        return None, findings + bounds, loaded
    schema_findings = _schema_findings(loaded, name)
    if schema_findings:
        return None, findings + schema_findings, loaded
    builder = Builder(loaded, name, hashlib.sha256(raw).hexdigest(), stem)
    pathway = builder.build()
    findings += builder.findings
    if any(f.severity == "error" for f in findings):
        return None, findings, loaded
    findings += overflow_findings(loaded, name)
    return pathway, findings, loaded


def _schema_findings(loaded: LoadedYaml, name: str) -> list[Finding]:
    return schema_findings(loaded, name, pathway_schema())


def schema_findings(loaded: LoadedYaml, name: str, schema: dict) -> list[Finding]:
    """Every JSON Schema error of a parsed YAML document, with its line and a message that says how to fix it."""
    import jsonschema  # here, not at start-up: a cached pathway needs no schema pass (`pathway_cache`)

    validator = jsonschema.Draft202012Validator(schema)
    out = []
    errors = list(validator.iter_errors(loaded.data))
    errors.sort(key=lambda e: (tuple(n or 0 for n in loaded.position(tuple(e.absolute_path))),
                               [str(p) for p in e.absolute_path]))
    for error in errors:
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            out += unknown_key_findings(loaded, name, error, path)
            continue
        line, col = loaded.position(path)
        out.append(Finding(name, line, col, path_text(path), _schema_message(error), "schema",
                           id=_id_at(loaded.data, path)))
    return out


def unknown_key_findings(loaded: LoadedYaml, name: str, error: jsonschema.ValidationError, path: tuple
                         ) -> list[Finding]:
    """One finding per unknown key of a mapping, at the key's own line (not at the start of its block)."""
    schema, instance = error.schema, error.instance
    # the caller passes an additionalProperties error about a mapping, which only an object schema reports
    assert isinstance(schema, Mapping) and isinstance(instance, dict)
    allowed = sorted(schema.get("properties", {}))
    out = []
    for key in [k for k in instance if k not in allowed]:
        line, col = loaded.position(path + (key,))
        out.append(Finding(name, line, col, path_text(path + (key,)),
                           f"unknown key `{key}` in {path_text(path)}.{did_you_mean(key, allowed)} Allowed keys: "
                           f"{', '.join(allowed)}.", "schema", id=_id_at(loaded.data, path)))
    return out


def _schema_message(error: jsonschema.ValidationError) -> str:
    where = path_text(tuple(error.absolute_path))
    instance, value = error.instance, error.validator_value
    if error.validator == "additionalProperties":
        assert isinstance(error.schema, Mapping)  # only an object schema reports additionalProperties
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed] if isinstance(instance, dict) else []
        hint = "".join(did_you_mean(k, allowed) for k in extra[:1])
        return (f"unknown key{'s' if len(extra) > 1 else ''} {', '.join('`' + k + '`' for k in extra)} in {where}."
                f"{hint} Allowed keys: {', '.join(allowed)}.")
    if error.validator == "required":
        missing = error.message.split(" is a required")[0]
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        typo = [k for k in instance if k not in known and did_you_mean(k, [missing.strip("'")])] \
            if isinstance(instance, dict) else []
        hint = f" (`{typo[0]}` looks like a misspelling of it)" if typo else ""
        return f"{where} is missing {missing}{hint}; add it."
    # (the metaschema makes an anyOf a list)
    if error.validator == "anyOf" and isinstance(value, list) and all(set(alt) == {"required"} for alt in value):
        keys = [k for alt in value for k in alt["required"]]
        return f"{where} needs {' or '.join('`' + k + '`' for k in keys)}; add one."
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        return f"{where} must have exactly one of the alternative keys (see the format: e.g. `expr` or `cases`, " \
               "`items` or `cases`, `question` or `when`)."
    if error.validator == "enum":
        assert isinstance(value, list)  # the metaschema makes an enum a list
        return f"{error.instance!r} is not allowed; use one of {', '.join(map(str, value))}."
    if error.validator == "minItems" and isinstance(error.instance, list) and not error.instance:
        return "must not be empty: add at least one entry."
    if error.validator == "type":
        assert isinstance(value, str | list)  # the metaschema: a type is a name or a list of names
        wanted = value if isinstance(value, str) else " or ".join(value)
        words = {"object": "a mapping of keys to values", "array": "a list", "string": "text", "integer":
                 "a whole number", "number": "a number", "boolean": "true or false"}
        return f"must be {words.get(wanted, wanted)}, not {_json_kind(error.instance)}."
    return f"{error.message}."


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "empty (null)"
    return f"the text {str(value)[:40]!r}"
