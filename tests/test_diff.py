"""`backpath diff OLD NEW`: two pathway versions over the same records; every record whose decision changes."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from backpath.cli.main import app

from .conftest import FIXTURES

MINI_TEXT = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
BASE = {"age": 45, "weeks": 6, "leg": False, "flags": [], "mood": "good"}


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


def _pathway(folder, text: str, name: str = "mini.yaml"):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def old(tmp_path):
    return _pathway(tmp_path / "old", MINI_TEXT)


def _records(tmp_path, records: list[dict], name="records.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


RECORDS = [
    {"id": "calm", "answers": BASE},
    {"id": "very-low-mood", "answers": {**BASE, "mood": "very_low"}},
    {"id": "saddle", "answers": {**BASE, "flags": ["saddle"]}},
    {"answers": {**BASE, "mood": "low"}},  # no id: its position, 4
]


def _json(runner, *args):
    result = runner.invoke(app, ["diff", *map(str, args), "--format", "json"])
    return result.exit_code, (json.loads(result.stdout) if result.stdout.strip() else None), result


def test_the_same_pathway_changes_nothing_and_exits_0(runner, tmp_path, old):
    new = _pathway(tmp_path / "new", MINI_TEXT)
    code, doc, _ = _json(runner, old, new, "--records", _records(tmp_path, RECORDS))
    assert code == 0
    assert doc["counts"]["records"] == 4 and doc["counts"]["changed"] == 0 and doc["changed"] == []
    assert doc["counts"]["unchanged"] == 4


def test_a_score_band_moved_changes_tier_items_rules_and_scores(runner, tmp_path, old):
    """`total <= 1` -> low becomes `total <= 0`: the record with total 1 becomes high risk, so `high-risk` starts
    firing and it moves from self_management to conservative with exercise recommended."""
    new = _pathway(tmp_path / "new", MINI_TEXT.replace('"total <= 1", value: low', '"total <= 0", value: low'))
    code, doc, _ = _json(runner, old, new, "-r", _records(tmp_path, RECORDS))
    assert code == 1
    assert [c["id"] for c in doc["changed"]] == [4]
    change = doc["changed"][0]
    assert change["before"]["tier"] == "self_management" and change["after"]["tier"] == "conservative"
    assert change["recommended"]["added"] == ["exercise", "massage"]
    assert change["rules"] == {"started": ["high-risk"], "stopped": []}
    assert change["scores"] == {"risk": ["low", "high"]}
    assert change["place"].endswith("records.jsonl:4")
    counts = doc["counts"]
    assert counts["changed"] == 1 and counts["unchanged"] == 3 and counts["tier"] == 1
    assert counts["recommended_added"] == 1 and counts["rules_started"] == 1 and counts["rules_stopped"] == 0
    assert doc["tier_moves"] == [{"before": "self_management", "after": "conservative", "records": 1}]
    assert list(doc)[:6] == ["format_version", "old", "new", "records", "counts", "tier_moves"]


def test_records_invalid_under_new_are_reported_with_their_errors(runner, tmp_path, old):
    text = MINI_TEXT.replace("      - {id: leg, prompt: Leg pain?, type: boolean}\n",
                             "      - {id: leg, prompt: Leg pain?, type: boolean}\n"
                             "      - {id: smoker, prompt: Smoker?, type: boolean}\n")
    text = text.replace("when: '\"fever\" in flags'", "when: '\"fever\" in flags or smoker'")
    new = _pathway(tmp_path / "new", text)
    code, doc, _ = _json(runner, old, new, "-r", _records(tmp_path, RECORDS))
    assert code == 1
    assert doc["counts"]["became_invalid"] == 4 and doc["counts"]["changed"] == 4
    first = doc["changed"][0]
    assert first["kinds"] == ["became_invalid"]
    assert first["before"]["status"] == "ok" and first["after"]["status"] == "error"
    assert first["after"]["errors"][0]["path"] == "answers.smoker"


def test_fail_on_a_tier_fails_only_on_changes_that_touch_it(runner, tmp_path, old):
    routine = _pathway(tmp_path / "routine", MINI_TEXT.replace('"total <= 1", value: low', '"total <= 0", value: low'))
    records = _records(tmp_path, RECORDS)
    code, doc, _ = _json(runner, old, routine, "-r", records, "--fail-on", "emergency")
    assert code == 0 and doc["counts"]["changed"] == 1 and doc["fail_on"] == {"tier": "emergency", "failing": 0}
    # the saddle rule loses its tier: a change touching the emergency tier
    urgent = _pathway(tmp_path / "urgent", MINI_TEXT.replace("    tier: emergency\n    scope: always\n",
                                                             "    tier: conservative\n    scope: always\n"))
    code, doc, _ = _json(runner, old, urgent, "-r", records, "--fail-on", "emergency")
    assert code == 1 and doc["fail_on"]["failing"] == 1
    assert doc["changed"][0]["before"]["tier"] == "emergency"


def test_usage_errors_exit_2(runner, tmp_path, old):
    records = _records(tmp_path, RECORDS)
    result = runner.invoke(app, ["diff", str(old), str(old), "-r", str(records), "--fail-on", "urgnt"])
    assert result.exit_code == 2 and "NEW has no tier `urgnt`" in result.stderr
    result = runner.invoke(app, ["diff", str(old), str(tmp_path / "nope.yaml"), "-r", str(records)])
    assert result.exit_code == 2 and "NEW:" in result.stderr and "no pathway file" in result.stderr
    odd = tmp_path / "records.txt"
    odd.write_text("{}\n")
    result = runner.invoke(app, ["diff", str(old), str(old), "-r", str(odd)])
    assert result.exit_code == 2 and "unknown kind of input" in result.stderr
    result = runner.invoke(app, ["diff", str(old), str(old), "-r", str(tmp_path / "moved.jsonl")])
    assert result.exit_code == 2 and "no such file" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["diff", str(old), str(old), "-r", str(tmp_path)])
    assert result.exit_code == 2
    broken = _pathway(tmp_path / "broken", MINI_TEXT.replace("when: \"true\"", "when: \"tru\""))
    result = runner.invoke(app, ["diff", str(old), str(broken), "-r", str(records)])
    assert result.exit_code == 2 and "NEW: pathway" in result.stderr and "backpath validate" in result.stderr


def test_no_records_and_no_cases_file_is_a_usage_error(runner, old):
    result = runner.invoke(app, ["diff", str(old), str(old)])
    assert result.exit_code == 2 and "no --records given" in result.stderr


def test_cases_of_both_pathways_are_the_records(runner, tmp_path):
    old = _pathway(tmp_path / "old", MINI_TEXT)
    shutil.copy(FIXTURES / "mini.cases.yaml", tmp_path / "old" / "mini.cases.yaml")
    new = _pathway(tmp_path / "new", MINI_TEXT.replace("    tier: emergency\n    scope: always\n",
                                                       "    tier: conservative\n    scope: always\n"))
    cases = (FIXTURES / "mini.cases.yaml").read_text(encoding="utf-8")
    (tmp_path / "new" / "mini.cases.yaml").write_text(
        cases + "  - name: extra-new-case\n    answers: {flags: [fever]}\n    expect: {tier: self_management}\n")
    code, doc, _ = _json(runner, old, new, "--cases")
    ids = [c["id"] for c in doc["changed"]]
    assert code == 1 and "saddle-emergency" in ids
    names = len([n for n in cases.splitlines() if n.startswith("  - name:")])
    assert doc["counts"]["records"] == names + 1  # the shared cases once, the new file's extra case too
    assert doc["records"][0].startswith("test cases of") and len(doc["records"]) == 2
    assert all(".cases.yaml:" in c["place"] for c in doc["changed"])


def test_json_array_input_stdin_and_an_unreadable_line(runner, tmp_path, old):
    new = _pathway(tmp_path / "new", MINI_TEXT.replace('"total <= 1", value: low', '"total <= 0", value: low'))
    array = tmp_path / "records.json"
    array.write_text(json.dumps(RECORDS))
    lines = "".join(json.dumps(r) + "\n" for r in RECORDS) + "{not json\n"
    result = runner.invoke(app, ["diff", str(old), str(new), "-r", str(array), "-r", "-", "--format", "json"],
                           input=lines)
    doc = json.loads(result.stdout)
    assert result.exit_code == 1
    assert doc["counts"]["records"] == 9 and doc["counts"]["changed"] == 2
    # ids default to the position across all inputs, as `batch` numbers them
    assert [c["id"] for c in doc["changed"]] == [4, 8]
    assert doc["changed"][0]["place"].endswith("records.json record 4")
    assert doc["changed"][1]["place"] == "<stdin>:4"
    assert doc["counts"]["invalid_under_both"] == 1  # the line that is not JSON, the same under both


def test_text_and_markdown_reports(runner, tmp_path, old):
    new = _pathway(tmp_path / "new", MINI_TEXT.replace('"total <= 1", value: low', '"total <= 0", value: low'))
    odd = [{"id": "a|b`\x1b[31m", "answers": {**BASE, "mood": "low"}}]
    records = _records(tmp_path, RECORDS + odd)
    text = runner.invoke(app, ["diff", str(old), str(new), "-r", str(records)]).stdout
    assert "2 of 5 records change (3 unchanged)." in text
    assert "tier changed" in text and "self_management -> conservative" in text
    assert "+ recommended: exercise, massage" in text and "rules started firing: high-risk" in text
    assert "\x1b" not in text and "a|b`\\x1b[31m" in text
    md = runner.invoke(app, ["diff", str(old), str(new), "-r", str(records), "--format", "markdown",
                             "--show", "1"]).stdout
    assert md.startswith("### backpath diff:")
    assert "| tier changed | 2 |" in md and "| `self_management` | `conservative` | 2 |" in md
    assert "Changed records (the first 1 of 2)" in md
    md_all = runner.invoke(app, ["diff", str(old), str(new), "-r", str(records), "--format", "markdown"]).stdout
    assert "`a\\|b' [31m`" in md_all and "\x1b" not in md_all


def test_the_json_report_is_written_in_pieces_that_make_one_document(runner, tmp_path, old):
    new = _pathway(tmp_path / "new", MINI_TEXT.replace('"total <= 1", value: low', '"total <= 0", value: low'))
    records = _records(tmp_path, RECORDS + [{"id": "x", "answers": {**BASE, "mood": "low"}}])
    for target in (new, old):  # two changes; none
        out = runner.invoke(app, ["diff", str(old), str(target), "-r", str(records), "--format", "json"]).stdout
        assert out == json.dumps(json.loads(out), ensure_ascii=False, indent=2) + "\n"
