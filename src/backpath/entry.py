"""The `backpath` command's entry point: the command line is imported inside a guard, so that a Ctrl-C while it
loads (about a hundred milliseconds: typer and what it imports) ends with one line and exit status 130, as a
Ctrl-C at any later moment does, instead of a traceback and death by SIGINT.

The garbage collector is off while the command line loads: imports make tens of thousands of objects that live as
long as the process and no garbage worth collecting, so the collections they set off only scan them (about 9 ms
of the ~175 that `assess --format json` costs). `cli.app.main_callback` freezes those objects and turns the
collector back on before any command runs; a run that ends earlier (`--help`, `--version`, a usage error) ends
with it off."""

from __future__ import annotations

import gc

from backpath.system.signals import interrupted


def main() -> None:
    gc.disable()  # back on in `cli.app.main_callback`, before the command
    try:
        from backpath.cli.main import main as run
    except KeyboardInterrupt:
        interrupted()
    run()

