"""A fast path for :func:`schemas.parse.parse_event`: plain, valid events built without pydantic validation.

:func:`fast_event` reads the bytes with ``orjson.loads`` and checks the fields of usage, ticket and
account events by hand, with the rules of the models (``schemas/events.py``, ``schemas/_types.py``)
and of ``schemas/_time.py``. When every field is plainly valid it builds the model as pydantic stores
one (``__dict__`` in field order, ``model_fields_set``, no extra, no private): the event is equal in
every respect to what ``EVENT_ADAPTER.validate_json`` gives. Otherwise it returns ``None`` and the
caller takes the pydantic path, which owns every rejection and its message: the fast path never rejects.

It declines (and pydantic decides) anything ``orjson`` refuses (``NaN``, ``1e400``, lone surrogates,
invalid UTF-8...), a top level that is not an object, a ``type`` other than ``usage``, ``ticket`` and
``account`` (releases are rare), a ``schema_version`` other than the integer 1, counts and seats sent as
floats (``5.0``), ``mrr`` integers beyond 2**53, unknown fields nested deeper than
:data:`MAX_EXTRA_DEPTH` (pydantic's parser stops at 200 levels, orjson's at 1024), renewal dates not
written ``YYYY-MM-DD``, and every invalid value.

Examples
--------
>>> event = fast_event(b'{"type": "usage", "account_id": "acme", "count": 4, "time": "2026-03-02T14:05:00Z"}')
>>> type(event).__name__, event.count, event.ts, sorted(event.model_fields_set)
('UsageEvent', 4, 1772460300.0, ['account_id', 'count', 'time', 'type'])
>>> fast_event(b'{"type": "usage", "account_id": "acme", "count": 4.0, "time": 1772460300}') is None
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import BaseModel

from schemas._time import _EARLIEST_S, _LATEST_S, EARLIEST, LATEST, UTC, parse_event_time
from schemas._types import MAX_COUNT, MAX_ID_LENGTH, MAX_LABEL_LENGTH
from schemas.events import AccountEvent, Event, TicketEvent, UsageEvent

__all__ = ["MAX_EXTRA_DEPTH", "fast_event"]

MAX_EXTRA_DEPTH = 64
"""Unknown fields nested deeper than this go to the pydantic path, which owns the 200-level limit."""

_MISSING = object()
_SEVERITIES = frozenset(("low", "normal", "high", "urgent"))
_SUBJECT_LENGTH = 1024  # text(1024) in schemas.events: cut, not refused
_MAX_EXACT_FLOAT_INT = 2**53
# The canonical producer form; _time's own regex accepts it, then fromisoformat(text).astimezone(UTC),
# which for a "Z" time is the datetime fromisoformat returns.
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.ASCII).fullmatch
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII).fullmatch
_from_iso = datetime.fromisoformat
_from_timestamp = datetime.fromtimestamp
_new = object.__new__
# Pydantic keeps a model's state in four slots of BaseModel; model_construct sets them the same way.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _event_time(value: Any) -> datetime | None:
    """The aware UTC datetime ``parse_event_time`` gives for ``value``, or ``None`` if it raises."""
    kind = type(value)
    if kind is int:
        if _EARLIEST_S <= value < _LATEST_S:  # epoch seconds: _from_epoch's own steps
            return _from_timestamp(value, UTC)
    elif kind is str:
        if _CANONICAL_TIME(value) is not None:
            try:
                dt = _from_iso(value)
            except ValueError:
                return None
            return dt if EARLIEST <= dt < LATEST else None
    elif kind is not float:
        return None  # bool, None, list, dict: the pydantic path says why
    try:
        return parse_event_time(value)
    except (ValueError, OverflowError):  # InvalidTimeError is a ValueError
        return None


def _is_id(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_ID_LENGTH and not value.isspace()


def _is_label(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_LABEL_LENGTH and not value.isspace()


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT


def _is_text(value: Any) -> bool:
    return type(value) is str


def _is_date(value: Any) -> bool:
    if type(value) is not str or _ISO_DATE(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _shallow(value: Any, levels: int) -> bool:
    """Whether ``value`` nests at most ``levels`` lists or objects."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return True
    items = value.values() if kind is dict else value
    return levels > 0 and all(_shallow(item, levels - 1) for item in items)


def _optional(data: dict[str, Any], name: str, check: Callable[[Any], bool], fields: set[str]) -> Any:
    """The value of an optional field defaulting to ``None``, or ``_MISSING`` if it is invalid."""
    value = data.get(name, _MISSING)
    if value is _MISSING:
        return None
    fields.add(name)
    return value if value is None or check(value) else _MISSING


def _plain(data: dict[str, Any], fields: set[str], known: int = 0) -> bool:
    """Whether ``schema_version`` is absent or 1 and the unknown fields nest shallowly enough to ignore.

    ``known`` counts the keys of ``data`` that are known but not field names (``created_at``).
    """
    version = data.get("schema_version", _MISSING)
    if version is not _MISSING:
        fields.add("schema_version")
        if type(version) is not int or version != 1:
            return False
    return len(data) == len(fields) + known or all(_shallow(v, MAX_EXTRA_DEPTH) for v in data.values())


def _make(cls: type[BaseModel], values: dict[str, Any], fields_set: set[str]) -> Any:
    event = _new(cls)
    _set_dict(event, values)
    _set_fields(event, fields_set)
    _set_extra(event, None)
    _set_private(event, None)
    return event


def _usage(data: dict[str, Any]) -> UsageEvent | None:  # 90% of events: the helpers inlined
    account_id, time, count = data.get("account_id"), _event_time(data.get("time")), data.get("count", 1)
    if time is None or type(account_id) is not str or not 0 < len(account_id) <= MAX_ID_LENGTH:
        return None
    if account_id.isspace() or type(count) is not int or not 0 <= count <= MAX_COUNT:
        return None
    fields = {"type", "account_id", "time", "count"} if "count" in data else {"type", "account_id", "time"}
    if "feature" in data:
        fields.add("feature")
        if (feature := data["feature"]) is not None and not _is_label(feature):
            return None
    else:
        feature = None
    if "schema_version" in data:
        fields.add("schema_version")
        if type(version := data["schema_version"]) is not int or version != 1:
            return None
    if len(data) != len(fields) and not _plain(data, fields):
        return None
    event = _new(UsageEvent)  # _make
    _set_dict(event, {"type": "usage", "schema_version": 1, "account_id": account_id, "feature": feature,
                      "count": count, "time": time})  # fmt: skip
    _set_fields(event, fields)
    _set_extra(event, None)
    _set_private(event, None)
    return event


def _ticket(data: dict[str, Any]) -> TicketEvent | None:
    ticket_id, account_id, feature = data.get("ticket_id"), data.get("account_id"), data.get("feature")
    both_times = "time" in data and "created_at" in data
    time = _event_time(data["time"] if "time" in data else data.get("created_at"))  # the alias order
    if time is None or not (_is_id(ticket_id) and _is_id(account_id) and _is_label(feature)):
        return None
    fields = {"type", "ticket_id", "account_id", "feature", "time", "severity"}
    if "severity" not in data:
        fields.discard("severity")
    severity = data.get("severity", "normal")
    subject = _optional(data, "subject", _is_text, fields)
    channel = _optional(data, "channel", _is_label, fields)
    if type(severity) is not str or severity not in _SEVERITIES or _MISSING in (subject, channel):
        return None
    if not _plain(data, fields, both_times):
        return None
    values = {"type": "ticket", "schema_version": 1, "ticket_id": ticket_id, "account_id": account_id,
              "feature": feature, "severity": severity, "subject": subject and subject[:_SUBJECT_LENGTH],
              "channel": channel, "time": time}  # fmt: skip
    return _make(TicketEvent, values, fields)


def _account(data: dict[str, Any]) -> AccountEvent | None:
    account_id, seats, tier = data.get("account_id"), data.get("seats"), data.get("tier")
    mrr, time = data.get("mrr"), _event_time(data.get("time"))
    if type(mrr) is int and -_MAX_EXACT_FLOAT_INT < mrr < _MAX_EXACT_FLOAT_INT:
        mrr = float(mrr)  # strict float takes JSON integers, as floats
    if type(mrr) is not float or not (mrr >= 0 and math.isfinite(mrr)) or time is None:
        return None
    if not (_is_id(account_id) and _is_count(seats) and _is_label(tier)):
        return None
    fields = {"type", "account_id", "mrr", "seats", "tier", "time"}
    seats_used = _optional(data, "seats_used", _is_count, fields)
    renewal = _optional(data, "renewal_date", _is_date, fields)
    owner = _optional(data, "owner", _is_id, fields)
    if _MISSING in (seats_used, renewal, owner) or not _plain(data, fields):
        return None
    values = {"type": "account", "schema_version": 1, "account_id": account_id, "mrr": mrr, "seats": seats,
              "seats_used": seats_used, "tier": tier, "renewal_date": renewal and date.fromisoformat(renewal),
              "owner": owner, "time": time}  # fmt: skip
    return _make(AccountEvent, values, fields)


_BUILDERS = {"usage": _usage, "ticket": _ticket, "account": _account}


def fast_event(raw: bytes) -> Event | None:
    """The event in ``raw`` if it is plainly valid, else ``None`` (then only pydantic can tell).

    Parameters
    ----------
    raw
        One message, within the size limit, without a leading byte order mark.

    Returns
    -------
    Event or None
        An event equal to what ``EVENT_ADAPTER.validate_json(raw)`` returns (same model, field values
        and ``model_fields_set``), or ``None`` when the fast path declines: never a wrong event.

    Examples
    --------
    >>> fast_event(b'{"type": "ticket", "ticket_id": "T-1", "account_id": "acme", "feature": "sso",'
    ...            b' "created_at": 1772460300000, "priority": "p1"}').severity
    'normal'
    >>> fast_event(b'{"type": "usage", "account_id": " ", "time": 1772460300}') is None  # blank id
    True
    >>> fast_event(b'[1, 2]') is None, fast_event(b'{"type": "usage", "time": NaN}') is None
    (True, True)
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    kind = data.get("type")
    build = _BUILDERS.get(kind) if type(kind) is str else None
    return None if build is None else build(data)
