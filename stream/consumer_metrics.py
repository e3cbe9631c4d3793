"""Consumer lag per input partition: records the broker holds that the worker has not handled yet.

The agent notes the next offset it will handle in each partition as it goes; the broker's high
watermark is read when Prometheus scrapes, so the lag keeps growing while the worker is stuck on a
record, not only when a record completes. A revoked partition is forgotten (its new owner reports it).

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> lag = ConsumerLag(registry)
>>> lag.observe("events", 0, next_offset=90, highwater=100)
>>> registry.get_sample_value("spikewatch_consumer_lag_records", {"topic": "events", "partition": "0"})
10.0
>>> lag.highwater = lambda topic, partition: 250  # the fetcher has seen more since
>>> registry.get_sample_value("spikewatch_consumer_lag_records", {"topic": "events", "partition": "0"})
160.0
>>> lag.forget("events", 0)
>>> registry.get_sample_value("spikewatch_consumer_lag_records", {"topic": "events", "partition": "0"})
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["ConsumerLag"]

logger = logging.getLogger(__name__)


class ConsumerLag(Collector):
    """``spikewatch_consumer_lag_records{topic,partition}`` = high watermark − next offset to handle.

    Parameters
    ----------
    registry
        Where the collector is registered (None: not registered).
    highwater
        ``(topic, partition) -> high watermark or None``, read at scrape time (the consumer's cached
        value); None keeps the value seen with the last record.

    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        highwater: Callable[[str, int], int | None] | None = None,
    ) -> None:
        self.highwater = highwater
        self._positions: dict[tuple[str, int], tuple[int, int]] = {}
        if registry is not None:
            registry.register(self)

    def observe(self, topic: str, partition: int, *, next_offset: int, highwater: int | None) -> None:
        """Note the next offset to handle in ``topic``/``partition`` and the high watermark seen."""
        known = self._positions.get((topic, partition))
        high = highwater if highwater is not None else (known[1] if known else next_offset)
        self._positions[(topic, partition)] = (next_offset, high)

    def forget(self, topic: str, partition: int) -> None:
        """Stop reporting a partition this worker no longer holds."""
        self._positions.pop((topic, partition), None)

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for (topic, partition), (position, seen) in sorted(self._positions.items()):
            high = self._current_highwater(topic, partition)
            high = seen if high is None else max(high, seen)
            family.add_metric([topic, str(partition)], float(max(0, high - position)))
        yield family

    def _current_highwater(self, topic: str, partition: int) -> int | None:
        if self.highwater is None:
            return None
        try:
            return self.highwater(topic, partition)
        except Exception:  # a consumer between sessions has no fetch state; keep the last value seen
            logger.debug("no high watermark for %s[%d]", topic, partition, exc_info=True)
            return None

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "spikewatch_consumer_lag_records",
            "Records in the partition after the next one this worker will handle (high watermark - next).",
            labels=["topic", "partition"],
        )
