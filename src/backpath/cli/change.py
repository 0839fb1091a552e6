"""The change-control commands of the command line: `backpath diff` (two pathway versions over the same records)
and `backpath graph` (the pathway as a picture). Parse, call the core, print, choose the exit code."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from backpath.cli.app import PATHWAY_HELP, app
from backpath.cli.common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, fail, load_or_exit
from backpath.core.errors import BackpathError


class DiffFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _cases_files(refs: list[str]) -> list[Path]:
    from backpath.load.catalog import resolve
    from backpath.validate.cases import cases_file_for

    files = []
    for ref in refs:
        path = cases_file_for(resolve(ref))
        if path.exists() and path not in files:
            files.append(path)
    return files


@app.command()
def diff(
    old: str = typer.Argument(..., metavar="OLD", help="The pathway before the change: a bundled id or a YAML file."),
    new: str = typer.Argument(..., metavar="NEW", help="The pathway after the change: a bundled id or a YAML file."),
    records: list[str] | None = typer.Option(
        None, "--records", "-r", metavar="FILE|-", help="Records to run both versions over, as `batch` reads "
        "them: .jsonl, .json, or - (JSON Lines on stdin). Repeat for several files."),
    cases: bool = typer.Option(False, "--cases", help="Also run the test cases beside both pathways "
                               "(<id>.cases.yaml); the default when no --records is given."),
    fmt: DiffFormat = typer.Option(DiffFormat.text, "--format", "-f", help="text for people, json for programs, "
                                   "markdown for a pull request comment."),
    fail_on: str = typer.Option("any", "--fail-on", metavar="any|TIER", help="Exit 1 on any change (any), or "
                                "only on changes that touch TIER or a more urgent tier, e.g. urgent: the tier "
                                "before or after, or an item or rule of such a tier added or removed."),
    show: int = typer.Option(100, "--show", min=0, metavar="N", help="Changed records listed in text and "
                             "markdown (json lists all)."),
) -> None:
    """Run two versions of a pathway over the same records and report every record whose decision changes.

    A decision is the status (valid or not), the tier, the items recommended (and their strength) and advised
    against, the rules that fired, the scores and the review interval; wording and citations alone are not
    decisions. Counts by kind of change come first, then each changed record with its id, before and after.
    Records that become invalid under NEW (for example, a new required question) are reported as such.

    Exit codes: 0 no decision changed, 1 some changed (with --fail-on TIER: some change touches that tier or a
    more urgent one), 2 usage error (bad option, unreadable pathway or input).

    Examples:

      git show main:pathways/low-back-pain.yaml > /tmp/old.yaml

      backpath diff /tmp/old.yaml pathways/low-back-pain.yaml --records referrals.jsonl

      backpath diff /tmp/old.yaml pathways/low-back-pain.yaml --cases --format markdown > comment.md

      backpath diff /tmp/old.yaml pathways/low-back-pain.yaml -r referrals.jsonl --fail-on urgent
    """
    from backpath.change.decision_diff import DiffSummary
    from backpath.change.diff_report import REPORTERS, DiffContext, failing
    from backpath.change.diff_run import DiffUsageError, diff_cases, diff_records

    old_pw, new_pw = _load_side("OLD", old), _load_side("NEW", new)
    fail_tier = None if fail_on == "any" else fail_on
    if fail_tier is not None and fail_tier not in new_pw.tier_rank:
        raise fail(f"--fail-on {fail_on}: NEW has no tier `{fail_on}`.", EXIT_USAGE,
                   f"Give `any` or one of: {', '.join(t.id for t in new_pw.tiers)}.")
    summary = DiffSummary()
    sources: list[str] = []
    try:
        if records:
            diff_records(old_pw, new_pw, records, summary)
            sources += ["<stdin>" if r == "-" else r for r in records]
        if cases or not records:
            files = _cases_files([old, new])
            if not files:
                raise fail("no --records given, and there is no cases file beside OLD or NEW.", EXIT_USAGE,
                           "Give --records FILE (.jsonl, .json or - for stdin), or write <id>.cases.yaml beside "
                           "the pathway (see docs/cases-format.md).")
            diff_cases(old_pw, new_pw, files, summary)
            sources += [f"test cases of {f}" for f in files]
    except (DiffUsageError, BackpathError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    ctx = DiffContext(old_pw, new_pw, sources, show=show, fail_on=fail_tier)
    report = REPORTERS[fmt.value](summary, ctx)
    sys.stdout.writelines([report] if isinstance(report, str) else report)
    raise typer.Exit(EXIT_INVALID if failing(summary, ctx) else EXIT_OK)


def _load_side(label: str, ref: str):
    from backpath.core.errors import PathwayError, PathwayNotFound

    try:
        from backpath.load.catalog import open_pathway

        return open_pathway(ref)
    except PathwayNotFound as exc:
        raise fail(f"{label}: {exc}", EXIT_USAGE) from None
    except PathwayError as exc:
        raise fail(f"{label}: {exc}", EXIT_USAGE, f"Run `backpath validate {ref}` for every finding.") from None





class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"


@app.command()
def graph(
    pathway: str | None = typer.Option(None, "--pathway", "-p", help=PATHWAY_HELP, show_default=False),
    fmt: GraphFormat = typer.Option(GraphFormat.mermaid, "--format", "-f", help="mermaid (a flowchart GitHub "
                                    "draws in Markdown) or dot (Graphviz: dot -Tsvg)."),
    view: str = typer.Option("tiers", "--view", metavar="tiers|rule ID|question ID", help="tiers: rules grouped "
                             "by tier with the questions and facts they read; rule ID: one rule, what it reads "
                             "down to the questions, its tier and items; question ID: what reads one question."),
) -> None:
    """Draw the pathway: a Mermaid flowchart or a Graphviz digraph of one view of it, as plain text on stdout.

    The whole pathway is too large to read as one picture (and GitHub stops drawing Mermaid above 500 edges),
    so each view shows a part: the default `tiers` view groups the rules by the tier they set, with the questions,
    derived facts and scores each rule's condition reads.

    Exit codes: 0 ok, 2 usage error (unknown view, rule or question; unreadable pathway).

    Examples:

      backpath graph > pathway.mmd

      backpath graph --view "rule red-flag-cauda-equina"

      backpath graph --view question:red_flags --format dot | dot -Tsvg > red_flags.svg
    """
    from backpath.change.graph import GraphUsageError, build, parse_view
    from backpath.change.graph_render import RENDERERS

    pw = load_or_exit(pathway)
    try:
        kind, ident = parse_view(view)
        drawn = build(pw, kind, ident)
    except GraphUsageError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    sys.stdout.write(RENDERERS[fmt.value](drawn))
