"""Benchmark of `backpath diff` (a script that prints figures; not a test).

    python bench/diff.py --records 10000 --seed 1

It writes N valid records of the default pathway (the generator of bench/batch.py), makes NEW: a copy of the
bundled pathway with the STarT Back low-risk cut-off moved from `startback_total <= 3` to `<= 2` (a change that
moves records between tiers), and times, each in its own process as a user runs it:

- `backpath batch` of the records with `--jobs 1`, output discarded: one batch run;
- `backpath diff low-back-pain NEW --records FILE --format json`, output discarded: two batch runs (each chunk is
  assessed by both versions through `assess_lines`) plus parsing both results and comparing them.

The target (issue 18): "it is two batch runs", so diff should take about twice one batch run, not more.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch import write_records  # noqa: E402  (bench/batch.py, beside this script)

import backpath  # noqa: E402


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True)
    return time.perf_counter() - started, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pathway = backpath.load_pathway("low-back-pain")
    exe = [sys.executable, "-m", "backpath"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        records = folder / "records.jsonl"
        write_records(records, pathway, args.records, args.seed)
        text = Path(pathway.file).read_text(encoding="utf-8")
        changed = text.replace('"startback_total <= 3", value: low', '"startback_total <= 2", value: low')
        assert changed != text, "the cut-off line moved; update bench/diff.py"
        new = folder / "low-back-pain.yaml"
        new.write_text(changed, encoding="utf-8")
        batch_s, done = timed(exe + ["batch", str(records), "--quiet", "--output", "/dev/null"])
        assert done.returncode == 0, done.stderr.decode()
        diff_s, done = timed(exe + ["diff", "low-back-pain", str(new), "--records", str(records), "--format", "json"])
        assert done.returncode in (0, 1), done.stderr.decode()
        counts = json.loads(done.stdout)["counts"]
    n = args.records
    print(f"records: {n:,} (seed {args.seed}); NEW moves the STarT Back low-risk cut-off from <= 3 to <= 2")
    print(f"batch --jobs 1 (one run):      {batch_s:7.2f} s  {n / batch_s:9,.0f} records/s")
    print(f"diff --format json (two runs): {diff_s:7.2f} s  {n / diff_s:9,.0f} records/s  "
          f"({diff_s / batch_s:.2f}x one batch run)")
    print(f"changed: {counts['changed']:,} of {counts['records']:,} "
          f"(tier {counts['tier']:,}, rules started {counts['rules_started']:,})")


if __name__ == "__main__":
    main()
