"""Every pathway in tests/broken_pathways/ has one mistake and must produce the finding listed for it in
tests/broken_pathways/expected.yaml (code, severity, line and message), and no other error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backpath.validate.run import check_file

FOLDER = Path(__file__).resolve().parent / "broken_pathways"
EXPECTED = yaml.safe_load((FOLDER / "expected.yaml").read_text(encoding="utf-8"))
FILES = sorted(p for p in FOLDER.glob("*.yaml") if p.name != "expected.yaml")


def test_the_folder_has_at_least_twenty_broken_pathways_each_with_an_expectation():
    assert len(FILES) >= 20
    assert sorted(p.name for p in FILES) == sorted(EXPECTED)


def _matches(finding, want: dict) -> bool:
    return (finding.code == want["code"] and finding.severity == want["severity"]
            and finding.line == want["line"] and want["message"] in finding.message)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_pathway_gives_its_finding(path: Path):
    report = check_file(path)
    wanted = EXPECTED[path.name]["findings"]
    shown = "\n".join(f"{f.line}: {f.severity} {f.code}: {f.message}" for f in report.findings)
    for want in wanted:
        assert any(_matches(f, want) for f in report.findings), f"missing {want}; got:\n{shown}"
    unexpected = [f for f in report.findings if f.severity == "error" and not any(_matches(f, w) for w in wanted)]
    assert not unexpected, f"errors beyond the one mistake:\n{shown}"
    for f in report.findings:  # every finding says where it is and what it concerns
        assert f.file == str(path) and f.path and f.message


def test_the_base_of_the_broken_pathways_has_no_errors():
    report = check_file(Path(__file__).resolve().parent / "fixtures" / "mini.yaml")
    assert report.errors == 0
