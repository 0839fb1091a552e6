"""`backpath validate`: check pathway files and report every finding in the chosen format."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rich.console import Console

from .catalog import bundled
from .errors import BackpathError, Finding
from .loader import check_pathway_bytes


@dataclass
class ValidateOptions:
    paths: list[str] = field(default_factory=list)
    format: str = "text"
    strict: bool = False
    min_coverage: float | None = None


@dataclass
class FileReport:
    file: str
    findings: list[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")


def expand_paths(paths: list[str]) -> list[Path]:
    """Files as given; folders -> their *.yaml pathway files (not *.cases.yaml)."""
    if not paths:
        return [b.path for b in bundled()]
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(f for f in path.glob("*.y*ml") if not f.name.endswith((".cases.yaml", ".cases.yml")))
        elif path.exists():
            out.append(path)
        else:
            raise BackpathError(f"no such file or folder: {p}")
    return out


def check_file(path: Path) -> FileReport:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileReport(name, [Finding(name, None, None, "(file)", f"cannot read: {exc.strerror}", "file")])
    _, findings = check_pathway_bytes(raw, name, stem=path.stem)
    return FileReport(name, findings)


def run_validate(options: ValidateOptions, out: TextIO, err: Console) -> int:
    reports = [check_file(p) for p in expand_paths(options.paths)]
    errors = sum(r.errors for r in reports)
    warnings = sum(r.warnings for r in reports)
    if options.format == "json":
        out.write(json.dumps({"files": [{"file": r.file, "errors": r.errors, "warnings": r.warnings,
                                         "findings": [f.as_dict() for f in r.findings]} for r in reports],
                              "errors": errors, "warnings": warnings}, indent=2) + "\n")
    elif options.format == "github":
        for r in reports:
            for f in r.findings:
                out.write(github_annotation(f) + "\n")
    elif options.format == "sarif":
        out.write(json.dumps(sarif(reports), indent=2) + "\n")
    else:
        for r in reports:
            status = "ok" if not r.findings else f"{r.errors} error(s), {r.warnings} warning(s)"
            out.write(f"{r.file}: {status}\n")
            for f in r.findings:
                rid = f" [{f.id}]" if f.id else ""
                out.write(f"  {f.where()}: {f.severity}: {f.path}{rid}: {f.message}\n")
    if options.format != "text":
        err.print(f"{len(reports)} file(s): {errors} error(s), {warnings} warning(s)", markup=False,
                  highlight=False)
    failed = errors > 0 or (options.strict and warnings > 0)
    return 1 if failed else 0


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotation(f: Finding) -> str:
    level = "error" if f.severity == "error" else "warning"
    props = [f"file={_gh_escape(f.file, True)}"]
    if f.line is not None:
        props.append(f"line={f.line}")
    if f.column is not None:
        props.append(f"col={f.column}")
    props.append(f"title={_gh_escape('backpath ' + f.code, True)}")
    rid = f" [{f.id}]" if f.id else ""
    return f"::{level} {','.join(props)}::{_gh_escape(f.path + rid + ': ' + f.message)}"


def sarif(reports: list[FileReport]) -> dict:
    from . import __version__

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
            location = {"physicalLocation": {"artifactLocation": {"uri": Path(f.file).as_posix()}}}
            if region:
                location["physicalLocation"]["region"] = region
            results.append({"ruleId": f.code, "level": "error" if f.severity == "error" else "warning",
                            "message": {"text": f"{f.path}: {f.message}"}, "locations": [location]})
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "backpath", "version": __version__, "informationUri":
                                      "https://backpath.invalid", "rules": list(rules.values())}},
                  "results": results}],
    }
