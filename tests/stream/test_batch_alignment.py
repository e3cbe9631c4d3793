"""Batch ingest on a backlog, without Kafka: partitions read in step in event time, so the detection
stage's merge holds about two batches of events, not the backlog, and learns the sequence of replay."""

from __future__ import annotations

import asyncio
import zlib
from collections import namedtuple

import orjson
import pytest
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from detectors.engine import DetectionEngine
from sim.replay import replay
from stream.alignment import ReadAlignment
from stream.batch_ingest import BatchIngest
from stream.config import load_settings
from stream.counters import DeadLetterLog, EventCounters
from stream.detection import DetectionStage
from stream.forward import ForwardingSink
from stream.ingest import RecordHandler
from stream.metrics import WorkerMetrics
from tests.stream.worker_support import alert_signature, simulated_lines

Record = namedtuple("Record", "offset key value")
PARTITIONS = 12
MAX_RECORDS = 240  # 20 records per partition and batch: the backlog is ~50 batches


class BacklogConsumer:
    """Reads like aiokafka's consumer on a backlog: each partition's data arrives in large fetches, and
    ``getmany`` drains the partitions in the order their fetches arrived, one before the next."""

    def __init__(self, logs: dict[TopicPartition, list[Record]], fetch: int = 100_000) -> None:
        self.logs, self.fetch = logs, fetch
        self.position = dict.fromkeys(logs, 0)
        self.fetched: dict[TopicPartition, list[Record]] = {}
        self.order = sorted(logs, key=lambda tp: (tp.partition * 7) % PARTITIONS)  # arrival order

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.logs[tp])

    async def end_offsets(self, partitions) -> dict:
        return {tp: len(self.logs[tp]) for tp in partitions}

    async def getmany(self, *partitions, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        for tp in self.order:  # a partition whose fetched data is drained is fetched again
            if tp not in self.fetched and self.position[tp] < len(self.logs[tp]):
                start = self.position[tp]
                self.fetched[tp] = self.logs[tp][start : start + self.fetch]
                self.position[tp] += len(self.fetched[tp])
        drained, room = {}, max_records or 10**9
        for tp in list(self.fetched):
            if partitions and tp not in partitions:
                continue
            drained[tp], self.fetched[tp] = self.fetched[tp][:room], self.fetched[tp][room:]
            if not self.fetched[tp]:
                del self.fetched[tp]
            room -= len(drained[tp])
            if not room:
                break
        return drained

    def done(self) -> bool:
        return not self.fetched and all(self.position[tp] == len(log) for tp, log in self.logs.items())


class TransactionLog:
    """A transactional producer that keeps what each committed transaction sent, in order."""

    def __init__(self) -> None:
        self.committed: list[tuple] = []
        self._open: list[tuple] = []

    async def begin_transaction(self) -> None:
        self._open = []

    async def send(self, topic, key=None, value=None, headers=None):
        self._open.append((topic, key, value, headers))
        delivery = asyncio.get_running_loop().create_future()
        delivery.set_result(None)
        return delivery

    async def send_offsets_to_transaction(self, offsets, group) -> None:
        pass

    async def commit_transaction(self) -> None:
        self.committed.extend(self._open)

    async def abort_transaction(self) -> None:
        self._open = []


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return simulated_lines(days=8, accounts=60)


def _backlog(lines: list[bytes]) -> dict[TopicPartition, list[Record]]:
    """``lines`` keyed by account over 12 partitions, as the bench and a producer would put them."""
    logs: dict[TopicPartition, list[Record]] = {TopicPartition("ev", p): [] for p in range(PARTITIONS)}
    for line in lines:
        key = (orjson.loads(line).get("account_id") or "").encode() or line
        log = logs[TopicPartition("ev", zlib.crc32(key) % PARTITIONS)]
        log.append(Record(len(log), key, line))
    return logs


def _read_backlog(lines: list[bytes], *, aligned: bool) -> tuple[list, int, DetectionStage]:
    """Batch ingest over the backlog, its detection-topic records applied as they commit: the alerts,
    the most events the merge held after any record, and the stage."""
    settings = load_settings(environ={"SPIKEWATCH_WORKER__APP_ID": "unit", "SPIKEWATCH_TOPICS__INPUT": "ev",
                                      "SPIKEWATCH_TOPICS__PARTITIONS": str(PARTITIONS)})  # fmt: skip
    table: dict = {}
    metrics = WorkerMetrics(CollectorRegistry())
    forwarding = ForwardingSink(EventCounters(table))
    handler = RecordHandler(forwarding, metrics, dead_letters=DeadLetterLog(table))
    ingest = BatchIngest(settings, handler, table, forwarding=forwarding, metrics=metrics,
                         detect_topic="unit.detection", max_records=MAX_RECORDS,
                         align_window=120)  # fmt: skip
    if not aligned:  # the ingest stage as it read before partitions were aligned
        ingest.alignment = None
    consumer, producer = BacklogConsumer(_backlog(lines)), TransactionLog()
    ingest._consumer, ingest._producer = consumer, producer
    ingest._next = dict.fromkeys(consumer.logs, 0)
    sources = [("ev", p) for p in range(PARTITIONS)]
    stage = DetectionStage(DetectionEngine, sources=sources, reorder_horizon=120)
    stage.restore(None)
    alerts, held, applied = [], 0, 0

    def detect() -> None:
        nonlocal held, applied
        for topic, _key, value, headers in producer.committed[applied:]:
            if topic == "unit.detection":
                alerts.extend(stage.apply(applied, headers, value))
                held = max(held, len(stage.state.merge))
        applied = len(producer.committed)

    async def run() -> None:
        for _ in range(10_000):
            if consumer.done() and not consumer.fetched:
                break
            batch = await ingest._fetch()
            if batch:
                await ingest._apply(batch)
            if ingest.alignment is not None:
                ingest.alignment.end()
            detect()
        await ingest._mark_caught_up()  # every partition read to its end
        detect()

    asyncio.run(run())
    return alerts, held, stage


def test_a_backlog_read_in_step_keeps_the_merge_small_and_gives_the_alerts_of_replay(lines):
    alerts, held, stage = _read_backlog(lines, aligned=True)
    assert stage.state.applied + len(stage.state.merge) == len(lines)  # every event, once
    assert stage.state.merge.waiting == 0
    assert held <= 3 * MAX_RECORDS, f"the merge held {held} of {len(lines)} events"
    expected = replay(lines, reorder_horizon=120, finish=False).alerts
    assert alerts and [alert_signature(a) for a in alerts] == [alert_signature(a) for a in expected]


def test_read_partition_by_partition_the_merge_holds_the_backlog(lines):
    # What the alignment prevents: one partition drained before the next, so the merge waits for the
    # last one with everything else in memory (same alerts, but nothing learnt until the end).
    alerts, held, _stage = _read_backlog(lines, aligned=False)
    assert held > len(lines) / 2
    expected = replay(lines, reorder_horizon=120, finish=False).alerts
    assert [alert_signature(a) for a in alerts] == [alert_signature(a) for a in expected]


def test_partitions_ahead_wait_and_a_dry_one_stops_holding_the_others():
    align = ReadAlignment(window=60, dry_after=1.0)
    partitions = ["p0", "p1", "p2"]
    behind = {"p0": True, "p1": True, "p2": True}.get
    align.note("p0", 10_000.0)
    align.note("p1", 1_000.0)
    align.note("p2", 1_030.0)
    assert align.due(partitions, behind, now=0.0) == ["p1", "p2"]
    align.begin(["p1", "p2"])  # p1 steps 5,000 s: the next round's window widens to that step
    align.note("p1", 6_000.0)
    align.end()
    assert align.step == 5_000.0
    assert align.due(partitions, behind, now=0.0) == ["p1", "p2"]  # p0 is 8,970 s ahead of p2
    align.note("p2", 9_000.0)
    assert align.due(partitions, behind, now=0.0) == partitions
    # p1 has a backlog by its high watermark but gives nothing (offsets without records): after
    # dry_after seconds it no longer holds the others back
    align.note("p0", 20_000.0)
    align.note("p2", 20_000.0)
    align.polled("p1", 0, now=1.0)
    assert align.due(partitions, behind, now=1.5) == ["p1"]
    assert align.due(partitions, behind, now=2.0) == partitions
    align.polled("p1", 5, now=2.5)  # it gives records again: it counts again
    assert align.due(partitions, behind, now=2.5) == ["p1"]
    align.forget("p1")  # revoked: a partition never read holds the others until it delivers
    assert align.due(partitions, behind, now=3.0) == ["p1"]


def test_a_negative_window_is_refused():
    with pytest.raises(ValueError, match="window"):
        ReadAlignment(window=-1)
