"""Long output on a terminal goes through a pager ($PAGER, else `less`); anything else is printed as it is."""

from __future__ import annotations

import io
import os

from rich.console import Console, RenderableType


def print_paged(console: Console, renderable: RenderableType) -> None:
    """Print `renderable`; through a pager when the console is a terminal and it is taller than the screen.

    Never pages off a terminal (a pipe, a file, CI), so scripts always get the whole text on stdout.
    """
    if not console.is_terminal or console.is_dumb_terminal:
        console.print(renderable)
        return
    buffer = io.StringIO()
    probe = Console(file=buffer, width=console.width, color_system=None, legacy_windows=False)
    probe.print(renderable)
    if buffer.getvalue().count("\n") < console.height:
        console.print(renderable)
        return
    # `less -R` shows the colours; a $PAGER the user chose gets plain text unless it is less
    pager = os.environ.get("PAGER", "less")
    styles = os.path.basename(pager.split()[0]) == "less" if pager.strip() else False
    if styles:
        os.environ.setdefault("LESS", "-R")
    with console.pager(styles=styles):
        console.print(renderable)
