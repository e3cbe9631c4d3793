"""The detection stage of the worker: counted events go on to the detection engine.

:class:`DetectingSink` is an :class:`~stream.ingest.EventSink` that first counts the event (so the
counters' at-most-once bookkeeping decides whether the record is new) and then hands it to a
:class:`detectors.engine.DetectionEngine`. The engine is synchronous and pure; the alerts it returns
wait in :meth:`DetectingSink.take` for the agent to publish them on the alert topics.

This stage keeps the engine in the worker's memory: one engine per worker, fed by every partition the
worker holds. Restoring detector state from changelog topics and repartitioning by feature across
several workers is a later step (see the README's "Limits").

Examples
--------
>>> from detectors.engine import DetectionEngine
>>> from schemas.events import UsageEvent
>>> class Counted:
...     def handle(self, event, *, topic, partition, offset):
...         return offset > 0  # offset 0 was already applied before a restart
>>> sink = DetectingSink(Counted(), DetectionEngine())
>>> usage = UsageEvent(account_id="acme", count=3, time=1_772_460_000)
>>> sink.handle(usage, topic="events", partition=0, offset=0)
False
>>> sink.handle(usage, topic="events", partition=0, offset=1)
True
>>> sink.take()
[]
>>> len(sink.merge)   # no partition is known to lag, so the event went straight to the engine
0
"""

from __future__ import annotations

from detectors.engine import DetectionEngine
from schemas.alerts import Alert
from schemas.events import Event
from stream.ingest import EventSink
from stream.merge import PartitionMerge

__all__ = ["DetectingSink"]


class DetectingSink:
    """Count each new event with ``counters``, then run ``engine`` on it and keep its alerts."""

    def __init__(
        self, counters: EventSink, engine: DetectionEngine, merge: PartitionMerge | None = None
    ) -> None:
        self.counters = counters
        self.engine = engine
        self.merge = PartitionMerge() if merge is None else merge
        self._pending: list[Alert] = []
        self._caught_up: dict[tuple[str, int], bool] = {}

    def position(self, topic: str, partition: int, *, caught_up: bool) -> None:
        """Tell whether the reader of ``topic``/``partition`` has read all the broker holds."""
        self._caught_up[(topic, partition)] = caught_up

    def handle(self, event: Event, *, topic: str, partition: int, offset: int) -> bool:
        """Apply ``event``; False if the counters had already applied this record (not detected again)."""
        if not self.counters.handle(event, topic=topic, partition=partition, offset=offset):
            return False
        key = (topic, partition)
        self.merge.push(key, event.ts, event, caught_up=self._caught_up.get(key, True))
        for ready in self.merge.pop_ready():
            self._pending.extend(self.engine.process(ready))
        return True

    def take(self) -> list[Alert]:
        """The alerts produced since the last call, in the order the engine emitted them."""
        alerts, self._pending = self._pending, []
        return alerts
