"""Feature drift on small hand-made streams of real events."""

from __future__ import annotations

import pickle
import random

import pytest

from detectors.drift import FeatureDriftDetector
from schemas.events import TicketEvent, UsageEvent

MONDAY = 1_772_409_600.0
DAY = 86_400.0
# Tickets per active account per weekday.
FEATURES = {"search": 0.25, "login": 0.12, "billing": 0.05, "reports": 0.2, "sso": 0.15}


def stream(days=35, accounts=150, seed=2, multiplier=None, extra=None, usage_factor=None):
    """Each account uses the product daily and files Poisson tickets per feature."""
    rng = random.Random(seed)
    events, tid = [], 0
    for day in range(days):
        weekday_factor = 0.3 if day % 7 >= 5 else 1.0
        activity = usage_factor(day) if usage_factor else 1.0
        for i in range(accounts):
            acc = f"acc-{i:03d}"
            events.append(
                UsageEvent(
                    account_id=acc,
                    count=max(1, round(50 * activity * weekday_factor)),
                    time=MONDAY + day * DAY + 12 * 3600,
                )
            )
        for feature, rate in FEATURES.items():
            mean = (
                rate * accounts * weekday_factor * activity * (multiplier(feature, day) if multiplier else 1)
            )
            for _ in range(_poisson(rng, mean)):
                tid += 1
                events.append(
                    TicketEvent(
                        ticket_id=f"T{tid}",
                        account_id=f"acc-{rng.randrange(accounts):03d}",
                        feature=feature,
                        time=MONDAY + day * DAY + rng.uniform(8, 20) * 3600,
                    )
                )
        for ts, acc, feature in extra(day) if extra else ():
            tid += 1
            events.append(TicketEvent(ticket_id=f"T{tid}", account_id=acc, feature=feature, time=ts))
    events.sort(key=lambda e: e.ts)
    return events


def _poisson(rng, mean):
    # Knuth's method is fine for the small means of these tests.
    limit, k, p = pow(2.718281828459045, -mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def run(det, events):
    alerts = []
    for event in events:
        det.learn_one(event)
        alerts += det.advance(event.ts - 600)
    return alerts + det.advance(events[-1].ts + 2 * DAY)


def test_ramp_on_one_feature_is_found_within_ten_days_on_that_feature_only():
    start = 10

    def search_ramp(feature, day):
        return 1.0 + max(0, day - start) / 14 if feature == "search" else 1.0

    alerts = run(FeatureDriftDetector(), stream(multiplier=search_ramp))
    assert [a.feature for a in alerts] == ["search"]
    alert = alerts[0]
    assert alert.kind == "drift" and not alert.pages
    assert alert.ts - (MONDAY + start * DAY) <= 10 * DAY
    assert alert.evidence["after_rate"] > alert.evidence["before_rate"]
    assert alert.dedup_key == f"drift:search:{alert.evidence['since']}"
    assert MONDAY + (start - 4) * DAY <= alert.started_at.timestamp() <= alert.ts


def test_one_hour_spike_is_not_a_drift():
    def regression(day):
        if day != 16:
            return []
        t = MONDAY + day * DAY + 14 * 3600
        return [(t + k * 30, f"acc-{k % 150:03d}", "login") for k in range(120)]

    assert run(FeatureDriftDetector(), stream(extra=regression)) == []


def test_a_quiet_morning_leaves_no_room_for_an_afternoon_surge():
    # The day's cap bounds how far the CUSUM rises in a day, not the day's net evidence: login files
    # nothing until 14:00, then a surge far above its share (spike filter off) may add z_cap at most.
    day = 16
    noon = MONDAY + day * DAY + 14 * 3600

    def surge(d):
        if d != day:
            return []
        return [(noon + k * 240, f"acc-{k % 150:03d}", "login") for k in range(60)]

    events = [e for e in stream(extra=surge)
              if not (e.type == "ticket" and e.feature == "login" and MONDAY + day * DAY <= e.ts < noon)]
    det = FeatureDriftDetector(z_cap=2.0, threshold=3.5, spike_z=1e9)
    assert [a.evidence["since"] for a in run(det, events) if a.feature == "login"] == []


def test_one_account_flood_is_not_a_drift():
    def flood(day):
        if day not in (15, 16, 17):
            return []
        return [(MONDAY + day * DAY + 10 * 3600 + k, "acc-007", "billing") for k in range(40)]

    assert run(FeatureDriftDetector(), stream(extra=flood)) == []


def test_holiday_and_usage_gap_are_no_drift():
    # Measured against the other features, a quiet day lowers both sides: it is little evidence, not noise.
    det = FeatureDriftDetector()
    quiet = {14: 0.2, 21: 0.3}
    assert run(det, stream(usage_factor=lambda day: quiet.get(day, 1.0))) == []
    assert det.stats["days_used"] >= 30


def test_growing_customer_base_is_no_drift():
    assert run(FeatureDriftDetector(), stream(usage_factor=lambda day: 1.0 + day / 20)) == []


def test_state_is_per_feature_and_picklable():
    det = FeatureDriftDetector()
    run(det, stream(days=20))
    assert det.state_size <= len(FEATURES) + 4
    assert det.is_warm
    clone = pickle.loads(pickle.dumps(det))
    probe = TicketEvent(ticket_id="x", account_id="acc-001", feature="search", time=MONDAY)
    assert clone.score_one(probe) == det.score_one(probe)
    assert 0.0 <= det.score_one(probe) <= 1.0
    assert FeatureDriftDetector().score_one(probe) == 0.0


@pytest.mark.parametrize("kwargs, name", [
    ({"warmup_days": 0}, "warmup_days"), ({"threshold": 0}, "threshold"), ({"z_cap": 0}, "z_cap"),
    ({"max_tickets_per_account": 0}, "max_tickets_per_account"),
    ({"ratio": 1.0}, "ratio"), ({"confidence_z": -1}, "confidence_z"), ({"spike_z": 0}, "spike_z"),
])  # fmt: skip
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FeatureDriftDetector(**kwargs)
