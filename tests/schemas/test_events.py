from datetime import UTC, date, datetime

import orjson
import pytest
from pydantic import ValidationError

from schemas.events import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    SCHEMA_VERSION,
    AccountEvent,
    ReleaseEvent,
    TicketEvent,
    UsageEvent,
)

T = 1772460300  # 2026-03-02T14:05:00Z
MOMENT = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)

VALID = {
    "ticket": {"type": "ticket", "ticket_id": "T-1", "account_id": "acme", "feature": "checkout", "time": T},
    "usage": {"type": "usage", "account_id": "acme", "time": T},
    "release": {"type": "release", "version": "4.2.0", "features": ["checkout"], "time": T},
    "account": {
        "type": "account",
        "account_id": "acme",
        "mrr": 1200.5,
        "seats": 50,
        "tier": "business",
        "time": T,
    },
}
MODELS = {"ticket": TicketEvent, "usage": UsageEvent, "release": ReleaseEvent, "account": AccountEvent}


def validate(data):
    return EVENT_ADAPTER.validate_json(orjson.dumps(data))


def errors_of(data):
    with pytest.raises(ValidationError) as info:
        validate(data)
    return [(error["type"], error["loc"][1:]) for error in info.value.errors()]


def with_(kind, **changes):
    data = {**VALID[kind], **changes}
    return {key: value for key, value in data.items() if value is not ...}


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_union_picks_the_model_by_type(kind):
    event = validate(VALID[kind])
    assert type(event) is MODELS[kind]
    assert event.type == kind
    assert event.schema_version == SCHEMA_VERSION == 1
    assert event.time == MOMENT
    assert event.ts == float(T)


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_extra_fields_are_ignored(kind):
    event = validate(with_(kind, priority="p1", nested={"a": [1, 2]}))
    assert "priority" not in event.model_dump()
    assert event == validate(VALID[kind])


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_models_are_frozen(kind):
    event = validate(VALID[kind])
    with pytest.raises(ValidationError):
        event.time = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("kind", EVENT_TYPES)
@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_other_schema_versions_are_rejected(kind, version):
    assert ("literal_error", ("schema_version",)) in errors_of(with_(kind, schema_version=version))


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_json_round_trip_preserves_the_event(kind):
    event = validate(VALID[kind])
    assert EVENT_ADAPTER.validate_json(event.model_dump_json()) == event
    assert orjson.loads(event.model_dump_json())["time"] == "2026-03-02T14:05:00Z"


def test_python_construction_defaults_type_and_version():
    ticket = TicketEvent(ticket_id="T-1", account_id="acme", feature="checkout", time=T)
    assert (ticket.type, ticket.schema_version, ticket.severity) == ("ticket", 1, "normal")


def test_ts_follows_a_copied_time():
    usage = validate(VALID["usage"])
    later = usage.model_copy(update={"time": datetime(2026, 3, 3, tzinfo=UTC)})
    assert later.ts - usage.ts == pytest.approx(35700.0)


# ticket


def test_ticket_accepts_created_at_alias_and_prefers_time():
    aliased = validate(with_("ticket", time=..., created_at="2026-03-02T14:05:00Z"))
    assert aliased.time == MOMENT
    both = validate(with_("ticket", created_at="2030-01-01T00:00:00Z"))
    assert both.time == MOMENT


def test_ticket_without_time_or_created_at_is_missing_time():
    assert errors_of(with_("ticket", time=...)) == [("missing", ("time",))]


@pytest.mark.parametrize("field", ["ticket_id", "account_id", "feature"])
def test_ticket_required_fields(field):
    assert ("missing", (field,)) in errors_of(with_("ticket", **{field: ...}))


@pytest.mark.parametrize("severity", ["low", "normal", "high", "urgent"])
def test_ticket_severities(severity):
    assert validate(with_("ticket", severity=severity)).severity == severity


@pytest.mark.parametrize("severity", ["HIGH", "p1", "", 3])
def test_ticket_unknown_severity_is_invalid(severity):
    assert errors_of(with_("ticket", severity=severity))[0][1] == ("severity",)


def test_ticket_long_subject_is_truncated_not_rejected():
    ticket = validate(with_("ticket", subject="x" * 5000, channel="email"))
    assert len(ticket.subject) == 1024
    assert ticket.channel == "email"


# bounded strings


@pytest.mark.parametrize(
    ("kind", "field", "limit"),
    [
        ("ticket", "ticket_id", 256),
        ("ticket", "account_id", 256),
        ("ticket", "feature", 64),
        ("ticket", "channel", 64),
        ("usage", "account_id", 256),
        ("usage", "feature", 64),
        ("release", "version", 256),
        ("account", "account_id", 256),
        ("account", "tier", 64),
        ("account", "owner", 256),
    ],
)
def test_string_bounds(kind, field, limit):
    assert getattr(validate(with_(kind, **{field: "a" * limit})), field) == "a" * limit
    assert errors_of(with_(kind, **{field: "a" * (limit + 1)})) == [("string_too_long", (field,))]
    assert errors_of(with_(kind, **{field: ""})) == [("string_too_short", (field,))]
    assert errors_of(with_(kind, **{field: " \t"})) == [("blank_string", (field,))]
    assert errors_of(with_(kind, **{field: 42}))[0] == ("string_type", (field,))


# usage


def test_usage_count_defaults_to_one_and_accepts_aggregates():
    assert validate(VALID["usage"]).count == 1
    assert validate(with_("usage", count=0)).count == 0
    assert validate(with_("usage", count=125_000, feature="search")).count == 125_000


def test_usage_count_must_be_non_negative():
    assert errors_of(with_("usage", count=-1)) == [("greater_than_equal", ("count",))]


def test_usage_count_accepts_integral_floats_like_json_schema():
    assert validate(with_("usage", count=5.0)).count == 5


@pytest.mark.parametrize("count", [True, "5", 2.5, None, [1]])
def test_usage_count_rejects_non_integers(count):
    assert errors_of(with_("usage", count=count))[0][1] == ("count",)


# release


def test_release_features_must_be_non_empty():
    assert errors_of(with_("release", features=[])) == [("too_short", ("features",))]


def test_release_features_must_be_unique():
    assert errors_of(with_("release", features=["a", "b", "a"])) == [("features_not_unique", ("features",))]


def test_release_feature_items_are_bounded():
    assert errors_of(with_("release", features=["ok", "x" * 65])) == [("string_too_long", ("features", 1))]


def test_release_description_truncated():
    assert len(validate(with_("release", description="d" * 10_000)).description) == 4096


# account


def test_account_optional_fields():
    account = validate(with_("account", seats_used=61, renewal_date="2026-06-30", owner="jane@example.com"))
    assert account.seats_used == 61  # over the licence: an expansion signal, not an error
    assert account.renewal_date == date(2026, 6, 30)
    assert account.owner == "jane@example.com"


def test_account_mrr_accepts_integers():
    assert validate(with_("account", mrr=0)).mrr == 0.0


@pytest.mark.parametrize("mrr", [-0.01, "12.5", True])
def test_account_mrr_must_be_a_non_negative_number(mrr):
    assert errors_of(with_("account", mrr=mrr))[0][1] == ("mrr",)


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_account_mrr_must_be_finite(token):
    raw = orjson.dumps(VALID["account"]).replace(b"1200.5", token)
    with pytest.raises(ValidationError) as info:
        EVENT_ADAPTER.validate_json(raw)
    assert info.value.errors()[0]["loc"] == ("account", "mrr")


@pytest.mark.parametrize("field", ["seats", "seats_used"])
def test_account_seat_counts_are_non_negative_integers(field):
    assert errors_of(with_("account", **{field: -1})) == [("greater_than_equal", (field,))]
    assert errors_of(with_("account", **{field: 1.5}))[0][1] == (field,)


@pytest.mark.parametrize("renewal", ["2026-02-30", "30/06/2026", 1772460300])
def test_account_renewal_date_must_be_an_iso_date(renewal):
    assert errors_of(with_("account", renewal_date=renewal))[0][1] == ("renewal_date",)


@pytest.mark.parametrize("field", ["account_id", "mrr", "seats", "tier", "time"])
def test_account_required_fields(field):
    assert ("missing", (field,)) in errors_of(with_("account", **{field: ...}))


# time inside events


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_naive_time_is_rejected_in_every_event(kind):
    assert errors_of(with_(kind, time="2026-03-02T14:05:00")) == [("naive_time", ("time",))]


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_epoch_milliseconds_in_events(kind):
    assert validate(with_(kind, time=T * 1000)).time == MOMENT
