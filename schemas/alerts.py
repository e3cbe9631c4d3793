"""The alert contract: what detectors emit and what lands on the alert topics.

An alert is one emission about one incident or episode. ``dedup_key`` stays the same for the whole
episode (firing → updated → resolved), so Alertmanager and topic consumers group on it; ``alert_id``
names one emission and is a hash of (dedup key, status, event time), so a replay of the same events
produces the same ids and consumers can drop duplicates. ``wall_time`` is the only field that is not a
function of the events.

Examples
--------
>>> alert = Alert(
...     kind="regression", status="firing", severity="critical", pages=True,
...     dedup_key="regression:checkout:2026-03-02T14:05Z",
...     summary="checkout tickets 14 vs 2 expected across 9 accounts after release 4.2.0",
...     feature="checkout", release="4.2.0", release_confidence=0.9, accounts_affected=9,
...     observed=14, expected=2.1, score=11.3, evidence={"sample_ticket_ids": ["T-1", "T-7"]},
...     started_at="2026-03-02T14:05:00Z", event_time="2026-03-02T14:20:00Z",
...     wall_time="2026-03-02T14:20:03Z",
... )
>>> alert.alert_id == make_alert_id(alert.dedup_key, "firing", alert.event_time)
True
>>> alert.topic_suffix
'regression'
>>> Alert.from_json(alert.to_json()) == alert
True
"""

from __future__ import annotations

import hashlib
import math
import sys
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, model_validator

from schemas._time import EventTime, format_event_time, parse_event_time
from schemas._types import Count, Id, Label, SchemaVersion1, text

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATUSES",
    "ALERT_TOPIC_SUFFIX",
    "SEVERITIES",
    "Alert",
    "AlertKind",
    "AlertStatus",
    "Severity",
    "make_alert_id",
]

AlertKind = Literal["regression", "flood", "drift", "churn_risk", "expansion", "anomaly"]
AlertStatus = Literal["firing", "updated", "resolved"]
Severity = Literal["critical", "warning", "info"]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)
ALERT_STATUSES: tuple[str, ...] = get_args(AlertStatus)
SEVERITIES: tuple[str, ...] = get_args(Severity)

ALERT_TOPIC_SUFFIX: dict[str, str] = {
    "regression": "regression",
    "flood": "flood",
    "drift": "drift",
    "churn_risk": "churn-risk",
    "expansion": "expansion",
    "anomaly": "anomaly",
}
"""Kafka topic suffix per alert kind (topic names use dashes, kinds are identifiers)."""


def make_alert_id(dedup_key: str, status: str, event_time: datetime | float | str) -> str:
    """Deterministic id of one alert emission: 16 hex characters of a SHA-256.

    ``event_time`` accepts any form :data:`~schemas.EventTime` accepts; equal instants give equal ids.

    Examples
    --------
    >>> a = make_alert_id("flood:acme", "firing", "2026-03-02T15:05:00+01:00")
    >>> a == make_alert_id("flood:acme", "firing", 1772460300)
    True
    >>> a == make_alert_id("flood:acme", "resolved", 1772460300), len(a)
    (False, 16)
    """
    instant = format_event_time(parse_event_time(event_time))
    digest = hashlib.sha256(f"{dedup_key}\x1f{status}\x1f{instant}".encode())
    return digest.hexdigest()[:16]


def _finite_or_clamped(value: Any) -> Any:
    # A Poisson tail of 0 gives an infinite score and JSON has no infinity: clamp rather than
    # crash the worker on an alert that matters most.
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return math.copysign(sys.float_info.max, value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        try:
            return sorted(value)
        except TypeError:
            return sorted(value, key=repr)
    raise TypeError(f"evidence value of type {type(value).__name__} is not JSON serialisable")


def _plain_json(value: Any) -> Any:
    # Detectors put numpy scalars, datetimes, tuples and sets into evidence; one orjson round trip
    # turns them into plain JSON values so the alert serialises the same everywhere.
    if not isinstance(value, dict):
        return value
    try:
        return orjson.loads(
            orjson.dumps(
                value,
                default=_json_default,
                option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z,
            )
        )
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise ValueError(str(exc)) from None


_Number = Annotated[float | None, BeforeValidator(_finite_or_clamped)]
_Summary = text(1024)


def _now() -> datetime:
    return datetime.now(UTC)


class Alert(BaseModel):
    """One alert emission. ``alert_id`` is filled from dedup key, status and event time when omitted,
    ``wall_time`` from the clock."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)

    schema_version: SchemaVersion1 = 1
    alert_id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: AlertKind
    status: AlertStatus = "firing"
    dedup_key: Annotated[str, Field(min_length=1, max_length=512)]
    severity: Severity
    pages: bool = False
    summary: _Summary
    feature: Label | None = None
    release: Id | None = None
    release_confidence: Annotated[float | None, Field(ge=0, le=1)] = None
    account_id: Id | None = None
    tier: Label | None = None
    accounts_affected: Count | None = None
    observed: _Number = None
    expected: _Number = None
    score: _Number = Field(default=None, description="Higher is more anomalous.")
    evidence: Annotated[dict[str, JsonValue], BeforeValidator(_plain_json)] = Field(default_factory=dict)
    started_at: EventTime
    event_time: EventTime
    wall_time: EventTime = Field(default_factory=_now)

    @model_validator(mode="before")
    @classmethod
    def _fill_alert_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("alert_id"):
            try:
                alert_id = make_alert_id(data["dedup_key"], data.get("status", "firing"), data["event_time"])
            except (KeyError, ValueError):
                return data  # field validation reports the real problem
            data = {**data, "alert_id": alert_id}
        return data

    @property
    def topic_suffix(self) -> str:
        """Suffix of the Kafka topic for this alert's kind (``churn_risk`` → ``churn-risk``)."""
        return ALERT_TOPIC_SUFFIX[self.kind]

    @property
    def ts(self) -> float:
        """Event time of this emission as float epoch seconds."""
        return self.event_time.timestamp()

    def to_json(self) -> bytes:
        """Serialise to compact JSON bytes (times as RFC 3339 ``Z`` strings)."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Alert:
        """Read an alert serialised by :meth:`to_json` (extra fields ignored)."""
        return cls.model_validate_json(data)
