"""The event contract, schema version 1: tickets, usage, releases and accounts.

One JSON object per event, discriminated by ``type``. Unknown extra fields are ignored so producers can
add fields before the worker knows them; a different ``schema_version`` is rejected, because a new
version may change what a known field means.

Examples
--------
>>> event = EVENT_ADAPTER.validate_json(
...     b'{"type": "ticket", "ticket_id": "T-1", "account_id": "acme", "feature": "checkout",'
...     b' "created_at": "2026-03-02T15:05:00+01:00", "priority": "p1"}'
... )
>>> type(event).__name__, event.time.isoformat(), event.ts, event.severity
('TicketEvent', '2026-03-02T14:05:00+00:00', 1772460300.0, 'normal')
>>> event.model_dump_json()
'{"type":"ticket","schema_version":1,"ticket_id":"T-1","account_id":"acme","feature":"checkout","severity":"normal","subject":null,"channel":null,"time":"2026-03-02T14:05:00Z"}'
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from schemas._time import EventTime
from schemas._types import Count, Id, Label, Money, SchemaVersion1, text

__all__ = [
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "AccountEvent",
    "Event",
    "EventType",
    "ReleaseEvent",
    "TicketEvent",
    "TicketSeverity",
    "UsageEvent",
]

SCHEMA_VERSION = 1

EventType = Literal["ticket", "usage", "release", "account"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
TicketSeverity = Literal["low", "normal", "high", "urgent"]

_Subject = text(1024)
_Description = text(4096)
MAX_RELEASE_FEATURES = 256


def _require_type(schema: dict[str, Any]) -> None:
    # `type` has a Python default for convenience, but a producer must send it: the union needs it.
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class _BaseEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=_require_type)

    @property
    def ts(self) -> float:
        """Event time as float epoch seconds, the clock detectors run on."""
        return self.time.timestamp()  # type: ignore[attr-defined]


def _ticket_schema(schema: dict[str, Any]) -> None:
    _require_type(schema)
    # The JSON Schema of an alias choice only names the first alias; spell out `created_at` too.
    schema["properties"]["created_at"] = {**schema["properties"]["time"], "title": "Created At"}
    schema["required"].remove("time")
    schema["anyOf"] = [{"required": ["time"]}, {"required": ["created_at"]}]


class TicketEvent(_BaseEvent):
    """A support ticket was created. ``time`` is its created-at (``created_at`` accepted as alias)."""

    model_config = ConfigDict(json_schema_extra=_ticket_schema)

    type: Literal["ticket"] = "ticket"
    schema_version: SchemaVersion1 = 1
    ticket_id: Id
    account_id: Id
    feature: Label
    severity: TicketSeverity = "normal"
    subject: _Subject | None = None
    channel: Label | None = None
    time: EventTime = Field(validation_alias=AliasChoices("time", "created_at"))


class UsageEvent(_BaseEvent):
    """Product usage by an account: one raw event (``count`` 1) or a pre-aggregated count."""

    type: Literal["usage"] = "usage"
    schema_version: SchemaVersion1 = 1
    account_id: Id
    feature: Label | None = None
    count: Count = 1
    time: EventTime


def _unique(features: list[str]) -> list[str]:
    if len(set(features)) != len(features):
        raise PydanticCustomError("features_not_unique", "List should contain unique features")
    return features


class ReleaseEvent(_BaseEvent):
    """A release shipped, touching ``features``."""

    type: Literal["release"] = "release"
    schema_version: SchemaVersion1 = 1
    version: Id
    features: Annotated[
        list[Label],
        Field(min_length=1, max_length=MAX_RELEASE_FEATURES, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_unique),
    ]
    description: _Description | None = None
    time: EventTime


class AccountEvent(_BaseEvent):
    """A snapshot of an account's commercial state (revenue, seats, tier, renewal, owner)."""

    type: Literal["account"] = "account"
    schema_version: SchemaVersion1 = 1
    account_id: Id
    mrr: Money
    seats: Count
    seats_used: Count | None = None
    tier: Label
    renewal_date: date | None = Field(default=None, strict=True)
    owner: Id | None = None
    time: EventTime


Event = Annotated[TicketEvent | UsageEvent | ReleaseEvent | AccountEvent, Field(discriminator="type")]
"""Any event of the contract, chosen by its ``type``."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
"""Validates and serialises :data:`Event` (``validate_json`` on raw bytes is the fast path)."""
