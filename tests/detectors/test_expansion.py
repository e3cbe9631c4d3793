"""Expansion candidates on small hand-made streams of real events."""

from __future__ import annotations

import random

import pytest

from detectors.expansion import ExpansionDetector, robust_trend
from schemas.events import AccountEvent, TicketEvent, UsageEvent

MONDAY = 1_772_409_600.0
DAY = 86_400.0


def stream(growth=None, seats_used=None, tickets=None, days=35, accounts=20, seed=1):
    rng = random.Random(seed)
    events = []
    for day in range(days):
        weekday_factor = 0.25 if day % 7 >= 5 else 1.0
        for i in range(accounts):
            acc = f"acc-{i:02d}"
            used = seats_used(acc, day) if seats_used else 10
            events.append(
                AccountEvent(
                    account_id=acc,
                    mrr=500.0,
                    seats=20,
                    seats_used=used,
                    tier="business",
                    time=MONDAY + day * DAY + 60,
                )
            )
            mean = 300 * weekday_factor * (growth(acc, day) if growth else 1.0)
            count = max(0, round(rng.gauss(mean, mean**0.5)))
            events.append(UsageEvent(account_id=acc, count=count, time=MONDAY + day * DAY + 13 * 3600))
            for k in range(tickets(acc, day) if tickets else int(rng.random() < 0.2)):
                events.append(
                    TicketEvent(
                        ticket_id=f"{acc}-{day}-{k}",
                        account_id=acc,
                        feature="api",
                        time=MONDAY + day * DAY + 14 * 3600 + k,
                    )
                )
    return events


def run(det, events):
    alerts = []
    for event in events:
        det.learn_one(event)
        alerts += det.advance(event.ts - 600)
    return alerts + det.advance(events[-1].ts + 2 * DAY)


def ramp(name, start=8, per_day=0.04):
    return lambda acc, day: (1 + per_day) ** max(0, day - start) if acc == name else 1.0


def near_limit(name):
    return lambda acc, day: 18 if acc == name else 10


def test_expander_is_found_and_nobody_else():
    alerts = run(ExpansionDetector(), stream(growth=ramp("acc-04"), seats_used=near_limit("acc-04")))
    firing = [a for a in alerts if a.status == "firing"]
    assert [a.account_id for a in firing] == ["acc-04"]
    assert firing[0].kind == "expansion" and not firing[0].pages
    assert firing[0].evidence["weekly_growth"] > 0.1 and firing[0].evidence["seats_used"] == 18


def test_growth_far_from_the_seat_limit_is_not_a_candidate():
    assert run(ExpansionDetector(), stream(growth=ramp("acc-04"))) == []


def test_full_seats_without_growth_is_not_a_candidate():
    assert run(ExpansionDetector(), stream(seats_used=near_limit("acc-04"))) == []


def test_growth_with_high_friction_is_not_a_candidate():
    det = ExpansionDetector()
    loud = stream(
        growth=ramp("acc-04"),
        seats_used=near_limit("acc-04"),
        tickets=lambda acc, day: 6 if acc == "acc-04" and day >= 8 else int(day % 5 == 0),
    )
    assert [a for a in run(det, loud) if a.account_id == "acc-04"] == []
    assert det.stats["high_friction"] >= 1


def test_robust_trend_ignores_one_outlier():
    slope, z = robust_trend([1.0, 1.1, 1.2, 9.0, 1.4, 1.5, 1.6, 1.7])
    assert slope == pytest.approx(0.1, abs=1e-6)
    assert z > 2
    assert robust_trend([]) == (0.0, 0.0)


def test_score_one_is_pure_and_works_before_learning():
    det = ExpansionDetector()
    probe = UsageEvent(account_id="acc-04", count=1, time=MONDAY)
    assert det.score_one(probe) == 0.0
    run(det, stream(growth=ramp("acc-04"), seats_used=near_limit("acc-04"), days=28))
    assert det.is_warm
    score = det.score_one(probe)
    assert 0.0 < score < 1.0
    assert det.score_one(probe) == score


@pytest.mark.parametrize("kwargs, name", [
    ({"window_days": 2}, "window_days"), ({"min_days": 30}, "min_days"),
    ({"min_weekly_growth": 0}, "min_weekly_growth"), ({"seat_utilisation": 1.5}, "seat_utilisation"),
])  # fmt: skip
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ExpansionDetector(**kwargs)
