"""Text from outside (answers, pathway files, file names) made safe to show: short, and without control characters.

A terminal obeys escape sequences in what it prints (ESC [ ... moves the cursor, recolours, retitles the window;
a carriage return overwrites a line), and rich passes ESC through. So every control character in shown text is
written as a visible escape instead (`\\x1b`, `\\r`, `\\u2028`), and a quoted value is cut to
`limits.MAX_QUOTED_CHARS` so a message costs the same whatever a record holds.
"""

from __future__ import annotations

import re
from typing import Any

from backpath.core.limits import MAX_QUOTED_CHARS

# C0 controls but tab and newline, DEL, C1 controls, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return {9: "\\t", 10: "\\n", 13: "\\r"}.get(code) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def safe(text: str, *, lines: bool = True) -> str:
    """`text` with every control character written as a visible escape; newlines and tabs are kept when `lines`
    (text that may span lines), escaped otherwise (one line, e.g. a key or a file name)."""
    pattern = _CONTROL if lines else _CONTROL_OR_BREAK
    return pattern.sub(_escape, text) if pattern.search(text) else text


def has_control(text: str) -> bool:
    """Whether `text` holds a control character other than tab and newline."""
    return _CONTROL.search(text) is not None


def clip(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """`text` cut to `limit` characters (with `...` and how long it was), on one line, control characters
    escaped."""
    if len(text) > limit:
        text = f"{text[:limit - 3]}... ({len(text):,} characters)"
    return safe(text, lines=False)


def quoted(value: Any, limit: int = MAX_QUOTED_CHARS) -> str:
    """An answer value as a message shows it: `"text"` quoted, `true`/`false`/`null`, a number, else its
    Python form; clipped and escaped (see `clip`)."""
    if isinstance(value, str):
        return f"\"{clip(value, limit)}\""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int) and value.bit_length() > 4 * limit:  # str() of a huge int costs time itself
        return f"a whole number of about {int(value.bit_length() * 0.30103):,} digits"
    if isinstance(value, (list, dict)) and len(value) > limit:  # repr would copy all of it to cut it
        return f"{'a list' if isinstance(value, list) else 'an object'} of {len(value):,} entries"
    return clip(repr(value), limit)
