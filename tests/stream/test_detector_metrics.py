"""Observed vs expected per feature from the engine's windows, and the engine's health at scrape time."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from detectors.engine import DetectionEngine
from detectors.regression import WindowReport
from schemas.events import TicketEvent, UsageEvent
from stream.detector_metrics import EngineHealthMetrics, FeatureWindowMetrics
from stream.labels import LabelCap

T0 = 1_772_460_000.0


def window(feature: str, observed: int, expected: float, end: float = T0 + 300) -> WindowReport:
    return WindowReport(feature=feature, start=end - 300, end=end, observed=observed, tickets=observed + 1,
                        expected=expected, active_accounts=40, score=2.5, warm=True, gap=False)  # fmt: skip


def test_gauges_show_the_last_window_and_counters_sum_all_windows():
    registry = CollectorRegistry()
    windows = FeatureWindowMetrics(registry)
    windows.observe(window("sso", 3, 2.0))
    windows.observe(window("sso", 9, 2.5, end=T0 + 600))
    sso = {"feature": "sso"}
    assert registry.get_sample_value("spikewatch_feature_tickets_observed", sso) == 9
    assert registry.get_sample_value("spikewatch_feature_tickets_expected", sso) == 2.5
    assert registry.get_sample_value("spikewatch_feature_tickets_uncapped", sso) == 10
    assert registry.get_sample_value("spikewatch_feature_window_end_timestamp_seconds", sso) == T0 + 600
    assert registry.get_sample_value("spikewatch_feature_observed_tickets_total", sso) == 12
    assert registry.get_sample_value("spikewatch_feature_expected_tickets_total", sso) == 4.5


def test_features_beyond_the_bound_are_left_out():
    registry = CollectorRegistry()
    windows = FeatureWindowMetrics(registry, features=LabelCap(1))
    windows.observe(window("sso", 3, 2.0))
    windows.observe(window("api", 3, 2.0))
    assert registry.get_sample_value("spikewatch_feature_tickets_observed", {"feature": "api"}) is None


def test_the_engine_feeds_window_metrics_and_health_from_real_events():
    registry = CollectorRegistry()
    windows = FeatureWindowMetrics(registry)
    engine = DetectionEngine(allowed_lateness=600, on_window=windows.observe)
    EngineHealthMetrics(engine, registry, clock=lambda: T0 + 7 * 86_400)
    for i in range(24 * 12):  # a day of usage and tickets, five minutes apart
        engine.process(UsageEvent(account_id=f"a{i % 7}", count=5, time=T0 + 300 * i))
        ticket = TicketEvent(ticket_id=f"T-{i}", account_id=f"a{i % 7}", feature="sso", time=T0 + 300 * i)
        engine.process(ticket)
    engine.process(TicketEvent(ticket_id="T-1", account_id="a1", feature="sso", time=T0 + 300 * 287))  # again
    watermark = registry.get_sample_value("spikewatch_event_time_watermark_timestamp_seconds")
    assert watermark == engine.watermark
    delay = registry.get_sample_value("spikewatch_event_time_watermark_delay_seconds")
    assert delay == pytest.approx(T0 + 7 * 86_400 - engine.watermark)
    assert registry.get_sample_value("spikewatch_detector_state_entries", {"detector": "dedup"}) > 0
    assert registry.get_sample_value("spikewatch_duplicate_tickets_total") == 1
    assert registry.get_sample_value("spikewatch_feature_observed_tickets_total", {"feature": "sso"}) > 0


def test_a_replaced_engine_is_read_at_the_next_scrape():
    registry = CollectorRegistry()
    health = EngineHealthMetrics(DetectionEngine(), registry)
    restored = DetectionEngine()
    restored.process(UsageEvent(account_id="a", time=T0))
    assert registry.get_sample_value("spikewatch_event_time_watermark_timestamp_seconds") is None
    health.engine = restored
    assert registry.get_sample_value("spikewatch_event_time_watermark_timestamp_seconds") == T0 - 600


def test_no_engine_no_engine_series():
    registry = CollectorRegistry()
    health = EngineHealthMetrics(DetectionEngine(), registry)
    health.engine = None
    assert registry.get_sample_value("spikewatch_detector_state_entries", {"detector": "dedup"}) is None
