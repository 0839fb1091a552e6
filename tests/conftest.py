"""Shared fixtures: the bundled default pathway, the small test pathway, and example answers."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import backpath
from backpath.load.loader import load_pathway

# The checked-pathway cache (`pathway_cache`) of this test run, in and out of process: never the user's own.
_CACHE = tempfile.mkdtemp(prefix="backpath-test-cache-")
os.environ["BACKPATH_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def mini_pathway():
    return load_pathway(FIXTURES / "mini.yaml")


@pytest.fixture(scope="session")
def default_pathway():
    return backpath.load_pathway("low-back-pain")


def load_example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture
def chronic_sciatica_answers() -> dict:
    return load_example("answers-chronic-sciatica.json")


def case_answers(cases_file: Path | None = None) -> list[tuple[str, dict]]:
    """(name, answers) of every case of a cases file (default: the bundled pathway's), as `backpath validate`
    builds them: the file's base answers, the case's answers over them, its `remove` keys taken out."""
    import yaml

    path = cases_file or ROOT / "pathways" / "low-back-pain.cases.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for case in data["cases"]:
        answers = {**data.get("base_answers", {}), **case.get("answers", {})}
        for key in case.get("remove", []):
            answers.pop(key, None)
        out.append((case["name"], answers))
    return out
