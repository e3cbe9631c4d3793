"""spikewatch contracts: events in, alerts and dead letters out (pydantic v2, schema version 1).

``parse_event(bytes)`` returns an event or a :class:`Rejection`; it never raises on input.
JSON Schema files for producers in other languages live in ``schemas/json/``
(regenerate with ``python -m schemas.export``).
"""

from schemas._time import EventTime, format_event_time, parse_event_time
from schemas.alerts import (
    ALERT_KINDS,
    ALERT_STATUSES,
    ALERT_TOPIC_SUFFIX,
    SEVERITIES,
    Alert,
    AlertKind,
    AlertStatus,
    Severity,
    make_alert_id,
)
from schemas.deadletter import REJECT_REASONS, DeadLetter, RejectReason
from schemas.events import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    SCHEMA_VERSION,
    AccountEvent,
    Event,
    EventType,
    ReleaseEvent,
    TicketEvent,
    TicketSeverity,
    UsageEvent,
)
from schemas.parse import Rejection, parse_event, parse_events

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATUSES",
    "ALERT_TOPIC_SUFFIX",
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "REJECT_REASONS",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "AccountEvent",
    "Alert",
    "AlertKind",
    "AlertStatus",
    "DeadLetter",
    "Event",
    "EventTime",
    "EventType",
    "RejectReason",
    "Rejection",
    "ReleaseEvent",
    "Severity",
    "TicketEvent",
    "TicketSeverity",
    "UsageEvent",
    "format_event_time",
    "make_alert_id",
    "parse_event",
    "parse_event_time",
    "parse_events",
]
