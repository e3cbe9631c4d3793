"""One input record in, one outcome out: counted, skipped as already counted, or dead-lettered.

This is the worker's record handling without Kafka: the Faust agent only feeds it the record's bytes
and coordinates and sends the dead letter it returns. Nothing a record contains can raise out of
:meth:`RecordHandler.handle`; an unexpected error becomes a dead letter with reason
``internal_error``, so one poison record never stops the stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from schemas.deadletter import DeadLetter
from schemas.events import Event, TicketEvent
from schemas.parse import Rejection, parse_event
from stream.counters import DeadLetterLog
from stream.metrics import WorkerMetrics

__all__ = ["INTERNAL_ERROR", "EventSink", "RecordHandler"]

#: Rejection reason of a record whose handling raised; the record is kept for a replay after a fix.
INTERNAL_ERROR = "internal_error"
logger = logging.getLogger(__name__)


class EventSink(Protocol):
    """Where valid events go: the counters today, the detection engine later."""

    def handle(self, event: Event, *, topic: str, partition: int, offset: int) -> bool:
        """Apply ``event`` read at ``offset``; False if that record had already been applied."""
        ...


class RecordHandler:
    """Turns raw input records into counted events or dead letters, and keeps the metrics.

    Parameters
    ----------
    sink
        Receives every valid event with the coordinates of its record.
    metrics
        Counts valid, invalid and redelivered records and the processing lag.
    dead_letters
        Which dead letters were already published; a redelivered bad record is not sent again.
    max_event_bytes
        Larger records are rejected as oversized without being parsed.
    clock
        Wall time in Unix seconds, for the processing lag.

    """

    def __init__(
        self,
        sink: EventSink,
        metrics: WorkerMetrics,
        *,
        dead_letters: DeadLetterLog | None = None,
        max_event_bytes: int = 65536,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_event_bytes < 1:
            raise ValueError(f"max_event_bytes must be positive, got {max_event_bytes}")
        self.sink = sink
        self.dead_letters = DeadLetterLog({}) if dead_letters is None else dead_letters
        self.metrics = metrics
        self.max_event_bytes = max_event_bytes
        self.clock = clock

    def handle(self, raw: bytes | None, *, topic: str, partition: int, offset: int) -> DeadLetter | None:
        """Handle one record; return the dead letter to publish, or None if none is due.

        Call :meth:`published` once the broker has acknowledged the returned dead letter.
        """
        raw = b"" if raw is None else raw  # a tombstone is not an event either
        try:
            return self._handle(raw, topic=topic, partition=partition, offset=offset)
        except Exception as error:
            logger.exception("record %s[%d]@%d could not be handled", topic, partition, offset)
            detail = f"{type(error).__name__}: {error}"
            rejection = Rejection(reason=INTERNAL_ERROR, field=None, detail=detail)
            return self._reject(rejection, raw, topic=topic, partition=partition, offset=offset)

    def published(self, letter: DeadLetter) -> None:
        """Note that ``letter``, returned by :meth:`handle`, is on the dead-letter topic."""
        coordinates = {"topic": letter.source_topic, "partition": letter.partition, "offset": letter.offset}
        self.dead_letters.record(letter.reason, **coordinates)

    def _handle(self, raw: bytes, *, topic: str, partition: int, offset: int) -> DeadLetter | None:
        outcome = parse_event(raw, max_bytes=self.max_event_bytes)
        if isinstance(outcome, Rejection):
            return self._reject(outcome, raw, topic=topic, partition=partition, offset=offset)
        if not self.sink.handle(outcome, topic=topic, partition=partition, offset=offset):
            self.metrics.observe_duplicate()
            return None
        feature = outcome.feature if isinstance(outcome, TicketEvent) else None
        now = self.clock()
        self.metrics.observe_valid(outcome.type, feature=feature, event_time=outcome.ts, wall_time=now)
        return None

    def _reject(
        self, rejection: Rejection, raw: bytes, *, topic: str, partition: int, offset: int
    ) -> DeadLetter | None:
        if self.dead_letters.is_sent(rejection.reason, topic=topic, partition=partition, offset=offset):
            self.metrics.observe_duplicate()
            return None
        self.metrics.observe_invalid(rejection.reason)
        return rejection.to_dead_letter(raw, topic=topic, partition=partition, offset=offset)
