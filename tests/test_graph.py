"""`backpath graph`: the pathway as Mermaid or DOT text, compared with golden files; DOT that graphviz renders.

To update the golden files after an intended change: `UPDATE_GOLDEN=1 python -m pytest tests/test_graph.py`,
then review the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from backpath.cli.main import app

from .conftest import FIXTURES

GOLDEN = FIXTURES.parent / "golden"
MINI = str(FIXTURES / "mini.yaml")
VIEWS = {"tiers": "tiers", "rule-high-risk": "rule high-risk", "question-leg": "question:leg"}
DOT = shutil.which("dot")


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


@pytest.mark.parametrize("fmt,suffix", [("mermaid", "mmd"), ("dot", "dot")])
@pytest.mark.parametrize("name", list(VIEWS))
def test_views_match_their_golden_files(runner, name, fmt, suffix):
    result = runner.invoke(app, ["graph", "-p", MINI, "--view", VIEWS[name], "--format", fmt])
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"mini-{name}.{suffix}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def _edges(text: str) -> int:
    return sum(1 for line in text.splitlines() if " --> " in line or " -->|" in line)


def test_the_default_view_of_the_bundled_pathway_fits_what_github_draws(runner, default_pathway):
    """GitHub stops drawing Mermaid above 500 edges (and 50,000 characters)."""
    text = runner.invoke(app, ["graph"]).stdout
    assert text.startswith("%% low-back-pain") and "flowchart LR" in text
    assert 0 < _edges(text) < 500 and len(text) < 50_000
    for rule in default_pathway.rules:
        assert f'["{rule.id}"]' in text
    groups = [line.split('["')[1] for line in text.splitlines() if line.startswith("  subgraph")]
    assert groups[0].endswith("(emergency)\"]")
    assert groups[-1].startswith("no tier of their own")


def test_a_rule_view_reads_down_to_the_questions(runner):
    text = runner.invoke(app, ["graph", "--view", "rule red-flag-cauda-equina"]).stdout
    assert '(["red_flags"])' in text and '{{"ces_suspected"}}' in text and '[["tier emergency"]]' in text
    assert '-->|"offer"|' in text and '-->|"advise against"|' in text


@pytest.mark.parametrize("view,message", [
    ("everything", "unknown view `everything`"),
    ("rule", "the rule view needs an id"),
    ("rule red-flag-cauda-equin", "no rule `red-flag-cauda-equin` in low-back-pain. Did you mean "
                                  "`red-flag-cauda-equina`?"),
    ("question agee", "no question `agee` in low-back-pain. Did you mean `age`?"),
    ("tiers urgent", "the tiers view takes no id"),
])
def test_a_bad_view_is_a_usage_error(runner, view, message):
    result = runner.invoke(app, ["graph", "--view", view])
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())


def _pathway_with_odd_titles(tmp_path):
    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    text = text.replace("    title: Emergency\n", "    title: 'Emer\"gency <b>#1</b> `x` \\ end'\n")
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_labels_are_escaped(runner, tmp_path):
    path = _pathway_with_odd_titles(tmp_path)
    mmd = runner.invoke(app, ["graph", "-p", path]).stdout
    assert 'subgraph g1["Emer#34;gency #60;b#62;#35;1#60;/b#62; #96;x#96; \\ end (emergency)"]' in mmd
    dot = runner.invoke(app, ["graph", "-p", path, "--format", "dot"]).stdout
    assert 'label="Emer\\"gency <b>#1</b> `x` \\\\ end (emergency)";' in dot


@pytest.mark.skipif(DOT is None, reason="graphviz `dot` is not installed (.ci/run installs it)")
@pytest.mark.parametrize("view", ["tiers", "rule red-flag-cauda-equina", "question red_flags"])
def test_graphviz_renders_the_dot_of_every_view(runner, view, tmp_path):
    for args in (["--view", view], ["-p", _pathway_with_odd_titles(tmp_path)]):
        text = runner.invoke(app, ["graph", "--format", "dot", *args]).stdout
        done = subprocess.run([DOT, "-Tsvg"], input=text.encode(), capture_output=True, timeout=60)
        assert done.returncode == 0 and not done.stderr, done.stderr.decode()
        assert b"<svg" in done.stdout
