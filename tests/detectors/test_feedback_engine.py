"""Feedback wired into detection: the engine gates alerts, the regression detector takes labels in."""

import pytest

from detectors.engine import DetectionEngine
from detectors.feedback import FeedbackPolicy
from detectors.regression import BreadthSpikeDetector
from schemas.alerts import Alert
from schemas.events import TicketEvent, UsageEvent
from schemas.feedback import AlertLabel, Silence

T0 = 1_772_409_600.0  # Monday 2026-03-02 00:00 UTC
HOUR = 3600.0
ACCOUNTS = 20


def quiet(hours: float, start: float = T0) -> list:
    """Every account active every five minutes; one export ticket an hour."""
    events: list = []
    for minute in range(0, int(hours * 60), 5):
        now = start + minute * 60
        events += [UsageEvent(account_id=f"a{a}", time=now) for a in range(ACCOUNTS)]
        if minute % 60 == 0:
            events.append(TicketEvent(ticket_id=f"q{now:.0f}", account_id="a0", feature="export", time=now))
    return events


def burst(at: float, accounts: int, tag: str = "b") -> list:
    """``accounts`` accounts write in about export within a minute, then ten quiet minutes."""
    events: list = []
    for a in range(accounts):
        events.append(UsageEvent(account_id=f"a{a}", time=at + a))
        events.append(TicketEvent(ticket_id=f"{tag}{a}", account_id=f"a{a}", feature="export", time=at + a))
    for minute in range(1, 11):
        events += [UsageEvent(account_id=f"a{a}", time=at + 60 * minute) for a in range(ACCOUNTS)]
    return events


def engine(policy: FeedbackPolicy | None = None, threshold: float = 11.0) -> DetectionEngine:
    detector = BreadthSpikeDetector(warmup_windows=12, warmup_tickets=1, threshold=threshold)
    return DetectionEngine(allowed_lateness=60, regression=detector, feedback=policy)


def run(eng: DetectionEngine, events: list) -> list[Alert]:
    alerts: list[Alert] = []
    for event in events:
        alerts += eng.process(event)
    return [a for a in alerts if a.kind == "regression"]


def old_false_alarm(policy: FeedbackPolicy, feature: str = "export") -> None:
    """A false alarm on ``feature`` a day before the stream, labelled as such."""
    key = f"regression:{feature}:old"
    policy.gate(Alert(kind="regression", severity="critical", pages=True, dedup_key=key, summary="up",
                      feature=feature, started_at=T0 - 86_400, event_time=T0 - 86_000))  # fmt: skip
    policy.apply(AlertLabel(dedup_key=key, label="false-alarm", time=T0 - 86_000))


def test_an_empty_policy_changes_no_alert():
    stream = quiet(8) + burst(T0 + 8 * HOUR, 12) + quiet(3, T0 + 8 * HOUR + 900)
    plain, fed = engine(), engine(FeedbackPolicy())
    def facts(alerts: list[Alert]) -> list[dict]:
        return [a.model_dump(exclude={"wall_time"}) for a in alerts]

    assert facts(run(plain, stream) + plain.flush()) == facts(run(fed, stream) + fed.flush())


def test_a_silenced_page_is_still_emitted_but_does_not_page():
    policy = FeedbackPolicy()
    eng = engine(policy)
    eng.apply_feedback(Silence(scope="feature", feature="export", start=T0 + 7 * HOUR, end=T0 + 9 * HOUR,
                               reason="planned migration", time=T0))  # fmt: skip
    alerts = run(eng, quiet(8) + burst(T0 + 8 * HOUR, ACCOUNTS))
    assert alerts and alerts[0].status == "firing"
    assert not alerts[0].pages
    assert alerts[0].evidence["paging_suppressed"] == "silence: planned migration"
    unsilenced = run(engine(), quiet(8) + burst(T0 + 8 * HOUR, ACCOUNTS))
    assert unsilenced[0].pages


def test_an_expected_label_stops_paging_for_its_feature_until_its_end():
    policy = FeedbackPolicy()
    eng = engine(policy)
    first = run(eng, quiet(8) + burst(T0 + 8 * HOUR, ACCOUNTS))
    assert first[0].pages
    eng.apply_feedback(AlertLabel(dedup_key=first[0].dedup_key, label="expected", until=T0 + 30 * HOUR,
                                  time=T0 + 8.2 * HOUR))  # fmt: skip
    later = run(eng, quiet(8, T0 + 8 * HOUR + 600) + burst(T0 + 17 * HOUR, ACCOUNTS, tag="c"))
    fired = [a for a in later if a.status == "firing"]
    assert fired and not fired[0].pages and fired[0].evidence["paging_suppressed"] == "expected"


def pages(policy: FeedbackPolicy | None, threshold: float, accounts: int) -> bool:
    alerts = run(engine(policy, threshold), quiet(8) + burst(T0 + 8 * HOUR, accounts))
    return any(a.status == "firing" and a.pages for a in alerts)


def test_a_false_alarm_scales_the_feature_threshold_like_a_higher_threshold():
    doubled = {}
    for accounts in range(3, ACCOUNTS + 1):
        policy = FeedbackPolicy(false_alarm_step=1.0, max_factor=2.0, half_life=1e12)
        old_false_alarm(policy)
        doubled[accounts] = pages(policy, 11.0, accounts)
        assert doubled[accounts] == pages(None, 22.0, accounts)
    plain = {n: pages(None, 11.0, n) for n in doubled}
    assert any(plain[n] and not doubled[n] for n in doubled)  # a burst that paged no longer does
    other = FeedbackPolicy(false_alarm_step=1.0, max_factor=2.0, half_life=1e12)
    old_false_alarm(other, feature="sso")  # another feature's label changes nothing here
    assert {n: pages(other, 11.0, n) for n in doubled} == plain


def test_the_threshold_factor_shows_in_the_next_alert_evidence():
    policy = FeedbackPolicy(false_alarm_step=0.5)
    old_false_alarm(policy)
    alerts = run(engine(policy), quiet(8) + burst(T0 + 8 * HOUR, ACCOUNTS))
    assert 1.0 < alerts[0].evidence["threshold_factor"] <= 1.5
    assert "threshold_factor" not in run(engine(), quiet(8) + burst(T0 + 8 * HOUR, ACCOUNTS))[0].evidence


def test_windows_of_a_false_alarm_do_not_teach_the_baseline():
    policy = FeedbackPolicy()
    key = "regression:export:noise"
    policy.gate(Alert(kind="regression", severity="critical", pages=True, dedup_key=key, summary="up",
                      feature="export", started_at=T0 + HOUR, event_time=T0 + 3 * HOUR))  # fmt: skip
    policy.apply(AlertLabel(dedup_key=key, label="false-alarm", time=T0 + 3 * HOUR))
    fed, plain = engine(policy), engine()
    run(fed, quiet(12))
    run(plain, quiet(12))
    learnt_fed = fed.regression._features["export"].windows_learnt
    learnt_plain = plain.regression._features["export"].windows_learnt
    assert learnt_plain - learnt_fed == pytest.approx(2 * HOUR / 300, abs=1)


def test_new_normal_makes_the_baseline_jump_to_the_recent_level():
    policy = FeedbackPolicy()
    eng = engine(policy)
    # The level goes up for good: every account writes in about export every half hour.
    stream = quiet(8)
    for k in range(12):
        stream += burst(T0 + 8 * HOUR + k * 1800, ACCOUNTS, tag=f"n{k}-")
    alerts = run(eng, stream)
    state = eng.regression._features["export"]
    before = state.rate()
    eng.apply_feedback(AlertLabel(dedup_key=alerts[0].dedup_key, label="new-normal", time=T0 + 14 * HOUR))
    after = state.rate()
    recent = ACCOUNTS / 6 / ACCOUNTS  # tickets per active account per five-minute window, lately
    assert before < recent / 3
    assert after > recent / 3


def test_a_label_applied_twice_counts_once():
    once, twice = FeedbackPolicy(), FeedbackPolicy()
    old_false_alarm(once)
    old_false_alarm(twice)
    twice.apply(AlertLabel(dedup_key="regression:export:old", label="false-alarm", time=T0 - 86_000))
    assert twice.threshold_factor("export", at=T0) == once.threshold_factor("export", at=T0) > 1.0
