"""A `graph.Graph` as Mermaid flowchart text or Graphviz DOT text. Node names are made here (`n1`, `n2`, ... in
the order nodes were added), so pathway text appears only inside escaped labels."""

from __future__ import annotations

from backpath.change.graph import Graph

_MERMAID_SHAPES = {"question": ('(["', '"])'), "fact": ('{{"', '"}}'), "rule": ('["', '"]'),
                   "tier": ('[["', '"]]'), "item": ('("', '")')}
_DOT_SHAPES = {"question": "ellipse", "fact": "hexagon", "rule": "box", "tier": "doubleoctagon", "item": "note"}


def _names(g: Graph) -> dict[str, str]:
    return {key: f"n{i}" for i, key in enumerate(g.nodes, 1)}


def mermaid_text(value: str) -> str:
    """Text inside a quoted Mermaid label: entity codes for what Mermaid or its HTML labels would read."""
    out = value.replace("#", "#35;").replace('"', "#34;").replace("<", "#60;").replace(">", "#62;")
    out = out.replace("`", "#96;").replace("\r", "").replace("\n", "<br/>")
    return "".join(ch if ch.isprintable() or ch == " " else " " for ch in out)


def mermaid(g: Graph) -> str:
    names = _names(g)
    grouped = {k for _, _, keys in g.groups for k in keys}
    title = "".join(ch if ch.isprintable() else " " for ch in g.title)
    lines = [f"%% {title}", "flowchart LR"]

    def node(key: str, indent: str) -> str:
        n = g.nodes[key]
        left, right = _MERMAID_SHAPES[n.kind]
        return f"{indent}{names[key]}{left}{mermaid_text(n.label)}{right}"

    for i, (_, label, keys) in enumerate(g.groups, 1):
        lines.append(f"  subgraph g{i}[\"{mermaid_text(label)}\"]")
        lines += [node(k, "    ") for k in keys]
        lines.append("  end")
    lines += [node(k, "  ") for k in g.nodes if k not in grouped]
    for a, b, label in g.edges:
        arrow = f" -->|\"{mermaid_text(label)}\"| " if label else " --> "
        lines.append(f"  {names[a]}{arrow}{names[b]}")
    return "\n".join(lines) + "\n"


def dot_text(value: str) -> str:
    """Text inside a quoted DOT string (a label)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return "".join(ch if ch.isprintable() or ch == " " else " " for ch in out)


def dot(g: Graph) -> str:
    names = _names(g)
    grouped = {k for _, _, keys in g.groups for k in keys}
    lines = ["digraph pathway {", f"  label=\"{dot_text(g.title)}\";", "  labelloc=t;", "  rankdir=LR;",
             "  node [fontname=\"Helvetica\", fontsize=10];", "  edge [fontname=\"Helvetica\", fontsize=9];"]

    def node(key: str, indent: str) -> str:
        n = g.nodes[key]
        return f"{indent}{names[key]} [label=\"{dot_text(n.label)}\", shape={_DOT_SHAPES[n.kind]}];"

    for i, (_, label, keys) in enumerate(g.groups, 1):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label=\"{dot_text(label)}\";")
        lines += [node(k, "    ") for k in keys]
        lines.append("  }")
    lines += [node(k, "  ") for k in g.nodes if k not in grouped]
    for a, b, label in g.edges:
        attrs = f" [label=\"{dot_text(label)}\"]" if label else ""
        lines.append(f"  {names[a]} -> {names[b]}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


RENDERERS = {"mermaid": mermaid, "dot": dot}
