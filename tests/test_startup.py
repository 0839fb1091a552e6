"""What `backpath assess --answers FILE --format json` imports, pinned: its start-up is most of its cost (issue 14,
docs/batch.md "Measured: one engine"), and one eager import in the wrong module silently adds tens of
milliseconds to every run. Each module named here is needed by other commands, never by this one when the
pathway comes from the cache."""

from __future__ import annotations

import json
import subprocess
import sys

import backpath
from tests.conftest import EXAMPLES

# rich: only text output and errors print through it; yaml and jsonschema: only a pathway not in the cache is
# parsed and checked; the rest: other commands and output formats.
NOT_IMPORTED = ("rich", "yaml", "jsonschema", "backpath.load.yamlio", "backpath.load.pathway_bounds",
                "backpath.batch", "backpath.validate", "backpath.change", "backpath.fhir", "backpath.present",
                "backpath.questionnaire")

# The command run in a fresh interpreter, as the `backpath` entry point runs it; what it imported is written to
# the file named by the last argument.
PROGRAM = """
import json, sys
out = sys.argv.pop()
sys.argv[0] = "backpath"
from backpath.entry import main
try:
    main()
except SystemExit as exc:
    code = exc.code
with open(out, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def run_assess(tmp_path, *args: str) -> tuple[int, list[str], str]:
    out = tmp_path / "modules.json"
    answers = str(EXAMPLES / "answers-chronic-sciatica.json")
    result = subprocess.run([sys.executable, "-c", PROGRAM, "assess", "--answers", answers, *args, str(out)],
                            capture_output=True, text=True)  # the cache folder: conftest's, in the environment
    report = json.loads(out.read_text())
    return report["code"], report["modules"], result.stdout


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_assess_in_json_from_the_cache_imports_no_rich_yaml_or_other_commands(tmp_path):
    backpath.load_pathway()  # the bundled default pathway, now in the test run's cache
    code, modules, stdout = run_assess(tmp_path, "--format", "json")
    assert code == 0 and json.loads(stdout)["status"] == "ok"
    assert loaded(modules, NOT_IMPORTED) == []


def test_the_pin_would_see_them(tmp_path):
    """The same probe sees rich when text output needs it, so an empty list above means something."""
    backpath.load_pathway()
    code, modules, _ = run_assess(tmp_path, "--format", "text")
    assert code == 0 and loaded(modules, ("rich",)) != []
