"""The `backpath` command's entry point: the command line is imported inside a guard, so that a Ctrl-C while it
loads (about a hundred milliseconds: typer and what it imports) ends with one line and exit status 130, as a
Ctrl-C at any later moment does, instead of a traceback and death by SIGINT."""

from __future__ import annotations

from backpath.system.signals import interrupted


def main() -> None:
    try:
        from backpath.cli.main import main as run
    except KeyboardInterrupt:
        interrupted()
    run()

