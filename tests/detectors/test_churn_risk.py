"""Churn episodes, revenue at risk and alert severity."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from detectors.churn_risk import ChurnEpisode, churn_alert, churn_risk, rank_severity

DAY0 = 20_500  # a UTC day index


def _episode(observed=30.0, expected=100.0):
    ep = ChurnEpisode(DAY0 * 24 + 9)
    ep.add_hour(observed, expected, 0, 1.0)
    return ep


def _facts(renewal_days):
    renewal = dt.date(1970, 1, 1) + dt.timedelta(days=DAY0 + renewal_days)
    return SimpleNamespace(mrr=1000.0, renewal_date=renewal, owner="csm-ana")


def test_revenue_at_risk_is_the_share_of_usage_lost_and_renewal_raises_priority():
    ep = _episode()
    far = churn_risk("a", "pro", _facts(200), ep, DAY0 * 24 + 12, renewal_horizon_days=90)
    near = churn_risk("a", "pro", _facts(10), ep, DAY0 * 24 + 12, renewal_horizon_days=90)
    assert far.mrr_at_risk == near.mrr_at_risk == 700.0
    assert far.priority == 700.0 < near.priority <= 1400.0


def test_unknown_account_has_no_revenue_at_risk():
    risk = churn_risk("a", "unknown", None, _episode(), DAY0 * 24 + 12, renewal_horizon_days=90)
    assert risk.mrr == 0.0 and risk.priority == 0.0


def test_severity_ranks_among_open_risks():
    assert rank_severity(5.0, [5.0]) == "critical"
    assert [rank_severity(p, [4.0, 3.0, 2.0, 1.0]) for p in (4.0, 2.0)] == ["critical", "info"]


def test_alert_keeps_the_episode_start_and_never_pages():
    ep = _episode()
    risk = churn_risk("a", "pro", _facts(30), ep, DAY0 * 24 + 12, renewal_horizon_days=90)
    alert = churn_alert(risk, ep, "firing", "warning", (DAY0 * 24 + 13) * 3600.0)
    assert not alert.pages and alert.kind == "churn_risk"
    assert alert.started_at.timestamp() == (DAY0 * 24 + 9) * 3600.0
    assert alert.dedup_key == f"churn_risk:a:{risk.since}"
