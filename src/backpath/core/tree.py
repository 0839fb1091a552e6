"""The checked condition tree: what `conditions` makes of a condition's text once it has type-checked it, and all
that `codegen` ever reads.

A node holds only what the checker put there: operator names from a fixed set, names of declared answers,
facts and scores, and constants (bool, int, float, str, or a frozenset of str/int/float for a list literal).
Nothing here refers back to the pathway's text.
"""

from __future__ import annotations

from dataclasses import dataclass

ARITH_OPS = ("+", "-", "*", "/")
ORDER_OPS = ("<", "<=", ">", ">=")
EQUALITY_OPS = ("==", "!=")


@dataclass(frozen=True)
class Const:
    value: bool | int | float | str | frozenset


@dataclass(frozen=True)
class Var:
    """An answer, derived fact or score, by its declared name."""

    name: str


@dataclass(frozen=True)
class Answered:
    """`answered(name)`: whether the answer, derived fact or score has a value. Never unknown: it is the one test
    that can say "this optional question was not answered" in a language where a missing value makes every
    comparison unknown."""

    name: str


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class Arith:
    op: str  # one of ARITH_OPS
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    """`left op right` on two numbers, two booleans or two single values (`==`, `!=`, `<`...), or, with
    `as_sets`, a multi-choice answer against a list literal (`==`/`!=` ignore order)."""

    op: str  # one of ORDER_OPS + EQUALITY_OPS
    left: Node
    right: Node
    as_sets: bool = False


@dataclass(frozen=True)
class Member:
    """`left in right` (`not in` when `negate`): right is a multi-choice answer or a list literal."""

    left: Node
    right: Node
    negate: bool = False


Node = Const | Var | Answered | And | Or | Not | Neg | Arith | Compare | Member
BOOLEAN_NODES = (And, Or, Not, Compare, Member, Answered)


def names(node: Node) -> list[str]:
    """The names a node reads, left to right, with repeats."""
    out: list[str] = []
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (Var, Answered)):
            out.append(n.name)
        elif isinstance(n, (And, Or)):
            stack.extend(reversed(n.parts))
        elif isinstance(n, (Not, Neg)):
            stack.append(n.operand)
        elif isinstance(n, (Arith, Compare, Member)):
            stack.append(n.right)
            stack.append(n.left)
    return out


def nodes(node: Node) -> int:
    """How many nodes the tree has (a measure of its size)."""
    count, stack = 0, [node]
    while stack:
        n = stack.pop()
        count += 1
        if isinstance(n, (And, Or)):
            stack.extend(n.parts)
        elif isinstance(n, (Not, Neg)):
            stack.append(n.operand)
        elif isinstance(n, (Arith, Compare, Member)):
            stack.extend((n.left, n.right))
    return count
