"""What every command shares: exit codes, output formats, consoles, and one way to fail with a fix."""

from __future__ import annotations

import sys
from enum import Enum
from typing import TYPE_CHECKING

import typer

from backpath.core.errors import PathwayError, PathwayNotFound
from backpath.core.model import Pathway
from backpath.core.shown import safe
from backpath.load.catalog import open_pathway

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class AssessFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    fhir = "fhir"
    cds_hooks = "cds-hooks"


class QuestionsFormat(str, Enum):
    text = "text"
    json = "json"
    fhir = "fhir"


class Detail(str, Enum):
    summary = "summary"
    full = "full"


class ListFormat(str, Enum):
    text = "text"
    json = "json"


# rich is imported when something is first printed through it, not at start-up: `assess --format json` writes
# its result with json.dumps and never needs it (rich costs ~20 ms of a start of ~150).

def stdout_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, soft_wrap=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, soft_wrap=False)


def fail(message: str, code: int, hint: str | None = None) -> typer.Exit:
    """Print `message` (and how to fix it) to stderr; return the Exit to raise."""
    err = stderr_console()
    err.print(f"error: {safe(message)}", markup=False, highlight=False)
    if hint:
        err.print(safe(hint), markup=False, highlight=False)
    return typer.Exit(code)


def load_or_exit(id_or_path: str | None) -> Pathway:
    try:
        return open_pathway(id_or_path)
    except PathwayNotFound as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except PathwayError as exc:
        raise fail(str(exc), EXIT_USAGE, "Run `backpath validate FILE` for every finding.") from None
