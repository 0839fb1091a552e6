"""Hostile input, one row per kind of attack (issue 16): what it does, the exit code, a fragment of the message,
and that nothing is lost (the records still come out, a link is still a link, a file keeps its mode).

Each row runs the real command in a fresh folder, with stdout redirected to a file there when the attack needs
it. A new attack is one more row. Rows that need timing or signals (kill -9 of a running batch) are the tests
after the table.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI = str(FIXTURES / "mini.yaml")
OK = {"age": 40, "weeks": 3, "leg": False, "flags": [], "mood": "good"}
ESC = "\x1b"


def _reject_constant(name: str):
    raise ValueError(f"not JSON: {name}")


def strict_json(text: str):
    """JSON as other programs read it: `NaN` and `Infinity` are not JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def jsonl(path: Path) -> list[dict]:
    return [strict_json(line) for line in path.read_text(encoding="utf-8").splitlines()]


def records(*answers: dict, ids: list | None = None) -> str:
    ids = ids or list(range(1, len(answers) + 1))
    return "".join(json.dumps({"id": i, "answers": a}) + "\n" for i, a in zip(ids, answers))


def mini_with(old: str, new: str) -> str:
    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1)


@dataclass(frozen=True)
class Attack:
    kind: str  # the issue's item number, then what is tried
    argv: list[str]  # after `backpath`; run in a fresh folder holding `files`
    exit: int
    message: str  # a fragment of what it prints (stderr or stdout), line breaks aside
    files: dict[str, str | bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # name -> where the link points
    modes: dict[str, int] = field(default_factory=dict)  # name -> mode set before the run
    stdin: str | None = None  # a file of the folder to read as stdin
    stdout: str | None = None  # a file of the folder to send stdout to (else captured)
    kept: Callable[[Path, str, str], None] | None = None  # (folder, stdout, stderr): nothing lost
    timeout: float = 60


def _results_in(name: str, count: int, *, ok: int | None = None):
    def check(folder: Path, out: str, err: str) -> None:
        results = jsonl(folder / name)
        assert len(results) == count
        if ok is not None:
            assert sum(r["status"] == "ok" for r in results) == ok

    return check


def _link_kept(link: str, name: str, count: int):
    def check(folder: Path, out: str, err: str) -> None:
        assert (folder / link).is_symlink(), f"{link} was replaced"
        _results_in(name, count)(folder, out, err)

    return check


def _both(name: str, link: str):
    """The result and then the saved answers, both in `name` (stdout), and `link` still a link."""
    def check(folder: Path) -> None:
        text = (folder / name).read_text(encoding="utf-8")
        assert os.path.islink(folder / link), f"{link} was replaced"
        result_end = text.index("\n}\n") + 3
        assert strict_json(text[:result_end])["status"] == "ok"
        assert strict_json(text[result_end:]) == {"answers": OK}

    return check


def _mode_kept(name: str, mode: int, count: int | None = None):
    def check(folder: Path, out: str, err: str) -> None:
        assert stat.S_IMODE((folder / name).stat().st_mode) == mode
        if count is not None:
            _results_in(name, count)(folder, out, err)

    return check


def _small(limit: int, *, results: str | None = None, count: int | None = None):
    """Messages (and each result in `results`) stay under `limit` bytes, whatever the input held."""
    def check(folder: Path, out: str, err: str) -> None:
        assert len(err) < limit and len(out) < limit * (count or 1)
        if results is not None:
            lines = (folder / results).read_text(encoding="utf-8").splitlines()
            assert len(lines) == count
            assert all(len(line) < limit for line in lines)

    return check


def _no_escape(folder: Path, out: str, err: str) -> None:
    assert ESC not in out and ESC not in err


def _csv_neutral(folder: Path, out: str, err: str) -> None:
    import csv
    import io

    rows = list(csv.reader(io.StringIO((folder / "out.csv").read_text(encoding="utf-8"))))
    ids = [row[0] for row in rows[1:]]
    assert ids == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'@SUM(A1)", "'-2", "'\tx", "safe", "7"]


def _unchanged(name: str, text: str):
    def check(folder: Path, out: str, err: str) -> None:
        assert (folder / name).read_text(encoding="utf-8") == text

    return check


def _valid_json_unknown_big(folder: Path, out: str, err: str) -> None:
    result = strict_json(out)
    assert result["status"] == "ok"
    assert "overflow-fires" not in [r["id"] for r in result.get("rules_fired", result.get("trace", []))
                                    if isinstance(r, dict)]
    assert "overflow-fires" not in out  # `not (big < 5)` must not fire on an unknown value


def _batch_valid_json(folder: Path, out: str, err: str) -> None:
    results = jsonl(folder / "out.jsonl")
    assert [r["status"] for r in results] == ["ok"] * 20
    assert "overflow-fires" not in (folder / "out.jsonl").read_text(encoding="utf-8")


DEEP = "not " * 100_000 + "true"
OVERFLOW = mini_with('{id: weeks, prompt: Weeks, type: number, min: 0, max: 2600, unit: weeks}',
                     '{id: weeks, prompt: Weeks, type: number, min: 0, unit: weeks}').replace(
    '  - {id: chronic, description: Over 12 weeks, expr: "weeks > 12"}',
    '  - {id: chronic, description: Over 12 weeks, expr: "weeks > 12"}\n'
    '  - {id: big, description: Overflows, expr: "weeks * weeks * weeks"}').replace(
    "rules:\n",
    "rules:\n  - {id: overflow-fires, when: 'not (big < 5)', offer: [advice], reason: Overflow., "
    "sources: [{id: SRC, section: '3'}]}\n", 1)
HUGE_WEEKS = dict(OK, weeks=1e300)
NESTED = {"derived expr": ('expr: "weeks > 12"', f'expr: "{DEEP}"'),
          "cases when": ("- {when: \"total <= 1\", value: low}", f"- {{when: \"{DEEP}\", value: low}}"),
          "score item when": ("- {question: leg}", f"- {{question: leg, when: \"{DEEP}\"}}")}

ATTACKS = [
    # 1. outputs through links and to devices
    Attack("1 batch --output through a link to stdout", ["batch", "in.jsonl", "-p", MINI, "-q", "--output", "s"],
           0, "", files={"in.jsonl": records(OK, OK)}, links={"s": "/proc/self/fd/1"}, stdout="o.jsonl",
           kept=_link_kept("s", "o.jsonl", 2)),
    Attack("1 batch --output /dev/stdout, stdout to a file", ["batch", "in.jsonl", "-p", MINI, "-q", "--output",
           "/dev/stdout"], 0, "", files={"in.jsonl": records(OK, OK)}, stdout="o.jsonl",
           kept=lambda folder, out, err: (os.path.islink("/dev/stdout") and _results_in("o.jsonl", 2)(folder, out,
                                                                                                       err))),
    Attack("1 batch --output through a link to a file", ["batch", "in.jsonl", "-p", MINI, "-q", "-o", "link"], 0,
           "", files={"in.jsonl": records(OK, OK, OK), "real.jsonl": ""}, links={"link": "real.jsonl"},
           kept=_link_kept("link", "real.jsonl", 3)),
    Attack("1 batch --output a link to nothing", ["batch", "in.jsonl", "-p", MINI, "-o", "link"], 2,
           "which does not exist", files={"in.jsonl": records(OK)}, links={"link": "missing/none.jsonl"}),
    Attack("1 assess --save-answers through a link to stdout", ["assess", "-p", MINI, "--answers", "a.json",
           "--format", "json", "--save-answers", "s"], 0, "", files={"a.json": json.dumps(OK)},
           links={"s": "/proc/self/fd/1"}, stdout="o.txt", kept=lambda folder, out, err: _both("o.txt", "s")(folder)),
    Attack("1 assess --save-answers /dev/stdout, stdout to a file", ["assess", "-p", MINI, "--answers", "a.json",
           "--format", "json", "--save-answers", "/dev/stdout"], 0, "", files={"a.json": json.dumps(OK)},
           stdout="o.txt", kept=lambda folder, out, err: _both("o.txt", "/dev/stdout")(folder)),
    # 2. answer content must not drive memory and time
    Attack("2 assess with a 1 MB option value", ["assess", "-p", MINI, "--answers", "a.json"], 1,
           "is not an option", files={"a.json": json.dumps(dict(OK, mood="x" * 1_000_000))}, timeout=20,
           kept=_small(2_000)),
    Attack("2 assess with a 1 MB unknown key", ["assess", "-p", MINI, "--answers", "a.json"], 1,
           "unknown question", files={"a.json": json.dumps(dict(OK, **{"k" * 1_000_000: 1}))}, timeout=20,
           kept=_small(2_000)),
    Attack("2 batch with 20 lines of 1 MB values", ["batch", "in.jsonl", "-p", MINI, "-q", "-o", "out.jsonl"], 1,
           "", files={"in.jsonl": records(*[dict(OK, mood="y" * 1_000_000, **{"z" * 40_000: 1})] * 20)},
           timeout=60, kept=_small(2_000, results="out.jsonl", count=20)),
    Attack("2 batch record with 90,000 unknown keys", ["batch", "in.jsonl", "-p", MINI, "-q", "-o", "out.jsonl"],
           1, "", files={"in.jsonl": records(dict(OK, **{f"{i:x}": 0 for i in range(90_000)}), OK)},
           kept=lambda folder, out, err: (_small(8_000, results="out.jsonl", count=2)(folder, out, err),
                                          _results_in("out.jsonl", 2, ok=1)(folder, out, err))),
    Attack("2 batch: a 500 KB key given twice", ["batch", "in.jsonl", "-p", MINI, "-q", "-o", "out.jsonl"], 1, "",
           files={"in.jsonl": f'{{"answers": {{"{"d" * 500_000}": 1, "{"d" * 500_000}": 2}}}}\n' + records(OK)},
           kept=lambda folder, out, err: (_small(2_000, results="out.jsonl", count=2)(folder, out, err),
                                          _results_in("out.jsonl", 2, ok=1)(folder, out, err))),
    # 4. non-finite numbers
    Attack("4 assess: a derived fact overflows", ["assess", "-p", "p.yaml", "--answers", "a.json", "-f", "json"], 0,
           "", files={"p.yaml": OVERFLOW, "a.json": json.dumps(HUGE_WEEKS)}, kept=_valid_json_unknown_big),
    Attack("4 batch: a derived fact overflows", ["batch", "in.jsonl", "-p", "p.yaml", "-q", "-o", "out.jsonl"], 0,
           "", files={"p.yaml": OVERFLOW, "in.jsonl": records(*[HUGE_WEEKS, dict(OK, weeks=1)] * 10)},  # over columns
           kept=_batch_valid_json),
    # 5. pathway content: located findings in validate, a clean exit 2 elsewhere
    *[Attack(f"5 {command} with a 100,000-deep `not` in a {where}", [command, "p.yaml"] if command == "validate"
             else [command, "-p", "p.yaml", *(["in.jsonl"] if command == "batch" else []),
                   *(["--answers", "a.json"] if command == "assess" else [])],
             1 if command == "validate" else 2, "over the limit of 2,000",
             files={"p.yaml": mini_with(*change), "a.json": json.dumps(OK), "in.jsonl": records(OK)})
      for where, change in NESTED.items() for command in ("validate", "assess", "batch", "questions")],
    Attack("5 validate: a 400-digit number in an expression", ["validate", "p.yaml"], 1, "at most 16 digits",
           files={"p.yaml": mini_with('expr: "age - weeks / 52"', f'expr: "age * 1{"0" * 400} / 2"')}),
    Attack("5 assess: a 400-digit number in an expression", ["assess", "-p", "p.yaml", "--answers", "a.json"], 2,
           "at most 16 digits", files={"p.yaml": mini_with('expr: "age - weeks / 52"',
                                                           f'expr: "age * 1{"0" * 400} / 2"'),
                                       "a.json": json.dumps(OK)}),
    Attack("5 validate: a derived fact that can overflow (a warning)", ["validate", "p.yaml"], 0, "`onset_age` can "
           "reach more than any float", files={"p.yaml": mini_with('expr: "age - weeks / 52"', 'expr: "age' +
                                                                   " * 9999999999999999" * 20 + '"')}),
    Attack("5 validate: min: .nan", ["validate", "p.yaml"], 1, "nan is not a finite number",
           files={"p.yaml": mini_with("min: 16, max: 110", "min: .nan, max: 110")}),
    Attack("5 validate: a full-width name", ["validate", "p.yaml"], 1, "not plain ASCII",
           files={"p.yaml": mini_with('expr: "weeks > 12"', 'expr: "ｗｅｅｋｓ > 12"')}),
    Attack("5 validate: a pathway over 8 MiB", ["validate", "p.yaml"], 1, "over the limit of 8,388,608 bytes",
           files={"p.yaml": mini_with("# A small", "#" + "x" * (8 << 20) + "\n# A small")}),
    Attack("5 validate: a cases file over 8 MiB", ["validate", "mini.yaml"], 1, "the cases file is over the limit",
           files={"mini.yaml": (FIXTURES / "mini.yaml").read_text(encoding="utf-8"),
                  "mini.cases.yaml": "#" + "x" * (8 << 20) + "\n"}),
    # 6. CSV formula injection
    Attack("6 batch --format csv: ids that are formulas", ["batch", "in.jsonl", "-p", MINI, "-q", "-f", "csv", "-o",
           "out.csv"], 0, "", files={"in.jsonl": records(*[OK] * 7, ids=[
               '=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2", "\tx", "safe", 7])}, kept=_csv_neutral),
    # 7. replacing an output keeps its mode
    Attack("7 batch replaces a 0600 results file", ["batch", "in.jsonl", "-p", MINI, "-q", "-o", "out.jsonl"], 0,
           "", files={"in.jsonl": records(OK), "out.jsonl": "old\n"}, modes={"out.jsonl": 0o600},
           kept=_mode_kept("out.jsonl", 0o600, 1)),
    Attack("7 assess replaces a 0600 answers file", ["assess", "-p", MINI, "--answers", "a.json",
           "--save-answers", "saved.json"], 0, "", files={"a.json": json.dumps(OK), "saved.json": "{}"},
           modes={"saved.json": 0o600}, kept=_mode_kept("saved.json", 0o600)),
    # 8. escape sequences never reach the terminal
    Attack("8 assess: ESC in an answer key and value", ["assess", "-p", MINI, "--answers", "a.json"], 1, "\\x1b",
           files={"a.json": json.dumps(dict(OK, mood=f"{ESC}[2J", **{f"{ESC}]0;pwned{ESC}\\": 1}))},
           kept=_no_escape),
    Attack("8 validate: ESC in pathway text", ["validate", "p.yaml"], 1, "control character",
           files={"p.yaml": mini_with("title: Mini test pathway", 'title: "Mini \\e[31mred"')},
           kept=_no_escape),
    Attack("8 assess: ESC in pathway text", ["assess", "-p", "p.yaml", "--answers", "a.json", "-f", "markdown"],
           2, "control character", files={"p.yaml": mini_with("title: Mini test pathway", 'title: "Mini \\e[31mred"'),
                                          "a.json": json.dumps(OK)}, kept=_no_escape),
    Attack("8 validate: a newline in a YAML key", ["validate", "p.yaml"], 1, "\\n",
           files={"p.yaml": mini_with("title: Mini test pathway", 'title: Mini\n"x\\ntests: 1 error": 1')},
           kept=lambda folder, out, err: ("\ntests: 1 error" not in out or pytest.fail("line injected"))),
    # 9. unbounded reads
    Attack("9 assess --answers /dev/zero", ["assess", "-p", MINI, "--answers", "/dev/zero"], 2,
           "over the limit of 1,048,576 bytes", timeout=20),
    Attack("9 assess --answers a 2 MB file", ["assess", "-p", MINI, "--answers", "a.json"], 2,
           "over the limit of 1,048,576 bytes", files={"a.json": json.dumps(dict(OK, pad="p" * (2 << 20)))}),
    # 10. smaller ones
    Attack("10 batch - -o f < f replaces its own input", ["batch", "-", "-p", MINI, "-o", "f.jsonl"], 2,
           "is also an input (stdin)", files={"f.jsonl": records(OK)}, stdin="f.jsonl",
           kept=_unchanged("f.jsonl", records(OK))),
    Attack("10 batch to a 250-character file name", ["batch", "in.jsonl", "-p", MINI, "-q", "-o", "r" * 244 +
           ".jsonl"], 0, "", files={"in.jsonl": records(OK)}, kept=_results_in("r" * 244 + ".jsonl", 1)),
    Attack("10 batch: a record with an extra top-level key", ["batch", "in.jsonl", "-p", MINI, "-q", "-o",
           "out.jsonl"], 1, "", files={"in.jsonl": json.dumps({"id": 1, "answers": OK, "red_flags": ["x"]}) + "\n"
                                       + json.dumps({"id": 2, "answers": OK}) + "\n"},
           kept=lambda folder, out, err: (
               "besides `id` and `answers`" in jsonl(folder / "out.jsonl")[0]["errors"][0]["message"]
               and _results_in("out.jsonl", 2, ok=1)(folder, out, err) is None or pytest.fail("not refused"))),
    Attack("10 assess: a record with an extra top-level key", ["assess", "-p", MINI, "--answers", "a.json"], 1,
           "besides `id` and `answers`", files={"a.json": json.dumps({"id": 1, "answers": OK, "red_flags": []})}),
]


def _run(attack: Attack, folder: Path) -> tuple[subprocess.CompletedProcess, str]:
    for name, content in attack.files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(folder / name, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(content)
    for name, target in attack.links.items():
        os.symlink(target, folder / name)
    for name, mode in attack.modes.items():
        os.chmod(folder / name, mode)
    stdin = open(folder / attack.stdin, "rb") if attack.stdin else subprocess.DEVNULL  # noqa: SIM115
    stdout = open(folder / attack.stdout, "wb") if attack.stdout else subprocess.PIPE  # noqa: SIM115
    try:
        proc = subprocess.run([sys.executable, "-m", "backpath", *attack.argv], cwd=folder, stdin=stdin,
                              stdout=stdout, stderr=subprocess.PIPE, timeout=attack.timeout)
    finally:
        for fh in (stdin, stdout):
            if hasattr(fh, "close"):
                fh.close()
    out = (proc.stdout or b"").decode("utf-8", "replace")
    return proc, out


def _system_links() -> dict[str, str | None]:
    return {name: os.readlink(name) if os.path.islink(name) else None
            for name in ("/dev/stdout", "/dev/stderr", "/dev/stdin")}


@pytest.fixture
def system_links_kept():
    """A build that replaces /dev/stdout (as root, before issue 16's fix) would break it for every process on the
    machine: put the link back at once, then fail."""
    before = _system_links()
    yield
    after = _system_links()
    for name, target in before.items():
        if target is not None and after[name] != target:
            os.symlink(target, name + ".backpath-test")
            os.replace(name + ".backpath-test", name)
    assert after == before, "a system link was replaced (and has been put back)"


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.kind for a in ATTACKS])
def test_hostile_input(attack: Attack, tmp_path: Path, system_links_kept):
    proc, out = _run(attack, tmp_path)
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode == attack.exit, (proc.returncode, err[-2000:], out[-2000:])
    assert attack.message in " ".join((err + out).split()), (err[-2000:], out[-2000:])  # as if not wrapped
    if attack.kept is not None:
        attack.kept(tmp_path, out, err)


# --- beyond the table: memory, kill -9 -------------------------------------------------------------------------

def test_big_records_make_small_chunks(tmp_path: Path):
    """Memory stays flat whatever the records hold: a chunk ends once it holds `CHUNK_BYTES` of input (500
    records of 1 MiB would otherwise be one 500 MB chunk; measured: 400 such lines took 1.27 GB and 49 s before,
    75 MB and 1.5 s after)."""
    from backpath.batch.streams import CHUNK_BYTES, MAX_LINE_BYTES, input_specs, read_chunks

    line = json.dumps({"answers": dict(OK, mood="y" * (MAX_LINE_BYTES - 200))}) + "\n"
    (tmp_path / "big.jsonl").write_text(line * 40, encoding="utf-8")
    chunks = list(read_chunks(input_specs([str(tmp_path / "big.jsonl")])))
    assert sum(len(c.items) for c in chunks) == 40
    assert len(chunks) > 1 and all(c.nbytes < CHUNK_BYTES + MAX_LINE_BYTES for c in chunks)


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow  # ~2 s: `.ci/run` runs it (`-m slow`), so that the default run stays under 90 s
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers and /proc: Linux")
def test_kill_9_of_batch_jobs_2_takes_its_workers_and_a_later_run_cleans_up(tmp_path: Path):
    """Issue 16 item 3: workers die with a batch process killed with SIGKILL, and what it left (its temporary
    output file, its hand-off folder in /dev/shm) is removed by a later run once its lock is free."""
    src = tmp_path / "in.jsonl"
    src.write_text(records(*[OK] * 400_000), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "backpath", "batch", str(src), "-p", MINI, "-q", "--jobs", "2",
                             "-o", str(tmp_path / "out.jsonl")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            workers = _children(proc.pid)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(0.5)  # let them get into their chunks
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_running, workers)), "workers outlived the batch process"
    finally:
        for pid in [proc.pid, *workers, *_children(proc.pid)]:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    from backpath.batch import handoff
    from backpath.system.fileio import output_target, remove_stale_parts

    parts = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert parts, "the killed run should have left its temporary output file"
    later = time.time() + 120  # a later run, once the files are over a minute old
    target = output_target(tmp_path / "out.jsonl")
    assert sorted(remove_stale_parts(target, now=later)) == sorted(map(str, parts))
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())
    left = [n for n in os.listdir(handoff.SHARED_MEMORY) if n.startswith(f"{handoff.PREFIX}{proc.pid}-")] \
        if os.path.isdir(handoff.SHARED_MEMORY) else []
    handoff.remove_stale(now=later)
    assert not [n for n in left if os.path.exists(os.path.join(handoff.SHARED_MEMORY, n))]


def test_a_live_runs_temporary_file_is_never_removed(tmp_path: Path):
    """A `.part` file whose lock is held (a live run, perhaps in another container) stays, however old."""
    import fcntl

    from backpath.system.fileio import output_target, remove_stale_parts

    part = tmp_path / ".out.jsonl.999999999-abcdefgh.part"  # a process id no process has
    part.write_text("{}\n")
    fd = os.open(part, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert remove_stale_parts(output_target(tmp_path / "out.jsonl"), now=time.time() + 3600) == []
        assert part.exists()
    finally:
        os.close(fd)
    assert remove_stale_parts(output_target(tmp_path / "out.jsonl"), now=time.time() + 3600) == [str(part)]
    other = tmp_path / ".other.jsonl.999999999-abcdefgh.part"  # another output's: not this run's to judge
    other.write_text("{}\n")
    assert remove_stale_parts(output_target(tmp_path / "out.jsonl"), now=time.time() + 3600) == []
    assert other.exists()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_full_disk_under_stdout_reports_the_records_written_whole(tmp_path: Path, jobs: int):
    """Issue 16 item 10: stdout on a disk that fills up keeps what reached it; the count printed is of the
    records written whole (it said "stopped after 0 records" with 318 whole records there, and nothing of the
    part after them)."""
    import resource

    src = tmp_path / "in.jsonl"
    src.write_text(records(*[OK] * 5_000), encoding="utf-8")

    def small_files() -> None:  # the disk is "full" after 300 KB (EFBIG; Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300 << 10, 300 << 10))

    with open(tmp_path / "out.jsonl", "wb") as stdout:
        proc = subprocess.run([sys.executable, "-m", "backpath", "batch", str(src), "-p", MINI, "--jobs", str(jobs)],
                              stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=small_files)
    assert proc.returncode == 1, proc.stderr
    message = " ".join(proc.stderr.split())
    reported = int(message.split("stopped after ")[1].split(" records written whole")[0].replace(",", ""))
    lines = (tmp_path / "out.jsonl").read_bytes().split(b"\n")
    whole = lines[:-1]
    assert len(whole) >= reported
    assert all(json.loads(line)["status"] == "ok" for line in whole)
    assert "part of the records after them may follow" in message


def test_because_shows_an_answer_as_given(tmp_path: Path):
    """Issue 16 item 10 (audit fidelity): 12.004 weeks was shown as 12.0 in `because`; an answer is shown as
    given, by `assess` and by `batch` (whose records are decided together over columns)."""
    import backpath

    answers = dict(OK, weeks=12.004, leg=True, leg_nrs=8)
    result = backpath.assess(backpath.load_pathway(MINI), answers, record_id=1)
    text = json.dumps(result)
    assert '"weeks": 12.004' in text and '"weeks": 12.0,' not in text
    (tmp_path / "in.jsonl").write_text(records(*[answers] * 20), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "backpath", "batch", "in.jsonl", "-p", MINI, "-q"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first == json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    assert '"weeks":12.004' in first


_ORPHAN_SCRIPT = """
import multiprocessing, os, sys, time
from backpath.system import lifeline

def child(path, how):
    if how == "watch":
        lifeline._request_death_signal = lambda: False  # as where prctl is not available
        lifeline.WATCH_SECONDS = 0.1
    got = lifeline.die_with_parent()
    with open(path, "w") as fh:
        fh.write(f"{os.getpid()} {got}")
    time.sleep(60)

if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    multiprocessing.Process(target=child, args=(sys.argv[1], sys.argv[2])).start()
    while not os.path.exists(sys.argv[1]) or not open(sys.argv[1]).read():
        time.sleep(0.02)
    os._exit(0)  # the parent dies without a word to its child
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc: Linux")
@pytest.mark.parametrize("how", ["prctl", "watch"])
def test_a_worker_dies_with_its_parent(tmp_path: Path, how: str):
    """`lifeline`: by the parent-death signal, and by watching the parent where that is not available."""
    script = tmp_path / "orphan.py"
    script.write_text(_ORPHAN_SCRIPT, encoding="utf-8")
    subprocess.run([sys.executable, str(script), str(tmp_path / "child"), how], timeout=60, check=True)
    pid, got = (tmp_path / "child").read_text().split()
    assert got == how
    deadline = time.monotonic() + 10
    while _running(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    running = _running(int(pid))
    if running:
        os.kill(int(pid), 9)
    assert not running, "the child outlived its parent"


def test_outside_a_worker_nothing_is_asked():
    from backpath.system import lifeline

    assert lifeline.die_with_parent() == "none"


# --- the pieces -------------------------------------------------------------------------------------------------

def test_messages_quote_at_most_a_bounded_piece_of_a_value():
    from backpath.core.limits import MAX_QUOTED_CHARS
    from backpath.core.shown import clip, quoted, safe

    assert quoted("x" * 10**6).startswith('"xxx') and len(quoted("x" * 10**6)) < MAX_QUOTED_CHARS + 30
    assert "1,000,000 characters" in quoted("x" * 10**6)
    assert quoted(10 ** 4000) == "a whole number of about 4,000 digits"
    assert quoted(list(range(10**5))) == "a list of 100,000 entries"
    assert quoted(True) == "true" and quoted(None) == "null" and quoted(1.5) == "1.5"
    assert clip(f"{ESC}[2J\r\nok") == "\\x1b[2J\\r\\nok"
    assert safe("two\nlines\tand\x07bell\u2028") == "two\nlines\tand\\x07bell\\u2028"


def test_did_you_mean_is_bounded():
    from backpath.core.errors import did_you_mean

    assert did_you_mean("duraton_weeks", ["duration_weeks", "age"]) == " Did you mean `duration_weeks`?"
    started = time.perf_counter()
    assert did_you_mean("duration_weeks" * 100_000, ["duration_weeks", "age"]) == ""
    assert time.perf_counter() - started < 0.5
    assert did_you_mean("x", []) == ""


def test_csv_cells_that_would_be_formulas_get_a_quote():
    from backpath.batch.csvcells import neutral

    for cell in ("=1+1", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutral(cell) == "'" + cell
    for cell in ("ok", "", "a=b", -2, 3.5, None):
        assert neutral(cell) == cell


def test_own_descriptors_are_found_through_links(tmp_path: Path):
    from backpath.system.fileio import output_target, own_descriptor

    os.symlink("/proc/self/fd/1", tmp_path / "s")
    os.symlink(tmp_path / "s", tmp_path / "s2")
    assert own_descriptor("/dev/stdout") == 1 and own_descriptor("/dev/fd/2") == 2
    assert own_descriptor(tmp_path / "s2") == 1
    assert own_descriptor(f"/proc/{os.getpid()}/fd/1") == 1
    if os.getpid() != 1:  # another process's descriptor is a file like any other
        assert own_descriptor("/proc/1/fd/1") is None
    assert own_descriptor(tmp_path / "file") is None
    assert output_target(tmp_path / "s").fd == 1
