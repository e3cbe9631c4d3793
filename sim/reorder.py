"""Put events back in event-time order before the detection engine, the same way offline and live.

The engine's alerts depend on the order it learns events in (its watermark follows the latest event
time, its detectors advance when the watermark crosses a tick). Delivery is out of order: an event
arrives up to some minutes late, and a worker reads several Kafka partitions at different paces.
:class:`EventTimeMerge` holds events and releases them sorted by (event time, record bytes), so the
engine sees one canonical sequence whatever the arrival order, as long as:

* every source (a Kafka partition, or the one file of a replay) delivers its events at most
  ``horizon`` seconds out of event-time order, and
* the merge knows its sources: one that has delivered nothing yet holds everything back, until it
  delivers or is declared caught up (it has nothing more to read right now).

An event is released once its event time is more than ``horizon`` behind the frontier: the slowest
source that still has a backlog, or the latest event seen when no source has one. A live stream
therefore reaches the engine ``horizon`` seconds of event time late, on top of the engine's own
allowed lateness; keep it small. The buffer is bounded: beyond ``max_buffered`` events the oldest go
out anyway (counted in ``forced``), so a source that stops being read cannot exhaust memory.

Examples
--------
>>> merge = EventTimeMerge(horizon=60, sources=["p0", "p1"])
>>> merge.push("p0", 100.0, b"a", "a")
>>> merge.push("p0", 500.0, b"b", "b")
>>> merge.pop_ready()   # p1 has not delivered anything yet
[]
>>> merge.push("p1", 90.0, b"c", "c")
>>> merge.push("p1", 300.0, b"d", "d")
>>> merge.pop_ready()   # p1 is at 300: what is older than 300 - 60 goes, oldest first
['c', 'a']
>>> merge.mark_caught_up("p1")   # p1 has nothing more for now: only p0's backlog counts
>>> merge.pop_ready()
['d']
>>> merge.drain()       # end of a finite stream
['b']
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable
from typing import Any

__all__ = ["DEFAULT_REORDER_HORIZON", "EventTimeMerge"]

#: Seconds of event time an event may arrive out of order within one source and still be put in place.
DEFAULT_REORDER_HORIZON = 120.0


class EventTimeMerge:
    """Event-time merge and reorder buffer of several sources.

    Parameters
    ----------
    horizon
        Seconds of event time an event is held after a later one was seen (>= 0).
    sources
        Sources known from the start; each holds everything back until it delivers or is caught up.
    max_buffered
        Events held at most; beyond it the oldest are released even if a source lags.
    """

    def __init__(
        self, horizon: float = DEFAULT_REORDER_HORIZON, sources: Iterable[Hashable] = (),
        max_buffered: int = 500_000,
    ) -> None:  # fmt: skip
        if not horizon >= 0:
            raise ValueError(f"horizon must be >= 0, got {horizon!r}")
        if max_buffered < 1:
            raise ValueError(f"max_buffered must be >= 1, got {max_buffered}")
        self.horizon = float(horizon)
        self.sources = tuple(sources)
        self.max_buffered = max_buffered
        self._heap: list[tuple[float, bytes, int, Any]] = []
        self._latest: dict[Hashable, float] = dict.fromkeys(self.sources, float("-inf"))
        self._behind: set[Hashable] = set(self.sources)
        self._seq = 0
        self.forced = 0

    def push(self, source: Hashable, ts: float, key: bytes, item: Any, *, caught_up: bool = False) -> None:
        """Hold ``item`` of event time ``ts`` from ``source``; ``key`` orders equal times (record bytes).

        ``caught_up`` tells that ``source`` had nothing more to deliver after this event.
        """
        heapq.heappush(self._heap, (ts, key, self._seq, item))
        self._seq += 1
        if ts > self._latest.get(source, float("-inf")):
            self._latest[source] = ts
        if caught_up:
            self._behind.discard(source)
        else:
            self._behind.add(source)

    def mark_caught_up(self, source: Hashable) -> None:
        """``source`` has delivered everything it holds for now: stop waiting for it."""
        self._latest.setdefault(source, float("-inf"))
        self._behind.discard(source)

    def mark_behind(self, source: Hashable) -> None:
        """``source`` has more to deliver, though it was caught up: wait for it again.

        Its reader saw another source jump ahead in event time while this one had nothing new: in a
        backfill, all partitions are written at once, and what this one has not delivered yet may be
        older than what the others have.

        Examples
        --------
        >>> merge = EventTimeMerge(horizon=0, sources=["p0", "p1"])
        >>> merge.push("p1", 100.0, b"a", "a", caught_up=True)
        >>> merge.mark_caught_up("p0")
        >>> merge.mark_behind("p0")   # p0 has not delivered anything: everything waits for it
        >>> merge.push("p1", 500.0, b"b", "b", caught_up=True)
        >>> merge.pop_ready()
        []
        >>> merge.push("p0", 200.0, b"c", "c", caught_up=True)
        >>> merge.pop_ready()
        ['a', 'c']
        """
        self._latest.setdefault(source, float("-inf"))
        self._behind.add(source)

    @property
    def frontier(self) -> float:
        """Event time the sources have reached: the slowest one with a backlog, else the latest seen."""
        if self._behind:
            return min(self._latest[s] for s in self._behind)
        return max(self._latest.values(), default=float("-inf"))

    @property
    def waiting(self) -> int:
        """Sources with a backlog the merge waits for (0: what it holds is the last ``horizon`` only)."""
        return len(self._behind)

    def pop_ready(self) -> list[Any]:
        """Events that can go to the engine now, oldest first."""
        limit = self.frontier - self.horizon
        heap, ready = self._heap, []
        while heap and (heap[0][0] < limit or len(heap) > self.max_buffered):
            if heap[0][0] >= limit:
                self.forced += 1
            ready.append(heapq.heappop(heap)[3])
        return ready

    def drain(self) -> list[Any]:
        """Every held event, oldest first (end of a finite stream)."""
        ready = [entry[3] for entry in sorted(self._heap)]
        self._heap.clear()
        return ready

    def __len__(self) -> int:
        return len(self._heap)
