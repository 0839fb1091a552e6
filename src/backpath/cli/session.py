"""`assess` at the edges: reading an answers file, the questionnaire hand-off (save, resume), the handout file.

The commands themselves are in `cli.commands`. Everything here prints to stderr or writes files; the
recommendation itself goes to stdout from `cli.commands`.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from backpath.cli.common import EXIT_INVALID, EXIT_USAGE, AssessFormat, fail, stderr_console, stdout_console
from backpath.core.jsontext import loads, unreadable
from backpath.core.limits import MAX_ANSWERS_BYTES
from backpath.core.model import Pathway
from backpath.core.records import extra_keys
from backpath.core.shown import safe
from backpath.system.fileio import read_bounded


def read_answers_source(source: str) -> tuple[Any, str]:
    """Read a JSON answers file (or '-' for stdin). Returns the parsed value and a display name."""
    name = "<stdin>" if source == "-" else source
    try:
        # read_text with utf-8-sig: a byte order mark is accepted, as batch accepts one
        raw = sys.stdin.buffer.read(MAX_ANSWERS_BYTES + 1) if source == "-" else \
            read_bounded(source, MAX_ANSWERS_BYTES)
        if len(raw) > MAX_ANSWERS_BYTES:
            raise fail(f"{safe(name, lines=False)} is over the limit of {MAX_ANSWERS_BYTES:,} bytes (1 MiB) for an "
                       "answers file; it was not read.", EXIT_USAGE, "An answers file is one JSON object of about "
                       "2 KB; check that this is the right file.")
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise fail(f"no answers file at {source}.", EXIT_USAGE, "Check the path, or use - to read from stdin.") \
            from None
    except IsADirectoryError:
        raise fail(f"{source} is a folder, not an answers file.", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise fail(f"{name} is not UTF-8 text.", EXIT_INVALID, "Save the answers file as UTF-8 JSON.") from None
    except OSError as exc:
        raise fail(f"cannot read {name}: {exc.strerror}.", EXIT_USAGE) from None
    try:
        return loads(text), name
    except json.JSONDecodeError as exc:
        hint = ("A CSV file holds many records: assess them with `backpath batch FILE.csv`."
                if source.lower().endswith(".csv") else
                "An answers file is a JSON object such as {\"age\": 52, \"sciatica\": false, ...}, or a FHIR "
                "QuestionnaireResponse; `backpath questions --format json` lists every question.")
        raise fail(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}).", EXIT_INVALID, hint) from None
    except (ValueError, RecursionError) as exc:  # a repeated key, a 5,000-digit number, arrays nested deep
        raise fail(f"{name} cannot be read as answers: {unreadable(exc)}.", EXIT_INVALID) from None


def read_fhir_answers(pw: Pathway, data: dict, name: str, fmt: AssessFormat,
                      emit: Callable[[dict], None]) -> tuple[Any, dict]:
    """A QuestionnaireResponse (or a Bundle holding one) -> (id, answers); a response that cannot be read as
    answers to this pathway is reported like invalid answers (exit 1), its error result passed to `emit` for the
    machine formats."""
    from backpath.batch.input_formats import single_response
    from backpath.core.engine import error_result
    from backpath.fhir.response import ResponseProblem

    try:
        return single_response(pw, data, "use `backpath batch` for a Bundle of responses")
    except ResponseProblem as exc:
        err = stderr_console()
        err.print(safe(f"error: {name} cannot be read as answers to {pw.id} {pw.version}:"), markup=False,
                  highlight=False)
        for e in exc.errors:
            err.print(safe(f"  {e['path'] or 'response'}: {e['message']}", lines=False), markup=False,
                      highlight=False, soft_wrap=True)
        if fmt in (AssessFormat.json, AssessFormat.fhir, AssessFormat.cds_hooks):
            emit(error_result(getattr(exc, "record_id", None), exc.errors))
        raise typer.Exit(EXIT_INVALID) from None


def split_record(data: Any, name: str) -> tuple[Any, Any]:
    """A record {"id", "answers"} or a bare answers object -> (id, answers); a record with other top-level keys
    is refused, as `batch` refuses it (`records.extra_keys`)."""
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        extra = extra_keys(data)
        if extra:
            raise fail(f"{safe(name, lines=False)}: {extra}", EXIT_INVALID)
        return data.get("id"), data["answers"]
    return None, data



def write_answers_file(path: Path, answers: dict) -> bool:
    """Save the answers; if that fails, say why and print them to stderr (so nothing typed is lost) and
    return False."""
    from backpath.system.fileio import write_atomic

    text = json.dumps(answers, ensure_ascii=False, indent=2) + "\n"
    try:
        write_atomic(path, text)
    except OSError as exc:
        stderr_console().print(f"error: could not save the answers to {path}: {exc.strerror or exc}. Here they "
                               "are:", markup=False, highlight=False)
        sys.stderr.write(text)
        return False
    return True


def answers_record(record_id: Any, answers: dict) -> dict:
    """Answers as a record ({"id", "answers"}), the form both `assess --answers` and `batch` read."""
    return {"id": record_id, "answers": answers} if record_id is not None else {"answers": answers}


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def partial_answers_path(answers_path: str | None, save_path: Path | None) -> Path:
    """Where to save an unfinished questionnaire: over a resumed .partial.json, beside --save-answers or
    --answers, or a new timestamped file in the current folder."""
    if answers_path and answers_path != "-":
        source = Path(answers_path)
        if source.name.endswith(".partial.json"):
            return source
    base = save_path or (Path(answers_path) if answers_path and answers_path != "-" else None)
    if base is not None:
        return base.with_name(base.name.removesuffix(".json") + ".partial.json")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = Path(f"backpath-answers-{stamp}.partial.json"), 1
    while path.exists():
        n += 1
        path = Path(f"backpath-answers-{stamp}-{n}.partial.json")
    return path


def ask_missing(pw: Pathway, given: dict, *, record_id: Any, answers_path: str | None, save_path: Path | None,
                pathway_ref: str | None, fmt: AssessFormat) -> dict:
    """Run the questionnaire for what `given` lacks. Returns complete answers, or saves the answers so far,
    says how to resume and exits (130 after Ctrl-C, 1 at end of input or when stopped at an emergency)."""
    from backpath.questionnaire.prompts import (
        COMPLETE,
        STOPPED,
        emergency_advice_markdown,
        emergency_banner,
        run_questionnaire,
    )

    outcome = run_questionnaire(pw, given, source=answers_path)
    if outcome.status == COMPLETE or outcome.status == STOPPED and not outcome.session.missing():
        return outcome.session.to_record(keep_skips=False)
    if outcome.status == STOPPED:
        if fmt is AssessFormat.markdown:
            sys.stdout.write(emergency_advice_markdown(outcome.emergencies))
        elif fmt is AssessFormat.text:
            stdout_console().print(emergency_banner(outcome.emergencies, "EMERGENCY — act now (questionnaire "
                                                    "stopped here; the other answers were not assessed)"))
    raise save_unfinished(outcome, record_id=record_id, answers_path=answers_path, save_path=save_path,
                          pathway_ref=pathway_ref)


def save_unfinished(outcome, *, record_id: Any, answers_path: str | None, save_path: Path | None,
                    pathway_ref: str | None) -> typer.Exit:
    """Save an unfinished questionnaire's answers and print how to resume; return the Exit to raise."""
    from backpath.questionnaire.prompts import INTERRUPTED, STOPPED

    session = outcome.session
    err = stderr_console()
    exit_code = 130 if outcome.status == INTERRUPTED else EXIT_INVALID
    if not session.answers and not session.skipped and answers_path is None:
        err.print("Nothing was answered, so nothing was saved.", markup=False, highlight=False)
        return typer.Exit(exit_code)
    record = answers_record(record_id, session.to_record(keep_skips=True))
    path = partial_answers_path(answers_path, save_path)
    if not write_answers_file(path, record):
        return typer.Exit(exit_code)
    what = {STOPPED: "Stopped at the emergency", INTERRUPTED: "Interrupted"}.get(outcome.status, "End of input")
    left = len(session.missing())
    err.print(f"{what}: {len(session.answers)} answers saved to {path} ({left} required "
              f"question{'s' if left != 1 else ''} still to answer).", markup=False, highlight=False)
    command = ["backpath", "assess", "--answers", str(path)]
    if pathway_ref:
        command += ["--pathway", pathway_ref]
    if save_path:
        command += ["--save-answers", str(save_path)]
    err.print("Resume with:", markup=False)
    err.print("  " + shlex.join(command), markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


def handout_problem(path: Path) -> str | None:
    from backpath.present.handout import kind_of
    from backpath.system.fileio import unwritable

    if kind_of(path.name) is None:
        return f"{path.name} is neither .html nor .md"
    return unwritable(path)


def write_handout(path: Path, result: dict, pw: Pathway) -> bool:
    """Write the patient handout; say where (on stderr), or why it could not be written."""
    from backpath.present.handout import kind_of, render
    from backpath.system.fileio import write_atomic

    try:
        write_atomic(path, render(result, pw, kind_of(path.name) or "html"))
    except OSError as exc:
        stderr_console().print(f"error: could not write the handout to {path}: {exc.strerror or exc}.",
                               markup=False, highlight=False)
        return False
    stderr_console().print(f"Handout for the patient written to {path}.", markup=False, highlight=False)
    return True


def offer_handout(result: dict, pw: Pathway) -> None:
    """At the end of the questionnaire: offer to write the patient handout (Enter or end of input declines)."""
    err = stderr_console()
    if pw.tier(result["tier"]).preempts:  # the screen may scroll: the word stays in sight with the offer
        err.print("EMERGENCY: act on the advice above now.", markup=False, highlight=False)
    err.print("Write a plain-language handout for the patient? Type a file name ending in .html (to print) or "
              ".md, or press Enter to skip.", markup=False, highlight=False)
    while True:
        err.print("> ", end="", markup=False, highlight=False)
        err.file.flush()
        try:
            name = sys.stdin.readline()
        except KeyboardInterrupt:
            err.print()
            return
        name = name.strip()
        if not name:
            return
        problem = handout_problem(Path(name))
        if problem is None and write_handout(Path(name), result, pw):
            return
        if problem:
            err.print(f"Not accepted: {problem}. Type a file name ending in .html or .md, or press Enter to skip.",
                      markup=False, highlight=False)
