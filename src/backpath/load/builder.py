"""From schema-valid pathway data to the checked model (`model.Pathway`): names resolved, conditions compiled,
references and facts' order checked, every problem collected as a located finding instead of stopping."""

from __future__ import annotations

import dataclasses
import string
from typing import Any

from backpath.core import model as m
from backpath.core.conditions import BOOLEAN, NUMBER, Compiled, ConditionError, Type, compile_condition
from backpath.core.errors import Finding, did_you_mean
from backpath.core.outline import ROW_COLUMNS_AFTER_SCORES, ROW_COLUMNS_BEFORE_SCORES
from backpath.load.document import LoadedYaml, path_text
from backpath.load.symbols import (
    _cycle_members,
    _fact_texts,
    _guess_type,
    _names_in,
    _question_type,
    _topological,
    _value_kind,
)

_ROW_COLUMNS = frozenset(ROW_COLUMNS_BEFORE_SCORES + ROW_COLUMNS_AFTER_SCORES)  # a score may not be named so


def _id_at(data: Any, path: tuple) -> str | None:
    """The `id` of the innermost mapping along `path` that has one."""
    found = None
    node = data
    for part in path:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found = node["id"]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    if isinstance(node, dict) and isinstance(node.get("id"), str):
        found = node["id"]
    return found


class Builder:
    """Builds the model from schema-valid data, collecting semantic findings instead of stopping."""

    fact_deps: dict[str, set[str]]  # set by facts(): the questions each derived fact or score reads

    def __init__(self, loaded: LoadedYaml, name: str, sha256: str, stem: str | None):
        self.loaded = loaded
        self.data: dict = loaded.data  # type: ignore[assignment]  # schema-valid, so a mapping
        self.name = name
        self.sha256 = sha256
        self.stem = stem
        self.findings: list[Finding] = []
        self.symbols: dict[str, Type] = {}

    # --- reporting ----------------------------------------------------------------------------
    def error(self, path: tuple, message: str, code: str, severity: str = "error") -> None:
        line, col = self.loaded.position(path)
        self.findings.append(Finding(self.name, line, col, path_text(path), message, code, severity,
                                     id=_id_at(self.data, path)))

    def compile(self, text: str, path: tuple, *, want_boolean: bool = True) -> Compiled | None:
        try:
            return compile_condition(text, self.symbols, want_boolean=want_boolean)
        except ConditionError as exc:
            where = f" (at character {exc.offset + 1})" if exc.offset is not None else ""
            self.error(path, f"{exc.message}{where}", "condition")
            return None

    def unique(self, entries: list[dict], path: str, what: str) -> None:
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if entry["id"] in seen:
                self.error((path, i, "id"), f"duplicate {what} id `{entry['id']}` (also {path}[{seen[entry['id']]}]); "
                           "ids must be unique — rename one.", "duplicate-id")
            else:
                seen[entry["id"]] = i

    def check_ref(self, value: str, known, path: tuple, what: str) -> bool:
        if value in known:
            return True
        self.error(path, f"unknown {what} `{value}`.{did_you_mean(value, known)}", "unknown-reference")
        return False

    def citations(self, entries: list[dict], path: tuple) -> tuple[m.Citation, ...]:
        out = []
        for i, c in enumerate(entries):
            self.check_ref(c["id"], self.sources, path + (i, "id"), "source (add it to `sources`)")
            out.append(m.Citation(c["id"], c.get("section"), c.get("verified", True), c.get("note")))
        return tuple(out)

    # --- the build ----------------------------------------------------------------------------
    def build(self) -> m.Pathway | None:
        d = self.data
        if self.stem is not None and d["id"] != self.stem:
            self.error(("id",), f"the pathway id `{d['id']}` differs from the file name `{self.stem}.yaml`; "
                       "rename one so they match.", "id-file-name", "warning")
        self.unique(d["sources"], "sources", "source")
        self.sources = {s["id"]: m.Source(s["id"], s["title"], s.get("url"), s.get("publisher"), s.get("year"),
                                          s.get("note")) for s in d["sources"]}
        attributions = tuple(m.Attribution(a["id"], a["title"], a["text"], a.get("short"))
                             for a in d.get("attributions", []))
        self.attribution_ids = {a.id for a in attributions}
        roles = d.get("care_roles", [])
        self.unique(roles, "care_roles", "care role")
        self.roles = {r["id"]: r["title"] for r in roles}
        tiers = self.tiers(d["tiers"])
        self.tier_ids = [t.id for t in tiers]
        default_tier = d.get("default_tier", self.tier_ids[-1])
        self.check_ref(default_tier, self.tier_ids, ("default_tier",), "tier")
        sections, questions = self.questions(d["sections"])
        self.questions_by_id = questions
        derived, scores, order = self.facts(d.get("derived", []), d.get("scores", []))
        self.ask_when(d["sections"], questions)
        catalogue = self.catalogue(d["catalogue"])
        rules = self.rules(d["rules"], catalogue)
        red_flag_q = self.special_question(d, "red_flag_question", questions, catalogue=None)
        request_q = self.special_question(d, "request_question", questions, catalogue=catalogue)
        unrequested = d.get("unrequested_reason")
        notes = []
        for i, n in enumerate(d.get("advisory_notes", [])):
            for j, item in enumerate(n["items"]):
                self.check_ref(item, catalogue, ("advisory_notes", i, "items", j), "catalogue item")
            notes.append(m.AdvisoryNote(n["id"], tuple(n["items"]), n["text"],
                                        self.citations(n["sources"], ("advisory_notes", i, "sources"))))
        invariants = self.invariants(d.get("invariants", []), catalogue, {r.id: r for r in rules})
        if any(f.severity == "error" for f in self.findings):
            return None
        return m.Pathway(
            id=d["id"], title=d["title"], version=d["version"], file=self.name, sha256=self.sha256,
            disclaimer=d["disclaimer"].strip(), jurisdiction=d.get("jurisdiction"), summary=d.get("summary"),
            attributions=attributions, sources=self.sources, care_roles=tuple(self.roles.items()), tiers=tiers,
            default_tier=default_tier, sections=sections, questions=questions, derived=derived, scores=scores,
            facts_order=order, catalogue=catalogue, rules=rules, advisory_notes=tuple(notes),
            red_flag_question=red_flag_q, request_question=request_q,
            unrequested_reason=unrequested["text"].strip() if unrequested else None,
            unrequested_sources=self.citations(unrequested["sources"], ("unrequested_reason", "sources"))
            if unrequested else (),
            tier_rank={t.id: i for i, t in enumerate(tiers)},
            invariants=invariants, symbols=dict(self.symbols),
        )

    def tiers(self, entries: list[dict]) -> tuple[m.Tier, ...]:
        self.unique(entries, "tiers", "tier")
        out = []
        for t in entries:
            fu = t.get("follow_up", {})
            out.append(m.Tier(t["id"], t["title"], t.get("description", ""), t.get("preempts", False),
                              t.get("preempt_reason"), m.FollowUp(fu.get("review_in_weeks"), fu.get("safety_net"))))
        return tuple(out)

    def questions(self, sections: list[dict]):
        self.unique(sections, "sections", "section")
        out_sections, questions = [], {}
        seen: dict[str, tuple] = {}
        for si, s in enumerate(sections):
            ids = []
            for qi, q in enumerate(s["questions"]):
                path = ("sections", si, "questions", qi)
                if q["id"] in seen:
                    self.error(path + ("id",), f"duplicate question id `{q['id']}` (also at "
                               f"{path_text(seen[q['id']])}); rename one.", "duplicate-id")
                    continue
                seen[q["id"]] = path
                question = self.question(q, s["id"], path)
                questions[q["id"]] = question
                ids.append(q["id"])
                self.symbols[q["id"]] = _question_type(question)
            out_sections.append(m.Section(s["id"], s["title"], s.get("intro"), tuple(ids)))
        return tuple(out_sections), questions

    def question(self, q: dict, section: str, path: tuple) -> m.Question:
        qtype = q["type"]
        options = tuple(m.Option(o["id"], o["label"], o.get("help")) for o in q.get("options", []))
        if qtype in ("choice", "multi_choice"):
            ids = [o.id for o in options]
            for i, oid in enumerate(ids):
                if oid in ids[:i]:
                    self.error(path + ("options", i, "id"), f"duplicate option `{oid}` in question `{q['id']}`.",
                               "duplicate-id")
        elif options:
            self.error(path + ("options",), f"a {qtype} question has no options; remove `options` or change "
                       "the type to choice/multi_choice.", "options-unused")
        if qtype not in ("integer", "number") and ("min" in q or "max" in q):
            self.error(path, f"`min`/`max` apply only to integer and number questions, not {qtype}.", "range-unused")
        if "min" in q and "max" in q and q["min"] > q["max"]:
            self.error(path + ("min",), f"min {q['min']} is greater than max {q['max']}.", "range")
        if q.get("attribution") is not None:
            self.check_ref(q["attribution"], self.attribution_ids, path + ("attribution",), "attribution")
        return m.Question(q["id"], q["prompt"], qtype, section, q.get("help"), q.get("min"), q.get("max"),
                          q.get("unit"), options, q.get("required", True), None, q.get("attribution"))

    def ask_when(self, sections: list[dict], questions: dict[str, m.Question]) -> None:
        """Compile every ask_when; it may use only questions asked before (directly or through facts)."""
        earlier: set[str] = set()
        for si, s in enumerate(sections):
            for qi, q in enumerate(s["questions"]):
                path = ("sections", si, "questions", qi, "ask_when")
                if "ask_when" in q and q["id"] in questions:
                    compiled = self.compile(q["ask_when"], path)
                    if compiled is not None:
                        used = self.question_deps(compiled.names)
                        later = sorted(used - earlier)
                        if later:
                            what = "itself" if later == [q["id"]] else ", ".join(f"`{n}`" for n in later)
                            self.error(path, f"`ask_when` of `{q['id']}` depends on {what}, which is not asked "
                                       "before it; move the question after them or change the condition.",
                                       "ask-when-order")
                        questions[q["id"]] = dataclasses.replace(questions[q["id"]], ask_when=compiled)
                earlier.add(q["id"])

    def question_deps(self, names) -> set[str]:
        out: set[str] = set()
        for n in names:
            if n in self.questions_by_id:
                out.add(n)
            else:
                out |= self.fact_deps.get(n, set())
        return out

    def facts(self, derived: list[dict], scores: list[dict]):
        entries = [("derived", i, d) for i, d in enumerate(derived)] + [("scores", i, s) for i, s in enumerate(scores)]
        ids: dict[str, tuple] = {}
        for kind, i, e in entries:
            if e["id"] in ids or e["id"] in self.questions_by_id:
                self.error((kind, i, "id"), f"`{e['id']}` is already used by another question, derived fact or "
                           "score; rename it.", "duplicate-id")
                continue
            ids[e["id"]] = (kind, i)
            if kind == "scores" and e["id"] in _ROW_COLUMNS:
                self.error((kind, i, "id"), f"score id `{e['id']}` is also the name of a column of "
                           "`backpath batch --format csv`, whose column it would replace; rename the score.",
                           "score-id-column")
        deps: dict[str, set[str]] = {}
        read: dict[tuple, set[str]] = {}  # by entry: the names its conditions read (each text is parsed once)
        for kind, i, e in entries:
            names: set[str] = set()
            for text in _fact_texts(e):
                names |= _names_in(text)
            read[(kind, i)] = set(names)
            names |= {it["question"] for it in e.get("items", []) if "question" in it}
            deps[e["id"]] = {n for n in names if n in ids}
        order = _topological(list(ids), deps)
        if order is None:
            cyclic = sorted(n for n in ids if n in _cycle_members(deps))
            first = ids[cyclic[0]]
            self.error(first + ("id",), f"derived facts and scores depend on each other in a cycle: "
                       f"{', '.join(cyclic)}. Break the cycle.", "fact-cycle")
            # carry on without the cycle's edges, so the rest is checked without follow-on "unknown name" errors
            for n in cyclic:
                kind, i = ids[n]
                self.symbols[n] = _guess_type((derived if kind == "derived" else scores)[i])
            order = _topological(list(ids), {n: d - set(cyclic) if n in cyclic else d for n, d in deps.items()})
            if order is None:  # pragma: no cover - removing the cycle's edges leaves a DAG
                self.fact_deps = {}
                return (), (), ()
        built_derived: dict[str, m.Derived] = {}
        built_scores: dict[str, m.Score] = {}
        self.fact_deps = {}
        for fid in order:
            kind, i = ids[fid]
            e = (derived if kind == "derived" else scores)[i]
            path = (kind, i)
            if kind == "derived":
                fact, typ = self.derived_fact(e, path)
                built_derived[fid] = fact
            else:
                fact, typ = self.score(e, path)
                built_scores[fid] = fact
            self.symbols[fid] = typ
            qdeps = self.question_deps(read[kind, i] & (set(self.symbols) - {fid}))
            qdeps |= {it["question"] for it in e.get("items", []) if "question" in it}
            self.fact_deps[fid] = qdeps
        derived_t = tuple(built_derived[d["id"]] for d in derived if d["id"] in built_derived)
        scores_t = tuple(built_scores[s["id"]] for s in scores if s["id"] in built_scores)
        return derived_t, scores_t, tuple(o for o in order if o in built_derived or o in built_scores)

    def cases(self, cases: list[dict], path: tuple) -> tuple[tuple[m.Case, ...], Type]:
        out = []
        values = []
        for i, c in enumerate(cases):
            when = None
            if "when" in c:
                when = self.compile(c["when"], path + ("cases", i, "when"))
            elif i != len(cases) - 1:
                self.error(path + ("cases", i), "only the last case may omit `when` (it is the default); "
                           "cases after it could never apply.", "case-default")
            out.append(m.Case(when, c["value"]))
            values.append(c["value"])
        kinds = {_value_kind(v) for v in values}
        if len(kinds) > 1:
            self.error(path + ("cases",), "all case values must have one type (all text, all numbers or all "
                       "true/false).", "case-types")
        kind = kinds.pop() if len(kinds) == 1 else "string"
        typ = Type("choice", frozenset(str(v) for v in values), path_text(path)) if kind == "string" \
            else (NUMBER if kind == "number" else BOOLEAN)
        return tuple(out), typ

    def derived_fact(self, e: dict, path: tuple):
        if "expr" in e:
            compiled = self.compile(e["expr"], path + ("expr",), want_boolean=False)
            typ = compiled.type if compiled else BOOLEAN
            if typ.kind in ("string", "list"):
                self.error(path + ("expr",), "a derived fact must be true/false or a number, not a constant.",
                           "derived-type")
            return m.Derived(e["id"], e["description"], expr=compiled), typ
        cases, typ = self.cases(e["cases"], path)
        if typ.kind == "choice":
            typ = Type("choice", typ.options, e["id"])
        return m.Derived(e["id"], e["description"], cases=cases), typ

    def score(self, e: dict, path: tuple):
        if e.get("attribution") is not None:
            self.check_ref(e["attribution"], self.attribution_ids, path + ("attribution",), "attribution")
        rng = tuple(e["range"]) if "range" in e else None
        if "cases" in e:
            cases, typ = self.cases(e["cases"], path)
            if typ.kind == "choice":
                typ = Type("choice", typ.options, e["id"])
            return m.Score(e["id"], e["title"], e.get("description"), e.get("attribution"), cases=cases,
                           range=rng), typ
        items = []
        for i, it in enumerate(e["items"]):
            ipath = path + ("items", i)
            if "question" in it:
                q = self.questions_by_id.get(it["question"])
                if q is None:
                    self.check_ref(it["question"], self.questions_by_id, ipath + ("question",), "question")
                    continue
                values = it.get("values")
                if q.type in ("choice", "multi_choice"):
                    if values is None:
                        self.error(ipath, f"`{q.id}` is a {q.type} question: give `values` (points per option).",
                                   "score-values")
                    for opt in values or {}:
                        self.check_ref(opt, q.option_ids, ipath + ("values", opt), f"option of `{q.id}`")
                elif values is not None:
                    self.error(ipath + ("values",), f"`values` applies to choice questions; `{q.id}` is {q.type}.",
                               "score-values")
                items.append(m.ScoreItem(question=q.id, values=dict(values) if values else None))
            else:
                when = self.compile(it["when"], ipath + ("when",))
                items.append(m.ScoreItem(when=when, points=it.get("points", 1)))
        return m.Score(e["id"], e["title"], e.get("description"), e.get("attribution"), items=tuple(items),
                       range=rng), NUMBER

    def catalogue(self, entries: list[dict]) -> dict[str, m.Item]:
        self.unique(entries, "catalogue", "catalogue item")
        out: dict[str, m.Item] = {}
        for i, it in enumerate(entries):
            path = ("catalogue", i)
            self.check_ref(it["tier"], self.tier_ids, path + ("tier",), "tier")
            for j, role in enumerate(it["care_team"]):
                self.check_ref(role, self.roles, path + ("care_team", j), "care role (add it to `care_roles`)")
            out.setdefault(it["id"], m.Item(
                it["id"], it["title"], it["description"].strip(), it["category"], it["tier"], tuple(it["care_team"]),
                it["stance"].strip(), self.citations(it["sources"], path + ("sources",)), it.get("timeframe"),
                tuple(it.get("also_covers", ())), self.plain(it.get("plain"), path + ("plain",))))
        return out

    def plain(self, p: dict | None, path: tuple) -> m.PlainText | None:
        if p is None:
            return None
        keys = ("name", "what", "expect", "benefits", "harms", "against")
        texts = {k: " ".join(p[k].split()) for k in keys if k in p}
        return m.PlainText(**texts, sources=self.citations(p["sources"], path + ("sources",)))

    def rules(self, entries: list[dict], catalogue: dict[str, m.Item]) -> tuple[m.Rule, ...]:
        self.unique(entries, "rules", "rule")
        out = []
        for i, r in enumerate(entries):
            path = ("rules", i)
            when = self.compile(r["when"], path + ("when",))
            if r.get("tier") is not None:
                self.check_ref(r["tier"], self.tier_ids, path + ("tier",), "tier")
            for key in ("offer", "consider", "advise_against"):
                for j, item in enumerate(r.get(key, [])):
                    self.check_ref(item, catalogue, path + (key, j), "catalogue item")
            for j, role in enumerate(r.get("care_team", [])):
                self.check_ref(role, self.roles, path + ("care_team", j), "care role (add it to `care_roles`)")
            both = set(r.get("offer", [])) & set(r.get("consider", []))
            if both:
                self.error(path, f"{', '.join(sorted(both))} is both offered and considered by one rule; keep one.",
                           "rule-strength")
            reason_names = self.template_names(r["reason"], path + ("reason",))
            if not (r.get("offer") or r.get("consider") or r.get("advise_against") or r.get("tier")
                    or r.get("warning") or r.get("follow_up") or r.get("care_team")):
                self.error(path, f"rule `{r['id']}` does nothing: give it a tier, items, a warning or follow-up.",
                           "rule-empty", "warning")
            fu = r.get("follow_up")
            # `when` is None only after a failed compile, which has its error finding: such a rule serves the checks
            # below (invariants name rules by id) and the pathway is never built, so no Rule with None is evaluated
            out.append(m.Rule(
                r["id"], when,  # type: ignore[arg-type]
                r["reason"].strip(), self.citations(r["sources"], path + ("sources",)),
                r.get("title"), r.get("tier"), r.get("scope", "routine"), tuple(r.get("offer", ())),
                tuple(r.get("consider", ())), tuple(r.get("advise_against", ())), tuple(r.get("care_team", ())),
                r.get("warning"), m.FollowUp(fu.get("review_in_weeks"), fu.get("safety_net")) if fu else None,
                reason_names))
        return tuple(out)

    def invariants(self, entries: list[dict], catalogue: dict[str, m.Item],
                   rules: dict[str, m.Rule]) -> tuple[m.Invariant, ...]:
        """Compile the safety invariants that `backpath validate` checks by searching the answer space."""
        self.unique(entries, "invariants", "invariant")
        out = []
        for i, inv in enumerate(entries):
            path = ("invariants", i)
            when = self.compile(inv["when"], path + ("when",)) if "when" in inv else None
            expect = inv.get("expect", {})
            for key in ("tier", "tier_at_least"):
                if key in expect:
                    self.check_ref(expect[key], self.tier_ids, path + ("expect", key), "tier")
            for key in ("recommended", "never_recommended"):
                for j, item in enumerate(expect.get(key, [])):
                    self.check_ref(item, catalogue, path + ("expect", key, j), "catalogue item")
            both = set(expect.get("recommended", [])) & set(expect.get("never_recommended", []))
            if both:
                self.error(path + ("expect",), f"{', '.join(sorted(both))} is both `recommended` and "
                           "`never_recommended`; the invariant could never hold. Keep one.", "invariant-contradiction")
            only = inv.get("recommended_only_when")
            only_when, only_items = None, ()
            if only is not None:
                only_when = self.compile(only["condition"], path + ("recommended_only_when", "condition"))
                only_items = tuple(only["items"])
                for j, item in enumerate(only_items):
                    self.check_ref(item, catalogue, path + ("recommended_only_when", "items", j), "catalogue item")
            warned = inv.get("recommended_only_with_warning", {})
            warned_path = path + ("recommended_only_with_warning",)
            for j, item in enumerate(warned.get("items", [])):
                self.check_ref(item, catalogue, warned_path + ("items", j), "catalogue item")
            for j, rule_id in enumerate(warned.get("rules", [])):
                self.check_ref(rule_id, rules, warned_path + ("rules", j), "rule")
                if rule_id in rules and not rules[rule_id].warning:
                    self.error(warned_path + ("rules", j), f"rule `{rule_id}` has no `warning`, so the invariant "
                               "could never hold. Name a rule that gives a warning.", "invariant-contradiction")
            out.append(m.Invariant(
                inv["id"], inv["description"].strip(), self.citations(inv.get("sources", []), path + ("sources",)),
                when, expect.get("tier"), expect.get("tier_at_least"), tuple(expect.get("recommended", ())),
                tuple(expect.get("never_recommended", ())), only_when, only_items,
                tuple(warned.get("items", ())), tuple(warned.get("rules", ()))))
        return tuple(out)

    def template_names(self, text: str, path: tuple) -> tuple[str, ...]:
        names = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            self.error(path, f"the reason text has a stray brace ({exc}); write `{{{{` or `}}}}` for a literal "
                       "brace.", "reason-template")
            return ()
        for _, field_name, spec, conv in parsed:
            if field_name is None:
                continue
            if field_name not in self.symbols:
                self.error(path, f"`{{{field_name}}}` in the reason is not a question, derived fact or score."
                           f"{did_you_mean(field_name, self.symbols)}", "reason-template")
            elif spec or conv:
                self.error(path, f"`{{{field_name}}}`: format specs are not supported; write `{{{field_name}}}`.",
                           "reason-template")
            else:
                names.append(field_name)
        return tuple(names)

    def special_question(self, d: dict, key: str, questions, catalogue) -> str | None:
        qid = d.get(key)
        if qid is None:
            return None
        if not self.check_ref(qid, questions, (key,), "question"):
            return None
        q = questions[qid]
        if q.type != "multi_choice":
            self.error((key,), f"`{key}` must name a multi_choice question; `{qid}` is {q.type}.", "special-question")
        elif catalogue is not None:
            for o in q.options:
                if o.id not in catalogue:
                    self.error((key,), f"option `{o.id}` of `{qid}` is not a catalogue id; requested options must be "
                               f"catalogue items.{did_you_mean(o.id, catalogue)}", "unknown-reference")
        return qid
