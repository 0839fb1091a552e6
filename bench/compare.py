"""Side-by-side CPU cost of this build and another build of backpath, installed in its own venv (a script that
prints figures; not a test).

    python -m venv /tmp/old && /tmp/old/bin/pip install 'git+file://$PWD@0ed5f47'   # or a checkout of it
    python bench/compare.py --other /tmp/old/bin/backpath --records 50000

Both builds run `backpath batch --jobs 1` over the same seeded records and pathway file, each format in turn,
the two builds alternating for `--rounds` rounds; the figure is records per CPU-second of the batch process
(user + system time of the child, from `os.wait4`), steadier than wall time on a shared machine. It also times
`backpath assess --answers FILE --format json` (one record, start-up included) for both builds and for a bare
Typer hello-world in this venv, wall and CPU, median of `--starts` runs. Outputs are compared byte for byte.

This build's modules are compiled to bytecode first, as installing a wheel does: an editable install run with
PYTHONDONTWRITEBYTECODE set (as in this project's sessions) never caches it, and would compile every imported
module from source at each start (about 35 ms of CPU that no installed build pays).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch import write_records  # noqa: E402  (bench/batch.py, the same generator)

import backpath  # noqa: E402

HELLO = "import typer\napp = typer.Typer()\n@app.command()\ndef hello(name: str = 'x'):\n    print(name)\napp()\n"


def run(argv: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit status of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", required=True, help="the other build's `backpath` executable (its own venv)")
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=15, help="runs of each start-up measurement")
    parser.add_argument("--formats", nargs="*", default=["jsonl", "csv"])
    parser.add_argument("--pathway", default=None, help="the pathway YAML both builds run (default: this build's "
                        "bundled one; give the older build's file when this one's uses what it cannot read)")
    args = parser.parse_args()
    this = shutil.which("backpath", path=str(Path(sys.executable).parent)) or "backpath"
    pathway = backpath.load_pathway(args.pathway)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        records = folder / "records.jsonl"
        write_records(records, pathway, args.records, args.seed)
        pathway_file = folder / "pathway.yaml"
        pathway_file.write_bytes(Path(pathway.file).read_bytes())
        print(f"{args.records:,} records (seed {args.seed}); this build: {this}; other: {args.other}")
        for fmt in args.formats:
            rates: dict[str, list[float]] = {"this": [], "other": []}
            outputs = {}
            for _ in range(args.rounds):
                for name, exe in (("this", this), ("other", args.other)):
                    out = folder / f"{name}.{fmt}"
                    _, cpu, code = run([exe, "batch", str(records), "--pathway", str(pathway_file), "--format", fmt,
                                        "--jobs", "1", "--output", str(out)])
                    if code not in (0, 1):
                        raise SystemExit(f"{name} batch exited {code}")
                    rates[name].append(args.records / cpu)
                    outputs[name] = out.read_bytes()
            same = "identical" if outputs["this"] == outputs["other"] else "DIFFERENT"
            this_rate, other_rate = max(rates["this"]), max(rates["other"])
            print(f"batch --format {fmt} --jobs 1: this {this_rate:,.0f} records/CPU-s, other {other_rate:,.0f} "
                  f"(best of {args.rounds}); ratio {this_rate / other_rate:.2f}x; outputs {same}")
            print(f"   rounds: this {', '.join(f'{r:,.0f}' for r in rates['this'])}; "
                  f"other {', '.join(f'{r:,.0f}' for r in rates['other'])}")
        answers = folder / "answers.json"
        answers.write_text(records.read_text().splitlines()[0])
        compileall.compile_dir(Path(backpath.__file__).parent, quiet=1)  # (see the module's docstring)
        hello = folder / "hello.py"
        hello.write_text(HELLO)
        starts = {
            "typer hello-world": [sys.executable, str(hello)],
            "this assess": [this, "assess", "--answers", str(answers), "--format", "json"],
            "other assess": [args.other, "assess", "--answers", str(answers), "--format", "json"],
        }
        figures = {}
        for _ in range(args.starts):
            for name, argv in starts.items():
                wall, cpu, _ = run(argv)
                figures.setdefault(name, []).append((wall, cpu))
        base_wall = statistics.median(w for w, _ in figures["typer hello-world"])
        base_cpu = statistics.median(c for _, c in figures["typer hello-world"])
        for name, values in figures.items():
            wall = statistics.median(w for w, _ in values)
            cpu = statistics.median(c for _, c in values)
            print(f"start-up {name}: wall {wall * 1000:.0f} ms ({wall / base_wall:.2f}x hello), "
                  f"CPU {cpu * 1000:.0f} ms ({cpu / base_cpu:.2f}x hello); median of {args.starts}")


if __name__ == "__main__":
    main()
