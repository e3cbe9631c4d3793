"""Steady growth of an account's usage: a robust trend over a short window of days.

Used by :mod:`detectors.expansion`: a Theil–Sen slope (one busy day cannot make a trend) with the
Mann–Kendall statistic as the steadiness check, over a small fixed-size ring buffer per account.
"""

from __future__ import annotations

import math
import statistics
from array import array

__all__ = ["UsageGrowth", "robust_trend"]


def robust_trend(values: list[float]) -> tuple[float, float]:
    """Theil–Sen slope per step of ``values`` and the Mann–Kendall trend statistic ``z``.

    ``z`` is about standard normal for trendless noise, so ``z >= 3`` is a steady rise.

    >>> slope, z = robust_trend([1.0, 2.0, 3.0, 100.0, 5.0])
    >>> slope, round(z, 2)
    (1.0, 1.71)
    """
    slopes, s = [], 0
    n = len(values)
    for i in range(n):
        vi = values[i]
        for j in range(i + 1, n):
            d = values[j] - vi
            slopes.append(d / (j - i))
            s += (d > 0) - (d < 0)
    if not slopes:
        return 0.0, 0.0
    sd = math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    z = (s - 1) / sd if s > 0 else (s + 1) / sd if s < 0 else 0.0  # continuity correction
    return statistics.median(slopes), z


class UsageGrowth:
    """Recent daily usage (ring buffer of ``window`` days of log normal-day units, as 4-byte floats)
    and friction of accounts, in columns indexed by row number: the rows of the table that holds the
    accounts (:meth:`detectors.peers.PeerBaselines.attach`), so an account has one row for all of it.

    Examples
    --------
    >>> growth = UsageGrowth(window=3)
    >>> growth.start(4)  # row 4: the columns grow to hold it
    >>> for v in (1.0, 2.0, 3.0, 4.0):
    ...     growth.push(4, v)
    >>> growth.ordered(4), growth.n[4], len(growth.n)
    ([2.0, 3.0, 4.0], 3, 5)
    """

    __slots__ = ("alerted", "expected_tickets", "failing", "n", "pos", "since", "tickets", "values", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.values = array("f")  # the newest day of row r at cell r * window + pos[r] - 1
        self.pos = array("i")
        self.n = array("i")  # days in the window
        self.tickets = array("d")  # decayed tickets over the window
        self.expected_tickets = array("d")  # what peers file for the same usage, decayed alike
        self.alerted = array("B")
        self.failing = array("i")  # days in a row failing the growth criteria, while alerted
        self.since = array("i")  # UTC day the episode fired (4 bytes: fits any datetime)

    def start(self, r: int) -> None:
        """Row ``r`` starts empty (the columns grow to hold it)."""
        grow = r + 1 - len(self.n)
        if grow > 0:
            self.values.frombytes(bytes(self.values.itemsize * self.window * grow))  # zeros
            for column in (self.pos, self.n, self.tickets, self.expected_tickets, self.alerted, self.failing,
                           self.since):  # fmt: skip
                column.extend([0] * grow)
        w = self.window
        self.values[r * w : r * w + w] = array("f", [0.0] * w)
        self.pos[r] = self.n[r] = self.alerted[r] = self.failing[r] = self.since[r] = 0
        self.tickets[r] = self.expected_tickets[r] = 0.0

    def push(self, r: int, value: float) -> None:
        """Add the newest day of row ``r``, dropping its oldest once the window is full."""
        w = self.window
        self.values[r * w + self.pos[r]] = value
        self.pos[r] = (self.pos[r] + 1) % w
        self.n[r] = min(self.n[r] + 1, w)

    def ordered(self, r: int) -> list[float]:
        """The window of row ``r``, oldest day first."""
        w, n, pos, base = self.window, self.n[r], self.pos[r], r * self.window
        if n < w:
            return self.values[base : base + n].tolist()
        return self.values[base + pos : base + w].tolist() + self.values[base : base + pos].tolist()
