"""Pathway test cases (`<pathway>.cases.yaml`, see docs/cases-format.md): load them with the strict YAML
loader, check them against their JSON Schema and the pathway, run every case through the engine, and
report each failing expectation with the difference (expected vs actual) at its line, plus coverage by
rule, catalogue item and question option.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from backpath.core import engine
from backpath.core.errors import Finding, did_you_mean
from backpath.core.limits import MAX_PATHWAY_BYTES
from backpath.core.model import Pathway
from backpath.load.document import LoadedYaml, path_text
from backpath.load.loader import schema_findings
from backpath.load.yamlio import load_yaml
from backpath.system.fileio import read_bounded

CASES_SUFFIX = ".cases.yaml"
_LIST_KEYS = ("recommended", "not_recommended", "absent", "rules_fired", "rules_not_fired")


@lru_cache(maxsize=1)
def cases_schema() -> dict:
    """The JSON Schema of a cases file, shipped inside the package."""
    return json.loads(resources.files("backpath.schemas").joinpath("cases.schema.json").read_text("utf-8"))


def cases_file_for(pathway_file: Path) -> Path:
    """`pathways/x.yaml` -> `pathways/x.cases.yaml`."""
    return pathway_file.with_name(pathway_file.stem + CASES_SUFFIX)


def pathway_file_for(cases_file: Path) -> Path:
    """`pathways/x.cases.yaml` -> `pathways/x.yaml`."""
    return cases_file.with_name(cases_file.name[: -len(CASES_SUFFIX)] + ".yaml")


@dataclass(frozen=True)
class CoveragePart:
    """Which of `total` ids some case reached."""

    covered: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.covered) + len(self.missing)

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else round(100.0 * len(self.covered) / self.total, 1)

    def as_dict(self) -> dict:
        return {"covered": len(self.covered), "total": self.total, "percent": self.percent,
                "missing": list(self.missing)}

    @staticmethod
    def of(ids: list[str], reached: set[str]) -> CoveragePart:
        return CoveragePart(tuple(i for i in ids if i in reached), tuple(i for i in ids if i not in reached))


@dataclass(frozen=True)
class Coverage:
    rules: CoveragePart
    items: CoveragePart
    options: CoveragePart

    def as_dict(self) -> dict:
        return {"rules": self.rules.as_dict(), "items": self.items.as_dict(), "options": self.options.as_dict()}


@dataclass
class CasesRun:
    """The outcome of one cases file."""

    file: str
    findings: list[Finding] = field(default_factory=list)
    run: int = 0
    passed: int = 0
    coverage: Coverage | None = None

    @property
    def failed(self) -> int:
        return self.run - self.passed

    def as_dict(self) -> dict:
        return {"file": self.file, "run": self.run, "passed": self.passed, "failed": self.failed}


def run_cases(pathway: Pathway, path: Path) -> CasesRun:
    """Load and run one cases file against `pathway`. Never raises for bad input; problems are findings."""
    name = str(path)
    out = CasesRun(name)
    try:
        raw = read_bounded(path, MAX_PATHWAY_BYTES)
        if len(raw) > MAX_PATHWAY_BYTES:
            out.findings.append(Finding(name, None, None, "(file)", f"the cases file is over the limit of "
                                        f"{MAX_PATHWAY_BYTES:,} bytes (8 MiB); split it.", "limit"))
            return out
        text = raw.decode("utf-8")
    except OSError as exc:
        out.findings.append(Finding(name, None, None, "(file)", f"cannot read the cases file: {exc.strerror}.",
                                    "file"))
        return out
    except UnicodeDecodeError:
        out.findings.append(Finding(name, None, None, "(file)", "the cases file is not valid UTF-8; save it as "
                                    "UTF-8.", "encoding"))
        return out
    loaded = load_yaml(text, name)
    out.findings += loaded.findings
    if loaded.data is None or any(f.severity == "error" for f in loaded.findings):
        return out
    problems = schema_findings(loaded, name, cases_schema())
    if problems:
        out.findings += problems
        return out
    _Runner(pathway, loaded, name, out).run()
    return out


class _Runner:
    def __init__(self, pathway: Pathway, loaded: LoadedYaml, name: str, out: CasesRun):
        self.p = pathway
        self.loaded = loaded
        self.data: dict = loaded.data  # type: ignore[assignment]  # schema-valid, so a mapping
        self.name = name
        self.out = out
        self.rule_ids = [r.id for r in pathway.rules]
        self.score_ids = [s.id for s in pathway.scores]
        rf = pathway.red_flag_question
        self.red_flag_options = list(pathway.questions[rf].option_ids) if rf else []

    def finding(self, path: tuple, message: str, code: str, severity: str = "error", case: str | None = None,
                details: dict | None = None) -> None:
        line, col = self.loaded.position(path)
        self.out.findings.append(Finding(self.name, line, col, path_text(path), message, code, severity, case,
                                         details))

    def run(self) -> None:
        d = self.data
        if d["pathway"] != self.p.id:
            self.finding(("pathway",), f"these cases are for `{d['pathway']}`, but the pathway beside them is "
                         f"`{self.p.id}`; fix `pathway:`.", "cases-pathway")
            return
        base = d.get("base_answers", {})
        names: dict[str, int] = {}
        fired: set[str] = set()
        items: set[str] = set()
        options: set[str] = set()
        for i, case in enumerate(d["cases"]):
            path = ("cases", i)
            cname = case["name"]
            if cname in names:
                self.finding(path + ("name",), f"duplicate case name `{cname}` (also cases[{names[cname]}]); "
                             "rename one.", "duplicate-id", case=cname)
            names.setdefault(cname, i)
            expect = case["expect"]
            if not expect:
                self.finding(path + ("expect",), f"case `{cname}` expects nothing, so it would pass whatever the "
                             "pathway does; add an expectation such as `tier` or `recommended`.", "case-empty",
                             case=cname)
                continue
            answers = {**base, **case.get("answers", {})}
            for j, key in enumerate(case.get("remove", [])):
                if key not in base:
                    self.finding(path + ("remove", j), f"`{key}` is not in base_answers, so there is nothing to "
                                 "remove.", "case-remove", "warning", case=cname)
                answers.pop(key, None)
            self.out.run += 1
            result = engine.assess(self.p, answers)
            before = len(self.out.findings)
            self.compare(path, cname, expect, result, case, base)
            if len(self.out.findings) == before:
                self.out.passed += 1
            if result["status"] == "ok":
                fired.update(result["rules_fired"])
                for entry in result["recommendations"] + result["not_recommended"]:
                    if any(r["rule"] != "request-not-indicated" for r in entry["reasons"]):
                        items.add(entry["id"])
                options |= _options_answered(self.p, answers)
        self.out.coverage = Coverage(
            CoveragePart.of(self.rule_ids, fired),
            CoveragePart.of(list(self.p.catalogue), items),
            CoveragePart.of(_all_options(self.p), options),
        )

    # --- comparing ------------------------------------------------------------------------------
    def known(self, path: tuple, cname: str, value: str, ids: list[str], what: str) -> bool:
        if value in ids:
            return True
        self.finding(path, f"case `{cname}`: unknown {what} `{value}`.{did_you_mean(value, ids)}",
                     "unknown-reference", case=cname)
        return False

    def fail(self, path: tuple, cname: str, message: str, expected: Any, actual: Any) -> None:
        self.finding(path, f"case `{cname}` fails: {message}", "case-failed", case=cname,
                     details={"case": cname, "expected": expected, "actual": actual})

    def compare(self, path: tuple, cname: str, expect: dict, result: dict, case: dict, base: dict) -> None:
        epath = path + ("expect",)
        want_status = expect.get("status", "ok")
        if result["status"] != want_status:
            if result["status"] == "error":
                errors = "; ".join(f"{e['path']}: {e['message']}" for e in result["errors"])
                first = result["errors"][0]["path"].removeprefix("answers.")
                where = path + ("answers", first) if first in case.get("answers", {}) else \
                    ("base_answers", first) if first in base else path
                self.fail(where, cname, f"the answers are not valid: {errors}", "ok", result["errors"])
            else:
                self.fail(epath + ("status",), cname, f"expected the answers to be rejected, but the result is ok "
                          f"(tier `{result['tier']}`).", "error", "ok")
            return
        if want_status == "error":
            reported = [e["path"] for e in result["errors"]]
            for j, p in enumerate(expect.get("error_paths", [])):
                if p not in reported:
                    self.fail(epath + ("error_paths", j), cname, f"expected an error at `{p}`, got errors at "
                              f"{', '.join(reported)}.", p, reported)
            return
        rec = {r["id"]: r for r in result["recommendations"]}
        against = {r["id"]: r for r in result["not_recommended"]}
        fired = result["rules_fired"]
        if "tier" in expect and self.known(epath + ("tier",), cname, expect["tier"], list(self.p.tier_rank), "tier"):
            if result["tier"] != expect["tier"]:
                self.fail(epath + ("tier",), cname, f"expected tier `{expect['tier']}`, got `{result['tier']}` "
                          f"(rules fired: {', '.join(fired) or 'none'}).", expect["tier"], result["tier"])
        catalogue = list(self.p.catalogue)
        for key in ("recommended", "not_recommended", "absent"):
            for j, item in enumerate(expect.get(key, [])):
                if not self.known(epath + (key, j), cname, item, catalogue, "catalogue item"):
                    continue
                state = _state(item, rec, against)
                wanted = {"recommended": "recommended", "not_recommended": "not recommended", "absent": "absent"}[key]
                if state[0] != wanted:
                    self.fail(epath + (key, j), cname, f"expected `{item}` to be {wanted}, but it is {state[1]}.",
                              wanted, state[0])
        for item, strength in expect.get("strength", {}).items():
            if not self.known(epath + ("strength", item), cname, item, catalogue, "catalogue item"):
                continue
            actual = rec[item]["strength"] if item in rec else None
            if actual != strength:
                got = f"`{actual}`" if actual else _state(item, rec, against)[1]
                self.fail(epath + ("strength", item), cname, f"expected `{item}` with strength `{strength}`, got "
                          f"{got}.", strength, actual)
        for score, value in expect.get("scores", {}).items():
            if not self.known(epath + ("scores", score), cname, score, self.score_ids, "score"):
                continue
            actual = result["scores"].get(score)
            if actual != value or isinstance(actual, bool) != isinstance(value, bool):
                self.fail(epath + ("scores", score), cname, f"expected score `{score}` = {_show(value)}, got "
                          f"{_show(actual)}.", value, actual)
        preempted = self.p.tier(result["tier"]).preempts
        for j, rule in enumerate(expect.get("rules_fired", [])):
            if self.known(epath + ("rules_fired", j), cname, rule, self.rule_ids, "rule") and rule not in fired:
                extra = f" (tier `{result['tier']}` pre-empts routine rules)" if preempted else ""
                self.fail(epath + ("rules_fired", j), cname, f"expected rule `{rule}` to fire, but it did not"
                          f"{extra}; rules fired: {', '.join(fired) or 'none'}.", rule, fired)
        for j, rule in enumerate(expect.get("rules_not_fired", [])):
            if self.known(epath + ("rules_not_fired", j), cname, rule, self.rule_ids, "rule") and rule in fired:
                self.fail(epath + ("rules_not_fired", j), cname, f"expected rule `{rule}` not to fire, but it "
                          "fired.", None, rule)
        if "red_flags" in expect:
            known = [self.known(epath + ("red_flags", j), cname, flag, self.red_flag_options, "red flag option")
                     for j, flag in enumerate(expect["red_flags"])]
            if all(known) and sorted(expect["red_flags"]) != sorted(result["red_flags"]):
                self.fail(epath + ("red_flags",), cname, f"expected red flags {expect['red_flags']}, got "
                          f"{result['red_flags']}.", expect["red_flags"], result["red_flags"])


def _state(item: str, rec: dict, against: dict) -> tuple[str, str]:
    """(state, description) of an item in a result."""
    def rules(entry: dict) -> str:
        return ", ".join(sorted({f"`{r['rule']}`" for r in entry["reasons"]}))

    if item in rec:
        return "recommended", f"recommended ({rec[item]['strength']}, by {rules(rec[item])})"
    if item in against:
        return "not recommended", f"not recommended (by {rules(against[item])})"
    return "absent", "in neither list (no rule that fired mentions it)"


def _show(value: Any) -> str:
    return json.dumps(value)


def _all_options(pathway: Pathway) -> list[str]:
    out = []
    for q in pathway.question_list():
        if q.type == "boolean":
            out += [f"{q.id}=true", f"{q.id}=false"]
        elif q.type in ("choice", "multi_choice"):
            out += [f"{q.id}={o}" for o in q.option_ids]
    return out


def _options_answered(pathway: Pathway, answers: dict) -> set[str]:
    """`question=option` for every option chosen (and every boolean answered) among the asked questions."""
    values = engine.check(pathway, answers).values
    out = set()
    for qid, value in values.items():
        if isinstance(value, bool):
            out.add(f"{qid}={'true' if value else 'false'}")
        elif isinstance(value, str) and pathway.questions[qid].type == "choice":
            out.add(f"{qid}={value}")
        elif isinstance(value, list):
            out.update(f"{qid}={v}" for v in value)
    return out
