"""How busy each hour of the week is for tickets overall: the flood detector's seasonal factor.

An account's flood baseline is a week-long average, while people file tickets in business hours:
without this factor every large account would "flood" each afternoon.

Examples
--------
>>> rhythm = HourlyTicketRhythm()
>>> t0 = 1_772_409_600.0  # Monday 00:00 UTC
>>> rhythm.advance(t0)
>>> for day in range(7):
...     for _ in range(10):
...         rhythm.add_ticket(t0 + day * 86_400 + 14 * 3600)  # every afternoon at two
>>> rhythm.advance(t0 + 7 * 86_400)
>>> rhythm.factor(t0 + 14 * 3600) > 5 > 1 > rhythm.factor(t0 + 3 * 3600)
True
"""

from __future__ import annotations

from detectors.activity import hour_of_week

__all__ = ["HourlyTicketRhythm"]

_RHYTHM_PRIOR_HOURS = 3.0


class HourlyTicketRhythm:
    """How busy each hour is for tickets overall, as a factor around 1 (shared by all accounts).

    An account's baseline is a week-long average, while people file tickets in business hours: without
    this factor every large account would "flood" each afternoon. Hour of the week, shrunk towards hour
    of the day, shrunk towards 1; each level is worth ``_RHYTHM_PRIOR_HOURS`` hours of observation.
    """

    __slots__ = (
        "day_hours",
        "day_tickets",
        "hour",
        "total_hours",
        "total_tickets",
        "week_hours",
        "week_tickets",
    )

    def __init__(self) -> None:
        self.week_tickets, self.week_hours = [0.0] * 168, [0.0] * 168
        self.day_tickets, self.day_hours = [0.0] * 24, [0.0] * 24
        self.total_tickets, self.total_hours = 0.0, 0.0
        self.hour: int | None = None  # last hour (since the epoch) whose exposure is counted

    def add_ticket(self, ts: float) -> None:
        how = hour_of_week(ts)
        self.week_tickets[how] += 1.0
        self.day_tickets[how % 24] += 1.0
        self.total_tickets += 1.0

    def advance(self, watermark: float) -> None:
        hour = int(watermark // 3600) - 1  # last hour fully behind the watermark
        if self.hour is None:
            self.hour = hour
            return
        for h in range(max(self.hour + 1, hour - 168), hour + 1):
            how = hour_of_week(h * 3600.0)
            self.week_hours[how] += 1.0
            self.day_hours[how % 24] += 1.0
            self.total_hours += 1.0
        self.hour = max(self.hour, hour)
        if self.total_hours > 24 * 7 * 26:  # half a year: halve everything so the rhythm can move
            for counts in (self.week_tickets, self.week_hours, self.day_tickets, self.day_hours):
                for i in range(len(counts)):
                    counts[i] *= 0.5
            self.total_tickets *= 0.5
            self.total_hours *= 0.5

    def factor(self, ts: float) -> float:
        if self.total_tickets <= 0 or self.total_hours <= 0:
            return 1.0
        overall, k = self.total_tickets / self.total_hours, _RHYTHM_PRIOR_HOURS
        how = hour_of_week(ts)
        by_day = (self.day_tickets[how % 24] + k * overall) / ((self.day_hours[how % 24] + k) * overall)
        return (self.week_tickets[how] + k * overall * by_day) / ((self.week_hours[how] + k) * overall)

