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
