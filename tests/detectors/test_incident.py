from __future__ import annotations

from detectors.incident import MAX_SAMPLES, RegressionIncident, regression_alert

T = 1_772_460_300.0


def test_incident_alerts_share_the_dedup_key_and_record_what_they_said():
    incident = RegressionIncident("regression:sso:2026-03-02T14:05Z", 10, T)
    incident.observed, incident.expected, incident.accounts = 9, 2.0, {"a", "b", "c"}
    incident.release, incident.release_confidence = "v1.2.0", 0.8
    first = regression_alert("sso", incident, "firing", T + 600, window=300.0)
    assert not incident.grew
    incident.accounts |= {"d", "e"}
    assert incident.grew
    later = regression_alert("sso", incident, "resolved", T + 7200, window=300.0)
    assert first.dedup_key == later.dedup_key == incident.key
    assert first.release == "v1.2.0" and "after release v1.2.0" in first.summary
    assert first.started_at == later.started_at and first.alert_id != later.alert_id
    assert later.accounts_affected == 5


def test_samples_are_distinct_and_bounded():
    incident = RegressionIncident("k", 0, T)
    incident.add_samples(["t1", "t1", *(f"t{i}" for i in range(2, 20))])
    assert len(incident.samples) == MAX_SAMPLES == len(set(incident.samples))
