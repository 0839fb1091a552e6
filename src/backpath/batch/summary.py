"""The summary `batch` prints on stderr at the end of a run: counts, tiers, errors by kind, repeated ids.

It never names a patient, an id or an answer: only counts and places (`file:line`). Errors are counted by kind
(a record with several missing answers counts once as "missing answer"); a record id seen before in the run is
warned about by the places of the repeats, since two results with one id are easy to mix up downstream. The
rate is given only for runs of a second or more (5 records in 0.06 s is not "89 records/s"). Lines wrap at
spaces, never inside a number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from backpath.core.model import Pathway
from backpath.core.shown import safe

MAX_PLACES = 3  # places of errors or repeated ids named in the summary
MAX_IDS = 1_000_000  # ids remembered to find repeats: memory stays bounded whatever the run's size
KIND_ORDER = ("missing answer", "invalid answer", "unknown question", "not JSON", "not UTF-8 text", "not a record")


def error_kinds(errors: Iterable[dict]) -> set[str]:
    """The kinds of an error record's errors, each once."""
    kinds = set()
    for e in errors:
        message, path = e.get("message", ""), e.get("path", "")
        if message.startswith("required answer is missing"):
            kinds.add("missing answer")
        elif message.startswith("unknown question"):
            kinds.add("unknown question")
        elif path.startswith("answers."):
            kinds.add("invalid answer")
        elif "not valid JSON" in message:
            kinds.add("not JSON")
        elif "not UTF-8" in message:
            kinds.add("not UTF-8 text")
        else:
            kinds.add("not a record")
    return kinds


@dataclass
class Repeats:
    """Record ids seen so far in a run, and the places of records that repeat one."""

    seen: set = field(default_factory=set)
    count: int = 0
    places: list[str] = field(default_factory=list)
    full: bool = False  # MAX_IDS ids remembered: later ids are not checked

    def add(self, ids: Iterable[tuple[Any, dict]]) -> None:
        """Take a chunk's `(id, source)` pairs (`source` as in an error result, named by `place` only for a
        repeat)."""
        if type(ids) is list and self._add_new(ids):
            return
        for record_id, source in ids:
            # 7 and "7" are different ids (ids are text or whole numbers, which never compare equal)
            key = record_id if type(record_id) is str or type(record_id) is int \
                else (type(record_id) is int, str(record_id))
            if key in self.seen:
                self.count += 1
                if len(self.places) < MAX_PLACES:
                    self.places.append(place(source))
            elif len(self.seen) < MAX_IDS:
                self.seen.add(key)
            else:
                self.full = True

    def _add_new(self, ids: list[tuple[Any, dict]]) -> bool:
        """The common chunk, taken whole: ids that are all text or whole numbers, none seen before nor twice in
        the chunk, and room for them all. Anything else (False) is left to `add`, an id at a time."""
        keys = [record_id for record_id, _ in ids]
        if not set(map(type, keys)) <= _PLAIN_IDS:  # a bool is not an int here: True would be taken for 1
            return False
        new = set(keys)
        if len(new) != len(keys) or len(self.seen) + len(new) > MAX_IDS or not self.seen.isdisjoint(new):
            return False
        self.seen |= new
        return True


_PLAIN_IDS = {str, int}  # the types of ids that are their own keys in `Repeats.seen`


def place(source: dict) -> str:
    """`file:line`, `file record N` or `file`: where a record came from, for people."""
    if "line" in source:
        return f"{source['file']}:{source['line']}"
    if "record" in source:
        return f"{source['file']} record {source['record']}"
    return source["file"]


def summary_lines(pathway: Pathway, stats: Any, out_name: str, seconds: float) -> list[str]:
    """The summary's lines, for a `BatchStats`."""
    noun = "record" if stats.records == 1 else "records"
    rate = f", {stats.records / seconds:,.0f} records/s" if seconds >= 1 and stats.records else ""
    lines = [f"{stats.records:,} {noun} read: {stats.ok:,} ok, {stats.errors:,} with errors{rate}."]
    if stats.ok:
        per_tier = [f"{t.id} {stats.tiers[t.id]:,}" for t in pathway.tiers if stats.tiers.get(t.id)]
        lines.append("tiers: " + ", ".join(per_tier) + ".")
    if stats.errors:
        kinds: Counter = stats.error_kinds
        ordered = [k for k in KIND_ORDER if kinds.get(k)] + sorted(k for k in kinds if k not in KIND_ORDER)
        lines.append("errors by kind (a record counts once for each kind it has): "
                     + ", ".join(f"{k} {kinds[k]:,}" for k in ordered) + ".")
        more = " ..." if stats.errors > len(stats.error_places) else ""
        lines.append(f"first errors at: {', '.join(stats.error_places)}{more} (see each record's \"errors\").")
    repeats: Repeats = stats.repeats
    if repeats.count:
        more = " ..." if repeats.count > len(repeats.places) else ""
        plural = "s repeat an id" if repeats.count != 1 else " repeats an id"
        lines.append(f"warning: {repeats.count:,} record{plural} used earlier in this run, at "
                     f"{', '.join(repeats.places)}{more}; each still has its own result, in input order.")
    if repeats.full:
        lines.append(f"note: only the first {MAX_IDS:,} ids were checked for repeats.")
    if out_name != "stdout":
        lines.append(f"results written to {out_name}.")
    return lines


def print_summary(console: Console, pathway: Pathway, stats: Any, out_name: str, seconds: float) -> None:
    for line in summary_lines(pathway, stats, out_name, seconds):
        # wrapped at spaces: never inside a number; control characters (a file name's) written as escapes
        console.print(safe(line, lines=False), markup=False, highlight=False)
