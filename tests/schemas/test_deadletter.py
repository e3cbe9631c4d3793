import base64

import orjson
import pytest
from pydantic import ValidationError

from schemas.deadletter import MAX_ORIGINAL_BYTES, MAX_ORIGINAL_TEXT, REJECT_REASONS, DeadLetter


def letter(original, **changes):
    return DeadLetter(reason="not_json", detail="bad", original=original, **changes)


def test_reason_codes_are_the_closed_set():
    assert REJECT_REASONS == (
        "too_large",
        "invalid_utf8",
        "not_json",
        "not_object",
        "unknown_type",
        "missing_field",
        "invalid_field",
        "naive_time",
        "negative_count",
        "unsupported_version",
        "internal_error",
    )
    with pytest.raises(ValidationError):
        DeadLetter(reason="oops", detail="bad", original=b"x")


def test_original_bytes_are_kept_exactly():
    raw = bytes(range(256))
    kept = letter(raw)
    assert kept.original == raw
    assert base64.b64decode(kept.original_base64) == raw
    assert (kept.original_size, kept.original_truncated) == (256, False)


def test_original_text_only_for_short_valid_utf8():
    assert letter("café".encode()).original_text == "café"
    assert letter(b"\xff").original_text is None
    assert letter(b"a" * MAX_ORIGINAL_TEXT).original_text == "a" * MAX_ORIGINAL_TEXT
    assert letter(b"a" * (MAX_ORIGINAL_TEXT + 1)).original_text is None


def test_huge_originals_are_cut_and_flagged():
    raw = b"z" * (MAX_ORIGINAL_BYTES + 10)
    kept = letter(raw)
    assert kept.original == raw[:MAX_ORIGINAL_BYTES]
    assert (kept.original_size, kept.original_truncated) == (len(raw), True)


def test_json_round_trip():
    kept = letter(
        b'{"type": "x"}', field="type", event_type=None, source_topic="events", partition=1, offset=5
    )
    decoded = orjson.loads(kept.to_json())
    assert decoded["received_at"].endswith("Z")
    assert decoded["original_base64"] == base64.b64encode(b'{"type": "x"}').decode()
    assert "original" not in decoded
    assert DeadLetter.from_json(kept.to_json()) == kept


def test_invalid_base64_is_rejected():
    with pytest.raises(ValidationError, match="base64"):
        DeadLetter(reason="not_json", detail="d", original_base64="!!!", original_size=3)


def test_detail_is_truncated_and_model_frozen():
    kept = DeadLetter(reason="not_json", detail="d" * 9000, original=b"")
    assert len(kept.detail) == 2048
    with pytest.raises(ValidationError):
        kept.reason = "too_large"


def test_internal_error_letters_for_records_whose_handling_raised():
    kept = DeadLetter(reason="internal_error", detail="KeyError: 'x'", original=b'{"type": "usage"}')
    assert DeadLetter.from_json(kept.to_json()).reason == "internal_error"
