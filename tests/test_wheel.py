"""Build the wheel, install it in a clean virtual environment and run it from another directory.

This is the only test that catches a pathway or schema missing from the package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)])
    assert built.returncode == 0, built.stderr
    [wheel] = list(dist.glob("backpath-*.whl"))
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    pip = run([str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)])
    assert pip.returncode == 0, pip.stderr
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return bindir, elsewhere


def test_installed_wheel_assesses_from_another_directory(installed):
    bindir, elsewhere = installed
    answers = EXAMPLES / "answers-chronic-sciatica.json"
    out = run([str(bindir / "backpath"), "assess", "--answers", str(answers), "--format", "json"], cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "ok" and result["pathway"]["id"] == "low-back-pain"


def test_installed_wheel_bundles_pathways_and_schema(installed):
    bindir, elsewhere = installed
    listed = run([str(bindir / "backpath"), "pathways", "--format", "json"], cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    [entry] = [p for p in json.loads(listed.stdout) if p["id"] == "low-back-pain"]
    assert "site-packages" in entry["file"] and Path(entry["file"]).is_file()
    validated = run([str(bindir / "backpath"), "validate"], cwd=elsewhere)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    schema = run([str(bindir / "backpath"), "schema"], cwd=elsewhere)
    assert json.loads(schema.stdout)["title"] == "backpath pathway"
