"""Peer table: backpath beside GoRules zen-engine on the same 7-rule decision and the same seeded records (a
script that prints figures; not a test).

zen-engine is needed only here and is not a dependency of backpath; this script installs nothing. Put it in the
bench venv, or in a venv of its own with backpath installed too:

    pip install zen-engine          # PyPI wheel (2.1.3 when this was written)
    python bench/peer.py            # 20,000 records, 3 rounds; --profile adds cProfile of backpath's paths

The decision is the 7-row first-hit table of `zenbench.py` (../shared/bench/, by the issue's author), copied
below (`ZEN_RULES`, `zen_content`, `records`, `hand_written`) so the bench runs without that folder; the same
decision as a backpath pathway is `bench/tiny-pathway.yaml` (and its cases). zen's `conservative_high` is
backpath's tier `conservative` with the item `high_risk_support` recommended.

Every path below decides every record, in one process, on the same records; the figure is records per CPU-second
(`time.process_time`, all threads of this process, so zen's native threads count too), median over `--rounds`
rounds, the order of the paths reversed every other round. Each path is warmed first (backpath's pathway
compiled, zen's decision loaded), so the figures are steady-state, and timed loops drop each output as it comes
(as a caller handling one result at a time would). Before timing, each path's decision for every record is
checked against zen's best path (untimed); one disagreement stops the bench, naming the record.

Paths:
  zen.evaluate(key)        ZenEngine({"loader": -> precompiled ZenDecisionContent}).evaluate(key, record): the
                           issue's "zen best path" and the base of every ratio
  zen.get_decision         the same engine's get_decision(key).evaluate(record)
  zen.create_decision      ZenEngine().create_decision(json).evaluate(record, {"trace": False})
  zen.evaluate_batch       ZenEngine(loader).evaluate_batch([{key, context}, ...]) (one call, all records)
  python (hand-written)    the table as an if-chain (zenbench.py's `tier`)
  backpath.assess          the public API: the full result dict (reasons, citations, ...) a record
  backpath.assess_lines    the public batch API: JSON Lines in, the result's JSON text out (lines prepared
                           untimed; decisions read back from the text untimed)
  backpath decide          the decision alone, in-process: `program.run` (the compiled check and decision in one
                           function, as `assess` and batch run it) + `engine.decide_fired` (the tier's
                           contributing rules) + the marker item from them; falls back to `check_answers` for
                           answers `run` does not take, as `assess` does
  backpath program only    `program.run` and the tier picked from its most urgent rank inline (what a caller of
                           the compiled program alone pays; not a public API)
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATHWAY_FILE = HERE / "tiny-pathway.yaml"

# --- the zen decision and the records: copied from ../shared/bench/zenbench.py ------------------------------------
INPUTS = ["red_flag", "duration_weeks", "risk", "pain", "failed_conservative_weeks", "radicular"]
ZEN_RULES = [  # (conditions by input number, tier); hit policy "first"
    ({"i1": "true"}, "emergency"),
    ({"i6": "true", "i5": ">= 6", "i4": ">= 5"}, "surgical_consult"),
    ({"i5": ">= 6", "i4": ">= 5"}, "interventional"),
    ({"i3": "'high'"}, "conservative_high"),
    ({"i3": "'medium'"}, "conservative"),
    ({"i2": "< 6"}, "self_management"),
    ({}, "conservative"),
]


def zen_content() -> str:
    """The zen JSON decision model (JDM) of the table, as zenbench.py builds it."""
    inputs = [{"id": f"i{i}", "name": f, "field": f} for i, f in enumerate(INPUTS, 1)]
    rules = []
    for i, (conds, tier) in enumerate(ZEN_RULES):
        rule = {"_id": f"r{i}", "o1": json.dumps(tier)}
        for k in ["i1", "i2", "i3", "i4", "i5", "i6"]:
            rule[k] = conds.get(k, "")
        rules.append(rule)
    content = {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "dt", "type": "decisionTableNode", "name": "Tier", "position": {"x": 0, "y": 0},
             "content": {"hitPolicy": "first", "inputs": inputs,
                         "outputs": [{"id": "o1", "name": "Tier", "field": "tier"}], "rules": rules}},
            {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 0, "y": 0}},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "dt", "type": "edge"},
                  {"id": "e2", "sourceId": "dt", "targetId": "out", "type": "edge"}],
    }
    return json.dumps(content)


def records(n: int, seed: int) -> list[dict]:
    """zenbench.py's seeded records (seed 1 and 20,000 there): the same random calls in the same order."""
    rng = random.Random(seed)
    return [{"red_flag": rng.random() < 0.05, "duration_weeks": rng.randint(0, 52),
             "risk": rng.choice(["low", "medium", "high"]), "pain": rng.randint(0, 10),
             "failed_conservative_weeks": rng.randint(0, 20), "radicular": rng.random() < 0.3} for _ in range(n)]


def hand_written(r: dict) -> str:
    """zenbench.py's `tier`: the table as plain Python."""
    if r["red_flag"]:
        return "emergency"
    if r["radicular"] and r["failed_conservative_weeks"] >= 6 and r["pain"] >= 5:
        return "surgical_consult"
    if r["failed_conservative_weeks"] >= 6 and r["pain"] >= 5:
        return "interventional"
    if r["risk"] == "high":
        return "conservative_high"
    if r["risk"] == "medium":
        return "conservative"
    if r["duration_weeks"] < 6:
        return "self_management"
    return "conservative"


# --- the paths -----------------------------------------------------------------------------------------------------
MARKER = "high_risk_support"


def label(tier: str, recommended) -> str:
    """backpath's decision as zen's label."""
    return "conservative_high" if tier == "conservative" and MARKER in recommended else tier


class Path_:
    """One way of deciding the records: `one(record)` a record at a time, or `many(records)` all at once (then
    it returns the outputs as a list); `label(output)` gives the output's decision as zen's label."""

    def __init__(self, name: str, label: Callable[[object], str], note: str = "", *,
                 one: Callable[[object], object] | None = None, many: Callable[[list], list] | None = None):
        self.name, self.label, self.note, self.one, self.many = name, label, note, one, many
        self.rates: list[float] = []

    def timed(self, data: list) -> float:
        """CPU seconds to decide every record; outputs are dropped as they come, as a caller that handles each
        result in turn would (keeping 20,000 result dicts alive makes the garbage collector's passes longer)."""
        one = self.one
        start = time.process_time()
        if one is None:
            self.many(data)
        else:
            for x in data:
                one(x)
        return time.process_time() - start

    def decisions(self, data: list) -> list[str]:
        outs = self.many(data) if self.one is None else [self.one(x) for x in data]
        return [self.label(o) for o in outs]


def zen_paths(zen) -> list[Path_]:
    text = zen_content()
    content = zen.ZenDecisionContent(text)
    engine = zen.ZenEngine({"loader": lambda key: content})
    decision = engine.get_decision("d")
    plain = zen.ZenEngine().create_decision(text)
    batch_engine = zen.ZenEngine({"loader": lambda key: text})
    no_trace = {"trace": False}

    def tier(out):
        return out["result"]["tier"]

    def batch(recs):
        return batch_engine.evaluate_batch([{"key": "d", "context": r} for r in recs])

    def batch_tier(out):
        if not out.get("success"):
            raise SystemExit(f"zen evaluate_batch failed: {out}")
        return out["data"]["result"]["tier"]

    return [
        Path_("zen.evaluate(key)", tier, "precompiled loader: the base", one=functools.partial(engine.evaluate, "d")),
        Path_("zen.get_decision", tier, one=decision.evaluate),
        Path_("zen.create_decision", tier, "trace off", one=lambda r: plain.evaluate(r, no_trace)),
        Path_("zen.evaluate_batch", batch_tier, "one call", many=batch),
    ]


def backpath_paths(pathway) -> list[Path_]:
    import backpath
    from backpath.core import engine
    from backpath.core.answers import check_answers

    plan = engine._plan(pathway)
    program = plan.program
    rules = pathway.rules
    offers = frozenset(k for k, r in enumerate(rules) if MARKER in r.offer)
    rank = pathway.tier_rank
    tier_ids = [t.id for t in pathway.tiers]
    preempts = [t.preempts for t in pathway.tiers]
    default_rank = rank[pathway.default_tier]
    run, decide_fired, decide = program.run, engine.decide_fired, engine.decide_positions

    def result_label(res):
        if res["status"] != "ok":
            raise SystemExit(f"backpath gave an error result: {res}")
        return label(res["tier"], [i["id"] for i in res["recommendations"]])

    def lines_all(lines):
        return list(backpath.assess_lines(pathway, lines, source="peer"))

    def decide_one(r):
        """The decision through the engine's own functions: the compiled check and decision (`run`), then the
        contributing rules (`decide_fired`)."""
        ran = run(r)
        if ran is None:  # not taken by `run`: `assess` checks with check_answers (none in these records)
            checked = check_answers(pathway, r, plan.asks)
            if checked.problems:
                return None
            tier, contributing = decide(plan, checked.values)
        else:
            tier, contributing = decide_fired(plan, ran[1], ran[2])
        if tier == "conservative" and not offers.isdisjoint(contributing):
            return "conservative_high"
        return tier

    def program_one(r):
        """The compiled program alone: `run` (check, facts, rules fired and the most urgent rank), the tier
        picked inline."""
        ran = run(r)
        if ran is None:
            return None
        _, fired, best = ran
        if best == len(tier_ids):
            best = default_rank
        tier = tier_ids[best]
        # the marker matters only under `conservative`, which does not preempt: every fired rule contributes
        if tier == "conservative" and not preempts[best] and not offers.isdisjoint(fired):
            return "conservative_high"
        return tier

    def same(x):
        return x

    return [
        Path_("backpath.assess", result_label, "public API, full result dict",
              one=functools.partial(backpath.assess, pathway)),
        Path_("backpath.assess_lines", lambda text: result_label(json.loads(text)), "public API, JSON text out",
              many=lines_all),
        Path_("backpath decide", same, "run + decide_fired", one=decide_one),
        Path_("backpath program only", same, "run + tier inline", one=program_one),
    ]


def hand_path() -> Path_:
    return Path_("python (hand-written)", lambda x: x, "if-chain", one=hand_written)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1, help="zenbench.py uses 1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile backpath's paths once (after timing)")
    parser.add_argument("--top", type=int, default=15, help="functions shown per profile")
    parser.add_argument("--skip", nargs="*", default=[], help="path names to leave out (e.g. zen.evaluate_batch)")
    args = parser.parse_args()
    try:
        import zen
    except ImportError:
        raise SystemExit("zen-engine is not installed in this venv: pip install zen-engine (bench only)") from None
    import backpath

    start = time.process_time()
    pathway = backpath.load_pathway(PATHWAY_FILE)
    load_cpu = time.process_time() - start
    start = time.process_time()
    from backpath.core import engine
    engine._plan(pathway)
    plan_cpu = time.process_time() - start

    recs = records(args.records, args.seed)
    lines = [json.dumps({"id": i, "answers": r}) + "\n" for i, r in enumerate(recs, 1)]
    paths = zen_paths(zen) + [hand_path()] + backpath_paths(pathway)
    paths = [p for p in paths if p.name not in args.skip]
    base = paths[0]
    print(f"peer table: {len(recs):,} records (seed {args.seed}), {args.rounds} rounds, CPU time; "
          f"python {sys.version.split()[0]}, zen-engine {_version('zen-engine')}, backpath {backpath.__version__}")
    print(f"backpath: load {PATHWAY_FILE.name} {load_cpu * 1000:.0f} ms, compile (plan) {plan_cpu * 1000:.0f} ms, "
          "once, not in the figures")

    def data(p: Path_) -> list:
        return lines if p.name == "backpath.assess_lines" else recs

    for p in paths:  # warm-up
        p.timed(data(p)[:500])
    expected = base.decisions(recs)  # zen's best path: what every path must agree with, record by record
    for p in paths[1:]:
        _check(p, p.decisions(data(p)), expected, recs)
    for round_no in range(args.rounds):
        for p in paths if round_no % 2 == 0 else paths[::-1]:
            p.rates.append(len(recs) / p.timed(data(p)))

    base_rate = statistics.median(base.rates)
    print(f"\n{'path':24} {'records/CPU-s':>14} {'us/record':>10} {'x zen best':>11}  rounds (records/CPU-s)")
    for p in paths:
        rate = statistics.median(p.rates)
        rounds = ", ".join(f"{r:,.0f}" for r in p.rates)
        print(f"{p.name:24} {rate:>14,.0f} {1e6 / rate:>10.2f} {rate / base_rate:>10.2f}x  {rounds}"
              + (f"  [{p.note}]" if p.note else ""))
    print(f"\nall {len(recs):,} decisions agree with {base.name} on every path checked")

    by_name = {p.name: statistics.median(p.rates) / base_rate for p in paths}
    best_name = max((n for n in by_name if n.startswith("backpath")), key=by_name.get, default=None)
    print("\nissue 14 targets (ratios to zen's best path, median of rounds):")
    if "backpath.assess" in by_name:
        _target("backpath.assess >= 1x", by_name["backpath.assess"], 1.0)
    if best_name:
        _target(f"best in-process ({best_name}) >= 2x", by_name[best_name], 2.0)

    if "backpath.assess" in by_name and "backpath decide" in by_name:
        whole = 1e6 / statistics.median(next(p for p in paths if p.name == "backpath.assess").rates)
        deciding = 1e6 / statistics.median(next(p for p in paths if p.name == "backpath decide").rates)
        print(f"\nbackpath.assess {whole:.2f} us a record: deciding (run + decide_fired) {deciding:.2f} us, "
              f"the result dict and the call {whole - deciding:.2f} us ({(whole - deciding) / whole:.0%}); "
              f"zen's best path {1e6 / base_rate:.2f} us")

    if args.profile:
        for p in paths:
            if p.name.startswith("backpath"):
                _profile(p, data(p), args.top)


def _check(p: Path_, got: list, expected: list, recs: list) -> None:
    if len(got) != len(expected):
        raise SystemExit(f"{p.name}: {len(got)} decisions for {len(expected)} records")
    for i, (a, b) in enumerate(zip(got, expected)):
        if a != b:
            raise SystemExit(f"{p.name}: record {i + 1} {recs[i]} decided {a!r}, zen {b!r}")


def _target(what: str, ratio: float, goal: float) -> None:
    if ratio >= goal:
        print(f"  {what}: met ({ratio:.2f}x)")
    else:
        print(f"  {what}: NOT met ({ratio:.2f}x; {goal / ratio:.2f}x faster needed, "
              f"{(1 - ratio / goal) * 100:.0f}% short)")


def _profile(p: Path_, data, top: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    p.timed(data)
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
    body = text.getvalue()
    print(f"\n--- cProfile {p.name} ({len(data):,} records; tottime order, profiler overhead included) ---")
    print(body[body.find("   ncalls"):].rstrip())


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
