"""Dead letters: rejected input kept with the reason, never silently dropped.

A dead letter carries the original bytes exactly (base64) so the message can be fixed and replayed,
plus the reason code that the worker also counts in Prometheus (``REJECT_REASONS`` is the closed label
set).

Examples
--------
>>> letter = DeadLetter(
...     reason="missing_field", field="account_id", event_type="ticket",
...     detail="ticket.account_id: Field required", source_topic="tickets", partition=0, offset=42,
...     original=b'{"type": "ticket"}', received_at="2026-03-02T14:05:00Z",
... )
>>> letter.original, letter.original_text
(b'{"type": "ticket"}', '{"type": "ticket"}')
>>> DeadLetter.from_json(letter.to_json()) == letter
True
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from schemas._time import EventTime
from schemas._types import SchemaVersion1, text

__all__ = [
    "MAX_ORIGINAL_BYTES",
    "MAX_ORIGINAL_TEXT",
    "REJECT_REASONS",
    "DeadLetter",
    "RejectReason",
]

RejectReason = Literal[
    "too_large",
    "invalid_utf8",
    "not_json",
    "not_object",
    "unknown_type",
    "missing_field",
    "invalid_field",
    "naive_time",
    "negative_count",
    "unsupported_version",
    "internal_error",
]
"""Why a message was dead-lettered. ``parse_event`` returns all but ``internal_error``, which the worker
uses for a valid record whose handling raised (kept so it can be replayed after a fix)."""
REJECT_REASONS: tuple[str, ...] = get_args(RejectReason)

MAX_ORIGINAL_BYTES = 256 * 1024
"""Originals longer than this are cut (``original_truncated``): a dead letter must still fit in a Kafka
message after base64 (default ``message.max.bytes`` is 1 MiB)."""
MAX_ORIGINAL_TEXT = 4096

_Detail = text(2048)


def _is_base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"original_base64 is not valid base64: {exc}") from None
    return value


def _now() -> datetime:
    return datetime.now(UTC)


class DeadLetter(BaseModel):
    """A rejected message with the reason and its exact original bytes.

    Build it with ``original=<bytes>``: ``original_base64``, ``original_text``, ``original_size`` and
    ``original_truncated`` are derived from it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)

    schema_version: SchemaVersion1 = 1
    reason: RejectReason
    field: str | None = Field(default=None, description="Dotted path of the bad field inside the event.")
    detail: _Detail
    event_type: str | None = Field(default=None, max_length=64)
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    received_at: EventTime = Field(default_factory=_now)
    original_base64: Annotated[str, AfterValidator(_is_base64)]
    original_text: str | None = Field(
        default=None, description="The original as text when valid UTF-8 and at most 4096 characters."
    )
    original_size: Annotated[int, Field(ge=0)]
    original_truncated: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_original(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "original" not in data:
            return data
        data = dict(data)
        raw = bytes(data.pop("original"))
        kept = raw[:MAX_ORIGINAL_BYTES]
        data["original_base64"] = base64.b64encode(kept).decode("ascii")
        data["original_size"] = len(raw)
        data["original_truncated"] = len(kept) < len(raw)
        try:
            as_text = kept.decode("utf-8")
        except UnicodeDecodeError:
            as_text = None
        data["original_text"] = as_text if as_text is not None and len(as_text) <= MAX_ORIGINAL_TEXT else None
        return data

    @property
    def original(self) -> bytes:
        """The original bytes (the first ``MAX_ORIGINAL_BYTES`` when ``original_truncated``)."""
        return base64.b64decode(self.original_base64, validate=True)

    def to_json(self) -> bytes:
        """Serialise to compact JSON bytes."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> DeadLetter:
        """Read a dead letter serialised by :meth:`to_json`."""
        return cls.model_validate_json(data)
