"""The condition language: what it accepts, what it rejects, and three-valued logic for missing answers."""

from __future__ import annotations

import pytest

from backpath.core.conditions import BOOLEAN, NUMBER, ConditionError, Type, compile_condition

SYMBOLS = {
    "age": NUMBER,
    "sciatica": BOOLEAN,
    "flags": Type("multi", frozenset({"saddle", "fever"}), "flags"),
    "imaging": Type("choice", frozenset({"none", "stenosis"}), "imaging"),
}


def c(text: str):
    return compile_condition(text, SYMBOLS)


@pytest.mark.parametrize(
    "text, env, expected",
    [
        ("age > 50", {"age": 51}, True),
        ("age > 50", {"age": 50}, False),
        ("4 <= age < 12", {"age": 4}, True),
        ("4 <= age < 12", {"age": 12}, False),
        ('"saddle" in flags', {"flags": ["saddle"]}, True),
        ('"saddle" not in flags', {"flags": ["saddle"]}, False),
        ("flags == []", {"flags": []}, True),
        ('flags == ["fever", "saddle"]', {"flags": ["saddle", "fever"]}, True),
        ('imaging in ["stenosis"]', {"imaging": "stenosis"}, True),
        ('imaging != "none"', {"imaging": "none"}, False),
        ("sciatica and age - 10 / 2 >= 45", {"sciatica": True, "age": 50}, True),
        ("not sciatica", {"sciatica": False}, True),
        ("sciatica == true", {"sciatica": True}, True),
    ],
)
def test_evaluates(text, env, expected):
    assert c(text)(env) is expected


@pytest.mark.parametrize(
    "text, env, expected",
    [
        ("age > 50", {}, None),                                   # missing -> unknown
        ("age > 50 and sciatica", {"sciatica": False}, False),     # false and unknown -> false
        ("age > 50 or sciatica", {"sciatica": True}, True),        # true or unknown -> true
        ("age > 50 or sciatica", {"sciatica": False}, None),       # false or unknown -> unknown
        ("not sciatica", {}, None),                                # not unknown -> unknown
        ('"saddle" in flags', {}, None),
        ("age / 0 > 1", {"age": 3}, None),                         # division by zero -> unknown
    ],
)
def test_three_valued_logic(text, env, expected):
    assert c(text)(env) is expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("agee > 50", "unknown name `agee`"),
        ("agee > 50", "Did you mean `age`?"),
        ('imaging == "stenossis"', '"stenossis" is not an option of `imaging`'),
        ('"sadle" in flags', "Did you mean `saddle`?"),
        ('age > "x"', "compares numbers"),
        ("age", "not true/false"),
        ("sciatica and age", "not true/false"),
        ("len(flags) > 1", "not allowed"),
        ("age.real > 1", "not allowed"),
        ("__import__('os')", "not allowed"),
        ("flags[0] == 'saddle'", "not allowed"),
        ("age >", "not a valid condition"),
        ("", "empty"),
        ('sciatica == "yes"', "compares true/false with text"),
        ('age in ["a"]', "the list holds text"),
        ("age is 3", "use `==`"),
        ("[1, 'a']", "only text or only numbers"),
    ],
)
def test_rejects_with_a_message_that_says_why(text, message):
    with pytest.raises(ConditionError) as exc:
        c(text)
    assert message in exc.value.message


def test_names_and_explanation_follow_the_true_branch():
    cond = c('"saddle" in flags or (sciatica and age > 60)')
    assert cond.names == ("flags", "sciatica", "age")
    assert cond.explain({"flags": ["saddle"], "sciatica": False, "age": 30}) == ["flags"]
    assert cond.explain({"flags": [], "sciatica": True, "age": 70}) == ["sciatica", "age"]


def test_multiline_conditions_are_joined():
    assert c("age > 50\n and sciatica")({"age": 60, "sciatica": True}) is True


def test_a_condition_nested_absurdly_deep_is_an_error_not_a_crash():
    from backpath.core.conditions import NUMBER, ConditionError, compile_condition

    for text in ("not " * 1500 + "true", "age + " * 3000 + "1 > 0"):
        with pytest.raises(ConditionError, match="nests too deeply"):
            compile_condition(text, {"age": NUMBER})


@pytest.mark.parametrize(
    "text, env, expected",
    [
        # `not (a or b)` is true when both are false: both made it true
        ('not ("saddle" in flags or sciatica)', {"flags": [], "sciatica": False}, ["flags", "sciatica"]),
        # `not (a and b)` is true when either is false: only the false one made it true
        ('not ("saddle" in flags and sciatica)', {"flags": [], "sciatica": True}, ["flags"]),
        ('not ("saddle" in flags and sciatica)', {"flags": ["saddle"], "sciatica": False}, ["sciatica"]),
        ("not not (sciatica or age > 60)", {"sciatica": False, "age": 70}, ["age"]),
        ("age > 60 and not (sciatica and age > 80)", {"sciatica": True, "age": 70}, ["age", "age"]),
    ],
)
def test_explanation_under_not_names_what_made_the_condition_true(text, env, expected):
    cond = c(text)
    assert cond(env) is True
    assert cond.explain(env) == expected
    # without a choice among operands the explanation is every name, and needs no memo key beyond presence
    assert cond.explains_all == (cond.decision_count == 0) == (sorted(set(expected)) == sorted(cond.names))


def test_an_explanation_is_a_function_of_its_decisions():
    """The `because` memo keys on `decisions` (the outcome of the explanation's tests) and which names have a
    value: records that agree on both must get the same explanation."""
    cond = c('not ("saddle" in flags and sciatica) or age > 60')
    seen: dict = {}
    for flags in ([], ["saddle"], None):
        for sciatica in (True, False, None):
            for age in (30, 70, None):
                env = {k: v for k, v in {"flags": flags, "sciatica": sciatica, "age": age}.items() if v is not None}
                key = (cond.decisions(env), tuple(sorted(env)))
                assert seen.setdefault(key, cond.explain(env)) == cond.explain(env)


@pytest.mark.parametrize(
    "text, env",
    [
        ("age * 1e308 * 10 > 1", {"age": 5}),               # overflow to infinity
        ("age * 1e308 * 10 - age * 1e308 * 10 > 1", {"age": 5}),  # inf - inf = nan
        ("age * 1.5 > 1", {"age": 10 ** 400}),              # an int too large for a float
        ("age / 0 > 1", {"age": 3}),
    ],
)
def test_non_finite_or_overflowing_arithmetic_is_unknown(text, env):
    cond = c(text)
    assert cond(env) is None
    assert c(f"not ({text})")(env) is None  # never `not false`: unknown stays unknown


@pytest.mark.parametrize("text", ['not ("saddle" in flags or sciatica)', "sciatica or age > 3 or not sciatica",
                                  'not (sciatica and ("saddle" in flags or not (age > 2 and sciatica)))', "age > 1"])
def test_the_decision_count_is_that_of_the_generated_tests(text):
    from backpath.core.codegen import Explanations, Scope

    cond = c(text)
    for want, count in ((True, cond.decision_count), (False, cond.refute_count)):
        explainer = Explanations(Scope())
        explainer.stmts(cond.node, want)
        assert count == len(explainer.terms)


def test_each_function_is_compiled_alone_when_first_asked_for(monkeypatch):
    """`assess` asks a fired rule for its explanation only: that one function is generated and compiled, once."""
    from backpath.core import codegen

    built: list[list[str]] = []
    real = codegen.build

    def spy(functions, constants, filename):
        built.append([f.name for f in functions])
        return real(functions, constants, filename)

    monkeypatch.setattr(codegen, "build", spy)
    cond = c("sciatica and (age > 50 or 'saddle' in flags)")
    env = {"sciatica": True, "age": 60, "flags": []}
    assert cond.explain(env) == ["sciatica", "age"] and cond.explain(env) == ["sciatica", "age"]
    assert built == [["explain"]]
    assert cond(env) is True and cond.decisions(env) == 0b01
    assert built == [["explain"], ["value"], ["decisions"]]
    with pytest.raises(ValueError):
        codegen.condition_function(cond.node, "x", "evaluate")
