"""The command line: parse, call the core, render, choose the exit code. Nothing clinical lives here."""

from __future__ import annotations

import inspect
import json
import shlex
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .catalog import DEFAULT_PATHWAY, bundled, open_pathway
from .entry import interrupted
from .errors import BackpathError, PathwayError, PathwayNotFound
from .jsontext import loads, unreadable
from .model import Pathway

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="backpath",
    help="Treatment-pathway decision aid for adult low back pain and sciatica.\n\n"
    "It supports a clinician's judgement and never diagnoses. Start with `backpath questions` to see what a "
    "pathway asks, `backpath assess` to assess one person, `backpath batch` for many records and "
    "`backpath validate` to check pathway YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Help texts are rich markup: "[...]" would be read as a style tag and vanish, so defaults go in parentheses.
PATHWAY_HELP = (f"A bundled pathway id (see `backpath pathways`) or a path to a pathway YAML file (default: "
                f"{DEFAULT_PATHWAY}).")


class AssessFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    fhir = "fhir"
    cds_hooks = "cds-hooks"


class ListFormat(str, Enum):
    text = "text"
    json = "json"


class QuestionsFormat(str, Enum):
    text = "text"
    json = "json"
    fhir = "fhir"


def stdout_console() -> Console:
    return Console(file=sys.stdout, soft_wrap=False)


def stderr_console() -> Console:
    return Console(file=sys.stderr, soft_wrap=False)


def fail(message: str, code: int, hint: str | None = None) -> typer.Exit:
    """Print `message` (and how to fix it) to stderr; return the Exit to raise."""
    err = stderr_console()
    err.print(f"error: {message}", markup=False, highlight=False)
    if hint:
        err.print(hint, markup=False, highlight=False)
    return typer.Exit(code)


def load_or_exit(id_or_path: str | None) -> Pathway:
    try:
        return open_pathway(id_or_path)
    except PathwayNotFound as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except PathwayError as exc:
        raise fail(str(exc), EXIT_USAGE, "Run `backpath validate FILE` for every finding.") from None


def version_callback(value: bool) -> None:
    if value:
        print(f"backpath {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                 help="Show the version of backpath and exit."),
) -> None:
    """Treatment-pathway decision aid for adult low back pain and sciatica."""


# --- assess ------------------------------------------------------------------------------------

def read_answers_source(source: str) -> tuple[Any, str]:
    """Read a JSON answers file (or '-' for stdin). Returns the parsed value and a display name."""
    name = "<stdin>" if source == "-" else source
    try:
        # read_text with utf-8-sig: a byte order mark is accepted, as batch accepts one
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8-sig")
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


def read_fhir_answers(pw: Pathway, data: dict, name: str, fmt: AssessFormat) -> tuple[Any, dict]:
    """A QuestionnaireResponse (or a Bundle holding one) -> (id, answers); a response that cannot be read as
    answers to this pathway is reported like invalid answers (exit 1)."""
    from .engine import error_result
    from .fhir_response import ResponseProblem
    from .input_formats import single_response

    try:
        return single_response(pw, data, "use `backpath batch` for a Bundle of responses")
    except ResponseProblem as exc:
        err = stderr_console()
        err.print(f"error: {name} cannot be read as answers to {pw.id} {pw.version}:", markup=False, highlight=False)
        for e in exc.errors:
            err.print(f"  {e['path'] or 'response'}: {e['message']}", markup=False, highlight=False, soft_wrap=True)
        if fmt in (AssessFormat.json, AssessFormat.fhir, AssessFormat.cds_hooks):
            emit_result(error_result(getattr(exc, "record_id", None), exc.errors), pw, fmt)
        raise typer.Exit(EXIT_INVALID) from None


def split_record(data: Any) -> tuple[Any, Any]:
    """A record {"id", "answers"} or a bare answers object -> (id, answers)."""
    if isinstance(data, dict) and isinstance(data.get("answers"), dict) and set(data) <= {"id", "answers"}:
        return data.get("id"), data["answers"]
    return None, data


def emit_result(result: dict, pathway: Pathway, fmt: AssessFormat) -> None:
    if fmt is AssessFormat.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    elif fmt in (AssessFormat.fhir, AssessFormat.cds_hooks):
        from .fhir_result import to_bundle, to_cards

        out = to_bundle(pathway, result) if fmt is AssessFormat.fhir else to_cards(pathway, result)
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    elif fmt is AssessFormat.markdown:
        from .render import to_markdown

        sys.stdout.write(to_markdown(result, pathway))
    else:
        from .render import render_result

        stdout_console().print(render_result(result, pathway))


def write_answers_file(path: Path, answers: dict) -> bool:
    """Save the answers; if that fails, say why and print them to stderr (so nothing typed is lost) and
    return False."""
    from .fileio import write_atomic

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
    from .prompts import COMPLETE, STOPPED, emergency_advice_markdown, emergency_banner, run_questionnaire

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
    from .prompts import INTERRUPTED, STOPPED

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


@app.command()
def assess(
    pathway: str | None = typer.Option(None, "--pathway", "-p", help=PATHWAY_HELP, show_default=False),
    answers: str | None = typer.Option(
        None, "--answers", "-a", metavar="FILE|-",
        help="JSON answers file ({\"age\": 52, ...} or {\"id\": ..., \"answers\": {...}}), or a FHIR "
        "QuestionnaireResponse of `backpath questions --format fhir`; - reads stdin. "
        "On a terminal, missing answers are asked; elsewhere they are listed and the exit code is 1."),
    fmt: AssessFormat = typer.Option(AssessFormat.text, "--format", "-f", help="text for people, json for "
                                     "programs, markdown for the patient record, fhir for a FHIR R4 Bundle "
                                     "(GuidanceResponse + RequestGroup), cds-hooks for CDS Hooks cards."),
    save_answers: Path | None = typer.Option(None, "--save-answers", metavar="FILE",
                                                help="Also write the complete answers as JSON to FILE "
                                                "(accepted by --answers and batch)."),
) -> None:
    """Assess one person and print a tailored, evidence-cited recommendation.

    Exit codes: 0 ok, 1 invalid or missing answers, 2 usage error (bad option, unreadable file or pathway).

    Examples:

      backpath assess --answers examples/answers-chronic-sciatica.json

      backpath assess --answers answers.json --format json > result.json

      backpath assess --answers examples/response-chronic-sciatica.fhir.json --format fhir

      backpath assess            # on a terminal: the interactive questionnaire
    """
    from . import engine

    pw = load_or_exit(pathway)
    if save_answers is not None:
        from .fileio import unwritable

        problem = unwritable(save_answers)
        if problem:  # before anything is asked, not after the whole questionnaire
            raise fail(f"--save-answers: {problem}.", EXIT_USAGE)
    record_id, given = (None, {})
    if answers is not None:
        data, name = read_answers_source(answers)
        fhir = isinstance(data, dict) and "resourceType" in data  # a FHIR resource, not a backpath record
        record_id, given = read_fhir_answers(pw, data, name, fmt) if fhir else split_record(data)
        if not isinstance(given, dict):
            raise fail(f"{name}: expected a JSON object of answers, not {type(given).__name__}.", EXIT_INVALID)
        if record_id is not None and type(record_id) not in (str, int):
            raise fail(f"{name}: the record's id must be text or a whole number, not "
                       f"{type(record_id).__name__}.", EXIT_INVALID, "Leave `id` out if the record has none.")
    interactive = stdin_is_terminal() and answers != "-"
    checked = engine.check(pw, given)
    if checked.missing and len(checked.missing) == len(checked.problems) and interactive:
        given = ask_missing(pw, given, record_id=record_id, answers_path=answers, save_path=save_answers,
                            pathway_ref=pathway, fmt=fmt)
    elif answers is None and not interactive:
        raise fail("no answers given and stdin is not a terminal, so the questionnaire cannot be asked.",
                   EXIT_USAGE, "Give --answers FILE (or - for stdin); `backpath questions --format json` "
                   "lists every question.")
    result = engine.assess(pw, given, record_id=record_id)
    if result["status"] != "ok":
        err = stderr_console()
        missing = [e["path"].removeprefix("answers.") for e in result["errors"]
                   if e["message"].startswith("required answer is missing")]
        err.print(f"error: the answers are not valid ({len(result['errors'])} problem"
                  f"{'s' if len(result['errors']) != 1 else ''}):", markup=False, highlight=False)
        for e in result["errors"]:
            err.print(f"  {e['path']}: {e['message']}", markup=False, highlight=False, soft_wrap=True)
        if missing:  # one line, never wrapped, so scripts can read it
            err.print(f"missing: {', '.join(missing)}", markup=False, highlight=False, soft_wrap=True)
        if fmt in (AssessFormat.json, AssessFormat.fhir, AssessFormat.cds_hooks):
            emit_result(result, pw, fmt)
        raise typer.Exit(EXIT_INVALID)
    emit_result(result, pw, fmt)
    if save_answers is not None and not write_answers_file(save_answers, answers_record(record_id, given)):
        raise typer.Exit(EXIT_USAGE)


# --- batch -------------------------------------------------------------------------------------

class BatchFormat(str, Enum):
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    fhir = "fhir"


@app.command()
def batch(
    inputs: list[str] = typer.Argument(..., metavar="INPUT...", help=".json (a record, an array of records, or a "
                                       "FHIR QuestionnaireResponse or Bundle of them), .jsonl/.ndjson (a record or "
                                       "a response a line), .csv (a column a question) or - (JSON Lines on stdin)."),
    pathway: str | None = typer.Option(None, "--pathway", "-p", help=PATHWAY_HELP, show_default=False),
    output: str = typer.Option("-", "--output", "-o", metavar="FILE|-", help="Where to write results; - is "
                               "stdout. A file is written atomically (complete or not at all)."),
    fmt: BatchFormat = typer.Option(BatchFormat.jsonl, "--format", "-f", help="jsonl: a result a line "
                                    "(streamed); json: one array; csv: a row a record for spreadsheets; "
                                    "fhir: NDJSON, a FHIR Bundle a record."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=0, help="Worker processes; 0 = one per core. Output "
                             "is identical and in input order whatever the number."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary on stderr."),
) -> None:
    """Assess every record of every input, one result per record, in input order.

    A record is {"id": ..., "answers": {...}}; records without an id get their 1-based position. An invalid
    record gives an error result naming it and the problem, and the rest go on.

    Exit codes: 0 all records ok, 1 some records invalid (all valid ones still written), 2 usage error, 130
    interrupted (Ctrl-C; a --output file is then not written).

    Examples:

      backpath batch referrals.jsonl --output results.jsonl

      backpath batch referrals.jsonl --format csv --output audit.csv --jobs 0

      backpath batch responses.ndjson --format fhir --output results.ndjson

      backpath batch referrals.csv --output results.jsonl

      cat records.jsonl | backpath batch - --quiet > results.jsonl
    """
    from .batch import BatchOptions, run_batch

    pw = load_or_exit(pathway)
    options = BatchOptions(inputs=inputs, output=output, format=fmt.value, jobs=jobs, quiet=quiet,
                           pathway_ref=pathway)
    try:
        code = run_batch(pw, options, stderr_console())
    except BackpathError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    raise typer.Exit(code)


# --- validate ----------------------------------------------------------------------------------

class ValidateFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


@app.command()
def validate(
    paths: list[Path] | None = typer.Argument(None, metavar="[PATH...]", help="Pathway YAML files or folders "
                                                 "(default: every bundled pathway). A cases file stands for the "
                                                 "pathway beside it."),
    fmt: ValidateFormat = typer.Option(ValidateFormat.text, "--format", "-f", help="text for people, json "
                                       "for programs, github for workflow annotations, sarif for code scanning."),
    strict: bool = typer.Option(False, "--strict", help="Fail on warnings too (notes never fail)."),
    min_coverage: float | None = typer.Option(None, "--min-coverage", min=0, max=100, metavar="N",
                                                 help="Fail when test cases fire less than N% of the rules."),
) -> None:
    """Check pathway files the way a compiler checks code, run their test cases and search for safety violations.

    Every finding names the file, line, column, YAML path and id involved, and says how to fix it.

    The test cases in <id>.cases.yaml beside each pathway run, with coverage by rule, item and option.

    Invariants are checked by searching the answer space; a violation prints answers for `assess --answers`.

    Exit codes: 0 valid, 1 problems found (errors, or warnings with --strict), 2 usage error.

    Examples:

      backpath validate pathways/my-pathway.yaml

      backpath validate pathways/ --format github --strict --min-coverage 100
    """
    from .validate import ValidateOptions, run_validate

    options = ValidateOptions(paths=[str(p) for p in paths or []], format=fmt.value, strict=strict,
                              min_coverage=min_coverage)
    try:
        code = run_validate(options, sys.stdout, stderr_console())
    except BackpathError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    raise typer.Exit(code)


# --- pathways, questions, schema ---------------------------------------------------------------

@app.command()
def pathways(
    fmt: ListFormat = typer.Option(ListFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """List the bundled pathways: id, version, title, file."""
    rows = []
    for b in bundled():
        try:
            pw = open_pathway(str(b.path))
            rows.append({"id": b.id, "version": pw.version, "title": pw.title, "file": str(b.path)})
        except PathwayError as exc:
            rows.append({"id": b.id, "version": None, "title": f"(invalid: {len(exc.findings)} problems)",
                         "file": str(b.path)})
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("id", "version", "title", "file", title="Bundled pathways")
    for r in rows:
        table.add_row(r["id"], r["version"] or "-", r["title"], r["file"])
    stdout_console().print(table)


@app.command()
def questions(
    pathway: str | None = typer.Option(None, "--pathway", "-p", help=PATHWAY_HELP, show_default=False),
    fmt: QuestionsFormat = typer.Option(QuestionsFormat.text, "--format", "-f", help="text for people; json to "
                                        "seed an answers file or an EHR export mapping; fhir for a FHIR R4 SDC "
                                        "Questionnaire for form renderers."),
) -> None:
    """The data dictionary of a pathway: every question id, type, allowed values and when it is asked.

    Examples:

      backpath questions --format json > dictionary.json

      backpath questions --format fhir > questionnaire.json
    """
    from .dictionary import data_dictionary, render_dictionary

    pw = load_or_exit(pathway)
    if fmt is QuestionsFormat.fhir:
        from .fhir_questionnaire import QuestionnaireError, build_questionnaire

        try:
            questionnaire = build_questionnaire(pw)
        except QuestionnaireError as exc:
            raise fail(f"{pw.id}: {exc}", EXIT_INVALID, "Simplify the condition, or use --format json.") from None
        sys.stdout.write(json.dumps(questionnaire, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt is QuestionsFormat.json:
        sys.stdout.write(json.dumps(data_dictionary(pw), ensure_ascii=False, indent=2) + "\n")
    else:
        stdout_console().print(render_dictionary(pw))


@app.command()
def schema(
    cases: bool = typer.Option(False, "--cases", help="Print the schema of a test cases file (<id>.cases.yaml) "
                               "instead."),
) -> None:
    """Print the JSON Schema of the pathway format (for editors and the YAML language server)."""
    from .cases import cases_schema
    from .loader import pathway_schema

    sys.stdout.write(json.dumps(cases_schema() if cases else pathway_schema(), indent=2) + "\n")


def _flowing(doc: str) -> str:
    """A command's docstring as its help: the lines of each paragraph joined, so the terminal wraps them at its
    own width (typer keeps a docstring's line breaks after the first paragraph, which left ragged lines on an
    80-column terminal). Paragraphs with an indented line (examples) are kept as written."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if any(line[:1].isspace() for line in p.splitlines()) else " ".join(p.splitlines())
                       for p in paragraphs)


for _command in app.registered_commands:
    if _command.help is None and _command.callback is not None and _command.callback.__doc__:
        _command.help = _flowing(_command.callback.__doc__)


def main() -> None:
    """Entry point of the `backpath` command."""
    try:
        app()
    except KeyboardInterrupt:  # one that typer did not catch (raised while it set up, before the command)
        interrupted()
    except SystemExit as exc:
        if _silent_interrupt(exc):
            interrupted()
        raise


def _silent_interrupt(exc: SystemExit) -> bool:
    """Whether `exc` is typer's exit after a Ctrl-C that no command handled (typer turns the KeyboardInterrupt
    into `Exit(130)` and exits without a word; a command that reports its own interrupt exits otherwise)."""
    context = exc.__context__  # typer.Exit: typer's own class, or click's in releases that use click
    return (exc.code == 130 and isinstance(context, typer.Exit)
            and isinstance(context.__cause__, KeyboardInterrupt))
