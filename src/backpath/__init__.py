"""backpath: a treatment-pathway decision aid for adult low back pain and sciatica.

It supports a clinician's judgement; it never diagnoses. The core is pure and usable as a library::

    import backpath
    pathway = backpath.load_pathway("low-back-pain")        # a bundled id or a path to a YAML file
    result = backpath.assess(pathway, {"age": 52, ...})     # a JSON-ready dict (contract §5)
"""

from __future__ import annotations

from pathlib import Path

from .engine import assess, check
from .errors import AnswersError, BackpathError, PathwayError, PathwayNotFound
from .model import Pathway

__version__ = "0.1.0"

__all__ = ["assess", "check", "load_pathway", "Pathway", "BackpathError", "PathwayError", "PathwayNotFound",
           "AnswersError", "__version__"]


def load_pathway(id_or_path: str | Path | None = None) -> Pathway:
    """Load a bundled pathway by id (default `low-back-pain`) or any pathway file by path."""
    from .catalog import open_pathway

    return open_pathway(str(id_or_path) if id_or_path is not None else None)
