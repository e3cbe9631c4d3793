"""Single-account floods: one account filing many tickets (routed to its owner, never a page).

A spike concentrated in one account is ambiguous (a broken integration, onboarding friction, one
frustrated admin), so it goes to the account's owner. Per account, tickets are counted in
``bucket``-second buckets of a small ring; the trailing ``horizon`` (one hour) is tested against the
account's own baseline rate, times how busy that hour of the week is for tickets overall, with a
negative-binomial upper tail, and an episode also needs ``min_tickets`` tickets: an account that
files one ticket a year does not flood with three.

The baseline is a decayed ticket count over a decayed exposure (time constant ``baseline_horizon``),
plus a prior of ``prior_rate`` tickets per hour worth one day, so a new account has a sensible
baseline; every ticket is learnt, so an account that is busy by habit stops flooding within a day or
two while a one-hour flood barely moves a week-long baseline. Only accounts in or near an episode keep
the features and ids of their recent tickets, for the evidence
(:mod:`detectors.flood_state`, :mod:`detectors.hourly_rhythm`, :mod:`detectors.flood_alert`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, ClassVar

from detectors.base import Detector
from detectors.flood_alert import flood_alert
from detectors.flood_state import RING, FloodAccounts, FloodEpisode
from detectors.hourly_rhythm import HourlyTicketRhythm
from detectors.poisson import tail_score
from detectors.rows import intern_text
from schemas.alerts import Alert

__all__ = ["AccountFloodDetector"]

_RESOLVE_SCORE = 1.3  # −log10(0.05)


class AccountFloodDetector(Detector):
    """Flag one account filing far more tickets than its own baseline.

    Parameters
    ----------
    horizon
        Seconds of trailing tickets tested (one hour).
    bucket
        Seconds per bucket of the per-account ring; ``horizon`` must be a multiple of it.
    min_tickets
        Tickets in the trailing horizon an episode needs.
    threshold
        Score (−log10 of the upper tail) that opens an episode.
    dispersion
        Extra variance of an account's hourly count (``mean + dispersion * mean**2``): people file
        related tickets together.
    baseline_horizon
        Time constant (seconds) of the account's decayed baseline.
    prior_rate
        Tickets per hour assumed for an account with no history (worth one day of it).
    idle_horizon
        Accounts without tickets or account events for this long are forgotten.

    Examples
    --------
    >>> from schemas.events import TicketEvent
    >>> t0 = 1_772_460_000.0
    >>> detector = AccountFloodDetector()
    >>> for i in range(15):  # fifteen tickets from one account in half an hour
    ...     detector.learn_one(TicketEvent(ticket_id=f"T-{i}", account_id="acme", feature="sso",
    ...                                    time=t0 + 120 * i))
    >>> [(a.kind, a.status, a.account_id, a.pages, a.observed) for a in detector.advance(t0 + 1800)]
    [('flood', 'firing', 'acme', False, 15.0)]
    >>> [a.status for a in detector.advance(t0 + 3 * 3600)]
    ['resolved']
    """

    observation_kind: ClassVar[str] = "event"

    def __init__(
        self,
        horizon: float = 3600.0,
        bucket: float = 300.0,
        min_tickets: int = 10,
        threshold: float = 6.0,
        dispersion: float = 0.1,
        baseline_horizon: float = 7 * 86_400.0,
        prior_rate: float = 0.05,
        idle_horizon: float = 30 * 86_400.0,
    ):
        if not bucket > 0:
            raise ValueError(f"bucket must be > 0, got {bucket!r}")
        if not horizon >= bucket or abs(horizon / bucket - round(horizon / bucket)) > 1e-9:
            raise ValueError(f"horizon must be a positive multiple of bucket, got {horizon!r}")
        if round(horizon / bucket) > RING - 4:
            raise ValueError(f"horizon must span at most {RING - 4} buckets, got {horizon!r}")
        if int(min_tickets) != min_tickets or min_tickets < 2:
            raise ValueError(f"min_tickets must be an integer >= 2, got {min_tickets!r}")
        if not threshold > _RESOLVE_SCORE:
            raise ValueError(f"threshold must be > {_RESOLVE_SCORE}, got {threshold!r}")
        if not dispersion >= 0:
            raise ValueError(f"dispersion must be >= 0, got {dispersion!r}")
        if not baseline_horizon >= horizon:
            raise ValueError(f"baseline_horizon must be >= horizon, got {baseline_horizon!r}")
        if not prior_rate > 0:
            raise ValueError(f"prior_rate must be > 0, got {prior_rate!r}")
        if not idle_horizon >= baseline_horizon / 7:
            raise ValueError(f"idle_horizon must be >= baseline_horizon / 7, got {idle_horizon!r}")
        self.horizon = float(horizon)
        self.bucket = float(bucket)
        self.min_tickets = int(min_tickets)
        self.threshold = float(threshold)
        self.dispersion = float(dispersion)
        self.baseline_horizon = float(baseline_horizon)
        self.prior_rate = float(prior_rate)
        self.idle_horizon = float(idle_horizon)

        self._width = round(self.horizon / self.bucket)
        self._accounts = FloodAccounts()
        self._episodes: dict[str, FloodEpisode] = {}
        self._recent: dict[str, list[tuple[float, str, str]]] = {}  # hot accounts' (ts, feature, id)
        self._dirty: set[str] = set()
        self._rhythm = HourlyTicketRhythm()
        self._closed = None  # index of the last bucket evaluated
        self._last_evict = float("-inf")
        self._now = float("-inf")  # latest event time learnt: when, in event time, a decision is made

    # -- learning ---------------------------------------------------------------------------------
    def learn_one(self, x: Any) -> None:
        kind = getattr(x, "type", None)
        ts = getattr(x, "ts", None)
        if kind == "ticket":
            self.learn_ticket(x, ts)
        elif kind == "account":
            self.learn_account(x, ts)
        elif ts is not None:
            self.note_time(ts)

    # The engine calls these with the event time it computed once (``ts`` is ``event.ts``).
    def note_time(self, ts: float) -> None:
        """Learn that event time reached ``ts`` (usage and releases move only the clock of decisions)."""
        if ts > self._now:
            self._now = ts

    def learn_usage(self, usage: Any, ts: float) -> None:
        """Learn a usage event at event time ``ts``: floods are tickets, so only the time."""
        self.note_time(ts)

    def learn_release(self, release: Any, ts: float) -> None:
        """Learn a release at event time ``ts``: only the time."""
        self.note_time(ts)

    def learn_account(self, account: Any, ts: float) -> None:
        """Learn an account profile at event time ``ts``: its owner and tier, for the alerts."""
        if ts > self._now:
            self._now = ts
        accounts = self._accounts
        r = accounts.index.get(account.account_id)
        if r is None:
            r = accounts.open(account.account_id, ts, int(ts // self.bucket))
        if ts >= accounts.profile_ts[r]:
            accounts.owner[r], accounts.tier[r] = intern_text(account.owner), intern_text(account.tier)
            accounts.profile_ts[r] = ts
        accounts.last_seen[r] = max(accounts.last_seen[r], ts)

    def learn_ticket(self, ticket: Any, ts: float) -> None:
        """Learn a ticket at event time ``ts``: one more in its account's current bucket and baseline."""
        if ts > self._now:
            self._now = ts
        account_id = ticket.account_id
        b = int(ts // self.bucket)
        accounts = self._accounts
        r = accounts.index.get(account_id)
        if r is None:
            r = accounts.open(account_id, ts, b)
        newest = accounts.newest[r]
        if b > newest:
            ring, base = accounts.ring, r * RING
            for skipped in range(max(newest + 1, b - RING + 1), b + 1):
                ring[base + skipped % RING] = 0
            accounts.newest[r] = newest = b
        if b > newest - RING:
            accounts.add_ticket(r, b)
        # Every ticket is learnt, floods included: over a week-long baseline one hour's flood barely
        # moves it, and an account that is busy by habit becomes its own normal instead of flooding for
        # ever.
        last_seen = accounts.last_seen[r]
        if ts > last_seen:
            accounts.ticket_sum[r] *= math.exp(-(ts - last_seen) / self.baseline_horizon)
        accounts.ticket_sum[r] += 1.0
        self._rhythm.add_ticket(ts)
        episode = self._episodes.get(account_id)
        if episode is not None:
            episode.tickets += 1
            episode.features[ticket.feature] = episode.features.get(ticket.feature, 0) + 1
            if len(episode.samples) < 5:
                episode.samples.append(ticket.ticket_id)
        accounts.last_seen[r] = max(last_seen, ts)
        recent = self._recent.get(account_id)
        if recent is not None or self._count(r, newest) >= self.min_tickets // 2:
            recent = self._recent.setdefault(account_id, [])
            recent.append((ts, ticket.feature, ticket.ticket_id))
            cutoff = ts - self.horizon - 4 * self.bucket
            if len(recent) > 200 or recent[0][0] < cutoff:
                self._recent[account_id] = [r for r in recent if r[0] >= cutoff][-200:]
        self._dirty.add(account_id)

    def _count(self, r: int, last: int) -> int:
        """Tickets of the account in row ``r`` in the trailing horizon that ends with bucket ``last``."""
        return self._accounts.count(r, last, self._width)

    def _expected(self, r: int, now: float) -> float:
        """Baseline tickets in one horizon for the account in row ``r``."""
        tau = self.baseline_horizon
        accounts = self._accounts
        tickets = accounts.ticket_sum[r] * math.exp(-max(0.0, now - accounts.last_seen[r]) / tau)
        exposure = tau * -math.expm1(-max(0.0, now - accounts.first_seen[r]) / tau)
        prior_exposure = 86_400.0
        rate = (tickets + self.prior_rate * prior_exposure / 3600.0) / (exposure + prior_exposure)
        return rate * self.horizon * self._rhythm.factor(now - self.horizon / 2)

    def score_one(self, x: Any) -> float:
        """Trailing-horizon score of the ticket's account (0 for other events)."""
        if getattr(x, "type", None) != "ticket":
            return 0.0
        r = self._accounts.index.get(x.account_id)
        if r is None:
            return 0.0
        return tail_score(self._count(r, self._accounts.newest[r]), self._expected(r, x.ts), self.dispersion)

    # -- time -------------------------------------------------------------------------------------
    def advance(self, watermark: float) -> list:
        last_closed = int(watermark // self.bucket) - 1
        self._rhythm.advance(watermark)
        if self._closed is None:
            self._closed = last_closed - 1
        alerts: list = []
        if last_closed > self._closed:
            self._closed = last_closed
            alerts = self._evaluate(last_closed)
        if watermark - self._last_evict >= 3600.0:
            self._evict(watermark)
            self._last_evict = watermark
        return alerts

    def flush(self) -> list:
        """End of stream: resolve open episodes."""
        at = (self._closed + 1) * self.bucket if self._closed is not None else 0.0
        return [self._emit(a, self._episodes.pop(a), "resolved", at) for a in sorted(self._episodes)]

    def _evaluate(self, last: int) -> list:
        end = (last + 1) * self.bucket
        candidates, pending = sorted(self._dirty | set(self._episodes)), set()
        alerts = []
        for account_id in candidates:
            r = self._accounts.index.get(account_id)
            if r is None:
                continue
            if self._accounts.newest[r] > last:
                pending.add(account_id)  # tickets ahead of the watermark: look again later
            count = self._count(r, last)
            expected = self._expected(r, end)
            score = tail_score(count, expected, self.dispersion) if count > expected else 0.0
            episode = self._episodes.get(account_id)
            if episode is None:
                if count >= self.min_tickets and score >= self.threshold:
                    alerts.append(self._open(account_id, last, count, expected, score))
                elif count < self.min_tickets // 2 and account_id not in pending:
                    self._recent.pop(account_id, None)
                continue
            episode.score = max(episode.score, score)
            episode.expected = max(episode.expected, expected)
            if score < _RESOLVE_SCORE or count < self.min_tickets // 2:
                del self._episodes[account_id]
                self._recent.pop(account_id, None)
                alerts.append(self._emit(account_id, episode, "resolved", end))
            elif episode.tickets >= 1.5 * episode.emitted:
                alerts.append(self._emit(account_id, episode, "updated", end))
        self._dirty = pending
        return alerts

    def _open(self, account_id: str, last: int, count: int, expected: float, score: float) -> Alert:
        end = (last + 1) * self.bucket
        window_start = end - self.horizon
        recent = [r for r in self._recent.get(account_id, ()) if window_start <= r[0] < end]
        start = min((r[0] for r in recent), default=window_start)
        start = math.floor(start / self.bucket) * self.bucket
        stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%MZ")
        episode = self._episodes[account_id] = FloodEpisode(f"flood:{account_id}:{stamp}", start)
        episode.tickets, episode.expected, episode.score = count, expected, score
        for _, feature, ticket_id in recent:
            episode.features[feature] = episode.features.get(feature, 0) + 1
            if len(episode.samples) < 5:
                episode.samples.append(ticket_id)
        return self._emit(account_id, episode, "firing", end)

    def _emit(self, account_id: str, episode: FloodEpisode, status: str, at: float) -> Alert:
        at = max(at, self._now)  # emitted when decided, as in the regression detector
        episode.emitted = episode.tickets
        r = self._accounts.index.get(account_id)
        owner = self._accounts.owner[r] if r is not None else None
        tier = self._accounts.tier[r] if r is not None else None
        return flood_alert(account_id, episode, status, at, owner, tier)

    def _evict(self, now: float) -> None:
        last_seen, before = self._accounts.last_seen, now - self.idle_horizon
        idle = [
            a for a, r in self._accounts.index.items()
            if last_seen[r] < before and a not in self._episodes and a not in self._dirty
        ]
        for account_id in idle:
            self._accounts.remove(account_id)
            self._recent.pop(account_id, None)

    def forget_account(self, account_id: str) -> None:
        if account_id in self._episodes:
            return  # held (see holds_account): its episode must resolve
        self._accounts.remove(account_id)
        self._recent.pop(account_id, None)
        self._dirty.discard(account_id)

    def holds_account(self, account_id: str) -> bool:
        return account_id in self._episodes

    # -- introspection ----------------------------------------------------------------------------
    @property
    def open_episodes(self) -> list[str]:
        """Dedup keys of the floods currently open."""
        return sorted(e.key for e in self._episodes.values())

    @property
    def state_size(self) -> int:
        """Accounts remembered."""
        return len(self._accounts)

    def account_state(self, account_id: str) -> dict[str, Any] | None:
        """The account's state as a plain dict (what a table partitioned by account would store)."""
        r = self._accounts.index.get(account_id)
        return self._accounts.to_dict(r) if r is not None else None

    def restore_account(self, account_id: str, data: dict[str, Any]) -> None:
        """Put back an account's state saved with :meth:`account_state`."""
        self._accounts.restore(account_id, data)
