"""Benchmark of `backpath validate` (a script that prints figures; not a test).

    python bench/validate.py [PATHWAY] [--repeat 5]

PATHWAY defaults to the bundled default pathway. It prints, best and median of the repeats:

- each phase in this process: load and check (YAML, schema, loader), checks beyond the schema, the test
  cases, the answer-space sample, the search for rules that never fire, the invariant search;
- `backpath validate PATHWAY` end to end, in its own process as a user (or a pre-commit hook) runs it,
  including Python start-up and imports.

Target (issue 5): validating the default pathway with its cases and invariant search takes under 3 seconds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from backpath.load.catalog import resolve
from backpath.load.loader import check_pathway_document
from backpath.validate.answerspace import AnswerSpace
from backpath.validate.cases import cases_file_for, run_cases
from backpath.validate.invariants import check_invariants
from backpath.validate.lint import Locator, never_firing_rules, static_checks

TARGET_SECONDS = 3.0


def phases(path: Path) -> dict[str, float]:
    """Seconds per phase of one validation, in the order `validate` runs them."""
    out: dict[str, float] = {}
    t = time.perf_counter()
    raw = path.read_bytes()
    pathway, _, loaded = check_pathway_document(raw, str(path), stem=path.stem)
    if pathway is None or loaded is None:
        sys.exit(f"{path} has errors; run `backpath validate {path}` first.")
    out["load + schema + loader checks"] = time.perf_counter() - t
    t = time.perf_counter()
    where = Locator(loaded, str(path))
    static_checks(pathway, where)
    out["checks beyond the schema"] = time.perf_counter() - t
    t = time.perf_counter()
    cases_path = cases_file_for(path)
    fired: set[str] = set()
    if cases_path.exists():
        run = run_cases(pathway, cases_path)
        fired = set(run.coverage.rules.covered) if run.coverage else set()
        out[f"test cases ({run.run})"] = time.perf_counter() - t
    t = time.perf_counter()
    space = AnswerSpace(pathway)
    sample = space.sample()
    out[f"answer-space sample ({len(sample)} answer sets)"] = time.perf_counter() - t
    t = time.perf_counter()
    never_firing_rules(space, sample, where, fired)
    out["rules that never fire"] = time.perf_counter() - t
    t = time.perf_counter()
    check_invariants(space, sample)
    out[f"invariants ({len(pathway.invariants)})"] = time.perf_counter() - t
    out["total in process"] = sum(out.values())
    return out


def end_to_end(path: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "backpath", "validate", str(path)], capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        sys.exit(proc.stderr)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pathway", nargs="?", default=None, help="pathway file or bundled id")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = resolve(args.pathway)
    print(f"backpath validate {path}  (best / median of {args.repeat})")
    runs = [phases(path) for _ in range(args.repeat)]
    for name in runs[0]:
        values = [r[name] for r in runs]
        print(f"  {name:<45} {min(values):7.3f} s / {statistics.median(values):7.3f} s")
    e2e = [end_to_end(path) for _ in range(args.repeat)]
    best, median = min(e2e), statistics.median(e2e)
    print(f"  {'`backpath validate` end to end (new process)':<45} {best:7.3f} s / {median:7.3f} s")
    verdict = "ok" if median < TARGET_SECONDS else "TOO SLOW"
    print(f"target: under {TARGET_SECONDS:g} s end to end: {verdict}")


if __name__ == "__main__":
    main()
