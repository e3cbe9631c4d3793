"""UTC day bucketing shared by the slow, per-account and per-feature detectors.

Slow detectors think in closed UTC days: a day is judged once the event-time watermark has passed its
end, so late events inside the allowed lateness still land in the right bucket. :class:`DayBuckets`
holds the open days only (at most a few, whatever the length of the stream) and hands each day back
exactly once, in order, including days on which nothing arrived at all: a gap must be seen to be
skipped, not silently merged into the next day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterator, Mapping

__all__ = ["SECONDS_PER_DAY", "SECONDS_PER_HOUR", "DayBuckets", "HourBuckets", "TimeBuckets", "day_label",
           "day_of_week", "day_start", "utc_day"]  # fmt: skip

SECONDS_PER_DAY = 86_400.0
SECONDS_PER_HOUR = 3_600.0


def utc_day(ts: float) -> int:
    """Index of the UTC day holding epoch second ``ts`` (0 is 1970-01-01).

    >>> utc_day(0.0), utc_day(86_399.9), utc_day(86_400.0)
    (0, 0, 1)
    """
    return int(ts // SECONDS_PER_DAY)


def day_start(day: int) -> float:
    """Epoch seconds at which UTC day ``day`` begins."""
    return day * SECONDS_PER_DAY


def day_of_week(day: int) -> int:
    """ISO weekday of ``day`` counted from 0 = Monday (1970-01-01 was a Thursday).

    >>> day_of_week(0), day_of_week(4)
    (3, 0)
    """
    return (day + 3) % 7


def day_label(day: int) -> str:
    """The day as an ISO date, for dedup keys and summaries.

    >>> day_label(20_000)
    '2024-10-04'
    """
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


class TimeBuckets:
    """Per-key sums for the fixed-width periods (days, hours) that the watermark has not closed yet.

    Parameters
    ----------
    width
        Length of a period in seconds; periods are aligned on the epoch (UTC days and hours).

    Examples
    --------
    >>> b = TimeBuckets(SECONDS_PER_DAY)
    >>> b.add(10.0, "acme", 3); b.add(100.0, "acme", 2); b.add(86_500.0, "beta", 1)
    >>> [(day, dict(sums)) for day, sums in b.close(86_400.0)]
    [(0, {'acme': 5})]
    >>> b.add(50.0, "acme", 1)  # day 0 is closed: too late, counted and dropped
    >>> b.late_dropped
    1
    >>> [(day, dict(sums)) for day, sums in b.close(3 * 86_400.0)]
    [(1, {'beta': 1}), (2, {})]
    """

    __slots__ = ("_open", "closed_through", "late_dropped", "width")

    def __init__(self, width: float) -> None:
        if not width > 0:
            raise ValueError("width must be > 0")
        self.width = float(width)
        self._open: dict[int, dict[Hashable, float]] = {}
        #: Last period already handed back by :meth:`close`; ``None`` before the first close.
        self.closed_through: int | None = None
        self.late_dropped = 0

    def add(self, ts: float, key: Hashable, amount: float = 1) -> None:
        """Add ``amount`` to ``key`` in the period of ``ts``; events for a closed period are dropped."""
        period = int(ts // self.width)
        sums = self._open.get(period)
        if sums is None:
            if self.closed_through is not None and period <= self.closed_through:
                self.late_dropped += 1
                return
            sums = self._open[period] = {}
        sums[key] = sums.get(key, 0) + amount

    def add_all(self, ts: float, amounts: Mapping[Hashable, float]) -> None:
        """:meth:`add` each ``key: amount`` of ``amounts`` in the period of ``ts``, in their order.

        >>> b = TimeBuckets(SECONDS_PER_HOUR)
        >>> b.add(10.0, "acme", 1); b.add_all(20.0, {"acme": 2, "beta": 3}); dict(next(b.close(3_600.0))[1])
        {'acme': 3, 'beta': 3}
        >>> b.add_all(30.0, {"acme": 1, "beta": 1}); b.late_dropped  # one per key, as many adds would
        2
        """
        if not amounts:
            return
        period = int(ts // self.width)
        sums = self._open.get(period)
        if sums is None:
            if self.closed_through is not None and period <= self.closed_through:
                self.late_dropped += len(amounts)
                return
            sums = self._open[period] = {}
        for key, amount in amounts.items():
            sums[key] = sums.get(key, 0) + amount

    def close(self, watermark: float) -> Iterator[tuple[int, dict[Hashable, float]]]:
        """Yield ``(period, sums)`` for every period ending at or before ``watermark``, oldest first.

        Periods in between that saw no event at all are yielded with empty sums, once something was seen.
        """
        last = int(watermark // self.width) - 1
        if self.closed_through is None:
            if not self._open:
                return
            self.closed_through = min(self._open) - 1
        while self.closed_through < last:
            self.closed_through += 1
            yield self.closed_through, self._open.pop(self.closed_through, {})

    def closes(self, watermark: float) -> bool:
        """Whether :meth:`close` would hand back a period at ``watermark`` (nothing is changed).

        >>> b = TimeBuckets(SECONDS_PER_DAY)
        >>> b.add(10.0, "acme"); b.closes(86_399.0), b.closes(86_400.0)
        (False, True)
        """
        last = int(watermark // self.width) - 1
        if self.closed_through is None:
            return bool(self._open) and min(self._open) - 1 < last
        return self.closed_through < last

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` from every open period."""
        for sums in self._open.values():
            sums.pop(key, None)

    @property
    def open_days(self) -> int:
        """Number of periods currently buffered."""
        return len(self._open)


class DayBuckets(TimeBuckets):
    """:class:`TimeBuckets` of UTC days (periods are day indices, as :func:`utc_day`)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(SECONDS_PER_DAY)


class HourBuckets(TimeBuckets):
    """:class:`TimeBuckets` of UTC hours (period ``h`` starts at ``h * 3600`` epoch seconds)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(SECONDS_PER_HOUR)
