import dataclasses
import json
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.deadletter import REJECT_REASONS, DeadLetter
from schemas.events import EVENT_TYPES, ReleaseEvent, TicketEvent, UsageEvent
from schemas.parse import Rejection, parse_event, parse_events

T = 1772460300
TICKET = {"type": "ticket", "ticket_id": "T-1", "account_id": "acme", "feature": "checkout", "time": T}
USAGE = {"type": "usage", "account_id": "acme", "count": 3, "time": T}


def rejected(raw, **kwargs):
    result = parse_event(raw, **kwargs)
    assert isinstance(result, Rejection), result
    assert result.reason in REJECT_REASONS
    return result


def test_valid_bytes_give_an_event():
    assert isinstance(parse_event(orjson.dumps(TICKET)), TicketEvent)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda raw: raw.decode()])
def test_bytes_like_and_str_inputs_are_accepted(wrap):
    assert parse_event(wrap(orjson.dumps(USAGE))).count == 3


def test_too_large_is_checked_before_parsing():
    raw = orjson.dumps({**TICKET, "subject": "x" * 200})
    result = rejected(raw, max_bytes=100)
    assert (result.reason, result.field) == ("too_large", None)
    assert str(len(raw)) in result.detail
    assert isinstance(parse_event(raw, max_bytes=len(raw)), TicketEvent)


def test_default_limit_is_64_kib():
    assert rejected(b" " * 65537).reason == "too_large"
    assert rejected(b" " * 65536).reason == "not_json"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe",
        b'{"type": "ticket", "subject": "caf\xe9"}',
        b"\xc3",
        "\ud800".encode("utf-8", "surrogatepass"),
    ],
)
def test_invalid_utf8(raw):
    result = rejected(raw)
    assert result.reason == "invalid_utf8"
    assert "byte" in result.detail


def test_lone_surrogate_in_str_is_invalid_utf8():
    assert rejected('{"type": "usage", "account_id": "\ud800"}').reason == "invalid_utf8"


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"ticket", b'{"type": "usage"} trailing', b"{'type': 'usage'}", b"[" * 5000]
)
def test_not_json(raw):
    assert rejected(raw).reason == "not_json"


@pytest.mark.parametrize("raw", [b"[]", b"[1, 2]", b'"ticket"', b"42", b"null", b"true"])
def test_not_object(raw):
    assert rejected(raw).reason == "not_object"


@pytest.mark.parametrize("tag", ["refund", "Ticket", "", 5, None, ["ticket"], {"a": 1}])
def test_unknown_type(tag):
    result = rejected(orjson.dumps({**TICKET, "type": tag}))
    assert (result.reason, result.field, result.event_type) == ("unknown_type", "type", None)
    assert "ticket, usage, release, account" in result.detail


def test_missing_type_is_unknown_type():
    result = rejected(b'{"account_id": "acme", "time": 1772460300}')
    assert (result.reason, result.field) == ("unknown_type", "type")
    assert "required" in result.detail


def test_missing_field_names_event_type_and_field():
    result = rejected(orjson.dumps({k: v for k, v in TICKET.items() if k != "account_id"}))
    assert result == Rejection("missing_field", "account_id", "ticket.account_id: Field required", "ticket")


def test_missing_ticket_time_mentions_the_alias():
    result = rejected(orjson.dumps({k: v for k, v in TICKET.items() if k != "time"}))
    assert (result.reason, result.field) == ("missing_field", "time")
    assert "created_at" in result.detail


def test_invalid_field_with_nested_path():
    raw = orjson.dumps({"type": "release", "version": "1", "features": ["ok", ""], "time": T})
    result = rejected(raw)
    assert (result.reason, result.field, result.event_type) == ("invalid_field", "features.1", "release")
    assert result.detail.startswith("release.features.1: ")


def test_naive_time():
    result = rejected(orjson.dumps({**USAGE, "time": "2026-03-02T14:05:00"}))
    assert (result.reason, result.field) == ("naive_time", "time")
    assert "usage.time: timezone offset required" in result.detail


def test_out_of_range_time_is_invalid_field():
    result = rejected(orjson.dumps({**USAGE, "time": 1772460300 * 10**6}))
    assert (result.reason, result.field) == ("invalid_field", "time")


def test_negative_count():
    result = rejected(orjson.dumps({**USAGE, "count": -3}))
    assert (result.reason, result.field) == ("negative_count", "count")
    assert result.detail.startswith("usage.count: ")


def test_negative_seats_are_invalid_field_not_negative_count():
    raw = orjson.dumps({"type": "account", "account_id": "a", "mrr": 1, "seats": -1, "tier": "t", "time": T})
    assert rejected(raw).reason == "invalid_field"


def test_unsupported_version_wins_over_other_errors():
    result = rejected(orjson.dumps({"type": "usage", "schema_version": 2, "count": -1, "time": "2026-03-02"}))
    assert (result.reason, result.field) == ("unsupported_version", "schema_version")
    assert result.detail.split("; ")[0].startswith("usage.schema_version: ")
    assert "usage.account_id: Field required" in result.detail


def test_reason_priority_and_detail_lists_every_error():
    result = rejected(orjson.dumps({"type": "usage", "count": -1, "time": "2026-03-02T14:05:00"}))
    assert result.reason == "missing_field"
    parts = result.detail.split("; ")
    assert [part.split(":")[0] for part in parts] == ["usage.account_id", "usage.time", "usage.count"]


def test_detail_is_bounded_for_many_errors():
    raw = orjson.dumps({"type": "release", "version": "v", "features": [""] * 50, "time": T})
    result = rejected(raw)
    assert result.detail.endswith("(+45 more)")


def test_every_reason_code_is_reachable():
    samples = [
        (b"x" * 70_000, {}),
        (b"\xff", {}),
        (b"{", {}),
        (b"[]", {}),
        (b'{"type": "x"}', {}),
        (orjson.dumps({"type": "usage", "time": T}), {}),
        (orjson.dumps({**USAGE, "account_id": 7}), {}),
        (orjson.dumps({**USAGE, "time": "2026-03-02T14:05"}), {}),
        (orjson.dumps({**USAGE, "count": -1}), {}),
        (orjson.dumps({**USAGE, "schema_version": 9}), {}),
    ]
    assert {rejected(raw, **kw).reason for raw, kw in samples} == set(REJECT_REASONS) - {"internal_error"}


def test_rejection_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        rejected(b"[]").reason = "not_json"


def test_rejection_to_dead_letter_keeps_original_and_location():
    raw = orjson.dumps({**USAGE, "count": -1})
    received = datetime(2026, 3, 2, 14, 6, tzinfo=UTC)
    letter = rejected(raw).to_dead_letter(raw, "spikewatch.usage", 3, 99, received_at=received)
    assert isinstance(letter, DeadLetter)
    assert (letter.reason, letter.field, letter.event_type) == ("negative_count", "count", "usage")
    assert (letter.source_topic, letter.partition, letter.offset) == ("spikewatch.usage", 3, 99)
    assert letter.original == raw
    assert letter.original_text == raw.decode()
    assert letter.received_at == received


def test_parse_events_skips_blank_lines_and_keeps_order():
    lines = [orjson.dumps(TICKET), b"", b"   \n", b"[]", orjson.dumps(USAGE) + b"\n"]
    results = list(parse_events(lines))
    assert [type(result) for result in results] == [TicketEvent, Rejection, UsageEvent]


def test_parse_events_passes_the_size_limit():
    results = list(parse_events([orjson.dumps(TICKET)], max_bytes=10))
    assert results[0].reason == "too_large"


def test_non_bytes_input_is_rejected_not_raised():
    assert parse_event(12345).reason == "not_json"  # type: ignore[arg-type]
    assert parse_event(None).reason == "not_json"  # type: ignore[arg-type]


# properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
field_values = st.one_of(
    json_values,
    st.sampled_from([T, T * 1000, -1, 0, 1e11, "2026-03-02T14:05:00Z", "2026-03-02T14:05:00", "", "x" * 300]),
)
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from([*EVENT_TYPES, "other"])},
    optional={
        name: field_values
        for name in [
            "schema_version",
            "ticket_id",
            "account_id",
            "feature",
            "severity",
            "time",
            "created_at",
            "count",
            "version",
            "features",
            "mrr",
            "seats",
            "seats_used",
            "tier",
            "renewal_date",
            "owner",
        ]
    },
)


def assert_event_or_rejection(result):
    if isinstance(result, Rejection):
        assert result.reason in REJECT_REASONS
        assert result.detail
        result.to_dead_letter(b"x", "t", 0, 0)
    else:
        assert result.type in EVENT_TYPES
        assert isinstance(result.ts, float)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parse_event_never_raises_on_arbitrary_bytes(raw):
    assert_event_or_rejection(parse_event(raw))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_event_never_raises_on_arbitrary_json(value):
    assert_event_or_rejection(parse_event(json.dumps(value).encode()))


@settings(max_examples=300, deadline=None)
@given(event_like)
def test_parse_event_never_raises_on_event_shaped_objects(value):
    result = parse_event(json.dumps(value).encode())
    assert_event_or_rejection(result)
    if not isinstance(result, Rejection):
        assert parse_event(result.model_dump_json().encode()) == result


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=10).filter(str.strip), min_size=1, max_size=5, unique=True))
def test_valid_releases_parse_for_any_feature_names(features):
    raw = json.dumps({"type": "release", "version": "1.0", "features": features, "time": T}).encode()
    result = parse_event(raw)
    assert isinstance(result, ReleaseEvent), result
    assert result.features == features
