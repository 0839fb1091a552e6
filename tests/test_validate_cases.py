"""Pathway test cases: running them, reporting failures with the difference, coverage and the coverage gate."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backpath.cli.main import app
from backpath.load.loader import load_pathway
from backpath.validate.cases import run_cases
from backpath.validate.run import ValidateOptions, check_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"
runner = CliRunner()

HEADER = """\
pathway: mini
base_answers: {age: 45, weeks: 6, leg: false, flags: [], mood: good}
cases:
"""


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A copy of the mini pathway in a folder of its own, without a cases file."""
    path = tmp_path / "mini.yaml"
    shutil.copy(FIXTURES / "mini.yaml", path)
    return path


def write_cases(pathway: Path, body: str, header: str = HEADER) -> Path:
    path = pathway.with_name("mini.cases.yaml")
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return path


def findings(path: Path, **options):
    report = check_file(path, ValidateOptions(**options))
    return report, [f for f in report.findings if f.file.endswith(".cases.yaml") or f.code == "coverage"]


def test_the_mini_cases_pass_and_cover_every_rule_and_item():
    run = run_cases(load_pathway(FIXTURES / "mini.yaml"), FIXTURES / "mini.cases.yaml")
    assert run.findings == []
    assert (run.run, run.passed, run.failed) == (8, 8, 0)
    assert run.coverage.rules.percent == 100 and run.coverage.items.percent == 100
    assert set(run.coverage.options.missing) == {"late=false", "requests=belt", "mood=low"}


def test_a_failing_case_reports_expected_and_actual_at_the_line_of_the_expectation(mini: Path):
    write_cases(mini, """\
      # line 4
      - name: wrong-tier
        answers: {flags: [saddle]}
        expect:
          tier: conservative
          recommended: [exercise]
          not_recommended: [advice]
          strength: {emergency_referral: consider}
          scores: {total: 1}
          rules_fired: [high-risk]
          rules_not_fired: [red-flag-saddle]
          red_flags: []
    """)
    _, found = findings(mini)
    got = {(f.line, f.message) for f in found}
    n = "case `wrong-tier` fails: "
    assert got == {
        (8, n + "expected tier `conservative`, got `emergency` (rules fired: red-flag-saddle)."),
        (9, n + "expected `exercise` to be recommended, but it is in neither list (no rule that fired mentions it)."),
        (10, n + "expected `advice` to be not recommended, but it is in neither list (no rule that fired mentions "
                 "it)."),
        (11, n + "expected `emergency_referral` with strength `consider`, got `offer`."),
        (12, n + "expected score `total` = 1, got 0."),
        (13, n + "expected rule `high-risk` to fire, but it did not (tier `emergency` pre-empts routine rules); "
                 "rules fired: red-flag-saddle."),
        (14, n + "expected rule `red-flag-saddle` not to fire, but it fired."),
        (15, n + "expected red flags [], got ['saddle']."),
    }
    tier = next(f for f in found if f.line == 8)
    assert tier.details == {"case": "wrong-tier", "expected": "conservative", "actual": "emergency"}
    assert tier.id == "wrong-tier" and tier.path == "cases[0].expect.tier"


def test_invalid_answers_point_at_the_answer_and_suggest_the_fix(mini: Path):
    write_cases(mini, """\
      - name: typo
        answers: {agee: 50}
        expect: {tier: self_management}
      - name: should-be-rejected
        answers: {age: 50}
        expect: {status: error, error_paths: [answers.age]}
      - name: rejected-elsewhere
        answers: {age: 12}
        expect: {status: error, error_paths: [answers.weeks]}
    """)
    _, found = findings(mini)
    got = sorted((f.line, f.message) for f in found)
    assert got == [
        (5, "case `typo` fails: the answers are not valid: answers.agee: unknown question `agee`. Did you mean "
            "`age`? `backpath questions` lists every question id."),
        (9, "case `should-be-rejected` fails: expected the answers to be rejected, but the result is ok (tier "
            "`self_management`)."),
        (12, "case `rejected-elsewhere` fails: expected an error at `answers.weeks`, got errors at answers.age."),
    ]


def test_mistakes_in_the_cases_file_itself(mini: Path):
    write_cases(mini, """\
      - name: a
        expect: {recommended: [advise], rules_fired: [no-blet], scores: {totl: 0}, tier: urgent}
      - name: a
        expect: {}
      - name: b
        remove: [requests]
        expect: {red_flags: [sadle]}
    """)
    _, found = findings(mini)
    got = sorted((f.line, f.severity, f.message) for f in found)
    assert got == [
        (5, "error", "case `a`: unknown catalogue item `advise`. Did you mean `advice`?"),
        (5, "error", "case `a`: unknown rule `no-blet`. Did you mean `no-belt`?"),
        (5, "error", "case `a`: unknown score `totl`. Did you mean `total`?"),
        (5, "error", "case `a`: unknown tier `urgent`."),
        (6, "error", "duplicate case name `a` (also cases[0]); rename one."),
        (7, "error", "case `a` expects nothing, so it would pass whatever the pathway does; add an expectation "
                     "such as `tier` or `recommended`."),
        (9, "warning", "`requests` is not in base_answers, so there is nothing to remove."),
        (10, "error", "case `b`: unknown red flag option `sadle`. Did you mean `saddle`?"),
    ]


def test_schema_errors_in_a_cases_file_have_lines(mini: Path):
    write_cases(mini, """\
      - name: a
        expects: {tier: self_management}
    """, header="pathway: other\ncases:\n")
    _, found = findings(mini)
    # the missing `expect` at the case (line 3), the unknown `expects` at its own line (4)
    assert sorted((f.line, f.code) for f in found) == [(3, "schema"), (4, "schema")]
    assert any("unknown key `expects` in cases[0]. Did you mean `expect`?" in f.message for f in found)


def test_cases_for_another_pathway_are_rejected(mini: Path):
    write_cases(mini, "  - {name: a, expect: {tier: emergency}}\n", header="pathway: other\ncases:\n")
    _, found = findings(mini)
    assert [(f.line, f.message) for f in found] == [
        (1, "these cases are for `other`, but the pathway beside them is `mini`; fix `pathway:`.")]


def test_cases_files_use_the_strict_yaml_loader(mini: Path):
    write_cases(mini, "  - {name: a, expect: {tier: emergency}}\n",
                header="pathway: mini\nbase_answers: {age: 45, age: 46}\ncases:\n")
    _, found = findings(mini)
    assert [(f.line, f.code) for f in found] == [(2, "yaml-duplicate-key")]


# --- coverage -------------------------------------------------------------------------------------

PARTIAL = """\
  - name: saddle
    answers: {flags: [saddle]}
    expect: {tier: emergency}
  - name: low
    expect: {tier: self_management}
"""


def test_rules_fired_in_no_case_are_reported_as_notes_at_the_rule(mini: Path):
    write_cases(mini, PARTIAL)
    report, _ = findings(mini)
    notes = sorted((f.line, f.id) for f in report.findings if f.code == "rule-not-covered")
    assert notes == [(101, "high-risk"), (109, "mood-low-consider-exercise"), (120, "fever-no-massage")]
    assert report.cases.coverage.rules.percent == 50.0


def test_min_coverage_fails_below_the_threshold_and_names_the_rules(mini: Path):
    write_cases(mini, PARTIAL)
    result = runner.invoke(app, ["validate", str(mini), "--min-coverage", "60"])
    assert result.exit_code == 1
    assert "error: (document): rule coverage 50% (3 of 6 rules) is below --min-coverage 60; rules fired in no " \
           "case: high-risk, mood-low-consider-exercise, fever-no-massage. Add cases that make them fire." \
           in result.stdout
    assert runner.invoke(app, ["validate", str(mini), "--min-coverage", "50"]).exit_code == 0


def test_min_coverage_fails_without_a_cases_file(mini: Path):
    result = runner.invoke(app, ["validate", str(mini), "--min-coverage", "1"])
    assert result.exit_code == 1
    assert "rule coverage is 0%, below --min-coverage 1: there is no cases file; write test cases in " \
           "mini.cases.yaml." in result.stdout


def test_min_coverage_100_passes_for_the_mini_fixture():
    result = runner.invoke(app, ["validate", str(FIXTURES / "mini.yaml"), "--min-coverage", "100"])
    assert result.exit_code == 0, result.stdout


def test_min_coverage_is_a_percentage():
    result = runner.invoke(app, ["validate", str(FIXTURES / "mini.yaml"), "--min-coverage", "101"])
    assert result.exit_code == 2
