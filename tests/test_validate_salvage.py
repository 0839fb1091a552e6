"""Schema errors do not hide the logic checks: the entries with schema errors are left out, the rest is checked,
and the report says what was skipped."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from backpath.cli.main import app
from backpath.validate.run import check_file

from .conftest import FIXTURES

MINI = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")


def _check(tmp_path, text):
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    return check_file(path)


def _errors(report):
    return sorted((f.line, f.code, f.message) for f in report.findings if f.severity == "error")


def test_a_file_with_four_mistakes_shows_all_four(tmp_path):
    text = (MINI.replace("    when: 'mood == \"very_low\"'", "    when_: 'mood == \"very_low\"'")       # schema
            .replace("(chronic and leg_nrs >= 7)", "(chronic and leg_nrss >= 7)")                  # a name
            .replace("offer: [emergency_referral]", "offer: [emergency_referal]")                   # a reference
            .replace("  - id: conservative\n    title: Conservative\n",
                     "  - id: conservative\n    titel: Conservative\n"))                                  # schema
    report = _check(tmp_path, text)
    errors = _errors(report)
    assert [(line, code) for line, code, _ in errors] == [
        (22, "schema"), (23, "schema"), (91, "unknown-reference"), (102, "condition"), (109, "schema"), (110, "schema")]
    assert "unknown name `leg_nrss`" in errors[3][2] and "Did you mean `emergency_referral`?" in errors[2][2]
    [skipped] = report.skipped
    assert "the test cases, the safety invariants" in skipped
    assert "tiers[1] (conservative), rules[3] (mood-low-consider-exercise)" in skipped


def test_references_to_an_entry_left_out_are_not_reported_again(tmp_path):
    """The catalogue item `exercise` has no `stance`: rules that offer it must not also say it is unknown."""
    text = MINI.replace("category: physical, tier: conservative, care_team: [physio], stance: Consider., ",
                        "category: physical, tier: conservative, care_team: [physio], ", 1)
    report = _check(tmp_path, text)
    assert [(code, "missing 'stance'" in m) for _, code, m in _errors(report)] == [("schema", True)]
    assert "catalogue[1] (exercise)" in report.skipped[0]


def test_a_question_left_out_keeps_the_lines_of_the_questions_after_it(tmp_path):
    text = (MINI.replace("{id: weeks, prompt: Weeks, type: number,", "{id: weeks, prompt: Weeks, type: numbr,")
            .replace("{id: leg_nrs, prompt: Leg pain score, type: integer, min: 0, max: 10,",
                     "{id: leg_nrs, prompt: Leg pain score, type: integer, min: 10, max: 0,"))
    report = _check(tmp_path, text)
    found = [(line, code) for line, code, _ in _errors(report)]
    assert found == [(33, "schema"), (35, "range")]
    assert next(f for f in report.findings if f.code == "range").path == "sections[0].questions[3].min"


def test_a_section_left_out_takes_its_questions_with_it(tmp_path):
    """A section without a title is left out with its questions: conditions that read them are not reported."""
    text = MINI.replace("      - id: requests\n", "  - id: wishes\n    titl: Wishes\n    questions:\n"
                        "      - id: requests\n").replace("advise_against: [belt]", "advise_against: [bellt]")
    report = _check(tmp_path, text)  # `requests`, left out with its section, is the pathway's request_question
    assert [(line, code) for line, code, _ in _errors(report)] == [(51, "schema"), (52, "schema"),
                                                                    (120, "unknown-reference")]
    assert "sections[1] (wishes)" in report.skipped[0]


def test_a_missing_label_is_stood_in_for(tmp_path):
    report = _check(tmp_path, MINI.replace("title: Mini test pathway\n", "").replace(
        "advise_against: [belt]", "advise_against: [bellt]"))
    assert [code for _, code, _ in _errors(report)] == ["schema", "unknown-reference"]


def test_when_the_schema_errors_cannot_be_set_aside_the_report_says_so(tmp_path):
    report = _check(tmp_path, MINI.replace("\nrules:\n", "\nrulez:\n"))
    assert {code for _, code, _ in _errors(report)} == {"schema"}
    assert "could not be set aside" in report.skipped[0]


def test_skipped_is_in_the_text_and_json_reports(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(MINI.replace("    when: 'mood == \"very_low\"'", "    when_: 'mood == \"very_low\"'"))
    runner = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200"})
    text = runner.invoke(app, ["validate", str(path)]).stdout
    assert "  skipped: the test cases, the safety invariants" in text
    doc = json.loads(runner.invoke(app, ["validate", str(path), "--format", "json"]).stdout)
    assert "rules[3] (mood-low-consider-exercise)" in doc["files"][0]["skipped"][0]
    syntax = tmp_path / "broken.yaml"
    syntax.write_text("a: [1, 2\nb: 3\n")
    doc = json.loads(runner.invoke(app, ["validate", str(syntax), "--format", "json"]).stdout)
    assert doc["files"][0]["skipped"][0].startswith("every other check: the file could not be read as YAML")
