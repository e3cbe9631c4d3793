"""Silent churn risk: an account whose usage falls well below its own baseline and who stops writing in.

Low ticket volume is not health: an account that quietly stops using the product usually files *no*
tickets. Every closed UTC hour each warm account's usage is compared with what its level and its peers
in that hour predict (:mod:`detectors.hourly`), so a holiday, a weekend, a company-wide dip or an
upstream data gap that lowers everyone flags no one. Evidence accumulates CUSUM-style from the first
low hour: the Poisson log-likelihood ratio of "usage fell to ``drop_ratio`` of expected" against "as
usual", so quiet hours (nights, weekends, a holiday) carry little weight either way instead of breaking
a run, and a steep fall of a big account is seen within hours. The account is flagged once the evidence
passes ``threshold`` while it files no more tickets than it usually does (a loud decline is friction,
not silence); the alert never pages, carries the revenue at risk, and is resolved when daily usage
recovers. Open risks are ranked by MRR at risk, higher near renewal.
"""

from __future__ import annotations

import math
from typing import Any

from detectors.base import Detector
from detectors.churn_risk import (
    ChurnEpisode,
    ChurnEpisodes,
    ChurnRisk,
    churn_alert,
    churn_risk,
    rank_severity,
)
from detectors.daily import SECONDS_PER_HOUR, HourBuckets
from detectors.hourly import hour_expectations
from detectors.peers import ClosedDay, PeerBaselines
from schemas.alerts import Alert

__all__ = ["ChurnRisk", "SilentChurnDetector"]


class SilentChurnDetector(Detector):
    """Flag accounts whose usage falls well below baseline while they file few tickets.

    Parameters
    ----------
    drop_ratio
        Share of its expected usage the evidence tests for: hours below about ``0.72`` of expected
        (for the default ``0.5``) add evidence, hours above it take evidence away.
    threshold
        Log-likelihood ratio (nats) at which the account is flagged.
    hour_cap
        Largest evidence one hour can add, so that a single missing aggregate of a big account is not
        a decline.
    fire_ratio
        ... and the episode's usage must be at most this share of expected (a real fall, not a dip).
    noise_z
        ... and more than this many of the account's own daily standard deviations (log scale) below
        1, so naturally erratic accounts need a deeper fall.
    silence_ratio, ticket_slack
        The account is *silent* when its tickets during the episode are at most ``silence_ratio`` times
        what it usually files in such hours plus ``ticket_slack`` (one stray ticket is not friction).
    recover_ratio, recover_days
        The episode resolves after ``recover_days`` consecutive days at or above ``recover_ratio``.
    min_history_days
        Days of usage history before an account may alert (cold start).
    min_peers
        Warm accounts a tier needs for its own hourly peer factor, otherwise the whole base is used.
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
    ...     for hour in range(9, 18):
    ...         t = monday + day * 86_400 + hour * 3_600
    ...         for acc in accounts:
    ...             n = 3 if acc == "a0" and day >= 15 else 10
    ...             det.learn_one(Ev(type="usage", account_id=acc, count=n, ts=t))
    ...         alerts += det.advance(t)
    >>> [(a.account_id, a.kind, a.pages, a.dedup_key) for a in alerts]
    [('a0', 'churn_risk', False, 'churn_risk:a0:2026-03-17')]
    >>> (alerts[0].ts - monday) / 86_400 - 15 < 1  # within hours of the fall, not days
    True
    >>> [r.account_id for r in det.ranked()]
    ['a0']
    """

    observation_kind = "event"

    def __init__(
        self,
        drop_ratio: float = 0.5,
        threshold: float = 10.0,
        hour_cap: float = 2.0,
        fire_ratio: float = 0.75,
        noise_z: float = 1.5,
        silence_ratio: float = 1.0,
        ticket_slack: float = 1.0,
        recover_ratio: float = 0.8,
        recover_days: int = 2,
        min_history_days: int = 7,
        min_peers: int = 5,
        renewal_horizon_days: int = 90,
        idle_days: int = 35,
    ):
        checks = {
            "drop_ratio must be in (0, 1)": 0.0 < drop_ratio < 1.0,
            "threshold must be > 0": threshold > 0,
            "hour_cap must be > 0": hour_cap > 0,
            "fire_ratio must be in (0, 1)": 0.0 < fire_ratio < 1.0,
            "noise_z must be >= 0": noise_z >= 0,
            "silence_ratio must be >= 0": silence_ratio >= 0,
            "ticket_slack must be >= 0": ticket_slack >= 0,
            "recover_ratio must be in (0, 1]": 0.0 < recover_ratio <= 1.0,
            "recover_days must be >= 1": recover_days >= 1,
            "min_peers must be >= 1": min_peers >= 1,
            "renewal_horizon_days must be >= 1": renewal_horizon_days >= 1,
        }
        for message, ok in checks.items():
            if not ok:
                raise ValueError(message)
        self.drop_ratio = drop_ratio
        self.threshold = threshold
        self.hour_cap = hour_cap
        self.fire_ratio = fire_ratio
        self.noise_z = noise_z
        self.silence_ratio = silence_ratio
        self.ticket_slack = ticket_slack
        self.recover_ratio = recover_ratio
        self.recover_days = recover_days
        self.min_history_days = min_history_days
        self.min_peers = min_peers
        self.renewal_horizon_days = renewal_horizon_days
        self.idle_days = idle_days
        self._peers = PeerBaselines(min_history_days=min_history_days, idle_days=idle_days, min_coverage=0.1,
                                    min_peers=min_peers)  # fmt: skip
        self._usage = HourBuckets()
        self._tickets = HourBuckets()
        self._log_drop = math.log(drop_ratio)
        self._episodes = ChurnEpisodes()
        self._stats = {"hours_judged": 0, "hours_without_peers": 0, "days_closed": 0, "days_not_judged": 0,
                       "days_not_learnt": 0, "not_silent": 0, "fired": 0, "resolved": 0}  # fmt: skip
        self._cold: list[str] = []
        self._hour = 0
        self._warm = False

    # -- River-style API -------------------------------------------------------------------------
    def learn_one(self, x: Any) -> None:
        kind = x.type
        if kind == "usage":
            self.learn_usage(x, x.ts)
        elif kind == "ticket":
            self.learn_ticket(x, x.ts)
        elif kind == "account":
            self.learn_account(x, x.ts)

    # The engine calls these with the event time it computed once (``ts`` is ``event.ts``).
    def learn_usage(self, usage: Any, ts: float) -> None:
        """Learn a usage event at event time ``ts``: its count in the account's hour."""
        self._usage.add(ts, usage.account_id, usage.count)

    def learn_ticket(self, ticket: Any, ts: float) -> None:
        """Learn a ticket at event time ``ts``: one more in the account's hour."""
        self._tickets.add(ts, ticket.account_id, 1)

    def learn_account(self, account: Any, ts: float) -> None:
        """Learn an account profile (tier, seats, revenue): the peers it is compared with."""
        self._peers.add_facts(account)

    def score_one(self, x: Any) -> float:
        """How far below its peers the account of ``x`` has been during its current episode (0..1)."""
        eps = self._episodes
        r = eps.index.get(getattr(x, "account_id", None))
        if r is None or eps.expected[r] <= 0:
            return 0.0
        return max(0.0, 1.0 - eps.observed[r] / eps.expected[r])

    def advance(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        tickets = dict(self._tickets.close(watermark))
        for hour, usage in self._usage.close(watermark):
            hour_tickets = tickets.pop(hour, {})
            self._peers.add_hour(hour, usage, hour_tickets)  # days built from hours: one dict op per event
            alerts.extend(self._judge_hour(hour, usage, hour_tickets))
        for hour, hour_tickets in tickets.items():  # hours with tickets but no usage event at all
            self._peers.add_hour(hour, {}, hour_tickets)
        eps, half = self._episodes, 0.5 * self.threshold
        hold: set[str] = set()  # accounts whose baseline a closing day must keep: only days need them
        if self._peers.usage.closes(watermark):
            hold = {a for a, r in eps.index.items() if eps.alerted[r] or eps.evidence[r] >= half}
        for closed in self._peers.close_iter(watermark, hold):
            self._stats["days_closed"] += 1
            alerts.extend(self._judge_day(closed))
        return alerts

    def forget_account(self, account_id: str) -> None:
        if self.holds_account(account_id):
            return
        self._episodes.remove(account_id)
        self._peers.forget(account_id)
        self._usage.forget(account_id)
        self._tickets.forget(account_id)

    def holds_account(self, account_id: str) -> bool:
        r = self._episodes.index.get(account_id)
        return r is not None and bool(self._episodes.alerted[r])

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
            "open_risks": sum(self._episodes.alerted[r] for r in self._episodes.index.values()),
            "late_usage_dropped": self._usage.late_dropped,
            "cold_accounts": list(self._cold),
        }

    def ranked(self, limit: int | None = None) -> list[ChurnRisk]:
        """Open churn risks, highest priority (MRR at risk, raised near renewal) first."""
        risks = [self._risk(acc, ep) for acc, ep in self._open_episodes()]
        risks.sort(key=lambda r: (-r.priority, -r.mrr_at_risk, r.account_id))
        return risks[:limit] if limit is not None else risks

    # -- judging an hour -------------------------------------------------------------------------
    def _judge_hour(self, hour: int, usage: dict, tickets: dict) -> list[Alert]:
        self._hour = hour
        rows = hour_expectations(self._peers, usage, self.min_history_days, self.min_peers)
        if rows is None:
            return []
        if not rows:  # the peers sent nothing this hour (a gap, or between aggregates)
            self._stats["hours_without_peers"] += 1
            eps = self._episodes
            for acc, n in tickets.items():  # tickets still say the account is not silent
                r = eps.index.get(acc)
                if r is not None:
                    eps.tickets[r] += n
            return []
        self._stats["hours_judged"] += 1
        self._warm = True
        alerts = []
        for acc, expected, expected_tickets, logvar in rows:
            alert = self._judge_account(acc, hour, usage.get(acc, 0.0), expected, tickets.get(acc, 0),
                                        expected_tickets, logvar)  # fmt: skip
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _judge_account(self, acc: str, hour: int, used: float, expected: float, tickets: float,
                       expected_tickets: float, logvar: float) -> Alert | None:  # fmt: skip
        llr = min(used * self._log_drop + expected * (1.0 - self.drop_ratio), self.hour_cap)
        eps = self._episodes
        r = eps.index.get(acc)
        if r is None:
            if llr <= 0.0:
                return None
            r = eps.open(acc, hour)
        evidence = eps.evidence[r] = max(0.0, eps.evidence[r] + llr)
        if evidence == 0.0 and not eps.alerted[r]:
            eps.remove(acc)
            return None
        eps.add_hour(r, used, expected, tickets, expected_tickets)
        observed, expected = eps.observed[r], eps.expected[r]
        if eps.alerted[r] or evidence < self.threshold or observed > self.fire_ratio * expected:
            return None
        if math.log(max(observed / expected, 1e-3)) >= -self.noise_z * math.sqrt(logvar):
            return None
        if eps.tickets[r] > self.silence_ratio * eps.expected_tickets[r] + self.ticket_slack:
            self._stats["not_silent"] += 1
            return None
        eps.alerted[r] = 1
        self._stats["fired"] += 1
        return self._alert(acc, eps.episode(r), "firing", (hour + 1) * SECONDS_PER_HOUR)

    # -- daily housekeeping: cold list, recovery, eviction ---------------------------------------
    def _judge_day(self, closed: ClosedDay) -> list[Alert]:
        levels = self._peers.levels
        for acc in [a for a in self._episodes if a not in levels]:
            self._episodes.remove(acc)  # forgotten after idle_days: nothing more to say about it
        self._cold = [r.account_id for r in closed.accounts if not r.warm]
        if not closed.normal:
            self._stats["days_not_learnt"] += 1
        if not closed.usable:  # cold start for everyone, or a data gap: no recovery either
            self._stats["days_not_judged"] += 1
            return []
        alerts = []
        eps = self._episodes
        for row in closed.accounts:
            r = eps.index.get(row.account_id)
            if r is None or not eps.alerted[r] or not row.warm:
                continue
            eps.recovering[r] = eps.recovering[r] + 1 if row.peer_ratio >= self.recover_ratio else 0
            if eps.recovering[r] >= self.recover_days:
                ep = eps.episode(r)
                eps.remove(row.account_id)
                self._stats["resolved"] += 1
                alerts.append(self._alert(row.account_id, ep, "resolved", (closed.day + 1) * 86_400.0))
        return alerts

    # -- alerts ----------------------------------------------------------------------------------
    def _risk(self, acc: str, ep: ChurnEpisode) -> ChurnRisk:
        return churn_risk(acc, self._peers.tier(acc), self._peers.facts.get(acc), ep, self._hour,
                          self.renewal_horizon_days)  # fmt: skip

    def _open_episodes(self) -> list[tuple[str, ChurnEpisode]]:
        eps = self._episodes
        return [(acc, eps.episode(r)) for acc, r in eps.index.items() if eps.alerted[r]]

    def _alert(self, acc: str, ep: ChurnEpisode, status: str, event_time: float) -> Alert:
        risk = self._risk(acc, ep)
        open_risks = [self._risk(a, e).priority for a, e in self._open_episodes()]
        severity = rank_severity(risk.priority, open_risks) if status == "firing" else "info"
        return churn_alert(risk, ep, status, severity, event_time)
