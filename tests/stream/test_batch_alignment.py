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
from stream.batch_ingest import BatchIngest, read_states
from stream.config import load_settings
from stream.counters import DeadLetterLog, EventCounters, partition_entries
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
                         align_window=120, idle_after=0)  # fmt: skip
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
            await ingest.read_once()
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


class SeekingConsumer:
    """One partition read like aiokafka's consumer after an assignment: it starts at the committed offset
    (and may return records from there before the assignment callback ran), and a seek moves it."""

    def __init__(self, tp: TopicPartition, log: list[Record], committed: int) -> None:
        self.tp, self.log, self._committed, self.position = tp, log, committed, committed
        self.meanwhile = None  # a coroutine that runs while the next getmany waits for a fetch

    def assignment(self) -> set[TopicPartition]:
        return {self.tp}

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.log)

    async def committed(self, tp: TopicPartition) -> int:
        return self._committed

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.position = offset

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        self.position = 0

    async def getmany(self, *partitions, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile
        records = self.log[self.position : self.position + (max_records or len(self.log))]
        self.position += len(records)
        return {self.tp: records} if records else {}


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("seek", ["after the fetch", "during the fetch"])
def test_records_fetched_before_the_assignment_sought_back_are_not_counted(monkeypatch, aligned, seek):
    """A worker SIGKILLed mid-transaction holds the state topic's last stable offset back until its
    transaction times out, so a worker restarted meanwhile reads counts older than the committed offset
    and seeks back to where they end. The consumer already fetched from the committed offset: applied on
    top of the older counts, that batch skipped what lies between (the kill/restart test's stall).
    Records the consumer returns after the seek are from the new position, and are counted."""
    settings = load_settings(environ={"SPIKEWATCH_WORKER__APP_ID": "unit", "SPIKEWATCH_TOPICS__INPUT": "ev"})
    tp = TopicPartition("ev", 0)
    line = b'{"type": "usage", "account_id": "a%d", "count": 1, "time": %d}'
    log = [Record(offset, b"a", line % (offset % 7, 1772460300 + offset)) for offset in range(300)]

    def ingest() -> BatchIngest:
        table: dict = {}
        metrics = WorkerMetrics(CollectorRegistry())
        forwarding = ForwardingSink(EventCounters(table))
        handler = RecordHandler(forwarding, metrics, dead_letters=DeadLetterLog(table))
        return BatchIngest(settings, handler, table, forwarding=forwarding, metrics=metrics,
                           detect_topic="unit.detection", max_records=50)  # fmt: skip

    before = ingest()  # the counts of the first 100 records, as the state topic's stable part holds them
    before._handle({tp: log[:100]})
    state = {"next": 100, "entries": partition_entries(before.table, "ev", 0)}

    async def read_states(_settings, partitions, **_kwargs) -> dict:
        return {tp: state}

    monkeypatch.setattr("stream.batch_ingest.read_states", read_states)
    worker = ingest()
    if not aligned:
        worker.alignment = None
    consumer = SeekingConsumer(tp, log, committed=200)  # the transactions of records 100..199 committed
    worker._consumer, worker._producer = consumer, TransactionLog()

    async def run() -> None:
        if seek == "during the fetch":  # the assignment completes while getmany waits
            consumer.meanwhile = worker.assigned([tp])
            first = await worker._fetch()
            assert first and first[tp][0].offset == 100
        else:
            first = await worker._fetch()  # from the committed offset, the assignment not complete
            assert first and first[tp][0].offset == 200
            await worker.assigned([tp])  # counts up to 100: seeks back there
            assert consumer.position == 100
        await worker._apply(first)  # (waited for the assignment's lock)
        for _ in range(100):
            if worker._next[tp] == len(log):
                break
            await worker.read_once()

    asyncio.run(run())
    assert worker._next[tp] == len(log)
    assert worker.counters.totals()["by_type"] == {"usage": len(log)}  # every record once


class StateTopicConsumer:
    """The state topic read committed: a killed worker's transaction, open at offset 1, holds the last
    stable offset there until the broker aborts it (marker at 4, after two polls here); the next worker
    committed its states at 2 and 3 meanwhile."""

    def __init__(self, **_options) -> None:
        state = b'{"next": %d, "entries": {}}'
        self.log = [Record(0, b"ev/0", state % 100), Record(2, b"ev/0", state % 200),
                    Record(3, b"ev/0", state % 300)]  # fmt: skip
        self.polls, self.at = 0, 0

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def assign(self, partitions) -> None:
        pass

    async def seek_to_beginning(self, tp) -> None:
        self.at = 0

    def last_stable_offset(self) -> int:
        return 1 if self.polls < 3 else 5

    async def end_offsets(self, partitions) -> dict:
        return dict.fromkeys(partitions, self.last_stable_offset())  # read_committed: the LSO

    def highwater(self, tp) -> int | None:
        return 5 if self.polls else None  # known once a fetch answered

    async def position(self, tp) -> int:
        return self.at

    async def getmany(self, tp, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        self.polls += 1
        stable = self.last_stable_offset()
        records = [record for record in self.log if self.at <= record.offset < stable]
        self.at = max(self.at, stable)
        return {tp: records} if records else {}


def test_the_counts_read_back_are_the_latest_committed_past_a_killed_workers_open_transaction():
    settings = load_settings(environ={"SPIKEWATCH_WORKER__APP_ID": "unit", "SPIKEWATCH_TOPICS__INPUT": "ev"})
    tp = TopicPartition("ev", 0)
    states = asyncio.run(read_states(settings, [tp], timeout=5, consumer_factory=StateTopicConsumer))
    assert states[tp]["next"] == 300  # not 100, the last state before the open transaction


def test_a_negative_window_is_refused():
    with pytest.raises(ValueError, match="window"):
        ReadAlignment(window=-1)
