"""Which accounts are active now, and what is normal for this hour of the week.

Expected tickets scale with the number of accounts using the product: nights, weekends and holidays
have fewer, so they expect fewer tickets. An account is active while it had usage within
``active_horizon``. Usage is ~90% of the stream, so :meth:`ActivityTracker.observe` does a handful of
dict operations: accounts are kept by the time bucket of their last usage, and the active count is a
sum over the few buckets inside the horizon.

The tracker also counts usage events per bucket (including ``count=0`` aggregates) so that a stalled
usage pipeline (a data gap) can be told apart from a quiet hour: a gap is missing data, not zero usage.
:class:`HourlyProfile` keeps the seasonal level that stands in for the live count during a gap.
"""

from __future__ import annotations

import math

from river import stats

__all__ = ["SETTLING", "ActivityTracker", "HourlyProfile", "hour_of_week"]

#: Seconds after the stream's first usage during which every account seen counts as already there
#: (a small account may log in only once a day).
SETTLING = 86_400.0
_WEEK_ORIGIN = 3 * 86_400.0  # 1970-01-01 was a Thursday: shift so that slot 0 is Monday 00:00 UTC


def hour_of_week(ts: float) -> int:
    """Hour of the week in UTC, 0 = Monday 00:00.

    Examples
    --------
    >>> hour_of_week(0.0)  # Thursday 1970-01-01 00:00 UTC
    72
    """
    return int(((ts + _WEEK_ORIGIN) % (7 * 86_400.0)) // 3600)


class ActivityTracker:
    """Count accounts with usage in the recent past.

    Parameters
    ----------
    bucket
        Seconds per time bucket (align with the detectors' window).
    active_horizon
        An account is active while its last usage is this recent.
    idle_horizon
        Accounts without usage for this long are forgotten.

    Examples
    --------
    >>> tracker = ActivityTracker(bucket=300, active_horizon=3600)
    >>> for i, account in enumerate(["a", "b", "c"]):
    ...     tracker.observe(account, 1_000.0 + i, 1)
    >>> tracker.active_at(1_200.0)
    3
    >>> tracker.active_at(1_000.0 + 3 * 3600)  # nobody used it since
    0
    >>> tracker.usage_events_between(900.0, 1_200.0)
    3
    """

    __slots__ = (
        "_accounts_in_bucket",
        "_events_in_bucket",
        "_first_bucket",
        "_last_bucket",
        "_max_bucket",
        "_origin",
        "active_horizon",
        "bucket",
        "idle_horizon",
    )

    def __init__(
        self, bucket: float = 300.0, active_horizon: float = 3600.0, idle_horizon: float = 7 * 86_400.0
    ):
        if not bucket > 0:
            raise ValueError(f"bucket must be > 0, got {bucket!r}")
        if not active_horizon >= bucket:
            raise ValueError(f"active_horizon must be >= bucket, got {active_horizon!r}")
        if not idle_horizon >= active_horizon:
            raise ValueError(f"idle_horizon must be >= active_horizon, got {idle_horizon!r}")
        self.bucket = float(bucket)
        self.active_horizon = float(active_horizon)
        self.idle_horizon = float(idle_horizon)
        self._last_bucket: dict[str, int] = {}
        # Bucket of an account's first usage (since eviction), for accounts first seen after SETTLING.
        self._first_bucket: dict[str, int] = {}
        self._origin: int | None = None  # first bucket of the stream
        self._accounts_in_bucket: dict[int, int] = {}
        self._events_in_bucket: dict[int, int] = {}
        self._max_bucket = -(2**62)

    def observe(self, account_id: str, ts: float, count: int = 1) -> None:
        """Record one usage event (the hot path)."""
        b = int(ts // self.bucket)
        events = self._events_in_bucket
        events[b] = events.get(b, 0) + 1
        if b > self._max_bucket:
            self._max_bucket = b
        elif b == self._max_bucket:
            b = self._max_bucket  # one int object for every account last seen in the newest bucket
        if count <= 0:
            return
        old = self._last_bucket.get(account_id)
        if old is None:
            if self._origin is None:
                self._origin = b
            if (b - self._origin) * self.bucket >= SETTLING:  # others have no first usage to remember
                self._first_bucket[account_id] = b
        if old is None or b > old:
            self._last_bucket[account_id] = b
            per_bucket = self._accounts_in_bucket
            per_bucket[b] = per_bucket.get(b, 0) + 1
            if old is not None:
                per_bucket[old] -= 1

    def active_at(self, ts: float) -> int:
        """Accounts whose last usage is at most ``active_horizon`` before ``ts`` (or later)."""
        low = math.floor((ts - self.active_horizon) / self.bucket)
        per_bucket = self._accounts_in_bucket
        return sum(per_bucket.get(b, 0) for b in range(low, self._max_bucket + 1))

    def first_seen(self, account_id: str) -> float | None:
        """Start of the bucket of the account's first usage, if it appeared after the stream began.

        Accounts first seen within :data:`SETTLING` of the stream's first usage were there before it
        (None): only accounts created while it runs (or back after being forgotten) have a first usage.
        """
        first = self._first_bucket.get(account_id)
        if first is None or self._origin is None or (first - self._origin) * self.bucket < SETTLING:
            return None
        return first * self.bucket

    def usage_events_between(self, start: float, end: float) -> int:
        """Usage events (any count, including zero) with event time in ``[start, end)``."""
        events = self._events_in_bucket
        first, last = int(start // self.bucket), math.ceil(end / self.bucket)
        return sum(events.get(b, 0) for b in range(first, last))

    def evict(self, now: float) -> None:
        """Forget accounts idle for ``idle_horizon`` and event counts older than the active horizon."""
        idle_before = int((now - self.idle_horizon) // self.bucket)
        stale = [a for a, b in self._last_bucket.items() if b < idle_before]
        for account_id in stale:
            b = self._last_bucket.pop(account_id)
            self._first_bucket.pop(account_id, None)
            self._accounts_in_bucket[b] -= 1
        self._accounts_in_bucket = {b: n for b, n in self._accounts_in_bucket.items() if n > 0}
        events_before = int((now - 2 * self.active_horizon) // self.bucket)
        self._events_in_bucket = {b: n for b, n in self._events_in_bucket.items() if b >= events_before}

    def forget(self, account_id: str) -> None:
        """Drop one account (it no longer counts as active; back later, it is a new account)."""
        b = self._last_bucket.pop(account_id, None)
        self._first_bucket.pop(account_id, None)
        if b is not None:
            self._accounts_in_bucket[b] -= 1

    @property
    def state_size(self) -> int:
        """Accounts remembered."""
        return len(self._last_bucket)


class HourlyProfile:
    """Exponentially weighted mean of a quantity per hour of the week (or of the day).

    Parameters
    ----------
    hours
        Length of the cycle in hours: 168 for hour of the week, 24 for hour of the day.
    fading_factor
        Weight of each new value in its hour's mean (River ``EWMean``).
    min_updates
        Updates an hour needs before :meth:`get` trusts it.

    Examples
    --------
    >>> profile = HourlyProfile(hours=24, min_updates=2)
    >>> profile.get(0.0) is None
    True
    >>> profile.update(0.0, 10.0); profile.update(86_400.0, 20.0)  # same hour, next day
    >>> profile.get(2 * 86_400.0) > 10.0
    True
    """

    __slots__ = ("_means", "_updates", "fading_factor", "hours", "min_updates")

    def __init__(self, hours: int = 168, fading_factor: float = 0.1, min_updates: int = 6):
        if hours < 1 or 168 % hours:
            raise ValueError(f"hours must divide 168, got {hours!r}")
        if not 0 < fading_factor <= 1:
            raise ValueError(f"fading_factor must be in (0, 1], got {fading_factor!r}")
        if min_updates < 1:
            raise ValueError(f"min_updates must be >= 1, got {min_updates!r}")
        self.hours = int(hours)
        self.fading_factor = float(fading_factor)
        self.min_updates = int(min_updates)
        self._means: dict[int, stats.EWMean] = {}
        self._updates: dict[int, int] = {}

    def update(self, ts: float, value: float) -> None:
        slot = hour_of_week(ts) % self.hours
        mean = self._means.get(slot)
        if mean is None:
            mean = self._means[slot] = stats.EWMean(self.fading_factor)
        mean.update(value)
        self._updates[slot] = self._updates.get(slot, 0) + 1

    def get(self, ts: float) -> float | None:
        """The mean for the hour of ``ts``, or None while that hour has too few updates."""
        slot = hour_of_week(ts) % self.hours
        if self._updates.get(slot, 0) < self.min_updates:
            return None
        return self._means[slot].get()
