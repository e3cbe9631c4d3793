"""Tickets by feature and tier, and active accounts by tier, counted by the sink wrapper."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from schemas.events import AccountEvent, TicketEvent, UsageEvent
from stream.labels import OTHER, LabelCap
from stream.tier_metrics import UNKNOWN_TIER, TierMetrics

T0 = 1_772_460_000.0
AT = {"topic": "events", "partition": 0, "offset": 0}


class Sink:
    """Applies every event once per offset, like the counters."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def handle(self, event, *, topic, partition, offset) -> bool:
        if offset in self.seen:
            return False
        self.seen.add(offset)
        return True


def feed(sink: TierMetrics, events, start: int = 0) -> None:
    for offset, event in enumerate(events, start):
        sink.handle(event, topic="events", partition=0, offset=offset)


def profile(account: str, tier: str, t: float = T0) -> AccountEvent:
    return AccountEvent(account_id=account, mrr=100, seats=5, tier=tier, time=t)


def test_tickets_are_counted_by_feature_and_the_accounts_latest_tier():
    registry = CollectorRegistry()
    sink = TierMetrics(Sink(), registry)
    feed(sink, [profile("a1", "self-serve"),
                TicketEvent(ticket_id="T-1", account_id="a1", feature="sso", time=T0 + 10),
                profile("a1", "enterprise", T0 + 20),  # upgraded
                TicketEvent(ticket_id="T-2", account_id="a1", feature="sso", time=T0 + 30),
                TicketEvent(ticket_id="T-3", account_id="nobody", feature="api", time=T0 + 40)])  # fmt: skip
    count = registry.get_sample_value
    assert count("spikewatch_tier_tickets_total", {"feature": "sso", "tier": "self-serve"}) == 1
    assert count("spikewatch_tier_tickets_total", {"feature": "sso", "tier": "enterprise"}) == 1
    assert count("spikewatch_tier_tickets_total", {"feature": "api", "tier": UNKNOWN_TIER}) == 1


def test_redelivered_records_are_not_counted_twice():
    registry = CollectorRegistry()
    sink = TierMetrics(Sink(), registry)
    ticket = TicketEvent(ticket_id="T-1", account_id="a1", feature="sso", time=T0)
    assert sink.handle(ticket, **AT) is True
    assert sink.handle(ticket, **AT) is False
    unknown = {"feature": "sso", "tier": UNKNOWN_TIER}
    assert registry.get_sample_value("spikewatch_tier_tickets_total", unknown) == 1


def test_active_accounts_are_those_with_usage_within_the_horizon_of_the_newest_usage():
    registry = CollectorRegistry()
    sink = TierMetrics(Sink(), registry, active_horizon=3600, idle_horizon=7200)
    feed(sink, [profile("a1", "enterprise"), profile("a2", "enterprise"), profile("a3", "smb"),
                UsageEvent(account_id="a1", time=T0),
                UsageEvent(account_id="a2", time=T0 + 5000),
                UsageEvent(account_id="a3", time=T0 + 5400)])  # fmt: skip
    assert registry.get_sample_value("spikewatch_active_accounts", {"tier": "enterprise"}) == 1  # a1 too old
    assert registry.get_sample_value("spikewatch_active_accounts", {"tier": "smb"}) == 1
    feed(sink, [UsageEvent(account_id="a3", time=T0 + 20_000)], start=100)
    # a2 went idle past idle_horizon and is forgotten; the tier stays listed, at zero
    assert registry.get_sample_value("spikewatch_active_accounts", {"tier": "enterprise"}) == 0


def test_tier_and_feature_labels_are_bounded_and_accounts_never_appear():
    registry = CollectorRegistry()
    sink = TierMetrics(Sink(), registry, tiers=LabelCap(1), features=LabelCap(1))
    secret = "acct-secret-2"
    feed(sink, [profile("acct-secret-1", "enterprise"), profile(secret, "made-up-tier"),
                TicketEvent(ticket_id="T-1", account_id=secret, feature="sso", time=T0),
                TicketEvent(ticket_id="T-2", account_id=secret, feature="api", time=T0)])  # fmt: skip
    assert registry.get_sample_value("spikewatch_tier_tickets_total", {"feature": "sso", "tier": OTHER}) == 1
    assert registry.get_sample_value("spikewatch_tier_tickets_total", {"feature": OTHER, "tier": OTHER}) == 1
    assert b"acct-secret" not in generate_latest(registry)


@pytest.mark.parametrize(("active", "idle"), [(0, 10), (100, 10)])
def test_horizons_are_checked(active, idle):
    with pytest.raises(ValueError, match="horizon"):
        TierMetrics(Sink(), CollectorRegistry(), active_horizon=active, idle_horizon=idle)
