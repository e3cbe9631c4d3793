"""The detection agent of the worker: detection topic in, alerts out, state snapshotted to a table.

Wires :class:`stream.detection.DetectionStage` into a Faust app. The detection topic has one partition;
its table (``{app_id}-detection_state-changelog``) has one partition too and holds the snapshots
(:class:`stream.checkpoint.SnapshotStore`). On the first record after the partition is assigned the
agent restores the latest snapshot, reads the alert ids published since it, and resumes the topic at
the offset it covers. Every ``worker.snapshot_interval`` seconds, at a record boundary where every
alert emitted so far is acknowledged by the broker, it writes a new snapshot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
from faust.types import TP, EventT
from prometheus_client import CollectorRegistry, Counter, Gauge

from detectors.engine import DetectionEngine
from stream.alerts import cloudevent_headers, published_alert_ids
from stream.checkpoint import SnapshotStore, snapshot_spacing
from stream.config import Settings
from stream.detection import DetectionStage, alert_positions_to_read
from stream.ordering import PartitionOrder

__all__ = ["DETECTION_STATE_TABLE", "DetectionMetrics", "add_detection_agent", "detection_topic_name"]

#: Table of detection snapshots, changelog topic ``{app_id}-detection_state-changelog``.
DETECTION_STATE_TABLE = "detection_state"
logger = logging.getLogger(__name__)


async def flush_until_sent(buffer: Any, stopping: Callable[[], bool]) -> bool:
    """Flush Faust's producer ``buffer`` until it is empty, or until ``stopping()``; True if emptied.

    A producer that is shutting down no longer sends what its buffer holds, and Faust's ``flush``
    then returns after a 0.1 s wait with the buffer unchanged: waiting for it to empty would hang the
    worker's shutdown (a SIGTERM while detection wrote its first snapshot did, for 60 s).

    Examples
    --------
    >>> import asyncio
    >>> class Stuck:  # a buffer whose sender has stopped
    ...     size = 3
    ...     async def flush(self):
    ...         await asyncio.sleep(0)
    >>> calls = iter(range(1000))
    >>> asyncio.run(flush_until_sent(Stuck(), stopping=lambda: next(calls) >= 5))
    False
    """
    while buffer.size:
        if stopping():
            return False
        await buffer.flush()
    return True


def detection_topic_name(settings: Settings) -> str:
    """The one-partition topic from the ingest stage to the detection stage."""
    return settings.topics.detection or f"{settings.worker.app_id}.detection"


class DetectionMetrics:
    """Restores, snapshots and progress of the detection stage, in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.restores = Counter(
            "spikewatch_detection_restores", "Detection state restored from a snapshot.", registry=registry
        )
        self.restored_events = Gauge(
            "spikewatch_detection_restored_events",
            "Events the engine had learnt in the snapshot restored last (0: started from scratch).",
            registry=registry,
        )
        self.snapshots = Counter(
            "spikewatch_detection_snapshots", "Snapshots of the detection state written.", registry=registry
        )
        self.snapshot_bytes = Gauge(
            "spikewatch_detection_snapshot_bytes", "Size of the last snapshot written.", registry=registry
        )
        self.snapshot_seconds = Gauge(
            "spikewatch_detection_snapshot_seconds",
            "Wall time the last snapshot took (pickle, compress, write and flush to the changelog).",
            registry=registry,
        )
        self.snapshot_spacing = Gauge(
            "spikewatch_detection_snapshot_spacing_seconds",
            "Wall time until the next snapshot (worker.snapshot_interval, longer when snapshots are slow).",
            registry=registry,
        )
        self.applied_events = Gauge(
            "spikewatch_detection_events", "Events the engine has learnt (restored + new).", registry=registry
        )
        self.next_offset = Gauge(
            "spikewatch_detection_offset", "Next detection-topic offset to apply.", registry=registry
        )
        self.buffered = Gauge(
            "spikewatch_detection_reorder_buffered", "Events held in the reorder buffer.", registry=registry
        )
        self.waiting = Gauge(
            "spikewatch_detection_reorder_waiting",
            "Input partitions with a backlog the reorder buffer waits for (0: it holds only the horizon).",
            registry=registry,
        )
        self.skipped_alerts = Counter(
            "spikewatch_detection_alerts_already_published",
            "Alerts emitted again while replaying after a restore and not published twice.",
            registry=registry,
        )


def add_detection_agent(
    app: faust.App, settings: Settings, *, detect_topic: Any, alert_topics: Mapping[str, Any],
    registry: CollectorRegistry, on_alert: Callable[[Any], None],
    new_engine: Callable[[], DetectionEngine], attach: Callable[[DetectionEngine], None],
    before_restore: Callable[[], Awaitable[Any]] | None = None,
    on_open: Callable[[Any], None] = lambda alert: None,
) -> DetectionStage:  # fmt: skip
    """Add the detection agent and its table to ``app``; returns its stage (for tests and metrics).

    ``on_alert`` is called for each published alert; ``attach`` with every engine the stage starts from
    (new or restored), to hook metrics to it; ``before_restore`` is awaited before each restore (the
    feedback topic is read first, so silences apply from the first record). ``on_open`` is called, after
    a restore, with the latest emission of every incident still open and with every alert the replay
    finds already published, so open-incident metrics come back without a new emission.
    """
    worker, topics = settings.worker, settings.topics
    sources = [(topic, p) for topic in topics.input for p in range(topics.partitions)]
    stage = DetectionStage(new_engine, sources=sources, reorder_horizon=worker.reorder_horizon,
                           max_event_bytes=worker.max_event_bytes)  # fmt: skip
    table = app.Table(DETECTION_STATE_TABLE, partitions=1, help="Snapshots of the detection state.")
    store = SnapshotStore(table)
    metrics = DetectionMetrics(registry)
    alert_partitions = [(t.get_topic_name(), p) for t in alert_topics.values()
                        for p in range(topics.partitions)]  # fmt: skip

    def last_applied() -> dict[TP, int]:
        due = -1 if stage.state is None else stage.state.next_offset - 1
        return {tp: due for tp in app.consumer.assignment()}

    order = PartitionOrder(last_applied)
    source = f"spikewatch/{worker.app_id}"
    last_snapshot = time.monotonic()
    snapshot_every = worker.snapshot_interval
    metrics.snapshot_spacing.set(snapshot_every)

    @app.on_partitions_revoked.connect
    async def forget_detection(app: faust.App, revoked: set[TP], **kwargs: object) -> None:
        if any(tp.topic == detect_topic.get_topic_name() for tp in revoked):
            stage.forget()  # another worker may take it over and move it on
            order.forget()

    async def restore() -> None:
        if before_restore is not None:
            await before_restore()
        snapshot = store.load()
        state = None if snapshot is None else snapshot.state
        positions = alert_positions_to_read(state, alert_partitions)
        published = await published_alert_ids(settings.kafka, positions)
        stage.restore(state, published)
        assert stage.state is not None
        attach(stage.state.engine)
        for alert in stage.open_book().open():
            on_open(alert)  # incidents opened before the snapshot: their page must not lapse
        order.forget()
        if snapshot is None:
            logger.warning("detection starts from scratch (no snapshot); %d alerts on the topics",
                           len(published))  # fmt: skip
            metrics.restored_events.set(0)
            return
        metrics.restores.inc()
        metrics.restored_events.set(stage.state.applied)
        logger.warning(
            "restored detection state: snapshot %d (%d bytes), %d events learnt, resuming at offset %d; "
            "%d alerts published since", snapshot.generation, snapshot.size, stage.state.applied,
            snapshot.offset, len(published),
        )  # fmt: skip

    async def detect_one(event: EventT) -> None:
        nonlocal last_snapshot, snapshot_every
        message = event.message
        if stage.state is None:
            await restore()
        seek_back = order.check(message.tp, message.offset)
        if seek_back is not None:
            await app.consumer.seek(message.tp, seek_back)
            return
        state = stage.state
        assert state is not None
        if message.offset < state.next_offset:
            return  # already in the restored snapshot
        skipped = stage.skipped_alerts
        for alert in stage.apply(message.offset, message.headers, event.value):
            topic = alert_topics[alert.kind]
            headers = cloudevent_headers(alert, source=source)
            delivery = await topic.send(key=alert.dedup_key.encode(), value=alert.to_json(), headers=headers)
            sent = await delivery  # acknowledged before the next snapshot can count it as published
            stage.published(alert, topic=sent.topic, partition=sent.partition, offset=sent.offset)
            on_alert(alert)
        for alert in stage.last_skipped:  # published before the crash: this process's metrics learn it
            on_open(alert)
        if time.monotonic() - last_snapshot >= snapshot_every:
            started = time.monotonic()
            with stage.picklable() as picklable:
                size = store.save(picklable, offset=state.next_offset)
            metrics.snapshots.inc()
            metrics.snapshot_bytes.set(size)
            if not await flush_until_sent(app.producer.buffer, lambda: app.should_stop):
                logger.warning("stopping: the last detection snapshot may not have reached the changelog")
            last_snapshot = time.monotonic()
            took = last_snapshot - started
            snapshot_every = snapshot_spacing(worker.snapshot_interval, took, worker.snapshot_max_share)
            metrics.snapshot_seconds.set(took)
            metrics.snapshot_spacing.set(snapshot_every)
        metrics.skipped_alerts.inc(stage.skipped_alerts - skipped)
        metrics.applied_events.set(state.applied)
        metrics.next_offset.set(state.next_offset)
        metrics.buffered.set(len(state.merge))
        metrics.waiting.set(state.merge.waiting)

    @app.agent(detect_topic, name="detect")
    async def detect(stream: faust.StreamT) -> None:
        """Run the detection engine over the forwarded events and publish its alerts."""
        async for event in stream.events():
            await detect_one(event)

    return stage
