"""Expansion candidates: accounts whose usage grows steadily while they approach their seat limit.

Customer success wants the accounts ready to buy more: usage rising week after week (not one busy
day), ``seats_used`` close to the licensed ``seats`` (from the latest ``AccountEvent``) and little
friction (no more tickets than the account usually files). The trend is a Theil–Sen slope of the log of
daily usage in *normal-day units* (divided by the tier's weekday profile and by the peers' median that
day, so weekends, holidays and data gaps neither make nor break a trend), with a Mann–Kendall statistic
as the steadiness check. Alerts never page; one per episode.
"""

from __future__ import annotations

import math
from typing import Any

from detectors.base import Detector
from detectors.daily import SECONDS_PER_DAY, day_label, day_start
from detectors.peers import AccountDay, ClosedDay, PeerBaselines
from detectors.trend import UsageGrowth, robust_trend
from schemas.alerts import Alert

__all__ = ["ExpansionDetector", "robust_trend"]


class ExpansionDetector(Detector):
    """Flag accounts with steadily growing usage near their seat limit and low friction.

    Parameters
    ----------
    window_days
        Days of normal-day usage in the trend (judged days only; gaps and holidays are skipped).
    min_days
        Judged days needed before an account's trend is trusted.
    min_weekly_growth
        Smallest robust growth per week (``0.1`` = +10 %/week) to count as growing.
    min_trend_z
        Mann–Kendall statistic of the window (about N(0, 1) for flat noise): how steady the rise is.
    seat_utilisation
        ``seats_used / seats`` at or above which the account is near its limit.
    max_friction
        Most tickets over the window relative to what its tier files for the same usage that day
        (2 = twice its peers).
    end_days
        The episode resolves after this many consecutive days failing the growth criteria.
    min_history_days, idle_days
        Cold start and eviction, as in :class:`detectors.peers.PeerBaselines`.

    Examples
    --------
    >>> from types import SimpleNamespace as Ev
    >>> det = ExpansionDetector()
    >>> alerts, monday = [], 1_772_409_600.0
    >>> for day in range(35):
    ...     t = monday + day * 86_400
    ...     for i in range(8):
    ...         acc, n = f"a{i}", 200
    ...         if i == 0:
    ...             n = 200 * 1.04 ** max(0, day - 7)  # +4 % a day from the second week
    ...             det.learn_one(Ev(type="account", account_id=acc, mrr=900.0, seats=50,
    ...                              seats_used=45, tier="business", ts=t + 60))
    ...         det.learn_one(Ev(type="usage", account_id=acc, count=int(n), ts=t + 50_000))
    ...     alerts += det.advance(monday + (day + 1) * 86_400)
    >>> [(a.account_id, a.kind, a.pages) for a in alerts]
    [('a0', 'expansion', False)]
    """

    observation_kind = "event"

    def __init__(
        self,
        window_days: int = 21,
        min_days: int = 14,
        min_weekly_growth: float = 0.1,
        min_trend_z: float = 3.0,
        seat_utilisation: float = 0.75,
        max_friction: float = 2.0,
        end_days: int = 7,
        min_history_days: int = 7,
        idle_days: int = 35,
    ):
        if window_days < 3:
            raise ValueError("window_days must be >= 3")
        if not 3 <= min_days <= window_days:
            raise ValueError("min_days must be between 3 and window_days")
        if min_weekly_growth <= 0:
            raise ValueError("min_weekly_growth must be > 0")
        if min_trend_z < 0:
            raise ValueError("min_trend_z must be >= 0")
        if not 0.0 <= seat_utilisation <= 1.0:
            raise ValueError("seat_utilisation must be in [0, 1]")
        if max_friction < 0:
            raise ValueError("max_friction must be >= 0")
        if end_days < 1:
            raise ValueError("end_days must be >= 1")
        self.window_days = window_days
        self.min_days = min_days
        self.min_weekly_growth = min_weekly_growth
        self.min_trend_z = min_trend_z
        self.seat_utilisation = seat_utilisation
        self.max_friction = max_friction
        self.end_days = end_days
        self.min_history_days = min_history_days
        self.idle_days = idle_days
        self._peers = PeerBaselines(min_history_days=min_history_days, idle_days=idle_days)
        self._growth = UsageGrowth(window_days)
        self._warm = False
        self._stats = {"days_closed": 0, "days_not_judged": 0, "fired": 0, "resolved": 0, "high_friction": 0}

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
        """Learn a usage event at event time ``ts``: its count in the account's day."""
        self._peers.usage.add(ts, usage.account_id, usage.count)

    def learn_ticket(self, ticket: Any, ts: float) -> None:
        """Learn a ticket at event time ``ts``: one more in the account's day."""
        self._peers.tickets.add(ts, ticket.account_id, 1)

    def learn_account(self, account: Any, ts: float) -> None:
        """Learn an account profile (tier, seats, revenue): the peers it is compared with."""
        self._peers.add_facts(account)

    def score_one(self, x: Any) -> float:
        """Robust weekly growth of the account of ``x`` squashed to [0, 1) (0 when flat or falling)."""
        r = self._peers.attached(getattr(x, "account_id", None))
        if r is None or self._growth.n[r] < 3:
            return 0.0
        slope, _ = robust_trend(self._growth.ordered(r))
        return max(0.0, 1.0 - math.exp(-7.0 * slope))

    def advance(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        closed_any = False
        for closed in self._peers.close_iter(watermark, set()):
            self._stats["days_closed"] += 1
            alerts.extend(self._judge(closed))
            closed_any = True
        if closed_any:  # baselines only come and go when days close
            self._peers.detach_idle()  # growth of accounts whose baseline was forgotten goes too
        return alerts

    def forget_account(self, account_id: str) -> None:
        if self.holds_account(account_id):
            return
        self._peers.forget(account_id)  # its growth too: kept in its row

    def holds_account(self, account_id: str) -> bool:
        r = self._peers.attached(account_id)
        return r is not None and bool(self._growth.alerted[r])

    @property
    def is_warm(self) -> bool:
        return self._warm

    @property
    def state_size(self) -> int:
        return self._peers.state_size + self._peers.n_attached

    @property
    def stats(self) -> dict[str, Any]:
        """Counters and currently open candidates."""
        alerted = self._growth.alerted
        return {**self._stats, "open": sum(alerted[r] for r in self._peers.attached_rows())}

    def _judge(self, closed: ClosedDay) -> list[Alert]:
        if not closed.usable:
            self._stats["days_not_judged"] += 1
            return []
        # Friction is judged against peers: tickets per unit of usage in the same tier that day.
        per_tier: dict[str, list[float]] = {}
        for row in closed.accounts:
            sums = per_tier.setdefault(row.tier, [0.0, 0.0])
            sums[0] += row.tickets
            sums[1] += row.usage
        alerts = []
        g = self._growth
        for row in closed.accounts:
            if row.history_days < self.min_history_days or (row.usage <= 0 and row.expected <= 0):
                continue
            r = self._peers.attached(row.account_id)
            if r is None:  # the growth columns live in the account's row of the peer baselines
                r = self._peers.attach(row.account_id)
                g.start(r)
            g.push(r, math.log1p(row.normalised))
            self._warm = self._warm or g.n[r] >= self.min_days
            decay = 1.0 - 1.0 / self.window_days
            g.tickets[r] = g.tickets[r] * decay + row.tickets
            tickets, usage = per_tier[row.tier]
            peer_tickets = row.usage * tickets / usage if usage else 0.0
            g.expected_tickets[r] = g.expected_tickets[r] * decay + peer_tickets
            alert = self._judge_account(row, r, closed.day)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _judge_account(self, row: AccountDay, r: int, day: int) -> Alert | None:
        g = self._growth
        seats = self._peers.seats(row.account_id)  # (seats, seats_used) of the latest facts
        near_limit = (seats is not None and seats[0] > 0 and seats[1] is not None
                      and seats[1] >= self.seat_utilisation * seats[0])  # fmt: skip
        growing, weekly, trend_z = False, 0.0, 0.0
        if (near_limit or g.alerted[r]) and g.n[r] >= self.min_days:
            slope, trend_z = robust_trend(g.ordered(r))
            weekly = math.exp(7.0 * slope) - 1.0
            growing = near_limit and weekly >= self.min_weekly_growth and trend_z >= self.min_trend_z
        if growing and not g.alerted[r]:
            friction = g.tickets[r] / max(g.expected_tickets[r], 1.0)
            if friction > self.max_friction:
                self._stats["high_friction"] += 1
                return None
            g.alerted[r], g.failing[r], g.since[r] = 1, 0, day
            self._stats["fired"] += 1
            return self._alert(row, r, self._peers.facts.get(row.account_id), day, "firing", weekly, trend_z)
        if g.alerted[r]:
            g.failing[r] = 0 if growing else g.failing[r] + 1
            if g.failing[r] >= self.end_days:
                g.alerted[r] = 0
                self._stats["resolved"] += 1
                return self._alert(row, r, self._peers.facts.get(row.account_id), day, "resolved", weekly,
                                   trend_z)  # fmt: skip
        return None

    def _alert(self, row: AccountDay, r: int, facts, day: int, status: str, weekly: float,
               trend_z: float) -> Alert:  # fmt: skip
        g = self._growth
        seats = facts.seats if facts is not None else None
        used = facts.seats_used if facts is not None else None
        if status == "firing":
            summary = (f"{row.account_id} ({row.tier}) usage growing {weekly:+.0%}/week, "
                       f"{used}/{seats} seats used: expansion candidate")  # fmt: skip
        else:
            summary = f"{row.account_id} usage no longer growing steadily"
        first, n = math.expm1(g.ordered(r)[0]), g.n[r]
        return Alert(
            kind="expansion",
            status=status,
            dedup_key=f"expansion:{row.account_id}:{day_label(g.since[r])}",
            severity="info",
            pages=False,
            summary=summary,
            account_id=row.account_id,
            tier=row.tier,
            observed=round(row.normalised, 3),
            expected=round(max(first, 0.0), 3),
            score=round(weekly * (used / seats if seats and used is not None else 1.0), 4),
            evidence={
                "weekly_growth": round(weekly, 4),
                "trend_z": round(trend_z, 2),
                "seats": seats,
                "seats_used": used,
                "mrr": facts.mrr if facts is not None else None,
                "owner": facts.owner if facts is not None else None,
                "window_days": n,
                "tickets_in_window": round(g.tickets[r], 1),
                "usual_tickets_in_window": round(g.expected_tickets[r], 1),
            },
            started_at=day_start(day - n + 1),
            event_time=day_start(day) + SECONDS_PER_DAY,
        )
