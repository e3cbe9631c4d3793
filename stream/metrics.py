"""Prometheus metrics of the ingest worker, in base units and with bounded labels only.

Every metric lives in the registry handed to :class:`WorkerMetrics`, never in the global default one,
so tests and several apps in one process do not share counters. Labels are the event type, the
feature and the rejection reason; never account ids, whose number grows with the customer base.

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> metrics = WorkerMetrics(registry)
>>> metrics.observe_valid("ticket", feature="checkout", event_time=1_700_000_000, wall_time=1_700_000_002.5)
>>> metrics.observe_invalid("not_json")
>>> registry.get_sample_value("spikewatch_events_total", {"type": "ticket"})
1.0
>>> registry.get_sample_value("spikewatch_tickets_total", {"feature": "checkout"})
1.0
>>> registry.get_sample_value("spikewatch_records_processed_total")
2.0
>>> registry.get_sample_value("spikewatch_processing_lag_seconds_sum")
2.5

The alert, window, tier, engine and consumer-lag views live in their own modules
(:mod:`stream.alert_metrics`, :mod:`stream.detector_metrics`, :mod:`stream.tier_metrics`,
:mod:`stream.consumer_metrics`); :class:`WorkerMetrics` builds them on the same registry and shares one
bound on the ``feature`` label between them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.alerts import Alert
from stream.alert_metrics import OpenAlertMetrics
from stream.consumer_metrics import ConsumerLag
from stream.detector_metrics import EngineHealthMetrics, FeatureWindowMetrics
from stream.labels import OTHER, LabelCap
from stream.tier_metrics import AppliesEvents, TierMetrics

__all__ = ["BATCH_BUCKETS", "HANDLING_BUCKETS", "LAG_BUCKETS", "OTHER_FEATURE", "WorkerMetrics"]

#: Processing lag buckets, seconds: from live traffic (sub-second) to replays of old data (days).
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400, 604800)
#: Wall seconds spent on one input record or one batch (parse, count, sends): sub-ms to seconds.
HANDLING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
#: Records per ingest batch: from a trickle (one record) to a full fetch.
BATCH_BUCKETS = (1, 10, 100, 500, 1000, 2000, 4000, 10000)
#: Label used for features beyond ``max_features``, which keeps the series count bounded.
OTHER_FEATURE = OTHER


class WorkerMetrics:
    """Counters, gauges and histograms of one worker, registered in ``registry``.

    Parameters
    ----------
    registry
        Where the metrics are registered; a fresh :class:`~prometheus_client.CollectorRegistry` per app.
    max_features
        Distinct ``feature`` label values kept; later features are counted under ``_other``.
    top_churn_accounts
        Accounts listed by ``spikewatch_churn_risk_account_mrr_at_risk``; 0 leaves that metric out.

    Attributes
    ----------
    alerts
        Open incidents by kind, open regressions and churn MRR at risk (:class:`OpenAlertMetrics`).
    windows
        Observed vs expected tickets per feature; pass ``windows.observe`` as the engine's ``on_window``.
    consumer_lag
        Records behind the high watermark per input partition.

    """

    def __init__(
        self, registry: CollectorRegistry, max_features: int = 500, top_churn_accounts: int = 10
    ) -> None:
        if max_features < 1:
            raise ValueError(f"max_features must be at least 1, got {max_features}")
        self.registry = registry
        self.max_features = max_features
        self.top_churn_accounts = top_churn_accounts
        self._features = LabelCap(max_features)
        self.alerts = OpenAlertMetrics(registry, top_churn_accounts=top_churn_accounts)
        self.windows = FeatureWindowMetrics(registry, features=self._features)
        self.consumer_lag = ConsumerLag(registry)
        self._latest_event_time = float("-inf")
        self.records_processed = Counter(
            "spikewatch_records_processed",
            "Input records handled, valid or not.",
            registry=registry,
        )
        self.events = Counter(
            "spikewatch_events",
            "Valid events counted, by event type.",
            ["type"],
            registry=registry,
        )
        self.tickets = Counter(
            "spikewatch_tickets",
            "Valid ticket events counted, by product feature.",
            ["feature"],
            registry=registry,
        )
        self.invalid_events = Counter(
            "spikewatch_invalid_events",
            "Input records rejected and sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.duplicates_skipped = Counter(
            "spikewatch_duplicate_records_skipped",
            "Records already applied before a restart and skipped when delivered again.",
            registry=registry,
        )
        self.records_reread = Counter(
            "spikewatch_records_reread",
            "Records that arrived ahead of their partition's order and were read again in turn.",
            registry=registry,
        )
        self.processing_lag = Histogram(
            "spikewatch_processing_lag_seconds",
            "Wall time at processing minus event time of valid events.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.alerts_emitted = Counter(
            "spikewatch_alerts_emitted",
            "Alert emissions published, by kind and status (firing, updated, resolved).",
            ["kind", "status"],
            registry=registry,
        )
        self.handling_time = Histogram(
            "spikewatch_record_handling_seconds",
            "Wall seconds the ingest agent spent on one input record, sends to Kafka included.",
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.batch_time = Histogram(
            "spikewatch_ingest_batch_seconds",
            "Wall seconds the batch ingest stage spent on one batch of records, its transaction included.",
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.batch_records = Histogram(
            "spikewatch_ingest_batch_records",
            "Input records per ingest batch (one Kafka transaction each).",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.ingest_partitions = Gauge(
            "spikewatch_ingest_partitions",
            "Input partitions this worker's ingest stage holds (counts restored, reading).",
            registry=registry,
        )
        self.last_event_time = Gauge(
            "spikewatch_last_event_timestamp_seconds",
            "Event time of the most recent valid event, Unix seconds.",
            registry=registry,
        )

    def observe_valid(
        self, event_type: str, *, event_time: float, wall_time: float, feature: str | None = None
    ) -> None:
        """Count one valid event of ``event_type`` (``feature`` for tickets) and its processing lag.

        ``event_time`` and ``wall_time`` are Unix seconds; the lag is their difference.
        """
        self.records_processed.inc()
        self.events.labels(type=event_type).inc()
        if feature is not None:
            self.tickets.labels(feature=self._feature_label(feature)).inc()
        self.processing_lag.observe(wall_time - event_time)
        if event_time > self._latest_event_time:
            self._latest_event_time = event_time
            self.last_event_time.set(event_time)

    def observe_alert(self, alert: Alert) -> None:
        """Count one published alert emission and keep the open-incident metrics current."""
        self.alerts_emitted.labels(kind=alert.kind, status=alert.status).inc()
        self.alerts.observe(alert)

    def observe_handling(self, seconds: float) -> None:
        """Record the wall time spent handling one input record."""
        self.handling_time.observe(seconds)

    def observe_batch(self, seconds: float, records: int) -> None:
        """Record the wall time spent on one ingest batch of ``records`` input records."""
        self.batch_time.observe(seconds)
        self.batch_records.observe(records)

    def watch_engine(self, engine: Any) -> EngineHealthMetrics:
        """Export ``engine``'s watermark, its delay and state sizes at each scrape."""
        return EngineHealthMetrics(engine, self.registry)

    def by_tier(self, sink: AppliesEvents) -> TierMetrics:
        """``sink`` wrapped so that tickets by tier and active accounts by tier are counted too."""
        return TierMetrics(sink, self.registry, features=self._features)

    def observe_invalid(self, reason: str) -> None:
        """Count one rejected record by its rejection ``reason``."""
        self.records_processed.inc()
        self.invalid_events.labels(reason=reason).inc()

    def observe_duplicate(self) -> None:
        """Count one redelivered record that had already been applied."""
        self.records_processed.inc()
        self.duplicates_skipped.inc()

    def observe_reread(self) -> None:
        """Count one record set aside because it came before the records due ahead of it."""
        self.records_reread.inc()

    def _feature_label(self, feature: str) -> str:
        return self._features.label_or_other(feature)
