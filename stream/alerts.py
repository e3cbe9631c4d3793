"""Alerts on Kafka: one topic per kind, keyed by dedup key, with CloudEvents headers.

The record value is the alert's JSON (:class:`schemas.Alert`, which carries its schema version); the key
is the dedup key, so a compacted topic keeps the latest emission of every incident and a consumer can
rebuild the set of open alerts from the topic alone (:class:`OpenAlerts`). Headers follow the
CloudEvents Kafka binding in binary mode (``ce_specversion``, ``ce_type``, ``ce_source``, ``ce_id``,
``ce_time``) so generic consumers can route alerts without parsing them.

Examples
--------
>>> topic_for("churn_risk", "spikewatch.alerts.")
'spikewatch.alerts.churn-risk'
>>> alert = Alert(kind="flood", status="firing", severity="warning", dedup_key="flood:acme:1",
...               summary="acme filed 40 tickets in an hour", account_id="acme",
...               started_at="2026-03-02T14:10:00Z", event_time="2026-03-02T15:00:00Z",
...               wall_time="2026-03-02T15:00:01Z")
>>> dict(cloudevent_headers(alert, source="spikewatch/worker-1"))["ce_type"]
b'io.spikewatch.alert.flood.firing'
>>> book = OpenAlerts()
>>> book.apply(alert)
>>> [a.dedup_key for a in book.open()]
['flood:acme:1']
>>> book.apply(alert.model_copy(update={"status": "resolved"}))
>>> book.open()
[]
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from schemas.alerts import ALERT_KINDS, ALERT_TOPIC_SUFFIX, Alert
from schemas.events import SCHEMA_VERSION
from stream.config import KafkaSettings

__all__ = [
    "CLOUDEVENTS_TYPE_PREFIX", "OpenAlerts", "alert_topics", "cloudevent_headers", "published_alert_ids",
    "topic_for",
]  # fmt: skip

#: ``ce_type`` is this prefix, the alert kind and its status, e.g. ``io.spikewatch.alert.regression.firing``.
CLOUDEVENTS_TYPE_PREFIX = "io.spikewatch.alert"


def topic_for(kind: str, prefix: str) -> str:
    """Kafka topic of alerts of ``kind`` under the configured ``prefix``."""
    return prefix + ALERT_TOPIC_SUFFIX[kind]


def alert_topics(prefix: str) -> list[str]:
    """Every alert topic under ``prefix``, one per kind, in a stable order."""
    return [topic_for(kind, prefix) for kind in ALERT_KINDS]


def cloudevent_headers(alert: Alert, *, source: str) -> list[tuple[str, bytes]]:
    """CloudEvents (Kafka binding, binary mode) headers for one alert record."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_type", f"{CLOUDEVENTS_TYPE_PREFIX}.{alert.kind}.{alert.status}".encode()),
        ("ce_source", source.encode()),
        ("ce_id", alert.alert_id.encode()),
        ("ce_time", alert.event_time.isoformat().replace("+00:00", "Z").encode()),
        ("ce_subject", alert.dedup_key.encode()),
        ("ce_dataschema", f"urn:spikewatch:schema:v{SCHEMA_VERSION}:alert".encode()),
        ("content-type", b"application/json"),
    ]


class OpenAlerts:
    """The open alerts of a stream of emissions: what a consumer rebuilds from the alert topics.

    An emission replaces the previous one of the same dedup key; ``resolved`` removes it. Because the
    topics are keyed by dedup key, a compacted topic gives the same answer as the full history.
    """

    def __init__(self) -> None:
        self._open: dict[str, Alert] = {}

    def apply(self, alert: Alert) -> None:
        """Take one emission into account."""
        if alert.status == "resolved":
            self._open.pop(alert.dedup_key, None)
        else:
            self._open[alert.dedup_key] = alert

    def extend(self, alerts: Iterable[Alert]) -> None:
        """Take several emissions into account, in order."""
        for alert in alerts:
            self.apply(alert)

    def open(self) -> list[Alert]:
        """Open alerts, oldest first by the time their incident started."""
        return sorted(self._open.values(), key=lambda a: (a.started_at, a.dedup_key))

    def __len__(self) -> int:
        return len(self._open)


async def published_alert_ids(
    kafka: KafkaSettings, positions: Mapping[tuple[str, int], int], *, timeout: float = 60.0
) -> set[str]:
    """Ids of the alerts on each alert (topic, partition) from its offset in ``positions`` to the end.

    What the detection stage already published after its snapshot: after a restore it skips these when
    the replay of the records since the snapshot emits them again.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    partitions = {TopicPartition(topic, part): offset for (topic, part), offset in positions.items()}
    if not partitions:
        return set()
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False,
                                auto_offset_reset="earliest", isolation_level="read_committed")  # fmt: skip
    await consumer.start()
    found: set[str] = set()
    try:
        consumer.assign(list(partitions))
        ends = await consumer.end_offsets(list(partitions))
        remaining = {tp for tp, offset in partitions.items() if offset < ends[tp]}
        for tp in remaining:
            consumer.seek(tp, partitions[tp])
        deadline = asyncio.get_running_loop().time() + timeout
        while remaining:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"alert topics not read to their end within {timeout} s")
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    found.add(_alert_id(record.headers, record.value))
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            for tp in list(remaining):  # compaction may have removed the last records
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


def _alert_id(headers: Iterable[tuple[str, bytes]] | None, value: bytes | None) -> str:
    for name, content in headers or ():
        if name == "ce_id":
            return content.decode()
    return Alert.from_json(value or b"").alert_id
