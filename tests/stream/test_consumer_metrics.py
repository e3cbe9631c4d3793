"""Consumer lag per partition: from the last record handled and the broker's high watermark at scrape."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from stream.consumer_metrics import ConsumerLag

P0 = {"topic": "events", "partition": "0"}


def test_lag_keeps_growing_at_scrape_time_while_no_record_completes():
    registry = CollectorRegistry()
    highwater = {("events", 0): 120}
    lag = ConsumerLag(registry, highwater=lambda topic, partition: highwater[(topic, partition)])
    lag.observe("events", 0, next_offset=100, highwater=120)
    assert registry.get_sample_value("spikewatch_consumer_lag_records", P0) == 20
    highwater[("events", 0)] = 500
    assert registry.get_sample_value("spikewatch_consumer_lag_records", P0) == 400


def test_a_failing_or_missing_highwater_keeps_the_last_seen_value():
    registry = CollectorRegistry()

    def broken(topic, partition):
        raise RuntimeError("consumer not started")

    lag = ConsumerLag(registry, highwater=broken)
    lag.observe("events", 0, next_offset=10, highwater=15)
    lag.observe("events", 0, next_offset=11, highwater=None)
    assert registry.get_sample_value("spikewatch_consumer_lag_records", P0) == 4


def test_lag_is_never_negative_and_revoked_partitions_disappear():
    registry = CollectorRegistry()
    lag = ConsumerLag(registry, highwater=lambda topic, partition: 3)  # stale cache behind the position
    lag.observe("events", 0, next_offset=10, highwater=None)
    lag.observe("events", 1, next_offset=5, highwater=9)
    assert registry.get_sample_value("spikewatch_consumer_lag_records", P0) == 0
    lag.forget("events", 1)
    p1 = {"topic": "events", "partition": "1"}
    assert registry.get_sample_value("spikewatch_consumer_lag_records", p1) is None
