import pytest
from pydantic import ValidationError

from schemas.feedback import (
    FEEDBACK_ADAPTER,
    AlertLabel,
    CustomerAction,
    Silence,
    feedback_key,
)

T0 = 1_772_668_800  # 2026-03-05T00:00:00Z


def test_each_type_round_trips_through_json():
    records = [
        AlertLabel(dedup_key="regression:login:x", label="confirmed", note="bad deploy", time=T0),
        AlertLabel(dedup_key="regression:imports:y", label="expected", until=T0 + 3600, time=T0),
        Silence(scope="all", start=T0, end=T0 + 600, reason="broker upgrade", time=T0),
        CustomerAction(dedup_key="churn_risk:acme:z", action="contacted", author="cs-jo", time=T0),
    ]
    for record in records:
        assert FEEDBACK_ADAPTER.validate_json(record.to_json()) == record


def test_expected_label_needs_an_end():
    with pytest.raises(ValidationError, match="needs until"):
        AlertLabel(dedup_key="regression:login:x", label="expected", time=T0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scope": "feature"}, "needs feature"),
        ({"scope": "account"}, "needs account_id"),
        ({"scope": "all", "end": T0}, "end must be after start"),
    ],
)
def test_inconsistent_silences_are_rejected_naming_the_problem(fields, message):
    data = {"start": T0, "end": T0 + 60, "reason": "r", "time": T0} | fields
    with pytest.raises(ValidationError, match=message):
        Silence(**data)


def test_unknown_label_is_rejected_with_the_field_named():
    with pytest.raises(ValidationError) as error:
        FEEDBACK_ADAPTER.validate_python({"type": "label", "dedup_key": "k", "label": "meh"})
    assert error.value.errors()[0]["loc"] == ("label", "label")


def test_silence_ids_are_stable_and_keys_distinct_per_thing():
    a = Silence(scope="feature", feature="sso", start=T0, end=T0 + 60, reason="r", time=T0)
    b = Silence(scope="feature", feature="sso", start=T0, end=T0 + 120, reason="longer", time=T0 + 5)
    c = Silence(scope="feature", feature="api", start=T0, end=T0 + 60, reason="r", time=T0)
    assert a.silence_id == b.silence_id != c.silence_id  # the same window, extended, replaces the first
    label = AlertLabel(dedup_key="k", label="confirmed", time=T0)
    action = CustomerAction(dedup_key="k", action="saved", time=T0)
    assert feedback_key(label) != feedback_key(action)


def test_silence_covers_only_its_scope_and_window():
    feature = Silence(scope="feature", feature="sso", start=T0, end=T0 + 60, reason="r", time=T0)
    account = Silence(scope="account", account_id="acme", start=T0, end=T0 + 60, reason="r", time=T0)
    everything = Silence(scope="all", start=T0, end=T0 + 60, reason="r", time=T0)
    assert feature.covers(feature="sso", account_id="x", at=T0)
    assert not feature.covers(feature="api", account_id="x", at=T0)
    assert not feature.covers(feature="sso", account_id="x", at=T0 + 60)  # end is exclusive
    assert account.covers(feature=None, account_id="acme", at=T0 + 30)
    assert not account.covers(feature="sso", account_id="other", at=T0 + 30)
    assert everything.covers(feature=None, account_id=None, at=T0 + 59)
    assert not everything.covers(feature=None, account_id=None, at=T0 - 1)
