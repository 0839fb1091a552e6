"""Logic checks of a pathway that has JSON Schema errors (`backpath validate`): the schema errors must not hide the
other mistakes of the file, such as a misspelt name in the condition of another rule.

The entries that the schema errors are in (a rule, a question, a catalogue item, ...) are left out, an optional
top-level key that is wrong is left out, and a missing or wrong top-level label (title, version, ...) is stood in
for; the loader's semantic checks then run on what is left, with every finding at its place in the original file.
Findings that only say something refers to a left-out entry (`unknown catalogue item x` when x is the broken
item) are dropped, since the schema error already covers them. When the schema errors cannot be set aside this way
(a whole required list is wrong), nothing more runs, and the caller says so.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import jsonschema

from backpath.core.errors import Finding
from backpath.load.builder import Builder as _Builder  # the loader's own builder, so the checks are the same
from backpath.load.document import LoadedYaml, path_text
from backpath.load.loader import _id_at, pathway_schema

_LISTS = ("attributions", "sources", "care_roles", "tiers", "derived", "scores", "catalogue", "rules",
          "advisory_notes", "invariants", "sections")
_STAND_INS = {"format_version": 1, "title": "?", "version": "0.0.0", "disclaimer": "?"}
_ABOUT_REFERENCES = ("unknown-reference", "condition", "reason-template", "special-question", "ask-when-order")


@dataclass
class Salvage:
    """What the logic checks found despite the schema errors, and what they left out."""

    findings: list[Finding] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # e.g. "rules[3] (mood-low)"
    ran: bool = False  # False: the schema errors could not be set aside; no logic check ran


def _units(error: jsonschema.ValidationError) -> set[tuple | None]:
    """The entries a schema error is in: (list key, index) or ("sections", si, "questions", qi); a top-level key
    as (key,) (a missing or unknown one too); None for an error about the whole document."""
    path = tuple(error.absolute_path)
    if not path:
        if error.validator == "required" and error.message.count("'") >= 2:
            return {(error.message.split("'")[1],)}
        instance, schema = error.instance, error.schema
        if error.validator == "additionalProperties" and isinstance(instance, dict):
            assert isinstance(schema, Mapping)  # only an object schema reports additionalProperties
            return {(k,) for k in instance if k not in schema.get("properties", {})}
        return {None}
    key = path[0]
    if key == "sections" and len(path) >= 4 and path[2] == "questions" and isinstance(path[3], int):
        return {path[:4]}
    if key in _LISTS and len(path) >= 2 and isinstance(path[1], int):
        return {path[:2]}
    return {(key,)}


class _Mapped(_Builder):
    """The loader's builder over the pruned data, reporting at the places of the original file."""

    def __init__(self, original: LoadedYaml, pruned: dict, name: str, stem: str | None, index_maps: dict):
        super().__init__(original, name, hashlib.sha256(b"").hexdigest(), stem)
        self.data = pruned
        self.index_maps = index_maps

    def original_path(self, path: tuple) -> tuple:
        path = tuple(path)
        if len(path) >= 4 and path[0] == "sections" and ("sections", path[1]) in self.index_maps \
                and isinstance(path[3], int):  # a question's index within its (new) section first
            path = path[:3] + (self.index_maps[("sections", path[1])][path[3]],) + path[4:]
        if len(path) >= 2 and path[0] in self.index_maps and isinstance(path[1], int):
            path = (path[0], self.index_maps[path[0]][path[1]]) + path[2:]
        return path

    def error(self, path: tuple, message: str, code: str, severity: str = "error") -> None:
        where = self.original_path(path)
        line, col = self.loaded.position(where)
        self.findings.append(Finding(self.name, line, col, path_text(where), message, code, severity,
                                     id=_id_at(self.loaded.data, where)))


def _prune(data: dict, units: set[tuple], required: set[str]) -> tuple[dict, dict, list[str], set[str]] | None:
    """A copy of `data` without the units; the index maps (new index -> original); labels and ids of what was
    left out. None when a unit cannot be left out."""
    pruned = copy.deepcopy(data)
    left_out: list[str] = []
    ids: set[str] = set()
    index_maps: dict = {}

    def entry_label(path: tuple, entry) -> str:
        ident = entry.get("id") if isinstance(entry, dict) else None
        if path[0] == "sections" and len(path) == 2 and isinstance(entry, dict):  # its questions go with it
            for q in entry.get("questions") or []:
                q_id = q.get("id") if isinstance(q, dict) else None
                ids.add(q_id if isinstance(q_id, str) else "")
        if isinstance(ident, str):
            ids.add(ident)
            return f"{path_text(path)} ({ident})"
        ids.add("")  # an entry without a readable id: references to it cannot be told apart
        return path_text(path)

    for unit in sorted((u for u in units if len(u) == 1), key=str):
        key = unit[0]
        if key in required and key not in _STAND_INS and key != "id":
            return None
        if key in required:
            pruned[key] = _STAND_INS.get(key, "pathway")
        else:
            pruned.pop(key, None)
        left_out.append(f"`{key}`")
    section_units = [u for u in units if len(u) == 4]
    for key in _LISTS:
        drop = {u[1] for u in units if len(u) == 2 and u[0] == key}
        entries = pruned.get(key)
        if not drop or not isinstance(entries, list):
            continue
        left_out += [entry_label((key, i), entries[i]) for i in sorted(drop)]
        index_maps[key] = [i for i in range(len(entries)) if i not in drop]
        pruned[key] = [entries[i] for i in index_maps[key]]
    for si in sorted({u[1] for u in section_units}):
        drop = {u[3] for u in section_units if u[1] == si}
        if "sections" in index_maps and si not in index_maps["sections"]:
            continue  # the whole section is left out already
        new_si = index_maps["sections"].index(si) if "sections" in index_maps else si
        questions = pruned["sections"][new_si].get("questions")
        if not isinstance(questions, list):
            return None
        left_out += [entry_label(("sections", si, "questions", qi), questions[qi]) for qi in sorted(drop)]
        index_maps[("sections", new_si)] = [i for i in range(len(questions)) if i not in drop]
        pruned["sections"][new_si]["questions"] = [questions[i] for i in index_maps[("sections", new_si)]]
    return pruned, index_maps, left_out, ids


def logic_despite_schema(loaded: LoadedYaml, name: str, stem: str | None) -> Salvage:
    """Run the loader's semantic checks on what the schema errors leave of the document."""
    out = Salvage()
    data = loaded.data
    if not isinstance(data, dict):
        return out
    schema = pathway_schema()
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    found = {u for e in errors for u in _units(e)}
    if None in found:
        return out
    units = {u for u in found if u is not None}  # all of them
    pruned_parts = _prune(data, units, set(schema.get("required", ())))
    if pruned_parts is None:
        return out
    pruned, index_maps, out.left_out, left_out_ids = pruned_parts
    if next(jsonschema.Draft202012Validator(schema).iter_errors(pruned), None) is not None:
        return Salvage(left_out=out.left_out)  # e.g. a list left empty; nothing more can run
    builder = _Mapped(loaded, pruned, name, stem, index_maps)
    try:
        builder.build()
    except (KeyError, IndexError, TypeError, ValueError):  # pragma: no cover - the pruned data is schema-valid
        return Salvage(left_out=out.left_out)
    out.ran = True
    unknown_ids = "" in left_out_ids
    tainted = _readers_of({i for i in left_out_ids if i}, pruned)
    for f in builder.findings:
        if f.code in _ABOUT_REFERENCES and (unknown_ids or any(f"`{i}`" in f.message for i in tainted)):
            continue  # it only says that something refers to an entry left out
        if f.code == "id-file-name" and "id" in {u[0] for u in units if len(u) == 1}:
            continue
        out.findings.append(f)
    return out


def _texts(entry: dict) -> list[str]:
    texts = [entry["expr"]] if isinstance(entry.get("expr"), str) else []
    for part in (entry.get("cases") or []) + (entry.get("items") or []):
        if isinstance(part, dict):
            texts += [v for k, v in part.items() if k in ("when", "question") and isinstance(v, str)]
    return texts


def _readers_of(ids: set[str], pruned: dict) -> set[str]:
    """`ids` and every derived fact and score that reads one of them, directly or through others (their types
    and values depend on what was left out, so findings about them may only follow from that)."""
    import re

    word = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    facts = [e for key in ("derived", "scores") for e in pruned.get(key) or [] if isinstance(e, dict)]
    reads = {e["id"]: {w for t in _texts(e) for w in word.findall(t)} for e in facts if isinstance(e.get("id"), str)}
    tainted = set(ids)
    grew = True
    while grew:
        grew = False
        for fact, names in reads.items():
            if fact not in tainted and names & tainted:
                tainted.add(fact)
                grew = True
    return tainted
