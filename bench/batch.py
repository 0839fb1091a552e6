"""Benchmark of `backpath batch` (a script that prints figures; not a test).

    python bench/batch.py --records 100000 --seed 1

It writes N valid records, generated with a seed from the pathway's data dictionary (types, ranges, options,
and `ask_when` honoured through the engine), to a temporary JSON Lines file, then measures, in the same run:

- the JSON floor: read the lines, `json.loads` each, `json.dumps` it back (same encoder settings as batch),
  write it; no assessment. It is the least any tool that reads and writes these records must spend.
- the results floor: for the first 20,000 records, read and `json.loads` each line and write its *result* (the
  batch's own output, parsed beforehand, untimed) with `json.dumps`. Each default-pathway result is ~16 KB
  against a ~730-byte record, so this is the least a tool that makes these results with the JSON library must
  spend on reading and writing them: a record rate above it needs an output path faster than `json.dumps`.
- the disk floor (JSON Lines results written to a file): writing the first run's output again with `fsync`,
  as batch does before its rename; where a run's time comes close to it, the disk bounds the run (the
  results are ~16 KB each, so 12,000 records/s is ~200 MB/s).
- the library, in this process, on the first 20,000 records: `backpath.assess_lines` (chunks, as batch) and
  `json.loads` + `backpath.assess` + `json.dumps` a record at a time (on 5,000), for Dask/PySpark users.
- `backpath batch` with `--jobs 1` and `--jobs 2` (or the values given to `--jobs`), each in its own process
  as a user runs it, output to a file (or discarded with `--discard`): wall time including start-up, records/s,
  ratio to the floor, peak memory (largest total PSS of the batch process and its workers) and minor page
  faults a record (kernel time no Python profile shows; see docs/batch.md, "Page faults").

Targets (issue 4): >= 20,000 records/s on one core; --jobs 2 >= 1.6x --jobs 1; <= 5x the floor; < 200 MB peak
for 1,000,000 records.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import backpath
from backpath.core.engine import is_asked
from backpath.core.model import Pathway, Question


def random_value(rng: random.Random, q: Question, pathway: Pathway) -> Any:
    if q.type == "boolean":
        return rng.random() < 0.5
    if q.type in ("integer", "number"):
        lo = q.min if q.min is not None else 0
        hi = q.max if q.max is not None else 100
        if q.type == "integer":
            return rng.randint(int(lo), int(hi))
        # durations and the like: mostly short, some long (log-uniform), one decimal
        value = lo + (hi - lo) * rng.random() ** 3
        return round(value, 1) if rng.random() < 0.5 else int(value)
    ids = q.option_ids
    if q.type == "choice":
        return rng.choice(ids)
    if q.id == pathway.red_flag_question and rng.random() < 0.9:
        return []  # red flags are rare in a real caseload; most records take the full (non-emergency) path
    if rng.random() < 0.4:
        return []
    return rng.sample(ids, rng.randint(1, min(3, len(ids))))


def random_answers(rng: random.Random, pathway: Pathway) -> dict:
    values: dict = {}
    for q in pathway.question_list():
        if not is_asked(pathway, q, values):
            continue
        if not q.required and rng.random() < 0.5:
            continue
        values[q.id] = random_value(rng, q, pathway)
    return values


def write_records(path: Path, pathway: Pathway, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"r{i + 1:07d}", "answers": random_answers(rng, pathway)}) + "\n")


def json_floor(src: Path, dst: Path) -> float:
    """Read, parse, serialise and write every record, with no assessment; seconds taken."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
    decode = json.JSONDecoder().decode
    started = time.perf_counter()
    with open(src, "rb") as fin, open(dst, "wb", buffering=1 << 20) as fout:
        for line in fin:
            fout.write((encode(decode(line.decode("utf-8"))) + "\n").encode("utf-8"))
    return time.perf_counter() - started


def disk_floor(output: Path, folder: Path) -> float:
    """Seconds to write `output`'s bytes again beside it in 8 MB blocks and `fsync` them, as batch does before
    its rename: the least any run that writes this output to this disk must spend (the read is from the page
    cache). Where it is close to a run's time, the run is bounded by the disk, not by the assessment."""
    copy = folder / "disk-floor.tmp"
    started = time.perf_counter()
    with open(output, "rb") as fin, open(copy, "wb", buffering=0) as fout:
        while block := fin.read(8 << 20):
            fout.write(block)
        os.fsync(fout.fileno())
    seconds = time.perf_counter() - started
    copy.unlink()
    return seconds


def results_floor(src: Path, results: Path, limit: int = 20_000) -> tuple[float, int]:
    """The results floor over the first `limit` records of `src` whose results (JSON Lines, in order) are in
    `results`: seconds to read and `loads` each record and `dumps` and write its result, and the record count.
    Results are parsed 1,000 at a time outside the timing (as objects they take ~4x their text)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
    decode = json.JSONDecoder().decode
    seconds, count = 0.0, 0
    with open(src, "rb") as fin, open(results, "rb") as fres:
        out = open(Path(tempfile.gettempdir()) / f"backpath-results-floor-{os.getpid()}.jsonl", "wb",
                   buffering=1 << 20)
        try:
            while count < limit:
                lines = [line for line in (fin.readline() for _ in range(min(1000, limit - count))) if line]
                objs = [decode(fres.readline().decode("utf-8")) for _ in lines]
                if not lines:
                    break
                started = time.perf_counter()
                for line, obj in zip(lines, objs):
                    decode(line.decode("utf-8"))
                    out.write((encode(obj) + "\n").encode("utf-8"))
                seconds += time.perf_counter() - started
                count += len(lines)
        finally:
            out.close()
            os.unlink(out.name)
    return seconds, count


def library_rates(src: Path, pathway: Pathway, limit: int = 20_000) -> tuple[float, float]:
    """Records/s of `backpath.assess_lines` over the first `limit` lines and of `loads` + `assess` + `dumps` a
    record at a time over a quarter of them, in this process, after a warm-up on 1,000 lines of each."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
    with open(src, "rb") as fh:
        lines = [line for _, line in zip(range(limit + 1000), fh)]
    warm, lines = lines[:1000], lines[1000:]

    def one_by_one(part: list[bytes]) -> None:
        for line in part:
            record = json.loads(line)
            encode(backpath.assess(pathway, record["answers"], record_id=record["id"]))

    for run in (lambda part: list(backpath.assess_lines(pathway, part)), one_by_one):
        run(warm)
    started = time.perf_counter()
    list(backpath.assess_lines(pathway, lines))
    chunked = len(lines) / (time.perf_counter() - started)
    quarter = lines[: len(lines) // 4]
    started = time.perf_counter()
    one_by_one(quarter)
    return chunked, len(quarter) / (time.perf_counter() - started)


# `python -m backpath`, and when it ends the CPU seconds of the batch process alone (not its workers) to a file.
_OWN_CPU = """
import atexit, os, resource, runpy, sys

def _own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["BENCH_OWN_CPU"], "w") as fh:
        fh.write(str(usage.ru_utime + usage.ru_stime))

atexit.register(_own_cpu)
sys.argv[0] = "backpath"
runpy.run_module("backpath", run_name="__main__", alter_sys=True)
"""


def run_batch(src: Path, dst: Path | None, pathway_ref: str, jobs: int,
              fmt: str = "jsonl") -> tuple[float, float, int, float]:
    """Run `backpath batch` as a user would, output to `dst` (None: stdout, discarded).

    Returns (seconds, peak MB, minor page faults of the batch process and its workers, CPU seconds of the batch
    process alone: with --jobs, what it spends reading input, handing chunks out and writing results, a
    ceiling on the rate however many cores the workers get). Peak memory is the
    largest total PSS (proportional set size: shared pages counted once) of the batch process and its workers,
    sampled from /proc (every 0.1 s at first, then up to every 1 s); where /proc is missing, the max RSS of the
    batch process plus that of the largest worker per worker (an upper bound).
    """
    cmd = [sys.executable, "-c", _OWN_CPU, "batch", str(src), "--output", "-" if dst is None else str(dst),
           "--pathway", pathway_ref, "--jobs", str(jobs), "--format", fmt, "--quiet"]
    own_cpu = src.with_name(f"own-cpu-{jobs}.txt")
    faults_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "BENCH_OWN_CPU": str(own_cpu)})
    peak_kb = 0
    while proc.poll() is None:
        peak_kb = max(peak_kb, tree_pss_kb(proc.pid))
        time.sleep(min(1.0, 0.1 + (time.perf_counter() - started) / 20))  # reading /proc costs CPU: sample less later
    seconds = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"backpath batch exited {proc.returncode}: {stderr}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not peak_kb:
        peak_kb = usage.ru_maxrss * (jobs + 1 if jobs > 1 else 1)  # KiB on Linux
    cpu = float(own_cpu.read_text())
    own_cpu.unlink()
    return seconds, peak_kb / 1024, usage.ru_minflt - faults_before, cpu


def tree_pss_kb(pid: int) -> int:
    """Total PSS in KiB of `pid` and its descendants (0 where /proc cannot tell)."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="records to generate (default 100000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the records (default 1)")
    parser.add_argument("--pathway", default="low-back-pain", help="bundled id or YAML path")
    parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="--jobs values to run (default 1 2)")
    parser.add_argument("--format", default="jsonl", choices=["jsonl", "json", "csv"],
                        help="batch output format to measure (default jsonl: full results)")
    parser.add_argument("--keep", metavar="DIR", help="keep the records and outputs in DIR")
    parser.add_argument("--profile", type=int, metavar="N", default=0, help="also split the time of N records "
                        "into parsing, the column engine and writing results, and print the top of a cProfile run on "
                        "N more (needs --records >= 2N)")
    parser.add_argument("--discard", action="store_true", help="send batch output to /dev/null (for very large "
                        "runs: 1,000,000 default-pathway results are about 20 GB)")
    args = parser.parse_args()

    pathway = backpath.load_pathway(args.pathway)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="backpath-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "records.jsonl"
    t = time.perf_counter()
    write_records(src, pathway, args.records, args.seed)
    size = src.stat().st_size
    print(f"backpath {backpath.__version__}, pathway {pathway.id} {pathway.version}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{args.records:,} records (seed {args.seed}), {size / 1e6:.1f} MB of JSON Lines, generated in "
          f"{time.perf_counter() - t:.1f} s")

    floor = json_floor(src, folder / "floor.jsonl")
    print(f"JSON floor (read + loads + dumps + write, no assessment): {floor:.2f} s, "
          f"{args.records / floor:,.0f} records/s")
    if args.profile:
        profile(src, pathway, args.profile)
    if args.format == "jsonl":
        chunked, single = library_rates(src, pathway)
        print(f"library, one process: backpath.assess_lines {chunked:,.0f} records/s; json.loads + backpath.assess + "
              f"json.dumps a record at a time {single:,.0f} records/s")
    empty = folder / "empty.jsonl"
    empty.write_bytes(b"")
    start_up = min(run_batch(empty, None, args.pathway, 2)[3] for _ in range(3))  # CPU of a run with no records
    empty.unlink()
    rates = {}
    outputs = []
    for jobs in args.jobs:
        dst = None if args.discard else folder / f"out-jobs{jobs}.{args.format}"
        seconds, peak, faults, own = run_batch(src, dst, args.pathway, jobs, args.format)
        rates[jobs] = args.records / seconds
        written = "discarded" if dst is None else \
            f"{dst.stat().st_size / 1e6:,.0f} MB written ({dst.stat().st_size / args.records:,.0f} bytes/record)"
        print(f"--format {args.format} --jobs {jobs}: {seconds:.2f} s, {rates[jobs]:,.0f} records/s, "
              f"{seconds / floor:.1f}x the floor, peak memory {peak:.0f} MB, {faults / args.records:.1f} page faults a "
              f"record, output {written}")
        if jobs != 1:
            per_record = max(own - start_up, 1e-9) / args.records
            print(f"  the batch process itself (reading, handing out chunks, writing results): {own:.2f} s CPU, "
                  f"{start_up:.2f} s of it starting; {per_record * 1e6:.0f} us a record, a ceiling of "
                  f"{1 / per_record:,.0f} records/s however many cores the workers have")
        if dst is not None:
            outputs.append(dst)
    if args.format == "jsonl":  # the floor of writing full results (CSV rows carry no reasons)
        results = outputs[0] if outputs else None
        if results is None:  # results discarded: make those of the first 20,000 records (untimed)
            sample, results = folder / "sample.jsonl", folder / "sample-out.jsonl"
            with open(src, "rb") as fin, open(sample, "wb") as fout:
                fout.writelines(line for _, line in zip(range(20_000), fin))
            run_batch(sample, results, args.pathway, 1)
        seconds, count = results_floor(src, results)
        print(f"results floor (read + loads each record, dumps + write its result; first {count:,} records): "
              f"{count / seconds:,.0f} records/s")
    if outputs and args.format == "jsonl":
        seconds = disk_floor(outputs[0], folder)
        size = outputs[0].stat().st_size
        print(f"disk floor (write the {size / 1e6:,.0f} MB of results again and fsync, no assessment): "
              f"{seconds:.2f} s, {size / seconds / 1e6:,.0f} MB/s, a ceiling of {args.records / seconds:,.0f} "
              "records/s for this disk")
    if 1 in rates and 2 in rates:
        print(f"--jobs 2 / --jobs 1: {rates[2] / rates[1]:.2f}x")
    if len(outputs) > 1:
        digests = {sha256_of(o) for o in outputs}
        print("outputs byte-identical across --jobs:", "yes" if len(digests) == 1 else "NO")
    if not args.keep:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


def profile(src: Path, pathway: Pathway, n: int) -> None:
    """Where one process spends its time on `n` records, in microseconds per record: the batch's own steps
    (parse each line; check the answers and decide through the compiled pathway; write the result's JSON text),
    after one warm-up pass over the same records (so the writer's memos are warm: an upper bound on what a long
    run gains from them), then the top of a cProfile run of `assess_chunk` on fresh records."""
    import cProfile
    import pstats

    from backpath.batch.streams import LINE, Chunk
    from backpath.batch.work import assess_chunk
    from backpath.core.engine import _decided

    with open(src, "rb") as fh:
        lines = [fh.readline() for _ in range(2 * n)]
    lines = [line for line in lines if line]
    fresh, lines = lines[n:], lines[:n]
    from backpath.system.heap import keep_freed_memory

    keep_freed_memory()  # as a batch run does
    best = {"parse": 1e9, "check+decide": 1e9, "write": 1e9}
    for _ in range(4):
        spent = dict.fromkeys(best, 0.0)
        t = time.process_time()
        records = [json.loads(line) for line in lines]
        spent["parse"] += time.process_time() - t
        t = time.process_time()
        decided = [_decided(pathway, r["answers"], r["id"]) for r in records]
        spent["check+decide"] += time.process_time() - t
        t = time.process_time()
        for r, d in zip(records, decided):
            if type(d) is tuple:
                plan, checked, tier, contributing = d
                plan.writer.write(r["id"], checked.values, tier, contributing, [])
        spent["write"] += time.process_time() - t
        best = {k: min(best[k], spent[k]) for k in best}
    print("per record, best of 4 (CPU time, warm memos): " + ", ".join(f"{k} {v / len(lines) * 1e6:,.0f} us"
                                                                     for k, v in best.items()))
    chunk = Chunk(start=1, items=[(LINE, str(src), i, line) for i, line in enumerate(fresh, 1)])
    profiler = cProfile.Profile()
    profiler.runcall(assess_chunk, pathway, chunk, "jsonl")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    main()
