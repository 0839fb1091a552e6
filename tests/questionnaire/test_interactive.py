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


def confirm_review(child: pexpect.spawn) -> None:
    """Page through the review screen with Enter until it asks to see the recommendation, and confirm."""
    while True:
        last = child.expect_exact(["Enter for the next page.", "Enter to see the recommendation."])
        child.expect_exact("> ")
        child.sendline("")
        if last:
            return


def see_result(child: pexpect.spawn, handout: str = "") -> None:
    """The one-screen result, then the handout offer: `handout` is the file name typed (Enter skips)."""
    child.expect_exact("What to do now")
    child.expect_exact("Write a plain-language handout for the patient?")
    child.expect_exact("> ")
    child.sendline(handout)


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
    child.expect_exact("official form")  # the section intro; the attribution follows the first item
    answer(child, WALK[before_start_back:before_start_back + len(START_BACK)])
    child.expect_exact("Scores so far")  # when the STarT Back section ends
    child.expect_exact("STarT Back total score: 0 of 9")
    child.expect_exact("STarT Back psychosocial subscale: 0 of 5")
    child.expect_exact("STarT Back risk group: low")
    answer(child, REST)
    child.expect_exact(f"Review: {len(WALK)} answers")
    confirm_review(child)
    see_result(child, "plan.html")
    child.expect_exact("Handout for the patient written to plan.html.")
    assert finish(child) == 0
    assert (tmp_path / "plan.html").read_text().startswith("<!DOCTYPE html>")
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
    confirm_review(child)
    see_result(child)
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
    confirm_review(resumed)
    resumed.expect_exact('"status": "ok"')
    resumed.expect_exact("Write a plain-language handout for the patient?")
    resumed.sendline("")
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


def test_durations_in_days_months_and_the_licence_once(tmp_path):
    """ "3 days" is a duration; the STarT Back licence is shown in full once, even when an item is asked again."""
    child = spawn(cwd=tmp_path)
    child.logfile_read = io.StringIO()
    answer(child, EVALUATION[:2])
    child.expect_exact("How many weeks")
    child.expect_exact("or 3 days, 2 months.")
    child.sendline("3 days")
    child.expect_exact("Average localised back pain")
    child.sendline("b")
    child.expect_exact("Enter keeps: 0.43 weeks (3")  # "days)." wraps to the next line
    child.sendline("2 months")
    answer(child, EVALUATION[3:] + RED_FLAGS + START_BACK[:2])
    child.expect_exact("STarT Back item 3 ")
    child.sendline("b")
    child.expect_exact("STarT Back item 2 ")
    child.sendline("n")
    child.expect_exact("STarT Back item 3 ")
    child.expect_exact("> ")
    child.sendintr()
    child.expect(r"Interrupted: \d+ answers saved to\s+(\S+\.partial\.json)")
    saved = tmp_path / child.match.group(1)
    assert finish(child) == 130
    assert json.loads(saved.read_text())["answers"]["duration_weeks"] == 8.67
    seen = child.logfile_read.getvalue()
    assert seen.count("No licence is needed for non-commercial use") == 1
    assert seen.count("From the Keele STarT Back Screening Tool.") >= 2


def test_a_resumed_session_never_asks_an_answered_question_again(tmp_path):
    """The file answers `pregnant` but not `age`: once age is typed, pregnancy is not asked again."""
    partial = tmp_path / "referral.partial.json"
    partial.write_text(json.dumps({"answers": {"pregnant": False, "duration_weeks": 6}}))
    child = spawn("--answers", partial.name, cwd=tmp_path)
    child.logfile_read = io.StringIO()
    answer(child, [("Age", "45")])
    child.expect_exact("Average localised back pain")
    child.expect_exact("> ")
    child.sendintr()
    assert finish(child) == 130
    assert "Is the patient pregnant?" not in child.logfile_read.getvalue()
    answers = json.loads(partial.read_text())["answers"]
    assert answers["pregnant"] is False and answers["age"] == 45


def test_the_review_screen_pages_to_the_terminal_height(tmp_path):
    child = pexpect.spawn(sys.executable, ["-m", "backpath", "assess"], env={**ENV, "LINES": "24"},
                          cwd=str(tmp_path), encoding="utf-8", timeout=20, dimensions=(24, 80))
    child.logfile_read = io.StringIO()
    answer(child, WALK)
    child.expect(r"Review: \d+ answers, page 1 of (\d+)")
    pages = int(child.match.group(1))
    assert pages >= 2
    child.expect_exact("Enter for the next page.")
    child.expect_exact("> ")
    child.sendline("")
    child.expect_exact(f"page 2 of {pages}")
    child.expect_exact("p for the previous page")
    child.expect_exact("> ")
    child.sendline("p")
    child.expect_exact(f"page 1 of {pages}")
    confirm_review(child)
    see_result(child)
    assert finish(child) == 0
    screens = child.logfile_read.getvalue().split("Review: ")[1:]
    for screen in screens:  # each page, with its instructions, fits the 24 rows
        assert len(screen.split("> ")[0].split("\r\n")) <= 24


def test_requests_for_surgery_and_an_epidural_are_answered(tmp_path):
    child = spawn("--format", "json", cwd=tmp_path)
    answer(child, WALK[:-1])
    child.expect_exact("Treatments or tests the patient asks")
    child.expect_exact("> ")
    child.sendline("spinal_decompresion")  # a misspelling of the same procedure
    child.expect_exact("Did you mean `spinal_decompression`?")
    child.sendline("spinal_surgery")  # not an option: no suggestion of another procedure (spinal_fusion)
    child.expect_exact('"spinal_surgery" is not an option')
    child.expect_exact("> ")
    assert "Did you mean" not in child.before
    child.sendline("epidural_injection spinal_decompression")
    confirm_review(child)
    child.expect_exact('"status": "ok"')
    child.expect_exact("Write a plain-language handout for the patient?")
    child.sendline("")
    assert finish(child) == 0


def test_an_emergency_result_stays_in_sight_with_the_handout_offer(tmp_path):
    """Every required answer is in, so stopping at the emergency prints the result; on 24 rows the word
    EMERGENCY is still on screen when the handout offer waits."""
    given = json.loads((Path(__file__).parent.parent.parent / "examples" / "answers-acute-low-risk.json").read_text())
    given = given.get("answers", given)
    given.pop("red_flags")
    (tmp_path / "walk-in.json").write_text(json.dumps(given))
    child = pexpect.spawn(sys.executable, ["-m", "backpath", "assess", "--answers", "walk-in.json"],
                          env={**ENV, "LINES": "24"}, cwd=str(tmp_path), encoding="utf-8", timeout=20,
                          dimensions=(24, 80))
    child.expect_exact("Which red flags are present?")
    child.expect_exact("> ")
    child.sendline("1 2")
    child.expect_exact("Type c to continue the questionnaire, or s to stop here")
    child.sendline("s")
    child.expect_exact("EMERGENCY REFERRAL")  # then " - act now", in another style
    child.expect_exact("EMERGENCY: act on the advice above now.")
    child.expect_exact("Write a plain-language handout for the patient?")
    child.sendline("")
    assert finish(child) == 0


def test_a_long_full_trace_goes_through_the_pager_on_a_terminal(tmp_path):
    example = str(Path(__file__).parent.parent.parent / "examples" / "answers-chronic-sciatica.json")
    env = {**ENV, "PAGER": "sed -e s/^/PAGED:/", "LINES": "24"}
    child = pexpect.spawn(sys.executable, ["-m", "backpath", "assess", "--answers", example, "--detail", "full"],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30, dimensions=(24, 80))
    child.logfile_read = io.StringIO()
    assert finish(child) == 0
    lines = [line for line in child.logfile_read.getvalue().split("\r\n") if line.strip()]
    assert len(lines) > 100 and all(line.startswith("PAGED:") for line in lines)
    # the one-screen summary is never paged
    child = pexpect.spawn(sys.executable, ["-m", "backpath", "assess", "--answers", example], env=env,
                          cwd=str(tmp_path), encoding="utf-8", timeout=30, dimensions=(24, 80))
    child.logfile_read = io.StringIO()
    assert finish(child) == 0
    assert "PAGED:" not in child.logfile_read.getvalue() and "SURGICAL OPINION" in child.logfile_read.getvalue()
