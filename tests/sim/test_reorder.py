"""The event-time merge: one canonical order whatever the interleaving of in-order sources."""

from __future__ import annotations

import random

import pytest

from sim.reorder import EventTimeMerge


def _deliver(times: list[float], delays: list[float]) -> list[tuple[float, bytes]]:
    """Events in arrival order when each is delayed by its delay (ties: the original order)."""
    arrivals = sorted(range(len(times)), key=lambda i: (times[i] + delays[i], i))
    return [(times[i], f"e{i}".encode()) for i in arrivals]


def _merge_interleaved(sources: dict[str, list], horizon: float, rng: random.Random) -> list:
    merge = EventTimeMerge(horizon, sources=list(sources))
    cursors = dict.fromkeys(sources, 0)
    out: list = []
    while any(cursors[s] < len(events) for s, events in sources.items()):
        source = rng.choice([s for s, events in sources.items() if cursors[s] < len(events)])
        for _ in range(rng.randint(1, 30)):  # a fetch brings a batch of one partition
            if cursors[source] == len(sources[source]):
                break
            ts, key = sources[source][cursors[source]]
            cursors[source] += 1
            merge.push(source, ts, key, (ts, key), caught_up=cursors[source] == len(sources[source]))
            out.extend(merge.pop_ready())
    return out + merge.drain()


def _partitioned(seed: int, partitions: int) -> tuple[dict[str, list], list]:
    """300 events over ~1.4 h delivered up to 100 s late, split over ``partitions`` sources."""
    rng = random.Random(seed)
    times = [float(rng.randint(0, 5000)) for _ in range(300)]
    delivered = _deliver(times, [float(rng.randint(0, 100)) for _ in times])
    sources: dict[str, list] = {f"p{k}": [] for k in range(partitions)}
    for ts, key in delivered:
        sources[f"p{int(key[1:]) % partitions}"].append((ts, key))
    return sources, sorted(delivered)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("partitions", [1, 4])
def test_sources_late_within_the_horizon_come_out_sorted_whatever_the_interleaving(seed, partitions):
    sources, canonical = _partitioned(seed, partitions)
    assert _merge_interleaved(sources, horizon=100.0, rng=random.Random(seed)) == canonical


def test_sources_later_than_the_horizon_do_not():
    sources, canonical = _partitioned(0, 4)
    assert _merge_interleaved(sources, horizon=20.0, rng=random.Random(0)) != canonical


def test_a_source_that_never_delivered_holds_everything_back_until_caught_up():
    merge = EventTimeMerge(10, sources=["p0", "p1"])
    for ts in range(0, 1000, 50):
        merge.push("p0", float(ts), b"", ts)
    assert merge.pop_ready() == []
    merge.mark_caught_up("p1")  # an empty partition
    assert merge.pop_ready() == list(range(0, 950, 50))


def test_a_full_buffer_releases_its_oldest_event_and_counts_it():
    merge = EventTimeMerge(10, sources=["p0", "p1"], max_buffered=3)
    for ts in (5.0, 1.0, 9.0, 7.0):
        merge.push("p0", ts, b"", ts)
    assert merge.pop_ready() == [1.0]
    assert (merge.forced, len(merge)) == (1, 3)


@pytest.mark.parametrize("kwargs", [{"horizon": -1}, {"max_buffered": 0}])
def test_bad_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        EventTimeMerge(**kwargs)
