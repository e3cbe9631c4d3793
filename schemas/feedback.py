"""Feedback from people: labels on alerts, silences declared ahead of time, customer-success actions.

Everything a person says back to spikewatch travels on one compacted feedback topic, as one of three
records discriminated by ``type``:

- ``label``: what an alert turned out to be (``false-alarm``, ``expected``, ``confirmed``,
  ``new-normal``), keyed by the alert's ``dedup_key``; ``expected`` carries ``until``, the end of
  the time during which that feature (or account) should not page;
- ``silence``: a maintenance window declared ahead of time for one feature, one account or all;
- ``action``: where customer success is with a churn-risk alert (``open``, ``contacted``, ``saved``,
  ``lost``), so that prediction → intervention → outcome can be measured.

:func:`feedback_key` gives the Kafka key under which the latest record of each thing is kept (the topic
is compacted, so a label can be changed by sending another one).

Examples
--------
>>> label = FEEDBACK_ADAPTER.validate_python({
...     "type": "label", "dedup_key": "regression:login:2026-03-04T09:10Z", "label": "false-alarm",
...     "note": "load test", "time": "2026-03-04T10:00:00Z"})
>>> feedback_key(label)
'label:regression:login:2026-03-04T09:10Z'
>>> silence = Silence(scope="feature", feature="imports", start="2026-03-05T22:00:00Z",
...                   end="2026-03-06T02:00:00Z", reason="planned migration", time=1772668800)
>>> feedback_key(silence) == f"silence:{silence.silence_id}", silence.covers(feature="imports",
...     account_id=None, at=silence.start.timestamp() + 60)
(True, True)
>>> Silence(scope="feature", start=1772668800, end=1772672400, reason="forgot the feature")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Silence
  Value error, scope 'feature' needs feature ...
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from schemas._time import EventTime, format_event_time
from schemas._types import Id, Label, SchemaVersion1, text

__all__ = [
    "ACTION_STATES",
    "FEEDBACK_ADAPTER",
    "FEEDBACK_LABELS",
    "ActionState",
    "AlertLabel",
    "CustomerAction",
    "Feedback",
    "FeedbackLabel",
    "Silence",
    "feedback_key",
]

FeedbackLabel = Literal["false-alarm", "expected", "confirmed", "new-normal"]
"""What an alert turned out to be (after ThirdEye's anomaly / expected / not an anomaly / new trend)."""
FEEDBACK_LABELS: tuple[str, ...] = get_args(FeedbackLabel)
ActionState = Literal["open", "contacted", "saved", "lost"]
"""Where customer success is with an account flagged at churn risk."""
ACTION_STATES: tuple[str, ...] = get_args(ActionState)

_Note = text(2048)


def _now() -> datetime:
    return datetime.now(UTC)


class _Feedback(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)

    schema_version: SchemaVersion1 = 1
    author: Id | None = Field(default=None, description="Who said so (a person or a tool).")
    note: _Note | None = None
    time: EventTime = Field(default_factory=_now, description="When the feedback was given.")

    def to_json(self) -> bytes:
        """Serialise to compact JSON bytes."""
        return self.model_dump_json().encode()


class AlertLabel(_Feedback):
    """A person's verdict on one alert, keyed by its ``dedup_key``."""

    type: Literal["label"] = "label"
    dedup_key: Annotated[str, Field(min_length=1, max_length=512)]
    label: FeedbackLabel
    until: EventTime | None = Field(
        default=None, description="For 'expected': paging for the alert's feature stays off until then."
    )

    @model_validator(mode="after")
    def _expected_has_until(self) -> AlertLabel:
        if self.label == "expected" and self.until is None:
            raise ValueError("label 'expected' needs until (when paging may resume)")
        return self


class Silence(_Feedback):
    """A window, declared ahead of time, in which matching alerts are recorded but do not page."""

    type: Literal["silence"] = "silence"
    silence_id: Id | None = Field(default=None, description="Stable id; derived from the scope when omitted.")
    scope: Literal["feature", "account", "all"]
    feature: Label | None = None
    account_id: Id | None = None
    start: EventTime
    end: EventTime
    reason: Annotated[str, Field(min_length=1, max_length=512)]

    @model_validator(mode="after")
    def _consistent(self) -> Silence:
        if self.scope == "feature" and self.feature is None:
            raise ValueError("scope 'feature' needs feature")
        if self.scope == "account" and self.account_id is None:
            raise ValueError("scope 'account' needs account_id")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.silence_id is None:
            what = f"{self.scope}\x1f{self.feature}\x1f{self.account_id}\x1f{format_event_time(self.start)}"
            object.__setattr__(self, "silence_id", hashlib.sha256(what.encode()).hexdigest()[:16])
        return self

    def covers(self, *, feature: str | None, account_id: str | None, at: float) -> bool:
        """Whether an alert about ``feature``/``account_id`` at event time ``at`` falls in this silence."""
        if not self.start.timestamp() <= at < self.end.timestamp():
            return False
        if self.scope == "feature":
            return feature == self.feature
        if self.scope == "account":
            return account_id == self.account_id
        return True


class CustomerAction(_Feedback):
    """Customer success's next-action state for a churn-risk alert, keyed by its ``dedup_key``."""

    type: Literal["action"] = "action"
    dedup_key: Annotated[str, Field(min_length=1, max_length=512)]
    action: ActionState


Feedback = Annotated[AlertLabel | Silence | CustomerAction, Field(discriminator="type")]
FEEDBACK_ADAPTER: TypeAdapter[AlertLabel | Silence | CustomerAction] = TypeAdapter(Feedback)


def feedback_key(feedback: AlertLabel | Silence | CustomerAction) -> str:
    """Compaction key: the latest record per key is the one that counts."""
    if isinstance(feedback, Silence):
        return f"silence:{feedback.silence_id}"
    return f"{feedback.type}:{feedback.dedup_key}"
