"""`jsontext.loads_record` reads a record line as `loads` does: the same value or the same error, whatever the text
(repeated keys at any depth, `:` inside strings or escaped, other objects inside, whitespace, trailing data)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backpath.core.jsontext import DuplicateKey, loads, loads_record

TEXTS = [
    '{"id": "a", "answers": {"age": 40, "flags": ["x", "y"]}}\n',
    '{"id": "a", "answers": {"age": 40, "age": 41}}',  # a repeat inside answers
    '{"id": "a", "id": "b", "answers": {}}',  # a repeat in the record
    '{"answers": {"age": 40}, "answers": {"age": 41}}',
    '{"id": "a:b", "answers": {"age": 40, "age": 41}}',  # a `:` in a string beside a repeat
    '{"id": "a\\u003ab", "answers": {"age": 40, "age": 41}}',  # an escaped `:` beside a repeat
    '{"id": "a", "answers": {"x": [{"k": 1, "k": 2}]}}',  # a repeat in an object inside a list
    '{"id": "a", "answers": {"x": {"k": 1}}}',
    '{"id": "a", "answers": [{"k": 1, "k": 2}]}',
    '{"id": "a", "answers": {}, "extra": {"k": 1, "k": 2}}',
    '{"id": "a", "answers": {"age": NaN}}',
    '{"id": "a", "answers": {"age": 1' + "0" * 5000 + '}}',
    '{"id": "a", "answers": {"age": 40}} x',
    '{"id": "a", "answers": {"age": 40}}\u2028',
    '{"id": "a", "answers": {"age": 40}} \t\r\n',
    '{"id": "a", "answers": {"age": 40,}}',
    '{"id": "a", "answers": {"age": 40}',
    ' {"id": "a", "answers": {"age": 40}}',
    '{"id": "a", "answers": {"age": 40}}{"id": "b"}',
    '[1, 2]', '"text"', '', '{', '{}', '{"a":',
    '{"id": "a", "answers": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"id": "a", "answers": {"k": "' + "\\ud800" + '"}}',
]


def outcome(read, text):
    try:
        return "value", read(text)
    except json.JSONDecodeError as exc:
        return "syntax", exc.msg, exc.pos
    except DuplicateKey as exc:
        return "repeat", exc.key
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


def same(a, b):
    return json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False) if a[0] == "value" else a == b


@pytest.mark.parametrize("text", TEXTS)
def test_loads_record_is_loads(text):
    assert same(outcome(loads_record, text), outcome(loads, text))


keys = st.sampled_from(["id", "answers", "age", "a:b", "x"])
scalars = st.one_of(st.integers(-5, 5), st.sampled_from(["v", ":", "a:b", "\\u003a"]), st.booleans(), st.none())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.lists(st.tuples(keys, inner), max_size=4)), max_leaves=8)


def text_of(value) -> str:
    """JSON text for a value in which a list of (key, value) pairs is an object (so keys may repeat)."""
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return "{" + ", ".join(f"{json.dumps(k)}: {text_of(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(text_of(v) for v in value) + "]"
    if isinstance(value, str) and value.startswith("\\"):
        return f'"{value}"'
    return json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(keys, values), max_size=4), st.sampled_from(["", "\n", " x"]))
def test_loads_record_is_loads_for_generated_records(pairs, end):
    text = text_of(pairs) + end if pairs else "{}" + end
    assert same(outcome(loads_record, text), outcome(loads, text))


def hooked(text):
    """`loads` called where `loads_record` is called (a frame deeper than `outcome`), the caller's depth being part
    of where a RecursionError falls."""
    return loads(text)


@pytest.mark.slow  # ~2 s: `.ci/run` runs it (`-m slow`), so that the default run stays under 90 s
def test_loads_record_is_loads_near_the_recursion_limit():
    """`loads` calls its key hook for every object, an empty one too, one frame deeper than the object: an empty
    object at the bottom of lists nested just short of the limit is an error for `loads`, so it must be one for
    `loads_record` (which has no hook to overflow) as well. Every depth up to the limit is tried, wherever the
    window falls for the caller's own stack."""
    import sys

    for depth in range(1, sys.getrecursionlimit() + 2):
        for bottom in ("{}", "[{}, {}]", "1"):
            text = '{"id": 1, "answers": {"a": ' + "[" * depth + bottom + "]" * depth + "}}"
            fast, slow = outcome(loads_record, text), outcome(hooked, text)
            # (values this deep are not compared: comparing them would overflow too; both come from one scanner)
            assert fast[0] == slow[0] and (fast[0] == "value" or fast == slow), (depth, bottom, fast[0], slow[0])
