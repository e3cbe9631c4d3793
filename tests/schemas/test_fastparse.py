"""The fast path of ``parse_event`` gives exactly what the pydantic path gives, and takes the common events.

Every differential test compares :func:`schemas.parse.parse_event` (fast path first) with
:func:`schemas.parse._parse_event_slow` (pydantic only) on the same bytes: same model type, same field
values with their Python types (``5`` is not ``5.0``), same ``model_fields_set``, same ``ts``; or the
same :class:`~schemas.parse.Rejection`, reason, field and detail.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas.parse
from schemas._types import MAX_COUNT
from schemas.events import AccountEvent, ReleaseEvent, TicketEvent, UsageEvent
from schemas.fastparse import MAX_EXTRA_DEPTH, fast_event
from schemas.parse import Rejection, _parse_event_slow, parse_event
from sim.config import SimConfig
from sim.simulator import simulate
from tests.schemas.corpus import MAX_BYTES, build_corpus

pytestmark = pytest.mark.timeout(300)

T = 1772460300
BOM = b"\xef\xbb\xbf"
BASES: dict[str, dict[str, Any]] = {
    "usage": {"type": "usage", "schema_version": 1, "account_id": "acct-1", "feature": "checkout", "count": 4,
              "time": "2026-03-02T14:05:00Z"},
    "ticket": {"type": "ticket", "schema_version": 1, "ticket_id": "T-1", "account_id": "acct-1",
               "feature": "checkout", "severity": "high", "subject": "checkout is down", "channel": "email",
               "time": "2026-03-02T14:05:00Z"},
    "release": {"type": "release", "schema_version": 1, "version": "4.2.0", "features": ["checkout", "sso"],
                "description": "Release 4.2.0", "time": T},
    "account": {"type": "account", "schema_version": 1, "account_id": "acct-1", "mrr": 990.5, "seats": 40,
                "seats_used": 12, "tier": "business", "renewal_date": "2026-11-06", "owner": "csm-7",
                "time": T * 1000},
}  # fmt: skip
MODELS = {"usage": UsageEvent, "ticket": TicketEvent, "release": ReleaseEvent, "account": AccountEvent}
FAST = ["usage", "ticket", "account"]  # releases (a few a week) are left to pydantic


def snapshot(result: object) -> object:
    """Everything observable of a result, with types (``repr`` tells 5 from 5.0 and -0.0 from 0.0)."""
    if isinstance(result, Rejection):
        return result
    return (
        type(result),
        repr(result.__dict__),
        result.model_dump_json(),
        result.model_dump(exclude_unset=True),
        result.model_fields_set,
        result.ts,
        None if isinstance(result, ReleaseEvent) else hash(result),  # frozen: the fields' hash (a list: none)
        result.__pydantic_extra__,
        result.__pydantic_private__,
    )


def assert_same(raw: bytes | str, max_bytes: int = schemas.parse.DEFAULT_MAX_BYTES) -> object:
    fast, slow = parse_event(raw, max_bytes=max_bytes), _parse_event_slow(raw, max_bytes=max_bytes)
    assert snapshot(fast) == snapshot(slow), (raw[:300], fast, slow)
    assert fast == slow
    return fast


def sim_lines(**config: Any) -> list[bytes]:
    return [bytes(memoryview(line)) for line in simulate(SimConfig(**config)).lines]


SPARSE = sim_lines(seed=3, days=4, accounts=60)
DENSE = sim_lines(seed=4, days=2, accounts=40, usage_per_feature=True)


# the fast path is taken


@pytest.mark.parametrize("lines", [SPARSE, DENSE], ids=["sparse", "dense"])
def test_every_simulated_event_but_releases_takes_the_fast_path(lines):
    kinds = Counter(orjson.loads(line)["type"] for line in lines)
    assert kinds["usage"] > 0.5 * len(lines) and kinds["ticket"] > 0
    missed = [line for line in lines if fast_event(line) is None]
    assert all(orjson.loads(line)["type"] == "release" for line in missed), missed[:3]


@pytest.fixture
def no_pydantic(monkeypatch):
    """Make the pydantic path fail loudly: whatever parses now parsed on the fast path."""

    def fail(raw: bytes) -> None:
        raise AssertionError(f"fell back to pydantic for {raw!r}")

    monkeypatch.setattr(schemas.parse, "_validate", fail)


@pytest.mark.parametrize("kind", FAST)
def test_common_events_never_reach_pydantic(kind, no_pydantic):
    base, model = BASES[kind], MODELS[kind]
    minimal = {
        "type": kind,
        **{name: base[name] for name, field in model.model_fields.items() if field.is_required()},
    }
    for fields in (base, minimal, {**base, "time": T}, {**base, "time": T * 1000 + 250}, {**base, "x": [1]}):
        event = parse_event(orjson.dumps(fields))
        assert type(event) is model
        assert parse_event(BOM + orjson.dumps(fields)) == event


def test_ticket_created_at_alias_takes_the_fast_path(no_pydantic):
    fields = {key: value for key, value in BASES["ticket"].items() if key != "time"}
    event = parse_event(orjson.dumps({**fields, "created_at": "2026-03-02T15:05:00+01:00"}))
    assert event.ts == T and "time" in event.model_fields_set


def test_the_fast_path_declines_what_it_cannot_vouch_for():
    usage = BASES["usage"]
    for raw in (
        orjson.dumps({**usage, "count": 4.0}),  # accepted by pydantic as 4: the fast path leaves it
        orjson.dumps({**usage, "schema_version": "1"}),
        json.dumps({**usage, "x": float("nan")}).encode(),
        orjson.dumps({**usage, "x": [[[[]]]]})[:-1] + b', "y": ' + b"[" * 100 + b"]" * 100 + b"}",
        orjson.dumps({**usage, "account_id": ""}),
        b"[1]",
    ):
        assert fast_event(raw) is None
        assert_same(raw)


# differential: corpus and streams


@pytest.mark.parametrize("item", build_corpus(), ids=lambda item: item.kind)
def test_corpus_gives_the_same_result(item):
    assert_same(item.raw, max_bytes=MAX_BYTES)


def test_simulated_streams_give_the_same_events():
    for line in SPARSE + DENSE:
        assert_same(line)


@pytest.mark.parametrize(
    "wrap", [bytes, bytearray, memoryview, lambda raw: raw.decode(), lambda raw: BOM + raw]
)
def test_inputs_of_every_kind_give_the_same_result(wrap):
    for fields in BASES.values():
        assert_same(wrap(orjson.dumps(fields)))
    assert_same(wrap(orjson.dumps(BASES["usage"])), max_bytes=20)


@pytest.mark.parametrize("depth", [MAX_EXTRA_DEPTH - 1, MAX_EXTRA_DEPTH, MAX_EXTRA_DEPTH + 1, 199, 200, 201])
def test_nesting_in_unknown_fields_around_both_limits(depth):
    for opening, closing in ((b"[", b"]"), (b'{"a":', b"}")):
        inner = opening * depth + (b"1" if opening != b"[" else b"") + closing * depth
        result = assert_same(orjson.dumps(BASES["ticket"])[:-1] + b', "x": ' + inner + b"}")
        if depth != 200:  # the event object is one level; pydantic's parser stops past 200 in all
            assert isinstance(result, TicketEvent) == (depth < 200)


ODD_TIMES = [
    "2026-03-02T14:05:00Z", "2026-03-02t14:05:00z", "2026-03-02 14:05:00Z", "2026-03-02T14:05Z",
    "2026-03-02T14Z", "2026-03-02T1405Z", "2026-03-02T140500Z", "20260302T140500Z", "2026-W09-1T14:05:00Z",
    "2026-061T14:05:00Z",
    "2026-03-02T14:05:00,5Z", "2026-03-02T14:05:00.5Z", "2026-03-02T14:05:00.Z", "2026-03-02T24:00:00Z",
    "2026-03-02T14:05:60Z", "2026-02-29T14:05:00Z", "2024-02-29T14:05:00Z", "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00Z", "2100-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
    "\uff12\uff10\uff12\uff16-03-02T14:05:00Z", "2026-03-02T14:05:00+00:00", "2026-03-02T14:05:00-00:00",
    "2026-03-02T14:05:00+0000", "2026-03-02T14:05:00Z ", " 2026-03-02T14:05:00Z", "2026-03-02T14:05:00ZZ",
    "2026-03-02T14:05:00", "2026-03-02T14:05:00+01", "2026-03-02T14:05:00+01:00:00", "2026-03-02T14:05:00UTC",
]  # fmt: skip


@pytest.mark.parametrize("time", ODD_TIMES)
def test_odd_time_strings_give_the_same_result(time):
    for kind, name in (("usage", "time"), ("ticket", "created_at"), ("release", "time"), ("account", "time")):
        fields = {key: value for key, value in BASES[kind].items() if key != "time"}
        assert_same(json.dumps({**fields, name: time}).encode())


@pytest.mark.parametrize("time", ["9999-12-31T23:59:00-00:01", "0001-01-01T00:00:00+00:01"])
def test_an_offset_past_the_calendar_is_a_rejection_not_an_exception(time):
    # Found while writing the fast path: astimezone(UTC) overflowed in schemas._time and parse_event
    # raised OverflowError (the worker then dead-lettered the record as internal_error).
    fields = {key: value for key, value in BASES["usage"].items() if key != "time"}
    rejection = assert_same(json.dumps({**fields, "time": time}).encode())
    assert isinstance(rejection, Rejection) and rejection.reason == "invalid_field", rejection
    assert "out of range" in rejection.detail


ODD_DATES = [
    "2026-11-06", "2026-02-29", "2024-02-29", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01",
    "20261106",
    "2026-W01-1", "2026-W01", "2026-310", "2026-11-06T00:00:00", "2026-11-06 ", "2026-1-06", "2026-11",
    "\uff12\uff10\uff12\uff16-11-06", "2026-11-06Z", "1772460300", "", None, 1772460300, 20261106,
]  # fmt: skip


@pytest.mark.parametrize("renewal", ODD_DATES)
def test_odd_renewal_dates_give_the_same_result(renewal):
    assert_same(json.dumps({**BASES["account"], "renewal_date": renewal}).encode())


@pytest.mark.parametrize(
    "mrr", [0, -0, 5, 2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, 2**64, 2**70, -0.0, 1e308, 0.1]
)
def test_mrr_numbers_give_the_same_result(mrr):
    raw = json.dumps({**BASES["account"], "mrr": mrr}).encode()
    assert_same(raw)
    if type(mrr) is int and mrr < 2**53:  # JSON integers are amounts too, read as floats
        assert type(fast_event(raw).mrr) is float


# differential: hypothesis variants of valid events

time_strings = st.builds(
    lambda year, month, day, hour, sep, seconds, fraction, zone: (
        f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:05{seconds}{fraction}{zone}"
    ),
    st.sampled_from([1970, 1999, 2000, 2026, 2100, 2101, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.sampled_from(["T", "t", " ", "_"]),
    st.sampled_from(["", ":00", ":59", ":60", ":7"]),
    st.sampled_from(["", ".5", ".123456789", "."]),
    st.sampled_from(["Z", "z", "", "+01:00", "-23:59", "+0100", "+24:00", "+01", " Z"]),
)
time_numbers = st.one_of(
    st.integers(946684800 - 2, 946684800 + 2),
    st.integers(4133980800 - 2, 4133980800 + 2),
    st.integers(946684800000 - 2, 946684800000 + 2),
    st.integers(4133980800000 - 2, 4133980800000 + 2),
    st.integers(T - 10**6, T + 10**6),
    st.integers(T * 1000 - 10**9, T * 1000 + 10**9),
    st.floats(9e8, 5e9),
    st.floats(9e11, 5e12),
    st.sampled_from([0, -1, 10**11 - 1, 10**11, 2**63, 2**64, 2**64 + 1, -(2**63) - 1, 1e400]),
)
numbers = st.one_of(
    st.integers(-3, 3),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([MAX_COUNT, MAX_COUNT + 1, 2**53 + 1, 2**63, 2**64, -0.0, 0.0, 5.0, 1.5, 1e308, 1e-400]),
    st.floats(),
)
strings = st.one_of(
    st.text(max_size=8),
    st.text(max_size=300),
    st.sampled_from(["", " ", "\t\n", "\u3000", "\u200b", "\x00", "x" * 64, "x" * 65, "x" * 256, "x" * 257,
                     "é" * 256, "low", "normal", "urgent", "NORMAL", "1", "2026-11-06", "2026-02-29",
                     "0000-01-01", "0001-01-01", "9999-12-31", "20261106", "2026-W01-1",
                     "2026-11-06T00:00:00"]),
    st.dates().map(str),
)  # fmt: skip
scalars = st.one_of(st.none(), st.booleans(), numbers, strings, time_strings, time_numbers)
values = st.one_of(
    scalars,
    st.lists(st.one_of(strings, st.none(), st.integers()), max_size=4),
    st.lists(st.sampled_from(["a", "b", "checkout", ""]), max_size=300),
    st.dictionaries(st.text(max_size=5), scalars, max_size=3),
)
field_names = st.sampled_from(
    sorted({name for base in BASES.values() for name in base} | {"created_at", "x", "type"})
)


def encode(fields: dict[str, Any], duplicates: list[tuple[str, Any]]) -> bytes:
    raw = json.dumps(fields).encode()  # json.dumps writes NaN and Infinity, as some producers do
    for name, value in duplicates:  # a key repeated: the last one wins
        pair = json.dumps({name: value}).encode()
        raw = pair if raw == b"{}" else raw[:-1] + b", " + pair[1:]
    return raw


@st.composite
def variants(draw: st.DrawFn) -> bytes:
    fields = dict(BASES[draw(st.sampled_from(list(BASES)))])
    for name in draw(st.lists(field_names, max_size=4)):
        action = draw(st.sampled_from(["set", "set", "drop"]))
        if action == "drop":
            fields.pop(name, None)
        elif name == "time" or name == "created_at":
            fields[name] = draw(st.one_of(time_strings, time_numbers, values))
        elif name == "schema_version":
            fields[name] = draw(st.sampled_from([0, 1, 2, "1", 1.0, True, None, -1, 2**64]))
        elif name == "type":
            fields[name] = draw(st.sampled_from([*BASES, "refund", "", None, 1, ["usage"]]))
        else:
            fields[name] = draw(values)
    duplicates = draw(st.lists(st.tuples(field_names, values), max_size=2))
    return encode(fields, duplicates)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants())
def test_mutated_events_give_the_same_result(raw):
    assert_same(raw)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(list(BASES)), st.one_of(time_strings, time_numbers))
def test_any_time_gives_the_same_result(kind, time):
    for name in ("time", "created_at") if kind == "ticket" else ("time",):
        fields = {key: value for key, value in BASES[kind].items() if key != "time"}
        assert_same(json.dumps({**fields, name: time}).encode())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(BASES)), st.integers(0, 200), st.binary(min_size=1, max_size=12))
def test_bytes_spliced_into_valid_events_give_the_same_result(kind, position, noise):
    raw = orjson.dumps(BASES[kind])
    position = min(position, len(raw))
    assert_same(raw[:position] + noise + raw[position:])


def test_hypothesis_variants_do_reach_the_fast_path():
    """The mutated variants are not all rejected: a fair share is accepted, by the fast path."""
    seen: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, database=None)
    @given(variants())
    def tally(raw: bytes) -> None:
        seen["tried"] += 1
        seen["accepted"] += not isinstance(_parse_event_slow(raw), Rejection)
        seen["fast"] += fast_event(raw) is not None

    tally()
    assert seen["accepted"] > 0.1 * seen["tried"] and seen["fast"] > 0.5 * seen["accepted"], seen
