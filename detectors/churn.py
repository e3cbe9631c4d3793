"""Silent churn risk: an account whose usage falls well below its own baseline and who stops writing in.

Low ticket volume is not health: an account that quietly stops using the product usually files *no*
tickets. Each closed UTC day every warm account's usage is compared with its seasonal baseline and
with its peers the same day (:mod:`detectors.peers`), so a holiday, a weekend or an upstream data gap
that lowers everyone flags no one. An account is flagged after ``min_low_days`` consecutive low days
while filing no more tickets than it usually does (a loud decline is friction, not silence); the alert
never pages, carries the revenue at risk, and is resolved when usage recovers. Open risks are ranked
by MRR at risk, higher near renewal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from detectors.base import Detector
from detectors.daily import SECONDS_PER_DAY, day_label, day_start
from detectors.peers import AccountDay, ClosedDay, PeerBaselines
from schemas.alerts import Alert

__all__ = ["ChurnRisk", "SilentChurnDetector"]


class _Episode:
    """A run of low days of one account, possibly already alerted."""

    __slots__ = (
        "alerted",
        "days_low",
        "evidence",
        "expected",
        "expected_tickets",
        "observed",
        "recovering",
        "start",
        "tickets",
    )

    def __init__(self, start: int) -> None:
        self.start = start
        self.days_low = 0
        self.evidence = 0.0
        self.observed = 0.0
        self.expected = 0.0
        self.tickets = 0.0
        self.expected_tickets = 0.0
        self.recovering = 0
        self.alerted = False


@dataclasses.dataclass(frozen=True)
class ChurnRisk:
    """One open churn risk, as listed by :meth:`SilentChurnDetector.ranked`."""

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


class SilentChurnDetector(Detector):
    """Flag accounts whose usage falls well below baseline for days while they file few tickets.

    Parameters
    ----------
    drop_ratio
        A day is low when the account's peer-normalised usage ratio is below this.
    count_z
        ... and significantly so for a count: usage this many Poisson standard deviations below the
        expected (Anscombe transform), so small accounts' quiet weekends are not declines.
    total_z
        Poisson deviations summed over the run needed to alert: a steep fall alerts after
        ``min_low_days``, a shallow one waits for more evidence.
    fire_ratio
        ... and the run's usage must be at most this share of expected (a real fall, not a dip).
    noise_z
        ... and more than this many of the account's own standard deviations (log scale) below 1, so
        naturally erratic accounts need a deeper fall.
    min_low_days
        Consecutive low days before an alert (days that cannot be judged, such as a data gap, neither
        count nor break the run).
    silence_ratio, ticket_slack
        The account is *silent* when its tickets over the low days are at most ``silence_ratio`` times
        what it usually files on such days plus ``ticket_slack`` (one stray ticket is not friction).
    recover_ratio, recover_days
        The episode resolves after ``recover_days`` consecutive days at or above ``recover_ratio``.
    min_history_days
        Days of usage history before an account may alert (cold start).
    renewal_horizon_days
        A renewal within this many days raises the priority, up to double at the renewal date.
    idle_days
        Accounts with no event for this long are forgotten.

    Examples
    --------
    >>> from types import SimpleNamespace as Ev
    >>> det = SilentChurnDetector(min_history_days=7)
    >>> accounts = [f"a{i}" for i in range(8)]
    >>> alerts, monday = [], 1_772_409_600.0  # 2026-03-02
    >>> for day in range(20):
    ...     for acc in accounts:
    ...         n = 30 if acc == "a0" and day >= 15 else 100
    ...         det.learn_one(Ev(type="usage", account_id=acc, count=n, ts=monday + day * 86_400 + 50_000))
    ...     alerts += det.advance(monday + (day + 1) * 86_400)
    >>> [(a.account_id, a.kind, a.pages, a.dedup_key) for a in alerts]
    [('a0', 'churn_risk', False, 'churn_risk:a0:2026-03-17')]
    >>> [r.account_id for r in det.ranked()]
    ['a0']
    """

    observation_kind = "event"

    def __init__(
        self,
        drop_ratio: float = 0.8,
        count_z: float = 1.5,
        total_z: float = 6.0,
        fire_ratio: float = 0.6,
        noise_z: float = 1.5,
        min_low_days: int = 2,
        silence_ratio: float = 0.6,
        ticket_slack: float = 1.0,
        recover_ratio: float = 0.8,
        recover_days: int = 2,
        min_history_days: int = 7,
        renewal_horizon_days: int = 90,
        idle_days: int = 35,
    ):
        if not 0.0 < drop_ratio < 1.0:
            raise ValueError("drop_ratio must be in (0, 1)")
        if count_z < 0:
            raise ValueError("count_z must be >= 0")
        if total_z < 0:
            raise ValueError("total_z must be >= 0")
        if noise_z < 0:
            raise ValueError("noise_z must be >= 0")
        if min_low_days < 1:
            raise ValueError("min_low_days must be >= 1")
        if silence_ratio < 0:
            raise ValueError("silence_ratio must be >= 0")
        if ticket_slack < 0:
            raise ValueError("ticket_slack must be >= 0")
        if not 0.0 < fire_ratio <= drop_ratio:
            raise ValueError("fire_ratio must be in (0, drop_ratio]")
        if not 0.0 < recover_ratio <= 1.0:
            raise ValueError("recover_ratio must be in (0, 1]")
        if recover_days < 1:
            raise ValueError("recover_days must be >= 1")
        if renewal_horizon_days < 1:
            raise ValueError("renewal_horizon_days must be >= 1")
        self.drop_ratio = drop_ratio
        self.count_z = count_z
        self.total_z = total_z
        self.fire_ratio = fire_ratio
        self.noise_z = noise_z
        self.min_low_days = min_low_days
        self.silence_ratio = silence_ratio
        self.ticket_slack = ticket_slack
        self.recover_ratio = recover_ratio
        self.recover_days = recover_days
        self.min_history_days = min_history_days
        self.renewal_horizon_days = renewal_horizon_days
        self.idle_days = idle_days
        self._peers = PeerBaselines(min_history_days=min_history_days, idle_days=idle_days, min_coverage=0.1)
        self._episodes: dict[str, _Episode] = {}
        self._stats = {"days_closed": 0, "days_not_judged": 0, "days_not_learnt": 0, "not_silent": 0,
                       "fired": 0, "resolved": 0}  # fmt: skip
        self._cold: list[str] = []
        self._today = 0
        self._warm = False

    # -- River-style API -------------------------------------------------------------------------
    def learn_one(self, x: Any) -> None:
        kind = x.type
        if kind == "usage":
            self._peers.usage.add(x.ts, x.account_id, x.count)
        elif kind == "ticket":
            self._peers.tickets.add(x.ts, x.account_id, 1)
        elif kind == "account":
            self._peers.add_facts(x)

    def score_one(self, x: Any) -> float:
        """How far below its peers the account of ``x`` was on its last judged low day (0..1)."""
        ep = self._episodes.get(getattr(x, "account_id", None))
        if ep is None or ep.expected <= 0:
            return 0.0
        return max(0.0, 1.0 - ep.observed / ep.expected)

    def advance(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        for closed in self._peers.close_iter(watermark, self._episodes.keys()):
            self._stats["days_closed"] += 1
            alerts.extend(self._judge(closed))
        return alerts

    @property
    def is_warm(self) -> bool:
        return self._warm

    @property
    def state_size(self) -> int:
        return self._peers.state_size + len(self._episodes)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters, plus ``cold_accounts``: accounts seen on the last closed day that may not alert yet."""
        return {
            **self._stats,
            "open_risks": sum(e.alerted for e in self._episodes.values()),
            "late_usage_dropped": self._peers.usage.late_dropped,
            "cold_accounts": list(self._cold),
        }

    def ranked(self, limit: int | None = None) -> list[ChurnRisk]:
        """Open churn risks, highest priority (MRR at risk, raised near renewal) first."""
        risks = [self._risk(acc, ep, self._today) for acc, ep in self._episodes.items() if ep.alerted]
        risks.sort(key=lambda r: (-r.priority, -r.mrr_at_risk, r.account_id))
        return risks[:limit] if limit is not None else risks

    # -- judging a day ---------------------------------------------------------------------------
    _episodes_day = 0

    def _judge(self, closed: ClosedDay) -> list:
        self._today = closed.day
        for acc in [a for a in self._episodes if a not in self._peers.levels]:
            del self._episodes[acc]  # forgotten after idle_days: nothing more to say about it
        self._cold = [r.account_id for r in closed.accounts if not r.warm]
        if not closed.normal:
            self._stats["days_not_learnt"] += 1
        if not closed.usable:  # cold start for everyone, or a data gap: judge nobody
            self._stats["days_not_judged"] += 1
            return []
        self._warm = len(self._cold) < len(closed.accounts)
        alerts = []
        for row in closed.accounts:
            if row.warm:
                alert = self._judge_account(row, closed)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def _judge_account(self, row: AccountDay, closed: ClosedDay):
        acc, ratio = row.account_id, row.peer_ratio
        ep = self._episodes.get(acc)
        low = (
            ratio < self.drop_ratio
            and row.count_z < -self.count_z
            and math.log(max(ratio, 1e-3)) < -self.noise_z * row.noise
        )
        if low:
            if ep is None:
                ep = self._episodes[acc] = _Episode(closed.day)
            ep.days_low += 1
            ep.evidence -= row.count_z
            ep.observed += row.usage
            ep.expected += row.usage / max(ratio, 1e-9)
            ep.tickets += row.tickets
            ep.expected_tickets += row.expected_tickets
            ep.recovering = 0
            if (
                not ep.alerted
                and ep.days_low >= self.min_low_days
                and ep.evidence >= self.total_z
                and ep.observed <= self.fire_ratio * ep.expected
            ):
                if ep.tickets > self.silence_ratio * ep.expected_tickets + self.ticket_slack:
                    self._stats["not_silent"] += 1
                    return None
                ep.alerted = True
                self._stats["fired"] += 1
                return self._alert(acc, ep, closed.day, "firing")
            return None
        if ep is None:
            return None
        if not ep.alerted:
            del self._episodes[acc]  # a single low day, or a loud one: not a silent decline
            return None
        ep.tickets += row.tickets
        ep.recovering = ep.recovering + 1 if ratio >= self.recover_ratio else 0
        if ep.recovering >= self.recover_days:
            del self._episodes[acc]
            self._stats["resolved"] += 1
            return self._alert(acc, ep, closed.day, "resolved")
        return None

    # -- alerts ----------------------------------------------------------------------------------
    def _risk(self, acc: str, ep: _Episode, day: int) -> ChurnRisk:
        facts = self._peers.facts.get(acc)
        mrr = facts.mrr if facts is not None else 0.0
        renewal = facts.renewal_date if facts is not None else None
        usage_ratio = ep.observed / ep.expected if ep.expected > 0 else 0.0
        at_risk = mrr * max(0.0, 1.0 - usage_ratio)
        boost = 1.0
        if renewal is not None:
            days_left = (renewal - dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + day)).days
            if 0 <= days_left <= self.renewal_horizon_days:
                boost += 1.0 - days_left / self.renewal_horizon_days
        return ChurnRisk(acc, self._peers.tier(acc), facts.owner if facts is not None else None, mrr, renewal,
                         round(at_risk, 2), round(at_risk * boost, 2), day_label(ep.start), ep.days_low,
                         round(usage_ratio, 3))  # fmt: skip

    def _severity(self, priority: float) -> str:
        """Rank among open risks: top quarter critical, top half warning, the rest info."""
        priorities = sorted((self._risk(a, e, self._today).priority
                             for a, e in self._episodes.items() if e.alerted), reverse=True)  # fmt: skip
        rank = sum(p > priority for p in priorities)
        share = rank / max(len(priorities), 1)
        return "critical" if share < 0.25 else "warning" if share < 0.5 else "info"

    def _alert(self, acc: str, ep: _Episode, day: int, status: str) -> Alert:
        risk = self._risk(acc, ep, day)
        days = max(ep.days_low, 1)
        if status == "firing":
            summary = (
                f"{acc} ({risk.tier}) usage at {risk.usage_ratio:.0%} of expected for {ep.days_low} days"
                f" with {ep.tickets:.0f} tickets; MRR at risk {risk.mrr_at_risk:.0f}"
            )
        else:
            summary = f"{acc} usage back to normal after a silent decline since {risk.since}"
        return Alert(
            kind="churn_risk",
            status=status,
            dedup_key=f"churn_risk:{acc}:{risk.since}",
            severity=self._severity(risk.priority) if status == "firing" else "info",
            pages=False,
            summary=summary,
            account_id=acc,
            tier=risk.tier,
            observed=round(ep.observed / days, 3),
            expected=round(ep.expected / days, 3),
            score=risk.priority,
            evidence={
                "mrr": risk.mrr,
                "mrr_at_risk": risk.mrr_at_risk,
                "owner": risk.owner,
                "renewal_date": risk.renewal_date.isoformat() if risk.renewal_date else None,
                "days_declining": ep.days_low,
                "peer_ratio": risk.usage_ratio,
                "tickets_in_period": round(ep.tickets, 1),
                "usual_tickets_in_period": round(ep.expected_tickets, 1),
            },
            started_at=day_start(ep.start),
            event_time=day_start(day) + SECONDS_PER_DAY,
        )
