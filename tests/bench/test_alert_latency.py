import pytest

from bench.alert_latency import Burst, build_stream, match_alerts, offline


@pytest.fixture(scope="module")
def stream():
    return build_stream(accounts=100, history_days=8, bursts=2, burst_accounts=25)


def test_bursts_rotate_features_and_come_after_the_history(stream):
    assert len(stream.bursts) == 2
    assert stream.bursts[0].feature != stream.bursts[1].feature
    assert all(b.release_at > stream.live_from for b in stream.bursts)
    assert stream.times == sorted(stream.times)


def test_every_planted_burst_pages_offline(stream):
    alerts = offline(stream)
    assert all(alert is not None for alert in alerts)
    for burst, alert in zip(stream.bursts, alerts, strict=True):
        assert alert["feature"] == burst.feature and alert["pages"]


def test_match_takes_the_first_firing_alert_of_the_feature_after_the_release():
    burst = Burst("sso", release_at=1000.0, first_ticket=1600.0, accounts=5, tickets_each=2)
    alerts = [
        {"kind": "regression", "status": "firing", "feature": "sso", "event_time": 900.0},  # before
        {"kind": "regression", "status": "updated", "feature": "sso", "event_time": 1700.0},
        {"kind": "regression", "status": "firing", "feature": "sso", "event_time": "1970-01-01T00:30:00Z"},
        {"kind": "regression", "status": "firing", "feature": "sso", "event_time": 1900.0},
    ]
    assert match_alerts([burst], alerts)[0]["event_time"] == "1970-01-01T00:30:00Z"
