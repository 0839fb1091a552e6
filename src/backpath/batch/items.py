"""What the batch readers hand on: an item per record, and the bound on one record.

An item is a tuple (kind, file, where, payload):

- LINE:    where = line number, payload = the line's bytes (parsed later);
- VALUE:   where = 1-based index in a .json array (None for a single-record file), payload = the parsed value;
- PROBLEM: where = line number / array index / None, payload = (path, message) of the error record.
"""

from __future__ import annotations

from typing import Any

MAX_LINE_BYTES = 1 << 20  # 1 MiB: a longer JSON Lines line is reported as an error record, not read
LINE, VALUE, PROBLEM = 0, 1, 2
Item = tuple[int, str, Any, Any]
