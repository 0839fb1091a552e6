"""Shared fixtures: the bundled default pathway, the small test pathway, and example answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import backpath
from backpath.loader import load_pathway

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
