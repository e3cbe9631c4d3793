"""Prometheus view of the alerts a worker has open: what Alertmanager and the dashboards read.

The worker publishes every emission of an incident (firing, updated, resolved) on the alert topics;
this collector keeps the latest emission of each open incident, by dedup key, and turns the set into
series at scrape time. An incident's series exist while it is open and vanish once it resolves, so a
Prometheus alert on them resolves by itself, and an update that changes an alert's severity (churn
risks are re-ranked) never leaves a stale count behind.

Labels are bounded: kinds, severities, features, tiers, and the release of an *open* regression (a
handful at a time). Account ids appear only in ``spikewatch_churn_risk_account_mrr_at_risk``, which
lists at most ``top_churn_accounts`` accounts (the opaque ids of the event stream; 0 switches it off).

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> from schemas.alerts import Alert
>>> registry = CollectorRegistry()
>>> book = OpenAlertMetrics(registry)
>>> book.observe(Alert(kind="regression", status="firing", severity="critical", pages=True,
...     dedup_key="regression:sso:1", summary="sso tickets rising", feature="sso", release="4.2.0",
...     observed=14, expected=2.5, accounts_affected=9, started_at=1_772_460_000, event_time=1_772_460_060))
>>> labels = {"feature": "sso", "release": "4.2.0"}
>>> registry.get_sample_value("spikewatch_regression_open", {**labels, "severity": "critical"})
1.0
>>> registry.get_sample_value("spikewatch_regression_observed_tickets", labels)
14.0
>>> book.observe(Alert(kind="regression", status="resolved", severity="critical", pages=True,
...     dedup_key="regression:sso:1", summary="sso back to normal", feature="sso", release="4.2.0",
...     started_at=1_772_460_000, event_time=1_772_460_600))
>>> registry.get_sample_value("spikewatch_regression_open", {**labels, "severity": "critical"}) is None
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas.alerts import ALERT_KINDS, SEVERITIES, Alert

__all__ = ["NO_RELEASE", "UNKNOWN_TIER", "OpenAlertMetrics"]

#: ``release`` label of a regression no release was blamed for (an empty label would drop it).
NO_RELEASE = "none"
#: ``tier`` label of a churn risk whose account never sent a profile.
UNKNOWN_TIER = "unknown"


_ALWAYS = ("open", "by_feature", "regression", "observed", "expected", "accounts", "mrr")


class OpenAlertMetrics(Collector):
    """The open incidents of one worker, exported as gauges; register with ``registry``.

    Parameters
    ----------
    registry
        Where the collector is registered (None: not registered, for composition).
    top_churn_accounts
        Accounts listed by ``spikewatch_churn_risk_account_mrr_at_risk`` (largest MRR at risk first);
        0 leaves the metric out.

    """

    def __init__(self, registry: CollectorRegistry | None = None, top_churn_accounts: int = 10) -> None:
        if not 0 <= top_churn_accounts <= 100:
            raise ValueError(f"top_churn_accounts must be within 0..100, got {top_churn_accounts}")
        self.top_churn_accounts = top_churn_accounts
        self._open: dict[str, Alert] = {}
        self._tiers: set[str] = set()
        if registry is not None:
            registry.register(self)

    def observe(self, alert: Alert) -> None:
        """Take one published emission into account."""
        if alert.kind == "churn_risk":
            self._tiers.add(alert.tier or UNKNOWN_TIER)
        if alert.status == "resolved":
            self._open.pop(alert.dedup_key, None)
        else:
            self._open[alert.dedup_key] = alert

    @property
    def open_count(self) -> int:
        """Incidents and episodes open now."""
        return len(self._open)

    def describe(self) -> list[Metric]:
        return list(self._families().values())

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        by_kind = Counter((a.kind, a.severity) for a in self._open.values())
        for kind in ALERT_KINDS:
            for severity in SEVERITIES:  # zeros too, so a panel of open alerts has a flat line, not a gap
                families["open"].add_metric([kind, severity], by_kind[(kind, severity)])
        by_feature = Counter((a.kind, a.feature) for a in self._open.values() if a.feature)
        for (kind, feature), count in sorted(by_feature.items()):
            families["by_feature"].add_metric([kind, feature], count)
        at_risk: dict[str, float] = dict.fromkeys(self._tiers, 0.0)
        churners: list[tuple[float, str, str]] = []
        for alert in self._open.values():
            if alert.kind == "regression":
                self._add_regression(families, alert)
            elif alert.kind == "churn_risk":
                tier = alert.tier or UNKNOWN_TIER
                mrr = _number(alert.evidence.get("mrr_at_risk"))
                at_risk[tier] = at_risk.get(tier, 0.0) + mrr
                churners.append((mrr, alert.account_id or "", tier))
        for tier, mrr in sorted(at_risk.items()):
            families["mrr"].add_metric([tier], mrr)
        yield from (families[name] for name in _ALWAYS)
        if self.top_churn_accounts:
            churners.sort(key=lambda c: (-c[0], c[1]))
            for mrr, account, tier in churners[: self.top_churn_accounts]:
                families["top"].add_metric([account, tier], mrr)
            yield families["top"]

    def _add_regression(self, families: dict[str, GaugeMetricFamily], alert: Alert) -> None:
        feature, release = alert.feature or "", alert.release or NO_RELEASE
        families["regression"].add_metric([feature, release, alert.severity], 1.0)
        families["observed"].add_metric([feature, release], _number(alert.observed))
        families["expected"].add_metric([feature, release], _number(alert.expected))
        families["accounts"].add_metric([feature, release], _number(alert.accounts_affected))

    @staticmethod
    def _families() -> dict[str, GaugeMetricFamily]:
        regression = ["feature", "release"]
        return {
            "open": GaugeMetricFamily(
                "spikewatch_open_alerts",
                "Incidents and episodes fired and not yet resolved by this worker, by kind and severity.",
                labels=["kind", "severity"],
            ),
            "by_feature": GaugeMetricFamily(
                "spikewatch_open_alerts_by_feature",
                "Open incidents that name a feature (regression, drift...), by kind and feature.",
                labels=["kind", "feature"],
            ),
            "regression": GaugeMetricFamily(
                "spikewatch_regression_open",
                "1 for each open regression incident, by feature, suspected release and severity.",
                labels=[*regression, "severity"],
            ),
            "observed": GaugeMetricFamily(
                "spikewatch_regression_observed_tickets",
                "Tickets observed in the window behind an open regression's latest emission.",
                labels=regression,
            ),
            "expected": GaugeMetricFamily(
                "spikewatch_regression_expected_tickets",
                "Tickets expected from the baseline in that window.",
                labels=regression,
            ),
            "accounts": GaugeMetricFamily(
                "spikewatch_regression_accounts_affected",
                "Distinct accounts above their own baseline in an open regression.",
                labels=regression,
            ),
            "mrr": GaugeMetricFamily(
                "spikewatch_churn_mrr_at_risk",
                "Monthly recurring revenue at risk in open churn-risk episodes, by account tier.",
                labels=["tier"],
            ),
            "top": GaugeMetricFamily(
                "spikewatch_churn_risk_account_mrr_at_risk",
                "MRR at risk of the open churn-risk accounts with the most at risk (bounded list).",
                labels=["account_id", "tier"],
            ),
        }


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
