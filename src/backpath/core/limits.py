"""Every bound backpath puts on what it reads, in one place.

Each limit keeps the cost of hostile or broken input (a 1 GB answer, 90,000 unknown keys, a condition nested
100,000 deep, `/dev/zero` as a file) in proportion to what a real pathway or record needs, and every error that
enforces one says what the limit is. docs/batch.md and docs/pathway-format.md list them for users; changing one
is a change of the documented interface.
"""

from __future__ import annotations

import sys

# --- answers and records ---------------------------------------------------------------------------------------

MAX_ANSWERS_BYTES = 1 << 20
"""An `assess --answers` file (or stdin): 1 MiB, the same bound as one batch record (`batch_io.MAX_LINE_BYTES`).
A complete default-pathway record is about 2 KB."""

MAX_QUOTED_CHARS = 60
"""An answer value or key quoted in a message is cut to this many characters (then `...`), so a message costs
the same whatever the record holds."""

MAX_SUGGEST_CHARS = 64
"""A word longer than this gets no "did you mean": no id is that long, and comparing it costs time for nothing."""

MAX_PROBLEMS_PER_RECORD = 20
"""Problems listed for one record (answers or assess); the rest are counted in one last problem
("... and 89,980 more problems"), so one record's errors never outweigh the record."""

# --- numbers computed by a pathway -----------------------------------------------------------------------------

MAX_NUMBER = int(sys.float_info.max)
"""A computed number whose magnitude is beyond this (about 1.8e308, the largest float), or that is not finite
(`inf`, `nan`), is unknown, as `x / 0` is: it cannot be written as JSON, and a NaN would make every comparison
false (so `not (x < 5)` would hold)."""

# --- pathway files ---------------------------------------------------------------------------------------------

MAX_PATHWAY_BYTES = 8 << 20
"""A pathway YAML file: 8 MiB (the default pathway is about 150 KB)."""

MAX_EXPRESSION_CHARS = 2_000
"""One condition or derived expression (`when`, `ask_when`, `expr`), in characters (the default pathway's
longest is under 500). Split a longer one into derived facts."""

MAX_EXPRESSION_DEPTH = 40
"""How deeply one expression nests, counted in syntax-tree levels (`a and (b or not c)` is 4; the default
pathway's deepest is 7)."""

MAX_LITERAL_DIGITS = 16
"""Digits of a whole-number literal in an expression (a decimal literal must be finite and at most `10 **
MAX_LITERAL_DIGITS`): no clinical constant is larger, and a 4,300-digit one cannot even be printed."""
