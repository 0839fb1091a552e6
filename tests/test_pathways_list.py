"""`backpath pathways --format json`: id, version, sha256 and file of each bundled pathway, so a deployment can
pin what it runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

import backpath
from backpath.cli.main import app


def test_pathways_json_lists_the_sha256_that_results_carry():
    result = CliRunner().invoke(app, ["pathways", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    row = next(r for r in rows if r["id"] == "low-back-pain")
    assert set(row) >= {"id", "version", "sha256", "file"}
    assert row["sha256"] == hashlib.sha256(Path(row["file"]).read_bytes()).hexdigest()
    pathway = backpath.load_pathway("low-back-pain")
    assert row["version"] == pathway.version and row["sha256"] == pathway.sha256
