"""Readable `--help`: option types in words (FILE, N, text|json), no Python types (`<bool>`, `<list[str]>`),
and usage lines as people write them (`backpath batch [OPTIONS] INPUT...`, not `{INPUT...}...`).

Typer derives the type column and the usage line from the Python annotations. These command classes replace
them on their own parameters only (no global change to typer): a flag shows no type and an argument shows its
metavar as written.
"""

from __future__ import annotations

from typing import Any

import typer.core


def readable(params: list[Any]) -> None:
    """Flags show no type; arguments show their metavar, in the type column and the usage line alike.
    Options that take a value carry their own metavar (FILE, N, text|json) where the commands declare them."""
    for p in params:
        if p.param_type_name == "argument":
            shown = p.metavar or p.name.upper()
            p.display_type_rich = lambda ctx: None
            p.get_usage_pieces = lambda ctx, shown=shown: [shown]
        elif getattr(p, "is_flag", False):
            p.display_type_rich = lambda ctx: None


class ReadableCommand(typer.core.TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:  # the help and completion options are added here, not in init
        params = super().get_params(ctx)
        readable(params)
        return params


class ReadableGroup(typer.core.TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        readable(params)
        return params
