"""Errors that carry where a problem is and how to fix it; the CLI formats them in one place."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from backpath.core.limits import MAX_SUGGEST_CHARS

OPTION_CUTOFF = 0.8  # option values: a typo of the same word, never another treatment that shares a word


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """Return ' Did you mean `x`?' for the closest choice, or '' when nothing is close.

    Option values use OPTION_CUTOFF: at 0.6 `spinal_decompression` suggested `spinal_fusion`, a procedure the
    pathway advises against; a suggestion there must be a misspelling of the same thing."""
    word = str(word)
    choices = sorted(set(choices))
    # A word much longer than every choice is never close (a ratio of at least 0.6 needs similar lengths), and
    # difflib's cost grows with its length: `limits.MAX_SUGGEST_CHARS` bounds it.
    if not choices or len(word) > MAX_SUGGEST_CHARS or len(word) > 2 * max(map(len, choices)):
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return f" Did you mean `{close[0]}`?" if close else ""


class BackpathError(Exception):
    """Base of every error a user can cause and fix."""


@dataclass(frozen=True)
class Finding:
    """One problem found in a pathway file, with its place and a way to fix it."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    code: str = "error"
    severity: str = "error"  # error | warning | note (notes never fail a run)
    id: str | None = None
    details: dict | None = field(default=None, compare=False, hash=False)  # e.g. a counterexample, a case diff

    def where(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        return place

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "id": self.id,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "details": self.details,
        }


@dataclass
class PathwayError(BackpathError):
    """A pathway file could not be loaded; `findings` says every reason why."""

    file: str
    findings: list[Finding] = field(default_factory=list)

    def __str__(self) -> str:
        from backpath.core.shown import safe

        lines = [safe(f"{f.where()}: {f.severity}: {f.message}", lines=False) for f in self.findings]
        return f"pathway {self.file} is invalid:\n" + "\n".join(lines)


class PathwayNotFound(BackpathError):
    """--pathway named neither a bundled pathway nor an existing file."""


@dataclass(frozen=True)
class AnswerProblem:
    """One problem with one answer: `path` is like `answers.age`."""

    path: str
    message: str

    def as_dict(self) -> dict:
        return {"path": self.path, "message": self.message}


@dataclass
class AnswersError(BackpathError):
    """The answers given are not valid for the pathway."""

    problems: list[AnswerProblem]

    def __str__(self) -> str:
        return "; ".join(f"{p.path}: {p.message}" for p in self.problems)
