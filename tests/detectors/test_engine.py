import math
import pickle
import random

import pytest

from detectors.engine import DetectionEngine
from detectors.flood import AccountFloodDetector
from detectors.regression import BreadthSpikeDetector, WindowReport
from schemas.events import AccountEvent, ReleaseEvent, TicketEvent, UsageEvent

T0 = 1_772_409_600.0  # Monday 2026-03-02 00:00 UTC
DAY = 86_400.0
WEDNESDAY_11 = T0 + 2 * DAY + 11 * 3600


def world(seed: int = 0, days: float = 3.0, regression: bool = True, flood: bool = True) -> list:
    """40 accounts in business hours, two features, a regression and a flood on Wednesday."""
    rng = random.Random(seed)
    accounts = [f"acct-{i}" for i in range(40)]
    events: list = [ReleaseEvent(version="9.1.0", features=["export"], time=WEDNESDAY_11 - 1500)]
    events += [AccountEvent(account_id=a, mrr=500, seats=10, tier="business", owner=f"cs-{a}", time=T0)
               for a in accounts]
    n = 0
    for w in range(int(days * 288)):
        start = T0 + w * 300
        hour = (start - T0) % DAY / 3600
        active = accounts if 8 <= hour < 18 else accounts[:10]
        for i, account in enumerate(active):
            if (w + i) % 3 == 0:
                events.append(UsageEvent(account_id=account, count=3, time=start + i))
        for feature in ("export", "search"):
            picks = [a for a in active if rng.random() < 0.006]
            if regression and feature == "export" and WEDNESDAY_11 <= start < WEDNESDAY_11 + 3600:
                picks += rng.sample(active, 8)
            if flood and feature == "search" and WEDNESDAY_11 + 4 * 3600 <= start < WEDNESDAY_11 + 5 * 3600:
                picks += ["acct-5"] * 4
            for account in picks:
                n += 1
                events.append(TicketEvent(ticket_id=f"T-{n}", account_id=account, feature=feature,
                                          time=start + rng.uniform(0, 300)))
    events.sort(key=lambda e: e.ts)
    return events


def run(engine: DetectionEngine, events: list) -> list:
    alerts = []
    for event in events:
        alerts += engine.process(event)
    return alerts + engine.flush()


@pytest.fixture(scope="module")
def events():
    return world()


def test_regression_pages_and_flood_is_routed_in_one_stream(events):
    alerts = run(DetectionEngine(), events)
    pages = [a for a in alerts if a.pages]
    assert {a.kind for a in pages} == {"regression"}
    assert [a.status for a in pages].count("firing") == 1
    firing = next(a for a in pages if a.status == "firing")
    assert (firing.feature, firing.release) == ("export", "9.1.0")
    floods = [a for a in alerts if a.kind == "flood"]
    assert floods and {a.account_id for a in floods} == {"acct-5"}
    assert floods[0].evidence["owner"] == "cs-acct-5"


def test_same_input_gives_the_same_alerts(events):
    first = [a.model_dump(exclude={"wall_time"}) for a in run(DetectionEngine(), events)]
    second = [a.model_dump(exclude={"wall_time"}) for a in run(DetectionEngine(), events)]
    assert first and first == second


def test_alerts_come_out_in_event_time_order(events):
    times = [a.event_time for a in run(DetectionEngine(), events) if a.kind in ("regression", "flood")]
    assert times == sorted(times)


def test_duplicates_are_counted_once(events):
    tickets = [e for e in events if e.type == "ticket"]
    doubled = sorted(events + tickets[::2], key=lambda e: e.ts)
    engine = DetectionEngine()
    alerts = run(engine, doubled)
    assert engine.stats["duplicates"] == len(tickets[::2])
    assert engine.stats["events"]["ticket"] == len(tickets) + len(tickets[::2])
    baseline = run(DetectionEngine(), events)
    assert [a.alert_id for a in alerts] == [a.alert_id for a in baseline]


def test_late_events_within_lateness_are_used_and_beyond_are_dropped():
    seen: list[WindowReport] = []
    engine = DetectionEngine(allowed_lateness=600, on_window=seen.append)
    engine.process(UsageEvent(account_id="a", time=T0))
    engine.process(TicketEvent(ticket_id="on-time", account_id="a", feature="f", time=T0 + 1200))
    engine.process(TicketEvent(ticket_id="late-ok", account_id="a", feature="f", time=T0 + 700))
    assert engine.watermark == T0 + 600
    engine.process(TicketEvent(ticket_id="too-late", account_id="a", feature="f", time=T0 + 500))
    assert engine.stats["late_dropped"] == 1
    engine.flush()
    counted = {r.start: r.tickets for r in seen if r.feature == "f"}
    assert counted[T0 + 600] == 1 and counted[T0 + 1200] == 1
    assert counted.get(T0 + 300, 0) == 0


def test_flush_resolves_what_is_open():
    engine = DetectionEngine()
    alerts = []
    for i in range(30):
        ticket = TicketEvent(ticket_id=f"T-{i}", account_id="a", feature="f", time=T0 + 60 * i)
        alerts += engine.process(ticket)
    alerts += engine.flush()
    statuses = [a.status for a in alerts if a.kind == "flood"]
    assert statuses[0] == "firing" and statuses[-1] == "resolved" and statuses.count("resolved") == 1
    assert engine.flush() == []


def test_stats_and_on_window_feed_the_dashboards(events):
    reports: list[WindowReport] = []
    engine = DetectionEngine(on_window=reports.append)
    run(engine, events[: len(events) // 3])
    stats = engine.stats
    assert stats["events"]["usage"] > stats["events"]["ticket"] > 0
    assert set(stats["state_size"]) >= {"regression", "flood", "dedup", "releases"}
    assert stats["cold_features"] == ["export", "search"]  # less than a day of history
    assert reports and {r.feature for r in reports} == {"export", "search"}
    assert all(r.active_accounts >= 0 and r.expected > 0 for r in reports)


def test_engine_shares_its_release_index_with_the_regression_detector():
    regression = BreadthSpikeDetector(warmup_windows=1)
    engine = DetectionEngine(regression=regression, flood=AccountFloodDetector(min_tickets=50))
    engine.process(ReleaseEvent(version="1.0", features=["f"], time=T0))
    assert engine.regression is regression and len(engine.releases) == 1
    assert engine.releases.suspect("f", T0 + 60).version == "1.0"


def test_watermark_starts_at_minus_infinity_and_bad_tick_is_rejected():
    assert math.isinf(DetectionEngine().watermark)
    with pytest.raises(ValueError, match="tick"):
        DetectionEngine(tick=0)


def test_cold_start_is_reported_until_the_baseline_settles(events):
    engine = DetectionEngine()
    assert engine.stats["settling_days"] == 8.0
    half = len(events) // 2
    for event in events[:half]:
        engine.process(event)
    midway = engine.stats["settling_days"]
    for event in events[half:]:
        engine.process(event)
    assert 0.0 < engine.stats["settling_days"] < midway < 8.0


@pytest.mark.timeout(120)  # the bug this guards against was a hang: decades of windows closed one by one
def test_one_event_stamped_in_2100_neither_stalls_the_engine_nor_changes_its_alerts():
    from sim.config import SimConfig
    from sim.replay import replay
    from sim.simulator import simulate

    lines = simulate(SimConfig(seed=4, days=8, accounts=60)).lines
    broken = b'{"type":"usage","account_id":"acme","count":1,"time":"2100-12-31T23:59:59Z"}'
    middle = len(lines) // 2
    clean = replay(lines)
    with_broken_clock = replay([*lines[:middle], broken, *lines[middle:]])
    assert with_broken_clock.stats["future_dropped"] == 1
    assert [a.alert_id for a in with_broken_clock.alerts] == [a.alert_id for a in clean.alerts]


@pytest.mark.slow
def test_a_pickled_warm_engine_goes_on_with_the_same_alerts():
    """Worker snapshots pickle the engine: a copy taken mid-stream must carry on exactly as the original."""
    from schemas.parse import parse_event
    from sim.config import SimConfig
    from sim.simulator import simulate

    events = [parse_event(bytes(line)) for line in simulate(SimConfig(seed=1, days=14, accounts=60)).lines]
    engine, cut = DetectionEngine(), len(events) * 3 // 4  # churn and expansion state is warm by then
    for event in events[:cut]:
        engine.process(event)
    assert engine.churn.is_warm and engine.expansion.state_size > 0
    copy = pickle.loads(pickle.dumps(engine, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy.stats == engine.stats

    def rest(e: DetectionEngine) -> list:
        alerts = [a for event in events[cut:] for a in e.process(event)] + e.flush()
        return [a.model_dump(exclude={"wall_time"}) for a in alerts]

    original, restored = rest(engine), rest(copy)
    assert original == restored and {a["kind"] for a in original} >= {"regression", "flood"}
    assert copy.churn.ranked() == engine.churn.ranked() and copy.stats == engine.stats


def test_a_snapshot_from_before_the_routes_restores_and_routes_to_its_own_detectors(events):
    """Worker snapshots of an older version lack the per-kind routes: they are rebuilt on unpickling."""
    engine = DetectionEngine()
    for event in events[:200]:
        engine.process(event)
    older = pickle.loads(pickle.dumps(engine))
    del older.__dict__["_routes"]  # what a snapshot of the version before the routes holds
    restored = pickle.loads(pickle.dumps(older))
    assert {learn.__self__ for learns in restored._routes.values() for learn in learns} <= set(
        restored.detectors.values()
    )
    def rest(e: DetectionEngine) -> list:
        return [(a.kind, a.dedup_key, a.status) for event in events[200:] for a in e.process(event)] + [
            (a.kind, a.dedup_key, a.status) for a in e.flush()
        ]

    original = rest(engine)
    assert original and rest(restored) == original
