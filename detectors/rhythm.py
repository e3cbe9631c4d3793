"""The ticket rhythm: observed / predicted tickets by hour of the week, shared by all features.

For products where tickets follow a different rhythm than usage (a Monday-morning rush), the
expected count of a window is multiplied by a correction learnt as a ratio of decayed sums per hour
of the week, shrunk towards the (weekday or weekend, hour of day) level and that towards 1, each level
worth :data:`RHYTHM_PRIOR` tickets, so a slot seen once a week does not swing on a few tickets.

Examples
--------
>>> rhythm = TicketRhythm()
>>> monday_9 = 1_772_409_600.0 + 9 * 3600
>>> rhythm.correction(monday_9 + 1800)
1.0
>>> for _ in range(12):
...     rhythm.learn(monday_9, observed=20.0, predicted=10.0)
>>> round(rhythm.correction(monday_9 + 1800), 2), rhythm.windows  # the slot's midpoint
(2.0, 12)
>>> round(rhythm.correction(monday_9 + 3600), 2)  # halfway to the next slot, still at 1
1.5
>>> rhythm.knows(monday_9 + 86_400), rhythm.knows(monday_9 + 5 * 86_400)  # Tuesday, Saturday
(True, False)
"""

from __future__ import annotations

import math

from detectors.activity import hour_of_week

__all__ = ["RHYTHM_PRIOR", "TicketRhythm"]

#: Tickets' worth of belief in the coarser level of the correction.
RHYTHM_PRIOR = 5.0


def _day_type_hour(how: int) -> int:
    return (24 if how >= 5 * 24 else 0) + how % 24


class TicketRhythm:
    """Hour-of-week correction of expected tickets (``windows`` counts the windows learnt)."""

    __slots__ = ("_by_day", "_by_week", "windows")

    def __init__(self) -> None:
        self._by_week: dict[int, list[float]] = {}  # hour of week -> [observed, predicted] decayed sums
        self._by_day: dict[int, list[float]] = {}  # (weekend, hour of day) -> the same
        self.windows = 0

    def correction(self, ts: float) -> float:
        """Multiplier of the expected tickets at epoch second ``ts`` (pass a window's midpoint).

        Each slot holds its hour's average; between hour midpoints the correction is interpolated
        linearly, because the rhythm moves within the hour (the morning rise and the evening fall
        change the rate by a third in an hour) and an hour's average underestimates one end of it.
        """
        x = ts / 3600.0 - 0.5
        hour = math.floor(x)
        before, after = self._slot(hour * 3600.0), self._slot((hour + 1) * 3600.0)
        return before + (x - hour) * (after - before)

    def knows(self, ts: float) -> bool:
        """Whether the hour of day (of a weekday or of a weekend) of ``ts`` was learnt at all: until
        it was, its correction is a guess (the first Saturday is taken for a weekday)."""
        return self._by_day.get(_day_type_hour(hour_of_week(ts)), (0.0, 0.0))[1] >= RHYTHM_PRIOR

    def _slot(self, ts: float) -> float:
        how = hour_of_week(ts)
        observed, predicted = self._by_day.get(_day_type_hour(how), (0.0, 0.0))
        by_day = (observed + RHYTHM_PRIOR) / (predicted + RHYTHM_PRIOR)
        observed, predicted = self._by_week.get(how, (0.0, 0.0))
        return (observed + RHYTHM_PRIOR * by_day) / (predicted + RHYTHM_PRIOR)

    def learn(self, ts: float, observed: float, predicted: float) -> None:
        """Learn one window (starting at ``ts``) of all features' observed and predicted tickets."""
        self.windows += 1
        how = hour_of_week(ts)
        # Hour-of-week slots get 12 windows a week and day-type slots 24 to 60: both fadings span
        # about a month.
        for sums, keep in (
            (self._by_week.setdefault(how, [0.0, 0.0]), 0.98),
            (self._by_day.setdefault(_day_type_hour(how), [0.0, 0.0]), 0.995),
        ):
            sums[0] = sums[0] * keep + observed
            sums[1] = sums[1] * keep + predicted
