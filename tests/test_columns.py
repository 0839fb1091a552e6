"""The column engine (backpath.columns) against the scalar engine: same cleanliness, env, tier and rules.

Every comparison goes record by record through `engine.check`, `engine.compute_facts` and `engine.decide`; values
must be equal and of the same Python type (True/False/None, int or float as the engine makes it, str, the list).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backpath import engine
from backpath.cases import cases_file_for
from backpath.catalog import resolve
from backpath.columns import ColumnEngine, ColumnsUnsupported
from backpath.loader import load_pathway
from backpath.model import Pathway
from backpath.yamlio import load_yaml

from .strategies import answers_for, value_strategy

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def examples(n: int) -> settings:
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# A pathway that uses what the default pathway does not: arithmetic (* / unary minus, division by zero), unbounded
# numbers, number/choice/multi lists, choice == choice, `not in`, chained comparisons, boolean ==, facts that pass a
# value through, constant facts, number and boolean cases, float points, ask_when on facts, and rule scopes.
FEATURES_YAML = """
format_version: 1
id: features
title: Features test pathway
version: 0.0.1
disclaimer: Test pathway only.
sources: [{id: SRC, title: Test source}]
care_roles: [{id: gp, title: GP}]
tiers:
  - {id: emergency, title: Emergency, preempts: true, preempt_reason: First.}
  - {id: routine, title: Routine}
  - {id: none, title: Nothing}
sections:
  - id: main
    title: Main
    questions:
      - {id: n1, prompt: N1, type: number}
      - {id: n2, prompt: N2, type: number, required: false}
      - {id: i1, prompt: I1, type: integer, min: -50, max: 50}
      - {id: n3, prompt: N3, type: number, required: false}
      - {id: b1, prompt: B1, type: boolean}
      - {id: b2, prompt: B2, type: boolean, required: false, ask_when: "n1 * i1 > 10 or b1"}
      - {id: c1, prompt: C1, type: choice, options: [{id: x, label: X}, {id: y, label: Y}, {id: z, label: Z}]}
      - id: c2
        prompt: C2
        type: choice
        required: false
        ask_when: 'c1 in ["x", "y"] and ratio != 0'
        options: [{id: z, label: Z}, {id: x, label: X}, {id: w, label: W}]
      - id: m1
        prompt: M1
        type: multi_choice
        options: [{id: x, label: X}, {id: y, label: Y}, {id: z, label: Z}, {id: w, label: W}]
      - id: m2
        prompt: M2
        type: multi_choice
        required: false
        ask_when: 'm1 != [] and grade != "low"'
        options: [{id: p, label: P}, {id: q, label: Q}]
derived:
  - {id: ratio, description: ratio, expr: "n1 / (i1 - 3)"}
  - {id: neg, description: neg, expr: "-n1 + 2 * i1 - 0.5"}
  - {id: unsigned_zero, description: "a whole 0 negated keeps no sign", expr: "-i1 / 2 + i1 * -1 * 1.5"}
  - {id: same_choice, description: same, expr: "c1 == c2"}
  - {id: c1_in_m1, description: in, expr: "c1 in m1"}
  - {id: c2_not_in_m1, description: not in, expr: "c2 not in m1"}
  - {id: m1_exact, description: eq, expr: 'm1 == ["y", "x"]'}
  - {id: m1_empty, description: empty, expr: "m1 == []"}
  - {id: i1_listed, description: listed, expr: "i1 in [1, 2, 3.5, 4] or n2 not in [0]"}
  - {id: chained, description: chained, expr: "-3 < n1 <= i1 * 2 < 40"}
  - {id: b_eq, description: b eq, expr: "b1 == b2 or b1 != (n2 > 0)"}
  - {id: nested_or, description: ors within ors, expr: 'not (b1 or (n1 > 1 or b2)) or (c1 == "x" and (b2 or m1 == []))'}
  - {id: copy_c1, description: pass, expr: "c1"}
  - {id: copy_m2, description: pass, expr: "m2"}
  - {id: copy_n2, description: pass, expr: "n2"}
  - {id: copy_b2, description: pass, expr: "b2"}
  - {id: const_t, description: const, expr: "true and not false"}
  - {id: const_n, description: const, expr: "2 * 3"}
  - {id: const_in, description: const, expr: '"x" in ["x", "y"] and "q" not in ["x"]'}
  - {id: m2_none, description: eq, expr: "m2 == [] or n3 > 0"}
  - id: grade
    description: grade
    cases: [{when: "n1 < 0", value: low}, {when: "n2 > 100", value: high}, {value: mid}]
  - id: level
    description: level
    cases: [{when: "ratio > 1", value: 2}, {when: "ratio > 0", value: 1.5}, {when: "b2", value: 0}]
  - id: flag
    description: flag
    cases: [{when: "n2 > 5", value: true}, {when: "n2 < -5", value: false}]
scores:
  - id: s1
    title: S1
    items:
      - {question: b1}
      - {question: n1}
      - {question: i1}
      - {question: c1, values: {x: 1, y: 2.5}}
      - {question: m1, values: {x: 1, z: 2.0, w: -3}}
      - {when: "b2", points: 0.25}
      - {when: "n1 > 0"}
  - id: s2
    title: S2
    items: [{question: n2}, {when: "grade == copy_c1", points: 2}, {when: "n2 > 0"}]
  - id: s3
    title: S3
    cases: [{when: "s1 >= 10", value: high}, {when: "same_choice", value: same}, {value: low}]
catalogue:
  - {id: a, title: A, description: A., category: referral, tier: emergency, care_team: [gp], stance: Now.,
     sources: [{id: SRC, section: "1"}]}
  - {id: b, title: B, description: B., category: physical, tier: routine, care_team: [gp], stance: Later.,
     sources: [{id: SRC, section: "2"}]}
rules:
  - {id: r-emergency, when: 's1 > 50 and "w" in m1', tier: emergency, offer: [a], reason: E.,
     sources: [{id: SRC, section: "1"}]}
  - {id: r-always, when: "ratio > 2", scope: always, offer: [a], reason: A., sources: [{id: SRC, section: "1"}]}
  - {id: r-routine, when: 'level >= 1.5 or s3 == "high"', tier: routine, offer: [b], reason: R.,
     sources: [{id: SRC, section: "2"}]}
  - {id: r-plain, when: "i1_listed and not chained", offer: [b], reason: P., sources: [{id: SRC, section: "2"}]}
  - {id: r-none, when: "flag == false", tier: none, consider: [b], reason: N., sources: [{id: SRC, section: "2"}]}
  - {id: r-big, when: "n1 * n1 * n1 > 1e15", tier: routine, offer: [b], reason: B., sources: [{id: SRC, section: "2"}]}
"""


def _write(tmp_dir: Path, name: str, text: str) -> Pathway:
    path = tmp_dir / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_pathway(path)


@pytest.fixture(scope="module")
def features_pathway(tmp_path_factory) -> Pathway:
    return _write(tmp_path_factory.mktemp("columns"), "features", FEATURES_YAML)


@functools.cache  # a pathway hashes by identity
def column_engine(pathway: Pathway) -> ColumnEngine:
    return ColumnEngine(pathway)


def scalar(pathway: Pathway, answers):
    """(clean, env, tier, rule positions) as the scalar engine gives them; clean = no problem and no warning."""
    checked = engine.check(pathway, answers)
    if checked.problems or checked.warnings:
        return False, None, None, None
    env = engine.compute_facts(pathway, checked.values)
    tier, rules = engine.decide(pathway, env)
    position = {id(r): i for i, r in enumerate(pathway.rules)}
    return True, env, tier, [position[id(r)] for r in rules]


def assert_same_values(expected: dict, actual: dict) -> None:
    assert type(actual) is dict
    assert actual == expected
    for key, value in expected.items():
        got = actual[key]
        assert type(got) is type(value), (key, value, got)
        if isinstance(value, float) and value == 0:
            assert math.copysign(1, got) == math.copysign(1, value), key
        if isinstance(value, list):
            assert got is value, key  # the very answer list, as the engine keeps it


def compare(pathway: Pathway, records: list, *, overflow_ok=lambda answers: False) -> list[bool]:
    """Run the chunk through both engines and check every record; returns the column engine's clean flags.

    A record may be not clean here while the scalar engine has no problem only when `overflow_ok(answers)` says
    its numbers are big enough for an arithmetic result to reach 2**53."""
    run = column_engine(pathway).run(records)
    assert len(run.clean) == len(run.envs) == len(run.tiers) == len(run.contributing) == len(records)
    for i, answers in enumerate(records):
        clean, env, tier, rules = scalar(pathway, answers)
        assert type(run.clean[i]) is bool
        if not run.clean[i]:
            assert run.envs[i] is None and run.tiers[i] is None and run.contributing[i] is None
            assert not clean or overflow_ok(answers), (i, answers)
            continue
        assert clean, (i, answers)
        assert_same_values(env, run.envs[i])
        assert run.tiers[i] == tier, (i, answers)
        assert type(run.contributing[i]) is list and run.contributing[i] == rules, (i, answers)
    return run.clean


def big_numbers(answers) -> bool:
    """Whether some number could make the features pathway's arithmetic (at most a cube) reach 2**53."""
    return isinstance(answers, dict) and any(
        type(v) in (int, float) and not abs(v) < 2 ** 17 for v in answers.values())


# --- valid answers ---------------------------------------------------------------------------------------------

@examples(40)
@given(data=st.data())
def test_valid_answers_default_pathway(default_pathway, data):
    records = data.draw(st.lists(answers_for(default_pathway), min_size=1, max_size=10))
    assert all(compare(default_pathway, records))


@examples(80)
@given(data=st.data())
def test_valid_answers_mini_pathway(mini_pathway, data):
    records = data.draw(st.lists(answers_for(mini_pathway), min_size=1, max_size=10))
    assert all(compare(mini_pathway, records))


@examples(70)
@given(data=st.data())
def test_valid_answers_features_pathway(features_pathway, data):
    records = data.draw(st.lists(answers_for(features_pathway), min_size=1, max_size=10))
    assert all(compare(features_pathway, records))


def test_a_realistic_chunk_of_1000(default_pathway):
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    try:
        from batch import random_answers
    finally:
        sys.path.pop(0)
    rng = random.Random(7)
    assert all(compare(default_pathway, [random_answers(rng, default_pathway) for _ in range(1000)]))


def _cases_answers() -> list[dict]:
    path = cases_file_for(resolve("low-back-pain"))
    data = load_yaml(path.read_text(encoding="utf-8"), str(path)).data
    base = data.get("base_answers", {})
    out = []
    for case in data["cases"]:
        out.append(dict(case.get("answers", {})))  # the case's own answers, alone
        merged = {**base, **case.get("answers", {})}  # as the case runner assesses them
        for key in case.get("remove", []):
            merged.pop(key, None)
        out.append(merged)
    return out


def test_every_clinical_case_in_one_chunk(default_pathway):
    records = _cases_answers()
    assert len(records) >= 200
    clean = compare(default_pathway, records)
    # exactly the records the scalar engine accepts without a problem or a warning are clean
    assert clean == [scalar(default_pathway, r)[0] for r in records]
    assert sum(clean[1::2]) > len(records) / 2 * 0.8  # most cases are valid as the runner assesses them


# --- invalid and warning-producing answers -----------------------------------------------------------------------

def _default_valid(default_pathway) -> dict:
    records = _cases_answers()
    return next(r for r in records if scalar(default_pathway, r)[0] and "leg_pain_nrs" in r)


def test_invalid_records_are_not_clean_and_leave_their_neighbours_alone(default_pathway):
    good = _default_valid(default_pathway)
    bad = [
        {**good, "no_such_question": 1},  # unknown key
        {**good, "age": 111},  # out of range
        {**good, "age": 40.0},  # a float for an integer
        {**good, "duration_weeks": "6"},  # text for a number
        {**good, "sciatica": 1},  # a number for a boolean
        {**good, "age": True},  # a bool for a number
        {**good, "duration_weeks": float("nan")},
        {**good, "bmi": float("nan")},  # optional: NaN is not missing
        {**good, "bmi": float("-inf")},
        {**good, "duration_weeks": float("inf")},
        {**good, "duration_weeks": 10 ** 30},
        {**good, "age": 10 ** 400},
        {**good, "red_flags": "saddle_anaesthesia"},  # text for a multi-choice
        {**good, "red_flags": ["fever_or_unwell", "fever_or_unwell"]},  # an option twice
        {**good, "red_flags": ["no_such_flag"]},
        {**good, "red_flags": [None]},
        {**good, "red_flags": [["saddle_anaesthesia"]]},  # unhashable entry
        {**good, "red_flags": [{"a": 1}]},
        {**good, "startback_9": 3},  # a number for a choice
        {**good, "startback_9": ["slightly"]},  # unhashable for a choice
        {**good, "startback_9": "Slightly"},
        {**good, "conditions": {}},
        {**good, "sciatica": False, "leg_pain_nrs": 5},  # answered, but not asked: a warning
        {k: v for k, v in good.items() if k != "age"},  # a required answer missing
        {**good, "age": None},  # null is missing
        ["age", 52],  # not a mapping
        None,
        "answers",
        42,
        {1: True, **good},  # a key that is not text
    ]
    records = [good]
    for record in bad:
        records += [record, good]
        assert column_engine(default_pathway).run([good, record, good]).clean == [True, False, True], record
    run = column_engine(default_pathway).run(records)  # all in one chunk
    for i, record in enumerate(records):
        assert run.clean[i] == (i % 2 == 0), (i, record)
    compare(default_pathway, records)


class _Awkward:
    """A value no JSON decoder makes: it hashes like a question id and cannot be compared or hashed safely."""

    def __init__(self, text: str, hashable: bool = True):
        self.text, self.hashable = text, hashable

    def __hash__(self):
        if not self.hashable:
            raise RuntimeError("no hash")
        return hash(self.text)

    def __eq__(self, other):
        raise RuntimeError("no comparison")


def test_run_never_raises(default_pathway):
    good = _default_valid(default_pathway)
    awkward_key = {**{k: v for k, v in good.items() if k != "age"}, _Awkward("age"): 52}
    records = [good, awkward_key, good, {**good, "startback_9": _Awkward("slightly", False)}, good,
               {**good, "red_flags": [_Awkward("fever_or_unwell", False)]}, good, {**good, "sciatica": _Awkward("x")}]
    assert column_engine(default_pathway).run(records).clean == [True, False] * 3 + [True, False]


def test_null_answers_of_optional_questions_are_missing(default_pathway):
    good = _default_valid(default_pathway)
    record = {**good, "bmi": None, "smoker": None, "preferences": None}
    assert compare(default_pathway, [record, good]) == [True, True]


def test_answers_that_are_not_asked_give_warnings(mini_pathway):
    base = {"age": 30, "weeks": 2, "leg": False, "flags": [], "mood": "good"}
    records = [
        base,
        {**base, "leg_nrs": 5},  # leg is false: leg_nrs is not asked
        {**base, "late": True},  # onset_age < 40: asked
        {**base, "age": 60, "late": True},  # onset_age >= 40: not asked
        {**base, "leg": True},  # leg_nrs now required
        {**base, "leg": True, "leg_nrs": 11},
        {**base, "leg": True, "leg_nrs": 4, "requests": ["belt", "massage"]},
    ]
    assert compare(mini_pathway, records) == [True, False, True, False, False, False, True]


def test_numbers_beyond_exact_floats_are_not_clean(features_pathway):
    base = {"n1": 2, "i1": 5, "b1": True, "c1": "z", "m1": []}
    records = [
        base,
        {**base, "n1": 2 ** 53},  # the scalar engine accepts it, but float64 is no longer exact
        {**base, "n1": -(2 ** 53) + 1},  # exact, but n1 * n1 overflows
        {**base, "n1": 2 ** 20},  # n1 * n1 * n1 = 2**60
        {**base, "n1": 2 ** 17},  # 2**51: still exact
        {**base, "n1": 0.1, "n2": 1e300},  # a float answer far beyond 2**53
        {**base, "i1": 3},  # ratio divides by zero: missing
        {**base, "n1": -7.25, "i1": 3, "b1": False, "c1": "x", "m1": ["x", "y", "z", "w"]},
        {**base, "n2": 2 ** 53 - 2},  # the score s2 = n2 + 1 is still exact
        {**base, "n2": 2 ** 53 - 1},  # s2 reaches 2**53
        {**base, "n2": -(2 ** 53) + 1.0},  # a float just inside
        {**base, "n3": 2 ** 53 - 1},  # n3 is only compared
        {**base, "n3": 2 ** 53},
        {**base, "n3": -1e300},
    ]
    clean = compare(features_pathway, records, overflow_ok=lambda a: True)
    assert clean == [True, False, False, False, True, False, True, True, True, False, True, True, False, False]


@examples(40)
@given(data=st.data())
def test_messy_answers_default_pathway(default_pathway, data):
    records = data.draw(st.lists(messy_answers(default_pathway), min_size=1, max_size=8))
    clean = compare(default_pathway, records)
    assert clean == [scalar(default_pathway, r)[0] for r in records]  # every number is bounded: no overflow


@examples(60)
@given(data=st.data())
def test_messy_answers_mini_pathway(mini_pathway, data):
    records = data.draw(st.lists(messy_answers(mini_pathway), min_size=1, max_size=8))
    clean = compare(mini_pathway, records)
    assert clean == [scalar(mini_pathway, r)[0] for r in records]


@examples(60)
@given(data=st.data())
def test_messy_answers_features_pathway(features_pathway, data):
    records = data.draw(st.lists(messy_answers(features_pathway), min_size=1, max_size=8))
    compare(features_pathway, records, overflow_ok=big_numbers)


def _junk(pathway: Pathway) -> st.SearchStrategy:
    options = sorted({o for q in pathway.questions.values() for o in q.option_ids})
    text = st.one_of(st.sampled_from(options), st.text(max_size=4))
    return st.one_of(
        st.none(), st.booleans(), st.integers(-200, 200), st.integers(), st.integers(2 ** 50, 2 ** 70),
        st.floats(), st.floats(-200, 200), text,
        st.lists(st.one_of(st.sampled_from(options), st.none(), st.integers(0, 2)), max_size=4),
        st.lists(st.sampled_from(options), unique=True, max_size=4),
        st.lists(st.lists(text, max_size=1), max_size=2), st.dictionaries(text, st.integers(), max_size=2),
    )


@st.composite
def messy_answers(draw, pathway: Pathway):
    """Valid answers with a few changes: a value replaced, a key removed or added; sometimes not a mapping."""
    if draw(st.integers(0, 30)) == 0:
        return draw(st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2), st.text(max_size=3)))
    answers = draw(answers_for(pathway))
    qids = list(pathway.questions)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["replace", "remove", "add", "answer"]))
        if action == "replace" and answers:
            answers[draw(st.sampled_from(sorted(answers)))] = draw(_junk(pathway))
        elif action == "remove" and answers:
            del answers[draw(st.sampled_from(sorted(answers)))]
        elif action == "add":
            answers[draw(st.sampled_from(["extra", "Age", "", *qids]))] = draw(_junk(pathway))
        elif action == "answer":  # a valid value, maybe for a question that is not asked
            q = pathway.questions[draw(st.sampled_from(qids))]
            answers[q.id] = draw(value_strategy(q))
    return answers


# --- edges ---------------------------------------------------------------------------------------------------------

def test_an_empty_chunk(default_pathway):
    run = column_engine(default_pathway).run([])
    assert (run.clean, list(run.envs), run.tiers, run.contributing) == ([], [], [], [])


def test_any_iterable_of_answers(mini_pathway):
    base = {"age": 30, "weeks": 2, "leg": False, "flags": ["fever"], "mood": "low"}
    run = column_engine(mini_pathway).run(iter([base]))
    assert run.clean == [True]
    assert run.envs[0]["flags"] is base["flags"]  # the given list itself, as the engine keeps it


def test_the_engine_compiles_once_and_runs_many_chunks(mini_pathway):
    ce = column_engine(mini_pathway)
    base = {"age": 30, "weeks": 2, "leg": False, "flags": [], "mood": "good"}
    first = ce.run([base])
    second = ce.run([base, {**base, "mood": "very_low"}])
    assert first.envs[0] == second.envs[0]
    assert first.tiers == second.tiers[:1]


@pytest.mark.parametrize("change, what", [
    ('- {id: onset_age, description: Age at onset, expr: "age - weeks / 52"}',
     '- {id: onset_age, description: Age at onset, expr: "age - weeks / 52 + 9007199254740993"}'),
    ("- {question: mood, values: {low: 1, very_low: 2}}",
     "- {question: flags, values: {saddle: 0.5, fever: 1}}"),
])
def test_what_cannot_be_exact_is_unsupported(tmp_path, change, what):
    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    assert change in text
    pathway = _write(tmp_path, "changed", text.replace(change, what))
    with pytest.raises(ColumnsUnsupported):
        ColumnEngine(pathway)


@examples(30)
@given(data=st.data())
def test_presence_bits_say_which_names_have_a_value(mini_pathway, default_pathway, features_pathway, data):
    for pathway in (default_pathway, mini_pathway, features_pathway):
        records = data.draw(st.lists(answers_for(pathway), min_size=1, max_size=8))
        names = tuple(sorted(pathway.symbols))[:62]
        run = ColumnEngine(pathway).run(records, names)
        assert all(run.clean)
        for answers, bits in zip(records, run.presence):
            env = engine.compute_facts(pathway, engine.check(pathway, answers).values)  # the scalar engine's
            assert bits == sum(1 << i for i, n in enumerate(names) if env.get(n) is not None)


def test_presence_of_takes_at_most_62_names(default_pathway):
    with pytest.raises(ValueError, match="at most 62"):
        ColumnEngine(default_pathway).run([{}], tuple(f"n{i}" for i in range(63)))


@examples(30)
@given(data=st.data())
def test_or_operand_truths_match_the_scalar_conditions(mini_pathway, default_pathway, features_pathway, data):
    """`ColumnRun.truths(text)` is, record by record, `t(env) is True` for each of `or_terms` of that condition
    (the result writer's `because` memo keys on them)."""
    for pathway in (default_pathway, mini_pathway, features_pathway):
        records = data.draw(st.lists(answers_for(pathway), min_size=1, max_size=8))
        run = column_engine(pathway).run(records)
        conditions = [r.when for r in pathway.rules] + [d.expr for d in pathway.derived if d.expr]
        assert any(c.or_terms for c in conditions)
        for condition in conditions:
            truths = run.truths(condition.text)
            assert truths.shape == (len(records), len(condition.or_terms))
            for k, env in enumerate(run.envs):
                if env is not None:
                    assert truths[k].tolist() == [t(env) is True for t in condition.or_terms], condition.text
        assert run.truths("no such condition") is None
