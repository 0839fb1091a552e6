"""STarT Back scoring of the default pathway against the published algorithm, all 1,280 combinations.

Keele STarT Back Screening Tool (Hill et al. 2008): total = items 1-9 (item 9 scores 1 for "very much"
or "extremely"); psychosocial subscale = items 5-9; total <= 3 low; else subscale <= 3 medium; else high.
"""

from __future__ import annotations

import itertools

import backpath
from backpath.core.engine import compute_facts

ITEM9 = ["not_at_all", "slightly", "moderately", "very_much", "extremely"]


def published(items: tuple[bool, ...], item9: str) -> tuple[int, int, str]:
    nine = 1 if item9 in ("very_much", "extremely") else 0
    total = sum(items) + nine
    psychosocial = sum(items[4:8]) + nine
    risk = "low" if total <= 3 else ("medium" if psychosocial <= 3 else "high")
    return total, psychosocial, risk


def test_all_1280_combinations_match_the_published_algorithm():
    pathway = backpath.load_pathway("low-back-pain")
    seen = 0
    for items in itertools.product([False, True], repeat=8):
        for item9 in ITEM9:
            answers = {f"startback_{i + 1}": v for i, v in enumerate(items)} | {"startback_9": item9}
            env = compute_facts(pathway, answers)
            assert (env["startback_total"], env["startback_psychosocial"], env["startback_risk"]) == \
                published(items, item9), (items, item9)
            seen += 1
    assert seen == 1280
