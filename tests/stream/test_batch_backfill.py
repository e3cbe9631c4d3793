"""Batch ingest during a backfill, without Kafka: a partition marked caught up is marked behind again when
another one races ahead with fresh records, so the detection merge waits for it and the engine learns the
sequence of replay."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import namedtuple

import pytest
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from detectors.engine import DetectionEngine
from schemas.parse import parse_event
from sim.replay import replay
from stream.batch_ingest import BatchIngest
from stream.config import load_settings
from stream.counters import DeadLetterLog, EventCounters
from stream.detection import DetectionStage
from stream.forward import ForwardedRecord, ForwardingSink
from stream.ingest import RecordHandler
from stream.metrics import WorkerMetrics
from tests.stream.test_batch_alignment import TransactionLog
from tests.stream.worker_support import alert_signature, simulated_lines

Record = namedtuple("Record", "offset key value timestamp")  # timestamp: produce time, epoch ms
P0, P1 = TopicPartition("ev", 0), TopicPartition("ev", 1)


class BackfillConsumer:
    """Two partitions whose records become fetchable when the test says so (``visible``)."""

    def __init__(self, logs: dict[TopicPartition, list[Record]]) -> None:
        self.logs = logs
        self.visible = dict.fromkeys(logs, 0)
        self.position = dict.fromkeys(logs, 0)

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def highwater(self, tp: TopicPartition) -> int:
        return self.visible[tp]

    async def getmany(self, *partitions, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        out = {}
        for tp in partitions or self.logs:
            start, end = self.position[tp], min(self.visible[tp], self.position[tp] + (max_records or 10**9))
            if end > start:
                out[tp], self.position[tp] = self.logs[tp][start:end], end
        return out


def _logs(lines: list[bytes], split_ts: float) -> tuple[dict[TopicPartition, list[Record]], dict]:
    """``lines`` over two partitions by account; records before ``split_ts`` produced an hour ago (the
    backlog), the rest a minute from now, after the backlog is read (the backfill). Also how many
    records of each partition are old."""
    old, new = int((time.time() - 3600) * 1000), int((time.time() + 60) * 1000)
    logs: dict[TopicPartition, list[Record]] = {P0: [], P1: []}
    for line in lines:
        event = parse_event(line)
        key = (getattr(event, "account_id", None) or "").encode() or line
        log = logs[(P0, P1)[zlib.crc32(key) % 2]]
        ts = event.ts
        log.append(Record(len(log), key, line, old if ts < split_ts else new))
    first_new = {tp: next((r.offset for r in log if r.timestamp == new), len(log))
                 for tp, log in logs.items()}  # fmt: skip
    return logs, first_new


def _backfill(lines: list[bytes], *, mark_behind: bool) -> tuple[list, list[ForwardedRecord], DetectionStage]:
    """The backlog read to its end, then the backfill of p0 read before p1's is fetched."""
    times = sorted(parse_event(line).ts for line in lines)
    logs, first_new = _logs(lines, split_ts=times[len(times) // 2])
    settings = load_settings(environ={"SPIKEWATCH_WORKER__APP_ID": "unit", "SPIKEWATCH_TOPICS__INPUT": "ev",
                                      "SPIKEWATCH_TOPICS__PARTITIONS": "2"})  # fmt: skip
    table: dict = {}
    metrics = WorkerMetrics(CollectorRegistry())
    forwarding = ForwardingSink(EventCounters(table))
    handler = RecordHandler(forwarding, metrics, dead_letters=DeadLetterLog(table))
    now = 0.0  # the ingest stage's monotonic clock, moved by the test
    ingest = BatchIngest(settings, handler, table, forwarding=forwarding, metrics=metrics,
                         detect_topic="unit.detection", max_records=400, align_window=120,
                         idle_after=2.0, clock=lambda: now)  # fmt: skip
    ingest.alignment = None  # read what is fetched, as a worker whose partitions are all caught up does
    if not mark_behind:  # the ingest stage as it was before partitions could be marked behind
        ingest._mark_behind_before = lambda *_args, **_kwargs: []
    consumer, producer = BackfillConsumer(logs), TransactionLog()
    ingest._consumer, ingest._producer = consumer, producer
    ingest.highwater = lambda topic, partition: consumer.highwater(TopicPartition(topic, partition))
    ingest._next = dict.fromkeys(logs, 0)
    stage = DetectionStage(DetectionEngine, sources=[("ev", 0), ("ev", 1)], reorder_horizon=120)
    stage.restore(None)
    alerts: list = []
    markers: list[ForwardedRecord] = []
    applied = 0

    async def read_all(then: float) -> None:
        """Read what is visible now, then mark what is caught up at ``then``."""
        nonlocal applied, now
        while any(consumer.position[tp] < consumer.visible[tp] for tp in logs):
            await ingest.read_once()
        await ingest._mark_caught_up()
        now = then
        await ingest._mark_caught_up()
        for topic, _key, value, headers in producer.committed[applied:]:
            if topic == "unit.detection":
                record = ForwardedRecord.from_headers(headers)
                if record.marker:
                    markers.append(record)
                alerts.extend(stage.apply(applied, headers, value))
        applied = len(producer.committed)

    async def run() -> None:
        consumer.visible = dict(first_new)  # the backlog, then 10 s idle: both caught up
        await read_all(then=10.0)
        consumer.visible[P0] = len(logs[P0])  # the backfill: p0's records are fetched first
        await read_all(then=11.0)  # p1, marked behind a second ago, is not caught up again yet
        consumer.visible[P1] = len(logs[P1])
        await read_all(then=20.0)  # then both are read to their end and idle

    asyncio.run(run())
    return alerts, markers, stage


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return simulated_lines(days=8, accounts=60)


def test_a_partition_overtaken_by_a_backfill_is_waited_for_and_the_alerts_are_those_of_replay(lines):
    alerts, markers, stage = _backfill(lines, mark_behind=True)
    assert ("ev", 1) in {(m.topic, m.partition) for m in markers if not m.caught_up}  # p1 marked behind
    assert stage.state.applied + len(stage.state.merge) == len(lines)
    expected = replay(lines, reorder_horizon=120, finish=False).alerts
    assert alerts and [alert_signature(a) for a in alerts] == [alert_signature(a) for a in expected]


def test_without_the_behind_marker_the_backfill_reaches_the_engine_out_of_order(lines):
    # What the marker prevents: p0's backfill released past p1's backlog end, p1's records learnt late.
    alerts, markers, _stage = _backfill(lines, mark_behind=False)
    assert all(m.caught_up for m in markers)
    expected = replay(lines, reorder_horizon=120, finish=False).alerts
    assert [alert_signature(a) for a in alerts] != [alert_signature(a) for a in expected]


def test_a_backlog_never_marks_a_partition_behind(lines):
    # Records produced before a partition was marked caught up cannot be ones it has yet to fetch.
    ingest = BatchIngest(load_settings(environ={"SPIKEWATCH_WORKER__APP_ID": "unit"}), None, {},
                         forwarding=None, detect_topic="unit.detection",
                         metrics=WorkerMetrics(CollectorRegistry()))  # fmt: skip
    ingest._marked, ingest._caught_up_at, ingest._forwarded_ts = {P1: 10}, {P1: 1000.0}, {P1: 0.0}
    assert ingest._mark_behind_before(P0, 10_000.0, produced=999.0) == []
    assert ingest._mark_behind_before(P0, 60.0, produced=1001.0) == []  # within the window of p1
    [(topic, _key, value, headers)] = ingest._mark_behind_before(P0, 10_000.0, produced=1001.0)
    assert topic == "unit.detection" and value is None
    assert not ForwardedRecord.from_headers(headers).caught_up and P1 not in ingest._marked


def test_a_negative_idle_time_is_refused():
    with pytest.raises(ValueError, match="idle_after"):
        BatchIngest(load_settings(environ={}), None, {}, forwarding=None, detect_topic=None,
                    metrics=WorkerMetrics(CollectorRegistry()), idle_after=-1)  # fmt: skip


def test_a_partition_counts_as_idle_only_once_its_high_watermark_stood_still_for_idle_after():
    now = 0.0
    ingest = BatchIngest(load_settings(environ={}), None, {}, forwarding=None, detect_topic=None,
                         metrics=WorkerMetrics(CollectorRegistry()), idle_after=2.0,
                         clock=lambda: now)  # fmt: skip
    assert not ingest._idle(P0, 100)  # first seen now
    now = 1.5
    assert not ingest._idle(P0, 100)
    now = 2.5
    assert not ingest._idle(P0, 140)  # still being written: read to its end, but not caught up
    now = 4.5
    assert ingest._idle(P0, 140)
