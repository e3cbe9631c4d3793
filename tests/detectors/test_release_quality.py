import pytest

from detectors.release_quality import ReleaseQuality
from schemas.alerts import Alert
from schemas.feedback import AlertLabel

T0 = 1_772_668_800.0


def alert(key: str, release: str | None, status: str = "firing", pages: bool = True, at: float = T0) -> Alert:
    return Alert(kind="regression", status=status, severity="critical", pages=pages, dedup_key=key,
                 summary="up", feature="imports", release=release, release_confidence=0.7,
                 started_at=T0, event_time=at)  # fmt: skip


def test_maxlen_is_validated():
    with pytest.raises(ValueError, match="maxlen"):
        ReleaseQuality(maxlen=0)


def test_one_incident_per_dedup_key_across_its_emissions():
    quality = ReleaseQuality()
    quality.observe(alert("r:a", "v2"))
    quality.observe(alert("r:a", "v2", status="updated", pages=False, at=T0 + 300))
    quality.observe(alert("r:a", "v2", status="resolved", pages=False, at=T0 + 900))
    quality.observe(alert("flood:x", None))
    [incident] = quality.incidents("v2")
    assert incident.paged and incident.started_at == T0
    assert quality.releases() == ["v2"]


def test_labels_attach_before_or_after_the_alert_and_the_latest_wins():
    quality = ReleaseQuality()
    quality.apply(AlertLabel(dedup_key="r:early", label="confirmed", time=T0))
    quality.observe(alert("r:early", "v3"))
    quality.observe(alert("r:late", "v3"))
    quality.apply(AlertLabel(dedup_key="r:late", label="false-alarm", time=T0))
    quality.apply(AlertLabel(dedup_key="r:late", label="expected", until=T0 + 60, time=T0 + 1))
    summary = quality.summary("v3")
    assert (summary["confirmed"], summary["expected"], summary["false-alarm"]) == (1, 1, 0)


def test_state_and_releases_stay_bounded():
    quality = ReleaseQuality(maxlen=5)
    for i in range(500):
        quality.observe(alert(f"r:{i}", f"v{i}"))
        quality.apply(AlertLabel(dedup_key=f"unknown:{i}", label="confirmed", time=T0))
    assert quality.releases() == [f"v{i}" for i in range(495, 500)]
    assert quality.state_size <= 5 + 50
    assert quality.summary("v0")["incidents"] == 0
