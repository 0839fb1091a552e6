"""Which values of a clean record can never be None ("unknown"), so that generated code need not test for it.

The compiled program (`program`) writes three-valued code: every operand may be None (a missing answer, an
unknown fact), and each operator tests for it (`None if v is None else v < 4`). After a record has passed the
answer check, some values are known to be present, and for them those tests are dead code. The argument, case by
case, for a record that passed `Program.run`'s check (the same as `Program.clean`'s):

- A required question without `ask_when` is always asked, so a missing answer (absent, or null) fails the check:
  its value is never None. An optional question, or one asked only when its `ask_when` is true, may be None.
- A constant is never None (the checker gives constants only as bool, number, text or frozenset).
- `answered(x)` is a bool, never None.
- `not x` is None only when `x` is; a comparison (`<`, `==`, as sets...) or a membership test (`in`, `not in`) is
  None only when an operand is, and otherwise a bool (its operands are checked values of the types the checker
  asked for: numbers with numbers, text with text, lists of text, so the comparison cannot fail); `and`/`or` are
  None only when an operand is.
- Arithmetic (`+ - * /`, unary `-`) may be None with every operand present (division by zero, overflow, a
  non-finite result): never counted as known.
- A fact by `cases` is never None when every case's condition is never None (no unknown stops the search) and it
  has a default case (some case is taken) and no case's value is None.
- A score that sums is never None when every item's question and condition is never None; one that classifies
  by `cases` is a fact by cases.

Facts are taken in `facts_order`, so the facts a fact reads are settled before it. Everything not shown known here
keeps the full three-valued code.
"""

from __future__ import annotations

from collections.abc import Collection

from backpath.core import tree as T


def never_none(node: T.Node, known: Collection[str]) -> bool:
    """Whether `node`'s value is never None when every name in `known` has a value (see the module docstring)."""
    if isinstance(node, (T.Const, T.Answered)):
        return True
    if isinstance(node, T.Var):
        return node.name in known
    if isinstance(node, T.Not):
        return never_none(node.operand, known)
    if isinstance(node, (T.And, T.Or)):
        return all(never_none(p, known) for p in node.parts)
    if isinstance(node, (T.Compare, T.Member)):
        return never_none(node.left, known) and never_none(node.right, known)
    return False  # arithmetic: x / 0, overflow


def exact_bool(node: T.Node, known: Collection[str], bools: Collection[str]) -> bool:
    """Whether `node`'s value is True or False (never None, nor another value equal to one), when every name in
    `known` has a value and every name in `bools` (of `known`) is True or False: then `x is True` is `x` and
    `x is False` is `not x`, and Python's own `and`/`or` of such values is the three-valued one. A comparison, a
    membership test, `not` and `answered` give a bool; `and`/`or` of values never None give True or False."""
    if isinstance(node, T.Var):
        return node.name in bools
    if isinstance(node, T.Const):
        return type(node.value) is bool
    return isinstance(node, (T.Answered, T.Not, T.And, T.Or, T.Compare, T.Member)) and never_none(node, known)
