"""backpath: a treatment-pathway decision aid for adult low back pain and sciatica.

It supports a clinician's judgement; it never diagnoses. The core is pure and usable as a library::

    import backpath
    pathway = backpath.load_pathway("low-back-pain")        # a bundled id or a path to a YAML file
    result = backpath.assess(pathway, {"age": 52, ...})     # a JSON-ready dict (contract §5)
    for text in backpath.assess_lines(pathway, open("referrals.jsonl", "rb")):  # JSON text, as `batch` writes
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from backpath.core.engine import assess, check
    from backpath.core.errors import AnswersError, BackpathError, PathwayError, PathwayNotFound
    from backpath.core.model import Pathway

from backpath.version import __version__

__all__ = ["assess", "assess_lines", "check", "load_pathway", "Pathway", "BackpathError", "PathwayError",
           "PathwayNotFound", "AnswersError", "__version__"]


def load_pathway(id_or_path: str | Path | None = None) -> Pathway:
    """Load a bundled pathway by id (default `low-back-pain`) or any pathway file by path."""
    from backpath.load.catalog import open_pathway

    return open_pathway(str(id_or_path) if id_or_path is not None else None)


def assess_lines(pathway: Pathway, lines: Iterable[str | bytes], *, source: str = "<lines>", first_line: int = 1,
                 first_position: int = 1) -> Iterator[str]:
    """Assess JSON Lines text (lines as text or bytes) as `backpath batch` does: one result per non-blank line, as
    the JSON text `batch` writes for it; a bad line gives an error result naming `source` and its line, never an
    exception. Several times faster than `assess` per record (records are decided in chunks); for a partition of
    a larger file, pass the line number of its first line and the position of its first record."""
    from backpath.batch.work import assess_lines as run

    return run(pathway, lines, source=source, first_line=first_line, first_position=first_position)


# The public names defined elsewhere, imported when first asked for, so that importing the package costs
# nothing: the `backpath` command's entry point imports it before it can catch a Ctrl-C (see `entry`).
_LAZY = {"assess": "backpath.core.engine", "check": "backpath.core.engine", "Pathway": "backpath.core.model",
         "BackpathError": "backpath.core.errors", "PathwayError": "backpath.core.errors",
         "PathwayNotFound": "backpath.core.errors", "AnswersError": "backpath.core.errors"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'backpath' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
