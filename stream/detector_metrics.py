"""Prometheus view of the detection engine: observed vs baseline per feature, and the engine's health.

* :class:`FeatureWindowMetrics` is the engine's ``on_window`` callback: for every closed (feature,
  window) it sets gauges of the last window (observed and expected tickets, accounts, CUSUM score) and
  adds to counters of observed and expected tickets, so that a recording rule can divide the increase
  of one by the other over any range.
* :class:`EngineHealthMetrics` reads the engine when Prometheus scrapes: event-time watermark and its
  delay behind the wall clock, state entries per detector, late and duplicate events dropped.

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> from detectors.engine import DetectionEngine
>>> registry = CollectorRegistry()
>>> windows = FeatureWindowMetrics(registry)
>>> engine = DetectionEngine(on_window=windows.observe)
>>> health = EngineHealthMetrics(engine, registry, clock=lambda: 1_772_460_000.0)
>>> registry.get_sample_value("spikewatch_event_time_watermark_delay_seconds") is None  # no event yet
True
>>> registry.get_sample_value("spikewatch_detector_state_entries", {"detector": "dedup"})
0.0
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stream.labels import LabelCap

__all__ = ["EngineHealthMetrics", "FeatureWindowMetrics", "WindowLike"]


class WindowLike(Protocol):
    """The fields of :class:`detectors.regression.WindowReport` read here."""

    feature: str
    end: float
    observed: int
    tickets: int
    expected: float
    active_accounts: int
    score: float
    warm: bool


_WINDOW_GAUGES = {
    "feature_tickets_observed": "Tickets in the feature's last closed window, each account capped.",
    "feature_tickets_expected": "Tickets the baseline expected in that window.",
    "feature_tickets_uncapped": "Tickets in the feature's last closed window before the per-account cap.",
    "feature_window_active_accounts": "Accounts with recent usage when the feature's last window closed.",
    "feature_cusum_score": "Largest CUSUM statistic (nats) of the feature after its last closed window.",
    "feature_warm": "1 once the feature has enough history to alert, else 0.",
    "feature_window_end_timestamp_seconds": "Event time at which the feature's last closed window ended.",
}


class FeatureWindowMetrics:
    """Gauges and counters of the regression detector's closed windows, by feature.

    Parameters
    ----------
    registry
        Where the metrics are registered.
    features
        Shared bound on the ``feature`` label; features beyond it are left out of these metrics (a
        gauge of "all other features" would mean nothing).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from prometheus_client import CollectorRegistry
    >>> registry = CollectorRegistry()
    >>> windows = FeatureWindowMetrics(registry)
    >>> windows.observe(SimpleNamespace(feature="sso", end=600.0, observed=9, tickets=11, expected=3.0,
    ...                                 active_accounts=40, score=4.2, warm=True))
    >>> registry.get_sample_value("spikewatch_feature_tickets_observed", {"feature": "sso"})
    9.0
    >>> registry.get_sample_value("spikewatch_feature_expected_tickets_total", {"feature": "sso"})
    3.0
    """

    def __init__(self, registry: CollectorRegistry, features: LabelCap | None = None) -> None:
        self.registry = registry
        self.features = LabelCap(500) if features is None else features
        labels = ["feature"]
        gauges = {name: Gauge(f"spikewatch_{name}", doc, labels, registry=registry)
                  for name, doc in _WINDOW_GAUGES.items()}  # fmt: skip
        self.observed = gauges["feature_tickets_observed"]
        self.expected = gauges["feature_tickets_expected"]
        self.raw_tickets = gauges["feature_tickets_uncapped"]
        self.active_accounts = gauges["feature_window_active_accounts"]
        self.score = gauges["feature_cusum_score"]
        self.warm = gauges["feature_warm"]
        self.window_end = gauges["feature_window_end_timestamp_seconds"]
        self.observed_total = Counter("spikewatch_feature_observed_tickets",
                                      "Tickets of the feature over closed windows, each account capped.",
                                      labels, registry=registry)  # fmt: skip
        self.expected_total = Counter("spikewatch_feature_expected_tickets",
                                      "Tickets the baseline expected over the same closed windows.",
                                      labels, registry=registry)  # fmt: skip

    def observe(self, report: WindowLike) -> None:
        """Record one closed window (the engine's ``on_window`` callback)."""
        feature = self.features.label(report.feature)
        if feature is None:
            return
        self.observed.labels(feature).set(report.observed)
        self.expected.labels(feature).set(report.expected)
        self.raw_tickets.labels(feature).set(report.tickets)
        self.active_accounts.labels(feature).set(report.active_accounts)
        self.score.labels(feature).set(report.score if math.isfinite(report.score) else 0.0)
        self.warm.labels(feature).set(1.0 if report.warm else 0.0)
        self.window_end.labels(feature).set(report.end)
        self.observed_total.labels(feature).inc(report.observed)
        self.expected_total.labels(feature).inc(max(report.expected, 0.0))


class EngineHealthMetrics(Collector):
    """Read ``engine`` (anything with ``watermark`` and ``stats``) at scrape time.

    Parameters
    ----------
    engine
        The worker's :class:`~detectors.engine.DetectionEngine`; replace it when the detection stage
        restores another one, set it to None when the stage moves to another worker (a frozen
        watermark would look stuck).
    registry
        Where the collector is registered (None: not registered).
    clock
        Wall time in Unix seconds, for the watermark delay.

    """

    def __init__(
        self,
        engine: Any,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.clock = clock
        if registry is not None:
            registry.register(self)

    def describe(self) -> list[Metric]:
        return []  # the detectors' names are only known from the engine; no clash checks needed

    def collect(self) -> Iterator[Metric]:
        if self.engine is None:  # this worker does not hold the detection stage (any more)
            return
        stats = self.engine.stats
        watermark = float(self.engine.watermark)
        if math.isfinite(watermark):
            yield GaugeMetricFamily(
                "spikewatch_event_time_watermark_timestamp_seconds",
                "Event time up to which the detectors' windows are final (max event time - lateness).",
                value=watermark,
            )
            yield GaugeMetricFamily(
                "spikewatch_event_time_watermark_delay_seconds",
                "Wall time minus the event-time watermark: how far detection trails the present.",
                value=self.clock() - watermark,
            )
        state = GaugeMetricFamily(
            "spikewatch_detector_state_entries",
            "Keys (accounts, features, windows, ticket ids) held in memory, by detector.",
            labels=["detector"],
        )
        for name, size in sorted(stats["state_size"].items()):
            state.add_metric([name], float(size))
        yield state
        yield CounterMetricFamily(
            "spikewatch_late_events_dropped",
            "Events older than the watermark, counted and left out of detection.",
            value=float(stats["late_dropped"]),
        )
        yield CounterMetricFamily(
            "spikewatch_duplicate_tickets",
            "Tickets delivered again (same ticket id) and left out of detection.",
            value=float(stats["duplicates"]),
        )
        yield GaugeMetricFamily(
            "spikewatch_cold_features",
            "Features seen but without enough history to alert yet.",
            value=float(len(stats["cold_features"])),
        )
