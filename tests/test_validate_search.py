"""The answer-space search and the checks beyond the schema (score bands, unused and unreachable things)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backpath.core import engine
from backpath.core.conditions import compile_condition
from backpath.load.loader import load_pathway
from backpath.validate.answerspace import MISSING, AnswerSpace, Goal, numeric_thresholds
from backpath.validate.lint import band
from backpath.validate.run import check_file

MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"


@pytest.fixture(scope="module")
def mini():
    return load_pathway(MINI)


def test_thresholds_reach_questions_through_derived_facts(mini):
    t = numeric_thresholds(mini)
    assert t["leg_nrs"] == {7.0}
    assert t["age"] == {40.0}  # onset_age < 40, where onset_age = age - weeks / 52
    assert {12.0, 40.0} <= t["weeks"]


def test_candidate_values_hit_every_boundary(mini):
    space = AnswerSpace(mini)
    domains = {q.id: d for q, d in zip(space.questions, space.domains)}
    assert domains["leg_nrs"] == (0, 6, 7, 8, 10)
    assert {11, 12, 13, 12.5, 0, 2600} <= set(domains["weeks"])
    assert {16, 39, 40, 41, 110} <= set(domains["age"])
    assert domains["leg"] == (False, True)
    assert domains["mood"] == ("good", "low", "very_low")
    assert domains["flags"] == ((), ("saddle",), ("fever",), ("saddle", "fever"))
    assert domains["late"] == (MISSING, False, True)  # optional: may stay unanswered


def test_every_sampled_answer_set_is_valid_and_questions_follow_ask_when(mini):
    space = AnswerSpace(mini)
    sample = space.sample()
    assert len(sample) > 100
    for point in sample:
        assert engine.assess(mini, point.answers)["status"] == "ok", point.answers
        assert ("leg_nrs" in point.answers) == point.answers["leg"]


def test_the_sample_is_deterministic(mini):
    assert [p.answers for p in AnswerSpace(mini).sample()] == [p.answers for p in AnswerSpace(mini).sample()]


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_random_answer_sets_are_valid_for_any_seed(mini, seed):
    space = AnswerSpace(mini, seed=seed, random_samples=0)
    for _ in range(5):
        point = space.point(space.random_genome())
        assert engine.assess(mini, point.answers)["status"] == "ok"


def test_search_meets_goals_that_must_be_true_and_not_true(mini):
    space = AnswerSpace(mini)
    sample = space.sample()
    high = compile_condition('risk == "high" and leg_nrs >= 9', mini.symbols)
    chronic = compile_condition("chronic", mini.symbols)
    found = space.search([Goal(high), Goal(chronic, want=False)], sample)
    assert found is not None
    assert found.env["risk"] == "high" and found.env["leg_nrs"] >= 9 and found.env["chronic"] is False
    never = compile_condition("weeks > 100 and not chronic", mini.symbols)
    assert space.search([Goal(never)], sample) is None


# --- score bands ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, name, lo, hi", [
    ("4 <= x < 8", "x", (4, True), (8, False)),
    ("x > 3 and x <= 5", "x", (3, False), (5, True)),
    ("3 < x", "x", (3, False), (math.inf, False)),
    ("x == 2", "x", (2, True), (2, True)),
    ("x >= -1", "x", (-1, True), (math.inf, False)),
])
def test_band_reads_intervals(text, name, lo, hi):
    got_name, interval = band(text)
    assert got_name == name
    assert (interval.lo, interval.lo_closed) == lo and (interval.hi, interval.hi_closed) == hi


@pytest.mark.parametrize("text", ["x != 2", "x < 3 or x > 5", "x < y", "x < 3 and y > 2", "flag", "x + 1 < 3"])
def test_band_gives_up_on_anything_else(text):
    assert band(text) is None


def _with_fact(tmp_path: Path, cases: str) -> list:
    text = MINI.read_text(encoding="utf-8").replace(
        "  - {id: chronic, description: Over 12 weeks, expr: \"weeks > 12\"}\n",
        "  - {id: chronic, description: Over 12 weeks, expr: \"weeks > 12\"}\n"
        "  - id: band\n    description: Duration band\n    cases:\n" + cases)
    text = text.replace("reason: \"Mood {mood}.\"", "reason: \"Mood {mood}, {band}.\"")
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    return [f for f in check_file(path).findings if f.code.startswith("band")]


def test_a_gap_between_real_valued_bands_is_found(tmp_path: Path):
    [gap] = _with_fact(tmp_path, '      - {when: "weeks < 4", value: acute}\n'
                                 '      - {when: "weeks > 4 and weeks <= 12", value: subacute}\n'
                                 '      - {when: "weeks > 12.5", value: chronic}\n')
    assert gap.code == "band-gap" and gap.line == 64
    assert "leave values of `weeks` in 0–2600 uncovered (4, between 12 and 12.5, 12.5)" in gap.message


def test_bands_with_a_default_have_no_gap_and_the_idiomatic_style_is_fine(tmp_path: Path):
    assert _with_fact(tmp_path, '      - {when: "weeks < 4", value: acute}\n'
                                '      - {when: "weeks <= 12", value: subacute}\n'
                                '      - {value: chronic}\n') == []


def test_a_band_outside_the_answer_range_can_never_apply(tmp_path: Path):
    [unreachable] = _with_fact(tmp_path, '      - {when: "weeks > 3000", value: never}\n'
                                         '      - {value: chronic}\n')
    assert unreachable.code == "band-unreachable" and unreachable.line == 65
    assert "no value of `weeks` in 0–2600 satisfies it" in unreachable.message


def test_pieces_find_whole_number_gaps_without_bounds():
    from backpath.validate.lint import _Interval, _pieces

    intervals = [_Interval(hi=3, hi_closed=True), _Interval(lo=6, lo_closed=True)]  # x <= 3, x >= 6
    pieces = _pieces(-math.inf, math.inf, True, intervals)
    uncovered = [label for v, label in pieces if not any(v in i for i in intervals)]
    assert uncovered == ["between 3 and 6"]
    real = _pieces(-math.inf, math.inf, False, [_Interval(hi=3), _Interval(lo=3)])  # x < 3, x > 3
    assert [label for v, label in real if not any(v in i for i in [_Interval(hi=3), _Interval(lo=3)])] == ["3"]
