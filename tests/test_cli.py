"""Every command through Typer's CliRunner: output, stderr diagnostics and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backpath import __version__
from backpath.cli.main import app
from tests.conftest import FIXTURES

MINI = str(FIXTURES / "mini.yaml")
ANSWERS = {"age": 40, "weeks": 20, "leg": True, "leg_nrs": 8, "flags": [], "mood": "low", "requests": ["belt"]}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def runner():
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"})


@pytest.fixture
def answers_file(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(ANSWERS))
    return path


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"backpath {__version__}"


@pytest.mark.parametrize("command", ["assess", "batch", "validate", "pathways", "questions", "schema", "diff",
                                     "graph"])
def test_every_command_has_help(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    text = ANSI.sub("", result.stdout)
    assert "Usage:" in text and len(text.splitlines()) > 5
    # Each paragraph of the docstring flows at the terminal's width (80 here): no line of prose is cut short
    # where the docstring's own line ended, so only a paragraph's last line is much shorter than the width.
    body = text.split("Usage:")[1].split("╭")[0]
    for paragraph in [p for p in re.split(r"\n\s*\n", body)[1:] if p.strip()]:
        lines = [line.rstrip() for line in paragraph.strip("\n").splitlines()]
        if not lines[0].startswith("   "):  # an example, one per paragraph
            assert all(len(line) > 60 for line in lines[:-1]), paragraph


def test_help_shows_the_default_pathway(runner):
    """Help texts are rich markup: a "[default: ...]" in them would be taken for a style tag and vanish."""
    text = ANSI.sub("", runner.invoke(app, ["assess", "--help"], env={"COLUMNS": "200"}).stdout)
    assert "(default: low-back-pain)" in text


def test_assess_json(runner, answers_file):
    result = runner.invoke(app, ["assess", "-p", MINI, "--answers", str(answers_file), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and data["tier"] == "conservative"
    assert [r["id"] for r in data["recommendations"]] == ["exercise", "massage", "advice"]


def test_assess_checks_complete_answers_without_the_checker(runner, answers_file, monkeypatch):
    """Complete, valid answers (the common run) are taken by the compiled `run` alone: the checker's functions
    are not compiled (start-up time, issue 14); answers that need words still go through it."""
    from backpath.core import engine

    checked: list[bool] = []
    check = engine.check
    monkeypatch.setattr(engine, "check", lambda *args: checked.append(True) or check(*args))
    result = runner.invoke(app, ["assess", "-p", MINI, "--answers", str(answers_file), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "ok" and checked == []
    answers_file.write_text(json.dumps({**ANSWERS, "weeks": -1}))
    result = runner.invoke(app, ["assess", "-p", MINI, "--answers", str(answers_file), "--format", "json"])
    assert result.exit_code == 1 and "answers.weeks" in result.stderr and checked == [True]


def test_assess_accepts_a_record_and_stdin(runner):
    record = json.dumps({"id": "p-7", "answers": ANSWERS})
    result = runner.invoke(app, ["assess", "-p", MINI, "--answers", "-", "-f", "json"], input=record)
    assert result.exit_code == 0 and json.loads(result.stdout)["id"] == "p-7"


def test_assess_text_summary_reads_in_an_80_column_terminal(runner, answers_file):
    result = runner.invoke(app, ["assess", "-p", MINI, "--answers", str(answers_file)])
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("CONSERVATIVE\n") and "OFFER        Exercise" in out and "NO           Belt" in out
    assert "Review: in 4 weeks" in out and "rule " not in out
    assert "\x1b[" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.index("What to do now") < out.index("Asked about by the patient") < out.index("Review")


def test_assess_text_full_reads_in_an_80_column_terminal(runner, answers_file):
    result = runner.invoke(app, ["assess", "-p", MINI, "--answers", str(answers_file), "--detail", "full"])
    assert result.exit_code == 0
    out = result.stdout
    assert "CONSERVATIVE" in out and "OFFER  Exercise" in out and "DO NOT OFFER  Belt" in out
    assert "[requested by the patient]" in out and "Review: in 4 weeks" in out
    assert "\x1b[" not in out                                   # NO_COLOR: no escape codes
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.index("CONSERVATIVE") < out.index("Plan, in order") < out.index("Advised against")


def test_assess_markdown(runner, answers_file):
    result = runner.invoke(app, ["assess", "-p", MINI, "--answers", str(answers_file), "-f", "markdown"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# Back pain plan — Conservative")
    assert "1. **OFFER: Exercise**" in result.stdout and "## Advised against" in result.stdout


def test_save_answers_round_trips(runner, answers_file, tmp_path):
    saved = tmp_path / "saved.json"
    result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(answers_file), "--save-answers", str(saved),
                                 "-f", "json"])
    assert result.exit_code == 0
    again = runner.invoke(app, ["assess", "-p", MINI, "-a", str(saved), "-f", "json"])
    assert again.stdout == result.stdout


def test_invalid_answers_exit_1_with_a_message_per_problem(runner, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**ANSWERS, "age": 200, "mood": "gloomy", "agee": 1}))
    result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(path)])
    assert result.exit_code == 1
    assert "answers.age: 200 is out of range" in result.stderr
    assert "answers.mood: \"gloomy\" is not an option" in result.stderr
    assert "Did you mean `age`?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_answers_off_a_terminal_exit_1_listing_them(runner, tmp_path):
    path = tmp_path / "partial.json"
    path.write_text(json.dumps({"age": 40}))
    result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(path)])
    assert result.exit_code == 1
    assert "missing: weeks, leg, flags, mood" in result.stderr


def test_no_answers_off_a_terminal_is_a_usage_error(runner):
    result = runner.invoke(app, ["assess", "-p", MINI])
    assert result.exit_code == 2 and "not a terminal" in result.stderr


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["assess", "-p", MINI, "-a", "/no/such.json"], 2, "no answers file at /no/such.json"),
        (["assess", "-p", "no-such-pathway", "-a", "-"], 2, "no bundled pathway `no-such-pathway`"),
        (["assess", "-p", "/no/such.yaml", "-a", "-"], 2, "no pathway file at /no/such.yaml"),
        (["assess", "-p", MINI, "-a", "-", "-f", "pdf"], 2, "pdf"),
    ],
)
def test_usage_errors_exit_2(runner, args, code, words):
    result = runner.invoke(app, args, input="{}")
    assert result.exit_code == code
    assert words in ANSI.sub("", result.stderr)


def test_malformed_json_names_line_and_column(runner, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"age": 40,\n "weeks": }')
    result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(path)])
    assert result.exit_code == 1 and f"{path}:2:" in result.stderr and "not valid JSON" in result.stderr


def test_invalid_pathway_is_reported_with_its_line(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((FIXTURES / "mini.yaml").read_text().replace("offer: [advice]", "offer: [advise]"))
    result = runner.invoke(app, ["assess", "-p", str(bad), "-a", "-"], input="{}")
    assert result.exit_code == 2
    assert "unknown catalogue item `advise`. Did you mean `advice`?" in result.stderr
    assert re.search(r"bad\.yaml:\d+:\d+", result.stderr)


def test_questions_json_seeds_an_answers_file(runner):
    result = runner.invoke(app, ["questions", "-p", MINI, "--format", "json"])
    data = json.loads(result.stdout)
    assert [q["id"] for q in data["questions"]][:3] == ["age", "weeks", "leg"]
    assert data["questions"][3]["ask_when"] == "leg"
    assert set(data["answers_template"].values()) == {None}


def test_an_unfilled_answers_template_is_missing_every_safety_answer(runner, tmp_path):
    """A template whose red flags and conditions were never mapped must fail, never pass as "none"."""
    data = json.loads(runner.invoke(app, ["questions", "--format", "json"]).stdout)
    template = data["answers_template"]
    assert template["red_flags"] is None and template["conditions"] is None
    answers = {**template, "age": 70, "duration_weeks": 6, "back_pain_nrs": 5, "sciatica": False,
               "neurogenic_claudication": False, "imaging_findings": "not_imaged",
               **{f"startback_{i}": False for i in range(1, 9)}, "startback_9": "slightly"}
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({k: v for k, v in answers.items() if v is not None}))
    result = runner.invoke(app, ["assess", "-a", str(path), "-f", "json"])
    assert result.exit_code == 1
    missing = next(line for line in result.stderr.splitlines() if line.startswith("missing: "))
    assert {"red_flags", "conditions", "tried_treatments"} <= set(missing.removeprefix("missing: ").split(", "))


def test_questions_text(runner):
    result = runner.invoke(app, ["questions", "-p", MINI])
    assert result.exit_code == 0 and "leg_nrs" in result.stdout and "required when leg" in result.stdout


def test_schema_is_json_schema(runner):
    data = json.loads(runner.invoke(app, ["schema"]).stdout)
    assert data["$schema"].endswith("2020-12/schema") and "rules" in data["properties"]


def test_validate_ok_and_broken(runner, tmp_path):
    assert runner.invoke(app, ["validate", MINI]).exit_code == 0
    bad = tmp_path / "mini.yaml"
    bad.write_text((FIXTURES / "mini.yaml").read_text().replace("when: 'mood == \"very_low\"'",
                                                               "when: 'mood == \"very_lo\"'"))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert '"very_lo" is not an option of `mood`' in result.stdout and "Did you mean `very_low`?" in result.stdout


def test_python_m_backpath_runs():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "backpath", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("backpath ")


@pytest.mark.parametrize(("text", "words"), [
    ('{"age": 40, "flags": ["cauda_equina"], "flags": []}', 'the key "flags" appears twice in one object'),
    ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
    ('{"age": ' + "9" * 5000 + "}", "cannot be read as answers"),
])
def test_answers_that_json_cannot_read_safely_exit_1(runner, tmp_path, text, words):
    """A repeated key would let the last value silently replace a red flag; it is refused like bad JSON."""
    path = tmp_path / "odd.json"
    path.write_text(text)
    result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(path)])
    assert result.exit_code == 1
    assert words in " ".join(result.stderr.split()) and "Traceback" not in result.stderr + result.stdout


def test_a_record_id_must_be_text_or_a_whole_number(runner, tmp_path):
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"id": [1, 2], "answers": ANSWERS}))
    result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(path)])
    assert result.exit_code == 1 and "id must be text or a whole number" in " ".join(result.stderr.split())


def test_save_answers_where_it_cannot_be_written_is_a_usage_error_before_anything_is_asked(runner, answers_file,
                                                                                          tmp_path):
    for target, words in ((tmp_path / "missing" / "a.json", "does not exist"), (tmp_path, "is a folder")):
        result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(answers_file), "--save-answers", str(target)])
        assert result.exit_code == 2 and words in " ".join(result.stderr.split())
        assert result.stdout == ""


def test_saved_answers_get_ordinary_permissions_and_a_pipe_is_not_replaced(runner, answers_file, tmp_path):
    import os
    import stat
    import threading

    saved = tmp_path / "saved.json"
    assert runner.invoke(app, ["assess", "-p", MINI, "-a", str(answers_file), "--save-answers",
                               str(saved)]).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o666 & ~mask
    fifo = tmp_path / "answers.fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    result = runner.invoke(app, ["assess", "-p", MINI, "-a", str(answers_file), "--save-answers", str(fifo)])
    reader.join(timeout=30)
    assert result.exit_code == 0 and stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(got[0])["answers"] == ANSWERS


def test_an_answers_file_with_a_byte_order_mark_is_read(runner, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ANSWERS).encode())
    assert runner.invoke(app, ["assess", "-p", MINI, "-a", str(path), "-f", "json"]).exit_code == 0


@pytest.mark.parametrize("raised, said", [(KeyboardInterrupt, "interrupted\n"), (None, "")])
def test_a_ctrl_c_no_command_handles_ends_with_one_line_and_130(monkeypatch, capsys, raised, said):
    """Typer turns a KeyboardInterrupt that escapes a command into a silent exit 130; `main` says so in one line.
    A command that exits 130 itself (having reported its own interrupt) gets no second line."""
    import typer

    import backpath.cli.common as cli_common
    import backpath.cli.main as cli

    def open_pathway(*args, **kwargs):
        if raised:
            raise raised()
        raise typer.Exit(130)

    monkeypatch.setattr(cli_common, "open_pathway", open_pathway)  # what every command loads a pathway with
    monkeypatch.setattr("sys.argv", ["backpath", "questions", "--pathway", MINI])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 130
    assert capsys.readouterr().err == said


def test_a_ctrl_c_while_the_command_line_loads_ends_with_one_line_and_130(monkeypatch, capsys):
    """The entry point imports the command line (typer, rich, the engine) inside its guard."""
    import sys
    import types

    from backpath import entry

    class Loading(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "backpath.cli.main", Loading("backpath.cli.main"))
    with pytest.raises(SystemExit) as exc:
        entry.main()
    assert exc.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_importing_the_package_imports_nothing_else_until_a_name_is_used():
    """So the entry point's guard covers nearly all of start-up; the public names still come from the package."""
    import subprocess
    import sys

    code = ("import sys, backpath; before = sorted(m for m in sys.modules if m.startswith('backpath')); "
            "from backpath import assess, Pathway, PathwayError; import backpath.core.engine as e; "
            "print(before, assess is e.assess, Pathway.__module__, PathwayError.__module__, 'check' in dir(backpath))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['backpath',", "'backpath.version']", "True", "backpath.core.model", "backpath.core.errors",
                           "True"]


@pytest.mark.parametrize("command", ["assess", "batch", "validate", "pathways", "questions", "schema"])
def test_help_has_examples_and_readable_types(runner, command):
    text = ANSI.sub("", runner.invoke(app, [command, "--help"], env={"COLUMNS": "100"}).stdout)
    assert "Examples:" in text and f"  backpath {command}" in text
    panels = text[text.index("╭"):]
    for python_type in ("<bool>", "<str>", "<int", "<float", "<list[", "<path>", "<text", "<Path"):
        assert python_type not in panels, (command, python_type)
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert usage.split("Usage: ")[1].strip().startswith(f"backpath {command} [OPTIONS]")


def test_usage_lines_read_as_written(runner):
    def usage(*args):
        text = ANSI.sub("", runner.invoke(app, [*args, "--help"], env={"COLUMNS": "100"}).stdout)
        return next(line for line in text.splitlines() if "Usage:" in line).split("Usage: ")[1].strip()

    assert usage("batch") == "backpath batch [OPTIONS] INPUT..."
    assert usage("validate") == "backpath validate [OPTIONS] [PATH...]"


def test_shell_completion_is_on(runner):
    text = ANSI.sub("", runner.invoke(app, ["--help"], env={"COLUMNS": "100"}).stdout)
    assert "--install-completion" in text and "--show-completion" in text


def test_completion_offers_pathways_and_formats():
    import os
    import subprocess
    import sys

    if not Path(sys.executable).with_name("backpath").exists():
        pytest.skip("backpath is not installed as a program beside this Python")

    def complete(words: str, cword: int) -> list[str]:
        env = {**os.environ, "_BACKPATH_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        program = Path(sys.executable).with_name("backpath")  # completion is keyed to the program's name
        out = subprocess.run([str(program)], env=env, capture_output=True, text=True)
        return out.stdout.split()

    assert "low-back-pain" in complete("backpath assess --pathway l", 3)
    assert complete("backpath assess --format ", 3) == ["text", "json", "markdown", "fhir", "cds-hooks"]
