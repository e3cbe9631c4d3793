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

from collections.abc import Iterable

from schemas.alerts import ALERT_KINDS, ALERT_TOPIC_SUFFIX, Alert
from schemas.events import SCHEMA_VERSION

__all__ = ["CLOUDEVENTS_TYPE_PREFIX", "OpenAlerts", "alert_topics", "cloudevent_headers", "topic_for"]

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
