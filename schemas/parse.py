"""Bytes in, an event or a :class:`Rejection` out: errors are data, the worker never crashes on input.

Plain, valid events take a fast path (:func:`schemas.fastparse.fast_event`: ``orjson.loads`` and
the models' rules checked by hand, about 4x cheaper than validation). Everything else goes through
pydantic's ``validate_json`` on the raw bytes, the reference path that owns every rule and rejection:
the fast path only ever returns the event this path would return. When validation fails the error
list is read to pick one reason code from the closed set :data:`~schemas.deadletter.REJECT_REASONS`,
which the worker uses as a Prometheus label.

When one message breaks several rules the reason is the most telling one, in this order:
``unsupported_version`` (other errors are likely consequences), ``missing_field``, ``naive_time``,
``negative_count``, ``invalid_field``; ``detail`` lists every error, most telling first.
A message without ``type`` is ``unknown_type`` (field ``type``): it names no event we know.

Rules for hostile or odd input (each class is exercised by ``tests/schemas/test_nasty.py``):

* The size limit is checked on the raw bytes before any parsing (``too_large``).
* Bytes must be UTF-8 (``invalid_utf8``, with the byte offset; UTF-16/32 is named as such). One
  leading UTF-8 byte order mark is skipped, as RFC 8259 allows; anywhere else it is not JSON.
* JSON is RFC 8259 with two leniencies of common encoders: ``NaN``, ``Infinity`` and ``-Infinity``
  are read as numbers (Python's ``json.dumps`` writes them), and then fail every numeric field's
  finiteness check (``invalid_field``) or are ignored in unknown fields. Nesting deeper than 200
  levels or an integer of more than 4300 digits, anywhere in the message, is ``not_json``.
* A key repeated in one object: the last occurrence wins, as in JavaScript, Python, Go and Jackson,
  so every consumer of the original reads the same event. This holds for ``type`` too.
* ``null`` means "absent" only for optional fields without a default (``feature``, ``subject``,
  ``owner``...); in any other field it is ``invalid_field``.
* Unknown fields are ignored, whatever they hold (forward compatibility).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from schemas.deadletter import DeadLetter, RejectReason
from schemas.events import EVENT_ADAPTER, EVENT_TYPES, Event
from schemas.fastparse import fast_event

__all__ = ["DEFAULT_MAX_BYTES", "Rejection", "parse_event", "parse_events"]

DEFAULT_MAX_BYTES = 65536
_MAX_LISTED_ERRORS = 5
_PRIORITY: dict[str, int] = {
    "unsupported_version": 0,
    "missing_field": 1,
    "naive_time": 2,
    "negative_count": 3,
    "invalid_field": 4,
}
_NOT_OBJECT = {"dict_type", "model_type", "model_attributes_type"}
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-32 LE starts with the UTF-16 LE mark


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message is not an event.

    ``reason`` is a code from :data:`~schemas.deadletter.REJECT_REASONS`; ``field`` the dotted path of
    the bad field inside the event (``None`` when the message as a whole is bad); ``detail`` a message
    for a person naming the event type, the field and the rule; ``event_type`` the ``type`` when known.
    """

    reason: RejectReason
    field: str | None
    detail: str
    event_type: str | None = None

    def to_dead_letter(
        self,
        raw: bytes,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        *,
        received_at: datetime | None = None,
    ) -> DeadLetter:
        """The dead letter that keeps ``raw`` with this rejection.

        Examples
        --------
        >>> raw = b'{"type": "usage", "account_id": "acme", "count": -3, "time": 1772460300}'
        >>> letter = parse_event(raw).to_dead_letter(raw, "usage", 2, 1017)
        >>> letter.reason, letter.field, letter.offset, letter.original == raw
        ('negative_count', 'count', 1017, True)
        """
        data: dict[str, Any] = {
            "reason": self.reason,
            "field": self.field,
            "detail": self.detail,
            "event_type": self.event_type,
            "source_topic": topic,
            "partition": partition,
            "offset": offset,
            "original": raw,
        }
        if received_at is not None:
            data["received_at"] = received_at
        return DeadLetter.model_validate(data)


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _reason(error: dict[str, Any]) -> RejectReason:
    kind, path = error["type"], error["loc"][1:]
    if path == ("schema_version",):
        return "unsupported_version"
    if kind == "missing":
        return "missing_field"
    if kind == "naive_time":
        return "naive_time"
    if kind == "greater_than_equal" and path == ("count",):
        return "negative_count"
    return "invalid_field"


def _message(error: dict[str, Any]) -> str:
    msg = error["msg"]
    if error["loc"][1:] == ("time",) and error["type"] == "missing" and error["loc"][0] == "ticket":
        msg += " (time or created_at)"
    return f"{_path(error['loc'])}: {msg}"


def _classify(raw: bytes, errors: list[dict[str, Any]]) -> Rejection:
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            hint = " (starts with a UTF-16/32 byte order mark: send UTF-8)" if raw[:2] in _UTF16_BOMS else ""
            return Rejection("invalid_utf8", None, f"not valid UTF-8: {exc.reason} at byte {exc.start}{hint}")
        return Rejection("not_json", None, first["msg"])
    if kind in _NOT_OBJECT and not first["loc"]:
        return Rejection("not_object", None, "an event must be a JSON object")
    expected = ", ".join(EVENT_TYPES)
    if kind == "union_tag_not_found":
        return Rejection("unknown_type", "type", f"type: Field required (one of {expected})")
    if kind == "union_tag_invalid":
        tag = str(first.get("ctx", {}).get("tag", "?"))[:64]
        return Rejection("unknown_type", "type", f"type: {tag!r} is not one of {expected}")
    ranked = sorted(errors, key=lambda error: _PRIORITY[_reason(error)])  # stable: pydantic order kept
    top = ranked[0]
    listed = [_message(error) for error in ranked[:_MAX_LISTED_ERRORS]]
    if len(ranked) > _MAX_LISTED_ERRORS:
        listed.append(f"(+{len(ranked) - _MAX_LISTED_ERRORS} more)")
    return Rejection(_reason(top), _path(top["loc"][1:]) or None, "; ".join(listed), str(top["loc"][0]))


def parse_event(
    raw: bytes | bytearray | memoryview | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Event | Rejection:
    """Parse one message into an event, or say why not. Never raises on any input.

    Examples
    --------
    >>> parse_event(b'{"type": "usage", "account_id": "acme", "time": 1772460300000}').count
    1
    >>> rejection = parse_event(b'{"type": "ticket", "ticket_id": "T-9", "feature": "sso", "time": 1.7e9}')
    >>> rejection.reason, rejection.field, rejection.detail
    ('missing_field', 'account_id', 'ticket.account_id: Field required')
    >>> parse_event(b'{"type": "usage", "account_id": "acme", "time": "2026-03-02 14:05"}').reason
    'naive_time'
    >>> parse_event(b"\\xff\\xfe").reason
    'invalid_utf8'
    """
    if type(raw) is not bytes or len(raw) > max_bytes:
        raw = _as_bytes(raw, max_bytes)
        if type(raw) is not bytes:
            return raw  # type: ignore[return-value]  # a Rejection
    event = fast_event(raw[3:] if raw.startswith(_UTF8_BOM) else raw)
    return _validate(raw) if event is None else event


def _as_bytes(raw: object, max_bytes: int) -> bytes | Rejection:
    if type(raw) is bytes:
        pass
    elif isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")  # lone surrogates become invalid UTF-8, reported as such
    elif isinstance(raw, bytes | bytearray | memoryview):
        raw = bytes(raw)
    else:
        return Rejection("not_json", None, f"expected bytes, got {type(raw).__name__}")
    if len(raw) > max_bytes:
        return Rejection("too_large", None, f"message of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    return raw


def _validate(raw: bytes) -> Event | Rejection:
    """The reference path: pydantic validation of the raw bytes, and the rejection when it fails."""
    try:
        return EVENT_ADAPTER.validate_json(raw[3:] if raw.startswith(_UTF8_BOM) else raw)
    except ValidationError as exc:
        return _classify(raw, exc.errors(include_url=False, include_input=False))


def _parse_event_slow(
    raw: bytes | bytearray | memoryview | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Event | Rejection:
    """:func:`parse_event` without the fast path (what the fast path is tested against)."""
    raw = _as_bytes(raw, max_bytes)
    return _validate(raw) if type(raw) is bytes else raw  # type: ignore[return-value]


def parse_events(
    lines: Iterable[bytes], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Event | Rejection]:
    """Parse newline-delimited JSON lines (a replay file); blank lines are skipped, not rejected.

    Examples
    --------
    >>> lines = [b'{"type": "release", "version": "4.2.0", "features": ["checkout"], "time": 1772460300}',
    ...          b'', b'{"type": "refund"}']
    >>> [type(result).__name__ for result in parse_events(lines)]
    ['ReleaseEvent', 'Rejection']
    """
    for line in lines:
        if line.strip():
            yield parse_event(line, max_bytes=max_bytes)
