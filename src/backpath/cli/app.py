"""The `backpath` Typer application: its name, help, global options, and what the commands share (`--pathway`)."""


from __future__ import annotations

import gc

import typer

from backpath.cli.common import (
    EXIT_OK,
)
from backpath.cli.help import ReadableGroup
from backpath.load.catalog import DEFAULT_PATHWAY, bundled
from backpath.version import __version__

app = typer.Typer(
    name="backpath",
    help="Treatment-pathway decision aid for adult low back pain and sciatica.\n\n"
    "It supports a clinician's judgement and never diagnoses. Start with `backpath questions` to see what a "
    "pathway asks, `backpath assess` to assess one person, `backpath batch` for many records and "
    "`backpath validate` to check pathway YAML.",
    cls=ReadableGroup,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Help texts are rich markup: "[...]" would be read as a style tag and vanish, so defaults go in parentheses.
PATHWAY_HELP = (f"A bundled pathway id (see `backpath pathways`) or a path to a pathway YAML file (default: "
                f"{DEFAULT_PATHWAY}).")


def complete_pathway(incomplete: str) -> list[str]:
    """Shell completion for --pathway: the bundled pathway ids (a path completes as a file name)."""
    return [b.id for b in bundled() if b.id.startswith(incomplete)]


def version_callback(value: bool) -> None:
    if value:
        print(f"backpath {__version__}")
        raise typer.Exit(EXIT_OK)


# Whether the app runs in the `backpath` command's own process (set by `cli.main.main`), not inside another program
# (tests run it in-process): only a process that ends with its command may freeze what it holds (`main_callback`).
in_own_process = False


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                 help="Show the version of backpath and exit."),
) -> None:
    """Treatment-pathway decision aid for adult low back pain and sciatica."""
    if in_own_process:
        # Before any command runs, nearly everything alive is what the imports made (the command line's modules,
        # and typer's and pydantic's, which typer imports only now, to read the options): it lives as long as the
        # process. Frozen, the garbage collector no longer scans it at every full collection and at exit: about
        # 20 ms of CPU of the 190 that `assess --format json` cost. (batch and diff freeze what they keep alike.)
        # The entry point turned the collector off while the imports ran (`entry`): the command runs with it on.
        gc.freeze()
        gc.enable()
