"""Per-account daily usage judged against the account's own baseline *and* its peers on the same day.

Each closed UTC day, every known account gets an expected usage ``level x profile[tier][weekday]`` and a
*ratio* observed / expected. Dividing that ratio by the median ratio of the account's tier (or of the
whole base when the tier is small) gives the *peer ratio*: a holiday, a weekend, a company-wide dip or an
upstream data gap lowers everyone's ratio together and leaves each peer ratio near 1, so it flags no one.
The median ratio of the whole base is the day's *coverage*; a day whose coverage is abnormal (holiday,
gap, outage) is still reported but does not train anyone's baseline.

Per-account state is one row of a column-wise table (:class:`~detectors.rows.Rows`: the baseline and
the latest account facts, about a hundred bytes); River objects live per tier only.
:attr:`PeerBaselines.levels` and :attr:`PeerBaselines.facts` read it back as small records.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.daily import DayBuckets, day_of_week
from detectors.rows import Rows, intern_text
from detectors.seasonal import WeeklyProfile

__all__ = ["AccountDay", "AccountFacts", "ClosedDay", "PeerBaselines"]

UNKNOWN_TIER = "unknown"
_LOGVAR_PRIOR = 0.05  # about +-22% day-to-day noise until the account shows its own
_LEVEL, _FACTS, _ATTACHED = 1, 2, 4  # bits of ``_PeerRows.has``


class AccountFacts:
    """What the latest ``AccountEvent`` says about an account."""

    __slots__ = ("mrr", "owner", "renewal_date", "seats", "seats_used", "tier", "ts")

    def __init__(self, event) -> None:
        self.mrr: float = float(event.mrr)
        self.seats: int = event.seats
        self.seats_used: int | None = getattr(event, "seats_used", None)
        self.tier: str = event.tier
        self.renewal_date = getattr(event, "renewal_date", None)
        self.owner: str | None = getattr(event, "owner", None)
        self.ts: float = event.ts


class _Level:
    """An account's baseline: deseasonalised daily usage, its noise, and recent tickets (a copy)."""

    __slots__ = ("last_day", "level", "logvar", "n_days", "ticket_level")

    def __init__(self, level: float, logvar: float, n_days: int, last_day: int, ticket_level: float) -> None:
        self.level = level
        self.logvar = logvar
        self.n_days = n_days
        self.last_day = last_day
        self.ticket_level = ticket_level


class _PeerRows(Rows):
    """Per account: its baseline (once it used the product) and its latest facts (once it sent some).

    Keys are in the order the baselines were created (an account whose baseline starts after its facts
    moves to the end), which is the order accounts are judged in.
    """

    __slots__ = ("fact_ts", "has", "last_day", "level", "logvar", "mrr", "n_attached", "n_days",
                 "n_facts", "n_levels", "owner", "renewal_date", "seats", "seats_used", "ticket_level",
                 "tier")  # fmt: skip
    COLUMNS: ClassVar[dict[str, tuple]] = {
        "has": ("B", 0),  # _LEVEL | _FACTS | _ATTACHED
        "level": ("d", 0.0),
        "logvar": ("d", _LOGVAR_PRIOR),
        "ticket_level": ("d", 0.0),
        "n_days": ("i", 0),
        "last_day": ("i", 0),  # UTC day index (4 bytes: fits any datetime)
        "mrr": ("d", 0.0),
        "fact_ts": ("d", 0.0),
        "seats": (None, None),
        "seats_used": (None, None),
        "tier": (None, UNKNOWN_TIER),
        "renewal_date": (None, None),
        "owner": (None, None),
    }

    def __init__(self) -> None:
        super().__init__()
        self.n_levels = 0  # accounts with a baseline
        self.n_facts = 0  # accounts with facts
        self.n_attached = 0  # rows the owner keeps columns of its own in (:meth:`PeerBaselines.attach`)


class _LevelsView(Mapping):
    """Read-only mapping account -> :class:`_Level` (a copy) of the accounts with a baseline."""

    __slots__ = ("_rows",)

    def __init__(self, rows: _PeerRows) -> None:
        self._rows = rows

    def __contains__(self, account_id: object) -> bool:
        row = self._rows.index.get(account_id)
        return row is not None and bool(self._rows.has[row] & _LEVEL)

    def __getitem__(self, account_id: str) -> _Level:
        if account_id not in self:
            raise KeyError(account_id)
        t, r = self._rows, self._rows.index[account_id]
        return _Level(t.level[r], t.logvar[r], t.n_days[r], t.last_day[r], t.ticket_level[r])

    def __iter__(self) -> Iterator[str]:
        has = self._rows.has
        return (a for a, r in self._rows.index.items() if has[r] & _LEVEL)

    def __len__(self) -> int:
        return self._rows.n_levels


class _FactsView(Mapping):
    """Read-only mapping account -> :class:`AccountFacts` (a copy) of the accounts with facts."""

    __slots__ = ("_rows",)

    def __init__(self, rows: _PeerRows) -> None:
        self._rows = rows

    def __contains__(self, account_id: object) -> bool:
        row = self._rows.index.get(account_id)
        return row is not None and bool(self._rows.has[row] & _FACTS)

    def __getitem__(self, account_id: str) -> AccountFacts:
        if account_id not in self:
            raise KeyError(account_id)
        t, r = self._rows, self._rows.index[account_id]
        facts = AccountFacts.__new__(AccountFacts)
        facts.mrr, facts.seats, facts.seats_used = t.mrr[r], t.seats[r], t.seats_used[r]
        facts.tier, facts.renewal_date, facts.owner = t.tier[r], t.renewal_date[r], t.owner[r]
        facts.ts = t.fact_ts[r]
        return facts

    def __iter__(self) -> Iterator[str]:
        has = self._rows.has
        return (a for a, r in self._rows.index.items() if has[r] & _FACTS)

    def __len__(self) -> int:
        return self._rows.n_facts


@dataclass(slots=True)
class AccountDay:
    """One account on one closed day."""

    account_id: str
    tier: str
    usage: float
    expected: float
    peer_ratio: float  # (usage / expected) / median of the same ratio among peers that day
    noise: float  # standard deviation of the account's log peer ratio on normal days
    tickets: float  # tickets filed that day
    expected_tickets: float  # the account's usual tickets for such a day (same seasonal factor)
    history_days: int
    warm: bool
    normalised: float  # usage in "normal-day units": divided by weekday profile and the peer median
    count_z: float = 0.0  # Poisson deviation of usage from expected x peer median (Anscombe), < 0 below


@dataclass(slots=True)
class ClosedDay:
    """Everything the slow detectors need to judge one UTC day."""

    day: int
    coverage: float | None  # median usage ratio of all warm accounts; None while too few are warm
    normal: bool  # coverage is ordinary: the day may train baselines
    usable: bool  # enough data to judge accounts at all (not a total gap)
    accounts: list[AccountDay] = field(default_factory=list)


class PeerBaselines:
    """Daily usage per account, with baselines and peer ratios, closed by the watermark.

    Parameters
    ----------
    alpha
        Smallest weight of a new day in an account's level (``1/14``: about two weeks of memory).
    min_history_days
        Normal days an account must have been seen before it is *warm* (may alert).
    min_expected
        Smallest expected daily usage for an account to be judged; tinier accounts are all noise.
    min_peers
        Warm accounts a tier needs for its own median; otherwise the whole base is the peer group.
    normal_coverage
        Range of the base's median ratio within which a day counts as ordinary and trains baselines.
    min_coverage
        Below this median ratio the day is a data gap: nobody is judged.
    idle_days
        Accounts with no event for this many days are forgotten (bounded state).

    Examples
    --------
    >>> from types import SimpleNamespace as E
    >>> pb = PeerBaselines(min_history_days=3, min_peers=2)
    >>> for day in range(5):
    ...     for acc in ("a", "b", "c"):
    ...         pb.add_usage(acc, day * 86_400.0 + 3600, 100 if acc != "c" or day < 4 else 10)
    >>> days = pb.close(5 * 86_400.0)
    >>> [round(a.peer_ratio, 2) for a in days[-1].accounts]
    [1.0, 1.0, 0.1]
    """

    def __init__(
        self,
        alpha: float = 1 / 14,
        min_history_days: int = 14,
        min_expected: float = 5.0,
        min_peers: int = 5,
        normal_coverage: tuple[float, float] = (0.7, 1.4),
        min_coverage: float = 0.3,
        idle_days: int = 35,
    ):
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be in (0, 1]")
        if min_history_days < 1:
            raise ValueError("min_history_days must be >= 1")
        if idle_days < 1:
            raise ValueError("idle_days must be >= 1")
        self.alpha = alpha
        self.min_history_days = min_history_days
        self.min_expected = min_expected
        self.min_peers = min_peers
        self.normal_coverage = normal_coverage
        self.min_coverage = min_coverage
        self.idle_days = idle_days
        self.usage = DayBuckets()
        self.tickets = DayBuckets()
        self.profiles = WeeklyProfile()
        self._rows = _PeerRows()
        self.skipped_days = 0

    @property
    def levels(self) -> Mapping[str, _Level]:
        """Accounts with a baseline -> a copy of it (level, logvar, n_days, last_day, ticket_level)."""
        return _LevelsView(self._rows)

    @property
    def facts(self) -> Mapping[str, AccountFacts]:
        """Accounts with facts -> a copy of what their latest account event said."""
        return _FactsView(self._rows)

    # -- learning (hot path: keep cheap) ---------------------------------------------------------
    def add_usage(self, account_id: str, ts: float, count: float) -> None:
        self.usage.add(ts, account_id, count)

    def add_ticket(self, account_id: str, ts: float) -> None:
        self.tickets.add(ts, account_id, 1)

    def add_hour(self, hour: int, usage: dict, tickets: dict) -> None:
        """Add one closed UTC hour's per-account sums (a caller that buckets by hour itself)."""
        ts = hour * 3_600.0
        self.usage.add_all(ts, usage)
        self.tickets.add_all(ts, tickets)

    def add_facts(self, event) -> None:
        rows = self._rows
        r = rows.index.get(event.account_id)
        if r is None:
            r = rows.add(event.account_id)
        elif rows.has[r] & _FACTS and not event.ts >= rows.fact_ts[r]:
            return
        if not rows.has[r] & _FACTS:
            rows.has[r] |= _FACTS
            rows.n_facts += 1
        rows.mrr[r] = float(event.mrr)
        rows.seats[r] = event.seats
        rows.seats_used[r] = getattr(event, "seats_used", None)
        rows.tier[r] = intern_text(event.tier)  # a handful of tiers (and owners): one string each
        rows.renewal_date[r] = getattr(event, "renewal_date", None)
        rows.owner[r] = intern_text(getattr(event, "owner", None))
        rows.fact_ts[r] = event.ts

    def tier(self, account_id: str) -> str:
        r = self._rows.index.get(account_id)
        return self._rows.tier[r] if r is not None else UNKNOWN_TIER

    def seats(self, account_id: str) -> tuple[int, int | None] | None:
        """``(seats, seats_used)`` from the account's latest facts, None without facts."""
        rows = self._rows
        r = rows.index.get(account_id)
        if r is None or not rows.has[r] & _FACTS:
            return None
        return rows.seats[r], rows.seats_used[r]

    # -- rows shared with the owner (one row per account for all it keeps) ------------------------
    def attach(self, account_id: str) -> int:
        """Keep the row of ``account_id`` (which has a baseline) for the caller's own per-account
        columns (indexed by row) until :meth:`detach`, even if the baseline and facts go meanwhile;
        returns the row, which the caller resets. One caller per instance (the owning detector)."""
        rows = self._rows
        r = rows.index[account_id]
        if not rows.has[r] & _ATTACHED:
            rows.has[r] |= _ATTACHED
            rows.n_attached += 1
        return r

    def attached(self, account_id: str) -> int | None:
        """The row of ``account_id`` if it is attached, else None."""
        r = self._rows.index.get(account_id)
        return r if r is not None and self._rows.has[r] & _ATTACHED else None

    def attached_rows(self) -> list[int]:
        """Rows attached, in key order."""
        has = self._rows.has
        return [r for r in self._rows.index.values() if has[r] & _ATTACHED]

    def detach_idle(self) -> None:
        """Detach every attached row whose baseline is gone (forgotten after ``idle_days``)."""
        has = self._rows.has
        for acc in [a for a, r in self._rows.index.items() if has[r] & (_ATTACHED | _LEVEL) == _ATTACHED]:
            self._drop(acc, _ATTACHED)

    @property
    def n_attached(self) -> int:
        """Rows attached."""
        return self._rows.n_attached

    def warm_levels(self, min_days: int) -> list[tuple[str, str, float, float, float]]:
        """``(account, tier, level, ticket_level, logvar)`` of every account with at least ``min_days``
        days learnt and a level of at least ``min_expected``, in the order accounts are judged."""
        rows = self._rows
        has, level, n_days, tier = rows.has, rows.level, rows.n_days, rows.tier
        ticket_level, logvar, floor = rows.ticket_level, rows.logvar, self.min_expected
        return [(acc, tier[r], level[r], ticket_level[r], logvar[r]) for acc, r in rows.index.items()
                if has[r] & _LEVEL and n_days[r] >= min_days and level[r] >= floor]  # fmt: skip

    # -- closing days ----------------------------------------------------------------------------
    def close(self, watermark: float, hold: set[str] | None = None) -> list[ClosedDay]:
        """Close every day ending at or before ``watermark``; learn from it unless held.

        ``hold`` names accounts whose baseline must not move (e.g. an open churn episode); it is read
        after each day, so a caller may mutate it between days through :meth:`close_iter`.
        """
        return list(self.close_iter(watermark, hold if hold is not None else set()))

    def close_iter(self, watermark: float, hold: set[str]):
        """Like :meth:`close` but yields each day before learning from it."""
        for day, usage in self.usage.close(watermark):
            tickets = dict(self.tickets.close((day + 1) * 86_400.0))
            closed = self._judge(day, usage, tickets.get(day, {}))
            yield closed
            self._learn(closed, hold)
            self._evict(day)

    def _start_level(self, acc: str, day: int) -> None:
        rows = self._rows
        r = rows.index.get(acc)
        if r is None:
            r = rows.add(acc)
        else:  # an account known by its facts only: judged from now on, so last in the order
            rows.move_to_end(acc)
            rows.level[r], rows.logvar[r], rows.ticket_level[r], rows.n_days[r] = 0.0, _LOGVAR_PRIOR, 0.0, 0
        rows.last_day[r] = day
        rows.has[r] |= _LEVEL
        rows.n_levels += 1

    def _judge(self, day: int, usage: dict, tickets: dict) -> ClosedDay:
        rows = self._rows
        index, has = rows.index, rows.has
        for acc, u in usage.items():
            if u > 0:  # zero-count aggregates do not make an account known
                r = index.get(acc)
                if r is None or not has[r] & _LEVEL:
                    self._start_level(acc, day)
        dow = day_of_week(day)
        ratios: dict[str, list[float]] = {}
        out: list[AccountDay] = []
        level, logvar, n_days, last_day = rows.level, rows.logvar, rows.n_days, rows.last_day
        ticket_level, tiers, factor_of = rows.ticket_level, rows.tier, self.profiles.factor
        min_days, min_expected = self.min_history_days, self.min_expected
        for acc, r in index.items():
            if not has[r] & _LEVEL:
                continue
            u = usage.get(acc, 0.0)
            if u > 0 or acc in tickets:
                last_day[r] = day
            tier = tiers[r]
            factor = factor_of(tier, dow)
            expected = level[r] * factor
            warm = n_days[r] >= min_days and expected >= min_expected
            out.append(
                AccountDay(
                    acc,
                    tier,
                    u,
                    expected,
                    1.0,
                    math.sqrt(logvar[r]),
                    tickets.get(acc, 0),
                    ticket_level[r] * factor,
                    n_days[r],
                    warm,
                    u / factor,
                )
            )
            if warm:
                ratios.setdefault(tier, []).append(u / expected)
        everyone = [r for rs in ratios.values() for r in rs]
        coverage = statistics.median(everyone) if len(everyone) >= self.min_peers else None
        tier_median = {t: statistics.median(rs) for t, rs in ratios.items() if len(rs) >= self.min_peers}
        if coverage is None:  # cold start: judge nobody, learn unless the day is empty
            return ClosedDay(day, None, bool(usage), False, out)
        low, high = self.normal_coverage
        usable = coverage >= self.min_coverage
        for row in out:
            med = tier_median.get(row.tier, coverage)
            if usable and med > 0:
                row.normalised /= med
                row.expected_tickets *= med
            if row.expected > 0 and usable and med > 0:
                row.peer_ratio = row.usage / row.expected / med
                row.count_z = 2.0 * (math.sqrt(row.usage + 0.375) - math.sqrt(row.expected * med + 0.375))
        return ClosedDay(day, coverage, usable and low <= coverage <= high, usable, out)

    def _learn(self, closed: ClosedDay, hold: set[str]) -> None:
        dow = day_of_week(closed.day)
        if not closed.normal:
            self.skipped_days += 1
            return
        per_tier: dict[str, list[float]] = {}
        for row in closed.accounts:
            per_tier.setdefault(row.tier, []).append(row.usage)
        for tier, values in per_tier.items():
            self.profiles.update(tier, dow, sum(values) / len(values))
        rows = self._rows
        index, level, logvar, n_days = rows.index, rows.level, rows.logvar, rows.n_days
        ticket_level, alpha = rows.ticket_level, self.alpha
        for row in closed.accounts:
            if row.account_id in hold:
                continue
            r = index[row.account_id]
            days = n_days[r]
            if days == 0 and row.usage == 0:
                continue
            a = max(alpha, 1.0 / (days + 1))
            level[r] += a * (row.normalised - level[r])
            if row.usage > 0:  # tickets share the usage's seasonal factor: normalise them the same way
                ticket_level[r] += a * (row.tickets * row.normalised / row.usage - ticket_level[r])
            n_days[r] = days + 1
            if row.warm:
                z = math.log(max(row.peer_ratio, 0.05))
                logvar[r] += alpha * (min(z * z, 4.0) - logvar[r])

    def _evict(self, day: int) -> None:
        horizon = day - self.idle_days
        rows = self._rows
        has, last_day, fact_ts = rows.has, rows.last_day, rows.fact_ts
        for acc in [a for a, r in rows.index.items() if has[r] & _LEVEL and last_day[r] < horizon]:
            self._drop(acc, _LEVEL)
        cutoff = (horizon + 1) * 86_400.0
        for acc in [a for a, r in rows.index.items()
                    if has[r] & (_LEVEL | _FACTS) == _FACTS and fact_ts[r] < cutoff]:  # fmt: skip
            self._drop(acc, _FACTS)

    def _drop(self, account_id: str, part: int) -> None:
        rows = self._rows
        r = rows.index[account_id]
        rows.has[r] &= ~part & 0xFF
        if part == _LEVEL:
            rows.n_levels -= 1
        elif part == _ATTACHED:
            rows.n_attached -= 1
        else:
            rows.n_facts -= 1
            rows.tier[r], rows.owner[r], rows.seats[r], rows.seats_used[r] = UNKNOWN_TIER, None, None, None
            rows.renewal_date[r] = None
        if not rows.has[r]:
            rows.remove(account_id)

    def forget(self, account_id: str) -> None:
        """Drop an account's level, facts and open-day sums."""
        r = self._rows.index.get(account_id)
        if r is not None:
            has = self._rows.has[r]
            self._rows.n_levels -= bool(has & _LEVEL)
            self._rows.n_facts -= bool(has & _FACTS)
            self._rows.n_attached -= bool(has & _ATTACHED)
            self._rows.remove(account_id)
        self.usage.forget(account_id)
        self.tickets.forget(account_id)

    @property
    def state_size(self) -> int:
        return self._rows.n_levels + self._rows.n_facts
