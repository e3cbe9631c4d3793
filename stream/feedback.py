"""The feedback topic: people's labels, silences and customer-success actions, compacted by key.

The topic is created with ``cleanup.policy=compact`` so that it keeps, forever and cheaply, the latest
record per :func:`schemas.feedback.feedback_key`: a worker that starts (or restarts) reads it from the
beginning and knows every label and silence still in force, and a label can be changed by sending
another one under the same key.

Examples
--------
>>> parse_duration("90m"), parse_duration("2h"), parse_duration("3d")
(5400.0, 7200.0, 259200.0)
>>> parse_duration("soon")
Traceback (most recent call last):
...
ValueError: 'soon' is not a duration like 30m, 2h or 3d
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.feedback import AlertLabel, CustomerAction, Silence, feedback_key
from stream.config import KafkaSettings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from detectors.engine import DetectionEngine
    from schemas.alerts import Alert
    from stream.config import Settings

__all__ = [
    "FeedbackFeed", "ensure_feedback_topic", "follow_feedback", "follow_feedback_forever", "parse_duration",
    "read_feedback", "send_feedback",
]  # fmt: skip

logger = logging.getLogger(__name__)

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``45s``, ``30m``, ``2h``, ``3d`` or ``1w``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h or 3d")
    return float(match.group(1)) * _UNITS[match.group(2)]


async def ensure_feedback_topic(kafka: KafkaSettings, topic: str, replication_factor: int = 1) -> bool:
    """Create the compacted feedback topic unless it exists; True if this call created it.

    One partition: feedback is a few records a day and every worker reads all of it, in order.
    """
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        config = {"cleanup.policy": "compact"}
        await admin.create_topics([NewTopic(topic, 1, replication_factor, topic_configs=config)])
    except TopicAlreadyExistsError:
        return False
    finally:
        await admin.close()
    return True


async def send_feedback(
    kafka: KafkaSettings, topic: str, feedback: AlertLabel | Silence | CustomerAction
) -> tuple[int, int]:
    """Send one feedback record keyed by :func:`feedback_key`; the (partition, offset) it landed at."""
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        metadata = await producer.send_and_wait(
            topic, feedback.to_json(), key=feedback_key(feedback).encode()
        )
    finally:
        await producer.stop()
    return metadata.partition, metadata.offset


async def read_feedback(
    kafka: KafkaSettings, topic: str, *, idle_polls: int = 3
) -> list[AlertLabel | Silence | CustomerAction]:
    """Every valid feedback record on ``topic`` from the beginning, in order (unreadable ones skipped)."""
    from aiokafka import AIOKafkaConsumer

    from schemas.feedback import FEEDBACK_ADAPTER

    consumer = AIOKafkaConsumer(
        topic, **kafka.client_options(), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    records: list[AlertLabel | Silence | CustomerAction] = []
    try:
        idle = 0
        while idle < idle_polls:
            batches = await consumer.getmany(timeout_ms=1000)
            batch = [record for part in batches.values() for record in part]
            idle = 0 if batch else idle + 1
            for record in batch:
                try:
                    records.append(FEEDBACK_ADAPTER.validate_json(record.value))
                except ValueError:
                    continue  # the CLI validates before sending; a foreign record is not ours to judge
    finally:
        await consumer.stop()
    return records


async def follow_feedback(
    kafka: KafkaSettings,
    topic: str,
    on_record: Callable[[AlertLabel | Silence | CustomerAction], None],
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Apply every feedback record of ``topic`` from the beginning, then keep following it (until cancelled).

    Every worker reads the whole topic (no consumer group): labels and silences are few and every
    worker's detectors need all of them. ``ready`` is set once the records present at start are applied.
    """
    from aiokafka import AIOKafkaConsumer

    from schemas.feedback import FEEDBACK_ADAPTER

    consumer = AIOKafkaConsumer(
        topic, **kafka.client_options(), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", metadata_max_age_ms=5000,
    )  # fmt: skip
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for part in batches.values():
                for record in part:
                    try:
                        feedback = FEEDBACK_ADAPTER.validate_json(record.value)
                    except ValueError:
                        logger.warning(
                            "feedback %s@%d is not a feedback record; skipped", topic, record.offset
                        )
                        continue
                    on_record(feedback)
            if ready is not None and not ready.is_set() and not batches:
                ready.set()
    finally:
        await consumer.stop()


class FeedbackFeed:
    """The feedback topic as a worker holds it: the latest record per key, applied to its engine.

    :func:`follow_feedback` calls :meth:`on_record`; the detection stage calls :meth:`attach` with
    every engine it starts from (new, or restored from a snapshot), which gets every record held so
    far, so labels and silences survive restarts and reach whichever worker runs detection
    (re-applying a record is harmless: :meth:`~detectors.feedback.FeedbackPolicy.apply`). It also
    keeps the release-quality history of the alerts published (:meth:`observe_alert`) and the labels
    read, exported as ``spikewatch_release_incidents{release,label}`` for the ``releases`` most
    recently blamed releases.

    Examples
    --------
    >>> from detectors.engine import DetectionEngine
    >>> from detectors.feedback import FeedbackPolicy
    >>> feed = FeedbackFeed()
    >>> feed.on_record(Silence(scope="all", start=1772668800, end=1772672400, reason="upgrade",
    ...                        time=1772668000))
    >>> engine = DetectionEngine(feedback=FeedbackPolicy())
    >>> feed.attach(engine)
    >>> engine.feedback.state_size, len(feed)
    (1, 1)
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, releases: int = 50) -> None:
        from detectors.release_quality import ReleaseQuality

        self._records: dict[str, AlertLabel | Silence | CustomerAction] = {}
        self.engine: DetectionEngine | None = None
        self.ready = asyncio.Event()
        self.quality = ReleaseQuality(maxlen=releases)
        self._received = None
        if registry is not None:
            from stream.release_metrics import ReleaseIncidentsCollector

            ReleaseIncidentsCollector(self.quality, registry)
            from prometheus_client import Counter, Gauge

            self._received = Counter("spikewatch_feedback_records", "Feedback records read, by type.",
                                     ["type"], registry=registry)  # fmt: skip
            held = Gauge("spikewatch_feedback_held", "Feedback records held (latest per key).",
                         registry=registry)  # fmt: skip
            held.set_function(lambda: len(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def on_record(self, record: AlertLabel | Silence | CustomerAction) -> None:
        """Keep ``record`` (replacing the one under its key) and apply it to the engine, if any."""
        key = feedback_key(record)
        self._records.pop(key, None)
        self._records[key] = record
        if self._received is not None:
            self._received.labels(record.type).inc()
        if isinstance(record, AlertLabel):
            self.quality.apply(record)
        if self.engine is not None and self.engine.feedback is not None:
            self.engine.apply_feedback(record)

    def attach(self, engine: DetectionEngine) -> None:
        """Make ``engine`` the one to feed, and give it every record held so far.

        An engine without a policy (restored from a snapshot taken before feedback existed) gets one.
        """
        from detectors.feedback import FeedbackPolicy

        if getattr(engine, "feedback", None) is None:
            engine.feedback = FeedbackPolicy()
            engine.regression.use_feedback(engine.feedback)
        self.engine = engine
        for record in self._records.values():
            engine.apply_feedback(record)

    def observe_alert(self, alert: Alert) -> None:
        """Note a published alert in the release-quality history (``spikewatch_release_incidents``)."""
        self.quality.observe(alert)

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until the records on the topic at start are held (False after ``timeout`` seconds)."""
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            logger.warning("feedback topic not read within %.0f s: detecting without it for now", timeout)
            return False
        return True


async def follow_feedback_forever(settings: Settings, feed: FeedbackFeed, retry: float = 5.0) -> None:
    """:func:`follow_feedback` of ``settings.topics.feedback`` into ``feed``, again after any error."""
    topic = settings.topics.feedback
    while True:
        try:
            await ensure_feedback_topic(settings.kafka, topic, settings.topics.replication_factor)
            await follow_feedback(settings.kafka, topic, feed.on_record, ready=feed.ready)
        except Exception:  # the broker may be away; detection goes on with the feedback it has
            logger.warning("following feedback topic %s failed; retrying in %.0f s", topic, retry,
                           exc_info=True)  # fmt: skip
            await asyncio.sleep(retry)
