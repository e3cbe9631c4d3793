"""Release regressions on small hand-made worlds: 60 accounts, three features, business hours."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from detectors.activity import hour_of_week
from detectors.regression import BreadthSpikeDetector, WindowReport
from schemas.events import ReleaseEvent, TicketEvent, UsageEvent

MONDAY = 1_772_409_600.0  # 2026-03-02 00:00 UTC
DAY, WINDOW = 86_400.0, 300.0
ACCOUNTS = [f"acct-{i:02d}" for i in range(60)]
FEATURES = {"billing": 0.003, "export": 0.004, "search": 0.005}  # tickets per active account per window


@dataclass
class World:
    """A deterministic stream of usage and tickets, with optional incidents and traps."""

    start: float = MONDAY
    days: float = 3.0
    seed: int = 1
    regression: tuple | None = None  # (start, end, feature, extra accounts per window)
    flood: tuple | None = None  # (start, end, account, tickets per window, feature)
    holiday: int | None = None  # day index with only 10 accounts all day
    gap: tuple | None = None  # (start, end): no usage events, tickets as usual
    releases: list = field(default_factory=list)  # (time, version, features)
    newcomer: tuple | None = None  # (start, end, feature, accounts per window)
    busier: float = 1.0  # multiplies every feature's ticket rate
    ticket_ids: dict = field(default_factory=dict)  # feature -> ids, filled while generating

    def active(self, ts: float) -> list[str]:
        day, how = int((ts - MONDAY) // DAY), hour_of_week(ts)
        if day == self.holiday or how >= 5 * 24:
            return ACCOUNTS[:10]
        return ACCOUNTS if 8 <= how % 24 < 18 else ACCOUNTS[:15]

    def events(self) -> list:
        rng, events, n = random.Random(self.seed), [], 0

        def ticket(account: str, feature: str, ts: float) -> TicketEvent:
            nonlocal n
            n += 1
            self.ticket_ids.setdefault(feature, set()).add(f"T-{n}")
            return TicketEvent(ticket_id=f"T-{n}", account_id=account, feature=feature, time=ts)

        for v, version, features in self.releases:
            events.append(ReleaseEvent(version=version, features=features, time=v))
        for w in range(int(self.days * DAY / WINDOW)):
            start = self.start + w * WINDOW
            active = self.active(start)
            if not (self.gap and self.gap[0] <= start < self.gap[1]):
                for i, account in enumerate(active):
                    if (w + i) % 3 == 0:  # one usage aggregate per account every 15 minutes
                        events.append(UsageEvent(account_id=account, count=5, time=start + i))
            for feature, p in FEATURES.items():
                for account in active:
                    if rng.random() < p * self.busier:
                        events.append(ticket(account, feature, start + rng.uniform(0, WINDOW)))
            for spec in (self.regression, self.newcomer):
                if spec and spec[0] <= start < spec[1]:
                    for account in rng.sample(active, spec[3]):
                        events.append(ticket(account, spec[2], start + rng.uniform(0, WINDOW)))
            if self.flood and self.flood[0] <= start < self.flood[1]:
                for _ in range(self.flood[3]):
                    events.append(ticket(self.flood[2], self.flood[4], start + rng.uniform(0, WINDOW)))
        events.sort(key=lambda e: e.ts)
        return events


def drive(detector: BreadthSpikeDetector, events: list, lateness: float = 600.0) -> list:
    """Feed events in order, advancing to (latest − lateness) every event-time minute, then flush."""
    alerts, next_tick = [], float("-inf")
    for event in events:
        detector.learn_one(event)
        if event.ts - lateness >= next_tick:
            next_tick = event.ts - lateness + 60
            alerts += detector.advance(event.ts - lateness)
    return alerts + detector.flush()


WEDNESDAY_11 = MONDAY + 2 * DAY + 11 * 3600


def test_breadth_spike_pages_once_then_updates_and_resolves():
    world = World(regression=(WEDNESDAY_11, WEDNESDAY_11 + 3600, "export", 6))
    alerts = drive(BreadthSpikeDetector(), world.events())
    assert alerts, "a regression over many accounts must page"
    assert {a.dedup_key for a in alerts} == {alerts[0].dedup_key}
    statuses = [a.status for a in alerts]
    assert statuses[0] == "firing" and statuses.count("firing") == 1
    assert "updated" in statuses and statuses[-1] == "resolved" and statuses.count("resolved") == 1
    assert len(statuses) <= 8, "updates only when the evidence grows materially"
    firing = alerts[0]
    assert (firing.kind, firing.feature, firing.severity) == ("regression", "export", "critical")
    assert firing.pages
    assert firing.dedup_key.startswith("regression:export:2026-03-04T1")
    assert WEDNESDAY_11 - 2 * WINDOW <= firing.started_at.timestamp() <= WEDNESDAY_11 + 1800
    assert firing.accounts_affected >= 3 and firing.observed > 2 * firing.expected
    assert set(firing.evidence["sample_ticket_ids"]) <= world.ticket_ids["export"]
    assert firing.release is None and firing.release_confidence is None
    resolved = alerts[-1].event_time.timestamp()
    # Hysteresis: resolved only after two quiet hours once the hour-long spike is over.
    assert WEDNESDAY_11 + 3 * 3600 <= resolved <= WEDNESDAY_11 + 5 * 3600
    assert [a.event_time for a in alerts] == sorted(a.event_time for a in alerts)


def test_the_page_names_the_release_that_touched_the_feature():
    releases = [
        (WEDNESDAY_11 - 3 * 3600, "7.0.0", ["export"]),
        (WEDNESDAY_11 - 1200, "7.1.0", ["export", "billing"]),
        (WEDNESDAY_11 - 300, "7.1.1", ["search"]),
    ]
    world = World(regression=(WEDNESDAY_11, WEDNESDAY_11 + 3600, "export", 6), releases=releases)
    firing = next(a for a in drive(BreadthSpikeDetector(), world.events()) if a.status == "firing")
    assert firing.release == "7.1.0"
    assert 0.4 < firing.release_confidence < 1.0


def test_large_regression_pages_before_its_windows_close():
    spec = (WEDNESDAY_11, WEDNESDAY_11 + 1800, "search", 12)
    early = next(a for a in drive(BreadthSpikeDetector(), World(regression=spec).events()))
    late = next(a for a in drive(BreadthSpikeDetector(early=False), World(regression=spec).events()))
    assert early.status == late.status == "firing"
    assert early.event_time < late.event_time
    assert early.event_time.timestamp() - WEDNESDAY_11 < 600  # less than the allowed lateness
    assert early.event_time >= early.started_at
    # The score on the page is the evidence that paged, not the last closed window's.
    assert early.score >= BreadthSpikeDetector().threshold
    assert late.score >= BreadthSpikeDetector().threshold


def test_single_account_flood_is_not_a_regression():
    flood = (WEDNESDAY_11, WEDNESDAY_11 + 3600, "acct-07", 6, "export")  # as many tickets as above
    assert drive(BreadthSpikeDetector(), World(flood=flood).events()) == []


def test_a_new_accounts_setup_tickets_are_not_counted():
    world, newcomer = World(), "acct-new"
    events = world.events()
    for k in range(24):  # created on Wednesday: logs in and asks about export for two hours
        ts = WEDNESDAY_11 + k * WINDOW
        events.append(UsageEvent(account_id=newcomer, count=5, time=ts))
        events += [TicketEvent(ticket_id=f"N-{k}-{j}", account_id=newcomer, feature="export", time=ts + j)
                   for j in range(3)]  # fmt: skip
    events.sort(key=lambda e: e.ts)

    def export_tickets(**kwargs) -> int:
        windows: list[WindowReport] = []
        drive(BreadthSpikeDetector(on_window=windows.append, **kwargs), events)
        return sum(w.tickets for w in windows if w.feature == "export" and w.start >= WEDNESDAY_11)

    assert export_tickets(new_account_horizon=0.0) - export_tickets() == 72


def test_a_holiday_does_not_page_nor_does_the_busy_day_after():
    world = World(days=3.6, holiday=2)
    reports: list[WindowReport] = []
    assert drive(BreadthSpikeDetector(on_window=reports.append), world.events()) == []
    holiday_noon = [r for r in reports if r.start == MONDAY + 2 * DAY + 12 * 3600]
    normal_noon = [r for r in reports if r.start == MONDAY + 1 * DAY + 12 * 3600]
    # Usage that falls is not a gap: the expectation follows it down, to a floor near its seasonal level
    # (usage that stalls takes an hour to be told from a gap).
    assert holiday_noon[0].active_accounts < normal_noon[0].active_accounts
    assert not holiday_noon[0].gap


def test_nights_and_a_weekend_then_monday_morning_do_not_page():
    thursday = MONDAY + 3 * DAY
    assert drive(BreadthSpikeDetector(), World(start=thursday, days=4.6, seed=3).events()) == []


def test_usage_gap_with_normal_tickets_does_not_page():
    gap = (WEDNESDAY_11 - 3600, WEDNESDAY_11 + 4 * 3600)
    reports: list[WindowReport] = []
    world = World(gap=gap, seed=2, busier=2.0)
    alerts = drive(BreadthSpikeDetector(on_window=reports.append), world.events())
    assert alerts == []
    in_gap = [r for r in reports if r.feature == "search" and gap[0] + 3600 <= r.start < gap[1]]
    day_before = [r for r in reports if r.feature == "search" and gap[0] + 3600 <= r.start + DAY < gap[1]]
    assert in_gap and all(r.gap for r in in_gap)
    assert sum(r.expected for r in in_gap) > 0.5 * sum(r.expected for r in day_before)


def test_cold_feature_does_not_alert():
    newcomer = (WEDNESDAY_11, WEDNESDAY_11 + 3600, "reports", 8)
    detector = BreadthSpikeDetector()
    assert drive(detector, World(newcomer=newcomer).events()) == []
    assert "reports" in detector.cold_features
    assert "export" not in detector.cold_features
    assert not detector.is_warm


def test_windows_report_observed_and_expected_counts():
    reports: list[WindowReport] = []
    world = World(days=1.0)
    events = world.events()
    drive(BreadthSpikeDetector(on_window=reports.append), events)
    tickets = sum(1 for e in events if e.type == "ticket" and e.feature == "billing")
    assert sum(r.tickets for r in reports if r.feature == "billing") == tickets
    assert all(r.observed <= r.tickets and r.expected > 0 for r in reports)
    assert all(r.end - r.start == WINDOW for r in reports)


def test_score_one_reads_state_without_changing_it():
    detector = BreadthSpikeDetector()
    ticket = TicketEvent(ticket_id="T-x", account_id="a", feature="export", time=MONDAY)
    assert detector.score_one(ticket) == 0.0
    drive(detector, World(days=1.0).events())
    before = detector.state_size
    assert detector.score_one(ticket) >= 0.0
    assert detector.state_size == before


def test_idle_features_and_accounts_are_evicted():
    detector = BreadthSpikeDetector(idle_horizon=2 * DAY)
    drive(detector, World(days=1.0).events())
    assert detector.state_size > len(FEATURES)
    detector.learn_one(UsageEvent(account_id="late-riser", time=MONDAY + 5 * DAY))
    detector.advance(MONDAY + 5 * DAY)
    assert detector.state_size == 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"window": 0}, "window"),
        ({"shifts": ()}, "shifts"),
        ({"shifts": (1.0, 3.0)}, "shifts"),
        ({"cap_horizon": 10.0}, "cap_horizon"),
        ({"quiet_windows": 0}, "quiet_windows"),
        ({"max_per_account": 0}, "max_per_account"),
        ({"min_accounts": 0}, "min_accounts"),
        ({"threshold": 0.0}, "threshold"),
        ({"dispersion": -0.1}, "dispersion"),
        ({"fading_factor": 1.0}, "fading_factor"),
        ({"gap_fraction": 1.0}, "gap_fraction"),
        ({"active_horizon": 60}, "active_horizon"),
        ({"new_account_horizon": -1.0}, "new_account_horizon"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BreadthSpikeDetector(**kwargs)
