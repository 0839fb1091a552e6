"""`assess_json` (batch's fast path) gives exactly the bytes of encoding `assess`, for any answers."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

import backpath
from backpath.core.engine import assess_json
from tests.conftest import EXAMPLES, case_answers
from tests.strategies import answers_for

PATHWAY = backpath.load_pathway("low-back-pain")


def encoded(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.slow  # ~2 s: `.ci/run` runs it (`-m slow`), so that the default run stays under 90 s
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_for(PATHWAY))
def test_fast_json_matches_the_encoded_dict(answers):
    expected = backpath.assess(PATHWAY, answers, record_id="r-1")
    for _ in range(2):  # the second time comes from the fragment cache
        fast = assess_json(PATHWAY, answers, record_id="r-1")
        assert fast == (expected["tier"], encoded(expected))


def test_fast_json_on_every_clinical_case_and_error():
    # The clinical cases are the richest set of answers there is: every rule fires in one of them.
    for name, answers in case_answers():
        expected = backpath.assess(PATHWAY, answers, record_id=7)
        fast = assess_json(PATHWAY, answers, record_id=7)
        if expected["status"] == "ok":
            assert fast == (expected["tier"], encoded(expected)), name
        else:
            assert fast == expected, name


def test_results_do_not_share_mutable_parts():
    answers = json.loads((EXAMPLES / "answers-chronic-sciatica.json").read_text())
    first = backpath.assess(PATHWAY, answers)
    first["recommendations"][0]["sources"].append({"id": "X"})
    first["recommendations"][0]["reasons"][0]["because"]["x"] = 1
    second = backpath.assess(PATHWAY, answers)
    assert {"id": "X"} not in second["recommendations"][0]["sources"]
    assert "x" not in second["recommendations"][0]["reasons"][0]["because"]


def test_pinned_values_of_a_condition():
    from backpath.core.conditions import compile_condition
    from backpath.core.result_json import _pinned as pinned_tree

    symbols = PATHWAY.symbols

    def _pinned(text, symbols):
        return pinned_tree(compile_condition(text, symbols).node, symbols)

    assert _pinned("sciatica and not smoker", symbols) == {"sciatica": True, "smoker": False}
    assert _pinned('startback_risk == "high" and red_flags == []', symbols) == {"startback_risk": "high",
                                                                                 "red_flags": []}
    assert _pinned("sciatica == true", symbols) == {"sciatica": True}
    for text in ("sciatica or smoker", "age > 60", 'red_flags == ["saddle_anaesthesia"]', "not (sciatica and smoker)",
                 'startback_risk == "high" and startback_risk == "low"', '"fever_or_unwell" in red_flags'):
        assert _pinned(text, symbols) is None, text


def test_answer_warnings_come_before_rule_warnings_in_the_fast_json():
    """An ignored answer (a warning of the answers) and rules that carry warnings, in one result."""
    import random

    from tests.batch.test_batch_chunks import random_answers

    rng = random.Random(3)
    both = 0
    for i in range(200):
        answers = {**random_answers(rng, PATHWAY), "age": 70, "pregnant": True}  # pregnant is not asked at 70
        expected = backpath.assess(PATHWAY, answers, record_id=i)
        if expected["status"] != "ok":  # a record the changed age makes invalid
            continue
        both += {"path" in w for w in expected["warnings"]} == {True, False}
        assert assess_json(PATHWAY, answers, record_id=i) == (expected["tier"], encoded(expected))
    assert both > 50


def test_full_because_memos_keep_what_they_have_and_results_stay_the_same(monkeypatch):
    """A rule's `because` memo (key -> names) keeps at most `_RULE_CACHE` shapes: once full, nothing more is kept
    and every `because` is traced afresh, alike."""
    from backpath.core import result_memos
    from backpath.core.engine import _plan

    cases = [answers for _, answers in case_answers()]
    older = [{**answers, "age": answers["age"] + 1} for answers in cases if type(answers.get("age")) is int]
    full = backpath.load_pathway(None)
    writer = _plan(full).writer
    for answers in cases:
        assess_json(full, answers)
    kept = [len(shapes) for shapes in writer.because_shapes]
    assert sum(kept) > 0
    monkeypatch.setattr(result_memos, "_RULE_CACHE", 0)  # full: from now on nothing more is kept
    fresh = backpath.load_pathway(None)
    assert [assess_json(full, a) for a in older] == [assess_json(fresh, a) for a in older]
    assert [len(shapes) for shapes in writer.because_shapes] == kept
    assert sum(len(shapes) for shapes in _plan(fresh).writer.because_shapes) == 0


def test_a_rule_with_a_constant_frame_key_has_one_key_in_every_record_it_contributes_to():
    """`ResultWriter.constant_key` is decided from the rule alone (no tests decide its `because`, what it reads
    always has a value or is pinned): on random records, each such rule's key function gives one key."""
    import random

    from backpath.core.engine import _plan, decide_positions
    from tests.batch.test_batch_chunks import random_answers

    writer = _plan(PATHWAY).writer
    constant = [ri for ri, flag in enumerate(writer.constant_key) if flag and writer.needs_reason[ri]]
    assert len(constant) >= 5
    keys: dict[int, set] = {ri: set() for ri in constant}
    rng = random.Random(11)
    for _ in range(400):
        values = _plan(PATHWAY).program.clean(random_answers(rng, PATHWAY))
        if values is None:
            continue
        _, contributing = decide_positions(_plan(PATHWAY), values)
        for ri in set(contributing) & set(constant):
            keys[ri].add(writer.reason_key(ri)(values))
    assert sum(1 for seen in keys.values() if seen) >= 5
    assert all(len(seen) <= 1 for seen in keys.values()), {PATHWAY.rules[ri].id: k for ri, k in keys.items()}


def test_a_reason_with_neighbouring_placeholders_is_written_right(tmp_path):
    """A reason frame is text and slots in turn, text first and last (a template's literals stand between its
    placeholders even when empty), which `_RecordMemo.reasons` relies on when it unpacks a frame: placeholders
    side by side in a reason, numbers and a list, are written as `assess` writes them."""
    from backpath.core.engine import _plan
    from tests.conftest import FIXTURES

    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    assert 'reason: "Risk {risk}, leg pain {leg_nrs}."' in text
    path = tmp_path / "mini.yaml"
    path.write_text(text.replace('reason: "Risk {risk}, leg pain {leg_nrs}."',
                                 'reason: "{leg_nrs}{age}{flags}{weeks} and {risk}{leg_nrs}"'), encoding="utf-8")
    pathway = backpath.load_pathway(path)
    base = {"age": 30, "weeks": 20, "leg": True, "leg_nrs": 8, "flags": [], "mood": "good", "requests": []}
    records = [base, {**base, "age": 41, "weeks": 60.5, "leg_nrs": 9}, {**base, "weeks": 30.25, "leg_nrs": 7}]
    fired = 0
    for answers in records:
        expected = backpath.assess(pathway, answers, record_id=1)
        assert expected["status"] == "ok", expected
        fired += "high-risk" in expected["rules_fired"]
        assert assess_json(pathway, answers, record_id=1) == (expected["tier"], encoded(expected))
    assert fired == len(records)
    frames = [frame for memo in _plan(pathway).writer.reason_frames for frame in memo.values()]
    assert any(len(pieces) > 5 for pieces, _ in frames)
    for pieces, _ in frames:
        assert [type(piece) for piece in pieces] == [str, int] * (len(pieces) // 2) + [str]
