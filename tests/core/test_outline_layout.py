"""`Outline.sections` (item lists from OR-ed per-rule bit codes, orders and sections memoised on bits, states on keys)
must give what the contract says, read item by item: for made-up catalogues and rules of any size (codes wider
than 64 bits), items offered and advised against by different rules, requested items, and tiers whose ranks put
recommended items out of catalogue order."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from backpath.core.outline import (
    ADVISE_AGAINST,
    RECOMMENDED,
    RULED_OUT,
    STRENGTHS,
    UNREQUESTED,
    Outline,
    positions,
)


def fake_pathway(n_items: int, tiers: list[int], rules: list[tuple[list[int], list[int], list[int]]]):
    """The parts of a pathway an `Outline` reads: items `i0...` with tier ranks `tiers`, rules offering,
    considering and advising against items by position."""
    ids = [f"i{i}" for i in range(n_items)]
    catalogue = {item: SimpleNamespace(tier=f"t{tiers[i]}", care_team=()) for i, item in enumerate(ids)}
    return SimpleNamespace(
        catalogue=catalogue, tier_rank={f"t{k}": k for k in range(max(tiers, default=0) + 1)}, care_roles=(),
        rules=[SimpleNamespace(offer=[ids[i] for i in o], consider=[ids[i] for i in c],
                               advise_against=[ids[i] for i in a], care_team=()) for o, c, a in rules])


def expected(p, requested: set[int], contributing: list[int]):
    """The contract read item by item: an item advised against by a contributing rule is ruled out (the advice
    against first, then every recommendation, each in rule order); else recommended by any is recommended
    (offer beats consider); else requested is requested-uncovered; recommended items by tier rank then catalogue
    order, not recommended ones the requested first, then catalogue order."""
    ids = list(p.catalogue)
    shown, out = [], []
    for i, item in enumerate(ids):
        against = [ri for ri in contributing if item in p.rules[ri].advise_against]
        recs = [(ri, STRENGTHS[0] if item in p.rules[ri].offer else STRENGTHS[1]) for ri in contributing
                if item in p.rules[ri].offer or item in p.rules[ri].consider]
        if against:
            out.append((i not in requested, i, (RULED_OUT, None, tuple((ri, ADVISE_AGAINST) for ri in against)
                                                  + tuple(recs), i in requested)))
        elif recs:
            strength = "offer" if any(s == "offer" for _, s in recs) else "consider"
            shown.append((p.tier_rank[p.catalogue[item].tier], i, (RECOMMENDED, strength, tuple(recs),
                                                                 i in requested)))
        elif i in requested:
            out.append((False, i, (UNREQUESTED, None, (), True)))
    shown.sort(key=lambda e: e[:2])
    out.sort(key=lambda e: e[:2])
    return [(i, s) for _, i, s in shown], [(i, s) for _, i, s in out]


def seen(sections):
    return [[(i, (s.section, s.strength, s.refs, s.requested)) for i, s in part] for part in sections]


@st.composite
def cases(draw):
    n = draw(st.integers(1, 80))
    tiers = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    items = st.lists(st.integers(0, n - 1), max_size=4, unique=True)
    rules = draw(st.lists(st.tuples(items, items, items), min_size=1, max_size=70))
    # an item may be offered and considered by one rule (offer wins), as the loader would refuse; keep them apart
    rules = [(o, [i for i in c if i not in o], a) for o, c, a in rules]
    records = draw(st.lists(st.tuples(st.sets(st.integers(0, n - 1), max_size=4),
                                      st.sets(st.integers(0, len(rules) - 1))), min_size=1, max_size=6))
    return n, tiers, rules, records


def requests_uncovered(outline: Outline, requested: set[int], contributing: list[int]) -> bool:
    """Whether `section_pair` says a request no rule covers is in the result."""
    code = 0
    for ri in contributing:
        code |= outline.rule_layout[ri]
    return bool(outline.section_pair(code, sum(1 << i for i in requested))[3])


@settings(max_examples=200, deadline=None)
@given(cases())
def test_sections_are_the_contract_read_item_by_item(case):
    """The memoised sections (an item that one rule mentions, or none, keeps its state in every record with that
    list) give the lists the contract describes, and `section_pair` knows when a request no rule covers is one."""
    n, tiers, rules, records = case
    p = fake_pathway(n, tiers, rules)
    outline = Outline(p)  # type: ignore[arg-type]
    for _ in range(2):  # the second time from the memos
        for requested, contributing in records:
            order = sorted(contributing)
            want = list(map(list, expected(p, requested, order)))
            assert seen(outline.sections(requested, order)) == want
            assert requests_uncovered(outline, requested, order) == any(s[0] == UNREQUESTED for _, s in want[1])


def test_a_request_advised_against_and_one_no_rule_covers_get_their_own_sections():
    # item 0: only rule 0 mentions it, advising against; item 1: only rule 1, offering it
    p = fake_pathway(2, [0, 0], [([], [], [0]), ([1], [], [])])
    outline = Outline(p)  # type: ignore[arg-type]
    against = seen(outline.sections({0}, [0]))  # requested and advised against
    uncovered = seen(outline.sections({0}, [1]))  # requested, its rule not contributing
    assert against[1] == [(0, (RULED_OUT, None, ((0, ADVISE_AGAINST),), True))]
    assert uncovered[1] == [(0, (UNREQUESTED, None, (), True))]


@given(st.integers(min_value=0, max_value=(1 << 300) - 1))
def test_positions_are_the_set_bits_lowest_first(bits):
    """`positions` goes a byte at a time through tables it widens as numbers do (a bit at a time past
    `_TABLE_BITS`): the same as bit by bit."""
    assert positions(bits) == [i for i in range(bits.bit_length()) if bits >> i & 1]


def test_positions_tables_stay_small_for_very_wide_numbers():
    """A pathway of thousands of items (a hostile one) gives numbers thousands of bits wide: their positions are
    right and the shared tables never grow past `_TABLE_BITS`."""
    from backpath.core import outline as O

    bits = 1 << 20_000 | 1 << 9_999 | 0b1011
    assert positions(bits) == [0, 1, 3, 9_999, 20_000]
    assert 8 * len(O._BYTE_POSITIONS) <= O._TABLE_BITS
