"""Adversarial streams (issue 8): a flood of account ids, one account's ticket storm, skewed clocks."""

from __future__ import annotations

import logging
import tracemalloc
from datetime import timedelta

import pytest

from detectors.engine import DetectionEngine
from schemas.events import TicketEvent
from schemas.parse import Rejection, parse_event
from sim.config import SimConfig
from sim.labels import Labels
from sim.scoring import AlertRecord, score_alerts
from sim.simulator import simulate
from tests.detectors.test_engine import T0, WEDNESDAY_11, run, world

_HOUR = 3600.0
CAP = 20_000
#: Bytes of detector state one tracked account may cost (activity, flood ring, churn and expansion
#: day sums, the budget's own entry): a state that grew with the ids seen would need hundreds of MB.
PER_ACCOUNT_BYTES = 4096


class _Event:
    """A bare event with the fields detectors read: a million validated models would time the schemas
    and ``datetime`` (covered elsewhere), not the engine's state."""

    __slots__ = ("account_id", "count", "feature", "severity", "ticket_id", "ts", "type")

    def __init__(self, type: str, account_id: str, ts: float, **fields) -> None:
        self.type, self.account_id, self.ts = type, account_id, ts
        self.count, self.severity = fields.get("count", 1), "normal"
        self.feature, self.ticket_id = fields.get("feature"), fields.get("ticket_id")


def _usage(account_id: str, ts: float, count: int = 1) -> _Event:
    return _Event("usage", account_id, ts, count=count)


def test_a_million_account_ids_within_an_hour_keep_state_bounded(caplog):
    engine = DetectionEngine(max_accounts=CAP)
    real = [f"acct-{i}" for i in range(200)]
    for hour in range(2):  # the real customers: seen in two hours, so established
        for i, account in enumerate(real):
            engine.process(_usage(account, T0 + hour * _HOUR + i, 5))
    start = T0 + 2 * _HOUR
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    with caplog.at_level(logging.WARNING, logger="detectors.engine"):
        for i in range(1_000_000):
            ts = start + i * 0.0035  # a million ids within 3,500 s of event time
            if i % 100 == 0:
                event = _Event("ticket", f"bot-{i}", ts, ticket_id=f"T-{i}", feature="sso")
            else:
                event = _usage(f"bot-{i}", ts)
            engine.process(event)
            if i % 5_000 == 0:  # the real customers keep using the product meanwhile
                account = real[(i // 5_000) % len(real)]
                engine.process(_usage(account, ts, 5))
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = engine.stats
    retained_mb, peak_mb = (after - before) / 2**20, (peak - before) / 2**20
    print(f"\n1,000,000 account ids, cap {CAP}: retained {retained_mb:.1f} MB, peak {peak_mb:.1f} MB, "
          f"shed {stats['accounts_shed']}")  # fmt: skip
    assert stats["accounts_tracked"] <= CAP
    assert stats["accounts_shed"] >= 1_000_000 + len(real) - CAP
    assert all(account in engine.budget for account in real)
    assert all(size <= 2 * CAP for size in stats["state_size"].values())
    assert peak - before < CAP * PER_ACCOUNT_BYTES
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "shed" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited: one line per hour of event time
    assert not [a for a in engine.flush() if a.pages]


def test_one_account_sending_100k_tickets_is_one_flood_and_no_page():
    events = world(regression=False, flood=False)
    storm_start = WEDNESDAY_11 + 3 * _HOUR
    storm = [TicketEvent(ticket_id=f"S-{i}", account_id="acct-7", feature="search",
                         time=storm_start + i * 0.036) for i in range(100_000)]  # fmt: skip
    events = sorted(events + storm, key=lambda e: e.ts)
    engine = DetectionEngine()
    alerts = run(engine, events)
    floods = {a.dedup_key for a in alerts if a.kind == "flood" and a.account_id == "acct-7"}
    assert len(floods) == 1
    assert [a for a in alerts if a.kind == "flood" and a.status == "firing"] == [
        a for a in alerts if a.kind == "flood" and a.status == "firing" and a.account_id == "acct-7"
    ]
    assert [a.dedup_key for a in alerts if a.kind == "regression"] == []
    assert not [a for a in alerts if a.pages]
    sizes = engine.stats["state_size"]
    # State follows accounts and features (40 accounts, two features), not the storm's 100,000 tickets;
    # only the de-duplicator remembers ticket ids, up to its own cap.
    assert sizes["flood"] <= 40
    assert sizes["regression"] <= 40 + 2
    assert sizes["dedup"] <= engine.dedup.max_size


def _skewed(events: list, accounts: set[str], hours: float) -> list:
    """The same delivery order, with one producer's events (those of ``accounts``) stamped ``hours`` off."""
    shift = timedelta(hours=hours)
    return [e.model_copy(update={"time": e.time + shift}) if getattr(e, "account_id", None) in accounts else e
            for e in events]  # fmt: skip


@pytest.fixture(scope="module")
def labelled_world() -> tuple[Labels, list]:
    sim = simulate(SimConfig(seed=1, days=14, accounts=60))
    return sim.labels, [e for e in map(parse_event, sim.lines) if not isinstance(e, Rejection)]


@pytest.mark.parametrize("hours", [3.0, -3.0])
def test_a_producer_with_a_skewed_clock_drops_late_events_and_raises_no_bogus_alert(labelled_world, hours):
    labels, events = labelled_world
    accounts = sorted({e.account_id for e in events if getattr(e, "account_id", None)})
    producer = set(accounts[::4])  # a quarter of the accounts: usage, tickets and profiles
    engine = DetectionEngine()
    alerts = run(engine, _skewed(events, producer, hours))
    # Ahead, the producer drags the watermark so everyone else is late; behind, it is late itself.
    assert engine.stats["late_dropped"] > 1_000
    score = score_alerts(labels, [AlertRecord.from_alert(a) for a in alerts])
    assert score.false_pages == []
    unmatched = {kind: s.alerts - s.matched_alerts for kind, s in score.kinds.items()}
    assert unmatched == dict.fromkeys(score.kinds, 0)
