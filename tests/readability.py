"""Flesch reading ease for English text, for the handout tests (a test helper, not part of backpath).

206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words). Syllables are counted by vowel groups, with
the usual corrections for a silent final e and for -le and -ed endings; good to a point or two on plain prose,
which is all a threshold of 60 needs.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


def syllables(word: str) -> int:
    w = word.lower().split("'")[0]
    if len(w) <= 3:
        return 1
    groups = re.findall(r"[aeiouy]+", w)
    n = len(groups)
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    if w.endswith("ed") and not w.endswith(("ted", "ded")) and n > 1:
        n -= 1
    return max(n, 1)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentences(text: str) -> int:
    """Sentences end with . ! ? or a line break (headings and list items count as their own sentence)."""
    parts = [p for p in re.split(r"[.!?]+(?:\s|$)|\n+", text) if _WORD.search(p)]
    return max(len(parts), 1)


def flesch_reading_ease(text: str) -> float:
    ws = words(text)
    if not ws:
        return 100.0
    return 206.835 - 1.015 * (len(ws) / sentences(text)) - 84.6 * (sum(map(syllables, ws)) / len(ws))
