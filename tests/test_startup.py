"""What `backpath assess --answers FILE --format json` does at start-up, pinned: start-up is most of its cost
(issue 14, docs/batch.md "Measured: one engine"), and one eager import in the wrong module silently adds tens of
milliseconds to every run. Each module named here is needed by other commands, never by this one when the
pathway comes from the cache. The command's own process also freezes what its imports made (`cli.app`)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import backpath
from tests.conftest import EXAMPLES

# rich: only text output and errors print through it; yaml and jsonschema: only a pathway not in the cache is
# parsed and checked; the JSON text writer: only batch writes results as text; the rest: other commands and
# output formats.
NOT_IMPORTED = ("rich", "yaml", "jsonschema", "backpath.load.yamlio", "backpath.load.pathway_bounds",
                "backpath.core.result_json", "backpath.core.result_memos", "backpath.batch", "backpath.validate",
                "backpath.change", "backpath.fhir", "backpath.present", "backpath.questionnaire")

# The command run in a fresh interpreter, as the `backpath` entry point runs it; what it imported is written to
# the file named by the last argument.
PROGRAM = """
import gc, json, sys
out = sys.argv.pop()
sys.argv[0] = "backpath"
import backpath.core.engine
assess = backpath.core.engine.assess
collecting = []
def spy(*args, **kwargs):  # the command's work: is the garbage collector on?
    collecting.append(gc.isenabled())
    return assess(*args, **kwargs)
backpath.core.engine.assess = spy
freeze = gc.freeze
def freezing():  # the start of the command: was the collector off while the command line loaded?
    collecting.append(gc.isenabled())
    freeze()
gc.freeze = freezing
from backpath.entry import main
try:
    main()
except SystemExit as exc:
    code = exc.code
with open(out, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules), "frozen": gc.get_freeze_count(),
               "collecting": collecting}, fh)
"""


def run_assess(tmp_path, *args: str) -> dict:
    out = tmp_path / "modules.json"
    answers = str(EXAMPLES / "answers-chronic-sciatica.json")
    result = subprocess.run([sys.executable, "-c", PROGRAM, "assess", "--answers", answers, *args, str(out)],
                            capture_output=True, text=True)  # the cache folder: conftest's, in the environment
    return {**json.loads(out.read_text()), "stdout": result.stdout}


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_assess_in_json_from_the_cache_imports_no_rich_yaml_or_other_commands(tmp_path):
    backpath.load_pathway()  # the bundled default pathway, now in the test run's cache
    run = run_assess(tmp_path, "--format", "json")
    assert run["code"] == 0 and json.loads(run["stdout"])["status"] == "ok"
    assert loaded(run["modules"], NOT_IMPORTED) == []


def test_the_pin_would_see_them(tmp_path):
    """The same probe sees rich when text output needs it, so an empty list above means something."""
    backpath.load_pathway()
    run = run_assess(tmp_path, "--format", "text")
    assert run["code"] == 0 and loaded(run["modules"], ("rich",)) != []


def test_the_command_freezes_what_its_imports_made_but_an_app_run_in_process_does_not(tmp_path, monkeypatch):
    """`cli.app.main_callback`: the `backpath` process freezes its long-lived objects out of the garbage
    collector's scans, and runs its command with the collector on (the entry point turned it off while the
    imports ran); a program that runs the app inside itself (as these tests do) keeps its own collector."""
    backpath.load_pathway()
    run = run_assess(tmp_path, "--format", "json")
    assert run["frozen"] > 10_000
    assert run["collecting"] == [False, True]  # off while the command line loaded (`entry`), on for the command
    from typer.testing import CliRunner

    from backpath.cli.main import app

    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    result = CliRunner().invoke(app, ["assess", "--answers", str(EXAMPLES / "answers-chronic-sciatica.json"),
                                      "--format", "json"])
    assert result.exit_code == 0 and frozen == []
