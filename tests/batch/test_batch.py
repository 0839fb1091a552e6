"""`backpath batch`: every record in gives one result out, in order, whatever goes wrong with some of them."""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import backpath
from backpath.batch import streams as batch_io
from backpath.cli.main import app
from tests.conftest import EXAMPLES, FIXTURES, ROOT

MINI = str(FIXTURES / "mini.yaml")
OK = {"age": 40, "weeks": 20, "leg": True, "leg_nrs": 8, "flags": [], "mood": "low"}


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


def batch(runner, *args, input=None):
    return runner.invoke(app, ["batch", *map(str, args), "--pathway", MINI], input=input)


def lines_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), "utf-8")
    return path


def varied_records(n: int) -> list[dict]:
    """Valid mini-pathway records of every shape, and an invalid one every 97th."""
    moods = ["good", "low", "very_low"]
    flags = [[], [], [], ["fever"], ["saddle"]]
    out = []
    for i in range(n):
        answers = {"age": 16 + i % 90, "weeks": (i * 7) % 60, "leg": i % 3 == 0, "flags": flags[i % 5],
                   "mood": moods[i % 3]}
        if answers["leg"]:
            answers["leg_nrs"] = i % 11
        if i % 4 == 0:
            answers["requests"] = ["belt", "massage"][: i % 3]
        if i % 97 == 5:
            answers["age"] = 200
        out.append({"id": f"p{i}", "answers": answers} if i % 10 else {"answers": answers})
    return out


# --- the happy path --------------------------------------------------------------------------------

def test_jsonl_all_ok(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "answers": OK}, {"id": 7, "answers": OK}])
    result = batch(runner, src)
    assert result.exit_code == 0, result.stderr
    out = lines_of(result)
    assert [r["id"] for r in out] == ["a", 7]
    assert all(r["status"] == "ok" and r["format_version"] == 1 for r in out)
    assert out[0] == backpath.assess(backpath.load_pathway(MINI), OK, record_id="a")
    assert "2 records read: 2 ok, 0 with errors" in result.stderr
    assert "tiers: conservative 2." in result.stderr
    assert result.stdout.count("\n") == 2 and "{" not in result.stderr  # nothing but records on stdout


def test_output_is_compact_deterministic_json_lines(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "é", "answers": OK}])
    first, second = batch(runner, src), batch(runner, src)
    assert first.stdout_bytes == second.stdout_bytes
    line = first.stdout_bytes.decode("utf-8").rstrip("\n")
    assert line == json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))
    assert '"id":"é"' in line


def test_records_without_id_get_their_position_across_all_inputs(runner, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"answers": OK}, "", {"id": "x", "answers": OK}, {"answers": OK}])
    b = tmp_path / "b.json"
    b.write_text(json.dumps([{"answers": OK}, {"id": None, "answers": OK}]))
    c = tmp_path / "c.json"
    c.write_text(json.dumps({"answers": OK}))
    result = batch(runner, a, b, c)
    assert result.exit_code == 0
    assert [r["id"] for r in lines_of(result)] == [1, "x", 3, 4, 5, 6]  # the blank line is not a record


def test_stdin_json_lines(runner):
    text = json.dumps({"id": "s1", "answers": OK}) + "\n\n" + json.dumps({"answers": OK}) + "\n"
    result = batch(runner, "-", input=text)
    assert result.exit_code == 0
    assert [r["id"] for r in lines_of(result)] == ["s1", 2]


def test_a_named_pipe_is_read_as_json_lines(runner, tmp_path):
    fifo = tmp_path / "fd63"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(json.dumps({"answers": OK}) + "\n",))
    writer.start()
    result = batch(runner, fifo)
    writer.join()
    assert result.exit_code == 0 and lines_of(result)[0]["status"] == "ok"


def test_byte_order_mark_and_crlf_are_accepted(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps({"answers": OK}).encode() + b"\r\n\r\n" +
                    json.dumps({"answers": OK}).encode() + b"\r\n")
    result = batch(runner, src)
    assert result.exit_code == 0 and [r["status"] for r in lines_of(result)] == ["ok", "ok"]


def test_empty_input(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [])
    assert batch(runner, src).stdout == ""
    result = batch(runner, src, "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


# --- every kind of bad record ------------------------------------------------------------------------

BAD_LINES = [
    # (line, path, message fragment)
    ('{"id": "b", "answers": {"age": 200}}', "answers.age", "out of range"),
    ('{"id": "b", "answers": {"agee": 40}}', "answers.agee", "unknown question `agee`. Did you mean `age`?"),
    ("not json", "", "not valid JSON: Expecting value at column 1"),
    ('{"id": 1, "answers": {}', "", "not valid JSON"),
    ("[1, 2]", "", "must be a JSON object"),
    ('"text"', "", "not text"),
    ('{"id": "b"}', "answers", "missing"),
    ('{"age": 40, "weeks": 3}', "answers", "bare answers object"),
    ('{"id": "b", "answers": [1]}', "answers", "must be an object of question id → value, not an array"),
    ('{"id": 2.5, "answers": {}}', "id", "must be text or a whole number"),
    ('{"id": true, "answers": {}}', "id", "must be text or a whole number"),
    ("[" * 100_000 + "]" * 100_000, "", "cannot be read as a record: its JSON nests too deeply"),
    ('{"answers": {"age": ' + "9" * 5000 + "}}", "", "cannot be read as a record: exceeds the limit"),
]


@pytest.mark.parametrize(("line", "path", "fragment"), BAD_LINES)
def test_a_bad_record_gives_an_error_record_and_the_rest_go_on(runner, tmp_path, line, path, fragment):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "first", "answers": OK}, line, {"answers": OK}])
    result = batch(runner, src)
    assert result.exit_code == 1
    first, bad, last = lines_of(result)
    assert first["status"] == "ok" and last["status"] == "ok" and last["id"] == 3
    assert bad["status"] == "error" and bad["format_version"] == 1
    assert bad["source"] == {"file": str(src), "line": 2}
    assert bad["id"] == ("b" if '"id": "b"' in line else 2)
    assert any(e["path"] == path and fragment in e["message"] for e in bad["errors"]), bad["errors"]
    assert f"first errors at: {src}:2" in " ".join(result.stderr.split())  # wrapped at spaces
    assert "errors by kind (a record counts once for each kind it has): " in " ".join(result.stderr.split())


def test_invalid_utf8(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(json.dumps({"answers": OK}).encode() + b'\n{"id": "caf\xe9", "answers": {}}\n')
    result = batch(runner, src)
    assert result.exit_code == 1
    bad = lines_of(result)[1]
    assert bad["source"]["line"] == 2 and "not UTF-8 text (invalid byte 0xe9 at byte 12)" in bad["errors"][0]["message"]


def test_a_line_over_one_mebibyte_is_skipped_not_read(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    huge = json.dumps({"id": "big", "answers": {"pad": "x" * batch_io.MAX_LINE_BYTES}})
    src.write_text("\n".join([json.dumps({"answers": OK}), huge, json.dumps({"answers": OK})]) + "\n")
    result = batch(runner, src)
    assert result.exit_code == 1
    out = lines_of(result)
    assert [r["status"] for r in out] == ["ok", "error", "ok"] and out[1]["id"] == 2
    assert "over the limit of 1,048,576 bytes (1 MiB)" in out[1]["errors"][0]["message"]
    assert out[1]["source"] == {"file": str(src), "line": 2}


def test_a_long_last_line_without_newline(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(batch_io, "MAX_LINE_BYTES", 100)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"answers": OK}) + "\n" + "x" * 101)
    out = lines_of(batch(runner, src))
    assert out[0]["status"] == "ok"
    assert out[1]["source"]["line"] == 2 and "101 bytes long" in out[1]["errors"][0]["message"]


def test_missing_and_unreadable_inputs_give_error_records(runner, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"answers": OK}])
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    result = batch(runner, tmp_path / "missing.jsonl", folder, good)
    assert result.exit_code == 1
    missing, unreadable, ok = lines_of(result)
    assert missing["source"] == {"file": str(tmp_path / "missing.jsonl")} and missing["id"] == 1
    assert "cannot read the input file: No such file or directory" in missing["errors"][0]["message"]
    assert "it is a folder" in unreadable["errors"][0]["message"]
    assert ok["status"] == "ok" and ok["id"] == 3


def test_json_files_bad_whole_or_in_part(runner, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"answers": {}}\n{"answers": {}}\n')
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps([{"answers": OK}, 5, {"id": "z", "answers": {"age": 1}}]))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"id": "caf\xe9"}')
    result = batch(runner, broken, mixed, latin, deep)
    assert result.exit_code == 1
    out = lines_of(result)
    assert [r["status"] for r in out] == ["error", "ok", "error", "error", "error", "error"]
    assert "Extra data at line 2, column 1. If it holds one record a line, name it .jsonl." in \
        out[0]["errors"][0]["message"]
    assert out[2]["source"] == {"file": str(mixed), "record": 2} and out[2]["id"] == 3
    assert out[3]["id"] == "z" and out[3]["source"] == {"file": str(mixed), "record": 3}
    assert "not UTF-8" in out[4]["errors"][0]["message"] and out[4]["source"] == {"file": str(latin)}
    assert "nests too deeply" in out[5]["errors"][0]["message"] and out[5]["id"] == 6


def test_a_lone_surrogate_is_written_back_as_its_escape(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "x\\ud800", "answers": ' + json.dumps(OK) + "}\n")
    result = batch(runner, src)
    assert result.exit_code == 0
    assert '"id":"x\\ud800"' in result.stdout_bytes.decode("utf-8")


# --- formats -----------------------------------------------------------------------------------------

def test_json_format_is_one_array_of_the_same_results(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", varied_records(30))
    as_lines = lines_of(batch(runner, src))
    result = batch(runner, src, "--format", "json")
    assert result.exit_code == 1  # varied_records holds an invalid one
    assert json.loads(result.stdout) == as_lines
    assert result.stdout.startswith("[\n{") and result.stdout.endswith("}\n]\n")


def test_csv_format(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "answers": {**OK, "flags": ["saddle", "fever"]}},
                                              {"answers": {**OK, "requests": ["belt"]}}, "oops"])
    result = batch(runner, src, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "status", "tier", "total", "risk", "red_flags", "recommended",
                             "not_recommended", "errors", "source",  # earlier versions' columns, same places
                             "pathway_id", "pathway_version", "review_in_weeks", "offered", "considered",
                             "requested", "rules_fired", "care_team"]
    assert rows[0]["id"] == "a" and rows[0]["tier"] == "emergency" and rows[0]["red_flags"] == "saddle;fever"
    assert rows[0]["recommended"] == "emergency_referral" and rows[0]["not_recommended"] == "massage"
    assert rows[1]["id"] == "2" and rows[1]["risk"] == "high" and rows[1]["errors"] == ""
    assert rows[2]["status"] == "error" and rows[2]["source"] == f"{src}:3"
    assert rows[2]["errors"].startswith("the line is not valid JSON")


# --- output file, jobs, interruption -----------------------------------------------------------------

def test_output_file(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"answers": OK}])
    dst = tmp_path / "out.jsonl"
    result = batch(runner, src, "--output", dst)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(dst.read_text())["id"] == 1
    assert f"results written to {dst}" in " ".join(result.stderr.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temporary file left


@pytest.mark.parametrize("direct", [True, False], ids=["workers-write-in-turn", "all-handed-over"])
def test_jobs_2_gives_byte_identical_output_in_order(runner, tmp_path, monkeypatch, direct):
    """Forked workers write their chunks into the output in turn, and hand the others to the batch process
    (`turns`); where workers cannot inherit the output, every chunk is handed over. Same bytes either way."""
    from backpath.batch import handoff
    from backpath.batch import run as batch_module

    taken, written = [], []
    real_copy_over = handoff.copy_over
    monkeypatch.setattr(handoff, "copy_over", lambda path, fd: taken.append(path) or real_copy_over(path, fd))
    real_write = batch_module._Framing.write
    monkeypatch.setattr(batch_module._Framing, "write", lambda self, data, handed_over=None, done=False:
                        written.append(done) or real_write(self, data, handed_over, done))
    if not direct:
        monkeypatch.setattr(batch_module, "_workers_inherit_output", lambda: False)
    records = varied_records(2500)
    chunks = len(records) // batch_io.CHUNK_RECORDS
    src = write_jsonl(tmp_path / "in.jsonl", records)
    for fmt in ("jsonl", "csv", "json"):
        one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
        r1 = batch(runner, src, "--format", fmt, "-o", one, "--jobs", "1")
        r2 = batch(runner, src, "--format", fmt, "-o", two, "--jobs", "2", "--quiet")
        assert r1.exit_code == r2.exit_code == 1
        assert one.read_bytes() == two.read_bytes()
        assert r2.stderr == ""
    out = [json.loads(line) for line in (tmp_path / "two.jsonl").read_text().splitlines()]
    assert len(out) == 2500
    assert [r["id"] for r in out] == [rec.get("id", i) for i, rec in enumerate(records, 1)]
    assert sum(r["status"] == "error" for r in out) == sum(rec["answers"]["age"] == 200 for rec in records)
    assert not glob.glob(f"/dev/shm/backpath-{os.getpid()}-*")
    assert len(written) == 3 * 2 * chunks  # two runs, three formats
    if direct:
        assert sum(written) >= 3  # at least each run's first chunk (its turn from the start) by its worker
    else:
        assert not any(written)
        if os.path.isdir("/dev/shm"):
            assert taken  # the results did come through the hand-off folder


def test_jobs_2_writes_to_a_pipe_in_order_and_stops_quietly_when_it_closes(tmp_path):
    """Through a real pipe (the workers' outputs are copied into it by the kernel): the same bytes as one job;
    and a reader that goes away early (`| head`) ends the run with exit code 1, without a traceback."""
    src = write_jsonl(tmp_path / "in.jsonl", varied_records(2500))
    command = [sys.executable, "-m", "backpath", "batch", str(src), "-p", MINI, "--quiet", "--jobs"]
    one = subprocess.run([*command, "1"], capture_output=True, timeout=120)
    two = subprocess.run([*command, "2"], capture_output=True, timeout=120)
    assert one.returncode == two.returncode == 1 and two.stderr == b""
    assert two.stdout == one.stdout and len(one.stdout.splitlines()) == 2500
    proc = subprocess.Popen([*command, "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b'{"format_version":1')
    proc.stdout.close()
    with proc.stderr:
        stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 1 and b"Traceback" not in stderr
    assert not glob.glob(f"/dev/shm/backpath-{proc.pid}-*")


def test_jobs_0_means_one_per_core(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", varied_records(20))
    assert batch(runner, src, "--jobs", "0").stdout == batch(runner, src).stdout


def _spawn_batch(src: Path, dst: Path, jobs: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "backpath", "batch", str(src), "-o", str(dst), "-p", MINI,
                             "--jobs", str(jobs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("jobs", "sig", "code", "word", "after"), [
    (1, signal.SIGINT, 130, "interrupted", 0.3),
    (2, signal.SIGINT, 130, "interrupted", 0.3),
    (2, signal.SIGTERM, 143, "stopped", 0.3),
    # early: while the workers start (a Ctrl-C inside a fork was lost) or the first chunks are in flight (the
    # folder was once removed before the workers had finished writing into it)
    (2, signal.SIGINT, 130, "interrupted", 0.0),
    (2, signal.SIGINT, 130, "interrupted", 0.05),
])
def test_interrupted_run_leaves_the_previous_output_intact(tmp_path, jobs, sig, code, word, after):
    src = tmp_path / "in.jsonl"
    line = json.dumps({"answers": OK}) + "\n"
    src.write_text(line * 400_000)
    dst = tmp_path / "out.jsonl"
    dst.write_text("previous results\n")
    proc = _spawn_batch(src, dst, jobs)
    deadline = time.monotonic() + 20
    while not list(tmp_path.glob(".out.jsonl.*.part")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(after)  # let it start the workers, or write some records
    assert proc.poll() is None, "the batch finished before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert stdout == ""
    assert re.search(word + r" after [\d,]+ records \([\d,]+ ok, 0 errors\); .*out\.jsonl was not written",
                     stderr), stderr
    assert dst.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
    assert not glob.glob(f"/dev/shm/backpath-{proc.pid}-*")  # no handed-over results left in memory


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_stopped_while_writing_to_stdout_reports_exactly_the_records_it_wrote(tmp_path, jobs):
    """Results on stdout stay when a run is stopped; the count it reports is theirs, every line whole (chunks are
    written whole, by the batch process or by a worker in its turn, and counted as they are written)."""
    src = tmp_path / "in.jsonl"
    src.write_text((json.dumps({"answers": OK}) + "\n") * 400_000)
    out = tmp_path / "stdout.jsonl"
    with open(out, "wb") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "backpath", "batch", str(src), "-p", MINI, "--jobs", str(jobs)],
                                stdout=stdout, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while out.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert proc.poll() is None, "the batch finished before it could be stopped"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    reported = int(re.search(r"stopped after ([\d,]+) records", stderr).group(1).replace(",", ""))
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == reported > 0
    assert all(json.loads(line)["status"] == "ok" for line in lines[:-1])


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_output_that_cannot_be_written_is_a_clear_error_not_a_traceback(tmp_path, jobs):
    """/dev/full fails every write with 'No space left on device', like a full disk: as --output, and as stdout
    (with --jobs 2 the first chunk is written by a worker, whose error comes back to the batch process)."""
    src = write_jsonl(tmp_path / "in.jsonl", varied_records(600))
    command = [sys.executable, "-m", "backpath", "batch", str(src), "-p", MINI, "--quiet", "--jobs", jobs]
    with open("/dev/full", "wb") as full:
        for args, stdout, name in ((["-o", "/dev/full"], subprocess.DEVNULL, "/dev/full"), ([], full, "stdout")):
            proc = subprocess.run([*command, *args], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)
            assert proc.returncode == 1, proc.stderr
            assert " ".join(proc.stderr.split()) == (
                f"error: cannot write the results to {name}: No space left on device; stopped after 0 records "
                "written whole, and part of the records after them may follow (the last line cut short).")


def test_a_failed_write_to_a_file_removes_the_temporary_file(runner, tmp_path, monkeypatch):
    import errno

    from backpath.batch.streams import Output

    def full_disk(self, pieces):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Output, "writelines", full_disk)
    src = write_jsonl(tmp_path / "in.jsonl", [{"answers": OK}])
    dst = tmp_path / "out.jsonl"
    result = batch(runner, src, "-o", dst, "--quiet")
    assert result.exit_code == 1
    assert f"cannot write the results to {dst}: No space left on device; stopped after 0 records and {dst} was " \
           "not written." in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                     (signal.SIGTERM, 143, "stopped")])
def test_a_signal_while_the_output_file_is_made_removes_it(runner, tmp_path, monkeypatch, sig, code, word):
    """Ctrl-C or SIGTERM the moment the temporary output file exists (seen in CI: the interrupt came before the
    run could remove the file, so the file stayed and typer exited 130 without a word): the run reports it and
    removes the file, the previous output kept."""
    from backpath.batch.streams import Output

    made = Output.__init__

    def made_then_signalled(self, *args, **kwargs):
        made(self, *args, **kwargs)
        os.kill(os.getpid(), sig)  # as the signal arrives: between two steps of the batch process

    monkeypatch.setattr(Output, "__init__", made_then_signalled)
    src = write_jsonl(tmp_path / "in.jsonl", [{"answers": OK}])
    dst = tmp_path / "out.jsonl"
    dst.write_text("previous results\n")
    result = batch(runner, src, "-o", dst)
    assert result.exit_code == code
    assert f"{word} after 0 records (0 ok, 0 errors); {dst} was not written." in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
    assert dst.read_text() == "previous results\n"


# --- usage errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["in.txt"], "unknown kind of input (.txt)"),
    (["-", "-"], "(stdin) is given more than once"),
    (["in.jsonl", "--output", "."], "is a folder"),
    (["in.jsonl", "--output", "nowhere/out.jsonl"], "does not exist"),
    (["in.jsonl", "--output", "in.jsonl"], "is also an input"),
    (["in.jsonl", "--format", "xml"], "Invalid value"),
    (["in.jsonl", "--jobs", "-1"], "Invalid value"),
])
def test_usage_errors_exit_2(runner, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "in.jsonl", [{"answers": OK}])
    result = batch(runner, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_unknown_pathway_exits_2(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"answers": OK}])
    result = runner.invoke(app, ["batch", str(src), "--pathway", "no-such-pathway"])
    assert result.exit_code == 2 and "no bundled pathway" in result.stderr


def test_quiet_prints_nothing_on_stderr(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"answers": OK}, "bad"])
    result = batch(runner, src, "--quiet")
    assert result.exit_code == 1 and result.stderr == ""


def test_summary_names_no_patient_data(runner, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "Jane Doe", "answers": {**OK, "age": 107, "mood": "sad"}}])
    result = batch(runner, src)
    summary = re.sub(r"[\d,.]+ records/s", "", result.stderr)  # the rate's digits could hold "107" by chance
    assert "Jane" not in summary and "sad" not in summary and "107" not in summary


def test_summary_counts_errors_by_kind_and_warns_of_repeated_ids(runner, tmp_path, monkeypatch):
    records = [{"id": "a", "answers": OK}, {"id": "a", "answers": {**OK, "age": 200}}, "bad",
               {"id": 7, "answers": {"age": 52}}, {"id": "7", "answers": OK}, {"id": "a", "answers": OK}]
    monkeypatch.chdir(tmp_path)
    src = write_jsonl(Path("in.jsonl"), records)
    result = runner.invoke(app, ["batch", str(src), "--pathway", MINI], env={"COLUMNS": "60"})
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert "6 records read: 3 ok, 3 with errors." in text  # no rate for a run under a second
    assert "records/s" not in text
    assert "errors by kind (a record counts once for each kind it has): missing answer 1, invalid answer 1, " \
           "not JSON 1." in text
    assert (f"warning: 2 records repeat an id used earlier in this run, at {src}:2, {src}:6; each still has its "
            "own result, in input order.") in text
    assert "Jane" not in text and '"a"' not in text  # places, never ids
    lines = result.stderr.splitlines()
    assert max(map(len, lines)) <= 60
    for line in lines:  # wrapped at spaces: a line never ends or starts inside a number
        assert not re.search(r"\d,$", line) and not re.match(r"^,?\d{3}\b", line)


# --- the default pathway, end to end -------------------------------------------------------------------

def test_default_pathway_end_to_end(runner):
    pathway = backpath.load_pathway("low-back-pain")
    examples = EXAMPLES / "records.jsonl"
    numbered = [(n, json.loads(text)) for n, text in enumerate(examples.read_text("utf-8").splitlines(), 1)
                if text.strip()]
    expected = [backpath.assess(pathway, rec["answers"], record_id=rec.get("id", i))
                for i, (_, rec) in enumerate(numbered, 1)]
    result = runner.invoke(app, ["batch", str(examples)])
    out = lines_of(result)
    assert len(out) == len(expected)
    for got, want, (line_no, _) in zip(out, expected, numbered):
        if got["status"] == "error":
            assert got.pop("source") == {"file": str(examples), "line": line_no}
        assert got == want
    assert result.exit_code == (0 if all(r["status"] == "ok" for r in expected) else 1)
    csv_out = runner.invoke(app, ["batch", str(examples), "--format", "csv", "--jobs", "2", "--quiet"])
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert [row["tier"] for row in rows] == [r.get("tier", "") for r in expected]
    assert [row["startback_risk"] for row in rows] == [r.get("scores", {}).get("startback_risk", "")
                                                       for r in expected]


def test_partition_example_in_the_docs_matches_the_cli(runner, tmp_path):
    """docs/batch.md shows how to assess partitions (Dask, PySpark); its code must run and agree with the CLI."""
    doc = (ROOT / "docs" / "batch.md").read_text("utf-8")
    code = re.search(r"```python\n(# partition\.py.*?)```", doc, re.S)
    assert code, "docs/batch.md lost its partition example"
    namespace: dict = {}
    exec(compile(code.group(1), "docs/batch.md", "exec"), namespace)  # noqa: S102 - our own documentation
    records = varied_records(50)
    lines = [json.dumps(r) for r in records]
    partitions = [lines[:20], lines[20:]]
    results = [json.loads(r) for part in partitions for r in namespace["assess_partition"](part, pathway=MINI)]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    cli = lines_of(batch(runner, src))
    # the same results, except that an id-less record is numbered within its partition, and a bad line's source
    assert [r["status"] for r in results] == [r["status"] for r in cli]
    assert [r.get("tier") for r in results] == [r.get("tier") for r in cli]
    assert any(r["status"] == "error" for r in results)
    with_ids = [(a, b) for a, b, rec in zip(results, cli, records) if "id" in rec]
    assert all({k: v for k, v in a.items() if k != "source"} == {k: v for k, v in b.items() if k != "source"}
               for a, b in with_ids)


def test_the_dask_example_in_the_docs_runs_on_a_local_dask(tmp_path, monkeypatch):
    """The Dask snippet of docs/batch.md, as written, on a local (synchronous) Dask: one partition per input
    file, and every result is what `backpath.assess` gives for its record."""
    import dask

    from tests.batch.test_batch_chunks import random_answers  # bench/batch.py's record generator

    doc = (ROOT / "docs" / "batch.md").read_text("utf-8")
    partition = re.search(r"```python\n(# partition\.py.*?)```", doc, re.S).group(1)
    snippet = re.search(r"With Dask.*?```python\n(.*?)```", doc, re.S).group(1)
    (tmp_path / "partition.py").write_text(partition, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    rng = random.Random(11)
    pathway = backpath.load_pathway("low-back-pain")
    records = [{"id": f"d{i}", "answers": random_answers(rng, pathway)} for i in range(30)]
    write_jsonl(tmp_path / "referrals-1.jsonl", records[:12])
    write_jsonl(tmp_path / "referrals-2.jsonl", records[12:])
    with dask.config.set(scheduler="synchronous"):
        exec(compile(snippet, "docs/batch.md", "exec"), {})  # noqa: S102 - our own documentation
    parts = sorted((tmp_path / "results").glob("part-*.jsonl"))
    assert len(parts) == 2
    results = [json.loads(line) for part in parts for line in part.read_text("utf-8").splitlines()]
    assert results == [backpath.assess(pathway, r["answers"], record_id=r["id"]) for r in records]


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="posix_fadvise is not on this platform")
def test_a_long_output_is_written_back_to_disk_as_it_goes(tmp_path, monkeypatch):
    """Every WRITEBACK_BYTES the kernel is asked to start writing the temporary file out (so the fsync at the end
    has little left); the file that appears is still whole and only appears at the end."""
    calls = []
    monkeypatch.setattr(batch_io, "WRITEBACK_BYTES", 10)
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: calls.append(advice), raising=False)
    out = batch_io.Output(str(tmp_path / "x.jsonl"))
    for _ in range(5):
        out.write(b"0123456")
    assert len(calls) == 2 and set(calls) == {os.POSIX_FADV_DONTNEED}
    assert not (tmp_path / "x.jsonl").exists()
    out.commit()
    assert (tmp_path / "x.jsonl").read_bytes() == b"0123456" * 5


def test_no_temp_file_left_after_a_failed_write(tmp_path, monkeypatch):
    out = batch_io.Output(str(tmp_path / "x.jsonl"))
    out.write(b"partial")
    out.abort()
    assert list(tmp_path.iterdir()) == []
    assert os.path.exists(tmp_path) and not (tmp_path / "x.jsonl").exists()


def test_a_spawned_worker_loads_the_pathway_from_its_file_and_checks_it(monkeypatch):
    from backpath.batch import work as batch_work

    previous = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(batch_work, "inherited_pathway", None)
    monkeypatch.setattr(batch_work, "_worker_pathway", None)
    sha = backpath.load_pathway(MINI).sha256
    try:
        batch_work.init_worker(MINI, sha)
        chunk = batch_io.Chunk(start=1, items=[(batch_io.LINE, "x.jsonl", 1, json.dumps({"answers": OK}).encode())])
        out = json.loads(b"".join(batch_work.worker_assess_chunk(chunk, "jsonl").data))
        assert out["status"] == "ok" and out["pathway"]["sha256"] == sha
        with pytest.raises(RuntimeError, match="changed while the batch was starting"):
            batch_work.init_worker(MINI, "0" * 64)
    finally:
        signal.signal(signal.SIGINT, previous)


def test_output_to_a_named_pipe_writes_into_it_and_leaves_it_a_pipe(runner, tmp_path):
    """A device or a named pipe (/dev/null, a FIFO) is written directly: renaming a temporary file over it, as
    for a regular file, would replace the device with a file (as root, even /dev/null)."""
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "answers": OK}, {"id": 2, "answers": OK}])
    result = batch(runner, src, "-o", fifo, "--quiet")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [json.loads(line)["id"] for line in got[0].decode().splitlines()] == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "results.fifo"]


def test_a_repeated_key_is_an_error_record_not_a_lost_red_flag(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "answers": OK}) + "\n"
                   + '{"id": 2, "answers": {"age": 40, "flags": ["cauda_equina"], "flags": []}}\n')
    result = batch(runner, src, "--quiet")
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["status"] == "ok"
    assert second["status"] == "error" and second["source"] == {"file": str(src), "line": 2}
    assert 'the key "flags" appears twice in one object' in second["errors"][0]["message"]
    whole = tmp_path / "in.json"
    whole.write_text('[{"answers": {"age": 40, "age": 41}}]')
    result = batch(runner, whole, "--quiet")
    assert result.exit_code == 1 and 'the key "age" appears twice' in json.loads(result.stdout)["errors"][0]["message"]


def test_a_line_cut_short_is_reported_where_it_ends_with_or_without_a_newline(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "answers": {}\n{"id": 1, "answers": {}', "utf-8")
    out = lines_of(batch(runner, src))
    assert [r["errors"][0]["message"] for r in out] == \
        ["the line is not valid JSON: Expecting ',' delimiter at column 24."] * 2


# --- the library: backpath.assess_lines ------------------------------------------------------------

def mixed_jsonl(tmp_path, monkeypatch) -> Path:
    """600 valid records with every kind of bad line among them, blank lines, a line over the (lowered) limit,
    a line that is not UTF-8 and an id with a lone surrogate: more than one chunk."""
    monkeypatch.setattr(batch_io, "MAX_LINE_BYTES", 4000)
    lines = [json.dumps(r, ensure_ascii=False) for r in varied_records(600)]
    for k, (bad, _, _) in enumerate(BAD_LINES):
        lines.insert(7 + 41 * k, bad)
    lines[300:300] = ["", "   "]
    lines.insert(400, '{"answers": "' + "x" * 5000 + '"}')
    lines.insert(500, '{"id": "x\\ud800 é", "answers": ' + json.dumps(OK) + "}")  # a lone surrogate: its escape
    src = tmp_path / "mixed.jsonl"
    src.write_bytes("\n".join(lines).encode() + b'\n{"id": "caf\xe9", "answers": {}}\n')
    return src


def test_assess_lines_gives_what_batch_writes(runner, tmp_path, monkeypatch):
    """`backpath.assess_lines` (for Dask or PySpark partitions, or any Python caller) gives, line for line, the
    text `backpath batch` writes: from a file's bytes, and from text lines with or without their newlines."""
    src = mixed_jsonl(tmp_path, monkeypatch)
    cli = batch(runner, src).stdout.splitlines()
    assert len(cli) == 600 + len(BAD_LINES) + 3 > batch_io.CHUNK_RECORDS
    assert sum('"id":"x\\ud800 é"' in line for line in cli) == 1
    pathway = backpath.load_pathway(MINI)
    with open(src, "rb") as fh:
        assert list(backpath.assess_lines(pathway, fh, source=str(src))) == cli
    text = src.read_bytes().decode("utf-8", "surrogateescape")  # as a reader that keeps undecodable bytes
    assert list(backpath.assess_lines(pathway, text.split("\n"), source=str(src))) == cli
    assert list(backpath.assess_lines(pathway, text.splitlines(keepends=True), source=str(src))) == cli


def test_assess_lines_over_partitions_with_their_offsets_is_the_whole_run(runner, tmp_path, monkeypatch):
    src = mixed_jsonl(tmp_path, monkeypatch)
    cli = batch(runner, src).stdout.splitlines()
    pathway = backpath.load_pathway(MINI)
    lines = src.read_bytes().split(b"\n")
    out, position = [], 1
    for start in range(0, len(lines), 170):
        part = list(backpath.assess_lines(pathway, lines[start:start + 170], source=str(src), first_line=start + 1,
                                          first_position=position))
        out += part
        position += len(part)
    assert out == cli
    # Without offsets, a partition counts its own lines and positions from 1.
    first = len(list(backpath.assess_lines(pathway, lines[:170])))
    alone = [json.loads(t) for t in backpath.assess_lines(pathway, lines[170:340], source="part-2")]
    whole = [json.loads(t) for t in cli[first:first + len(alone)]]
    assert len(alone) == len(whole) > 150
    numbered = 0
    for k, (got, want) in enumerate(zip(alone, whole), 1):
        if "source" in want:
            assert got.pop("source") == {"file": "part-2", "line": want.pop("source")["line"] - 170}
        if want["id"] == first + k:  # a record without an id: its position, counted in the part or the whole
            assert got["id"] == k
            got["id"] = want["id"]
            numbered += 1
        assert got == want
    assert numbered > 10


def test_assess_lines_takes_any_text(tmp_path):
    """A lone surrogate in text (no file has one) gives an error result, not an exception."""
    pathway = backpath.load_pathway(MINI)
    out = [json.loads(t) for t in backpath.assess_lines(pathway, ['{"id": "\ud800", "answers": {}}', "", "[]"])]
    assert [r["status"] for r in out] == ["error", "error"]
    assert "not UTF-8 text" in out[0]["errors"][0]["message"] and out[0]["source"] == {"file": "<lines>", "line": 1}
    assert out[1]["source"] == {"file": "<lines>", "line": 3} and out[1]["id"] == 2


def test_assess_lines_streams():
    """Results come a chunk at a time as lines are read: an endless source still gives its first results."""
    import itertools

    pathway = backpath.load_pathway(MINI)
    endless = (json.dumps({"id": i, "answers": OK}) for i in itertools.count())
    first = list(itertools.islice(backpath.assess_lines(pathway, endless), 300))
    assert [json.loads(t)["id"] for t in first] == list(range(300))
