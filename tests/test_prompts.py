"""Fast tests of the questionnaire: typed input per type, skip logic, navigation, review, emergencies, autosave.

The terminal loop is driven with scripted lines and a Console writing to a StringIO; the `assess` command is
driven with CliRunner, pretending stdin is a terminal. The real pseudo-terminal is in test_interactive.py.
"""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from backpath.cli import commands as cli
from backpath.cli import session as cli_session
from backpath.core.answers import check_value
from backpath.questionnaire.flow import Session, emergencies, parse_answer
from backpath.questionnaire.prompts import COMPLETE, END_OF_INPUT, INTERRUPTED, STOPPED, lines_from, run_questionnaire

from .conftest import FIXTURES

MINI = str(FIXTURES / "mini.yaml")

# A complete, valid walk through the mini pathway, one line per question.
MINI_LINES = ["52", "10", "y", "7", "none", "1", ""]
MINI_ANSWERS = {"age": 52, "weeks": 10, "leg": True, "leg_nrs": 7, "flags": [], "mood": "good"}


def q(pathway, qid):
    return pathway.questions[qid]


# --- typed input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [("y", True), ("YES", True), ("true", True), ("n", False), (" No ", False),
                                         ("false", False)])
def test_boolean_accepts_y_n_words(mini_pathway, text, value):
    assert parse_answer(q(mini_pathway, "leg"), text).value is value


def test_boolean_rejects_other_text(mini_pathway):
    assert parse_answer(q(mini_pathway, "leg"), "maybe").error == 'type y for yes or n for no, not "maybe".'


@pytest.mark.parametrize("text, value", [("52", 52), ("52 years", 52), ("52.0", 52)])
def test_integer_parses_with_or_without_its_unit(mini_pathway, text, value):
    parsed = parse_answer(q(mini_pathway, "age"), text)
    assert parsed.value == value and isinstance(parsed.value, int)


@pytest.mark.parametrize("text, bad", [("abc", "abc"), ("14", 14), ("7.5", 7.5), ("-1", -1), ("nan", "nan")])
def test_number_mistakes_are_explained_in_check_value_words(mini_pathway, text, bad):
    question = q(mini_pathway, "leg_nrs")
    assert parse_answer(question, text).error == check_value(question, bad)


def test_decimal_number(mini_pathway):
    assert parse_answer(q(mini_pathway, "weeks"), "10.5").value == 10.5
    assert parse_answer(q(mini_pathway, "weeks"), "3000").error == "3000 is out of range; expected 0–2600 weeks."


@pytest.mark.parametrize("text, value", [("2", "low"), ("low", "low"), ("VERY_LOW", "very_low"), (" 3 ", "very_low")])
def test_choice_by_number_or_id(mini_pathway, text, value):
    assert parse_answer(q(mini_pathway, "mood"), text).value == value


def test_choice_mistakes(mini_pathway):
    mood = q(mini_pathway, "mood")
    assert parse_answer(mood, "4").error == "there is no option 4; type a number from 1 to 3 or an option id."
    error = parse_answer(mood, "lo").error
    assert error.startswith('"lo" is not an option; type a number from 1 to 3') and "Did you mean `low`?" in error


@pytest.mark.parametrize("text, value", [("1 2", ["saddle", "fever"]), ("2,1", ["saddle", "fever"]),
                                         ("fever", ["fever"]), ("2, fever", ["fever"]), ("none", []), ("0", []),
                                         ("NONE", [])])
def test_multi_choice_several_numbers_or_ids_or_none(mini_pathway, text, value):
    assert parse_answer(q(mini_pathway, "flags"), text).value == value


def test_multi_choice_mistakes(mini_pathway):
    flags = q(mini_pathway, "flags")
    assert "cannot be combined" in parse_answer(flags, "none 1").error
    assert parse_answer(flags, "3").error.startswith("there is no option 3")
    assert parse_answer(flags, "").error.startswith("an answer is required")
    assert parse_answer(flags, ",,").error == "Type the numbers of all that apply (e.g. 1 3), or none."


def test_empty_line_skips_only_an_optional_question(mini_pathway):
    assert parse_answer(q(mini_pathway, "requests"), "").skip
    assert parse_answer(q(mini_pathway, "age"), " ").error == \
        "an answer is required. Type a whole number, 16–110 years."


# --- the session: skip logic, progress, resuming ------------------------------------------------------

def test_changed_answer_asks_new_questions_and_drops_old_ones(mini_pathway):
    s = Session.start(mini_pathway)
    s.answer("age", 30)
    s.answer("weeks", 10)
    assert s.answer("leg", True) == []
    assert s.first_unsettled().id == "leg_nrs"
    s.answer("leg_nrs", 8)
    assert s.answer("leg", False) == ["leg_nrs"]
    assert "leg_nrs" not in s.answers
    s.answer("flags", [])
    s.answer("mood", "good")
    assert s.first_unsettled().id == "late"  # onset age 29.8 < 40
    s.answer("late", True)
    assert s.answer("age", 60) == ["late"]  # no longer applies
    assert s.first_unsettled().id == "requests"
    s.answer("leg", True)
    assert s.first_unsettled().id == "leg_nrs"  # applies again: asked again


def test_progress_counts_what_applies_and_may_apply(mini_pathway):
    s = Session.start(mini_pathway)
    assert s.progress("age") == (1, 8)  # leg_nrs and late may apply
    s.answer("age", 60)
    s.answer("weeks", 10)
    assert s.progress("leg") == (3, 7)  # late cannot apply at 60
    s.answer("leg", False)
    assert s.progress("flags") == (4, 6)


def test_resume_asks_only_what_is_missing(mini_pathway):
    s = Session.start(mini_pathway, {"age": 52, "weeks": 10, "leg": False, "requests": None})
    assert s.next_question(None).id == "flags"
    assert "requests" in s.skipped
    s.answer("flags", [])
    s.answer("mood", "low")
    assert s.next_question("mood") is None
    assert s.missing() == []


def test_walk_after_going_back_revisits_answered_questions_but_not_preset_ones(mini_pathway):
    s = Session.start(mini_pathway, {"age": 52})
    s.answer("weeks", 10)
    s.answer("leg", False)
    assert s.next_question("weeks").id == "leg"  # answered in this session: walked through again
    assert s.next_question(None).id == "weeks"  # age came from the file


def test_to_record_keeps_skips_only_for_partial_files(mini_pathway):
    s = Session.start(mini_pathway)
    s.answer("age", 52)
    s.skip("requests")
    assert s.to_record(keep_skips=True) == {"age": 52, "requests": None}
    assert s.to_record(keep_skips=False) == {"age": 52}


def test_emergency_only_when_definite(mini_pathway):
    assert emergencies(mini_pathway, {}) == []  # unknown is not true
    [e] = emergencies(mini_pathway, {"flags": ["saddle"]})
    assert e.rule.id == "red-flag-saddle"
    assert e.reason == "Red flags: Saddle anaesthesia."
    assert e.referrals == ("Offer: Emergency referral; when: same day",)
    assert e.safety_net == "Go now."


def test_default_pathway_emergencies(default_pathway):
    found = emergencies(default_pathway, {"red_flags": ["saddle_anaesthesia"]})
    assert [e.rule.id for e in found] == ["red-flag-cauda-equina"]
    assert emergencies(default_pathway, {"red_flags": []}) == []


# --- the loop with scripted lines ------------------------------------------------------------------

def run(pathway, lines, given=None):
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, highlight=False)
    outcome = run_questionnaire(pathway, given, console=console, read_line=lines_from(lines))
    return outcome, out.getvalue()


def test_complete_walk_then_confirm(mini_pathway):
    outcome, text = run(mini_pathway, MINI_LINES + [""])
    assert outcome.status == COMPLETE
    assert outcome.session.to_record(keep_skips=False) == MINI_ANSWERS
    assert "Section 1 of 1: Main" in text
    assert "Question 1 of about 8" in text
    assert "Demo instrument. Demo instrument, public domain." in text  # attribution with its item
    assert "Review: 7 answers" in text


def test_wrong_answers_are_explained_and_asked_again(mini_pathway):
    outcome, text = run(mini_pathway, ["abc", "200", "52"] + MINI_LINES[1:] + [""])
    assert outcome.status == COMPLETE
    assert 'Not accepted: must be a number (16–110 years), not "abc".' in text
    assert "Not accepted: 200 is out of range; expected 16–110 years." in text


def test_help_and_back(mini_pathway):
    lines = ["52", "?", "10", "b", "b", "b", "60", "", "y", "7", "none", "1", "", ""]
    outcome, text = run(mini_pathway, lines)
    assert outcome.status == COMPLETE
    assert outcome.session.answers["age"] == 60
    assert "Question id: weeks; required." in text
    assert "This is the first question; there is nothing to go back to." in text
    assert "Enter keeps: 10 weeks." in text


def test_review_edit_asks_newly_applicable_questions(mini_pathway):
    # review lists 1 age, 2 weeks, 3 leg, ...; change leg to no (drops leg_nrs) then back to yes (asks it again)
    lines = MINI_LINES + ["3", "n", "3", "y", "9", "xx", "2", "", ""]
    outcome, text = run(mini_pathway, lines)
    assert outcome.status == COMPLETE
    assert outcome.session.answers["leg_nrs"] == 9
    assert outcome.session.answers["weeks"] == 10
    assert "No longer asked, answer removed: Leg pain score" in text
    assert "Review: 6 answers" in text
    assert "Not accepted: type a number from 1 to 7, b, or press Enter." in text


def test_emergency_banner_then_continue_or_stop(mini_pathway):
    head = ["52", "10", "n", "1"]
    outcome, text = run(mini_pathway, head + ["c", "1", "", ""])
    assert outcome.status == COMPLETE
    assert "EMERGENCY: Emergency" in text and "Offer: Emergency referral; when: same day" in text
    outcome, text = run(mini_pathway, head + ["what", "s"])
    assert outcome.status == STOPPED
    assert [e.rule.id for e in outcome.emergencies] == ["red-flag-saddle"]
    assert "Not accepted: type c to continue or s to stop." in text


def test_end_of_input_and_ctrl_c_keep_the_answers(mini_pathway):
    outcome, _ = run(mini_pathway, ["52", "10"])
    assert outcome.status == END_OF_INPUT
    assert outcome.session.answers == {"age": 52, "weeks": 10}

    def interrupt():
        raise KeyboardInterrupt

    calls = iter([lambda: "52", interrupt])
    console = Console(file=io.StringIO(), width=80, color_system=None)
    outcome = run_questionnaire(mini_pathway, None, console=console, read_line=lambda: next(calls)())
    assert outcome.status == INTERRUPTED
    assert outcome.session.answers == {"age": 52}


def test_narrow_terminal_keeps_every_word(mini_pathway):
    out = io.StringIO()
    console = Console(file=out, width=60, color_system=None, highlight=False)
    run_questionnaire(mini_pathway, None, console=console, read_line=lines_from(MINI_LINES + [""]))
    assert max(len(line) for line in out.getvalue().splitlines()) <= 60


# --- the assess command (CliRunner, stdin pretending to be a terminal) ---------------------------------

@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)


@pytest.fixture
def runner():
    return CliRunner()


def test_assess_asks_and_saves_complete_answers(runner, terminal, tmp_path):
    saved = tmp_path / "answers.json"
    result = runner.invoke(cli.app, ["assess", "-p", MINI, "--format", "json", "--save-answers", str(saved)],
                           input="\n".join(MINI_LINES + [""]) + "\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "ok"
    assert "Question 1 of about 8" in result.stderr  # prompts go to stderr, the result to stdout
    assert json.loads(saved.read_text()) == {"answers": MINI_ANSWERS}
    again = runner.invoke(cli.app, ["batch", str(saved), "-p", MINI])
    assert again.exit_code == 0, again.stderr


def test_end_of_input_saves_and_says_how_to_resume(runner, terminal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli.app, ["assess", "-p", MINI], input="52\n10\n")
    assert result.exit_code == 1
    [partial] = tmp_path.glob("backpath-answers-*.partial.json")
    assert json.loads(partial.read_text()) == {"answers": {"age": 52, "weeks": 10}}
    assert f"backpath assess --answers {partial.name} --pathway {MINI}" in result.stderr

    resumed = runner.invoke(cli.app, ["assess", "-p", MINI, "--answers", partial.name, "-f", "json"],
                            input="y\n7\nnone\n1\n\n\n")
    assert resumed.exit_code == 0, resumed.stderr
    assert "Starting from 2 answers" in resumed.stderr
    assert "Question 1 of about 5\nLeg pain?" in resumed.stderr  # age and weeks are not asked again


def test_partial_file_goes_beside_save_answers_or_over_a_resumed_partial(tmp_path):
    assert cli_session.partial_answers_path(None, tmp_path / "a.json") == tmp_path / "a.partial.json"
    assert cli_session.partial_answers_path("x/p.partial.json", tmp_path / "a.json").as_posix() == "x/p.partial.json"
    assert cli_session.partial_answers_path("x/export.json", None).as_posix() == "x/export.partial.json"


def test_stopping_at_an_emergency_prints_the_advice_and_saves(runner, terminal, tmp_path):
    saved = tmp_path / "answers.json"
    result = runner.invoke(cli.app, ["assess", "-p", MINI, "--save-answers", str(saved)],
                           input="52\n10\nn\n1\ns\n")
    assert result.exit_code == 1
    assert "EMERGENCY: Emergency" in result.stdout
    assert "Offer: Emergency referral; when: same day" in result.stdout
    assert json.loads((tmp_path / "answers.partial.json").read_text())["answers"]["flags"] == ["saddle"]
    assert "Stopped at the emergency" in result.stderr


def test_stopping_at_an_emergency_with_every_required_answer_assesses(runner, terminal, tmp_path):
    given = tmp_path / "given.json"
    given.write_text(json.dumps({"age": 52, "weeks": 10, "leg": False, "mood": "good"}))
    result = runner.invoke(cli.app, ["assess", "-p", MINI, "--answers", str(given), "-f", "json"],
                           input="1\ns\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["tier"] == "emergency"


def test_missing_answers_off_a_terminal_fail_at_once(runner, tmp_path):
    given = tmp_path / "given.json"
    given.write_text(json.dumps({"age": 52}))
    result = runner.invoke(cli.app, ["assess", "-p", MINI, "--answers", str(given)], input="52\n")
    assert result.exit_code == 1
    assert "missing: weeks, leg, flags, mood" in result.stderr
    assert "Question" not in result.stderr


def test_after_the_review_back_steps_return_to_the_review(mini_pathway):
    # b at the review goes to the last question; its answer leads straight back to the review
    outcome, text = run(mini_pathway, MINI_LINES + ["b", "2", ""])
    assert outcome.status == COMPLETE
    assert outcome.session.answers["requests"] == ["belt"]
    assert text.count("Review: 7 answers") == 2


def test_a_skipped_question_stays_skipped_after_resuming(runner, terminal, tmp_path):
    given = tmp_path / "p.partial.json"
    given.write_text(json.dumps({"answers": {"age": 52, "weeks": 10, "leg": False, "flags": [], "requests": None}}))
    result = runner.invoke(cli.app, ["assess", "-p", MINI, "--answers", str(given)], input="1\n\n")
    assert result.exit_code == 0, result.stderr
    assert "Question 1 of about 1\nMood" in result.stderr
    assert "Requests\n" not in result.stderr.split("Review:")[0]


def test_nothing_answered_saves_nothing(runner, terminal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli.app, ["assess", "-p", MINI], input="")
    assert result.exit_code == 1
    assert "Nothing was answered, so nothing was saved." in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_bytes_that_are_not_text_are_a_wrong_answer_not_a_crash(runner, terminal):
    result = runner.invoke(cli.app, ["assess", "-p", MINI], input=b"\xff\xfe\n" + "\n".join(MINI_LINES).encode()
                           + b"\n\n")
    assert result.exit_code == 0, result.stderr
    assert 'Not accepted: must be a number (16–110 years), not "\ufffd\ufffd".' in result.stderr


@pytest.mark.parametrize(("typed", "weeks"), [("3 days", 0.43), ("2 months", 8.67), ("1 year", 52), ("6 weeks", 6),
                                               ("6", 6), ("14d", 2), ("1.5 years", 78), ("2 Months", 8.67)])
def test_a_duration_in_days_weeks_months_or_years(default_pathway, typed, weeks):
    assert parse_answer(q(default_pathway, "duration_weeks"), typed).value == weeks


def test_a_duration_of_days_is_shown_in_days_too(default_pathway):
    from backpath.questionnaire.flow import show_value

    duration = q(default_pathway, "duration_weeks")
    assert show_value(duration, 0.43) == "0.43 weeks (3 days)"
    assert show_value(duration, 6) == "6 weeks" and show_value(duration, 8.67) == "8.67 weeks"


def test_a_duration_out_of_range_or_not_a_duration_is_explained(default_pathway):
    duration = q(default_pathway, "duration_weeks")
    assert "0–2600 weeks" in parse_answer(duration, "60 years").error
    assert parse_answer(duration, "three days").error
    assert parse_answer(q(default_pathway, "age"), "3 days").error  # an age is not typed as a duration
    assert parse_answer(q(default_pathway, "age"), "52 years").value == 52


def test_a_resumed_answer_waiting_for_an_earlier_one_is_kept(default_pathway):
    session = Session.start(default_pathway, {"pregnant": False, "duration_weeks": 6})
    assert session.answers["pregnant"] is False and session.next_question(None).id == "age"
    session.answer("age", 40)
    assert session.next_question("age").id == "back_pain_nrs"  # pregnancy is answered already
    assert session.answer("age", 70) == ["pregnant"]  # and dropped once it cannot apply


def test_scores_are_shown_when_their_section_ends(default_pathway):
    given = {"age": 52, "pregnant": False, "duration_weeks": 6, "back_pain_nrs": 5, "sciatica": False,
             "neurogenic_claudication": False, "red_flags": [], "thoracic_pain": False, "first_episode": False}
    given = {k: v for k, v in given.items() if k in default_pathway.questions}
    typed = ["y", "n", "y", "y", "y", "n", "n", "n", "3"]  # items 1, 3, 4, 5 and "moderately": medium risk
    console = Console(file=io.StringIO(), width=80, color_system=None)
    run_questionnaire(default_pathway, given, console=console, read_line=lines_from(typed))
    text = console.file.getvalue()
    assert text.index("Scores so far") > text.index("STarT Back item 9")
    assert "STarT Back total score: 4 of 9" in text and "STarT Back risk group: medium" in text
