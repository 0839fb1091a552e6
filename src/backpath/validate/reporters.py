"""Reporters for `backpath validate`: the same reports as text, JSON, GitHub annotations or SARIF.

Each reporter takes the list of `FileReport`s and returns the text to print; none of them decides the
exit code. Pick one by name with `REPORTERS[name]`.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backpath.core.errors import Finding
from backpath.core.shown import safe
from backpath.validate.cases import CasesRun

JSON_FORMAT_VERSION = 1


@dataclass
class FileReport:
    """Everything `validate` found for one pathway file (and its cases file)."""

    file: str
    pathway: str | None = None
    findings: list[Finding] = field(default_factory=list)
    cases: CasesRun | None = None
    invariants: dict | None = None  # {"checked": n, "violated": n, "answer_sets": n}
    skipped: list[str] = field(default_factory=list)  # checks that could not run, and why (said in the summary)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def warnings(self) -> int:
        return self.count("warning")

    @property
    def notes(self) -> int:
        return self.count("note")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(reports: list[FileReport]) -> str:
    errors = sum(r.errors for r in reports)
    warnings = sum(r.warnings for r in reports)
    return f"{_plural(len(reports), 'file')}: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def _assess_hint(f: Finding) -> str | None:
    example = (f.details or {}).get("counterexample")
    if example is None:
        return None
    answers = json.dumps(example, ensure_ascii=False, separators=(",", ":"))
    return f"check: echo {shlex.quote(answers)} | backpath assess --pathway {shlex.quote(f.file)} --answers -"


def text(reports: list[FileReport]) -> str:
    lines = []
    for r in reports:
        status = "ok" if not (r.errors or r.warnings) else f"{_plural(r.errors, 'error')}, " \
                                                           f"{_plural(r.warnings, 'warning')}"
        lines.append(f"{r.file}: {status}")
        for f in r.findings:
            rid = f" [{f.id}]" if f.id else ""
            lines.append(f"  {f.where()}: {f.severity}: {f.path}{rid}: {f.message}")
            hint = _assess_hint(f)
            if hint:
                lines.append(f"      {hint}")
        if r.cases is not None:
            c = r.cases
            lines.append(f"  cases: {c.run} run, {c.passed} passed, {c.failed} failed ({c.file})")
            if c.coverage is not None:
                parts = [f"{label} {len(p.covered)}/{p.total} ({p.percent:g}%)" for label, p in
                         (("rules", c.coverage.rules), ("catalogue items", c.coverage.items),
                          ("question options", c.coverage.options))]
                lines.append(f"  coverage: {', '.join(parts)}")
        for why in r.skipped:
            lines.append(f"  skipped: {why}")
        if r.invariants is not None and r.invariants["checked"]:
            inv = r.invariants
            lines.append(f"  invariants: {inv['checked'] - inv['violated']} of {inv['checked']} held over "
                         f"{inv['answer_sets']} answer sets")
    lines.append(summary(reports))
    return "\n".join(safe(line, lines=False) for line in lines) + "\n"  # a line of pathway text stays one line


def as_json(reports: list[FileReport]) -> str:
    files = []
    for r in reports:
        files.append({
            "file": r.file,
            "pathway": r.pathway,
            "errors": r.errors,
            "warnings": r.warnings,
            "notes": r.notes,
            "findings": [f.as_dict() for f in r.findings],
            "cases": r.cases.as_dict() if r.cases is not None else None,
            "coverage": r.cases.coverage.as_dict() if r.cases is not None and r.cases.coverage else None,
            "invariants": r.invariants,
            "skipped": r.skipped,
        })
    doc = {"format_version": JSON_FORMAT_VERSION, "files": files,
           "errors": sum(r.errors for r in reports), "warnings": sum(r.warnings for r in reports),
           "notes": sum(r.notes for r in reports)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _gh_escape(value: str, prop: bool = False) -> str:
    value = safe(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"), lines=False)
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


_GH_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}


def github_annotation(f: Finding) -> str:
    """`::error file=…,line=…,col=…,title=…::message` — shown on the pull request diff."""
    props = [f"file={_gh_escape(f.file, True)}"]
    if f.line is not None:
        props.append(f"line={f.line}")
    if f.column is not None:
        props.append(f"col={f.column}")
    props.append(f"title={_gh_escape('backpath ' + f.code, True)}")
    rid = f" [{f.id}]" if f.id else ""
    message = f"{f.path}{rid}: {f.message}"
    hint = _assess_hint(f)
    if hint:
        message += "\n" + hint
    return f"::{_GH_LEVEL.get(f.severity, 'warning')} {','.join(props)}::{_gh_escape(message)}"


def github(reports: list[FileReport]) -> str:
    return "".join(github_annotation(f) + "\n" for r in reports for f in r.findings)


_SARIF_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def sarif_document(reports: list[FileReport]) -> dict:
    from backpath.version import __version__

    results = []
    rules: dict[str, dict] = {}
    for r in reports:
        for f in r.findings:
            rules.setdefault(f.code, {"id": f.code, "shortDescription": {"text": f.code.replace("-", " ")}})
            region = {}
            if f.line is not None:
                region["startLine"] = f.line
            if f.column is not None:
                region["startColumn"] = f.column
            location: dict = {"physicalLocation": {"artifactLocation": {"uri": Path(f.file).as_posix()}}}
            if region:
                location["physicalLocation"]["region"] = region
            result = {"ruleId": f.code, "level": _SARIF_LEVEL.get(f.severity, "warning"),
                      "message": {"text": f"{f.path}: {f.message}"}, "locations": [location]}
            if f.id or f.details:
                result["properties"] = {k: v for k, v in (("id", f.id), ("details", f.details)) if v}
            results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "backpath", "version": __version__, "informationUri":
                                      "https://backpath.invalid", "rules": list(rules.values())}},
                  "results": results}],
    }


def sarif(reports: list[FileReport]) -> str:
    return json.dumps(sarif_document(reports), indent=2, ensure_ascii=False) + "\n"


REPORTERS: dict[str, Callable[[list[FileReport]], str]] = {
    "text": text, "json": as_json, "github": github, "sarif": sarif,
}
