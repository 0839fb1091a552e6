"""The real questionnaire through a pseudo-terminal (pexpect), against the default pathway, once per flow."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pexpect  # a test dependency: a missing pexpect must fail the run, not skip it
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")]

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "LINES": "40", "TERM": "xterm"}
ENV.pop("FORCE_COLOR", None)

# (unique words of the question, what a person types): a 45-year-old, 6 weeks of back pain, no sciatica,
# no red flags, low-risk STarT Back, nothing tried yet; every optional question skipped.
EVALUATION = [("Age", "45"), ("Is the patient pregnant?", "n"), ("How many weeks", "6"),
              ("Average localised back pain", "5"), ("Sciatica - leg pain", "n"), ("Neurogenic claudication", "n")]
RED_FLAGS = [("Which red flags are present?", "none"), ("Is the main pain thoracic", "n"),
             ("first-ever episode of back pain", "n")]
START_BACK = [(f"STarT Back item {i} ", "n") for i in range(1, 9)] + [("STarT Back item 9 ", "2")]
REST = [("Spinal imaging findings", "1"), ("Treatments tried in this episode", "none"),
        ("Relevant conditions and medicines", "none"),
        ("Medicines the person takes now", ""), ("Work status", ""), ("Body mass index", ""),
        ("Currently smokes?", ""), ("Is sleep regularly disturbed?", ""), ("High stress at present", ""),
        ("Limited social support", ""), ("Patient preferences", ""), ("Treatments or tests the patient asks", "")]
WALK = EVALUATION + RED_FLAGS + START_BACK + REST


def spawn(*args: str, cwd: Path) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", "backpath", "assess", *args], env=ENV, cwd=str(cwd),
                          encoding="utf-8", timeout=20, dimensions=(40, 80))
    return child


def answer(child: pexpect.spawn, steps) -> None:
    for words, typed in steps:
        child.expect_exact(words)
        child.expect_exact("> ")
        child.sendline(typed)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_complete_assessment(tmp_path):
    saved = tmp_path / "answers.json"
    child = spawn("--save-answers", str(saved), cwd=tmp_path)
    child.expect(r"About (\d+) questions in 6 sections\.")
    about = child.match.group(1)
    child.expect_exact("Section 1 of 6: Evaluation")
    answer(child, WALK[:1])
    child.expect_exact(f"Question 2 of about {about}")
    before_start_back = len(EVALUATION) + len(RED_FLAGS)
    answer(child, WALK[1:before_start_back])
    child.expect_exact("Section 3 of 6: Keele STarT Back Screening Tool")
    child.expect_exact("Keele University")  # the attribution, with the first item
    answer(child, WALK[before_start_back:])
    child.expect_exact(f"Review: {len(WALK)} answers")
    child.expect_exact("Enter to see the recommendation.")
    child.sendline("")
    child.expect_exact("Plan, in order")
    assert finish(child) == 0
    record = json.loads(saved.read_text())
    assert record["answers"]["age"] == 45 and record["answers"]["red_flags"] == []
    assert "bmi" not in record["answers"]  # skipped optional questions are left out
    batch = subprocess.run([sys.executable, "-m", "backpath", "batch", str(saved)], capture_output=True,
                           text=True, env=ENV, timeout=60)
    assert batch.returncode == 0, batch.stderr
    assert json.loads(batch.stdout)["status"] == "ok"


def test_invalid_answer_is_explained_and_asked_again(tmp_path):
    child = spawn(cwd=tmp_path)
    child.expect_exact("Age")
    child.sendline("forty")
    child.expect_exact('Not accepted: must be a number (16–110 years), not "forty".')
    child.sendline("14")
    child.expect_exact("Not accepted: 14 is out of range; expected 16–110 years.")
    child.sendline("45")
    answer(child, EVALUATION[1:6])
    child.expect_exact("Which red flags are present?")
    child.sendline("1 99")
    child.expect_exact("Not accepted: there is no option 99; type a number from 1 to 13 or an option id.")
    child.sendline("none")
    answer(child, RED_FLAGS[1:])
    child.expect_exact("STarT Back item 1 ")
    child.sendeof()
    child.expect_exact("End of input: 9 answers saved to")
    assert finish(child) == 1


def test_back_returns_to_the_previous_question_and_changed_answers_change_what_is_asked(tmp_path):
    child = spawn(cwd=tmp_path)
    answer(child, EVALUATION[:3])
    child.expect_exact("Average localised back pain")
    child.sendline("b")
    child.expect_exact("How many weeks")
    child.expect_exact("Enter keeps: 6 weeks.")
    child.sendline("20")  # now chronic, and it began before age 45: spondyloarthritis features apply
    child.expect_exact("Average localised back pain")
    child.sendline("5")
    answer(child, EVALUATION[4:] + RED_FLAGS)
    child.expect_exact("Features of axial spondyloarthritis")
    child.sendline("b")
    child.expect_exact("first-ever episode of back pain")
    child.expect_exact("Enter keeps: no.")
    child.sendline("")
    child.expect_exact("Features of axial spondyloarthritis")
    child.sendintr()
    assert finish(child) == 130


def test_review_screen_changes_an_answer_and_asks_what_now_applies(tmp_path):
    saved = tmp_path / "answers.json"
    child = spawn("--save-answers", str(saved), cwd=tmp_path)
    answer(child, WALK)
    child.expect_exact(f"Review: {len(WALK)} answers")
    child.expect(r"(\d+)\. Sciatica - leg pain")
    number = child.match.group(1)
    child.expect_exact("> ")
    child.sendline(number)
    child.expect_exact("Changing an answer")
    child.expect_exact("Enter keeps: no.")
    child.sendline("y")
    child.expect_exact("Average leg pain over the last week")  # applies now
    child.sendline("8")
    child.expect_exact(f"Review: {len(WALK) + 1} answers")
    child.expect_exact("> ")
    child.sendline("")
    child.expect_exact("Plan, in order")
    assert finish(child) == 0
    answers = json.loads(saved.read_text())["answers"]
    assert answers["sciatica"] is True and answers["leg_pain_nrs"] == 8


def test_emergency_banner_at_once_then_stop(tmp_path):
    child = spawn(cwd=tmp_path)
    answer(child, EVALUATION)
    child.expect_exact("Which red flags are present?")
    child.sendline("1 2")
    child.expect_exact("EMERGENCY: Emergency referral")
    child.expect_exact("Possible cauda equina syndrome")
    child.expect_exact("Offer: Emergency referral")
    child.expect_exact("Type c to continue the questionnaire, or s to stop here and see the advice now.")
    child.sendline("s")
    child.expect_exact("questionnaire stopped here")  # the advice, printed again on stdout
    child.expect(r"Stopped at the emergency: 7 answers saved to\s+(\S+\.partial\.json)")
    saved = tmp_path / child.match.group(1)
    assert finish(child) == 1
    assert json.loads(saved.read_text())["answers"]["red_flags"] == ["saddle_anaesthesia", "bladder_dysfunction"]


def test_ctrl_c_saves_and_resume_asks_only_what_is_missing(tmp_path):
    child = spawn(cwd=tmp_path)
    answer(child, EVALUATION + RED_FLAGS + START_BACK[:2])
    child.expect_exact("STarT Back item 3 ")
    child.expect_exact("> ")
    child.sendintr()
    child.expect(r"Interrupted: 11 answers saved to\s+(\S+\.partial\.json)")
    name = child.match.group(1)
    child.expect_exact("Resume with:")
    child.expect(r"backpath assess --answers (\S+)")
    assert child.match.group(1) == name
    assert finish(child) == 130
    assert len(json.loads((tmp_path / name).read_text())["answers"]) == 11

    resumed = spawn("--answers", name, "--format", "json", cwd=tmp_path)
    resumed.expect(rf"Starting from 11 answers in\s+{re.escape(name)};\s+about\s+(\d+)\s+questions\s+to\s+go\.")
    resumed.expect_exact(f"Question 1 of about {resumed.match.group(1)}")
    answer(resumed, START_BACK[2:] + REST)  # asked first: the question after the last one answered
    resumed.expect_exact(f"Review: {len(WALK)} answers")
    resumed.expect_exact("> ")
    resumed.sendline("")
    resumed.expect_exact('"status": "ok"')
    assert finish(resumed) == 0


def test_off_a_terminal_missing_answers_fail_at_once(tmp_path):
    given = tmp_path / "some.json"
    given.write_text(json.dumps({"age": 45, "pregnant": False, "duration_weeks": 6}))
    proc = subprocess.run([sys.executable, "-m", "backpath", "assess", "--answers", str(given)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ENV, timeout=60)
    assert proc.returncode == 1
    missing = re.search(r"^missing: (.*)$", proc.stderr, re.M).group(1).split(", ")
    assert missing[:3] == ["back_pain_nrs", "sciatica", "neurogenic_claudication"]
    assert "startback_9" in missing and "conditions" in missing
    assert "Question" not in proc.stderr


def test_closing_the_terminal_saves_the_answers(tmp_path):
    child = spawn(cwd=tmp_path)
    answer(child, EVALUATION[:2])
    child.expect_exact("How many weeks")
    child.expect_exact("> ")
    child.kill(signal.SIGHUP)
    child.expect(pexpect.EOF)
    child.close()
    [saved] = tmp_path.glob("backpath-answers-*.partial.json")
    assert json.loads(saved.read_text()) == {"answers": {"age": 45, "pregnant": False}}


def test_a_60_column_terminal_keeps_every_line_inside_it(tmp_path):
    child = pexpect.spawn(sys.executable, ["-m", "backpath", "assess"], env={**ENV, "COLUMNS": "60"},
                          cwd=str(tmp_path), encoding="utf-8", timeout=20, dimensions=(40, 60))
    child.logfile_read = io.StringIO()
    answer(child, EVALUATION + RED_FLAGS + START_BACK[:1])
    child.expect_exact("STarT Back item 2 ")
    child.expect_exact("> ")
    child.sendintr()
    assert finish(child) == 130
    seen = re.sub(r"\x1b\[[0-9;]*m", "", child.logfile_read.getvalue())
    assert "Keele University" in seen and "Which red flags are present?" in seen
    questionnaire = seen.split("Resume with:")[0]  # the resume command itself is one line, to copy whole
    assert max(len(line) for line in questionnaire.split("\r\n")) <= 60
