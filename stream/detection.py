"""Stage 2 of the worker: the detection engine over the detection topic, restorable and replay-exact.

The detection topic has one partition, so exactly one worker of the group runs this stage at a time
(another takes over if it dies). Records arrive from the ingest stage (:mod:`stream.forward`) with
their source partition and offset: a second copy of a source record is skipped, and the events go
through the same :class:`sim.reorder.EventTimeMerge` as ``replay(..., reorder_horizon=...)``, so the
engine learns the same sequence as offline.

:class:`DetectionState` is everything the stage knows, plain picklable Python: the engine, the reorder
buffer, the last source offset applied per source, the detection-topic offset it covers and, per alert
topic partition, the offset after the last alert it published. The worker snapshots it
(:mod:`stream.checkpoint`) and, after a restart, restores it and resumes the detection topic at the
offset it covers, so every record after the snapshot reaches the engine exactly once. Replaying those
records re-emits the alerts they caused; the alert ids (deterministic) already on the alert topics
past the snapshot's positions are skipped, and an alert emitted but never published comes out now.

Examples
--------
>>> from detectors.engine import DetectionEngine
>>> from stream.forward import forward_headers
>>> stage = DetectionStage(DetectionEngine, sources=[("events", 0)], reorder_horizon=0)
>>> stage.restore(None)
>>> usage = b'{"type":"usage","account_id":"acme","count":3,"time":1772460000}'
>>> stage.apply(0, forward_headers("events", 0, 7, caught_up=True), usage)
[]
>>> stage.apply(1, forward_headers("events", 0, 7, caught_up=True), usage)  # a second copy
[]
>>> stage.state.next_offset, stage.state.applied, stage.duplicates
(2, 0, 1)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from dataclasses import dataclass, field

from detectors.engine import DetectionEngine
from schemas.alerts import Alert
from schemas.parse import Rejection, parse_event
from sim.reorder import DEFAULT_REORDER_HORIZON, EventTimeMerge
from stream.alerts import OpenAlerts
from stream.forward import ForwardedRecord, unpack_batch

__all__ = ["DetectionStage", "DetectionState", "alert_positions_to_read"]


@dataclass
class DetectionState:
    """What the detection stage knows; a snapshot of it is a restart point."""

    engine: DetectionEngine
    merge: EventTimeMerge
    #: Source (topic, partition) -> last source offset applied.
    source_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    #: Next detection-topic offset not yet applied.
    next_offset: int = 0
    #: Alert (topic, partition) -> offset after the last alert this stage published there.
    alert_positions: dict[tuple[str, int], int] = field(default_factory=dict)
    #: Events handed to the engine so far.
    applied: int = 0
    #: Ids of alerts found on the alert topics at a restore that the replay has not emitted again yet;
    #: kept in the state so a crash during the replay does not forget them.
    already_published: dict[str, None] = field(default_factory=dict)
    #: Latest emission of every incident not yet resolved, published or found published: what the
    #: open-incident metrics (and so Alertmanager's page) must show again right after a restore.
    open_alerts: OpenAlerts = field(default_factory=OpenAlerts)


class DetectionStage:
    """Apply detection-topic records to a :class:`DetectionState` and say which alerts to publish.

    Parameters
    ----------
    new_engine
        Builds an engine for a stage that starts without a snapshot.
    sources
        The input (topic, partition) pairs; the reorder buffer waits for each before releasing events.
    reorder_horizon
        Seconds of event time the reorder buffer holds events (``worker.reorder_horizon``).
    max_event_bytes
        Larger records are not events (the ingest stage never forwards them).
    """

    def __init__(
        self, new_engine: Callable[[], DetectionEngine], *, sources: Iterable[Hashable] = (),
        reorder_horizon: float = DEFAULT_REORDER_HORIZON, max_event_bytes: int = 65536,
    ) -> None:  # fmt: skip
        self.new_engine = new_engine
        self.sources = tuple(sources)
        self.reorder_horizon = reorder_horizon
        self.max_event_bytes = max_event_bytes
        self.state: DetectionState | None = None
        self.max_already_published = 10_000
        self.duplicates = 0
        self.skipped_alerts = 0
        #: Alerts the last :meth:`apply` emitted again and did not return: already on the topics.
        self.last_skipped: list[Alert] = []

    def restore(self, state: DetectionState | None, published: Collection[str] = ()) -> None:
        """Start from ``state`` (a fresh one if None); ``published``: alert ids already on the topics."""
        if state is None:
            merge = EventTimeMerge(self.reorder_horizon, sources=self.sources)
            state = DetectionState(self.new_engine(), merge)
        state.already_published.update(dict.fromkeys(published))
        for stale in list(state.already_published)[: -self.max_already_published or None]:
            del state.already_published[stale]  # never emitted again (engine changed): let go, oldest first
        self.state = state

    def forget(self) -> None:
        """Drop the state (the partition was revoked); :meth:`restore` before the next record."""
        self.state = None

    def apply(
        self, offset: int, headers: Iterable[tuple[str, bytes]] | None, value: bytes | None
    ) -> list[Alert]:
        """Apply the detection-topic record at ``offset``; the alerts to publish, in order."""
        state = self.state
        if state is None:
            raise RuntimeError("restore() the detection state before applying records")
        record = ForwardedRecord.from_headers(headers)
        state.next_offset = offset + 1
        if record.marker:
            if record.caught_up:
                state.merge.mark_caught_up(record.source)
            else:
                state.merge.mark_behind(record.source)
        else:
            self._push(state, record, unpack_batch(headers, value))
        alerts: list[Alert] = []
        for event in state.merge.pop_ready():
            alerts.extend(state.engine.process(event))
            state.applied += 1
        fresh, self.last_skipped = [], []
        book = self.open_book()
        for alert in alerts:
            book.apply(alert)
            if alert.alert_id in state.already_published:
                del state.already_published[alert.alert_id]
                self.skipped_alerts += 1
                self.last_skipped.append(alert)
            else:
                fresh.append(alert)
        return fresh

    def _push(
        self, state: DetectionState, record: ForwardedRecord, events: Iterable[tuple[int, bytes]]
    ) -> None:
        # A record holds one event or a packed batch of one source partition's events, in offset order;
        # "caught up" holds after its last one. A copy at or below the last offset applied is skipped.
        source, pushed_last = record.source, False
        for source_offset, raw in events:
            pushed_last = False
            if source_offset <= state.source_offsets.get(source, -1):
                self.duplicates += 1
                continue
            state.source_offsets[source] = source_offset
            event = parse_event(raw, max_bytes=self.max_event_bytes)
            if not isinstance(event, Rejection):
                caught_up = record.caught_up and source_offset == record.offset
                state.merge.push(source, event.ts, raw, event, caught_up=caught_up)
                pushed_last = True
        if record.caught_up and not pushed_last:
            state.merge.mark_caught_up(source)

    def open_book(self) -> OpenAlerts:
        """The open incidents of the current state (a snapshot older than this field gets an empty one)."""
        assert self.state is not None
        if not hasattr(self.state, "open_alerts"):
            self.state.open_alerts = OpenAlerts()
        return self.state.open_alerts

    def published(self, alert: Alert, *, topic: str, partition: int, offset: int) -> None:
        """Note that ``alert`` is on ``topic``/``partition`` at ``offset`` (acknowledged by the broker)."""
        assert self.state is not None
        self.state.alert_positions[(topic, partition)] = offset + 1

    @contextlib.contextmanager
    def picklable(self) -> Iterator[DetectionState]:
        """The state with the engine's window callback (metrics, not state) detached while pickling."""
        assert self.state is not None
        engine = self.state.engine
        callback = engine.on_window
        engine.on_window = engine.regression.on_window = None
        try:
            yield self.state
        finally:
            engine.on_window = engine.regression.on_window = callback


def alert_positions_to_read(
    state: DetectionState | None, partitions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """Per alert topic partition, where alerts past ``state`` may start (0 where it never published)."""
    known: dict[tuple[str, int], int] = {} if state is None else state.alert_positions
    return {tp: known.get(tp, 0) for tp in partitions}
