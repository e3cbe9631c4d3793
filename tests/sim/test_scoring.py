from __future__ import annotations

import pytest

from sim.config import SimConfig
from sim.labels import Labels
from sim.plan import Incident
from sim.scoring import AlertRecord, KindScore, score_alerts

CFG = SimConfig(days=30)  # starts on Monday 2026-03-02
T0 = CFG.start_ts
H, DAY = 3600.0, 86400.0


def _labels(*incidents: Incident) -> Labels:
    return Labels(CFG, list(incidents), ["sso", "billing"], [])


REG = Incident("regression", T0 + 8 * DAY + 10 * H, T0 + 8 * DAY + 14 * H, feature="sso", release="v2",
               size=3.0)


def test_matched_false_and_late_regression_alerts():
    labels = _labels(REG)
    matched = AlertRecord("regression", REG.start + 600, pages=True, feature="sso", release="v2",
                          dedup_key="m")
    update = AlertRecord("regression", REG.start + 900, pages=True, feature="sso", dedup_key="m",
                         status="updated")
    false = AlertRecord("regression", T0 + 9 * DAY, pages=True, feature="billing", dedup_key="f")
    late = AlertRecord("regression", REG.end + 2 * H, pages=True, feature="sso", dedup_key="l")
    s = score_alerts(labels, [matched, update, false, late])
    reg = s.kinds["regression"]
    assert (reg.alerts, reg.matched_alerts, reg.incidents, reg.detected) == (3, 1, 1, 1)
    assert reg.precision == pytest.approx(1 / 3)
    assert reg.recall == 1.0
    assert reg.latencies == [600.0]
    assert s.regressions[0]["release_right"] is True
    assert s.pages_per_incident == [1]
    assert (reg.pages, reg.matched_pages, reg.pages_per_incident) == (3, 1, 1.0)
    assert len(s.false_pages) == 2


def test_an_alert_only_after_the_incident_is_a_miss():
    late = AlertRecord("regression", REG.end + 2 * H, pages=True, feature="sso", dedup_key="l")
    s = score_alerts(_labels(REG), [late])
    assert s.kinds["regression"].recall == 0.0
    assert s.kinds["regression"].precision == 0.0
    assert s.regressions[0]["latency_s"] is None


def test_false_pages_are_tagged_with_the_trap_that_caused_them():
    holiday = Incident("holiday", T0 + 10 * DAY, T0 + 11 * DAY, size=0.2)
    gap = Incident("ingestion_gap", T0 + 15 * DAY + 9 * H, T0 + 15 * DAY + 15 * H, size=6.0)
    flood = Incident("flood", T0 + 17 * DAY, T0 + 17 * DAY + H, feature="billing", account_id="acct-1",
                     size=40.0)
    pages = [AlertRecord("regression", t, pages=True, feature="billing", dedup_key=str(t))
             for t in (T0 + 10 * DAY + 12 * H, T0 + 15 * DAY + 10 * H, T0 + 5 * DAY + 12 * H,
                       T0 + 17 * DAY + 0.5 * H, T0 + 3 * DAY)]
    s = score_alerts(_labels(holiday, gap, flood), pages)
    assert [p["context"] for p in s.false_pages] == [["other"], ["weekend"], ["holiday"], ["gap"], ["flood"]]


def test_flood_and_account_level_scores():
    flood = Incident("flood", T0 + 9 * DAY, T0 + 9 * DAY + H, feature="sso", account_id="acct-7", size=30.0)
    churn = Incident("churn", T0 + 12 * DAY, T0 + 14 * DAY, account_id="acct-3", size=0.2)
    churn2 = Incident("churn", T0 + 12 * DAY, T0 + 13 * DAY, account_id="acct-4", size=0.3)
    onboarding = Incident("onboarding", T0 + 20 * DAY, T0 + 24 * DAY, account_id="acct-99", size=10.0)
    alerts = [
        AlertRecord("flood", flood.start + 900, account_id="acct-7", dedup_key="f1"),
        AlertRecord("flood", T0 + 21 * DAY, account_id="acct-99", dedup_key="f2"),  # onboarding: right
        AlertRecord("flood", T0 + 25 * DAY, account_id="acct-5", dedup_key="f3"),
        AlertRecord("churn_risk", churn.start + 2 * DAY, account_id="acct-3", dedup_key="c1"),
        AlertRecord("churn_risk", churn.start + 3 * DAY, account_id="acct-3", dedup_key="c1b"),
        AlertRecord("churn_risk", T0 + 10 * DAY, account_id="acct-8", dedup_key="c2"),
    ]
    s = score_alerts(_labels(flood, churn, churn2, onboarding), alerts)
    assert (s.kinds["flood"].precision, s.kinds["flood"].recall) == (pytest.approx(2 / 3), 1.0)
    assert s.kinds["churn_risk"].recall == 0.5
    assert s.kinds["churn_risk"].precision == pytest.approx(2 / 3)
    assert s.churn_lead_times == [2 * DAY]
    assert s.false_pages == []


def test_drift_must_be_found_within_ten_days_on_its_feature():
    drift = Incident("drift", T0 + 8 * DAY, T0 + 22 * DAY, feature="billing", size=2.0)
    on_time = AlertRecord("drift", drift.start + 6 * DAY, feature="billing", dedup_key="d1")
    too_late = AlertRecord("drift", drift.start + 12 * DAY, feature="billing", dedup_key="d2")
    wrong = AlertRecord("drift", drift.start + 6 * DAY, feature="sso", dedup_key="d3")
    assert score_alerts(_labels(drift), [on_time, wrong]).kinds["drift"].recall == 1.0
    late = score_alerts(_labels(drift), [too_late, wrong]).kinds["drift"]
    assert (late.recall, late.precision) == (0.0, 0.5)


def test_kind_scores_add_up():
    a, b = KindScore(alerts=2, matched_alerts=1, incidents=3, detected=1, latencies=[5.0]), KindScore()
    b.add(a)
    b.add(a)
    assert (b.precision, b.recall, b.latencies) == (0.5, pytest.approx(1 / 3), [5.0, 5.0])
    assert KindScore().precision is None and KindScore().recall is None
