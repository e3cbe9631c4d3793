"""Worker metrics on a fresh registry: names, labels, lag and bounded feature labels."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from stream.metrics import OTHER_FEATURE, WorkerMetrics


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_valid_events_are_counted_by_type_and_tickets_by_feature(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_valid("ticket", feature="sso", event_time=100.0, wall_time=101.0)
    metrics.observe_valid("ticket", feature="sso", event_time=100.0, wall_time=101.0)
    metrics.observe_valid("usage", event_time=100.0, wall_time=101.0)
    assert registry.get_sample_value("spikewatch_events_total", {"type": "ticket"}) == 2
    assert registry.get_sample_value("spikewatch_events_total", {"type": "usage"}) == 1
    assert registry.get_sample_value("spikewatch_tickets_total", {"feature": "sso"}) == 2
    assert registry.get_sample_value("spikewatch_records_processed_total") == 3


def test_invalid_events_are_counted_by_reason(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_invalid("naive_time")
    metrics.observe_invalid("naive_time")
    metrics.observe_invalid("not_json")
    assert registry.get_sample_value("spikewatch_invalid_events_total", {"reason": "naive_time"}) == 2
    assert registry.get_sample_value("spikewatch_invalid_events_total", {"reason": "not_json"}) == 1
    assert registry.get_sample_value("spikewatch_events_total", {"type": "ticket"}) is None


def test_lag_is_wall_time_minus_event_time_in_seconds(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_valid("usage", event_time=1000.0, wall_time=1003.0)
    metrics.observe_valid("usage", event_time=1000.0, wall_time=1000.5)
    assert registry.get_sample_value("spikewatch_processing_lag_seconds_sum") == pytest.approx(3.5)
    assert registry.get_sample_value("spikewatch_processing_lag_seconds_count") == 2
    assert registry.get_sample_value("spikewatch_processing_lag_seconds_bucket", {"le": "1.0"}) == 1


def test_last_event_time_only_moves_forward(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_valid("usage", event_time=2000.0, wall_time=2001.0)
    metrics.observe_valid("usage", event_time=1500.0, wall_time=2002.0)  # a late event
    assert registry.get_sample_value("spikewatch_last_event_timestamp_seconds") == 2000.0


def test_duplicates_are_counted_apart(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_duplicate()
    assert registry.get_sample_value("spikewatch_duplicate_records_skipped_total") == 1
    assert registry.get_sample_value("spikewatch_records_processed_total") == 1


def test_feature_labels_are_bounded(registry):
    metrics = WorkerMetrics(registry, max_features=2)
    for feature in ("a", "b", "c", "d", "a"):
        metrics.observe_valid("ticket", feature=feature, event_time=0.0, wall_time=0.0)
    assert registry.get_sample_value("spikewatch_tickets_total", {"feature": "a"}) == 2
    assert registry.get_sample_value("spikewatch_tickets_total", {"feature": OTHER_FEATURE}) == 2
    assert registry.get_sample_value("spikewatch_tickets_total", {"feature": "c"}) is None


def test_two_containers_do_not_share_state():
    first, second = CollectorRegistry(), CollectorRegistry()
    WorkerMetrics(first).observe_invalid("not_json")
    WorkerMetrics(second)
    assert second.get_sample_value("spikewatch_invalid_events_total", {"reason": "not_json"}) is None
    assert b"spikewatch_invalid_events_total" in generate_latest(first)


def test_max_features_must_be_positive(registry):
    with pytest.raises(ValueError, match="max_features"):
        WorkerMetrics(registry, max_features=0)


def test_alert_emissions_are_counted_and_open_alerts_follow_firing_and_resolution():
    from prometheus_client import CollectorRegistry

    from stream.metrics import WorkerMetrics

    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry)
    metrics.observe_alert("regression", "firing", "critical")
    metrics.observe_alert("regression", "updated", "critical")
    metrics.observe_alert("flood", "firing", "warning")
    open_regressions = {"kind": "regression", "severity": "critical"}
    assert registry.get_sample_value("spikewatch_open_alerts", open_regressions) == 1
    updated = {"kind": "regression", "status": "updated"}
    assert registry.get_sample_value("spikewatch_alerts_emitted_total", updated) == 1
    metrics.observe_alert("regression", "resolved", "critical")
    assert registry.get_sample_value("spikewatch_open_alerts", open_regressions) == 0
    assert registry.get_sample_value("spikewatch_open_alerts", {"kind": "flood", "severity": "warning"}) == 1
