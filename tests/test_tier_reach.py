"""`backpath validate` reports a tier that no answers can make the result (the most urgent tier of the rules that
fire wins, so a catch-all rule of a more urgent tier hides every less urgent one)."""

from __future__ import annotations

from backpath.validate.run import check_file

from .conftest import FIXTURES

MINI = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
NO_BELT = '''  - id: no-belt
    when: "true"
    advise_against: [belt]'''


def _check(tmp_path, text):
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    return [f for f in check_file(path).findings if f.code == "tier-unreachable"]


def test_the_mini_pathway_reaches_every_tier(tmp_path):
    assert _check(tmp_path, MINI) == []


def test_a_catch_all_that_reads_answers_is_a_warning_naming_the_rule(tmp_path):
    text = MINI.replace(NO_BELT, NO_BELT.replace('"true"', '"age >= 16"') + "\n    tier: conservative")
    [finding] = _check(tmp_path, text)
    assert finding.severity == "warning" and finding.id == "self_management" and finding.line == 25
    assert "`no-belt` (tier `conservative`, when `age >= 16`) fires for every answer set" in finding.message
    assert finding.details == {"tier": "self_management", "always_firing": ["no-belt"]}


def test_a_tier_hidden_only_for_some_answers_is_still_reachable(tmp_path):
    """`weeks >= 0 and mood != "good"` leaves the answers with good mood to self_management."""
    text = MINI.replace(NO_BELT, NO_BELT.replace('"true"', "'weeks >= 0 and mood != \"good\"'")
                        + "\n    tier: conservative")
    assert _check(tmp_path, text) == []


def test_a_tier_no_rule_sets_is_reported(tmp_path):
    text = MINI.replace("  - id: self_management\n", "  - id: interventional\n    title: Interventional\n"
                        "    follow_up: {review_in_weeks: 6, safety_net: x}\n  - id: self_management\n")
    [finding] = _check(tmp_path, text)
    assert finding.id == "interventional" and finding.severity == "warning"
    assert "no rule sets it and it is not the `default_tier`" in finding.message
