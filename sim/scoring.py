"""Match alerts to labelled incidents and count what each alert kind got right.

Only the first emission of every episode (``status == "firing"``) counts as an alert; updates and
resolutions belong to it. Matching rules, per alert kind:

``regression``
    same feature, raised between the incident's start and 1 h after its end;
``flood``
    same account during the flood (or up to 2 h after); a flood alert on the onboarding account during
    its onboarding is right too (routed to its owner, never paged);
``churn_risk``, ``expansion``
    account level: the account is a labelled churner (alert from 1 day before its decline) or expander;
``drift``
    same feature within 10 days of the drift's start.

Every page not matched to a regression is a false page; it is tagged with what was going on
(holiday, ingestion gap, weekend, benign release, flood, onboarding) to show which trap caught it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sim.labels import Labels
from sim.plan import Incident

__all__ = ["AlertRecord", "KindScore", "SeedScore", "score_alerts"]

_H = 3600.0
_DAY = 86400.0
DRIFT_DEADLINE = 10 * _DAY
CHURN_LEAD_TARGET = 3 * _DAY


@dataclasses.dataclass(frozen=True)
class AlertRecord:
    """What scoring needs of an alert (``ts`` and ``started`` in epoch seconds)."""

    kind: str
    ts: float
    pages: bool = False
    feature: str | None = None
    release: str | None = None
    account_id: str | None = None
    dedup_key: str = ""
    status: str = "firing"
    started: float | None = None

    @classmethod
    def from_alert(cls, alert: Any) -> AlertRecord:
        """From a :class:`schemas.alerts.Alert`."""
        return cls(alert.kind, alert.ts, bool(alert.pages), alert.feature, alert.release, alert.account_id,
                   alert.dedup_key, alert.status, alert.started_at.timestamp())  # fmt: skip


@dataclasses.dataclass
class KindScore:
    """Counts for one alert kind over one or more streams."""

    alerts: int = 0
    matched_alerts: int = 0
    incidents: int = 0
    detected: int = 0
    latencies: list[float] = dataclasses.field(default_factory=list)
    pages: int = 0
    matched_pages: int = 0

    @property
    def pages_per_incident(self) -> float | None:
        """Pages of matched alerts per incident found (``None`` when none was found)."""
        return self.matched_pages / self.detected if self.detected else None

    @property
    def precision(self) -> float | None:
        """Share of alerts that match an incident (``None`` without alerts)."""
        return self.matched_alerts / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        """Share of incidents found (``None`` without incidents)."""
        return self.detected / self.incidents if self.incidents else None

    def add(self, other: KindScore) -> None:
        """Accumulate ``other`` into this score."""
        self.alerts += other.alerts
        self.matched_alerts += other.matched_alerts
        self.incidents += other.incidents
        self.detected += other.detected
        self.latencies += other.latencies
        self.pages += other.pages
        self.matched_pages += other.matched_pages


@dataclasses.dataclass
class SeedScore:
    """Scores of one stream, plus per-regression and per-false-page detail."""

    days: float
    kinds: dict[str, KindScore]
    regressions: list[dict[str, Any]]
    false_pages: list[dict[str, Any]]
    churn_lead_times: list[float]
    pages_per_incident: list[int]


def _firing(alerts: list[AlertRecord]) -> list[AlertRecord]:
    seen: set[str] = set()
    out = []
    for a in sorted(alerts, key=lambda a: a.ts):
        if a.status == "firing" and (a.dedup_key not in seen or not a.dedup_key):
            seen.add(a.dedup_key)
            out.append(a)
    return out


def _during(a: AlertRecord, inc: Incident, before: float, after: float) -> bool:
    return inc.start - before <= a.ts <= inc.end + after


def score_alerts(labels: Labels, alerts: list[AlertRecord]) -> SeedScore:
    """Score ``alerts`` of one stream against its ``labels``.

    Examples
    --------
    >>> from sim.config import SimConfig
    >>> reg = Incident("regression", 1_000_000.0, 1_010_000.0, feature="sso", release="v1", size=3.0)
    >>> labels = Labels(SimConfig(start="1970-01-01T00:00:00Z", days=30), [reg], ["sso"], [])
    >>> hit = AlertRecord("regression", 1_000_600.0, pages=True, feature="sso", release="v1", dedup_key="a")
    >>> wrong = AlertRecord("regression", 2_000_000.0, pages=True, feature="sso", dedup_key="b")
    >>> s = score_alerts(labels, [hit, wrong])
    >>> s.kinds["regression"].precision, s.kinds["regression"].recall, s.regressions[0]["latency_s"]
    (0.5, 1.0, 600.0)
    >>> len(s.false_pages)
    1
    """
    firing = _firing(alerts)
    by_kind: dict[str, list[AlertRecord]] = {}
    for a in firing:
        by_kind.setdefault(a.kind, []).append(a)
    kinds: dict[str, KindScore] = {}
    matched: set[int] = set()  # ids of alerts matched to something

    regression_rows, pages_per_incident = [], []
    score = kinds.setdefault("regression", KindScore())
    for inc in labels.of_kind("regression"):
        hits = [a for a in by_kind.get("regression", []) if a.feature == inc.feature
                and _during(a, inc, 0, _H)]  # fmt: skip
        matched.update(id(a) for a in hits)
        score.incidents += 1
        latency = hits[0].ts - inc.start if hits else None
        if hits:
            score.detected += 1
            score.latencies.append(latency)
            pages_per_incident.append(sum(a.pages for a in hits))
        regression_rows.append({
            "feature": inc.feature, "release": inc.release, "size": inc.size, "start": inc.start,
            "detected": bool(hits), "latency_s": latency, "pages": sum(a.pages for a in hits),
            "release_right": bool(hits) and hits[0].release == inc.release,
        })  # fmt: skip

    onboarding = labels.of_kind("onboarding")
    score = kinds.setdefault("flood", KindScore())
    for inc in labels.of_kind("flood"):
        hits = [a for a in by_kind.get("flood", []) if a.account_id == inc.account_id
                and _during(a, inc, 10 * 60, 2 * _H)]  # fmt: skip
        matched.update(id(a) for a in hits)
        score.incidents += 1
        if hits:
            score.detected += 1
            score.latencies.append(hits[0].ts - inc.start)
    for a in by_kind.get("flood", []):
        if any(a.account_id == inc.account_id and _during(a, inc, 0, 0) for inc in onboarding):
            matched.add(id(a))

    lead_times: list[float] = []
    for kind, label_kind, before in (("churn_risk", "churn", _DAY), ("expansion", "expansion", _DAY)):
        score = kinds.setdefault(kind, KindScore())
        truth = {inc.account_id: inc for inc in labels.of_kind(label_kind)}
        score.incidents += len(truth)
        found: set[str] = set()
        for a in by_kind.get(kind, []):
            inc = truth.get(a.account_id)
            if inc is not None and a.ts >= inc.start - before:
                matched.add(id(a))
                if a.account_id not in found:
                    found.add(a.account_id)
                    score.latencies.append(a.ts - inc.start)
        score.detected += len(found)
        if kind == "churn_risk":
            lead_times = list(score.latencies)

    score = kinds.setdefault("drift", KindScore())
    for inc in labels.of_kind("drift"):
        hits = [a for a in by_kind.get("drift", []) if a.feature == inc.feature
                and inc.start <= a.ts <= inc.end + DRIFT_DEADLINE]  # fmt: skip
        matched.update(id(a) for a in hits)
        score.incidents += 1
        on_time = [a for a in hits if a.ts <= inc.start + DRIFT_DEADLINE]
        if on_time:
            score.detected += 1
            score.latencies.append(on_time[0].ts - inc.start)

    for kind, items in by_kind.items():
        score = kinds.setdefault(kind, KindScore())
        score.alerts += len(items)
        score.matched_alerts += sum(id(a) in matched for a in items)
        score.pages += sum(a.pages for a in items)
        score.matched_pages += sum(a.pages for a in items if id(a) in matched)

    regressions = labels.of_kind("regression")
    false_pages = [
        {"kind": a.kind, "ts": a.ts, "feature": a.feature, "account_id": a.account_id,
         "context": _context(a, labels)}
        for a in firing
        if a.pages and not (a.kind == "regression" and id(a) in matched)
        and not any(a.feature == r.feature and _during(a, r, 0, _H) for r in regressions)
    ]  # fmt: skip
    return SeedScore(labels.config.days, kinds, regression_rows, false_pages, lead_times, pages_per_incident)


def _context(a: AlertRecord, labels: Labels) -> list[str]:
    """What was going on when a false page fired."""
    tags = []
    for inc in labels.of_kind("holiday"):
        if _during(a, inc, 0, 2 * _H):
            tags.append("holiday")
    for inc in labels.of_kind("ingestion_gap"):
        if _during(a, inc, 0, 2 * _H):
            tags.append("gap")
    day_of_week = int((a.ts - labels.config.start_ts) // _DAY) % 7
    if day_of_week >= 5:
        tags.append("weekend")
    for inc in labels.of_kind("benign_release"):
        if inc.start <= a.ts <= inc.end and a.feature in inc.details.get("features", []):
            tags.append("benign_release")
            break
    for inc in labels.of_kind("flood"):
        if _during(a, inc, 0, 2 * _H) and (a.feature == inc.feature or a.account_id == inc.account_id):
            tags.append("flood")
    for inc in labels.of_kind("onboarding"):
        if _during(a, inc, 0, 0) and (a.account_id in (None, inc.account_id)):
            tags.append("onboarding")
    for inc in labels.of_kind("drift"):
        if a.feature == inc.feature and a.ts >= inc.start:
            tags.append("drift")
    return tags or ["other"]
