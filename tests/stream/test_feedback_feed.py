"""The worker's feedback feed: records held by key, applied to every engine detection starts from."""

from prometheus_client import CollectorRegistry

from detectors.engine import DetectionEngine
from detectors.feedback import FeedbackPolicy
from schemas.alerts import Alert
from schemas.feedback import AlertLabel, Silence
from stream.feedback import FeedbackFeed

T0 = 1_772_668_800.0


def page(key: str = "regression:sso:a", at: float = T0 + 600) -> Alert:
    return Alert(kind="regression", severity="critical", pages=True, dedup_key=key, summary="up",
                 feature="sso", release="v9", started_at=T0, event_time=at)  # fmt: skip


def silence(end: float, reason: str = "upgrade") -> Silence:
    return Silence(silence_id="s1", scope="feature", feature="sso", start=T0, end=end, reason=reason, time=T0)


def test_records_before_the_engine_reach_it_and_the_latest_per_key_wins():
    feed = FeedbackFeed()
    feed.on_record(silence(T0 + 60, reason="first try"))
    feed.on_record(silence(T0 + 7200))  # same key: replaces the first
    engine = DetectionEngine(feedback=FeedbackPolicy())
    feed.attach(engine)
    gated = engine.feedback.gate(page())
    assert len(feed) == 1
    assert (gated.pages, gated.evidence["paging_suppressed"]) == (False, "silence: upgrade")


def test_a_restored_engine_gets_everything_again_without_double_counting():
    feed = FeedbackFeed()
    first = DetectionEngine(feedback=FeedbackPolicy())
    feed.attach(first)
    first.feedback.gate(page())
    feed.on_record(AlertLabel(dedup_key="regression:sso:a", label="false-alarm", time=T0 + 900))
    factor = first.feedback.threshold_factor("sso", at=T0 + 900)
    assert factor > 1.0
    feed.attach(first)  # a restore hands the same (snapshotted) policy the topic again
    assert first.feedback.threshold_factor("sso", at=T0 + 900) == factor


def test_an_engine_from_an_old_snapshot_gets_a_policy():
    feed = FeedbackFeed()
    feed.on_record(silence(T0 + 7200))
    engine = DetectionEngine()
    feed.attach(engine)
    assert engine.feedback is not None and engine.regression._feedback is engine.feedback


def test_labels_and_published_alerts_feed_the_release_quality_metric():
    registry = CollectorRegistry()
    feed = FeedbackFeed(registry)
    feed.observe_alert(page())
    feed.on_record(AlertLabel(dedup_key="regression:sso:a", label="confirmed", time=T0 + 900))
    value = registry.get_sample_value("spikewatch_release_incidents", {"release": "v9", "label": "confirmed"})
    assert value == 1.0
    assert registry.get_sample_value("spikewatch_feedback_records_total", {"type": "label"}) == 1.0
