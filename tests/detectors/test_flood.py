import pickle
import random

import pytest

from detectors.flood import AccountFloodDetector
from schemas.events import AccountEvent, TicketEvent, UsageEvent

T0 = 1_772_409_600.0  # Monday 2026-03-02 00:00 UTC
HOUR, DAY = 3600.0, 86_400.0


def drive(detector, events, lateness=600.0):
    alerts, next_tick = [], float("-inf")
    for event in sorted(events, key=lambda e: e.ts):
        detector.learn_one(event)
        if event.ts - lateness >= next_tick:
            next_tick = event.ts - lateness + 60
            alerts += detector.advance(event.ts - lateness)
    return alerts + detector.flush()


def background(days=3, accounts=30, per_day=2, seed=0):
    """Each account files about ``per_day`` tickets a day."""
    rng = random.Random(seed)
    return [
        TicketEvent(ticket_id=f"bg-{a}-{i}", account_id=f"acct-{a}", feature=rng.choice(["sso", "export"]),
                    time=T0 + rng.uniform(0, days * DAY))
        for a in range(accounts)
        for i in range(days * per_day)
    ]


def burst(account, n, start, span=HOUR, feature="sso", prefix="f"):
    return [
        TicketEvent(ticket_id=f"{prefix}-{i}", account_id=account, feature=feature, time=start + span * i / n)
        for i in range(n)
    ]


FLOOD_AT = T0 + 2 * DAY + 10 * HOUR


def test_one_account_flood_alerts_once_routed_to_the_owner_and_resolves():
    events = background()
    profile = {"account_id": "acct-3", "mrr": 900, "seats": 20, "tier": "business"}
    events += [
        AccountEvent(**profile, owner="old@x.io", time=T0),
        AccountEvent(**profile, owner="kim@x.io", time=T0 + DAY),
    ]
    events += burst("acct-3", 20, FLOOD_AT) + burst("acct-3", 6, FLOOD_AT, feature="export", prefix="g")
    alerts = drive(AccountFloodDetector(), events)
    assert alerts[0].status == "firing"
    assert [a.status for a in alerts].count("firing") == 1 and alerts[-1].status == "resolved"
    assert {a.dedup_key for a in alerts} == {alerts[0].dedup_key}
    firing = alerts[0]
    assert (firing.kind, firing.severity, firing.account_id) == ("flood", "warning", "acct-3")
    assert not firing.pages
    assert firing.evidence["owner"] == "kim@x.io" and firing.tier == "business"
    assert set(firing.evidence["features"]) == {"sso", "export"}
    assert firing.feature == "sso"
    assert firing.observed >= 10 and firing.observed > 5 * firing.expected
    assert FLOOD_AT <= firing.started_at.timestamp() < FLOOD_AT + HOUR
    assert firing.event_time.timestamp() < FLOOD_AT + HOUR
    assert alerts[-1].event_time.timestamp() >= FLOOD_AT + HOUR


def test_older_account_event_arriving_late_does_not_override_the_owner():
    detector = AccountFloodDetector()
    profile = {"account_id": "a", "mrr": 1, "seats": 1, "tier": "self-serve"}
    detector.learn_one(AccountEvent(**profile, owner="new", time=T0 + 60))
    detector.learn_one(AccountEvent(**profile, owner="old", time=T0))
    for event in burst("a", 15, T0 + 120, span=1800):
        detector.learn_one(event)
    alert = detector.advance(T0 + 2400)[0]
    assert alert.evidence["owner"] == "new"


def test_an_account_busy_by_habit_is_not_a_flood():
    events = background(days=7, accounts=3, per_day=240, seed=1)  # ~10 tickets an hour, every hour
    events += burst("acct-1", 14, T0 + 7 * DAY + HOUR, prefix="x")
    alerts = [a for a in drive(AccountFloodDetector(), events) if a.account_id == "acct-1"]
    # A newcomer filing ten an hour is a flood until its habit is learnt, then never again.
    assert [a for a in alerts if a.status == "firing" and a.event_time.timestamp() > T0 + DAY] == []


def test_below_the_minimum_count_is_not_a_flood():
    assert drive(AccountFloodDetector(min_tickets=10), burst("quiet", 9, T0)) == []


def test_growing_flood_is_updated_not_refired():
    events = burst("a", 12, T0, span=HOUR / 2) + burst("a", 60, T0 + HOUR / 2, span=HOUR / 2, prefix="g")
    statuses = [a.status for a in drive(AccountFloodDetector(), events)]
    assert statuses[0] == "firing" and "updated" in statuses
    assert statuses.count("firing") == 1 and statuses[-1] == "resolved"


def test_usage_is_ignored_and_score_one_reads_without_learning():
    detector = AccountFloodDetector()
    detector.learn_one(UsageEvent(account_id="a", time=T0))
    assert detector.state_size == 0
    for event in burst("a", 12, T0, span=600):
        detector.learn_one(event)
    probe = TicketEvent(ticket_id="p", account_id="a", feature="sso", time=T0 + 700)
    before = pickle.dumps(detector.account_state("a"))
    assert detector.score_one(probe) > 6
    assert pickle.dumps(detector.account_state("a")) == before


def test_idle_accounts_are_evicted_and_state_is_small():
    detector = AccountFloodDetector(idle_horizon=2 * DAY)
    drive(detector, background(days=1, accounts=50))
    assert detector.state_size == 50
    detector.learn_one(TicketEvent(ticket_id="n", account_id="new", feature="sso", time=T0 + 5 * DAY))
    detector.advance(T0 + 5 * DAY)
    assert detector.state_size == 1
    assert len(pickle.dumps(detector.account_state("new"))) < 1024


def test_account_state_round_trips_through_a_plain_dict():
    detector = AccountFloodDetector()
    for event in burst("a", 5, T0):
        detector.learn_one(event)
    saved = detector.account_state("a")
    other = AccountFloodDetector()
    other.restore_account("a", saved)
    probe = TicketEvent(ticket_id="p", account_id="a", feature="sso", time=T0 + HOUR)
    assert other.score_one(probe) == detector.score_one(probe)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"bucket": 0}, "bucket"),
        ({"horizon": 450}, "horizon"),
        ({"horizon": 7200}, "horizon"),
        ({"min_tickets": 1}, "min_tickets"),
        ({"threshold": 1.0}, "threshold"),
        ({"prior_rate": 0}, "prior_rate"),
        ({"baseline_horizon": 60}, "baseline_horizon"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        AccountFloodDetector(**kwargs)
