import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from schemas.alerts import (
    ALERT_KINDS,
    ALERT_STATUSES,
    ALERT_TOPIC_SUFFIX,
    SEVERITIES,
    Alert,
    make_alert_id,
)

EVENT_TIME = datetime(2026, 3, 2, 14, 20, tzinfo=UTC)
BASE = {
    "kind": "regression",
    "severity": "critical",
    "pages": True,
    "dedup_key": "regression:checkout:2026-03-02T14:05Z",
    "summary": "checkout tickets up after 4.2.0",
    "started_at": "2026-03-02T14:05:00Z",
    "event_time": EVENT_TIME,
}


def alert(**changes):
    return Alert(**{**BASE, **changes})


def test_contract_enumerations():
    assert set(ALERT_KINDS) == {"regression", "flood", "drift", "churn_risk", "expansion", "anomaly"}
    assert set(ALERT_STATUSES) == {"firing", "updated", "resolved"}
    assert set(SEVERITIES) == {"critical", "warning", "info"}
    assert set(ALERT_TOPIC_SUFFIX) == set(ALERT_KINDS)
    assert ALERT_TOPIC_SUFFIX["churn_risk"] == "churn-risk"


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_topic_suffix_per_kind(kind):
    assert alert(kind=kind).topic_suffix == kind.replace("_", "-")


def test_alert_id_is_deterministic_and_filled():
    first, second = alert(), alert()
    assert first.alert_id == second.alert_id == make_alert_id(BASE["dedup_key"], "firing", EVENT_TIME)


def test_alert_id_changes_with_key_status_and_event_time():
    ids = {
        alert().alert_id,
        alert(status="updated").alert_id,
        alert(dedup_key="regression:search:x").alert_id,
        alert(event_time=EVENT_TIME + timedelta(minutes=1)).alert_id,
    }
    assert len(ids) == 4


def test_make_alert_id_is_short_hex_and_time_form_independent():
    an_id = make_alert_id("k", "firing", EVENT_TIME)
    assert len(an_id) == 16 and int(an_id, 16) >= 0
    assert an_id == make_alert_id("k", "firing", "2026-03-02T15:20:00+01:00")
    assert an_id == make_alert_id("k", "firing", EVENT_TIME.timestamp() * 1000)


def test_explicit_alert_id_is_kept():
    assert alert(alert_id="abc").alert_id == "abc"


def test_wall_time_defaults_to_now_in_utc():
    before = datetime.now(UTC)
    produced = alert()
    assert before <= produced.wall_time <= datetime.now(UTC)


def test_json_round_trip_and_z_times():
    original = alert(
        feature="checkout",
        release="4.2.0",
        release_confidence=0.8,
        accounts_affected=9,
        observed=14,
        expected=2.5,
        score=7.1,
        evidence={"sample_ticket_ids": ["T-1"], "window": "1h"},
        wall_time="2026-03-02T14:20:03Z",
    )
    raw = original.to_json()
    assert isinstance(raw, bytes)
    decoded = orjson.loads(raw)
    assert decoded["event_time"] == "2026-03-02T14:20:00Z"
    assert decoded["wall_time"] == "2026-03-02T14:20:03Z"
    assert Alert.from_json(raw) == original
    assert Alert.from_json(raw.decode()) == original


def test_from_json_ignores_unknown_fields():
    decoded = orjson.loads(alert().to_json())
    decoded["added_in_v2"] = True
    assert Alert.from_json(orjson.dumps(decoded)) == alert(wall_time=decoded["wall_time"])


def test_alert_is_frozen():
    with pytest.raises(ValidationError):
        alert().pages = False


def test_evidence_is_normalised_to_plain_json():
    produced = alert(
        evidence={
            "mrr_at_risk": np.float64(1200.5),
            "accounts": np.int64(3),
            "window": (1, 2),
            "tickets": {"T-2", "T-1"},
            "at": EVENT_TIME,
            "ratio": float("nan"),
        }
    )
    assert produced.evidence == {
        "mrr_at_risk": 1200.5,
        "accounts": 3,
        "window": [1, 2],
        "tickets": ["T-1", "T-2"],
        "at": "2026-03-02T14:20:00Z",
        "ratio": None,
    }
    assert type(produced.evidence["accounts"]) is int


def test_unserialisable_evidence_is_rejected_at_construction():
    with pytest.raises(ValidationError, match="evidence"):
        alert(evidence={"detector": object()})


def test_non_finite_numbers_are_clamped_or_dropped():
    produced = alert(score=float("inf"), expected=float("-inf"), observed=float("nan"))
    assert produced.score == sys.float_info.max
    assert produced.expected == -sys.float_info.max
    assert produced.observed is None
    assert orjson.loads(produced.to_json())["score"] == sys.float_info.max


@pytest.mark.parametrize("confidence", [-0.1, 1.01])
def test_release_confidence_is_a_probability(confidence):
    with pytest.raises(ValidationError, match="release_confidence"):
        alert(release_confidence=confidence)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "spike"),
        ("status", "open"),
        ("severity", "page"),
        ("dedup_key", ""),
        ("accounts_affected", -1),
    ],
)
def test_invalid_values_are_rejected(field, value):
    with pytest.raises(ValidationError, match=field):
        alert(**{field: value})


def test_summary_is_truncated_not_rejected():
    assert len(alert(summary="s" * 5000).summary) == 1024


def test_naive_event_time_is_rejected():
    with pytest.raises(ValidationError, match="timezone offset required"):
        alert(event_time=datetime(2026, 3, 2, 14, 20))


def test_ts_is_event_time_epoch_seconds():
    assert alert().ts == EVENT_TIME.timestamp()
