from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from schemas._time import (
    EARLIEST,
    LATEST,
    EventTime,
    InvalidTimeError,
    NaiveTimeError,
    format_event_time,
    parse_event_time,
)

MOMENT = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
MOMENT_S = int(MOMENT.timestamp())


class Stamped(BaseModel):
    time: EventTime


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-02T14:05:00Z",
        "2026-03-02t14:05:00z",
        "2026-03-02T14:05Z",
        "2026-03-02 14:05:00Z",
        "2026-03-02T15:05:00+01:00",
        "2026-03-02T15:05:00+0100",
        "2026-03-02T09:35:00-04:30",
        "2026-03-02T14:05:00.000Z",
        "2026-03-02T14:05:00.000000000Z",
    ],
)
def test_strings_with_offset_normalise_to_the_same_utc_instant(text):
    parsed = parse_event_time(text)
    assert parsed == MOMENT
    assert parsed.tzinfo is UTC


def test_fraction_beyond_microseconds_is_truncated():
    assert parse_event_time("2026-03-02T14:05:00.123456789Z").microsecond == 123456
    assert parse_event_time("2026-03-02T14:05:00.5Z").microsecond == 500000


@pytest.mark.parametrize("text", ["2026-03-02T14:05:00", "2026-03-02 14:05", "2026-03-02T14:05:00.250"])
def test_strings_without_offset_are_naive(text):
    with pytest.raises(NaiveTimeError, match="timezone offset required"):
        parse_event_time(text)


def test_naive_datetime_is_rejected_and_aware_one_converted():
    with pytest.raises(NaiveTimeError, match="timezone offset required"):
        parse_event_time(datetime(2026, 3, 2, 14, 5))
    local = datetime(2026, 3, 2, 16, 5, tzinfo=timezone(timedelta(hours=2)))
    assert parse_event_time(local) == MOMENT
    assert parse_event_time(local).tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-03-02",
        "1772460300",
        "2026-13-02T14:05:00Z",
        "2026-02-30T14:05:00Z",
        "2026-03-02T25:05:00Z",
        "2026-03-02T14:05:00+24:00",
        " 2026-03-02T14:05:00Z",
        "٢٠٢٦-03-02T14:05:00Z",
    ],
)
def test_malformed_strings_are_invalid_but_not_naive(text):
    with pytest.raises(InvalidTimeError) as info:
        parse_event_time(text)
    assert not isinstance(info.value, NaiveTimeError)


def test_epoch_seconds_and_milliseconds_are_told_apart_by_magnitude():
    assert parse_event_time(MOMENT_S) == MOMENT
    assert parse_event_time(MOMENT_S * 1000) == MOMENT
    assert parse_event_time(MOMENT_S + 0.25) == MOMENT + timedelta(milliseconds=250)
    assert parse_event_time(MOMENT_S * 1000 + 250) == MOMENT + timedelta(milliseconds=250)
    assert parse_event_time(float(MOMENT_S * 1000)) == MOMENT


def test_millisecond_integers_stay_exact():
    ms = MOMENT_S * 1000 + 1
    assert parse_event_time(ms) - MOMENT == timedelta(milliseconds=1)


def test_the_millisecond_threshold_sits_between_two_out_of_range_values():
    with pytest.raises(InvalidTimeError, match="seconds"):
        parse_event_time(1e11 - 1)  # seconds: year 5138
    with pytest.raises(InvalidTimeError, match="milliseconds"):
        parse_event_time(1e11)  # milliseconds: 1973


@pytest.mark.parametrize(
    "value",
    [0, -1, 946684799, 4133980800, 946684799999, 4133980800000, 10**30, 1772460300 * 10**6],
)
def test_numbers_outside_2000_to_2100_are_rejected(value):
    with pytest.raises(InvalidTimeError, match="outside the accepted range"):
        parse_event_time(value)


def test_range_bounds_are_inclusive_then_exclusive():
    assert parse_event_time(EARLIEST) == EARLIEST
    assert parse_event_time("2100-12-31T23:59:59Z") < LATEST
    with pytest.raises(InvalidTimeError):
        parse_event_time(LATEST)
    with pytest.raises(InvalidTimeError):
        parse_event_time("1999-12-31T23:59:59Z")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_rejected(value):
    with pytest.raises(InvalidTimeError, match="finite"):
        parse_event_time(value)


@pytest.mark.parametrize("value", [True, None, [1772460300], {"t": 1}, b"2026-03-02T14:05:00Z"])
def test_other_types_are_rejected(value):
    with pytest.raises(InvalidTimeError):
        parse_event_time(value)


def test_format_is_rfc3339_z_with_microseconds_only_when_present():
    assert format_event_time(MOMENT) == "2026-03-02T14:05:00Z"
    assert format_event_time(MOMENT + timedelta(microseconds=7)) == "2026-03-02T14:05:00.000007Z"
    plus_two = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert format_event_time(plus_two) == "2026-03-02T14:05:00Z"


def test_format_then_parse_round_trips():
    instant = MOMENT + timedelta(microseconds=123456)
    assert parse_event_time(format_event_time(instant)) == instant


def test_field_validates_json_and_serialises_as_z_string():
    stamped = Stamped.model_validate_json(b'{"time": "2026-03-02T15:05:00+01:00"}')
    assert stamped.time == MOMENT
    assert stamped.model_dump_json() == '{"time":"2026-03-02T14:05:00Z"}'
    assert stamped.model_dump()["time"] == MOMENT  # python mode keeps the datetime


def test_field_errors_carry_distinct_types_for_naive_and_invalid():
    with pytest.raises(ValidationError) as naive:
        Stamped.model_validate_json(b'{"time": "2026-03-02T14:05:00"}')
    assert naive.value.errors()[0]["type"] == "naive_time"
    assert "timezone offset required" in naive.value.errors()[0]["msg"]
    with pytest.raises(ValidationError) as invalid:
        Stamped.model_validate_json(b'{"time": 12}')
    assert invalid.value.errors()[0]["type"] == "invalid_time"
