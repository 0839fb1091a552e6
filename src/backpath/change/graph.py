"""The pathway as a picture: a graph of questions, derived facts and scores, rules, tiers and catalogue items, in
one of three views, written as a Mermaid flowchart or a Graphviz (DOT) digraph. Pure: pathway in, text out.

Views (the whole pathway is too large to read, and GitHub stops drawing Mermaid above 500 edges):

- `tiers` (default): the rules grouped by the tier they set (most urgent first; rules that set no tier, and only
  add items or warnings, in a last group), each with the questions, facts and scores its condition reads.
- `rule ID`: one rule: what its condition reads, down through derived facts and scores to the questions; the tier
  it sets; the items it offers, considers and advises against.
- `question ID`: one question: the facts and scores that read it (and those that read them), the rules that read
  any of these, and the tiers those rules set; and the questions whose `ask_when` reads it.

Labels are the ids of the pathway (tier groups show the tier's title too); node names in the output are made by
backpath (`n1`, `n2`, ...), so no pathway text is ever read as syntax; labels are escaped for each format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backpath.core.errors import BackpathError, did_you_mean
from backpath.core.model import Pathway

VIEWS = ("tiers", "rule", "question")
FORMATS = ("mermaid", "dot")


class GraphUsageError(BackpathError):
    """An unknown view, or a rule or question id the pathway does not have."""


@dataclass(frozen=True)
class Node:
    key: str  # "question:age", "fact:chronic", "rule:x", "tier:urgent", "item:imaging"
    label: str
    kind: str  # question | fact | rule | tier | item


@dataclass
class Graph:
    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    groups: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (key, label, node keys)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, label)

    def node(self, key: str, label: str, kind: str) -> str:
        self.nodes.setdefault(key, Node(key, label, kind))
        return key

    def edge(self, a: str, b: str, label: str = "") -> None:
        if (a, b, label) not in self.edges:
            self.edges.append((a, b, label))


def parse_view(text: str) -> tuple[str, str | None]:
    """`tiers`, `rule ID`, `rule:ID`, `question ID` or `question:ID` -> (view, id)."""
    parts = text.replace(":", " ", 1).split(None, 1)
    view = parts[0] if parts else ""
    if view not in VIEWS:
        raise GraphUsageError(f"unknown view `{text}`; use `tiers`, `rule ID` or `question ID`.")
    ident = parts[1].strip() if len(parts) > 1 else None
    if view == "tiers" and ident:
        raise GraphUsageError("the tiers view takes no id; give `tiers`, `rule ID` or `question ID`.")
    if view != "tiers" and not ident:
        raise GraphUsageError(f"the {view} view needs an id: `{view} ID` (`backpath questions` lists question ids; "
                              "rule ids are in the pathway file).")
    return view, ident


def _reads(pathway: Pathway) -> dict[str, tuple[str, ...]]:
    """What each derived fact and score reads directly (questions, other facts and scores), in a stable order."""
    out: dict[str, tuple[str, ...]] = {}
    for d in pathway.derived:
        names: list[str] = list(d.expr.names) if d.expr is not None else []
        names += [n for c in d.cases if c.when is not None for n in c.when.names]
        out[d.id] = tuple(dict.fromkeys(names))
    for s in pathway.scores:
        names = [n for c in s.cases if c.when is not None for n in c.when.names]
        for item in s.items:
            names += [item.question] if item.question is not None else list(item.when.names if item.when else ())
        out[s.id] = tuple(dict.fromkeys(names))
    return out


def _input(g: Graph, pathway: Pathway, name: str) -> str:
    kind = "question" if name in pathway.questions else "fact"
    return g.node(f"{kind}:{name}", name, kind)


def build(pathway: Pathway, view: str = "tiers", ident: str | None = None) -> Graph:
    """The graph of one view of `pathway`."""
    if view == "tiers":
        return _tiers(pathway)
    if view == "rule":
        return _rule(pathway, ident or "")
    if view == "question":
        return _question(pathway, ident or "")
    raise GraphUsageError(f"unknown view `{view}`; use `tiers`, `rule ID` or `question ID`.")


def _tiers(pathway: Pathway) -> Graph:
    g = Graph(f"{pathway.id} {pathway.version}: rules by tier, with what their conditions read")
    by_tier: dict[str | None, list[str]] = {t.id: [] for t in pathway.tiers}
    by_tier[None] = []
    for r in pathway.rules:
        key = g.node(f"rule:{r.id}", r.id, "rule")
        by_tier[r.tier].append(key)
        for name in r.when.names:
            g.edge(_input(g, pathway, name), key)
    for t in pathway.tiers:
        if by_tier[t.id]:
            g.groups.append((f"tier:{t.id}", f"{t.title} ({t.id})", by_tier[t.id]))
    if by_tier[None]:
        g.groups.append(("tier:none", "no tier of their own (items, warnings, follow-up)", by_tier[None]))
    return g


def _rule(pathway: Pathway, rule_id: str) -> Graph:
    rules = {r.id: r for r in pathway.rules}
    rule = rules.get(rule_id)
    if rule is None:
        raise GraphUsageError(f"no rule `{rule_id}` in {pathway.id}.{did_you_mean(rule_id, rules)}")
    g = Graph(f"{pathway.id} {pathway.version}: rule {rule.id}")
    key = g.node(f"rule:{rule.id}", f"{rule.id}\nwhen: {rule.when.text}", "rule")
    reads = _reads(pathway)
    todo = list(rule.when.names)
    for name in rule.when.names:
        g.edge(_input(g, pathway, name), key)
    seen: set[str] = set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        for inner in reads.get(name, ()):
            g.edge(_input(g, pathway, inner), _input(g, pathway, name))
            todo.append(inner)
    if rule.tier is not None:
        g.edge(key, g.node(f"tier:{rule.tier}", f"tier {rule.tier}", "tier"), "sets tier")
    for label, items in (("offer", rule.offer), ("consider", rule.consider), ("advise against", rule.advise_against)):
        for item in items:
            g.edge(key, g.node(f"item:{item}", item, "item"), label)
    return g


def _question(pathway: Pathway, question_id: str) -> Graph:
    q = pathway.questions.get(question_id)
    if q is None:
        hint = did_you_mean(question_id, pathway.questions)
        raise GraphUsageError(f"no question `{question_id}` in {pathway.id}.{hint}")
    g = Graph(f"{pathway.id} {pathway.version}: question {q.id}")
    start = g.node(f"question:{q.id}", q.id, "question")
    reads = _reads(pathway)
    readers: dict[str, list[str]] = {}
    for fact in pathway.facts_order:  # dependency order, so the picture is stable
        for name in reads.get(fact, ()):
            readers.setdefault(name, []).append(fact)
    reached = [q.id]
    for name in reached:  # grows as facts that read a reached name are found
        for fact in readers.get(name, ()):
            g.edge(_input(g, pathway, name), _input(g, pathway, fact))
            if fact not in reached:
                reached.append(fact)
    for r in pathway.rules:
        read = [n for n in r.when.names if n in reached]
        if not read:
            continue
        key = g.node(f"rule:{r.id}", r.id, "rule")
        for name in read:
            g.edge(_input(g, pathway, name), key)
        if r.tier is not None:
            g.edge(key, g.node(f"tier:{r.tier}", f"tier {r.tier}", "tier"))
    for other in pathway.question_list():
        if other.ask_when is not None and any(n in reached for n in other.ask_when.names):
            g.edge(start if q.id in other.ask_when.names else _input(g, pathway, next(
                n for n in other.ask_when.names if n in reached)), _input(g, pathway, other.id), "asked when")
    return g
