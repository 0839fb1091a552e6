"""Safety invariants: declared in the pathway, checked by searching the answer space, and every violation
comes with a counterexample that `backpath assess --answers` accepts and that shows the violation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backpath.core import engine
from backpath.load.catalog import resolve
from backpath.load.loader import check_pathway_bytes, load_pathway
from backpath.validate.answerspace import AnswerSpace
from backpath.validate.invariants import check_invariants, decision
from backpath.validate.run import check_file

TESTS = Path(__file__).resolve().parent
MINI = TESTS / "fixtures" / "mini.yaml"
BROKEN = TESTS / "broken_pathways"


def mini_with(tmp_path: Path, extra: str, name: str = "mini") -> Path:
    text = MINI.read_text(encoding="utf-8").replace("\nid: mini\n", f"\nid: {name}\n")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def violations(path: Path) -> dict[str, object]:
    pathway = load_pathway(path)
    space = AnswerSpace(pathway)
    return {v.invariant.id: v for v in check_invariants(space, space.sample())}


def assess_cli(pathway: Path, answers: dict, tmp_path: Path) -> dict:
    """Run the real command line, as a user would with the printed counterexample."""
    answers_file = tmp_path / "counterexample.json"
    answers_file.write_text(json.dumps(answers), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "backpath", "assess", "--pathway", str(pathway), "--answers",
                           str(answers_file), "--format", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_broken_invariant_gives_a_counterexample_that_assess_confirms(tmp_path: Path):
    path = BROKEN / "invariant-violated.yaml"
    report = check_file(path)
    [finding] = [f for f in report.findings if f.code == "invariant-violated"]
    assert (finding.line, finding.id, finding.severity) == (126, "no-massage", "error")
    example = finding.details["counterexample"]
    assert f"Counterexample answers: {json.dumps(example)}" in finding.message
    result = assess_cli(path, example, tmp_path)
    massage = [r for r in result["recommendations"] if r["id"] == "massage"]
    assert massage and massage[0]["strength"] == "consider"
    assert "high-risk" in result["rules_fired"]
    assert {k: report.invariants[k] for k in ("checked", "violated")} == {"checked": 1, "violated": 1}
    assert report.invariants["answer_sets"] > 0


INVARIANTS = """\
invariants:
  - id: saddle-is-an-emergency
    description: Saddle anaesthesia gives tier emergency.
    sources: [{id: SRC, section: "1"}]
    when: '"saddle" in flags'
    expect: {tier: emergency, recommended: [emergency_referral]}
  - id: belts-never
    description: Belts are never recommended.
    expect: {never_recommended: [belt]}
  - id: exercise-only-when-indicated
    description: Exercise only for high risk, severe chronic leg pain or very low mood.
    recommended_only_when:
      items: [exercise]
      condition: 'risk == "high" or (chronic and leg_nrs >= 7) or mood == "very_low"'
  - id: advice-unless-emergency
    description: Everyone without a red flag gets advice.
    when: 'not ("saddle" in flags)'
    expect: {recommended: [advice], tier_at_least: self_management}
"""


def test_invariants_that_hold_give_no_findings(tmp_path: Path):
    path = mini_with(tmp_path, INVARIANTS)
    assert violations(path) == {}
    report = check_file(path)
    assert [f for f in report.findings if f.severity == "error"] == []
    assert report.invariants["checked"] == 4 and report.invariants["violated"] == 0


@pytest.mark.parametrize("invariant, problem", [
    ("""  - id: saddle-urgent-only
    description: wrong on purpose
    when: '"saddle" in flags'
    expect: {tier: conservative}
""", "the tier is `emergency`, not `conservative` (rules fired: red-flag-saddle)"),
    ("""  - id: exercise-only-when-chronic
    description: wrong on purpose
    recommended_only_when: {items: [exercise], condition: chronic}
""", "`exercise` is recommended (offer) by `high-risk`, `mood-low-consider-exercise` although `chronic` is false"),
    ("""  - id: advice-always
    description: wrong on purpose
    expect: {recommended: [advice]}
""", "`advice` is not recommended (no rule that fired offers it)"),
    ("""  - id: massage-urgent
    description: wrong on purpose
    when: 'mood == "very_low"'
    expect: {tier_at_least: emergency}
""", "the tier is `conservative`, less urgent than `emergency`"),
    ("""  - id: exercise-always-warned
    description: wrong on purpose
    recommended_only_with_warning: {items: [exercise], rules: [mood-low-consider-exercise]}
""", "`exercise` is recommended but the warning of rule `mood-low-consider-exercise` is not shown"),
])
def test_each_kind_of_invariant_finds_a_minimal_counterexample(tmp_path: Path, invariant: str, problem: str):
    path = mini_with(tmp_path, "invariants:\n" + invariant)
    [violation] = violations(path).values()
    assert problem in violation.problem
    result = assess_cli(path, violation.answers, tmp_path)
    assert result["status"] == "ok"
    # shrunk towards the lowest answers: only what the violation needs is set
    assert violation.answers["age"] == 16 and violation.answers["weeks"] == 0


DEEP = """\
  - {id: deep, title: Deep, description: Needs four things at once., category: surgical, tier: conservative,
     care_team: [gp], stance: Rare., sources: [{id: SRC, section: "7"}]}
"""
DEEP_RULE = """\
  - id: deep-rule
    when: 'weeks > 52 and leg_nrs == 9 and mood == "low" and age == 77'
    consider: [deep]
    reason: Four things at once.
    sources: [{id: SRC, section: "7"}]
"""


def test_the_targeted_search_finds_a_conjunction_of_four_exact_values(tmp_path: Path):
    text = MINI.read_text(encoding="utf-8").replace("rules:\n", DEEP + "rules:\n").replace(
        "advisory_notes:\n", DEEP_RULE + "invariants:\n  - id: never-deep\n    description: never\n"
        "    expect: {never_recommended: [deep]}\nadvisory_notes:\n")
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    [violation] = violations(path).values()
    a = violation.answers
    assert (a["age"], a["leg_nrs"], a["mood"]) == (77, 9, "low") and a["weeks"] > 52
    assert "`deep` is recommended (consider) by `deep-rule`" in violation.problem


def test_invariants_are_compiled_and_checked_by_the_loader():
    bad = MINI.read_text(encoding="utf-8") + """\
invariants:
  - id: x
    description: bad
    when: 'flags == "saddle"'
    expect: {tier: emergncy, never_recommended: [advice], recommended: [advice]}
"""
    pathway, found = check_pathway_bytes(bad.encode(), "bad.yaml", stem="mini")
    assert pathway is None
    messages = sorted((f.line, f.message) for f in found)
    assert messages[0][0] == 130 and "compares the multi-choice `flags` with text" in messages[0][1]
    assert (131, "advice is both `recommended` and `never_recommended`; the invariant could never hold. Keep one.") \
        in messages
    assert any(line == 131 and "unknown tier `emergncy`. Did you mean `emergency`?" in m for line, m in messages)


@pytest.mark.parametrize("path", [MINI, BROKEN / "invariant-violated.yaml", "low-back-pain"],
                         ids=["mini", "invariant-violated", "default"])
def test_the_fast_decision_agrees_with_the_engine_on_every_sampled_answer_set(path):
    pathway = load_pathway(resolve(path) if isinstance(path, str) else path)
    space = AnswerSpace(pathway)
    for point in space.sample():
        result = engine.assess(pathway, point.answers)
        assert result["status"] == "ok", point.answers
        tier, recommended = decision(pathway, point.env)
        assert tier == result["tier"]
        assert recommended == {r["id"] for r in result["recommendations"]}, point.answers


def test_a_warning_invariant_must_name_rules_that_give_a_warning():
    bad = MINI.read_text(encoding="utf-8") + """\
invariants:
  - id: x
    description: bad
    recommended_only_with_warning: {items: [exercise, exercize], rules: [high-risk, no-such-rule]}
"""
    pathway, found = check_pathway_bytes(bad.encode(), "bad.yaml", stem="mini")
    assert pathway is None
    messages = [f.message for f in found]
    assert any("unknown catalogue item `exercize`" in m for m in messages)
    assert any("unknown rule `no-such-rule`" in m for m in messages)
    assert any("rule `high-risk` has no `warning`, so the invariant could never hold" in m for m in messages)


def test_a_warning_invariant_holds_when_the_warning_rule_covers_every_recommendation(tmp_path: Path):
    path = mini_with(tmp_path, """invariants:
  - id: very-low-mood-exercise-warned
    description: exercise for very low mood always carries the mood warning
    when: 'mood == "very_low"'
    recommended_only_with_warning: {items: [exercise], rules: [mood-low-consider-exercise]}
""")
    assert violations(path) == {}
