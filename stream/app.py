"""The Faust application of the ingest worker: topics, tables, the ingest agent and its web pages.

Bytes are read raw from the input topics and parsed by :func:`schemas.parse.parse_event`; a record
that is not a valid event goes to the dead-letter topic with its original bytes, its key and the
reason. Valid events go to one entry point (:class:`stream.counters.EventCounters` today, the detection
engine later). Nothing here runs at import time: :func:`create_app` builds a new app per call.
"""

from __future__ import annotations

import faust
from prometheus_client import CollectorRegistry

from stream.config import KafkaSettings, Settings
from stream.counters import EventCounters
from stream.ingest import RecordHandler
from stream.metrics import WorkerMetrics
from stream.web import register_endpoints

__all__ = ["EVENTS_BY_TYPE_TABLE", "RAW", "TICKETS_BY_FEATURE_TABLE", "create_app", "kafka_credentials"]

#: Codec of every topic the worker reads or writes: bytes in, bytes out, so nothing is lost.
RAW = "raw"
#: Table (and changelog topic ``{app_id}-{name}-changelog``) of valid events by source partition and type.
EVENTS_BY_TYPE_TABLE = "events_by_type"
#: Table of ticket events by source partition and feature.
TICKETS_BY_FEATURE_TABLE = "tickets_by_feature"


def create_app(settings: Settings, *, registry: CollectorRegistry | None = None) -> faust.App:
    """Build the worker's Faust app from ``settings``; metrics go to ``registry`` (a new one if None)."""
    worker = settings.worker
    app = faust.App(
        worker.app_id,
        broker=settings.kafka.broker_url,
        broker_credentials=kafka_credentials(settings.kafka),
        processing_guarantee=worker.processing_guarantee,
        store="memory://",
        datadir=str(worker.state_dir / worker.app_id),
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        web_bind=worker.web_host,
        web_host=worker.web_host,
        web_port=worker.web_port,
        autodiscover=False,
    )
    partitions = settings.topics.partitions
    events_topic = app.topic(
        *settings.topics.input, key_serializer=RAW, value_serializer=RAW, partitions=partitions
    )
    dead_letter_topic = app.topic(
        settings.topics.deadletter, key_serializer=RAW, value_serializer=RAW, partitions=partitions
    )
    table_options = {"partitions": partitions}  # keys and values go through JSON
    counters = EventCounters(
        app.Table(EVENTS_BY_TYPE_TABLE, help="Valid events by source partition and type.", **table_options),
        app.Table(TICKETS_BY_FEATURE_TABLE, help="Tickets by source partition and feature.", **table_options),
    )
    registry = CollectorRegistry() if registry is None else registry
    handler = RecordHandler(counters, WorkerMetrics(registry), max_event_bytes=worker.max_event_bytes)

    @app.agent(events_topic, name="ingest")
    async def ingest(stream: faust.StreamT) -> None:
        """Count valid events; dead-letter everything else, keyed by the original key."""
        async for event in stream.events():
            message = event.message
            letter = handler.handle(event.value, topic=message.topic, partition=message.partition,
                                    offset=message.offset)  # fmt: skip
            if letter is not None:
                await dead_letter_topic.send(key=event.key, value=letter)
            await _drain_changelog(app)

    @app.task
    async def declare_dead_letter_topic() -> None:
        # Only consumed topics are declared by Faust; create this one with the configured partitions
        # rather than leave it to the broker's auto-create defaults on the first rejection.
        await dead_letter_topic.maybe_declare()

    register_endpoints(app, registry, counters)
    return app


async def _drain_changelog(app: faust.App) -> None:
    # Table writes wait in Faust's producer buffer; the offset commit flushes that buffer but gives
    # up after 0.1 s of no progress. Handing them to the Kafka client before the record is acked
    # means a commit never covers a count that is not on its way to the changelog.
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
