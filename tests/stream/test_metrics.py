"""Worker metrics on a fresh registry: names, labels, lag and bounded feature labels."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from detectors.regression import WindowReport
from schemas.alerts import Alert
from stream.metrics import OTHER_FEATURE, WorkerMetrics

T0 = 1_772_460_000.0


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


def _alert(kind="regression", status="firing", severity="critical", key="regression:sso:1", **fields):
    base = {"pages": kind == "regression", "summary": f"{kind} {status}", "started_at": T0, "event_time": T0}
    return Alert(kind=kind, status=status, severity=severity, dedup_key=key, **{**base, **fields})


def test_alert_emissions_are_counted_and_open_alerts_follow_firing_and_resolution(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_alert(_alert())
    metrics.observe_alert(_alert(status="updated"))
    metrics.observe_alert(_alert("flood", severity="warning", key="flood:acme"))
    open_regressions = {"kind": "regression", "severity": "critical"}
    assert registry.get_sample_value("spikewatch_open_alerts", open_regressions) == 1
    updated = {"kind": "regression", "status": "updated"}
    assert registry.get_sample_value("spikewatch_alerts_emitted_total", updated) == 1
    metrics.observe_alert(_alert(status="resolved"))
    assert registry.get_sample_value("spikewatch_open_alerts", open_regressions) == 0
    assert registry.get_sample_value("spikewatch_open_alerts", {"kind": "flood", "severity": "warning"}) == 1


def test_a_severity_change_while_open_moves_the_count_instead_of_leaving_a_stale_one(registry):
    metrics = WorkerMetrics(registry)
    churn = {"kind": "churn_risk", "key": "churn_risk:a1:2026-03-05", "account_id": "a1", "tier": "smb"}
    metrics.observe_alert(_alert(severity="info", **churn))
    metrics.observe_alert(_alert(status="updated", severity="critical", **churn))

    def open_churn(severity):
        labels = {"kind": "churn_risk", "severity": severity}
        return registry.get_sample_value("spikewatch_open_alerts", labels)

    assert open_churn("info") == 0
    assert open_churn("critical") == 1
    metrics.observe_alert(_alert(status="resolved", severity="warning", **churn))
    assert [open_churn(severity) for severity in ("info", "warning", "critical")] == [0, 0, 0]


def test_handling_time_is_a_histogram_of_wall_seconds(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_handling(0.002)
    metrics.observe_handling(0.3)
    assert registry.get_sample_value("spikewatch_record_handling_seconds_count") == 2
    assert registry.get_sample_value("spikewatch_record_handling_seconds_bucket", {"le": "0.005"}) == 1
    assert registry.get_sample_value("spikewatch_record_handling_seconds_sum") == pytest.approx(0.302)


def test_batch_time_and_size_are_histograms(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe_batch(0.002, 1)
    metrics.observe_batch(0.3, 4000)
    assert registry.get_sample_value("spikewatch_ingest_batch_seconds_count") == 2
    assert registry.get_sample_value("spikewatch_ingest_batch_seconds_bucket", {"le": "0.005"}) == 1
    assert registry.get_sample_value("spikewatch_ingest_batch_seconds_sum") == pytest.approx(0.302)
    assert registry.get_sample_value("spikewatch_ingest_batch_records_bucket", {"le": "10.0"}) == 1
    assert registry.get_sample_value("spikewatch_ingest_batch_records_sum") == 4001


def test_feature_windows_share_the_feature_bound_with_ticket_counts(registry):
    metrics = WorkerMetrics(registry, max_features=1)
    metrics.observe_valid("ticket", feature="sso", event_time=0.0, wall_time=0.0)
    metrics.windows.observe(_window("sso", observed=4, expected=1.5))
    metrics.windows.observe(_window("api", observed=9, expected=2.0))
    assert registry.get_sample_value("spikewatch_feature_tickets_observed", {"feature": "sso"}) == 4
    assert registry.get_sample_value("spikewatch_feature_tickets_observed", {"feature": "api"}) is None
    other = {"feature": OTHER_FEATURE}
    assert registry.get_sample_value("spikewatch_feature_tickets_observed", other) is None


def test_the_top_churn_list_can_be_switched_off():
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry, top_churn_accounts=0)
    metrics.observe_alert(_alert("churn_risk", severity="warning", key="churn_risk:a1", account_id="a1",
                                 tier="smb", evidence={"mrr_at_risk": 120.0}))  # fmt: skip
    assert registry.get_sample_value("spikewatch_churn_mrr_at_risk", {"tier": "smb"}) == 120
    assert b"account_id" not in generate_latest(registry)


def _window(feature, *, observed, expected):
    return WindowReport(feature=feature, start=T0, end=T0 + 600, observed=observed, tickets=observed,
                        expected=expected, active_accounts=50, score=1.0, warm=True, gap=False)  # fmt: skip
