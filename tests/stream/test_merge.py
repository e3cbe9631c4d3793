"""The event-time merge of partitions that feeds the detection engine."""

from __future__ import annotations

import itertools
import random

import pytest

from stream.merge import PartitionMerge


def _interleave(partitions: dict[str, list[float]], rng: random.Random):
    """Read partitions at random paces, each in its own order; yields (partition, ts, caught_up).

    The first fetch brings a record of every partition, as a consumer's first fetch does for the
    partitions assigned to it that hold data.
    """
    cursors = dict.fromkeys(partitions, 1)
    for p, ts in partitions.items():
        yield p, ts[0], len(ts) == 1
    while any(cursors[p] < len(ts) for p, ts in partitions.items()):
        p = rng.choice([p for p in partitions if cursors[p] < len(partitions[p])])
        burst = rng.randint(1, 50)  # a fetch returns a batch of one partition
        for _ in range(burst):
            i = cursors[p]
            if i == len(partitions[p]):
                break
            cursors[p] += 1
            yield p, partitions[p][i], cursors[p] == len(partitions[p])


def test_partitions_read_at_different_paces_come_out_in_event_time_order():
    rng = random.Random(3)
    partitions = {f"p{k}": sorted(rng.uniform(0, 10_000) for _ in range(400)) for k in range(4)}
    merge, out = PartitionMerge(), []
    for p, ts, caught_up in _interleave(partitions, rng):
        merge.push(p, ts, ts, caught_up=caught_up)
        out.extend(merge.pop_ready())
    out.extend(merge.drain())
    assert len(out) == 1600
    assert out == sorted(out)


def test_without_the_merge_the_same_reads_are_far_out_of_order():
    # The situation the merge exists for: the raw read order runs back in time by a lot.
    rng = random.Random(3)
    partitions = {f"p{k}": sorted(rng.uniform(0, 10_000) for _ in range(400)) for k in range(4)}
    raw = [ts for _, ts, _ in _interleave(partitions, rng)]
    worst_step_back = max(a - b for a, b in itertools.pairwise(raw))
    assert worst_step_back > 600  # more than the engine's default allowed lateness


def test_a_caught_up_partition_is_not_waited_for():
    merge = PartitionMerge()
    merge.push("quiet", 10.0, "old", caught_up=True)
    merge.push("busy", 500.0, "new", caught_up=True)
    assert merge.pop_ready() == ["old", "new"]


def test_a_lagging_partition_holds_newer_events_back_until_it_catches_up():
    merge = PartitionMerge()
    merge.push("slow", 100.0, "s1", caught_up=False)
    merge.push("fast", 900.0, "f1", caught_up=False)
    assert merge.pop_ready() == ["s1"]
    assert len(merge) == 1
    merge.push("slow", 950.0, "s2", caught_up=True)
    assert merge.pop_ready() == ["f1"]  # "fast" still lags at 900; s2 waits for it
    assert merge.drain() == ["s2"]


def test_a_revoked_partition_is_forgotten():
    merge = PartitionMerge()
    merge.push("gone", 100.0, "g", caught_up=False)
    merge.push("kept", 900.0, "k", caught_up=True)
    assert merge.pop_ready() == ["g"]
    merge.forget("gone")
    assert merge.pop_ready() == ["k"]


def test_the_buffer_is_bounded_and_counts_forced_releases():
    merge = PartitionMerge(max_buffered=3)
    merge.push("stuck", 0.0, "stuck", caught_up=False)
    assert merge.pop_ready() == ["stuck"]
    for i in range(10):
        merge.push("other", 100.0 + i, i, caught_up=True)
        merge.pop_ready()
    assert len(merge) == 3
    assert merge.forced == 7


def test_bad_bound_is_rejected():
    with pytest.raises(ValueError, match="max_buffered"):
        PartitionMerge(max_buffered=0)
