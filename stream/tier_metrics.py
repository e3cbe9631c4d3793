"""Tickets and active accounts by account tier, for "tickets per active account" panels.

Tickets carry a feature but not the account's tier; the tier comes from the account's latest profile
event. :class:`TierMetrics` wraps the worker's event sink: every event the sink applies (not the
redelivered ones) also updates a counter of tickets by feature and tier and the account's last usage
time. At scrape time it counts the accounts active by tier: usage within ``active_horizon`` seconds of
event time before the newest usage seen. Recording rules divide the ticket rate by the active
accounts (``deploy/prometheus/rules/recording.yml``).

Account ids stay inside the process: the labels are features and tiers, each capped.

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> from schemas.events import AccountEvent, TicketEvent, UsageEvent
>>> class Applied:
...     def handle(self, event, *, topic, partition, offset):
...         return True
>>> registry = CollectorRegistry()
>>> sink = TierMetrics(Applied(), registry)
>>> at = {"topic": "events", "partition": 0, "offset": 0}
>>> sink.handle(AccountEvent(account_id="a1", mrr=500, seats=10, tier="enterprise", time=1_772_460_000), **at)
True
>>> sink.handle(UsageEvent(account_id="a1", count=3, time=1_772_463_600), **at)
True
>>> sink.handle(TicketEvent(ticket_id="T-1", account_id="a1", feature="sso", time=1_772_463_700), **at)
True
>>> registry.get_sample_value("spikewatch_tier_tickets_total", {"feature": "sso", "tier": "enterprise"})
1.0
>>> registry.get_sample_value("spikewatch_active_accounts", {"tier": "enterprise"})
1.0
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas.events import Event
from stream.labels import LabelCap

__all__ = ["UNKNOWN_TIER", "AppliesEvents", "TierMetrics"]

#: Tier of an account that has not sent a profile yet.
UNKNOWN_TIER = "unknown"


class AppliesEvents(Protocol):
    """Same as :class:`stream.ingest.EventSink` (which imports the metrics, so not imported here)."""

    def handle(self, event: Event, *, topic: str, partition: int, offset: int) -> bool: ...


class TierMetrics(Collector):
    """An :class:`~stream.ingest.EventSink` that forwards to ``sink`` and keeps tier metrics.

    Parameters
    ----------
    sink
        The sink that really applies events (counters or detection).
    registry
        Where the metrics are registered.
    active_horizon
        An account is active while its last usage is at most this many seconds (event time) old.
    idle_horizon
        Accounts without usage for this long are forgotten (bounded memory).
    features, tiers
        Bounds on the ``feature`` and ``tier`` labels; values beyond them count as ``_other``.

    """

    def __init__(
        self,
        sink: AppliesEvents,
        registry: CollectorRegistry,
        *,
        active_horizon: float = 86_400.0,
        idle_horizon: float = 30 * 86_400.0,
        features: LabelCap | None = None,
        tiers: LabelCap | None = None,
    ) -> None:
        if not active_horizon > 0:
            raise ValueError(f"active_horizon must be > 0, got {active_horizon!r}")
        if not idle_horizon >= active_horizon:
            raise ValueError(f"idle_horizon must be >= active_horizon, got {idle_horizon!r}")
        self.sink = sink
        self.active_horizon = float(active_horizon)
        self.idle_horizon = float(idle_horizon)
        self.features = LabelCap(500) if features is None else features
        self.tiers = LabelCap(20) if tiers is None else tiers
        self._tier: dict[str, str] = {}
        self._last_usage: dict[str, float] = {}
        self._newest_usage = float("-inf")
        self.tickets = Counter(
            "spikewatch_tier_tickets",
            "Valid tickets by product feature and the account's tier (latest profile).",
            ["feature", "tier"],
            registry=registry,
        )
        registry.register(self)

    def handle(self, event: Event, *, topic: str, partition: int, offset: int) -> bool:
        """Forward ``event`` to the wrapped sink; if it was applied, count it here too."""
        applied = self.sink.handle(event, topic=topic, partition=partition, offset=offset)
        if applied:
            self._count(event)
        return applied

    def _count(self, event: Event) -> None:
        if event.type == "account":
            self._tier[event.account_id] = self.tiers.label_or_other(event.tier)
        elif event.type == "usage":
            ts = event.ts
            if ts > self._last_usage.get(event.account_id, float("-inf")):
                self._last_usage[event.account_id] = ts
            self._newest_usage = max(self._newest_usage, ts)
        elif event.type == "ticket":
            tier = self._tier.get(event.account_id, UNKNOWN_TIER)
            self.tickets.labels(self.features.label_or_other(event.feature), tier).inc()

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        idle_before = self._newest_usage - self.idle_horizon
        for account in [a for a, ts in self._last_usage.items() if ts < idle_before]:
            del self._last_usage[account]
        active_since = self._newest_usage - self.active_horizon
        active = Tally(
            self._tier.get(account, UNKNOWN_TIER)
            for account, ts in self._last_usage.items()
            if ts >= active_since
        )
        for tier in sorted(set(active) | set(self._tier.values())):
            family.add_metric([tier], float(active[tier]))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "spikewatch_active_accounts",
            "Accounts with usage in the last active_horizon of event time, by tier (latest profile).",
            labels=["tier"],
        )
