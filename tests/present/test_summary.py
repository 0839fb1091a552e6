"""The one-screen summary (`assess --detail summary`, the default text output): every clinical case of the
default pathway fits 32 lines at 80 columns, an emergency says so first, and people read words, not ids."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

import backpath
from backpath.cli.main import app
from backpath.present.summary import MAX_LINES, one_reason, render_summary, short_safety_net
from tests.conftest import EXAMPLES, case_answers

CASES = case_answers()  # (name, answers) of every case of the default pathway


def screen(result: dict, pathway, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(render_summary(result, pathway, width=width))
    return console.file.getvalue()


@pytest.fixture(scope="module")
def results(default_pathway):
    return {name: backpath.assess(default_pathway, answers) for name, answers in CASES}


def test_every_case_fits_one_screen(default_pathway, results):
    assert len(CASES) >= 100
    too_long = {}
    for name, result in results.items():
        lines = screen(result, default_pathway).splitlines()
        assert all(len(line.rstrip()) <= 80 for line in lines), name
        if len(lines) > MAX_LINES:
            too_long[name] = len(lines)
    assert not too_long, too_long


def test_an_emergency_says_so_on_its_first_line(default_pathway, results):
    emergencies = [n for n, r in results.items() if r.get("tier") == "emergency"]
    assert len(emergencies) >= 5
    for name in emergencies:
        first = screen(results[name], default_pathway).splitlines()[0]
        assert first.startswith("EMERGENCY"), (name, first)


def test_words_not_ids(default_pathway, results):
    """No tier, rule, score, item or role id appears on the screen; titles do."""
    ids = {t.id for t in default_pathway.tiers} | {r.id for r in default_pathway.rules}
    ids |= {s.id for s in default_pathway.scores} | set(default_pathway.catalogue)
    ids |= dict(default_pathway.care_roles).keys()
    ids = {i for i in ids if "_" in i or "-" in i}  # one-word ids (gp, imaging) are also plain words
    for name, result in results.items():
        if result["status"] != "ok":
            continue
        text = " ".join(screen(result, default_pathway).split())
        found = {i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)}
        assert not found, (name, found)
        assert default_pathway.tier(result["tier"]).title.upper() in text
        for rec in result["recommendations"]:
            assert rec["title"] in text, (name, rec["id"])


def test_every_option_asked_about_is_answered(default_pathway, results):
    for name, result in results.items():
        if result["status"] != "ok":
            continue
        text = screen(result, default_pathway, width=200)
        for entry in result["recommendations"] + result["not_recommended"]:
            if entry.get("requested"):
                assert entry["title"] in text, (name, entry["id"])
        against = sum(1 for e in result["not_recommended"] if not e.get("requested"))
        if against:
            assert f"Also advised against: {against} option" in text


def test_the_chronic_sciatica_example(default_pathway):
    import json

    answers = json.loads((EXAMPLES / "answers-chronic-sciatica.json").read_text())
    text = screen(backpath.assess(default_pathway, answers), default_pathway)
    assert text.splitlines()[0] == "SURGICAL OPINION"
    assert "STarT Back risk group: medium" in text
    assert "CONSIDER     Spinal decompression surgery (surgical opinion)" in text
    asked = text.split("Asked about by the patient, not in the plan")[1].split("Also advised against")[0]
    assert asked.lstrip().startswith("NO") and "Spinal fusion" in asked  # one line an option, or grouped by answer
    assert "Review: in 6 weeks" in text
    assert "Go to A&E or call 999" in text
    assert "rule " not in text and "Sources:" not in text and "unverified" not in text


def test_one_reason_is_the_first_sentence():
    entry = {"reasons": [{"text": "NICE - do not offer traction; trials show little or no effect. More here."}]}
    assert one_reason(entry) == "NICE - do not offer traction"
    entry = {"reasons": [{"text": "Sleep is regularly disturbed - sleep advice. [INTERP]"}]}
    assert one_reason(entry) == "Sleep is regularly disturbed - sleep advice."
    assert one_reason({"reasons": [{"text": "BMI 31.5: offer support. Next."}]}) == "BMI 31.5: offer support."


def test_short_safety_net_keeps_when_to_get_help_now():
    text = "See your GP if it gets worse. Go to A&E or call 999 straight away if you get numbness."
    assert short_safety_net(text) == "Go to A&E or call 999 straight away if you get numbness."


def test_detail_full_is_the_complete_trace():
    runner = CliRunner()
    args = ["assess", "--answers", str(EXAMPLES / "answers-chronic-sciatica.json")]
    summary = runner.invoke(app, args, env={"COLUMNS": "80"})
    full = runner.invoke(app, args + ["--detail", "full"], env={"COLUMNS": "80"})
    assert summary.exit_code == full.exit_code == 0
    assert len(summary.stdout.splitlines()) <= MAX_LINES
    assert "rule decompression-surgical-opinion" in full.stdout and "Sources:" in full.stdout
    assert len(full.stdout.splitlines()) > 150  # not paged: stdout is not a terminal
