"""Open-incident metrics on a fresh registry: regression series, churn MRR, the bounded top list."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from schemas.alerts import Alert
from stream.alert_metrics import NO_RELEASE, OpenAlertMetrics

T0 = 1_772_460_000


def alert(kind: str, key: str, status: str = "firing", severity: str = "warning", **fields) -> Alert:
    return Alert(kind=kind, status=status, severity=severity, dedup_key=key, pages=kind == "regression",
                 summary=f"{kind} {key}", started_at=T0, event_time=T0 + 60, **fields)  # fmt: skip


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_an_open_regression_exposes_feature_release_and_its_figures_until_it_resolves(registry):
    book = OpenAlertMetrics(registry)
    labels = {"feature": "checkout", "release": "v1.4.0"}
    book.observe(alert("regression", "regression:checkout:1", severity="critical", observed=15, expected=2.7,
                       accounts_affected=11, **labels))  # fmt: skip
    book.observe(alert("regression", "regression:checkout:1", "updated", "critical", observed=25,
                       expected=4.6, accounts_affected=19, **labels))  # fmt: skip
    assert registry.get_sample_value("spikewatch_regression_open", {**labels, "severity": "critical"}) == 1
    assert registry.get_sample_value("spikewatch_regression_observed_tickets", labels) == 25
    assert registry.get_sample_value("spikewatch_regression_expected_tickets", labels) == pytest.approx(4.6)
    assert registry.get_sample_value("spikewatch_regression_accounts_affected", labels) == 19
    book.observe(alert("regression", "regression:checkout:1", "resolved", "critical", **labels))
    assert registry.get_sample_value("spikewatch_regression_open", {**labels, "severity": "critical"}) is None
    assert registry.get_sample_value("spikewatch_regression_observed_tickets", labels) is None
    assert book.open_count == 0


def test_a_regression_without_a_suspected_release_keeps_a_non_empty_release_label(registry):
    OpenAlertMetrics(registry).observe(alert("regression", "regression:sso:1", feature="sso"))
    labels = {"feature": "sso", "release": NO_RELEASE, "severity": "warning"}
    assert registry.get_sample_value("spikewatch_regression_open", labels) == 1


def test_churn_mrr_at_risk_adds_up_by_tier_and_stays_at_zero_once_resolved(registry):
    book = OpenAlertMetrics(registry)
    risks = (("a1", "enterprise", 3000.0), ("a2", "enterprise", 1200.5), ("a3", "smb", 90.0))
    for account, tier, mrr in risks:
        book.observe(alert("churn_risk", f"churn_risk:{account}", account_id=account, tier=tier,
                           evidence={"mrr_at_risk": mrr}))  # fmt: skip
    assert registry.get_sample_value("spikewatch_churn_mrr_at_risk", {"tier": "enterprise"}) == 4200.5
    book.observe(alert("churn_risk", "churn_risk:a3", "resolved", account_id="a3", tier="smb"))
    assert registry.get_sample_value("spikewatch_churn_mrr_at_risk", {"tier": "smb"}) == 0


def test_the_top_churn_list_is_bounded_and_ranked_by_mrr_at_risk(registry):
    book = OpenAlertMetrics(registry, top_churn_accounts=3)
    for i in range(20):
        book.observe(alert("churn_risk", f"churn_risk:a{i}", account_id=f"a{i}", tier="smb",
                           evidence={"mrr_at_risk": 100.0 * i}))  # fmt: skip
    listed = [line for line in generate_latest(registry).decode().splitlines()
              if line.startswith("spikewatch_churn_risk_account_mrr_at_risk{")]  # fmt: skip
    assert len(listed) == 3
    assert registry.get_sample_value("spikewatch_churn_risk_account_mrr_at_risk",
                                     {"account_id": "a19", "tier": "smb"}) == 1900  # fmt: skip
    assert registry.get_sample_value("spikewatch_churn_risk_account_mrr_at_risk",
                                     {"account_id": "a16", "tier": "smb"}) is None  # fmt: skip


def test_no_account_id_appears_outside_the_top_list(registry):
    book = OpenAlertMetrics(registry, top_churn_accounts=0)
    book.observe(alert("flood", "flood:acme-corp", account_id="acme-corp", feature="sso"))
    book.observe(alert("churn_risk", "churn_risk:acme-corp", account_id="acme-corp", tier="smb"))
    assert b"acme-corp" not in generate_latest(registry)


def test_open_alerts_by_feature_count_drift_per_feature(registry):
    book = OpenAlertMetrics(registry)
    book.observe(alert("drift", "drift:reports", feature="reports", severity="info"))
    labels = {"kind": "drift", "feature": "reports"}
    assert registry.get_sample_value("spikewatch_open_alerts_by_feature", labels) == 1


@pytest.mark.parametrize("top", [-1, 101])
def test_top_churn_accounts_is_bounded(top):
    with pytest.raises(ValueError, match="top_churn_accounts"):
        OpenAlertMetrics(top_churn_accounts=top)
