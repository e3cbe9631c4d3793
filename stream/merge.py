"""Merge the partitions a worker reads into one stream in event-time order, for the detection engine.

Kafka keeps order within a partition only, and a worker reads its partitions at different paces: while
it works through a backlog, one partition can be hours ahead of another in event time. The engine's
watermark follows the latest event time it has seen, so it would take the slower partitions' events for
late ones and drop them. :class:`PartitionMerge` holds events back until every partition that still has
unread records has caught up with them, then releases them oldest first. A partition whose reader has
reached the end of what the broker holds is not waited for, so a quiet partition never stalls the
others; its next events are judged by the engine's allowed lateness like any late event. A partition is known
from its first record on: a consumer's first fetch brings a record of every assigned partition that holds
data, so none is missed in practice, but a partition that starts delivering much later is not waited for.

The buffer is bounded: past ``max_buffered`` events the oldest are released anyway (counted in
``forced``), so a partition that stops being read cannot make the worker grow without limit.

Examples
--------
>>> merge = PartitionMerge()
>>> merge.push("p0", 100.0, "a", caught_up=False)
>>> merge.push("p0", 200.0, "b", caught_up=False)
>>> merge.pop_ready()   # p0 is behind and at 200: anything up to 200 may go
['a', 'b']
>>> merge.push("p1", 150.0, "c", caught_up=False)
>>> merge.push("p0", 400.0, "d", caught_up=False)
>>> merge.pop_ready()   # p1 is behind at 150: "d" waits for it
['c']
>>> merge.push("p1", 450.0, "e", caught_up=True)
>>> merge.pop_ready()   # p1 is caught up, p0 at 400
['d']
>>> merge.push("p0", 500.0, "f", caught_up=True)
>>> merge.pop_ready()   # nobody is behind any more
['e', 'f']
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Any

__all__ = ["PartitionMerge"]


class PartitionMerge:
    """Event-time merge of several in-order partitions.

    Parameters
    ----------
    max_buffered
        Events held at most; beyond it the oldest are released even if a partition lags.
    """

    def __init__(self, max_buffered: int = 500_000) -> None:
        if max_buffered < 1:
            raise ValueError(f"max_buffered must be >= 1, got {max_buffered}")
        self.max_buffered = max_buffered
        self._heap: list[tuple[float, int, Any]] = []
        self._latest: dict[Hashable, float] = {}
        self._behind: set[Hashable] = set()
        self._seq = 0
        self.forced = 0

    def push(self, partition: Hashable, ts: float, item: Any, *, caught_up: bool) -> None:
        """Add ``item`` of event time ``ts`` read from ``partition``.

        ``caught_up`` tells whether that partition's reader has now read everything the broker holds.
        """
        heapq.heappush(self._heap, (ts, self._seq, item))
        self._seq += 1
        if ts > self._latest.get(partition, float("-inf")):
            self._latest[partition] = ts
        if caught_up:
            self._behind.discard(partition)
        else:
            self._behind.add(partition)

    def forget(self, partition: Hashable) -> None:
        """Stop waiting for ``partition`` (it was revoked from this worker)."""
        self._behind.discard(partition)
        self._latest.pop(partition, None)

    @property
    def horizon(self) -> float:
        """Event time up to which events may be released: the slowest lagging partition's latest."""
        if not self._behind:
            return float("inf")
        return min(self._latest.get(p, float("-inf")) for p in self._behind)

    def pop_ready(self) -> list[Any]:
        """Events that can go to the engine now, oldest first."""
        horizon = self.horizon
        heap, ready = self._heap, []
        while heap and (heap[0][0] <= horizon or len(heap) > self.max_buffered):
            if heap[0][0] > horizon:
                self.forced += 1
            ready.append(heapq.heappop(heap)[2])
        return ready

    def drain(self) -> list[Any]:
        """Every buffered event, oldest first (shutdown, or end of a finite stream)."""
        ready = [item for _, _, item in sorted(self._heap)]
        self._heap.clear()
        return ready

    def __len__(self) -> int:
        return len(self._heap)
