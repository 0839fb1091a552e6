"""What `backpath batch` writes for each record besides its format: `--detail` and `--columns`, checked together.

- `--detail full` (the default) writes the contract's full result; `--detail summary` the compact one
  (`result_compact`). It applies to `--format jsonl` and `json`. With `csv` or `fhir`, `--detail summary` is a
  usage error (exit 2): a CSV row is a summary already (choose its columns with `--columns`), and a FHIR Bundle
  has its own shape. `--detail full` is accepted with every format, since it names what they write anyway.
- `--columns a,b,c` chooses the CSV's columns and their order (`columns.choose_columns`); with any other
  format it is a usage error.
"""

from __future__ import annotations

from backpath.batch.columns import choose_columns
from backpath.batch.streams import BatchUsageError
from backpath.core.model import Pathway
from backpath.core.result_compact import DETAILS


def output_shape(pathway: Pathway, fmt: str, detail: str | None, columns: str | None
                 ) -> tuple[str, tuple[str, ...] | None]:
    """The detail ("full" or "summary") and the CSV columns (None: every column) of a run; `BatchUsageError`
    for a combination that does not apply."""
    if detail is None:
        detail = "full"
    if detail not in DETAILS:
        raise BatchUsageError(f"unknown --detail {detail!r}; use one of {', '.join(DETAILS)}.")
    if detail == "summary" and fmt not in ("jsonl", "json"):
        hint = "choose its columns with --columns" if fmt == "csv" else "use --format jsonl or json"
        raise BatchUsageError(f"--detail summary applies to --format jsonl and json, not {fmt}; {hint}.")
    if columns is not None and fmt != "csv":
        raise BatchUsageError(f"--columns applies to --format csv only, not {fmt}.")
    return detail, (tuple(choose_columns(pathway, columns)) if columns is not None else None)
