"""The commands that assess and describe: assess, batch, validate, pathways, questions, schema."""


from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from backpath.cli.app import PATHWAY_HELP, app, complete_pathway
from backpath.cli.common import (
    EXIT_INVALID,
    EXIT_USAGE,
    AssessFormat,
    Detail,
    ListFormat,
    QuestionsFormat,
    fail,
    load_or_exit,
    stderr_console,
    stdout_console,
)
from backpath.cli.help import ReadableCommand
from backpath.cli.session import (
    answers_record,
    ask_missing,
    handout_problem,
    offer_handout,
    read_answers_source,
    read_fhir_answers,
    split_record,
    stdin_is_terminal,
    write_answers_file,
    write_handout,
)
from backpath.core.errors import BackpathError
from backpath.core.model import Pathway
from backpath.core.shown import safe

# --- assess ------------------------------------------------------------------------------------

def emit_result(result: dict, pathway: Pathway, fmt: AssessFormat, detail: Detail = Detail.summary) -> None:
    if fmt is AssessFormat.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    elif fmt in (AssessFormat.fhir, AssessFormat.cds_hooks):
        from backpath.fhir.result import to_bundle, to_cards

        out = to_bundle(pathway, result) if fmt is AssessFormat.fhir else to_cards(pathway, result)
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    elif fmt is AssessFormat.markdown:
        from backpath.present.render import to_markdown

        sys.stdout.write(to_markdown(result, pathway))
    elif detail is Detail.summary:
        from backpath.present.summary import render_summary

        console = stdout_console()
        console.print(render_summary(result, pathway, width=console.width))
    else:
        from backpath.present.paging import print_paged
        from backpath.present.render import render_result

        print_paged(stdout_console(), render_result(result, pathway))


@app.command(cls=ReadableCommand)
def assess(
    pathway: str | None = typer.Option(None, "--pathway", "-p", metavar="ID|FILE", help=PATHWAY_HELP,
                                       show_default=False, autocompletion=complete_pathway),
    answers: str | None = typer.Option(
        None, "--answers", "-a", metavar="FILE|-",
        help="JSON answers file ({\"age\": 52, ...} or {\"id\": ..., \"answers\": {...}}), or a FHIR "
        "QuestionnaireResponse of `backpath questions --format fhir`; - reads stdin. "
        "On a terminal, missing answers are asked; elsewhere they are listed and the exit code is 1."),
    fmt: AssessFormat = typer.Option(AssessFormat.text, "--format", "-f",
                                     metavar="text|json|markdown|fhir|cds-hooks",
                                     help="text for people, json for programs, markdown for the patient record, "
                                     "fhir for a FHIR R4 Bundle (GuidanceResponse + RequestGroup), cds-hooks for "
                                     "CDS Hooks cards."),
    save_answers: Path | None = typer.Option(None, "--save-answers", metavar="FILE",
                                                help="Also write the complete answers as JSON to FILE "
                                                "(accepted by --answers and batch)."),
    handout: Path | None = typer.Option(None, "--handout", metavar="FILE.html|FILE.md",
                                        help="Also write a plain-language handout for the patient: one printable "
                                        "HTML page, or Markdown, by the file's extension."),
    detail: Detail = typer.Option(Detail.summary, "--detail", "-d", metavar="summary|full",
                                  help="text: summary is one screen (the "
                                  "plan, what was asked about, review, safety-net); full is the complete trace "
                                  "(rules, because, sources, notes), paged on a terminal."),
) -> None:
    """Assess one person and print a tailored, evidence-cited recommendation.

    Exit codes: 0 ok, 1 invalid or missing answers, 2 usage error (bad option, unreadable file or pathway).

    Examples:

      backpath assess --answers examples/answers-chronic-sciatica.json

      backpath assess --answers answers.json --format json > result.json

      backpath assess            # on a terminal: the interactive questionnaire

      backpath assess --answers answers.json --handout plan.html

      backpath assess --answers answers.json --detail full

      backpath assess --answers examples/response-chronic-sciatica.fhir.json --format fhir
    """
    from backpath.core import engine

    pw = load_or_exit(pathway)
    _check_outputs(save_answers, handout)  # before anything is asked, not after the whole questionnaire
    record_id, given = _given_answers(pw, answers, fmt) if answers is not None else (None, {})
    interactive = stdin_is_terminal() and answers != "-"
    # Answers that need no words (the common case) have nothing missing to ask: the checker is left uncompiled.
    checked = None if engine.complete(pw, given) else engine.check(pw, given)
    asked = bool(checked and checked.missing and len(checked.missing) == len(checked.problems) and interactive)
    if asked:
        given = ask_missing(pw, given, record_id=record_id, answers_path=answers, save_path=save_answers,
                            pathway_ref=pathway, fmt=fmt)
    elif answers is None and not interactive:
        raise fail("no answers given and stdin is not a terminal, so the questionnaire cannot be asked.",
                   EXIT_USAGE, "Give --answers FILE (or - for stdin); `backpath questions --format json` "
                   "lists every question.")
    result = engine.assess(pw, given, record_id=record_id)
    if result["status"] != "ok":
        _report_invalid(result, pw, fmt)
        raise typer.Exit(EXIT_INVALID)
    emit_result(result, pw, fmt, detail)
    if save_answers is not None and not write_answers_file(save_answers, answers_record(record_id, given)):
        raise typer.Exit(EXIT_USAGE)
    if handout is not None:
        if not write_handout(handout, result, pw):
            raise typer.Exit(EXIT_USAGE)
    elif asked:
        offer_handout(result, pw)


def _check_outputs(save_answers: Path | None, handout: Path | None) -> None:
    """Exit 2 now if --save-answers or --handout could not be written."""
    if save_answers is not None:
        from backpath.system.fileio import unwritable

        problem = unwritable(save_answers)
        if problem:
            raise fail(f"--save-answers: {problem}.", EXIT_USAGE)
    if handout is not None:
        problem = handout_problem(handout)
        if problem:
            raise fail(f"--handout: {problem}.", EXIT_USAGE, "Name a file ending in .html or .md.")


def _given_answers(pw: Pathway, answers: str, fmt: AssessFormat) -> tuple[Any, dict]:
    """(record id, answers) from --answers: a backpath record, bare answers or a FHIR QuestionnaireResponse."""
    data, name = read_answers_source(answers)
    if isinstance(data, dict) and "resourceType" in data:  # a FHIR resource, not a backpath record
        record_id, given = read_fhir_answers(pw, data, name, fmt, lambda r: emit_result(r, pw, fmt))
    else:
        record_id, given = split_record(data, name)
    if not isinstance(given, dict):
        raise fail(f"{name}: expected a JSON object of answers, not {type(given).__name__}.", EXIT_INVALID)
    if record_id is not None and type(record_id) not in (str, int):
        raise fail(f"{name}: the record's id must be text or a whole number, not "
                   f"{type(record_id).__name__}.", EXIT_INVALID, "Leave `id` out if the record has none.")
    return record_id, given


def _report_invalid(result: dict, pw: Pathway, fmt: AssessFormat) -> None:
    """Invalid answers: every problem on stderr, a `missing:` line scripts can read, the error result itself in
    the machine formats."""
    err = stderr_console()
    missing = [e["path"].removeprefix("answers.") for e in result["errors"]
               if e["message"].startswith("required answer is missing")]
    err.print(f"error: the answers are not valid ({len(result['errors'])} problem"
              f"{'s' if len(result['errors']) != 1 else ''}):", markup=False, highlight=False)
    for e in result["errors"]:
        err.print(safe(f"  {e['path']}: {e['message']}", lines=False), markup=False, highlight=False,
                  soft_wrap=True)
    if missing:  # one line, never wrapped, so scripts can read it
        err.print(f"missing: {', '.join(missing)}", markup=False, highlight=False, soft_wrap=True)
    if fmt in (AssessFormat.json, AssessFormat.fhir, AssessFormat.cds_hooks):
        emit_result(result, pw, fmt)


# --- batch -------------------------------------------------------------------------------------

class BatchFormat(str, Enum):
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    fhir = "fhir"


@app.command(cls=ReadableCommand)
def batch(
    inputs: list[str] = typer.Argument(..., metavar="INPUT...", help=".json (a record, an array of records, or a "
                                       "FHIR QuestionnaireResponse or Bundle of them), .jsonl/.ndjson (a record or "
                                       "a response a line), .csv (a column a question) or - (JSON Lines on stdin)."),
    pathway: str | None = typer.Option(None, "--pathway", "-p", metavar="ID|FILE", help=PATHWAY_HELP,
                                       show_default=False, autocompletion=complete_pathway),
    output: str = typer.Option("-", "--output", "-o", metavar="FILE|-", help="Where to write results; - is "
                               "stdout. A file is written atomically (complete or not at all)."),
    fmt: BatchFormat = typer.Option(BatchFormat.jsonl, "--format", "-f", metavar="jsonl|json|csv|fhir",
                                    help="jsonl: a result a line (streamed); json: one array; csv: a row a record "
                                    "for spreadsheets; fhir: NDJSON, a FHIR Bundle a record."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=0, metavar="N", help="Worker processes; 0 = one per core. Output "
                             "is identical and in input order whatever the number."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary on stderr."),
    detail: str | None = typer.Option(None, "--detail", metavar="full|summary", show_default=False,
                                      help="jsonl and json: full (default) is the contract's complete result; "
                                      "summary is compact for analysts (ids, strengths, rule ids and because; "
                                      "no texts or citations). Not with csv or fhir."),
    columns: str | None = typer.Option(None, "--columns", metavar="A,B,...", show_default=False,
                                       help="csv: the columns to write, in this order (default: all). Columns: id, "
                                       "status, tier, one per score, red_flags, recommended, not_recommended, "
                                       "errors, source, pathway_id, pathway_version, review_in_weeks, offered, "
                                       "considered, requested, rules_fired, care_team."),
) -> None:
    """Assess every record of every input, one result per record, in input order.

    A record is {"id": ..., "answers": {...}}; records without an id get their 1-based position. An invalid
    record gives an error result naming it and the problem, and the rest go on.

    Exit codes: 0 all records ok, 1 some records invalid (all valid ones still written), 2 usage error, 130
    interrupted (Ctrl-C; a --output file is then not written).

    Examples:

      backpath batch referrals.jsonl --output results.jsonl

      backpath batch referrals.jsonl --format csv --output audit.csv --jobs 0

      cat records.jsonl | backpath batch - --quiet > results.jsonl

      backpath batch responses.ndjson --format fhir --output results.ndjson

      backpath batch referrals.csv --output results.jsonl

      backpath batch referrals.jsonl --detail summary --output audit.jsonl

      backpath batch in.jsonl -f csv --columns id,tier,offered,rules_fired
    """
    from backpath.batch.run import BatchOptions, run_batch

    pw = load_or_exit(pathway)
    options = BatchOptions(inputs=inputs, output=output, format=fmt.value, jobs=jobs, quiet=quiet,
                           pathway_ref=pathway, detail=detail, columns=columns)
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


@app.command(cls=ReadableCommand)
def validate(
    paths: list[Path] | None = typer.Argument(None, metavar="[PATH...]", help="Pathway YAML files or folders "
                                                 "(default: every bundled pathway). A cases file stands for the "
                                                 "pathway beside it."),
    fmt: ValidateFormat = typer.Option(ValidateFormat.text, "--format", "-f", metavar="text|json|github|sarif",
                                       help="text for people, json "
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
    from backpath.validate.run import ValidateOptions, run_validate

    options = ValidateOptions(paths=[str(p) for p in paths or []], format=fmt.value, strict=strict,
                              min_coverage=min_coverage)
    try:
        code = run_validate(options, sys.stdout, stderr_console())
    except BackpathError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    raise typer.Exit(code)


# --- pathways, questions, schema ---------------------------------------------------------------

@app.command(cls=ReadableCommand)
def pathways(
    fmt: ListFormat = typer.Option(ListFormat.text, "--format", "-f", metavar="text|json",
                                  help="text, or json with the sha256 of each file (the one results carry), to "
                                  "pin what a deployment runs."),
) -> None:
    """List the bundled pathways: id, version, title, file (and, with --format json, the sha256 of each file).

    The id is what --pathway takes. A deployment can pin what it runs: the sha256 is the one every result carries
    in `pathway.sha256`. Exit code: 0.

    Examples:

      backpath pathways

      backpath pathways --format json > pinned-pathways.json
    """
    from backpath.load.catalog import listing

    rows = listing()
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table("id", "version", "title", "file", title="Bundled pathways")
    for r in rows:
        table.add_row(r["id"], r["version"] or "-", r["title"], r["file"])
    stdout_console().print(table)


@app.command(cls=ReadableCommand)
def questions(
    pathway: str | None = typer.Option(None, "--pathway", "-p", metavar="ID|FILE", help=PATHWAY_HELP,
                                       show_default=False, autocompletion=complete_pathway),
    fmt: QuestionsFormat = typer.Option(QuestionsFormat.text, "--format", "-f", metavar="text|json|fhir",
                                        help="text for people; json to seed an answers file or an EHR export "
                                        "mapping; fhir for a FHIR R4 SDC Questionnaire for form renderers."),
) -> None:
    """The data dictionary of a pathway: every question id, type, allowed values and when it is asked.

    With --format json, `answers_template` has every question id set to null: fill in each answer (`[]` for
    "none of them") and pass the file to `backpath assess --answers`; a question left null is reported missing.

    Examples:

      backpath questions

      backpath questions --format json > dictionary.json

      backpath questions --pathway pathways/my-pathway.yaml

      backpath questions --format fhir > questionnaire.json
    """
    from backpath.present.dictionary import data_dictionary, render_dictionary

    pw = load_or_exit(pathway)
    if fmt is QuestionsFormat.fhir:
        from backpath.fhir.questionnaire import QuestionnaireError, build_questionnaire

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


@app.command(cls=ReadableCommand)
def schema(
    cases: bool = typer.Option(False, "--cases", help="Print the schema of a test cases file (<id>.cases.yaml) "
                               "instead."),
) -> None:
    """Print the JSON Schema of the pathway format (for editors and the YAML language server).

    A pathway file can name it on its first line: `# yaml-language-server: $schema=pathway.schema.json`. Exit
    code: 0.

    Examples:

      backpath schema > pathway.schema.json

      backpath schema --cases > cases.schema.json
    """
    from backpath.load.loader import pathway_schema
    from backpath.validate.cases import cases_schema

    sys.stdout.write(json.dumps(cases_schema() if cases else pathway_schema(), indent=2) + "\n")
