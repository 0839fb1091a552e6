"""Golden semantics of the one compiled engine, on the features pathway (tests/fixtures/features.yaml).

There is no second engine to compare against, so every expectation below is written by hand from the stated
semantics (docs/pathway-format.md, "Conditions"; `report.plain`/`report.show_value` for how values are shown),
not captured from the engine's output:

- three-valued logic: `true or unknown` is true, `false and unknown` is false, `not unknown` is unknown, and a
  rule fires only when its condition is true;
- arithmetic with a missing operand, division by zero and overflow / non-finite results are unknown;
- a `cases` fact takes the first true case and stops (unknown) at an unknown one; a score with a missing item is
  missing (null);
- numbers are shown as people read them: 12.0 as 12, 51.8076923 as 51.81, -0.0 as 0 (`because`, reasons, scores);
- `==` / `!=` on a multi-choice answer against a list literal ignore order; `in` / `not in`; chained comparisons;
- `because` names what made the condition true, under `not` too: `not (a or b)` names both, `not (a and b)` the
  false one; a derived fact is followed by the answers it came from.

Values are compared as JSON text (`_js`), so an int and an equal float (12 and 12.0), or 0 and -0.0, differ.
`test_golden_serialisers.py` runs the same answers through every serialiser and checks they agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

import backpath

from .conftest import FIXTURES

FEATURES = FIXTURES / "features.yaml"
NA = "not answered"
BIG_SCALED = int(2e16)  # 2 * 1e16 is an integral float, so `plain` shows it as an int


@pytest.fixture(scope="module")
def features():
    return backpath.load_pathway(FEATURES)


def trace(**shown: str) -> str:
    """The reason of rule `trace` (it always fires): every fact as a reason shows it, "not answered" if unknown."""
    values = dict.fromkeys(["ratio", "sum", "scaled", "half", "onset", "neg", "zero", "band", "total", "xz",
                            "detail", "level"], NA)
    unknown = set(shown) - set(values)
    assert not unknown, unknown
    values.update(shown)
    return "; ".join(f"{k} {v}" for k, v in values.items()) + "."


@dataclass(frozen=True)
class Golden:
    """One answer set and its result, by hand. `reasons` maps each fired rule but `trace` to its reason text
    and `because` (every rule of the features pathway names exactly one item, so each appears once)."""

    name: str
    answers: dict
    fired: list[str]
    trace: str
    scores: dict
    recommended: list[str]
    reasons: dict[str, tuple[str, dict]] = field(default_factory=dict)
    not_recommended: list[str] = field(default_factory=list)
    tier: str = "routine"
    warnings: list[dict] = field(default_factory=list)
    bug: str | None = None  # set where the engine contradicts these semantics: the case is a strict xfail


NO_SCORES = {"total": None, "xz": None, "level": None}
ZERO_X = {"signed_zero": 0, "x": 0, "neg_x": 0}

GOLDEN = [
    # Nothing answered (every question is optional): every fact and score is unknown and no rule but `when: true`
    # fires — not `a or b`, not `not (a or b)`, not `not ("red" in tags)`: unknown never fires a rule.
    Golden("nothing-answered", {}, ["trace"], trace(), NO_SCORES, ["it_trace"]),
    # true or unknown = true (because names only the true operand); true and unknown = unknown; not true = false;
    # not (true and unknown) = not unknown = unknown. The score `total` misses `tags`, so it and `level` are null.
    Golden("true-or-unknown", {"a": True}, ["trace", "or"], trace(), NO_SCORES, ["it_trace", "it_or"],
           {"or": ("a yes, b not answered.", {"a": True})}),
    # unknown or true = true: the true operand is named, wherever it stands.
    Golden("unknown-or-true", {"b": True}, ["trace", "or"], trace(), NO_SCORES, ["it_trace", "it_or"],
           {"or": ("a not answered, b yes.", {"b": True})}),
    # false and unknown = false, so `not (a and b)` fires naming a; false or unknown = unknown, so neither `a or b`
    # nor `not (a or b)` fires; `not a` fires.
    Golden("false-and-unknown", {"a": False}, ["trace", "not-and", "not-a"], trace(), NO_SCORES,
           ["it_trace", "it_not_and", "it_not_a"],
           {"not-and": ("Not both a and b.", {"a": False}), "not-a": ("Not a.", {"a": False})}),
    # `not (a or b)` with both false names both; `not (a and b)` with both false names both false operands.
    Golden("not-or-names-both", {"a": False, "b": False}, ["trace", "not-or", "not-and", "not-a"], trace(), NO_SCORES,
           ["it_trace", "it_not_or", "it_not_and", "it_not_a"],
           {"not-or": ("Neither a nor b.", {"a": False, "b": False}),
            "not-and": ("Not both a and b.", {"a": False, "b": False}), "not-a": ("Not a.", {"a": False})}),
    # `not (a and b)` names only the false operand; `a or b` only the true one.
    Golden("not-and-names-the-false-one", {"a": True, "b": False}, ["trace", "or", "not-and"], trace(), NO_SCORES,
           ["it_trace", "it_or", "it_not_and"],
           {"or": ("a yes, b no.", {"a": True}), "not-and": ("Not both a and b.", {"b": False})}),
    # Both true: `or` names both true operands, `and` every operand.
    Golden("both-true", {"a": True, "b": True}, ["trace", "or", "and"], trace(), NO_SCORES,
           ["it_trace", "it_or", "it_and"],
           {"or": ("a yes, b yes.", {"a": True, "b": True}), "and": ("a yes, b yes.", {"a": True, "b": True})}),
    # x / 0 is unknown (ratio), x + 0 is not; x * 0.0 is 0.0, shown 0; the chained `0 < x <= 10` names x once.
    # A derived fact in `because` is followed by the answers it came from, in the order its expression reads them.
    Golden("division-by-zero", {"x": 5, "z": 0}, ["trace", "sum", "zero", "chain"],
           trace(sum="5", neg="-5", zero="0", band="other", xz="5"), {"total": None, "xz": 5, "level": None},
           ["it_trace", "it_sum", "it_zero", "it_chain"],
           {"sum": ("Sum 5.", {"sum_xz": 5, "x": 5, "z": 0}),
            "zero": ("Zero 0, minus x -5, x 5.", {"signed_zero": 0, "x": 5, "neg_x": -5}),
            "chain": ("x 5 in (0, 10].", {"x": 5})}),
    # A missing operand makes x / z, x + z and the score x + z unknown; `band` stops at its unknown second case
    # (z > 10) and is unknown too.
    Golden("missing-operand", {"x": 5}, ["trace", "zero", "chain"], trace(neg="-5", zero="0"), NO_SCORES,
           ["it_trace", "it_zero", "it_chain"],
           {"zero": ("Zero 0, minus x -5, x 5.", {"signed_zero": 0, "x": 5, "neg_x": -5}),
            "chain": ("x 5 in (0, 10].", {"x": 5})}),
    # `cases`: a true first case wins before the unknown one (z missing). x * 0.0 with x < 0 is -0.0, shown 0;
    # `zero` does not fire (minus x is 2), nor does the chain (0 < -2 is false).
    Golden("cases-true-before-unknown", {"x": -2}, ["trace"], trace(neg="2", zero="0", band="negative"), NO_SCORES,
           ["it_trace"]),
    # `cases`: an unknown first case (x missing) stops there, although the second (z > 10) is true.
    Golden("cases-stop-at-unknown", {"z": 20}, ["trace"], trace(), NO_SCORES, ["it_trace"]),
    # `cases` reach a later case; a string fact's value is shown with `_` as a space; 1 / 20 shows 0.05.
    Golden("cases-later-case", {"x": 1, "z": 20}, ["trace", "sum", "zero", "chain", "band"],
           trace(ratio="0.05", sum="21", neg="-1", zero="0", band="high z", xz="21"),
           {"total": None, "xz": 21, "level": None}, ["it_trace", "it_sum", "it_zero", "it_chain", "it_band"],
           {"sum": ("Sum 21.", {"sum_xz": 21, "x": 1, "z": 20}),
            "zero": ("Zero 0, minus x -1, x 1.", {"signed_zero": 0, "x": 1, "neg_x": -1}),
            "chain": ("x 1 in (0, 10].", {"x": 1}), "band": ("Band high z.", {"band": "high_z"})}),
    # 10 / 3 is shown rounded to two decimals, in the reason and in `because`; the chain's upper bound is inclusive.
    Golden("float-rounded", {"x": 10, "z": 3}, ["trace", "ratio", "sum", "zero", "chain"],
           trace(ratio="3.33", sum="13", neg="-10", zero="0", band="other", xz="13"),
           {"total": None, "xz": 13, "level": None}, ["it_trace", "it_ratio", "it_sum", "it_zero", "it_chain"],
           {"ratio": ("Ratio 3.33 of 10 and 3.", {"ratio": 3.33, "x": 10, "z": 3}),
            "sum": ("Sum 13.", {"sum_xz": 13, "x": 10, "z": 3}),
            "zero": ("Zero 0, minus x -10, x 10.", {"signed_zero": 0, "x": 10, "neg_x": -10}),
            "chain": ("x 10 in (0, 10].", {"x": 10})}),
    # Float answers with integral values are shown as ints (10.0 -> 10), and so are integral float results (the
    # score 0 + 10.0 + 4.0 = 14.0 is 14); a non-integral one stays a float (2.5).
    Golden("integral-floats-as-ints", {"x": 10.0, "z": 4.0}, ["trace", "ratio", "sum", "zero", "chain"],
           trace(ratio="2.5", sum="14", neg="-10", zero="0", band="other", xz="14"),
           {"total": None, "xz": 14, "level": None}, ["it_trace", "it_ratio", "it_sum", "it_zero", "it_chain"],
           {"ratio": ("Ratio 2.5 of 10 and 4.", {"ratio": 2.5, "x": 10, "z": 4}),
            "sum": ("Sum 14.", {"sum_xz": 14, "x": 10, "z": 4}),
            "zero": ("Zero 0, minus x -10, x 10.", {"signed_zero": 0, "x": 10, "neg_x": -10}),
            "chain": ("x 10 in (0, 10].", {"x": 10})}),
    # 0.1 + 0.2 = 0.30000000000000004 is shown 0.3 (in `because`, the reason and the score); 0.1 / 0.2 = 0.5.
    Golden("float-sum-0.3", {"x": 0.1, "z": 0.2}, ["trace", "sum", "zero", "chain"],
           trace(ratio="0.5", sum="0.3", neg="-0.1", zero="0", band="other", xz="0.3"),
           {"total": None, "xz": 0.3, "level": None}, ["it_trace", "it_sum", "it_zero", "it_chain"],
           {"sum": ("Sum 0.3.", {"sum_xz": 0.3, "x": 0.1, "z": 0.2}),
            "zero": ("Zero 0, minus x -0.1, x 0.1.", {"signed_zero": 0, "x": 0.1, "neg_x": -0.1}),
            "chain": ("x 0.1 in (0, 10].", {"x": 0.1})}),
    # count / 2 is the float 12.0: it equals 12, and is shown 12. `onset` misses x.
    Golden("half-is-12", {"count": 24}, ["trace", "half"], trace(half="12"), NO_SCORES, ["it_trace", "it_half"],
           {"half": ("Half of 24 is 12.", {"count": 24, "half": 12})}),
    # 52 - 10 / 52 = 51.8076923... is shown 51.81; 52 / 2 = 26.0 is shown 26.
    Golden("onset-51.81", {"count": 52, "x": 10}, ["trace", "onset", "zero", "chain"],
           trace(half="26", onset="51.81", neg="-10", zero="0"), NO_SCORES,
           ["it_trace", "it_onset", "it_zero", "it_chain"],
           {"onset": ("Onset 51.81.", {"onset": 51.81, "count": 52, "x": 10}),
            "zero": ("Zero 0, minus x -10, x 10.", {"signed_zero": 0, "x": 10, "neg_x": -10}),
            "chain": ("x 10 in (0, 10].", {"x": 10})}),
    # Negative zero answers: -0.0 / -0.0 is x / 0 (unknown); -0.0 + -0.0 = -0.0 >= 0 is true; -0.0 == 0 and
    # 0.0 <= 0 are true; 0 < -0.0 is false; -0.0 < 0 is false (band: other). Every zero, whatever its sign or
    # type, is shown 0: in reasons, in `because` and in scores.
    Golden("negative-zero-answers", {"x": -0.0, "z": -0.0, "count": 0}, ["trace", "sum", "onset", "zero"],
           trace(sum="0", half="0", onset="0", neg="0", zero="0", band="other", xz="0"),
           {"total": None, "xz": 0, "level": None}, ["it_trace", "it_sum", "it_onset", "it_zero"],
           {"sum": ("Sum 0.", {"sum_xz": 0, "x": 0, "z": 0}), "onset": ("Onset 0.", {"onset": 0, "count": 0, "x": 0}),
            "zero": ("Zero 0, minus x 0, x 0.", ZERO_X)}),
    # Negative zero results: -3 * 0.0 = -0.0 (shown 0); -3 / 3 = -1.0 is shown -1; -3 + 3 = 0 fires `sum`.
    Golden("negative-zero-results", {"x": -3, "z": 3}, ["trace", "sum"],
           trace(ratio="-1", sum="0", neg="3", zero="0", band="negative", xz="0"),
           {"total": None, "xz": 0, "level": None}, ["it_trace", "it_sum"],
           {"sum": ("Sum 0.", {"sum_xz": 0, "x": -3, "z": 3})}),
    # 1e200 * 1e200 overflows to infinity: unknown, so `sq > 0` does not fire; 1e200 * 1e16 = 1e216 is in range, an
    # integral float, shown as an int (all 217 digits of it); the answer 1e200 likewise.
    Golden("float-overflow", {"big": 1e200}, ["trace", "scaled"], trace(scaled=str(int(1e216))), NO_SCORES,
           ["it_trace", "it_scaled"],
           {"scaled": (f"Big {int(1e200)}.", {"scaled": int(1e216), "big": int(1e200)})}),
    # Both products overflow (1e300 * 1e16 and 1e300 * 1e300): unknown; no rule reading them fires.
    Golden("float-overflow-both", {"big": 1e300}, ["trace"], trace(), NO_SCORES, ["it_trace"]),
    # An in-range product: 2 * 1e16 = 2e16, an integral float, shown as an int in `because` and in the reason.
    Golden("scaled-in-range", {"big": 2}, ["trace", "scaled", "square"], trace(scaled=str(BIG_SCALED)), NO_SCORES,
           ["it_trace", "it_scaled", "it_square"],
           {"scaled": ("Big 2.", {"scaled": BIG_SCALED, "big": 2}), "square": ("Square 4.", {"sq": 4, "big": 2})}),
    # `==` on a multi-choice answer ignores order (["red", "blue"] == ["blue", "red"]); `because` keeps the answer's
    # order; labels in reasons; ["red", "blue"] != ["red", "green"]. `"green" in tags` is false: `in` does not fire.
    Golden("list-equality-ignores-order", {"tags": ["red", "blue"]}, ["trace", "lists", "ne"], trace(), NO_SCORES,
           ["it_trace", "it_lists", "it_ne"],
           {"lists": ("Tags Red tag, Blue tag.", {"tags": ["red", "blue"]}),
            "ne": ("Tags Red tag, Blue tag.", {"tags": ["red", "blue"]})}),
    # [] == [] (the `or`'s second operand, the only one named); [] != ["green"]; not ("red" in []) advises against
    # it_avoid; every score item is known: total 0 + 0 + 0, level low.
    Golden("empty-list", {"tags": [], "a": False, "pick": "one"}, ["trace", "not-and", "not-a", "lists", "ne", "avoid"],
           trace(total="0", level="low"), {"total": 0, "xz": None, "level": "low"},
           ["it_trace", "it_not_and", "it_not_a", "it_lists", "it_ne"],
           {"not-and": ("Not both a and b.", {"a": False}), "not-a": ("Not a.", {"a": False}),
            "lists": ("Tags none.", {"tags": []}), "ne": ("Tags none.", {"tags": []}),
            "avoid": ("No red tag.", {"tags": []})},
           not_recommended=["it_avoid"]),
    # `in` and `not in` both true; ["green"] != ["red", "green"]; total 1 + 0 + 2 = 3 gives level high, whose
    # rule sets the tier (attention: its item comes first, its follow-up applies).
    Golden("in-and-not-in", {"tags": ["green"], "pick": "three", "a": True},
           ["trace", "or", "ne", "in", "level", "avoid"],
           trace(total="3", level="high"), {"total": 3, "xz": None, "level": "high"},
           ["it_level", "it_trace", "it_or", "it_ne", "it_in"],
           {"or": ("a yes, b not answered.", {"a": True}), "ne": ("Tags Green tag.", {"tags": ["green"]}),
            "in": ("Tags Green tag; pick Option three.", {"tags": ["green"], "pick": "three"}),
            "level": ("Level high, total 3.", {"level": "high"}), "avoid": ("No red tag.", {"tags": ["green"]})},
           not_recommended=["it_avoid"], tier="attention"),
    # `"green" in tags and pick not in [...]` with pick missing: true and unknown = unknown, no fire. `!=` ignores
    # order too: ["green", "red"] != ["red", "green"] is false.
    Golden("not-in-unknown", {"tags": ["green", "red"]}, ["trace"], trace(), NO_SCORES, ["it_trace"]),
    # An unknown ask_when (x missing) means "not asked": the answer is ignored, with a warning.
    Golden("ask-when-unknown", {"detail": True}, ["trace"], trace(), NO_SCORES, ["it_trace"],
           warnings=[{"path": "answers.detail",
                      "message": "ignored: the question is asked only when `x > 50`, which is not true for these "
                                 "answers."}]),
    # ask_when true: the answer counts.
    Golden("ask-when-true", {"x": 60, "detail": True}, ["trace", "zero"], trace(neg="-60", zero="0", detail="yes"),
           NO_SCORES, ["it_trace", "it_zero"],
           {"zero": ("Zero 0, minus x -60, x 60.", {"signed_zero": 0, "x": 60, "neg_x": -60})}),
]

# `because` traces a derived fact to the answers its value came from; under `not` it must name those that made
# the condition true, as it does for `not (a or b)` and `not (a and b)` written out.
GOLDEN += [
    # A boolean fact that is true: its true operand is named after it. `c and unknown` is unknown: no `not both`.
    Golden("fact-or-true", {"c": True}, ["trace", "either"], trace(), NO_SCORES, ["it_trace", "it_either"],
           {"either": ("Either c or d.", {"either": True, "c": True})}),
    # Both true: `either` names both true operands; `not both` is false.
    Golden("fact-both-true", {"c": True, "d": True}, ["trace", "either"], trace(), NO_SCORES,
           ["it_trace", "it_either"], {"either": ("Either c or d.", {"either": True, "c": True, "d": True})}),
    # false and unknown = false: `not both` fires naming c; false or unknown = unknown: no `not either`.
    Golden("fact-false-and-unknown", {"c": False}, ["trace", "not-both"], trace(), NO_SCORES,
           ["it_trace", "it_not_both"], {"not-both": ("Not both c and d.", {"both": False, "c": False})}),
    # `not either` with both false names both (as `not (a or b)` does); `not both` names both false operands.
    Golden("fact-not-or-names-both", {"c": False, "d": False}, ["trace", "not-either", "not-both"], trace(),
           NO_SCORES, ["it_trace", "it_not_either", "it_not_both"],
           {"not-either": ("Neither c nor d.", {"either": False, "c": False, "d": False}),
            "not-both": ("Not both c and d.", {"both": False, "c": False, "d": False})}),
    # `not both` names only the false operand (as `not (a and b)` does); `either` only the true one.
    Golden("fact-not-and-names-the-false-one", {"c": True, "d": False}, ["trace", "either", "not-both"], trace(),
           NO_SCORES, ["it_trace", "it_either", "it_not_both"],
           {"either": ("Either c or d.", {"either": True, "c": True}),
            "not-both": ("Not both c and d.", {"both": False, "d": False})}),
]


def golden_params(golden: list[Golden] = GOLDEN) -> list:
    """The golden cases as pytest parameters, those that show an engine bug marked as strict xfails."""
    return [pytest.param(g, id=g.name, marks=pytest.mark.xfail(strict=True, reason=g.bug)) if g.bug
            else pytest.param(g, id=g.name) for g in golden]


# Invalid answers, each with the error result's `errors` by hand.
ERRORS = [
    ("required-when-asked", {"x": 60}, [{"path": "answers.detail", "message": "required answer is missing: Detail?"}]),
    ("out-of-range", {"x": 100.5}, [{"path": "answers.x", "message": "100.5 is out of range; expected -100–100."}]),
    ("repeated-option", {"tags": ["red", "red"]},
     [{"path": "answers.tags", "message": "lists \"red\" twice; list each option once."}]),
]


def _js(value) -> str:
    """JSON text: tells 12 from 12.0 and 0 from -0.0, and keeps key order."""
    return json.dumps(value, ensure_ascii=False)


def reasons_by_rule(result: dict) -> dict[str, dict]:
    """Every reason of a result by rule id (each rule of the features pathway names one item)."""
    out: dict[str, dict] = {}
    for entry in result["recommendations"] + result["not_recommended"]:
        for reason in entry["reasons"]:
            assert reason["rule"] not in out, f"rule {reason['rule']} gives two reasons"
            out[reason["rule"]] = reason
    return out


def test_golden_names_are_unique():
    names = [g.name for g in GOLDEN] + [name for name, _, _ in ERRORS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("golden", golden_params())
def test_golden_result(features, golden):
    result = backpath.assess(features, golden.answers, record_id=golden.name)
    assert result["status"] == "ok", result
    assert result["tier"] == golden.tier
    assert result["rules_fired"] == golden.fired
    assert _js(result["scores"]) == _js(golden.scores)
    assert [e["id"] for e in result["recommendations"]] == golden.recommended
    assert [e["id"] for e in result["not_recommended"]] == golden.not_recommended
    assert result["warnings"] == golden.warnings
    reasons = reasons_by_rule(result)
    assert sorted(reasons) == sorted(golden.fired)
    assert reasons["trace"]["text"] == golden.trace
    assert reasons["trace"]["because"] == {}
    for rule, (text, because) in golden.reasons.items():
        assert reasons[rule]["text"] == text, rule
        assert _js(reasons[rule]["because"]) == _js(because), rule
    assert set(golden.reasons) == set(golden.fired) - {"trace"}


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_golden_items(features, golden):
    """What each fired rule contributes: strength (offer / consider as the rule says), the advised-against
    effect, the item's own citation then the rule's, the care team and the follow-up of the result tier."""
    result = backpath.assess(features, golden.answers)
    considered = {"it_sum", "it_scaled", "it_square", "it_ne", "it_chain"}
    for entry in result["recommendations"]:
        assert entry["strength"] == ("consider" if entry["id"] in considered else "offer")
        assert "effect" not in entry["reasons"][0]
    for entry in result["not_recommended"]:
        assert [r["effect"] for r in entry["reasons"]] == ["advise_against"]
    assert result["care_team"] == ["gp"]
    review = {"attention": (2, "Check again soon."), "routine": (8, "Come back if worse.")}[golden.tier]
    assert result["follow_up"] == {"review_in_weeks": review[0], "safety_net": review[1]}
    assert result["red_flags"] == []


@pytest.mark.parametrize(("name", "answers", "errors"), ERRORS, ids=[e[0] for e in ERRORS])
def test_golden_errors(features, name, answers, errors):
    result = backpath.assess(features, answers, record_id=name)
    assert result == {"format_version": 1, "id": name, "status": "error", "errors": errors}


def test_fired_rules_agree_with_the_condition_values(features):
    """A rule fires exactly when its condition's value is true (not when it is unknown), on every golden case:
    the compiled program's decision against each condition's own compiled function."""
    from backpath.core.engine import compute_facts

    for golden in GOLDEN:
        env = compute_facts(features, backpath.check(features, golden.answers).values)
        values = {r.id: r.when.fn(env) for r in features.rules}
        assert [rule for rule, value in values.items() if value is True] == golden.fired, golden.name
        for rule in features.rules:
            assert values[rule.id] in (True, False, None), (golden.name, rule.id)


# --- found while writing these tests: results that contradict the stated semantics --------------------------

@pytest.mark.parametrize(("x", "shown"), [(2.999, 3), (-0.001, 0)])
def test_rounded_numbers_show_as_people_read_them(features, x, shown):
    # The score xz = 0 + x + z with z = 0 is x itself, shown in `scores` and in the reason of `trace`.
    result = backpath.assess(features, {"x": x, "z": 0})
    assert _js(result["scores"]["xz"]) == _js(shown)
    reason = reasons_by_rule(result)["trace"]["text"]
    assert f"; xz {shown};" in reason


@pytest.mark.parametrize("big", [10**300, 10**2500], ids=["1e300-as-int", "2501-digit-int"])
def test_int_overflow_is_unknown_like_float_overflow(features, big):
    as_float = backpath.assess(features, {"big": 1e300})
    assert as_float["rules_fired"] == ["trace"]  # both products overflow: unknown
    result = backpath.assess(features, {"big": big})
    assert result["status"] == "ok"
    assert result["rules_fired"] == as_float["rules_fired"]
    json.dumps(result)
