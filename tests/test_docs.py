"""The README documents every command, and its quick-start commands point at files that exist."""

from __future__ import annotations

import re

from backpath.cli.main import app

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_is_in_the_readme_with_help():
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert set(names) >= {"assess", "batch", "validate", "pathways", "questions", "schema"}
    for name in names:
        assert f"backpath {name}" in README, name
    for c in app.registered_commands:
        assert (c.callback.__doc__ or "").strip(), f"{c.callback.__name__} has no help text"


def test_quick_start_commands_and_linked_files_exist():
    assert "pip install . && backpath assess --answers examples/answers-chronic-sciatica.json" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]' && python -m pytest" in ci
    for link in re.findall(r"\]\(((?:docs|examples)/[^)]+)\)", README):
        assert (ROOT / link).exists(), link
    assert (ROOT / "examples" / "answers-chronic-sciatica.json").exists()
