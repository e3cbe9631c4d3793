"""Read input partitions in step in event time, so the detection stage's merge stays small on a backlog.

The detection stage releases an event only once every input partition with a backlog has reached its
event time (:class:`sim.reorder.EventTimeMerge`). A Kafka consumer left to itself reads a backlog one
partition at a time: aiokafka's ``getmany`` drains the first partition's fetched data (up to
``max_partition_fetch_bytes``, tens of thousands of records) before it returns anything of the next,
so 48 h of one partition reach the merge before the first hour of the last one, and the merge holds
nearly the whole backlog (measured: 264,000 of 300,000 events held, none learnt, on 12 partitions).

:class:`ReadAlignment` chooses which assigned partitions the batch ingest stage reads next: those with a
backlog whose latest event time read is within ``window`` of the slowest one with a backlog (the
merge's frontier), plus those with nothing to read. Partitions ahead wait. The window is the larger of
the configured one and the largest event-time step one partition took in the previous round, so a
round still reads several partitions at once (and its transaction carries several) when a share of a
batch spans more event time than the window. What the merge holds is then about two batches' worth of
events, whatever the backlog. Only the order in which partitions are read changes: what the detection
stage feeds the engine is the merge's canonical sequence either way.

A partition counts as having a backlog while its next offset is below its high watermark, unless it was
asked for records and gave none for ``dry_after`` seconds (offsets without a record, such as transaction
markers, would otherwise hold every other partition back for ever).

Examples
--------
>>> align = ReadAlignment(window=60)
>>> behind = {"p0": True, "p1": True, "p2": False}.get
>>> align.due(["p0", "p1", "p2"], behind, now=0.0)   # nothing read yet: every partition may go
['p0', 'p1', 'p2']
>>> align.begin(["p0", "p1"])
>>> for ts in (100.0, 5000.0):
...     align.note("p0", ts)
>>> align.note("p1", 1000.0)
>>> align.end()
>>> align.due(["p0", "p1", "p2"], behind, now=1.0)   # p0 is 4,000 s ahead of p1: it waits
['p1', 'p2']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable

__all__ = ["ReadAlignment"]

_NEVER = float("-inf")


class ReadAlignment:
    """Which partitions to read next so they advance together in event time.

    Parameters
    ----------
    window
        Seconds of event time a partition with a backlog may be ahead of the slowest one and still be
        read (``worker.reorder_horizon``: the merge holds that much anyway).
    dry_after
        Seconds of wall time a partition that was asked for records and gave none stops counting as
        having a backlog, until it gives records again.
    """

    def __init__(self, window: float, *, dry_after: float = 1.0) -> None:
        if not window >= 0:
            raise ValueError(f"window must be >= 0, got {window!r}")
        self.window = float(window)
        self.dry_after = dry_after
        #: Latest event time read per partition.
        self.latest: dict[Hashable, float] = {}
        #: Largest event-time step of one partition in the last round.
        self.step = 0.0
        self._empty_since: dict[Hashable, float] = {}
        self._before: dict[Hashable, float] = {}

    def note(self, partition: Hashable, ts: float) -> None:
        """An event of time ``ts`` was read from ``partition``."""
        if ts > self.latest.get(partition, _NEVER):
            self.latest[partition] = ts

    def due(self, partitions: Iterable[Hashable], behind: Callable[[Hashable], bool], now: float) -> list:
        """The partitions of ``partitions`` to read now; ``behind(p)``: p has records left to read."""
        partitions = list(partitions)
        backlog = [p for p in partitions if behind(p) and not self._dry(p, now)]
        if not backlog:
            return partitions
        latest = self.latest
        limit = min(latest.get(p, _NEVER) for p in backlog) + max(self.window, self.step)
        waiting = {p for p in backlog if latest.get(p, _NEVER) > limit}
        return [p for p in partitions if p not in waiting]

    def polled(self, partition: Hashable, records: int, now: float) -> None:
        """``partition`` was asked for records and gave ``records``."""
        if records:
            self._empty_since.pop(partition, None)
        else:
            self._empty_since.setdefault(partition, now)

    def begin(self, partitions: Iterable[Hashable]) -> None:
        """A round reading ``partitions`` starts (their event times now are the step's base)."""
        self._before = {p: self.latest.get(p, _NEVER) for p in partitions}

    def end(self) -> None:
        """The round's records are read: note the largest event-time step a partition took."""
        steps = [self.latest.get(p, _NEVER) - ts for p, ts in self._before.items()]
        steps = [step for step in steps if math.isfinite(step)]
        if steps:
            self.step = max(steps)
        self._before = {}

    def forget(self, partition: Hashable) -> None:
        """``partition`` is no longer read here (revoked)."""
        self.latest.pop(partition, None)
        self._empty_since.pop(partition, None)

    def _dry(self, partition: Hashable, now: float) -> bool:
        since = self._empty_since.get(partition)
        return since is not None and now - since >= self.dry_after
