"""The command line: parse, call the core, render, choose the exit code. Nothing clinical lives here."""

from __future__ import annotations

import inspect

import typer

from backpath.cli import app as app_module
from backpath.cli import change as _change  # noqa: F401 - registers `diff` and `graph` on `app`
from backpath.cli import commands as _commands  # noqa: F401 - registers assess, batch, validate... on `app`
from backpath.cli.app import app
from backpath.system.signals import interrupted


def _flowing(doc: str) -> str:
    """A command's docstring as its help: the lines of each paragraph joined, so the terminal wraps them at its
    own width (typer keeps a docstring's line breaks after the first paragraph, which left ragged lines on an
    80-column terminal). Paragraphs with an indented line (examples) are kept as written."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if any(line[:1].isspace() for line in p.splitlines()) else " ".join(p.splitlines())
                       for p in paragraphs)


# `--help` lists the commands in this order: the ones a clinician uses first, change control last.
_ORDER = ("assess", "batch", "validate", "pathways", "questions", "schema", "diff", "graph")


def _place(command: typer.models.CommandInfo) -> int:
    name = command.name or getattr(command.callback, "__name__", "")
    return _ORDER.index(name) if name in _ORDER else len(_ORDER)


app.registered_commands.sort(key=_place)

for _command in app.registered_commands:
    if _command.help is None and _command.callback is not None and _command.callback.__doc__:
        _command.help = _flowing(_command.callback.__doc__)


def main() -> None:
    """Entry point of the `backpath` command (a process of its own: `cli.app.in_own_process`)."""
    app_module.in_own_process = True
    try:
        app()
    except KeyboardInterrupt:  # one that typer did not catch (raised while it set up, before the command)
        interrupted()
    except SystemExit as exc:
        if _silent_interrupt(exc):
            interrupted()
        raise
    finally:
        app_module.in_own_process = False  # (for a caller that goes on, as tests do)


def _silent_interrupt(exc: SystemExit) -> bool:
    """Whether `exc` is typer's exit after a Ctrl-C that no command handled (typer turns the KeyboardInterrupt
    into `Exit(130)` and exits without a word; a command that reports its own interrupt exits otherwise)."""
    context = exc.__context__  # typer.Exit: typer's own class, or click's in releases that use click
    return (exc.code == 130 and isinstance(context, typer.Exit)
            and isinstance(context.__cause__, KeyboardInterrupt))
