"""The clinical test cases of the default pathway (pathways/low-back-pain.cases.yaml), one pytest test per case.

The cases are run by `backpath.cases.run_cases`, the same runner `backpath validate` uses; this module only
groups its findings by case name, so each case passes or fails on its own (test id = case name) and a failure
shows the runner's message with the expected and actual values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import backpath
from backpath.load.catalog import resolve
from backpath.load.yamlio import load_yaml
from backpath.validate.cases import CasesRun, cases_file_for, run_cases

PATHWAY_FILE = resolve("low-back-pain")
CASES_FILE = cases_file_for(PATHWAY_FILE)
TIERS = ("emergency", "urgent", "surgical_consult", "interventional", "conservative", "self_management")


def _cases_data() -> dict:
    loaded = load_yaml(CASES_FILE.read_text(encoding="utf-8"), str(CASES_FILE))
    assert loaded.data is not None, [f.message for f in loaded.findings]
    return loaded.data  # type: ignore[return-value]


def _case_names() -> list[str]:
    try:
        return [case["name"] for case in _cases_data()["cases"]]
    except (OSError, KeyError, TypeError, AssertionError):
        return []  # test_the_cases_file_loads reports why


@pytest.fixture(scope="module")
def run() -> CasesRun:
    return run_cases(backpath.load_pathway("low-back-pain"), CASES_FILE)


def _describe(finding) -> str:
    text = f"{finding.where()}: {finding.message}"
    if finding.details and "expected" in finding.details:
        text += (f"\n    expected: {json.dumps(finding.details['expected'])}"
                 f"\n    actual:   {json.dumps(finding.details['actual'])}")
    return text


def test_the_cases_file_loads(run: CasesRun):
    problems = [f for f in run.findings if f.id is None and f.severity != "note"]
    assert not problems, "\n".join(_describe(f) for f in problems)
    assert run.run == len(_case_names()) >= 30


@pytest.mark.parametrize("name", _case_names())
def test_clinical_case(run: CasesRun, name: str):
    file_problems = [f for f in run.findings if f.id is None and f.severity == "error"]
    if file_problems:
        pytest.fail("the cases file did not run:\n" + "\n".join(_describe(f) for f in file_problems), pytrace=False)
    failures = [f for f in run.findings if f.id == name and f.severity != "note"]
    if failures:
        pytest.fail(f"case `{name}`:\n" + "\n".join(_describe(f) for f in failures), pytrace=False)


def test_every_rule_item_and_option_is_covered(run: CasesRun):
    coverage = run.coverage
    assert coverage is not None
    assert coverage.rules.missing == (), f"rules no case fires: {coverage.rules.missing}"
    assert coverage.items.missing == (), f"catalogue items no case reaches: {coverage.items.missing}"
    assert coverage.options.missing == (), f"question options no case answers: {coverage.options.missing}"


def test_every_tier_and_red_flag_is_expected_somewhere():
    cases = _cases_data()["cases"]
    tiers = {c["expect"].get("tier") for c in cases}
    assert set(TIERS) <= tiers, f"no case expects tier(s) {set(TIERS) - tiers}"
    pathway = backpath.load_pathway("low-back-pain")
    flags = set(pathway.questions[pathway.red_flag_question].option_ids)
    expected = {f for c in cases for f in c["expect"].get("red_flags", [])}
    assert flags <= expected, f"no case expects red flag(s) {flags - expected}"
    assert any(c["expect"].get("status") == "error" for c in cases)


def test_every_case_cites_what_it_checks():
    """Each case is justified by a YAML comment directly above it."""
    lines = CASES_FILE.read_text(encoding="utf-8").splitlines()
    uncited = []
    for i, line in enumerate(lines):
        match = re.match(r"\s*- name:\s*(\S+)", line)
        if match and (i == 0 or not lines[i - 1].lstrip().startswith("#")):
            uncited.append(match.group(1))
    assert not uncited, f"cases without a citing comment directly above them: {uncited}"


def test_the_cases_file_sits_beside_the_pathway():
    assert CASES_FILE == Path(PATHWAY_FILE).with_name("low-back-pain.cases.yaml")
    assert CASES_FILE.exists()
