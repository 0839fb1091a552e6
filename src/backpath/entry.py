"""The `backpath` command's entry point: the command line is imported inside a guard, so that a Ctrl-C while it
loads (a few hundred milliseconds: typer, rich, jsonschema) ends with one line and exit status 130, as a
Ctrl-C at any later moment does, instead of a traceback and death by SIGINT."""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        interrupted()
    run()


def interrupted() -> NoReturn:
    """How every command ends after a Ctrl-C that nothing more particular reported."""
    sys.stderr.write("interrupted\n")
    sys.exit(130)
