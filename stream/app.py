"""The Faust application of the worker: topics, tables, the ingest and detection agents, web pages.

Stage 1, ingest (the input partitions, shared across the workers of the group): bytes are read raw
and parsed by :func:`schemas.parse.parse_event`; a record that is not a valid event goes to the
dead-letter topic with its original bytes, its key and the reason; valid events are counted
(:class:`stream.counters.EventCounters`) and forwarded to the one-partition detection topic
(:mod:`stream.forward`). Stage 2, detection (:mod:`stream.detection_agent`), runs on whichever worker
holds that partition. Every detecting worker also follows the compacted feedback topic from its start
(:class:`stream.feedback.FeedbackFeed`): labels and silences reach whichever engine detection runs on,
new or restored. Nothing here runs at import time: :func:`create_app` builds a new app per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, MutableMapping

import faust
from faust.types import TP, ConsumerT, EventT
from prometheus_client import CollectorRegistry

from detectors.engine import DetectionEngine
from detectors.feedback import FeedbackPolicy
from schemas.alerts import ALERT_KINDS
from stream.alerts import topic_for
from stream.batch_ingest import BatchIngest, add_batch_ingest
from stream.config import KafkaSettings, Settings
from stream.counters import DeadLetterLog, EventCounters, Tally, record_forwarded, resume_offsets
from stream.detection_agent import add_detection_agent, detection_topic_name
from stream.feedback import FeedbackFeed, follow_feedback_forever
from stream.forward import ForwardAcks, ForwardingSink, forward_headers, marker_headers
from stream.ingest import RecordHandler
from stream.liveness import KafkaLiveness
from stream.metrics import WorkerMetrics
from stream.ordering import PartitionOrder
from stream.web import register_endpoints

__all__ = ["INGEST_STATE_TABLE", "RAW", "create_app", "kafka_credentials"]

#: Codec of every topic the worker reads or writes: bytes in, bytes out, so nothing is lost.
RAW = "raw"
#: Table (changelog topic ``{app_id}-ingest_state-changelog``) of counts by type, feature and dead-letter
#: reason per source partition; one table, so one ordered changelog per source partition.
INGEST_STATE_TABLE = "ingest_state"
logger = logging.getLogger(__name__)
_FEEDBACK_WAIT = 30.0  # seconds detection waits for the feedback topic at (re)start before going on


class _IngestApp(faust.App):
    """A Faust app whose consumer resumes no later than what its table holds.

    Faust's offset commit can run ahead of the records it has really processed: records prefetched
    before a rebalance are skipped yet acknowledged (seen as lost counts after SIGKILL, with
    at_least_once and with exactly_once alike). After each assignment and table recovery, an input
    partition whose committed offset is past :func:`resume_offsets` of the table is sought back
    there; the offsets kept in the table entries skip what was already applied. Within a session,
    :class:`stream.ordering.PartitionOrder` re-reads records that were jumped over.
    """

    ingest_state: MutableMapping[str, Tally] | None = None
    input_topics: frozenset[str] = frozenset()
    forwarding = False  # valid events go on to the detection topic: resume at the first unacknowledged
    #: Created before the consumer subscribes: a topic missing then is ignored until a rebalance, and
    #: one auto-created by the broker on first use gets the broker's partition count.
    declare_first: tuple = ()
    kafka_liveness: KafkaLiveness | None = None
    ingester: BatchIngest | None = None  # with ``worker.ingest = "batch"``

    async def on_first_start(self) -> None:
        await super().on_first_start()
        for topic in self.declare_first:
            await topic.maybe_declare()

    def _new_consumer(self) -> ConsumerT:
        consumer = super()._new_consumer()
        seek_to_committed = consumer.seek_to_committed

        async def seek_to_resume_offsets() -> Mapping[TP, int]:
            committed = dict(await seek_to_committed())
            resume = resume_offsets(self.ingest_state or {}, forwarded=self.forwarding)
            for tp, offset in committed.items():
                if tp.topic in self.input_topics and offset is not None:
                    target = resume.get((tp.topic, tp.partition), 0)
                    if target < offset:
                        # One record back is routine (its second delivery is a no-op); more means the
                        # commit covered records whose updates never reached the changelog.
                        level = logging.WARNING if offset > target + 1 else logging.DEBUG
                        logger.log(level, "%s: resuming at %d, committed %d", tp, target, offset)
                        await consumer.seek(tp, target)
                        committed[tp] = target
            return committed

        consumer.seek_to_committed = seek_to_resume_offsets  # type: ignore[method-assign]

        thread = consumer._thread  # type: ignore[attr-defined]

        async def seek_on_consumer_thread(partition: TP, offset: int) -> None:
            # Faust seeks from the caller's thread while aiokafka's fetcher runs on the consumer thread;
            # a seek landing inside Fetcher.fetched_records crashed restarted workers with a KeyError
            # (robinhood/aiokafka#19). Faust's own seek_wait goes through call_thread; so do these.
            await thread.call_thread(thread.seek, partition, offset)

        consumer._seek = seek_on_consumer_thread  # type: ignore[attr-defined]
        return consumer


def create_app(settings: Settings, *, registry: CollectorRegistry | None = None) -> faust.App:
    """Build the worker's Faust app from ``settings``; metrics go to ``registry`` (a new one if None)."""
    worker = settings.worker
    app = _IngestApp(
        worker.app_id,
        broker=settings.kafka.broker_url,
        broker_credentials=kafka_credentials(settings.kafka),
        processing_guarantee=worker.processing_guarantee,
        broker_session_timeout=worker.session_timeout,
        store="memory://",
        # No standby copies of the tables on other workers: a standby slurping the detection snapshots
        # stalled the stream partitions of its worker (seen with two workers); a worker that takes a
        # partition over restores it from the changelog instead.
        table_standby_replicas=0,
        datadir=str(worker.state_dir / worker.app_id),
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        web_bind=worker.web_host,
        web_host=worker.web_host,
        web_port=worker.web_port,
        # Faust's /router/ and /table/ pages would serve table contents by key: metrics and health only.
        web_router_enabled=False,
        web_tables_enabled=False,
        autodiscover=False,
    )
    partitions = settings.topics.partitions
    events_topic = app.topic(
        *settings.topics.input, key_serializer=RAW, value_serializer=RAW, partitions=partitions
    )
    dead_letter_topic = app.topic(
        settings.topics.deadletter, key_serializer=RAW, value_serializer=RAW, partitions=partitions
    )
    app.input_topics = frozenset(settings.topics.input)
    tallies: MutableMapping[str, Tally]
    if worker.ingest == "faust":
        # Keys and values go through JSON; the memory store is rebuilt from the changelog at each start.
        tallies = app.ingest_state = app.Table(
            INGEST_STATE_TABLE, partitions=partitions, help="Counts and dead letters by source partition."
        )
    else:  # the batch ingest stage keeps them in memory and saves them with each transaction
        tallies = {}
    counters, dead_letters = EventCounters(tallies), DeadLetterLog(tallies)
    registry = CollectorRegistry() if registry is None else registry
    # The switch is a worker setting once stream/config.py has it; until then the default list of 10.
    metrics = WorkerMetrics(registry, top_churn_accounts=worker.metrics_top_churn_accounts)
    metrics.consumer_lag.highwater = lambda topic, partition: app.consumer.highwater(TP(topic, partition))
    engine_health = metrics.watch_engine(DetectionEngine(allowed_lateness=worker.allowed_lateness))

    feedback = FeedbackFeed(registry)

    def attach_engine(engine: DetectionEngine) -> None:  # the window callback is not part of the state
        engine.on_window = engine.regression.on_window = metrics.windows.observe
        engine_health.engine = engine
        feedback.attach(engine)

    forwarding, forwards = ForwardingSink(counters), ForwardAcks()
    detect_topic = app.topic(detection_topic_name(settings), key_serializer=RAW, value_serializer=RAW,
                             partitions=1)  # fmt: skip
    app.forwarding = worker.detect
    if worker.detect:
        app.declare_first = (detect_topic,)
    alert_topics = {
        kind: app.topic(
            topic_for(kind, settings.topics.alert_prefix),
            key_serializer=RAW,
            value_serializer=RAW,
            partitions=partitions,
        )
        for kind in ALERT_KINDS
    }
    handler = RecordHandler(
        metrics.by_tier(forwarding if worker.detect else counters),
        metrics,
        dead_letters=dead_letters,
        max_event_bytes=worker.max_event_bytes,
    )
    if worker.detect:
        add_detection_agent(
            app, settings, detect_topic=detect_topic, alert_topics=alert_topics, registry=registry,
            on_alert=lambda alert: (metrics.observe_alert(alert), feedback.observe_alert(alert)),
            attach=attach_engine,
            on_open=lambda alert: (metrics.alerts.observe(alert), feedback.observe_alert(alert)),
            new_engine=lambda: DetectionEngine(allowed_lateness=worker.allowed_lateness,
                                               feedback=FeedbackPolicy()),
            before_restore=lambda: feedback.wait_ready(_FEEDBACK_WAIT),
        )  # fmt: skip

        @app.task
        async def follow_feedback_topic() -> None:
            """Read the feedback topic from the start, then follow it; every label reaches the engine."""
            await follow_feedback_forever(settings, feedback)

    app.kafka_liveness = KafkaLiveness(settings.kafka.bootstrap, registry)

    @app.timer(2.0)
    async def probe_kafka() -> None:
        """Probe the brokers: the consumer keeps its partitions while they are gone (see /healthz)."""
        await app.kafka_liveness.probe()

    if worker.ingest == "batch":
        app.ingester = add_batch_ingest(app, settings, handler, tallies, metrics=metrics,
                                        forwarding=forwarding if worker.detect else None)  # fmt: skip
    else:
        # TP equals (topic, partition)
        order = PartitionOrder(lambda: resume_offsets(app.ingest_state or {}, forwarded=worker.detect))
        last_read: dict[TP, int] = {}  # offset of the last record handled, per input partition
        marked: dict[TP, int | None] = {}  # last_read when a caught-up marker was sent

        @app.on_partitions_revoked.connect
        async def forget_order(app: faust.App, revoked: set[TP], **kwargs: object) -> None:
            order.forget()  # other workers may move these partitions on before they come back
            for tp in revoked:
                forwards.forget(tp)
                last_read.pop(tp, None)
                marked.pop(tp, None)
                metrics.consumer_lag.forget(tp.topic, tp.partition)

        async def ingest_one(event: EventT) -> None:
            message = event.message
            seek_back = order.check(message.tp, message.offset)
            if seek_back is not None:  # came too early: read the partition again from the offset due
                handler.metrics.observe_reread()
                await app.consumer.seek(message.tp, seek_back)
                return
            coordinates = {"topic": message.topic, "partition": message.partition, "offset": message.offset}
            try:
                highwater = app.consumer.highwater(message.tp)
            except AssertionError:  # revoked by a rebalance while this record was handled: not caught up
                highwater = None
            caught_up = highwater is not None and message.offset + 1 >= highwater
            metrics.consumer_lag.observe(message.topic, message.partition, next_offset=message.offset + 1,
                                         highwater=highwater)  # fmt: skip
            acknowledged = forwards.acknowledged(message.tp)
            if acknowledged is not None:
                record_forwarded(app.ingest_state, topic=message.topic, partition=message.partition,
                                 offset=acknowledged)  # fmt: skip
            letter = handler.handle(event.value, **coordinates)
            if letter is not None:
                delivery = await dead_letter_topic.send(key=event.key, value=letter.to_json())
                await delivery  # acknowledged by the broker before it is noted as sent
                handler.published(letter)
            for topic, partition, offset in forwarding.take() if worker.detect else ():
                headers = forward_headers(topic, partition, offset, caught_up=caught_up)
                forwards.sent(message.tp, offset, await detect_topic.send(value=event.value, headers=headers))
            last_read[message.tp] = message.offset
            await _drain_changelog(app)

        @app.agent(events_topic, name="ingest")
        async def ingest(stream: faust.StreamT) -> None:
            """Count valid events; dead-letter everything else, keyed by the original key."""
            async for event in stream.events():
                started = time.perf_counter()
                await ingest_one(event)
                metrics.observe_handling(time.perf_counter() - started)

        @app.timer(1.0)
        async def mark_caught_up() -> None:
            """Tell the detection stage which input partitions it need not wait for (nothing left to read)."""
            if not worker.detect or not app.consumer.assignment():
                return
            try:
                for tp in list(app.consumer.assignment()):
                    if tp.topic in app.input_topics:
                        await mark_if_caught_up(tp)
            except Exception as error:
                # A timer that raises crashes the whole worker. A rebalance can revoke a partition mid-loop
                # (aiokafka then asserts "Partition is not assigned"): skip this tick, the next one marks.
                logger.warning("caught-up markers skipped this tick: %r", error)

        async def mark_if_caught_up(tp: TP) -> None:
            highwater, last = app.consumer.highwater(tp), last_read.get(tp)
            if highwater is None or (tp in marked and marked[tp] == last):
                return
            if last is None:  # nothing read in this session: caught up only if nothing is there
                earliest = (await app.consumer.earliest_offsets(tp)).get(tp)
                caught_up = earliest is not None and earliest >= highwater
            else:
                caught_up = last + 1 >= highwater
            if caught_up:
                headers = marker_headers(tp.topic, tp.partition, highwater)
                await detect_topic.send(key=b"caught-up", headers=headers)  # Kafka wants a key or a value
                marked[tp] = last

    @app.task
    async def declare_dead_letter_topic() -> None:
        # Only consumed topics are declared by Faust; create this one with the configured partitions
        # rather than leave it to the broker's auto-create defaults on the first rejection.
        await dead_letter_topic.maybe_declare()
        if worker.detect:
            for topic in alert_topics.values():
                await topic.maybe_declare()
            await detect_topic.maybe_declare()

    register_endpoints(app, registry, counters, dead_letters)
    return app


async def _drain_changelog(app: faust.App) -> None:
    # Table writes wait in Faust's producer buffer; the offset commit flushes that buffer but gives
    # up after 0.1 s of no progress. Handing them to the Kafka client before the record is acked
    # keeps commits behind the changelog in the common case; the resume seek covers the rest.
    buffer = app.producer.buffer
    while buffer.size:
        await buffer.flush()


def kafka_credentials(kafka: KafkaSettings) -> faust.types.auth.CredentialsT | None:
    """Faust credentials for the configured security protocol (None for PLAINTEXT)."""
    context = kafka.ssl_context()
    if kafka.security_protocol.startswith("SASL_"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        return faust.SASLCredentials(
            username=kafka.sasl_username, password=password, mechanism=kafka.sasl_mechanism,
            ssl_context=context,
        )  # fmt: skip
    if context is not None:
        return faust.SSLCredentials(context)
    return None
