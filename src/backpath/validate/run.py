"""`backpath validate`: check pathway files the way a compiler checks code, run their test cases and
search their answer space for invariant violations; report every finding of every file in one run.

For each pathway file: the strict YAML load, the JSON Schema and the loader's semantic checks
(`loader`); the checks in `lint` (score bands, sum ranges, unused questions and facts, items no rule
produces, the editor's schema line); the test cases beside it (`cases`); then the answer-space search
(`answerspace`) for rules that can never fire and for counterexamples to the safety invariants
(`invariants`). Reporters (`reporters`) print the result; this module chooses the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TextIO

from rich.console import Console

from backpath.core.errors import BackpathError, Finding
from backpath.core.limits import MAX_PATHWAY_BYTES
from backpath.load.catalog import bundled
from backpath.load.document import LoadedYaml
from backpath.load.loader import check_pathway_document
from backpath.system.fileio import read_bounded
from backpath.validate.answerspace import SEED, AnswerSpace
from backpath.validate.cases import CASES_SUFFIX, cases_file_for, pathway_file_for, run_cases
from backpath.validate.invariants import check_invariants
from backpath.validate.lint import Locator, never_firing_rules, schema_line, static_checks
from backpath.validate.reporters import REPORTERS, FileReport, summary
from backpath.validate.salvage import logic_despite_schema
from backpath.validate.tier_reach import unreachable_tiers

BUNDLED_SCHEMA_LINE = "../src/backpath/schemas/pathway.schema.json"
"""Where a bundled pathway's `$schema` comment points (relative to `pathways/` in the source tree)."""


@dataclass
class ValidateOptions:
    paths: list[str] = field(default_factory=list)
    format: str = "text"
    strict: bool = False
    min_coverage: float | None = None
    seed: int = SEED


def expand_paths(paths: list[str]) -> list[Path]:
    """Files as given; folders -> their pathway files; a cases file -> the pathway beside it. No repeats."""
    if not paths:
        return [b.path for b in bundled()]
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(f for f in path.glob("*.y*ml") if not f.name.endswith((CASES_SUFFIX, ".cases.yml")))
            if not found:  # a CI job whose pathways moved must fail, not pass on nothing
                raise BackpathError(f"no pathway files (*.yaml) in the folder {p}.")
            out += found
        elif path.name.endswith(CASES_SUFFIX):
            pathway = pathway_file_for(path)
            if not pathway.exists():
                raise BackpathError(f"{p} is a cases file, but there is no pathway {pathway} beside it.")
            out.append(pathway)
        elif path.exists():
            out.append(path)
        else:
            raise BackpathError(f"no such file or folder: {p}")
    return list(dict.fromkeys(out))


def _is_bundled(path: Path) -> bool:
    try:
        folder = Path(str(resources.files("backpath.pathways"))).resolve()
        return path.resolve().parent == folder
    except (OSError, TypeError):  # pragma: no cover - an unusual package loader
        return False


def check_file(path: Path, options: ValidateOptions | None = None) -> FileReport:
    """Every check of one pathway file and its cases file."""
    options = options or ValidateOptions()
    name = str(path)
    report = FileReport(name)
    try:
        raw = read_bounded(path, MAX_PATHWAY_BYTES)
    except OSError as exc:
        report.findings.append(Finding(name, None, None, "(file)", f"cannot read the file: {exc.strerror}.", "file"))
        return report
    pathway, findings, loaded = check_pathway_document(raw, name, stem=path.stem)
    report.findings += findings
    text = raw.decode("utf-8", errors="replace")
    report.findings += schema_line(text, path, BUNDLED_SCHEMA_LINE if _is_bundled(path) else None)
    if pathway is None or loaded is None:
        report.skipped += skipped_checks(report, loaded, name, path.stem)
        report.findings.sort(key=lambda f: (f.file != name, f.file, f.line or 0, f.column or 0))
        return report
    report.pathway = pathway.id
    where = Locator(loaded, name)
    report.findings += static_checks(pathway, where)

    cases_path = cases_file_for(path)
    fired_in_cases: set[str] = set()
    if cases_path.exists():
        run = report.cases = run_cases(pathway, cases_path)
        report.findings += run.findings
        if run.coverage is not None:
            fired_in_cases = set(run.coverage.rules.covered)
            for rule in run.coverage.rules.missing:
                report.findings.append(where.finding(
                    where.path("rules", rule, "id"), f"rule `{rule}` fired in no test case; add a case to "
                    f"{cases_path.name} that makes it fire.", "rule-not-covered", "note", rule))
    else:
        report.findings.append(Finding(name, 1, 1, "(document)", f"no test cases: write {cases_path.name} beside "
                                       "this file (see docs/cases-format.md) to test the rules.", "no-cases", "note"))
    report.findings += _coverage_gate(report, options, name, cases_path)

    space = AnswerSpace(pathway, seed=options.seed)
    sample = space.sample()
    report.findings += never_firing_rules(space, sample, where, fired_in_cases)
    report.findings += unreachable_tiers(space, sample, where)
    violations = check_invariants(space, sample)
    for v in violations:
        report.findings.append(where.finding(
            where.path("invariants", v.invariant.id), f"invariant `{v.invariant.id}` is violated: {v.problem}. "
            f"It says: {v.invariant.description} Counterexample answers: {_compact(v.answers)}",
            "invariant-violated", "error", v.invariant.id,
            details={"invariant": v.invariant.id, "problem": v.problem, "counterexample": v.answers}))
    report.invariants = {"checked": len(pathway.invariants), "violated": len(violations),
                         "answer_sets": space.evaluations}
    report.findings.sort(key=lambda f: (f.file != name, f.file, f.line or 0, f.column or 0))
    return report


_LATER = "the test cases, the safety invariants and the search for rules and tiers no answers reach"


def skipped_checks(report: FileReport, loaded: LoadedYaml | None, name: str, stem: str) -> list[str]:
    """For a file that did not load: run the logic checks its schema errors leave room for (`salvage`), and say
    what could not run and why (shown in the report's summary)."""
    codes = {f.code for f in report.findings if f.severity == "error"}
    if loaded is None or loaded.data is None or codes & {"yaml-syntax", "yaml-too-large", "yaml-empty", "encoding"}:
        return [f"every other check: the file could not be read as YAML; fix that first. Not run: the JSON Schema, "
                f"the logic checks, {_LATER}."]
    if "schema" not in codes:
        return [f"{_LATER}: they need a pathway without errors."]
    salvage = logic_despite_schema(loaded, name, stem)
    report.findings += salvage.findings
    if not salvage.ran:
        return [f"the logic checks (names, references, conditions) and {_LATER}: the schema errors above could "
                "not be set aside; fix them and run again."]
    left_out = ", ".join(salvage.left_out)
    return [f"{_LATER}: they need a pathway without errors. The logic checks ran without the entries that have "
            f"schema errors ({left_out}); fix those and run again to check them too."]


def _coverage_gate(report: FileReport, options: ValidateOptions, name: str, cases_path: Path) -> list[Finding]:
    if options.min_coverage is None:
        return []
    n = f"{options.min_coverage:g}"
    run = report.cases
    if run is None or run.coverage is None:
        why = "there is no cases file" if run is None else "the cases file could not be run"
        return [Finding(name, 1, 1, "(document)", f"rule coverage is 0%, below --min-coverage {n}: {why}; write "
                        f"test cases in {cases_path.name}.", "coverage", "error")]
    rules = run.coverage.rules
    if rules.percent >= options.min_coverage:
        return []
    missing = ", ".join(rules.missing[:10]) + (", …" if len(rules.missing) > 10 else "")
    return [Finding(run.file, 1, 1, "(document)", f"rule coverage {rules.percent:g}% ({len(rules.covered)} of "
                    f"{rules.total} rules) is below --min-coverage {n}; rules fired in no case: {missing}. Add cases "
                    "that make them fire.", "coverage", "error")]


def _compact(answers: dict) -> str:
    import json

    return json.dumps(answers, ensure_ascii=False, separators=(", ", ": "))


def _check_safely(path: Path, options: ValidateOptions) -> FileReport:
    """`check_file`, but a bug in backpath becomes a finding for this file instead of hiding the others."""
    try:
        return check_file(path, options)
    except Exception as exc:  # noqa: BLE001 - reported, with enough to file a bug
        return FileReport(str(path), findings=[Finding(
            str(path), None, None, "(file)", f"internal error while validating this file ({type(exc).__name__}: "
            f"{exc}); the other files were still checked. Please report it with this file.", "internal")])


def run_validate(options: ValidateOptions, out: TextIO, err: Console) -> int:
    """Check every file, print the report in `options.format`, and return the exit code (0 ok, 1 problems)."""
    reports = [_check_safely(p, options) for p in expand_paths(options.paths)]
    out.write(REPORTERS[options.format](reports))
    if options.format != "text":
        err.print(summary(reports), markup=False, highlight=False)
        for r in reports:  # the text report shows these under each file; the other formats have no place for them
            for why in r.skipped:
                err.print(f"{r.file}: skipped: {why}", markup=False, highlight=False, soft_wrap=True)
    errors = sum(r.errors for r in reports)
    warnings = sum(r.warnings for r in reports)
    return 1 if errors or (options.strict and warnings) else 0
