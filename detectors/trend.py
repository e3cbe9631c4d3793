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
    """An account's recent daily usage (ring buffer of log normal-day units) and friction."""

    __slots__ = ("alerted", "expected_tickets", "failing", "n", "pos", "since", "tickets", "values")

    def __init__(self, window: int) -> None:
        self.values = array("f", bytes(4 * window))
        self.pos = 0
        self.n = 0
        self.tickets = 0.0
        self.expected_tickets = 0.0
        self.alerted = False
        self.failing = 0
        self.since = 0

    def push(self, value: float) -> None:
        """Add the newest day, dropping the oldest once the window is full."""
        self.values[self.pos] = value
        self.pos = (self.pos + 1) % len(self.values)
        self.n = min(self.n + 1, len(self.values))

    def ordered(self) -> list[float]:
        """The window, oldest day first."""
        w = len(self.values)
        if self.n < w:
            return list(self.values[: self.n])
        return list(self.values[self.pos :]) + list(self.values[: self.pos])
