"""The shape of one record, `{"id": ..., "answers": {...}}`, as both `assess --answers` and `batch` read it.

Both front ends refuse a record with any other top-level key: one that is silently dropped could be an answer
put in the wrong place (`{"answers": {...}, "red_flags": [...]}`), and the two must agree on what a record is.
"""

from __future__ import annotations

from backpath.core.shown import clip

RECORD_KEYS = ("id", "answers")


def extra_keys(record: dict) -> str | None:
    """Why `record` (a dict with `answers`) has keys a record may not have, or None."""
    extra = [key for key in record if key not in RECORD_KEYS]
    if not extra:
        return None
    shown = ", ".join(f"`{clip(str(k))}`" for k in extra[:3]) + (f" and {len(extra) - 3:,} more" if len(extra) > 3
                                                                  else "")
    return (f"the record has {'a key' if len(extra) == 1 else 'keys'} {shown} besides `id` and `answers`; a record "
            "is {\"id\": ..., \"answers\": {question id: value}}: move answers into `answers`, remove the rest.")


def first_extra_key(record: dict) -> str:
    """The first key of `record` that a record may not have (for an error's path)."""
    return next(clip(str(k)) for k in record if k not in RECORD_KEYS)
