"""`backpath validate`: output formats, exit codes and which files are checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backpath.cli.main import app
from backpath.validate.run import ValidateOptions, expand_paths

TESTS = Path(__file__).resolve().parent
MINI = TESTS / "fixtures" / "mini.yaml"
BROKEN = TESTS / "broken_pathways"
runner = CliRunner()


def validate(*args: str):
    return runner.invoke(app, ["validate", *args])


@pytest.fixture
def clean_pathway(tmp_path: Path) -> Path:
    """The mini fixture with its one warning fixed (`late` used), and no cases file beside it."""
    text = MINI.read_text(encoding="utf-8").replace("\nid: mini\n", "\nid: clean\n")
    text = text.replace("when: 'mood == \"very_low\"'", "when: 'mood == \"very_low\" or late'")
    text = text.replace("$schema=../../src/", f"$schema={(TESTS.parent / 'src').as_posix()}/")
    path = tmp_path / "clean.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- exit codes ---------------------------------------------------------------------------------

def test_a_valid_pathway_with_a_warning_passes_unless_strict():
    assert validate(str(MINI)).exit_code == 0
    result = validate(str(MINI), "--strict")
    assert result.exit_code == 1
    assert "question `late` is not used" in result.stdout


def test_notes_never_fail_the_run(clean_pathway: Path):
    result = validate(str(clean_pathway), "--strict")
    assert result.exit_code == 0, result.stdout
    assert "note: (document): no test cases: write clean.cases.yaml" in result.stdout


def test_errors_fail_the_run():
    assert validate(str(BROKEN / "unknown-item.yaml")).exit_code == 1


def test_a_missing_path_is_a_usage_error():
    result = validate("no/such/pathway.yaml")
    assert result.exit_code == 2
    assert "no such file or folder: no/such/pathway.yaml" in result.stderr


def test_all_files_and_all_findings_are_reported_in_one_run():
    result = validate(str(BROKEN / "unknown-item.yaml"), str(BROKEN / "unknown-tier.yaml"), str(MINI))
    assert result.exit_code == 1
    out = result.stdout
    assert "unknown catalogue item `exercize`" in out and "unknown tier `conservatve`" in out
    assert "3 files: 2 errors, 1 warning" in out


# --- which files --------------------------------------------------------------------------------

def test_a_bug_while_checking_one_file_does_not_hide_the_others(monkeypatch):
    import backpath.validate.run as v

    real = v.check_file

    def flaky(path, options=None):
        if path.name == "unknown-item.yaml":
            raise RuntimeError("boom")
        return real(path, options)

    monkeypatch.setattr(v, "check_file", flaky)
    result = validate(str(BROKEN / "unknown-item.yaml"), str(MINI))
    assert result.exit_code == 1
    assert "error: (file): internal error while validating this file (RuntimeError: boom)" in result.stdout
    assert "cases: 8 run, 8 passed" in result.stdout


def test_a_cases_file_without_its_pathway_is_a_usage_error(tmp_path: Path):
    (tmp_path / "lost.cases.yaml").write_text("pathway: lost\ncases: []\n", encoding="utf-8")
    result = validate(str(tmp_path / "lost.cases.yaml"))
    assert result.exit_code == 2
    assert "is a cases file, but there is no pathway" in " ".join(result.stderr.split())


def test_a_cases_file_stands_for_the_pathway_beside_it():
    assert expand_paths([str(TESTS / "fixtures" / "mini.cases.yaml"), str(MINI)]) == [MINI]


def test_a_folder_means_its_pathways_but_not_cases_files():
    paths = expand_paths([str(TESTS / "fixtures")])
    assert MINI in paths and all(not p.name.endswith(".cases.yaml") for p in paths)


def test_no_paths_means_every_bundled_pathway():
    from backpath.load.catalog import bundled

    assert expand_paths([]) == [b.path for b in bundled()]
    assert ValidateOptions().paths == []


# --- formats ------------------------------------------------------------------------------------

def test_text_is_grouped_by_file_with_place_path_id_and_fix():
    out = validate(str(BROKEN / "unknown-item.yaml"), str(MINI)).stdout
    lines = out.splitlines()
    first = lines.index(f"{BROKEN / 'unknown-item.yaml'}: 1 error, 0 warnings")
    second = lines.index(f"{MINI}: 0 errors, 1 warning")
    assert first < second
    assert f"  {BROKEN / 'unknown-item.yaml'}:104:13: error: rules[2].offer[0] [high-risk]: unknown catalogue item " \
           "`exercize`. Did you mean `exercise`?" in lines[first:second]
    assert "  cases: 8 run, 8 passed, 0 failed (" in out
    assert "  coverage: rules 6/6 (100%), catalogue items 5/5 (100%), question options 9/12 (75%)" in out
    assert lines[-1] == "2 files: 1 error, 1 warning"


def test_json_has_a_stable_shape():
    result = validate(str(BROKEN / "unknown-item.yaml"), str(MINI), "--format", "json")
    doc = json.loads(result.stdout)
    assert set(doc) == {"format_version", "files", "errors", "warnings", "notes"}
    assert doc["format_version"] == 1 and doc["errors"] == 1 and doc["warnings"] == 1
    for f in doc["files"]:
        assert set(f) == {"file", "pathway", "errors", "warnings", "notes", "findings", "cases", "coverage",
                          "invariants", "skipped"}  # skipped: added by issue 18
        for finding in f["findings"]:
            assert set(finding) == {"file", "line", "column", "path", "id", "code", "severity", "message", "details"}
    broken, mini = doc["files"]
    assert broken["pathway"] is None and broken["cases"] is None
    error = next(x for x in broken["findings"] if x["severity"] == "error")
    assert (error["line"], error["column"], error["path"], error["id"], error["code"]) == \
        (104, 13, "rules[2].offer[0]", "high-risk", "unknown-reference")
    assert mini["pathway"] == "mini"
    assert mini["cases"] == {"file": str(TESTS / "fixtures" / "mini.cases.yaml"), "run": 8, "passed": 8, "failed": 0}
    assert mini["coverage"]["rules"] == {"covered": 6, "total": 6, "percent": 100.0, "missing": []}
    assert set(mini["invariants"]) == {"checked", "violated", "answer_sets"}
    assert (mini["invariants"]["checked"], mini["invariants"]["violated"]) == (0, 0)
    assert isinstance(mini["invariants"]["answer_sets"], int)
    assert "2 files: 1 error, 1 warning" in result.stderr


def test_json_output_is_deterministic():
    args = (str(BROKEN / "invariant-violated.yaml"), str(MINI), "--format", "json")
    assert validate(*args).stdout == validate(*args).stdout


GITHUB = re.compile(r"^::(error|warning|notice) file=[^,:]+,line=\d+,col=\d+,title=backpath [a-z-]+::\S.*$")


def test_github_annotations_point_at_file_line_and_column():
    result = validate(str(BROKEN / "unknown-item.yaml"), str(BROKEN / "invariant-violated.yaml"),
                      "--format", "github")
    lines = result.stdout.splitlines()
    assert lines and all(GITHUB.match(line) for line in lines), lines
    assert f"::error file={BROKEN / 'unknown-item.yaml'},line=104,col=13,title=backpath unknown-reference::" \
           "rules[2].offer[0] [high-risk]: unknown catalogue item `exercize`. Did you mean `exercise`?" in lines
    assert any(line.startswith("::notice ") and "no test cases" in line for line in lines)
    violated = next(line for line in lines if "title=backpath invariant-violated::" in line)
    assert "%0Acheck: echo '{" in violated  # the counterexample command on its own line of the annotation
    assert "2 errors" in result.stderr


def test_sarif_has_results_with_line_regions():
    result = validate(str(BROKEN / "unknown-item.yaml"), str(BROKEN / "unused-question.yaml"), "--format", "sarif")
    doc = json.loads(result.stdout)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "backpath"
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    by_level = {}
    for r in run["results"]:
        assert r["ruleId"] in rule_ids
        by_level.setdefault(r["level"], []).append(r)
    error = by_level["error"][0]
    location = error["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == (BROKEN / "unknown-item.yaml").as_posix()
    assert location["region"] == {"startLine": 104, "startColumn": 13}
    assert error["properties"]["id"] == "high-risk"
    assert {"error", "warning", "note"} <= set(by_level)


def test_help_names_every_option():
    out = runner.invoke(app, ["validate", "--help"], terminal_width=120, color=False).stdout
    for option in ("--format", "--strict", "--min-coverage"):
        assert option in out


def test_schema_prints_the_pathway_and_the_cases_schemas():
    pathway = json.loads(runner.invoke(app, ["schema"]).stdout)
    cases = json.loads(runner.invoke(app, ["schema", "--cases"]).stdout)
    assert pathway["title"] == "backpath pathway" and "invariants" in pathway["properties"]
    assert cases["title"] == "backpath pathway test cases"


def test_every_finding_code_is_documented_for_authors():
    src = TESTS.parent / "src" / "backpath"
    codes = set()
    for module in ("load/yamlio", "load/loader", "validate/lint", "validate/cases", "validate/run"):
        codes |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', (src / f"{module}.py").read_text(encoding="utf-8")))
    codes -= {"request-not-indicated"}  # a reason's rule id, not a finding code
    doc = (TESTS.parent / "docs" / "pathway-authoring.md").read_text(encoding="utf-8")
    assert {c for c in codes if f"`{c}`" not in doc} == set()


def test_a_folder_without_pathways_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2 and "no pathway files" in result.stderr
