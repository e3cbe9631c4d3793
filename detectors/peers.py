"""Per-account daily usage judged against the account's own baseline *and* its peers on the same day.

Each closed UTC day, every known account gets an expected usage ``level x profile[tier][weekday]`` and a
*ratio* observed / expected. Dividing that ratio by the median ratio of the account's tier (or of the
whole base when the tier is small) gives the *peer ratio*: a holiday, a weekend, a company-wide dip or an
upstream data gap lowers everyone's ratio together and leaves each peer ratio near 1, so it flags no one.
The median ratio of the whole base is the day's *coverage*; a day whose coverage is abnormal (holiday,
gap, outage) is still reported but does not train anyone's baseline.

Per-account state is one small ``__slots__`` object of plain floats; River objects live per tier only.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from detectors.daily import DayBuckets, day_of_week
from detectors.seasonal import WeeklyProfile

__all__ = ["AccountDay", "AccountFacts", "ClosedDay", "PeerBaselines"]

UNKNOWN_TIER = "unknown"


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
    """An account's baseline: deseasonalised daily usage, its noise, and recent tickets."""

    __slots__ = ("last_day", "level", "logvar", "n_days", "ticket_level")

    def __init__(self, day: int) -> None:
        self.level = 0.0
        self.logvar = 0.05  # prior: about +-22% day-to-day noise until the account shows its own
        self.n_days = 0
        self.last_day = day
        self.ticket_level = 0.0


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
        self.levels: dict[str, _Level] = {}
        self.facts: dict[str, AccountFacts] = {}
        self.skipped_days = 0

    # -- learning (hot path: keep cheap) ---------------------------------------------------------
    def add_usage(self, account_id: str, ts: float, count: float) -> None:
        self.usage.add(ts, account_id, count)

    def add_ticket(self, account_id: str, ts: float) -> None:
        self.tickets.add(ts, account_id, 1)

    def add_hour(self, hour: int, usage: dict, tickets: dict) -> None:
        """Add one closed UTC hour's per-account sums (a caller that buckets by hour itself)."""
        ts = hour * 3_600.0
        for acc, n in usage.items():
            self.usage.add(ts, acc, n)
        for acc, n in tickets.items():
            self.tickets.add(ts, acc, n)

    def add_facts(self, event) -> None:
        old = self.facts.get(event.account_id)
        if old is None or event.ts >= old.ts:
            self.facts[event.account_id] = AccountFacts(event)

    def tier(self, account_id: str) -> str:
        facts = self.facts.get(account_id)
        return facts.tier if facts is not None else UNKNOWN_TIER

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

    def _judge(self, day: int, usage: dict, tickets: dict) -> ClosedDay:
        for acc, u in usage.items():
            if u > 0 and acc not in self.levels:  # zero-count aggregates do not make an account known
                self.levels[acc] = _Level(day)
        dow = day_of_week(day)
        ratios: dict[str, list[float]] = {}
        rows: list[AccountDay] = []
        for acc, lv in self.levels.items():
            u = usage.get(acc, 0.0)
            if u > 0 or acc in tickets:
                lv.last_day = day
            tier = self.tier(acc)
            expected = lv.level * self.profiles.factor(tier, dow)
            warm = lv.n_days >= self.min_history_days and expected >= self.min_expected
            factor = self.profiles.factor(tier, dow)
            rows.append(
                AccountDay(
                    acc,
                    tier,
                    u,
                    expected,
                    1.0,
                    math.sqrt(lv.logvar),
                    tickets.get(acc, 0),
                    lv.ticket_level * factor,
                    lv.n_days,
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
            return ClosedDay(day, None, bool(usage), False, rows)
        low, high = self.normal_coverage
        usable = coverage >= self.min_coverage
        for row in rows:
            med = tier_median.get(row.tier, coverage)
            if usable and med > 0:
                row.normalised /= med
                row.expected_tickets *= med
            if row.expected > 0 and usable and med > 0:
                row.peer_ratio = row.usage / row.expected / med
                row.count_z = 2.0 * (math.sqrt(row.usage + 0.375) - math.sqrt(row.expected * med + 0.375))
        return ClosedDay(day, coverage, usable and low <= coverage <= high, usable, rows)

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
        for row in closed.accounts:
            if row.account_id in hold:
                continue
            lv = self.levels[row.account_id]
            if lv.n_days == 0 and row.usage == 0:
                continue
            a = max(self.alpha, 1.0 / (lv.n_days + 1))
            lv.level += a * (row.normalised - lv.level)
            if row.usage > 0:  # tickets share the usage's seasonal factor: normalise them the same way
                lv.ticket_level += a * (row.tickets * row.normalised / row.usage - lv.ticket_level)
            lv.n_days += 1
            if row.warm:
                z = math.log(max(row.peer_ratio, 0.05))
                lv.logvar += self.alpha * (min(z * z, 4.0) - lv.logvar)

    def _evict(self, day: int) -> None:
        horizon = day - self.idle_days
        for acc in [a for a, lv in self.levels.items() if lv.last_day < horizon]:
            del self.levels[acc]
        for acc in [
            a for a, f in self.facts.items() if f.ts < (horizon + 1) * 86_400.0 and a not in self.levels
        ]:
            del self.facts[acc]

    def forget(self, account_id: str) -> None:
        """Drop an account's level, facts and open-day sums."""
        self.levels.pop(account_id, None)
        self.facts.pop(account_id, None)
        self.usage.forget(account_id)
        self.tickets.forget(account_id)

    @property
    def state_size(self) -> int:
        return len(self.levels) + len(self.facts)
