"""The summary's repeated-id check (`summary.Repeats`): a chunk of new plain ids taken whole gives what taking
them one at a time gives."""

from __future__ import annotations

import pytest

from backpath.batch import summary
from backpath.batch.summary import Repeats


def one_at_a_time(chunks: list[list]) -> Repeats:
    repeats = Repeats()
    for chunk in chunks:
        repeats.add(iter(chunk))  # not a list: never taken whole
    return repeats


def source(line: int) -> dict:
    return {"file": "in.jsonl", "line": line}


@pytest.mark.parametrize("ids", [
    [["a", "b", 1, 2], ["c", 3]],  # all new
    [["a", "b"], ["c", "a", "d"]],  # a repeat of an earlier chunk's id
    [["a", "a", "b"]],  # a repeat inside one chunk
    [[7, "7", 8]],  # 7 and "7" are different ids
    [[1, True], [1.0, "x"]],  # not plain ids: one at a time (True and 1.0 are not the id 1)
    [[], ["a"]],
])
def test_a_chunk_taken_whole_counts_as_one_at_a_time(ids):
    chunks = [[(record_id, source(k)) for k, record_id in enumerate(chunk, 1)] for chunk in ids]
    whole = Repeats()
    for chunk in chunks:
        whole.add(chunk)
    expected = one_at_a_time(chunks)
    assert (whole.seen, whole.count, whole.places, whole.full) == \
           (expected.seen, expected.count, expected.places, expected.full)


def test_ids_past_the_bound_are_not_remembered_whole_or_one_at_a_time(monkeypatch):
    monkeypatch.setattr(summary, "MAX_IDS", 3)
    chunks = [[(k, source(k)) for k in (1, 2)], [(k, source(k)) for k in (3, 4, 1)]]
    whole = Repeats()
    for chunk in chunks:
        whole.add(chunk)
    expected = one_at_a_time(chunks)
    assert (whole.seen, whole.count, whole.places, whole.full) == \
           (expected.seen, expected.count, expected.places, expected.full) == ({1, 2, 3}, 1, ["in.jsonl:1"], True)
