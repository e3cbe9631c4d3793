"""Stage 1 of the worker in batches (``worker.ingest = "batch"``, experimental): input partitions in,
dead letters and packed forwards out, in one Kafka transaction per fetched batch.

Faust's per-message stream path costs about 175 µs of CPU per record on these machines (measured with an
agent that only decodes JSON, ``take_events`` or not: ~5,800 records/s against ~66,000/s for a bare
aiokafka consumer; see BENCHMARKS.md), so the hot path does not go through it. :class:`BatchIngest`
reads the input topics with its own aiokafka consumer (group ``{app_id}-ingest``) in batches, hands
each record to :class:`stream.ingest.RecordHandler` (parse, count, dead letter), and then, in one
transaction: the batch's dead letters, one packed record per source partition on the detection topic
(:func:`stream.forward.pack_batch`), the counts of each partition touched on the compacted state
topic ``{app_id}-ingest-state`` (keyed by source partition, holding the next offset to read), and the
consumer offsets. Either all of a batch's effects are visible or none: a SIGKILL anywhere leaves the
counts, the dead letters and the offsets of the same prefix of every partition.

With detection, the partitions are read in step in event time (:class:`stream.alignment.ReadAlignment`):
each batch takes at most a share of ``max_records`` from each partition not ahead of the slowest one
with a backlog, so the detection stage's reorder merge holds about two batches of events on a backlog
instead of all but the last partition's.

On assignment, a partition's counts are read back from the state topic and the consumer is sought to
the offset they cover (which is also the committed offset, except when someone moved the group's
offsets by hand). A failed transaction is aborted, the batch's partitions go back to their counts
before it and are read again from its first record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream.alignment import ReadAlignment
from stream.config import Settings
from stream.counters import DeadLetterLog, EventCounters, Tally, partition_entries, replace_partition
from stream.detection_agent import detection_topic_name
from stream.forward import ForwardingSink, marker_headers, pack_batch
from stream.ingest import RecordHandler
from stream.metrics import WorkerMetrics

__all__ = ["BatchIngest", "add_batch_ingest", "ingest_group", "state_topic_name"]

logger = logging.getLogger(__name__)
_NEXT = "next"  # key of the next offset to read in a state record


def ingest_group(settings: Settings) -> str:
    """Consumer group of the ingest stage (Faust's own group, ``app_id``, holds the detection topic)."""
    return f"{settings.worker.app_id}-ingest"


def _produced(record: Any) -> float:
    """Wall time (epoch seconds) ``record`` was produced, from its Kafka timestamp; now if it has none."""
    stamp = getattr(record, "timestamp", None)
    return stamp / 1000.0 if stamp is not None and stamp >= 0 else time.time()


def state_topic_name(settings: Settings) -> str:
    """Compacted topic of the ingest counts, one record per source partition and batch."""
    return f"{settings.worker.app_id}-ingest-state"


class BatchIngest:
    """The ingest stage: batches of input records through ``handler``, effects committed atomically.

    Parameters
    ----------
    settings
        Topics, Kafka connection, worker identity.
    handler
        Parses and counts each record; its sink is a :class:`~stream.forward.ForwardingSink` over
        ``counters`` when events go on to detection.
    table
        The mapping ``counters`` and ``dead_letters`` keep their tallies in (plain dict).
    forwarding
        Valid events are packed onto ``detect_topic``; None when the worker does not detect.
    metrics
        Consumer lag and batch handling time.
    max_records
        Most records fetched per batch (one transaction each).
    align_window
        With detection: seconds of event time a partition may read ahead of the slowest one with a
        backlog (:class:`stream.alignment.ReadAlignment`; ``worker.reorder_horizon``).
    idle_after
        Seconds a partition read to its end must have had no new record (its high watermark did not
        move) before it is marked caught up (below). 0 by default: with 2 s, the twenty-SIGKILL drill
        stalled in batch mode (2 runs of 2, not diagnosed), so a backfill can still overtake a
        partition read to the end of a stream still being written.
    clock
        Monotonic seconds, for the idle times (tests pass their own).

    Notes
    -----
    A partition read to its end and idle (nothing new for ``idle_after`` seconds) is marked caught up,
    so the detection merge does not wait for it; one read to the end of a stream still being written is
    not, or the merge would release the other partitions' events past records it has yet to read.
    When another partition then forwards records produced after that moment and more than
    ``align_window`` of event time past what this one forwarded last (a backfill: every partition is
    written at once, and this one's new records may not have been fetched yet), this one is marked
    *behind* first, in the same transaction, and caught up again only once idle again. Otherwise its
    records, older than what the merge already released, would reach the engine late. Records
    produced before (a backlog) never mark a partition behind. Produce times
    are the records' Kafka timestamps: a producer whose clock lags this worker's by more than the
    fetch delay defeats the rule. Only partitions of this worker are marked.
    """

    def __init__(
        self, settings: Settings, handler: RecordHandler, table: MutableMapping[str, Tally], *,
        forwarding: ForwardingSink | None, detect_topic: str | None, metrics: WorkerMetrics,
        max_records: int = 4000, align_window: float = 120.0, idle_after: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        if max_records < 1:
            raise ValueError(f"max_records must be positive, got {max_records}")
        if not idle_after >= 0:
            raise ValueError(f"idle_after must be >= 0, got {idle_after!r}")
        self.align_window = float(align_window)
        self.idle_after = float(idle_after)
        self.clock = clock
        self.settings = settings
        self.handler = handler
        self.table = table
        self.forwarding = forwarding
        self.detect_topic = detect_topic
        self.metrics = metrics
        self.max_records = max_records
        self.counters = EventCounters(table)
        self.dead_letters = DeadLetterLog(table)
        self.batches = 0
        # With detection, partitions are read in step in event time: its merge waits for the slowest.
        self.alignment = ReadAlignment(align_window) if forwarding is not None and detect_topic else None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()  # a batch and a rebalance never interleave
        self._next: dict[TopicPartition, int] = {}  # next offset to read, per assigned partition
        self._marked: dict[TopicPartition, int] = {}  # next offset when a caught-up marker was sent
        self._forwarded_ts: dict[TopicPartition, float] = {}  # latest event time forwarded, per partition
        self._behind_since: dict[TopicPartition, float] = {}  # monotonic time it was last marked behind
        self._caught_up_at: dict[TopicPartition, float] = {}  # wall time it was last marked caught up
        self._highwater_since: dict[TopicPartition, tuple[int, float]] = {}  # last seen, and since when
        # Seeks per partition, and their number when the partition's records in hand were returned:
        # records returned before a seek of their partition are from the old position, never applied.
        self._seeks: dict[TopicPartition, int] = {}
        self._fetched_at: dict[TopicPartition, int] = {}
        self._ready = asyncio.Event()

    # -- life cycle ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Consume until cancelled; every failure of a batch is logged, undone and retried."""
        await self._declare_topics()
        kafka = self.settings.kafka
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(), group_id=ingest_group(self.settings), enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level="read_committed",
            session_timeout_ms=int(self.settings.worker.session_timeout * 1000),
            heartbeat_interval_ms=max(1000, int(self.settings.worker.session_timeout * 1000) // 4),
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )  # fmt: skip
        self._consumer.subscribe(self.settings.topics.input, listener=_Rebalance(self))
        self._producer = self._new_producer()
        await self._consumer.start()
        await self._producer.start()
        self._ready.set()
        try:
            last_marks = time.monotonic()
            while True:
                await self.read_once()
                if self.detect_topic is not None and time.monotonic() - last_marks >= 1.0:
                    last_marks = time.monotonic()
                    await self._mark_caught_up()
        finally:
            self._ready.clear()
            with contextlib.suppress(Exception):
                await self._producer.stop()
            with contextlib.suppress(Exception):
                await self._consumer.stop()

    async def read_once(self) -> None:
        """One round: fetch a batch, apply it in one transaction, and close the alignment's round."""
        batch = await self._fetch()
        if batch:
            await self._apply(batch)
        if self.alignment is not None:
            self.alignment.end()

    def assignment(self) -> set[TopicPartition]:
        """Input partitions this worker reads now."""
        if self._consumer is None or not self._ready.is_set():
            return set()
        return set(self._consumer.assignment())

    def highwater(self, topic: str, partition: int) -> int | None:
        """Last known end offset of an input partition (None before its first fetch)."""
        if self._consumer is None:
            return None
        try:
            return self._consumer.highwater(TopicPartition(topic, partition))
        except (AssertionError, KeyError):  # not assigned (any more)
            return None

    def _new_producer(self) -> AIOKafkaProducer:
        worker = self.settings.worker
        # Stable across restarts of one worker (its host and port), so a restart fences the previous
        # incarnation and aborts its open transaction at once; elsewhere the 15 s timeout aborts it.
        transactional_id = f"{worker.app_id}-ingest-{socket.gethostname()}-{worker.web_port}"
        return AIOKafkaProducer(
            **self.settings.kafka.client_options(), transactional_id=transactional_id,
            enable_idempotence=True, acks="all", linger_ms=0, max_batch_size=1024 * 1024,
            max_request_size=8 * 1024 * 1024, transaction_timeout_ms=15_000,
        )  # fmt: skip

    async def _declare_topics(self) -> None:
        # The input topics with the configured partitions (as Faust does for an agent's topics: a
        # subscription to a missing topic would wait for a metadata refresh), and the state topic.
        topics = self.settings.topics
        admin = AIOKafkaAdminClient(**self.settings.kafka.client_options())
        await admin.start()
        try:
            state = NewTopic(
                state_topic_name(self.settings), 1, topics.replication_factor,
                topic_configs={"cleanup.policy": "compact", "segment.ms": "600000",
                               "min.cleanable.dirty.ratio": "0.1"},
            )  # fmt: skip
            inputs = [NewTopic(name, topics.partitions, topics.replication_factor) for name in topics.input]
            for topic in (state, *inputs):
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics([topic])
        finally:
            await admin.close()

    # -- batches ------------------------------------------------------------------------------------

    async def _fetch(self) -> dict[TopicPartition, list[Any]]:
        """The next batch: any records, or with detection those of partitions in step in event time.

        aiokafka's ``getmany`` drains one partition's fetched data before the next, so on a backlog a
        batch would hold one partition hours of event time ahead of the others, which the detection
        stage's merge must then hold until every other partition catches up. Instead each partition
        due (:meth:`ReadAlignment.due`) gives at most its share of ``max_records``.
        """
        consumer, align = self._consumer, self.alignment
        if align is None:
            return await self._getmany(timeout_ms=200, max_records=self.max_records)
        assigned = consumer.assignment()
        share = max(1, self.max_records // max(1, len(assigned)))
        partitions = [tp for tp in assigned if tp in self._next]
        if not partitions:  # assignment not complete: what comes is dropped by _due, and sought again
            return await self._getmany(timeout_ms=200, max_records=share)
        now = time.monotonic()
        due = align.due(partitions, self._has_backlog, now)
        batch: dict[TopicPartition, list[Any]] = {}
        for tp in due:
            records = (await self._getmany(tp, timeout_ms=0, max_records=share)).get(tp, [])
            align.polled(tp, len(records), now)
            if records:
                batch[tp] = records
        if not batch:
            batch = await self._getmany(*due, timeout_ms=200, max_records=share)
        align.begin(batch)
        return batch

    async def _getmany(self, *partitions: TopicPartition, **options: Any) -> dict[TopicPartition, list[Any]]:
        batch = await self._consumer.getmany(*partitions, **options)
        for tp in batch:  # a seek before this is the consumer's to honour; one after makes them stale
            self._fetched_at[tp] = self._seeks.get(tp, 0)
        return batch

    def _has_backlog(self, tp: TopicPartition) -> bool:
        """Whether ``tp`` has records left to read, as far as the consumer knows (unknown: yes)."""
        highwater = self.highwater(tp.topic, tp.partition)
        next_offset = self._next.get(tp)
        return highwater is None or next_offset is None or next_offset < highwater

    async def _apply(self, batch: dict[TopicPartition, list[Any]]) -> None:
        started = time.perf_counter()
        async with self._lock:
            batch = self._due(batch)
            if not batch:
                return
            before = {tp: partition_entries(self.table, tp.topic, tp.partition) for tp in batch}
            try:
                await self._commit(batch, self._handle(batch))
            except Exception as error:
                await self._undo(batch, before, error)
                return
            for tp, records in batch.items():
                self._next[tp] = records[-1].offset + 1
            self.batches += 1
        handled = sum(len(records) for records in batch.values())
        self.metrics.observe_batch(time.perf_counter() - started, handled)

    def _due(self, batch: dict[TopicPartition, list[Any]]) -> dict[TopicPartition, list[Any]]:
        # Only partitions whose assignment is complete (counts read back, position set), and only
        # records past what is applied: a fetch can return data before the assignment callback ran.
        # Nor records returned before their partition was sought (to where its counts end, which can be
        # before the committed offset the consumer started from): they would skip what lies between.
        due = {}
        for tp, records in batch.items():
            next_offset = self._next.get(tp)
            if next_offset is None or self._fetched_at.get(tp, 0) != self._seeks.get(tp, 0):
                continue
            fresh = [record for record in records if record.offset >= next_offset]
            if fresh:
                due[tp] = fresh
        return due

    def _handle(self, batch: dict[TopicPartition, list[Any]]) -> list[tuple[str, Any, Any, list]]:
        """Run every record through the handler; the sends of the batch, in order."""
        sends: list[tuple[str, Any, Any, list]] = []
        deadletter = self.settings.topics.deadletter
        for tp, records in batch.items():
            values = {}
            for record in records:
                letter = self.handler.handle(record.value, topic=tp.topic, partition=tp.partition,
                                             offset=record.offset)  # fmt: skip
                if letter is not None:
                    sends.append((deadletter, record.key, letter.to_json(), []))
                    self.handler.published(letter)  # the letter commits with the counts, or neither does
                values[record.offset] = record.value
            highwater = self.highwater(tp.topic, tp.partition)
            next_offset = records[-1].offset + 1
            self.metrics.consumer_lag.observe(tp.topic, tp.partition, next_offset=next_offset,
                                              highwater=highwater)  # fmt: skip
            if self.forwarding is not None and self.detect_topic is not None:
                valid = [(offset, values[offset]) for _t, _p, offset in self.forwarding.take()]
                last = self.forwarding.take_last()  # records of a partition come in event-time order
                if last is not None:  # (but for a few minutes' lateness)
                    if self.alignment is not None:
                        self.alignment.note(tp, last.ts)
                    sends.extend(self._mark_behind_before(tp, last.ts, produced=_produced(records[-1])))
                    self._forwarded_ts[tp] = max(last.ts, self._forwarded_ts.get(tp, last.ts))
                if valid:
                    at_end = highwater is not None and next_offset >= highwater
                    caught_up = at_end and self._idle(tp, highwater)
                    value, headers = pack_batch(tp.topic, tp.partition, valid, caught_up=caught_up)
                    sends.append((self.detect_topic, None, value, headers))
                    if caught_up:
                        self._marked[tp] = next_offset
                        self._caught_up_at[tp] = time.time()
            entries = partition_entries(self.table, tp.topic, tp.partition)
            state = {_NEXT: next_offset, "entries": entries}
            sends.append((state_topic_name(self.settings), f"{tp.topic}/{tp.partition}".encode(),
                          orjson.dumps(state), []))  # fmt: skip
        return sends

    async def _commit(self, batch: dict[TopicPartition, list[Any]], sends: Sequence[tuple]) -> None:
        producer = self._producer
        await producer.begin_transaction()
        try:
            deliveries = [await producer.send(topic, key=key, value=value, headers=headers)
                          for topic, key, value, headers in sends]  # fmt: skip
            offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            await producer.send_offsets_to_transaction(offsets, ingest_group(self.settings))
            await producer.commit_transaction()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.abort_transaction()
            raise
        for delivery in deliveries:  # committed: every send is acknowledged; surface an odd failure
            delivery.result()

    async def _undo(self, batch: dict[TopicPartition, list[Any]], before: dict, error: Exception) -> None:
        logger.warning("ingest batch of %d partitions aborted, reading it again: %r", len(batch), error)
        if self.forwarding is not None:
            self.forwarding.take()
            self.forwarding.take_last()
        for tp, entries in before.items():
            replace_partition(self.table, tp.topic, tp.partition, entries)
            self._sought(tp)
            with contextlib.suppress(Exception):
                self._consumer.seek(tp, batch[tp][0].offset)
        await self._restart_producer()
        await asyncio.sleep(0.5)

    async def _restart_producer(self) -> None:
        # A fenced or failed transactional producer cannot go on; a new one re-registers the id.
        with contextlib.suppress(Exception):
            await self._producer.stop()
        while True:
            self._producer = self._new_producer()
            try:
                await self._producer.start()
                return
            except Exception as error:
                logger.warning("ingest producer not ready, retrying: %r", error)
                with contextlib.suppress(Exception):
                    await self._producer.stop()
                await asyncio.sleep(1.0)

    def _idle(self, tp: TopicPartition, highwater: int) -> bool:
        """Whether ``tp``'s high watermark has stayed at ``highwater`` for ``idle_after`` seconds."""
        now = self.clock()
        seen, since = self._highwater_since.get(tp, (None, now))
        if seen != highwater:
            self._highwater_since[tp] = (highwater, now)
            since = now
        return now - since >= self.idle_after

    def _mark_behind_before(
        self, tp: TopicPartition, ts: float, *, produced: float
    ) -> list[tuple[str, Any, Any, list]]:
        """Markers for the partitions marked caught up that ``tp``'s events up to ``ts``, produced at
        ``produced`` (wall time), would overtake."""
        sends: list[tuple[str, Any, Any, list]] = []
        limit = ts - self.align_window
        for other in list(self._marked):
            if other == tp or produced <= self._caught_up_at.get(other, math.inf):
                continue
            if self._forwarded_ts.get(other, -math.inf) < limit:
                del self._marked[other]
                self._behind_since[other] = self.clock()
                at = self._next.get(other, 0)
                marker = marker_headers(other.topic, other.partition, at, caught_up=False)
                sends.append((self.detect_topic, b"behind", None, marker))
        return sends

    async def _mark_caught_up(self) -> None:
        """Tell detection which input partitions have nothing left to read, so it does not wait."""
        async with self._lock:
            due: list[tuple[TopicPartition, int]] = []
            for tp in self._consumer.assignment():
                next_offset = self._next.get(tp)
                if next_offset is None or self._marked.get(tp) == next_offset:
                    continue
                if self.clock() - self._behind_since.get(tp, -math.inf) < self.idle_after:
                    continue  # marked behind a moment ago: give its records time to be fetched
                highwater = self.highwater(tp.topic, tp.partition)
                if highwater is None:
                    with contextlib.suppress(Exception):
                        highwater = (await self._consumer.end_offsets([tp])).get(tp)
                if highwater is not None and next_offset >= highwater and self._idle(tp, highwater):
                    due.append((tp, next_offset))
            if not due:
                return
            try:
                await self._producer.begin_transaction()
                for tp, next_offset in due:
                    await self._producer.send(self.detect_topic, key=b"caught-up",
                                              headers=marker_headers(tp.topic, tp.partition, next_offset))
                await self._producer.commit_transaction()
            except Exception as error:
                logger.warning("caught-up markers not sent this tick: %r", error)
                with contextlib.suppress(Exception):
                    await self._producer.abort_transaction()
                await self._restart_producer()
                return
            now, reached = time.time(), max(self._forwarded_ts.values(), default=-math.inf)
            for tp, next_offset in due:
                self._marked[tp] = next_offset
                self._caught_up_at[tp] = now
                if self._behind_since.pop(tp, None) is not None:
                    # Idle while the others moved on: next time, behind only past where they are now.
                    self._forwarded_ts[tp] = max(reached, self._forwarded_ts.get(tp, -math.inf))

    def _sought(self, tp: TopicPartition) -> None:
        self._seeks[tp] = self._seeks.get(tp, 0) + 1

    # -- rebalances ---------------------------------------------------------------------------------

    async def assigned(self, partitions: Iterable[TopicPartition]) -> None:
        """Read the counts of newly assigned partitions back and resume each where its counts end."""
        async with self._lock:
            partitions = [tp for tp in partitions if tp not in self._next]
            if not partitions:
                return
            states = await read_states(self.settings, partitions)
            for tp in partitions:
                state = states.get(tp)
                replace_partition(self.table, tp.topic, tp.partition, state["entries"] if state else {})
                committed = await self._consumer.committed(tp)
                if state is not None:
                    resume = state[_NEXT]
                    if committed != resume:
                        logger.warning("%s: resuming at %d, committed %s", tp, resume, committed)
                else:  # never counted: offsets are committed only with counts, so from the start
                    resume = 0
                    if committed:
                        logger.warning("%s: resuming at the start, committed %d: no counts", tp, committed)
                self._sought(tp)
                if resume == 0:
                    await self._consumer.seek_to_beginning(tp)  # the earliest kept, maybe past 0
                else:
                    self._consumer.seek(tp, resume)
                self._next[tp] = resume
                self._marked.pop(tp, None)
            self.metrics.ingest_partitions.set(len(self._next))

    async def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop what this worker knew of partitions another may take (after the batch in hand)."""
        async with self._lock:
            for tp in partitions:
                self._next.pop(tp, None)
                for known in (self._marked, self._forwarded_ts, self._behind_since, self._caught_up_at,
                              self._highwater_since):  # fmt: skip
                    known.pop(tp, None)
                if self.alignment is not None:
                    self.alignment.forget(tp)
                replace_partition(self.table, tp.topic, tp.partition, {})
                self.metrics.consumer_lag.forget(tp.topic, tp.partition)
            self.metrics.ingest_partitions.set(len(self._next))


def add_batch_ingest(
    app: faust.App, settings: Settings, handler: RecordHandler, table: MutableMapping[str, Tally], *,
    forwarding: ForwardingSink | None, metrics: WorkerMetrics,
) -> BatchIngest:  # fmt: skip
    """Run the ingest stage in batches as a task of ``app`` (``worker.ingest = "batch"``)."""
    ingest = BatchIngest(
        settings, handler, table, forwarding=forwarding, metrics=metrics,
        detect_topic=detection_topic_name(settings) if forwarding is not None else None,
        max_records=settings.worker.ingest_batch_records, align_window=settings.worker.reorder_horizon,
    )  # fmt: skip
    metrics.consumer_lag.highwater = ingest.highwater

    @app.task
    async def ingest_in_batches() -> None:
        """Read the input topics in batches until the worker stops."""
        await ingest.run()

    return ingest


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, ingest: BatchIngest) -> None:
        self.ingest = ingest

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.ingest.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.ingest.assigned(assigned)


async def read_states(
    settings: Settings, partitions: Iterable[TopicPartition], *, timeout: float = 60.0,
    consumer_factory: Callable[..., AIOKafkaConsumer] = AIOKafkaConsumer,
) -> dict[TopicPartition, dict]:  # fmt: skip
    """The last committed state record of each of ``partitions`` (absent: never counted)."""
    wanted = {f"{tp.topic}/{tp.partition}".encode(): tp for tp in partitions}
    topic = TopicPartition(state_topic_name(settings), 0)
    consumer = consumer_factory(**settings.kafka.client_options(), group_id=None, enable_auto_commit=False,
                                isolation_level="read_committed")  # fmt: skip
    await consumer.start()
    found: dict[TopicPartition, dict] = {}
    try:
        consumer.assign([topic])
        await consumer.seek_to_beginning(topic)
        # To the high watermark of the first fetch, not to the end offset read_committed gives (the last
        # stable offset): a transaction left open by a worker killed mid-batch holds that back until the
        # transaction times out, and the states committed after it began (by the next worker) are the
        # latest. Read only to it, a worker resumes behind the committed offsets and repeats the dead
        # letters and forwards of what it reads again.
        end = None
        deadline = time.monotonic() + timeout
        while end is None or await consumer.position(topic) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"state topic {topic.topic} not read to its end in {timeout:.0f} s")
            for records in (await consumer.getmany(topic, timeout_ms=500, max_records=10_000)).values():
                for record in records:
                    tp = wanted.get(record.key)
                    if tp is not None and record.value is not None:
                        found[tp] = orjson.loads(record.value)
            if end is None:
                end = consumer.highwater(topic)  # None until a fetch answered
    finally:
        await consumer.stop()
    return found
