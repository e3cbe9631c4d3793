"""The ticket rhythm: observed / predicted tickets by hour of the week, shared by all features.

For products where tickets follow a different rhythm than usage (a Monday-morning rush), the
expected count of a window is multiplied by a correction learnt as a ratio of decayed sums per hour
of the week. Each level is shrunk towards a coarser one: the hour of the week towards its (weekday or
weekend, hour of day) slot, worth :data:`WEEK_PRIOR` tickets, so a slot seen once a week departs from
it only on weeks of evidence; that slot towards the separable guess hour of day (all days pooled) ×
weekday or weekend level, worth :data:`DAY_PRIOR` tickets, so a weekend night with a handful of
tickets leans on the weekday nights and the weekend's level instead of on 1; those two towards 1,
worth :data:`RHYTHM_PRIOR` tickets.

Examples
--------
>>> rhythm = TicketRhythm()
>>> monday_9 = 1_772_409_600.0 + 9 * 3600
>>> rhythm.correction(monday_9 + 1800)
1.0
>>> for _ in range(12):
...     rhythm.learn(monday_9, observed=20.0, predicted=10.0)
>>> round(rhythm.correction(monday_9 + 1800), 1), rhythm.windows  # the slot's midpoint
(2.0, 12)
>>> round(rhythm.correction(monday_9 + 3600), 1)  # halfway to the next slot (10 o'clock, barely learnt)
1.6
>>> rhythm.knows(monday_9 + 86_400), rhythm.knows(monday_9 + 5 * 86_400)  # Tuesday, Saturday
(True, False)
"""

from __future__ import annotations

import math

from detectors.activity import hour_of_week

__all__ = ["DAY_PRIOR", "RHYTHM_PRIOR", "WEEK_PRIOR", "TicketRhythm"]

#: Tickets' worth of belief in the coarser level of the correction.
RHYTHM_PRIOR = 5.0
#: Tickets' worth of belief in the separable prior of a (weekday or weekend, hour of day) slot.
DAY_PRIOR = 30.0
#: Tickets' worth of belief in the day type's level of an hour-of-week slot.
WEEK_PRIOR = 100.0


def _day_type_hour(how: int) -> int:
    return (24 if how >= 5 * 24 else 0) + how % 24


class TicketRhythm:
    """Hour-of-week correction of expected tickets (``windows`` counts the windows learnt)."""

    __slots__ = ("_by_day", "_by_hour", "_by_type", "_by_week", "windows")

    def __init__(self) -> None:
        self._by_week: dict[int, list[float]] = {}  # hour of week -> [observed, predicted] decayed sums
        self._by_day: dict[int, list[float]] = {}  # (weekend, hour of day) -> the same
        self._by_hour: dict[int, list[float]] = {}  # hour of day, every day -> the same
        self._by_type: dict[int, list[float]] = {}  # weekend -> [observed, predicted × hour level]
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

    @staticmethod
    def _ratio(sums: list[float] | tuple[float, float], prior: float, weight: float) -> float:
        return (sums[0] + weight * prior) / (sums[1] + weight)

    def _hour_level(self, how: int) -> float:
        return self._ratio(self._by_hour.get(how % 24, (0.0, 0.0)), 1.0, RHYTHM_PRIOR)

    def _slot(self, ts: float) -> float:
        how = hour_of_week(ts)
        # Separable prior: the hour of day (every day pooled) × the weekday or weekend level. A slot
        # with few tickets (a weekend night) leans on it instead of on 1, which overstated it twice.
        weekend = int(how >= 5 * 24)
        prior = self._hour_level(how) * self._ratio(self._by_type.get(weekend, (0.0, 0.0)), 1.0,
                                                    RHYTHM_PRIOR)  # fmt: skip
        by_day = self._ratio(self._by_day.get(_day_type_hour(how), (0.0, 0.0)), prior, DAY_PRIOR)
        # An hour of the week is seen once a week: it departs from the day type's level only on the
        # evidence of weeks of tickets, so a slot does not swing on one noisy week.
        return self._ratio(self._by_week.get(how, (0.0, 0.0)), by_day, WEEK_PRIOR)

    def learn(self, ts: float, observed: float, predicted: float) -> None:
        """Learn one window (starting at ``ts``) of all features' observed and predicted tickets."""
        self.windows += 1
        how = hour_of_week(ts)
        hour_level = self._hour_level(how)
        # Hour-of-week slots get 12 windows a week and day-type slots 24 to 60: both fadings span
        # about a month; the pooled levels get more windows and fade over about as long.
        for sums, keep, pred in (
            (self._by_week.setdefault(how, [0.0, 0.0]), 0.98, predicted),
            (self._by_day.setdefault(_day_type_hour(how), [0.0, 0.0]), 0.995, predicted),
            (self._by_hour.setdefault(how % 24, [0.0, 0.0]), 0.998, predicted),
            (self._by_type.setdefault(int(how >= 5 * 24), [0.0, 0.0]), 0.9998, predicted * hour_level),
        ):
            sums[0] = sums[0] * keep + observed
            sums[1] = sums[1] * keep + pred
