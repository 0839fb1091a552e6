"""A pathway file is data: tags are never constructed, and alias bombs are rejected in bounded time and memory."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from backpath.load.yamlio import MAX_NODES
from backpath.validate.run import check_file

BROKEN = Path(__file__).resolve().parent.parent / "broken_pathways"


def _malicious(tmp_path: Path) -> tuple[Path, Path]:
    """The python-tag broken pathway, with a tag that would create `marker` if it were ever constructed."""
    marker = tmp_path / "pwned"
    text = (BROKEN / "python-tag.yaml").read_text(encoding="utf-8")
    text = text.replace("touch /tmp/backpath-pwned", f"touch {marker}")
    text += f"summary: !!python/object/apply:subprocess.call [[touch, {marker}]]\n"
    path = tmp_path / "python-tag.yaml"
    path.write_text(text, encoding="utf-8")
    return path, marker


def test_python_tags_are_reported_and_never_constructed(tmp_path: Path):
    path, marker = _malicious(tmp_path)
    report = check_file(path)
    tags = [f for f in report.findings if f.code == "yaml-tag"]
    assert [(f.line, f.path) for f in tags] == [(7, "disclaimer"), (127, "summary")]
    assert all("is not allowed: a pathway is plain data" in f.message for f in tags)
    assert not marker.exists()


def test_python_tags_through_the_cli_execute_nothing(tmp_path: Path):
    path, marker = _malicious(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "backpath", "validate", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "python/object/apply:os.system` is not allowed" in proc.stdout
    assert not marker.exists()


@pytest.mark.slow  # ~2 s: `.ci/run` runs it (`-m slow`), so that the default run stays under 90 s
def test_alias_bomb_is_rejected_in_bounded_time_and_memory():
    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = check_file(BROKEN / "alias-bomb.yaml")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.code for f in report.findings] == ["yaml-too-large"]
    assert f"more than {MAX_NODES:,} values" in report.findings[0].message
    # A billion values would take minutes and gigabytes; the bound stops after MAX_NODES.
    assert elapsed < 10
    assert peak < 200 * 1024 * 1024


def test_alias_bomb_through_the_cli_fails_fast():
    proc = subprocess.run([sys.executable, "-m", "backpath", "validate", str(BROKEN / "alias-bomb.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "expands to more than" in proc.stdout


def test_a_fact_of_thousands_of_bands_is_checked_in_one_pass(tmp_path):
    """Band checks find, for each piece of a number's domain, the first case holding it: a case no piece is first
    in is unreachable. (They compared every case with every earlier one for every value: minutes for the 1,500
    bands here, which a pathway file's size limits allow.)"""
    import json

    from backpath.load.yamlio import load_yaml

    doc = load_yaml((BROKEN.parent / "fixtures" / "mini.yaml").read_text(encoding="utf-8"), "mini.yaml").data
    cases = [{"when": f"weeks < {k + 1}", "value": k} for k in range(1500)]
    cases.insert(700, {"when": "weeks < 5", "value": -1})  # behind `weeks < 1` ... `weeks < 700`: never first
    doc["derived"].append({"id": "banded", "description": "Weeks in bands.", "cases": cases})
    path = tmp_path / "mini.yaml"
    path.write_text(json.dumps(doc))
    findings = [f for f in check_file(path).findings if f.code.startswith("band-")]
    assert {(f.code, f.path) for f in findings} == {("band-unreachable", "derived[2].cases[700].when"),
                                                     ("band-gap", "derived[2].cases")}
    assert "uncovered (1500, between 1500 and 2600, 2600)" in next(f.message for f in findings if f.code == "band-gap")
