import pytest
from pydantic import TypeAdapter, ValidationError

from schemas._types import MAX_COUNT, Count, Id, Label, Money, SchemaVersion1, text


@pytest.mark.parametrize(("kind", "limit"), [(Id, 256), (Label, 64)])
def test_bounded_names(kind, limit):
    adapter = TypeAdapter(kind)
    assert adapter.validate_python(" a ") == " a "  # kept as sent: ids are compared exactly
    for bad in ["", "\u00a0\u2003", "a" * (limit + 1)]:
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_count_accepts_json_integers_up_to_2_53():
    adapter = TypeAdapter(Count)
    assert adapter.validate_json(b"5.0") == 5
    assert adapter.validate_json(str(MAX_COUNT).encode()) == MAX_COUNT
    for bad in [b"-1", b"true", b'"5"', b"5.5", str(MAX_COUNT + 1).encode()]:
        with pytest.raises(ValidationError):
            adapter.validate_json(bad)


def test_money_is_finite_and_non_negative():
    adapter = TypeAdapter(Money)
    assert adapter.validate_json(b"12") == 12.0
    for bad in [b"-0.5", b"NaN", b"Infinity", b'"12"', b"false"]:
        with pytest.raises(ValidationError):
            adapter.validate_json(bad)


def test_schema_version_is_exactly_one():
    adapter = TypeAdapter(SchemaVersion1)
    assert adapter.validate_json(b"1") == 1
    for bad in [b"true", b"2", b'"1"']:
        with pytest.raises(ValidationError):
            adapter.validate_json(bad)


def test_text_truncates():
    adapter = TypeAdapter(text(3))
    assert adapter.validate_python("abcdef") == "abc"
    assert adapter.validate_python("ab") == "ab"
