"""Hostile and odd input: every record is an event by a documented rule or a rejection with a reason.

The corpus (``tests/schemas/corpus``) holds the issue's classes with the outcome each rule gives; the
properties below throw random variations of the same classes at :func:`schemas.parse.parse_event`.
"""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas._types import MAX_ID_LENGTH
from schemas.deadletter import REJECT_REASONS
from schemas.parse import Rejection, parse_event
from tests.schemas.corpus import MAX_BYTES, Nasty, build_corpus, format_table, tally

pytestmark = pytest.mark.timeout(120)  # a hang on any input fails, it does not stall the suite

CORPUS = build_corpus()
#: The issue's classes of bad input, each of which the corpus must try at least a few times.
REQUIRED_CLASSES = {
    "invalid_utf8", "deep_nesting", "huge", "numbers", "nan_infinity", "far_times", "unknown_type",
    "empty_ids", "long_ids", "duplicate_keys", "unknown_extra_field", "byte_order_mark", "nulls",
    "top_level_not_object", "not_json",
}  # fmt: skip
BOM = b"\xef\xbb\xbf"
T = 1772460300


def outcome(result: object) -> tuple[str, str | None]:
    if isinstance(result, Rejection):
        assert result.reason in REJECT_REASONS
        assert result.detail
        return result.reason, result.field
    return "accepted", result.type  # type: ignore[attr-defined]


def expected(item: Nasty) -> tuple[str, str | None]:
    return ("accepted", item.accepted_as) if item.accepted_as else (item.reason, item.field)  # type: ignore[return-value]


@pytest.mark.parametrize("item", CORPUS, ids=[f"{item.kind}-{i}" for i, item in enumerate(CORPUS)])
def test_corpus_record_follows_its_rule(item):
    result = parse_event(item.raw, max_bytes=MAX_BYTES)
    assert outcome(result) == expected(item), (item.raw[:120], result)
    if isinstance(result, Rejection):
        letter = result.to_dead_letter(item.raw, "nasty", 0, 0)
        assert letter.original_size == len(item.raw)
    else:  # what the worker keeps of an accepted record is itself a valid event
        assert parse_event(result.model_dump_json().encode()) == result


def test_corpus_covers_every_class(capsys):
    table = tally(CORPUS)
    with capsys.disabled():
        print(f"\nnasty records by class (parse_event):\n{format_table(table)}")
    assert set(table) == REQUIRED_CLASSES
    assert all(row["tried"] >= 7 for row in table.values()), table
    assert sum(row["tried"] for row in table.values()) == len(CORPUS)


@pytest.mark.parametrize("depth", [1_000, 100_000, 1_000_000])
@pytest.mark.parametrize("opening", [b"[", b'{"a":'])
def test_deep_nesting_is_refused_by_the_parser_itself(depth, opening):
    closing = b"]" if opening == b"[" else b"}"
    raw = opening * depth + (b"1" if opening != b"[" else b"") + closing * depth
    result = parse_event(raw, max_bytes=len(raw))  # past the size limit: the parser must cope alone
    assert outcome(result) == ("not_json", None)
    assert "recursion limit" in result.detail


def test_huge_message_is_refused_unread_whatever_it_holds():
    for raw in (b"\xff" * 10**7, b"[" * 10**7, b'{"type": "usage"' + b" " * 10**7 + b"}"):
        result = parse_event(raw)
        assert outcome(result) == ("too_large", None)
        assert str(len(raw)) in result.detail


def test_utf16_is_named_in_the_detail():
    result = parse_event(orjson.dumps({"type": "usage"}).decode().encode("utf-16"))
    assert result.reason == "invalid_utf8"
    assert "UTF-16/32" in result.detail


# properties

VALID = orjson.dumps({"type": "usage", "account_id": "acme", "count": 2, "time": T})
json_with_nan = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID)), st.binary(min_size=1, max_size=40))
def test_bytes_spliced_into_a_valid_event_never_raise(position, noise):
    raw = VALID[:position] + noise + VALID[position:]
    reason, _ = outcome(parse_event(raw))
    assert reason in (*REJECT_REASONS, "accepted")


@settings(max_examples=300, deadline=None)
@given(json_with_nan)
def test_json_with_nan_and_infinity_never_raises(value):
    outcome(parse_event(json.dumps(value).encode()))  # json.dumps writes NaN and Infinity literals


@settings(max_examples=200, deadline=None)
@given(json_with_nan)
def test_any_value_in_an_unknown_field_is_ignored(value):
    raw = VALID[:-1] + b', "extra": ' + json.dumps(value).encode() + b"}"
    assert outcome(parse_event(raw)) == ("accepted", "usage")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_duplicate_key_last_one_wins(first, last):
    raw = (
        b'{"type": "usage", "time": 1772460300, "account_id": '
        + json.dumps(first).encode()
        + b', "account_id": '
        + json.dumps(last).encode()
        + b"}"
    )
    prefix = b'{"type": "usage", "time": 1772460300, "account_id": '
    alone = parse_event(prefix + json.dumps(last).encode() + b"}")
    assert parse_event(raw) == alone


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=MAX_ID_LENGTH + 20))
def test_id_rule_is_length_and_not_blank(account_id):
    result = parse_event(orjson.dumps({"type": "usage", "account_id": account_id, "time": T}))
    if 1 <= len(account_id) <= MAX_ID_LENGTH and not account_id.isspace():
        assert outcome(result) == ("accepted", "usage")
        assert result.account_id == account_id  # kept exactly, control characters included
    else:
        assert outcome(result) == ("invalid_field", "account_id")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 150), st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
def test_shallow_nesting_in_an_unknown_field_is_accepted(depth, brackets):
    opening, closing = brackets
    inner = opening * depth + (b"1" if opening != b"[" else b"") + closing * depth
    assert outcome(parse_event(VALID[:-1] + b', "x": ' + inner + b"}")) == ("accepted", "usage")


@settings(max_examples=100, deadline=None)
@given(st.integers(250, 20_000))
def test_deep_nesting_in_an_unknown_field_is_not_json(depth):
    raw = VALID[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    assert outcome(parse_event(raw, max_bytes=len(raw))) == ("not_json", None)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_a_leading_bom_changes_nothing(raw):
    with_bom, without = parse_event(BOM + raw), parse_event(raw)
    if isinstance(without, Rejection):
        assert isinstance(with_bom, Rejection)
        assert with_bom.reason == without.reason or without.reason == "invalid_utf8"
    else:
        assert with_bom == without


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(), st.floats(), st.text(max_size=40)))
def test_any_time_value_is_an_event_or_a_time_rejection(value):
    raw = json.dumps({"type": "usage", "account_id": "a", "time": value}).encode()  # NaN, big ints too
    reason, field = outcome(parse_event(raw))
    assert reason == "accepted" or (reason, field) in {("invalid_field", "time"), ("naive_time", "time")}
