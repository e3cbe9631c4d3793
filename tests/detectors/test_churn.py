"""Silent churn risk on small hand-made streams of real events."""

from __future__ import annotations

import datetime as dt
import pickle
import random

import pytest

from detectors.churn import SilentChurnDetector
from schemas.events import AccountEvent, TicketEvent, UsageEvent

MONDAY = 1_772_409_600.0  # 2026-03-02T00:00Z
DAY = 86_400.0
HOURS = (9, 12, 15, 18)  # usage arrives as four aggregates a day


def stream(days=35, accounts=30, seed=0, usage=None, tickets=None, gap_day=None, first_day=None):
    """Events of a small world; ``usage(acc, day)`` and ``tickets(acc, day)`` give multipliers/counts."""
    rng = random.Random(seed)
    sizes = {f"acc-{i:02d}": rng.choice([60, 120, 250, 500]) for i in range(accounts)}
    events = []
    for acc, size in sizes.items():
        events.append(
            AccountEvent(
                account_id=acc,
                mrr=size * 2.0,
                seats=20,
                tier="business",
                renewal_date=dt.date(2026, 4, 20),
                owner="csm-ana",
                time=MONDAY,
            )
        )
    for day in range(days):
        weekday_factor = 0.25 if day % 7 >= 5 else 1.0
        for acc, size in sizes.items():
            if first_day and day < first_day.get(acc, 0):
                continue
            mult = usage(acc, day) if usage else 1.0
            for hour in HOURS:
                if gap_day == day and hour >= 9:
                    continue
                mean = size * weekday_factor * mult / len(HOURS)
                count = max(0, round(rng.gauss(mean, mean**0.5)))
                events.append(UsageEvent(account_id=acc, count=count, time=MONDAY + day * DAY + hour * 3600))
            n = tickets(acc, day) if tickets else (1 if rng.random() < 0.3 else 0)
            for k in range(n):
                events.append(
                    TicketEvent(
                        ticket_id=f"{acc}-{day}-{k}",
                        account_id=acc,
                        feature="search",
                        time=MONDAY + day * DAY + 10 * 3600 + k,
                    )
                )
    events.sort(key=lambda e: e.ts)
    return events


def run(detector, events):
    alerts = []
    for event in events:
        detector.learn_one(event)
        alerts += detector.advance(event.ts - 600)
    alerts += detector.advance(events[-1].ts + 2 * DAY)
    return alerts


def churner(name, start_day, level=0.2):
    return lambda acc, day: level if acc == name and day >= start_day else 1.0


def test_churner_is_flagged_within_three_days_and_nobody_else():
    det = SilentChurnDetector()
    events = stream(
        usage=churner("acc-03", 17), tickets=lambda acc, day: 0 if acc == "acc-03" else day % 3 == 0
    )
    alerts = [a for a in run(det, events) if a.status == "firing"]
    assert [a.account_id for a in alerts] == ["acc-03"]
    assert det.is_warm
    alert = alerts[0]
    assert alert.kind == "churn_risk" and not alert.pages
    assert alert.ts - (MONDAY + 17 * DAY) <= 2 * DAY  # a handful of low aggregates (4 a day here)
    assert alert.started_at.timestamp() >= MONDAY + 16 * DAY
    assert alert.dedup_key.startswith("churn_risk:acc-03:")
    assert alert.observed < alert.expected * 0.5
    assert alert.evidence["mrr"] > 0 and alert.evidence["renewal_date"] == "2026-04-20"
    assert alert.evidence["days_declining"] >= 1 and alert.evidence["log_likelihood_ratio"] >= det.threshold


def test_decline_starting_before_a_weekend_is_flagged_within_three_days():
    # Weekend days carry little evidence but do not break the run: the evidence keeps building.
    det = SilentChurnDetector()
    friday = 18
    events = stream(usage=churner("acc-03", friday, level=0.3), tickets=lambda acc, day: 0)
    alerts = [a for a in run(det, events) if a.status == "firing"]
    assert [a.account_id for a in alerts] == ["acc-03"]
    assert alerts[0].ts - (MONDAY + friday * DAY) <= 3 * DAY


def test_one_missing_aggregate_of_a_big_account_is_not_a_decline():
    def lost_hour(acc, day):
        return 1.0

    events = [
        e
        for e in stream(usage=lost_hour, tickets=lambda acc, day: 0)
        if not (e.type == "usage" and e.account_id == "acc-04" and e.ts == MONDAY + 16 * DAY + 12 * 3600)
    ]
    det = SilentChurnDetector()
    assert [a for a in run(det, events) if a.account_id == "acc-04"] == []


def test_holiday_and_data_gap_flag_nobody():
    holiday = 15

    def everyone_quiet(acc, day):
        return 0.2 if day == holiday else 1.0

    det = SilentChurnDetector()
    alerts = run(det, stream(usage=everyone_quiet, gap_day=19))
    assert alerts == []
    assert det.stats["days_not_learnt"] >= 2  # neither the holiday nor the gap trained a baseline


def test_account_with_falling_usage_and_many_tickets_is_not_silent():
    det = SilentChurnDetector()
    loud = churner("acc-05", 17, level=0.3)
    events = stream(usage=loud, tickets=lambda acc, day: 6 if acc == "acc-05" and day >= 17 else 0)
    assert [a for a in run(det, events) if a.account_id == "acc-05"] == []
    assert det.stats["not_silent"] >= 1


def test_cold_account_does_not_alert():
    det = SilentChurnDetector(min_history_days=7)
    events = stream(days=22, usage=churner("acc-07", 18, level=0.1), first_day={"acc-07": 15})
    cold_while_declining = []
    for event in events:
        det.learn_one(event)
        assert det.advance(event.ts - 600) == []
        if det._hour // 24 >= MONDAY // DAY + 18:
            cold_while_declining.append("acc-07" in det.stats["cold_accounts"])
    assert cold_while_declining and all(cold_while_declining)


def test_cold_accounts_are_listed_in_stats():
    det = SilentChurnDetector(min_history_days=7)
    run(det, stream(days=10, first_day={"acc-07": 6}))
    assert "acc-07" in det.stats["cold_accounts"]
    assert "acc-01" not in det.stats["cold_accounts"]


def test_episode_resolves_when_usage_recovers():
    det = SilentChurnDetector()

    def dip(acc, day):
        return 0.15 if acc == "acc-02" and 15 <= day < 20 else 1.0

    alerts = run(det, stream(usage=dip, tickets=lambda acc, day: 0))
    statuses = [(a.status, a.dedup_key) for a in alerts if a.account_id == "acc-02"]
    assert [s for s, _ in statuses] == ["firing", "resolved"]
    assert statuses[0][1] == statuses[1][1]
    assert det.ranked() == []


def test_ranked_orders_open_risks_by_revenue_at_risk():
    det = SilentChurnDetector()

    def two_churners(acc, day):
        return 0.1 if acc in ("acc-01", "acc-04") and day >= 16 else 1.0

    run(det, stream(usage=two_churners, tickets=lambda acc, day: 0))
    ranked = det.ranked()
    assert {r.account_id for r in ranked} == {"acc-01", "acc-04"}
    assert ranked[0].priority >= ranked[1].priority
    assert all(r.priority >= r.mrr_at_risk > 0 for r in ranked)  # renewal within 90 days raises priority
    assert len(det.ranked(limit=1)) == 1


def test_score_one_works_before_learning_and_does_not_change_state():
    det = SilentChurnDetector()
    event = UsageEvent(account_id="x", count=3, time=MONDAY)
    assert det.score_one(event) == 0.0
    run(det, stream(usage=churner("acc-03", 17), tickets=lambda acc, day: 0))
    before = pickle.dumps(det)
    assert det.score_one(UsageEvent(account_id="acc-03", count=1, time=MONDAY)) > 0.5
    assert pickle.dumps(det) == before


def test_state_is_bounded_and_idle_accounts_are_evicted():
    det = SilentChurnDetector(idle_days=5)
    events = stream(
        days=30,
        accounts=12,
        usage=lambda acc, day: 0.0 if acc == "acc-00" and day >= 10 else 1.0,
        tickets=lambda acc, day: 0,
    )
    run(det, events)
    assert "acc-00" not in det._peers.levels
    assert det.state_size <= 2 * 12
    per_account = len(pickle.dumps(det._peers.levels["acc-01"]))
    assert per_account < 1024


def test_ignores_other_event_kinds_and_unknown_accounts_cheaply():
    det = SilentChurnDetector()
    det.learn_one(TicketEvent(ticket_id="t", account_id="a", feature="f", time=MONDAY))
    assert det.advance(MONDAY + 3 * DAY) == []
    assert not det.is_warm


@pytest.mark.parametrize("kwargs, name", [
    ({"drop_ratio": 1.2}, "drop_ratio"), ({"threshold": 0}, "threshold"), ({"hour_cap": -1}, "hour_cap"),
    ({"fire_ratio": 1.0}, "fire_ratio"), ({"silence_ratio": -1}, "silence_ratio"),
    ({"recover_days": 0}, "recover_days"), ({"min_peers": 0}, "min_peers"),
])  # fmt: skip
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SilentChurnDetector(**kwargs)


def test_clone_keeps_parameters():
    det = SilentChurnDetector(threshold=12.0)
    assert det.clone().threshold == 12.0
