"""An account's silent-decline episode, the churn risk it represents, and the alert that reports it.

Split from :mod:`detectors.churn`: the detector decides *when*; this module says *what* (revenue at
risk, priority near renewal, the alert's fields).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import ClassVar

from detectors.daily import SECONDS_PER_HOUR, day_label
from detectors.peers import AccountFacts
from detectors.rows import Rows
from schemas.alerts import Alert

__all__ = ["ChurnEpisode", "ChurnEpisodes", "ChurnRisk", "churn_alert", "churn_risk", "rank_severity"]

_EPOCH = dt.date(1970, 1, 1).toordinal()


class ChurnEpisode:
    """Evidence that one account's usage fell, from the first low hour on (possibly already alerted)."""

    __slots__ = ("alerted", "evidence", "expected", "expected_tickets", "hours", "observed", "recovering",
                 "start", "tickets")  # fmt: skip

    def __init__(self, start: int) -> None:
        self.start = start  # UTC hour index at which the evidence began to accumulate
        self.hours = 0  # hours judged (hours without peer data do not count)
        self.evidence = 0.0  # CUSUM of the Poisson log-likelihood ratio "fell to a share" vs "as usual"
        self.observed = 0.0
        self.expected = 0.0
        self.tickets = 0.0
        self.expected_tickets = 0.0
        self.recovering = 0
        self.alerted = False

    def add_hour(self, used: float, expected: float, tickets: float, expected_tickets: float) -> None:
        """Count one judged hour into the episode's totals."""
        self.hours += 1
        self.observed += used
        self.expected += expected
        self.tickets += tickets
        self.expected_tickets += expected_tickets

    def days_declining(self, hour: int) -> int:
        """Started UTC days from the episode's start to ``hour`` (at least 1)."""
        return max(1, hour // 24 - self.start // 24 + 1)


class ChurnEpisodes(Rows):
    """The open episodes, one row per account (:class:`~detectors.rows.Rows`, about 80 bytes each);
    :meth:`episode` reads one back as a :class:`ChurnEpisode`.

    Examples
    --------
    >>> episodes = ChurnEpisodes()
    >>> r = episodes.open("acme", 100)
    >>> episodes.add_hour(r, 3.0, 10.0, 0, 0.5)
    >>> ep = episodes.episode(r)
    >>> ep.start, ep.hours, ep.observed, ep.expected, ep.alerted
    (100, 1, 3.0, 10.0, False)
    """

    __slots__ = ("alerted", "evidence", "expected", "expected_tickets", "hours", "observed", "recovering",
                 "start", "tickets")  # fmt: skip
    COLUMNS: ClassVar[dict[str, tuple]] = {
        "start": ("i", 0),  # UTC hour index (4 bytes: fits any datetime)
        "hours": ("i", 0),
        "evidence": ("d", 0.0),
        "observed": ("d", 0.0),
        "expected": ("d", 0.0),
        "tickets": ("d", 0.0),
        "expected_tickets": ("d", 0.0),
        "recovering": ("i", 0),
        "alerted": ("B", 0),
    }

    def open(self, account_id: str, start: int) -> int:
        """The row of a new episode of ``account_id`` beginning at UTC hour ``start``."""
        r = self.add(account_id)
        self.start[r] = start
        return r

    def add_hour(self, r: int, used: float, expected: float, tickets: float, expected_tickets: float) -> None:
        """Count one judged hour into the totals of row ``r`` (as :meth:`ChurnEpisode.add_hour`)."""
        self.hours[r] += 1
        self.observed[r] += used
        self.expected[r] += expected
        self.tickets[r] += tickets
        self.expected_tickets[r] += expected_tickets

    def episode(self, r: int) -> ChurnEpisode:
        """Row ``r`` as a :class:`ChurnEpisode` (a copy)."""
        ep = ChurnEpisode(self.start[r])
        ep.hours, ep.evidence = self.hours[r], self.evidence[r]
        ep.observed, ep.expected = self.observed[r], self.expected[r]
        ep.tickets, ep.expected_tickets = self.tickets[r], self.expected_tickets[r]
        ep.recovering, ep.alerted = self.recovering[r], bool(self.alerted[r])
        return ep


@dataclasses.dataclass(frozen=True)
class ChurnRisk:
    """One open churn risk, as listed by :meth:`detectors.churn.SilentChurnDetector.ranked`."""

    account_id: str
    tier: str
    owner: str | None
    mrr: float
    renewal_date: dt.date | None
    mrr_at_risk: float
    priority: float
    since: str
    days_declining: int
    usage_ratio: float


def churn_risk(account_id: str, tier: str, facts: AccountFacts | None, ep: ChurnEpisode, hour: int,
               renewal_horizon_days: int) -> ChurnRisk:  # fmt: skip
    """MRR at risk (MRR times the share of usage lost), raised up to double as renewal approaches."""
    mrr = facts.mrr if facts is not None else 0.0
    renewal = facts.renewal_date if facts is not None else None
    usage_ratio = ep.observed / ep.expected if ep.expected > 0 else 0.0
    at_risk = mrr * max(0.0, 1.0 - usage_ratio)
    boost = 1.0
    if renewal is not None:
        days_left = renewal.toordinal() - (_EPOCH + hour // 24)
        if 0 <= days_left <= renewal_horizon_days:
            boost += 1.0 - days_left / renewal_horizon_days
    return ChurnRisk(account_id, tier, facts.owner if facts is not None else None, mrr, renewal,
                     round(at_risk, 2), round(at_risk * boost, 2), day_label(ep.start // 24),
                     ep.days_declining(hour), round(usage_ratio, 3))  # fmt: skip


def rank_severity(priority: float, open_priorities: list[float]) -> str:
    """Rank among open risks: top quarter critical, top half warning, the rest info.

    >>> [rank_severity(p, [9.0, 5.0, 3.0, 1.0]) for p in (9.0, 5.0, 3.0, 1.0)]
    ['critical', 'warning', 'info', 'info']
    """
    share = sum(p > priority for p in open_priorities) / max(len(open_priorities), 1)
    return "critical" if share < 0.25 else "warning" if share < 0.5 else "info"


def churn_alert(risk: ChurnRisk, ep: ChurnEpisode, status: str, severity: str, event_time: float) -> Alert:
    """The ``churn_risk`` alert for an episode (never pages: customer success, not on-call)."""
    acc = risk.account_id
    if status == "firing":
        summary = (
            f"{acc} ({risk.tier}) usage at {risk.usage_ratio:.0%} of expected for {risk.days_declining} days"
            f" with {ep.tickets:.0f} tickets; MRR at risk {risk.mrr_at_risk:.0f}"
        )
    else:
        summary = f"{acc} usage back to normal after a silent decline since {risk.since}"
    days = max(ep.hours / 24.0, 1.0 / 24.0)
    return Alert(
        kind="churn_risk",
        status=status,
        dedup_key=f"churn_risk:{acc}:{risk.since}",
        severity=severity,
        pages=False,
        summary=summary,
        account_id=acc,
        tier=risk.tier,
        observed=round(ep.observed / days, 3),  # per day
        expected=round(ep.expected / days, 3),
        score=risk.priority,
        evidence={
            "mrr": risk.mrr,
            "mrr_at_risk": risk.mrr_at_risk,
            "owner": risk.owner,
            "renewal_date": risk.renewal_date.isoformat() if risk.renewal_date else None,
            "days_declining": risk.days_declining,
            "peer_ratio": risk.usage_ratio,
            "log_likelihood_ratio": round(ep.evidence, 2),
            "tickets_in_period": round(ep.tickets, 1),
            "usual_tickets_in_period": round(ep.expected_tickets, 1),
        },
        started_at=ep.start * SECONDS_PER_HOUR,
        event_time=event_time,
    )
