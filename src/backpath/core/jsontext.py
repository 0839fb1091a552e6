"""Reading answers and records from JSON text, strictly.

Python's JSON reader keeps the last of repeated keys without a word, so `{"red_flags": ["saddle_anaesthesia"],
..., "red_flags": []}` would silently lose a red flag. Here a key repeated in one object is an error, like any
other malformed input. `unreadable` words the errors that are not syntax errors (with line and column, which
each caller reports its own way).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from sys import getrecursionlimit
from typing import Any

from backpath.core.shown import clip


class DuplicateKey(ValueError):
    """A key appears twice in one JSON object."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


loads = json.JSONDecoder(object_pairs_hook=_unique).decode
# The same reader without the hook: values alike, repeats not seen. (`scan_once` is set by JSONDecoder's __init__;
# the stubs do not declare it.)
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_JSON_SPACE = " \t\n\r"


def loads_record(text: str) -> Any:
    """`loads` for one record a line (`{"id": ..., "answers": {...}}`): the same value, or the same error, and
    faster for the common record, read without the hook (a Python call for every object) when the text shows it
    cannot hold a repeated key. In JSON every `:` outside a string separates a key from its value, so when the
    text holds exactly as many `:` as the record and its answers object have keys once read, no `:` is inside a
    string or another object and no key of either was read twice (each repeat would add a `:` and no key).
    Where a RecursionError falls must not move either: `loads` scans two frames deeper than this reader (decode,
    raw_decode) and calls its hook a frame deeper than each object, an empty one too (no `:`), so lists nested
    near the recursion limit, perhaps with an empty object at their bottom, can be its RecursionError and this
    reader's value. So the text must also nest less than half the limit deep (each level takes a `[` or `{`, and
    two characters): then neither reader comes near the limit unless its caller is half way there already.
    Anything else (no object, another object inside, a `:` in a string, deep nesting, an error) is read again by
    `loads`."""
    if text[:1] == "{":
        try:
            value, end = _scan(text, 0)
        except (ValueError, RecursionError, StopIteration):
            return loads(text)
        if end == len(text) or not text[end:].strip(_JSON_SPACE):
            keys = len(value)
            answers = value.get("answers")
            if type(answers) is dict:
                keys += len(answers)
            if text.count(":") == keys:
                room = getrecursionlimit()
                if len(text) < room or 2 * (text.count("[") + text.count("{")) < room:
                    return value
    return loads(text)


def unreadable(exc: ValueError | RecursionError) -> str:
    """Why JSON text that is not a syntax error still cannot be read (a repeated key, a 5,000-digit number,
    arrays nested 100,000 deep)."""
    if isinstance(exc, DuplicateKey):
        return (f"the key {json.dumps(clip(exc.key), ensure_ascii=False)} appears twice in one object (one value "
                "would silently replace the other); keep one")
    if isinstance(exc, RecursionError):
        return "its JSON nests too deeply"
    return str(exc).split(";")[0].rstrip(".").lower() if str(exc) else type(exc).__name__
