"""Event time: what producers may send and what the detectors get.

Producers send event time as an RFC 3339 / ISO 8601 string *with* an offset (``Z`` or ``+02:00``), or
as epoch seconds or epoch milliseconds. Every form is normalised to an aware UTC :class:`datetime`.
A naive time is rejected rather than guessed: a worker in one time zone reading a producer in another
would shift every event by hours, and seasonality baselines would learn the wrong business hours.

Epoch numbers are told apart by magnitude: a number ``>= 1e11`` is milliseconds, anything smaller is
seconds. ``1e11`` seconds lies in the year 5138 and ``1e11`` milliseconds in 1973, both outside the
accepted range, so no valid time is ambiguous.

Accepted times lie in ``[2000-01-01T00:00Z, 2101-01-01T00:00Z)``; anything else is a unit mix-up
(microseconds, nanoseconds, a zero default) and is rejected.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "EARLIEST",
    "EPOCH_MS_THRESHOLD",
    "LATEST",
    "EventTime",
    "InvalidTimeError",
    "NaiveTimeError",
    "format_event_time",
    "parse_event_time",
]

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)  # exclusive
EPOCH_MS_THRESHOLD = 1e11

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_S = int((EARLIEST - _EPOCH).total_seconds())
_LATEST_S = int((LATEST - _EPOCH).total_seconds())

# Seconds and fraction optional (ISO 8601 allows it); fraction of any length, truncated to microseconds
# (Go and Java producers send nanoseconds).
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2}))?",
    re.ASCII,
)
# The same rule in JSON Schema terms (ECMA regex), for producers in other languages.
# It cannot see impossible days (02-30) or an offset pushing an edge time out of range; the worker can.
JSON_PATTERN = (
    r"^(20\d{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d(\.\d+)?)?([Zz]|[+-]([01]\d|2[0-3]):?[0-5]\d)$"
)


class InvalidTimeError(ValueError):
    """An event time that cannot be read or lies outside the accepted range."""


class NaiveTimeError(InvalidTimeError):
    """An event time without a timezone offset."""


def _check_range(dt: datetime) -> datetime:
    if not EARLIEST <= dt < LATEST:
        raise InvalidTimeError(
            f"time {dt.isoformat()} outside the accepted range [2000-01-01, 2101-01-01) "
            "(epoch numbers >= 1e11 are read as milliseconds, smaller ones as seconds)"
        )
    return dt


def _from_epoch(value: float) -> datetime:
    if not math.isfinite(value):
        raise InvalidTimeError("time must be a finite number")
    seconds = value / 1000 if value >= EPOCH_MS_THRESHOLD else value
    if not _EARLIEST_S <= seconds < _LATEST_S:
        unit = "milliseconds" if value >= EPOCH_MS_THRESHOLD else "seconds"
        raise InvalidTimeError(
            f"epoch time {value!r} read as {unit} lies outside the accepted range [2000-01-01, 2101-01-01)"
            " (numbers >= 1e11 are milliseconds, smaller ones seconds)"
        )
    # Exact to the millisecond: below 2101 a double's error on epoch seconds is under half a microsecond,
    # and fromtimestamp rounds to the nearest microsecond.
    return datetime.fromtimestamp(seconds, UTC)


def _from_string(text: str) -> datetime:
    match = _ISO.fullmatch(text)
    if match is None:
        raise InvalidTimeError(f"time {text[:64]!r} is not an RFC 3339 date-time (e.g. 2026-03-02T14:05:00Z)")
    if match["z"] or match["sign"]:
        try:
            return datetime.fromisoformat(text).astimezone(UTC)  # C fast path for the common forms
        except OverflowError:  # an offset that carries it past year 9999 or before year 1
            raise InvalidTimeError(f"time {text[:64]!r} is out of range") from None
        except ValueError:
            pass  # lower-case t/z, or a real error: the slow path below says which
    year, month, day, hour, minute, second, fraction = match.group(1, 2, 3, 4, 5, 6, 7)
    if match["z"]:
        tz = UTC
    elif match["sign"]:
        offset = timedelta(hours=int(match["oh"]), minutes=int(match["om"]))
        try:
            tz = timezone(-offset if match["sign"] == "-" else offset)
        except ValueError as exc:
            raise InvalidTimeError(f"time {text[:64]!r} has an invalid offset: {exc}") from None
    else:
        raise NaiveTimeError(f"timezone offset required: time {text[:64]!r} has no offset (add Z or +hh:mm)")
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz
        )
    except ValueError as exc:
        raise InvalidTimeError(f"time {text[:64]!r} is not a valid date-time: {exc}") from None
    try:
        return local.astimezone(UTC)
    except OverflowError:
        raise InvalidTimeError(f"time {text[:64]!r} is out of range") from None


def parse_event_time(value: Any) -> datetime:
    """Read an event time and return it as an aware UTC datetime.

    Parameters
    ----------
    value
        RFC 3339 / ISO 8601 string with an offset, epoch seconds or milliseconds (int or float, told
        apart by magnitude: ``>= 1e11`` is milliseconds), or an aware :class:`datetime`.

    Raises
    ------
    NaiveTimeError
        The value carries no timezone offset.
    InvalidTimeError
        Anything else that is not a time in ``[2000-01-01, 2101-01-01)``.

    Examples
    --------
    >>> parse_event_time("2026-03-02T15:05:00+01:00")
    datetime.datetime(2026, 3, 2, 14, 5, tzinfo=datetime.timezone.utc)
    >>> parse_event_time(1772460300) == parse_event_time(1772460300000)
    True
    >>> parse_event_time("2026-03-02T14:05:00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas._time.NaiveTimeError: timezone offset required: time '2026-03-02T14:05:00' has no offset ...
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveTimeError(f"timezone offset required: datetime {value.isoformat()} is naive")
        return _check_range(value.astimezone(UTC))
    if isinstance(value, str):
        return _check_range(_from_string(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value)
    raise InvalidTimeError(f"time must be an RFC 3339 string or epoch number, not {type(value).__name__}")


def format_event_time(dt: datetime) -> str:
    """Format a datetime as an RFC 3339 UTC string ending in ``Z``.

    Microseconds are written only when present, so whole-second times stay short.

    Examples
    --------
    >>> format_event_time(parse_event_time(1772460300.25))
    '2026-03-02T14:05:00.250000Z'
    >>> format_event_time(parse_event_time("2026-03-02T14:05:00Z"))
    '2026-03-02T14:05:00Z'
    """
    dt = dt.astimezone(UTC) if dt.tzinfo is not None else dt
    spec = "microseconds" if dt.microsecond else "seconds"
    return dt.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _validate(value: Any) -> datetime:
    # Custom error types let parse_event map pydantic errors to rejection reasons.
    try:
        return parse_event_time(value)
    except NaiveTimeError as exc:
        raise PydanticCustomError("naive_time", str(exc)) from None
    except InvalidTimeError as exc:
        raise PydanticCustomError("invalid_time", str(exc)) from None


_JSON_SCHEMA_IN = {
    "description": (
        "Event time: RFC 3339 string with offset, or epoch seconds / milliseconds "
        "(numbers >= 1e11 are milliseconds). Naive times are rejected. Range [2000-01-01, 2101-01-01)."
    ),
    "anyOf": [
        {"type": "string", "pattern": JSON_PATTERN},
        {"type": "number", "minimum": _EARLIEST_S, "exclusiveMaximum": _LATEST_S},
        {"type": "number", "minimum": _EARLIEST_S * 1000, "exclusiveMaximum": _LATEST_S * 1000},
    ],
}
_JSON_SCHEMA_OUT = {"type": "string", "format": "date-time", "pattern": JSON_PATTERN}

EventTime = Annotated[
    datetime,
    PlainValidator(_validate),
    PlainSerializer(format_event_time, return_type=str, when_used="json"),
    WithJsonSchema(_JSON_SCHEMA_IN, mode="validation"),
    WithJsonSchema(_JSON_SCHEMA_OUT, mode="serialization"),
]
"""An event time field: accepts the forms of :func:`parse_event_time`, holds an aware UTC datetime,
serialises to JSON as an RFC 3339 ``Z`` string."""
