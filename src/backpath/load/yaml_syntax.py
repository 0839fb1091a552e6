"""Findings for a YAML syntax error: where the parser gave up, and where what it was reading began.

PyYAML reports the place it could not go on (`problem_mark`) and, for most errors, the place of the construct it
was inside (`context_mark`): the `[` or `{` of a flow collection that is never closed, the quote of a string
that never ends, the first key of a block whose indentation went wrong. An unclosed bracket or quote is usually
found many lines after it opened, so both places are reported: the error where the parser stopped, and a note
at the line where the bracket or quote opened.
"""

from __future__ import annotations

import re

import yaml

from backpath.core.errors import Finding

_FLOW = {"flow sequence": ("[", "]", "list"), "flow mapping": ("{", "}", "mapping")}


def _at(mark) -> tuple[int | None, int | None]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def _char_at(text: str, mark) -> str:
    lines = text.split("\n")
    if mark is None or mark.line >= len(lines):
        return ""
    line = lines[mark.line]
    return line[mark.column] if mark.column < len(line) else ""


def _source_line(text: str, line: int | None) -> str:
    lines = text.split("\n")
    if line is None or not 0 < line <= len(lines):
        return ""
    shown = lines[line - 1].strip()
    return shown if len(shown) <= 60 else shown[:57] + "..."


_VALUE_QUOTE = re.compile(r"(?:^\s*(?:-\s+)?|:\s+|[\[{,]\s*)(['\"])")


def _open_quote(text: str, first: int, last: int) -> tuple[int, int, str] | None:
    """The first quote that starts a value on lines `first`..`last` (1-based) and is not closed on its line, as
    (line, column, quote): a string that runs on into the next lines, which the parser notices only later."""
    lines = text.split("\n")
    for n in range(max(first, 1), min(last, len(lines)) + 1):
        line = lines[n - 1]
        for m in _VALUE_QUOTE.finditer(line):
            quote, rest = m.group(1), line[m.end():]
            closed = re.search(r'(?<!\\)"', rest) if quote == '"' else re.search(r"'(?!')", rest.replace("''", ""))
            if not closed:
                return n, m.end(), quote
            break  # the first quoted value of the line is closed; later ones are its text
    return None


def syntax_findings(exc: yaml.MarkedYAMLError, text: str, file: str) -> list[Finding]:
    """The error (at the place the parser stopped) and, for an unclosed bracket or quote, a note where it opened."""
    problem = exc.problem_mark or exc.context_mark
    line, col = _at(problem)
    context = exc.context or ""
    what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    opened_line, opened_col = _at(exc.context_mark) if exc.context_mark is not None else (None, None)
    same_place = exc.context_mark is None or (opened_line, opened_col) == (line, col)
    flow = next((v for k, v in _FLOW.items() if k in context), None)
    note = None
    if flow is not None and not same_place:
        open_ch, close_ch, kind = flow
        message = (f"YAML syntax error: the {kind} `{open_ch}` opened at line {opened_line}, column {opened_col} is "
                   f"not closed: a `,` or `{close_ch}` was expected here ({exc.problem}). Close it with `{close_ch}` "
                   f"where the {kind} ends (usually on line {opened_line}), or check for a missing comma.")
        note = f"the {kind} `{open_ch}` that opens here is not closed (the parser stopped at line {line})."
    elif "quoted scalar" in context and not same_place:
        quote = _char_at(text, exc.context_mark) or '"'
        inside = "write it twice ('')" if quote == "'" else 'write \\"'
        message = (f"YAML syntax error: the quote {quote} opened at line {opened_line}, column {opened_col} is "
                   f"never closed ({exc.problem}). Close the text with {quote} where it ends (usually on line "
                   f"{opened_line}); to put a {quote} inside the text, {inside}.")
        note = f"the quote {quote} that opens here is never closed (the parser read on to line {line})."
    elif exc.context_mark is not None and not same_place and "block" in context:
        start = _source_line(text, opened_line)
        message = (f"YAML syntax error: {what}. The block that starts at line {opened_line} (`{start}`) is broken "
                   "here: check the indentation of this line against that one, and the colons and quotes on it.")
        # opened_line is set here: this branch runs only with a context_mark
        unclosed = _open_quote(text, opened_line, line) if line is not None and opened_line is not None else None
        if unclosed is not None and line is not None and unclosed[0] < line:
            q_line, q_col, q = unclosed
            message += (f" The quote {q} opened at line {q_line}, column {q_col} is not closed on its line, so the "
                        "text runs on until the next quote; close it where the text ends.")
            note = f"the quote {q} that opens here is not closed on this line (the parser stopped at line {line})."
            opened_line, opened_col = q_line, q_col
    elif _char_at(text, problem) == "\t":
        message = (f"YAML syntax error: {what}: a tab. YAML does not allow tabs in indentation; indent with spaces.")
    else:
        message = f"YAML syntax error: {what}. Check indentation, colons and quotes on this line."
    details = {"opened_at": {"line": opened_line, "column": opened_col}} if not same_place else None
    out = [Finding(file, line, col, "(document)", message, "yaml-syntax", details=details)]
    if note is not None:
        out.append(Finding(file, opened_line, opened_col, "(document)", note, "yaml-syntax-opened", "note"))
    return out
