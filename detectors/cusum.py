"""A bank of one-sided Poisson CUSUMs, one per design shift, on counts against a learnt expectation.

For counts ``x`` with expected value ``μ`` and a design shift ``r`` (the rate × ``r`` after a change),
the log-likelihood ratio of one count is ``x·log r − μ·(r − 1)``; the CUSUM ``S = max(0, S + that)``
is the optimal detector of that change (Lorden, Moustakides). The true shift is unknown, so the bank
runs one arm per design shift: whatever the shift, the nearest arm loses little against the oracle
that knows it (the Kullback–Leibler rate of a mis-tuned arm falls slowly around its design point).
Each arm remembers the window where its excursion above 0 began: the change-point estimate.

Examples
--------
>>> bank = CusumBank((2.0, 5.0))
>>> [bank.update(x, 1.0, w) for w, x in enumerate([1, 0, 4, 6])]
[None, None, None, None]
>>> [round(s, 2) for s in bank.statistics]
[4.93, 8.09]
>>> bank.alarm((10.0, 8.0))
(1, 2)
>>> bank.peek([(4, 4, 1.0)], (6.0, 100.0))
(0, 2)
>>> bank.reset(); bank.statistics
[0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["CusumBank"]


class CusumBank:
    """One Poisson CUSUM per design shift.

    Parameters
    ----------
    shifts
        Design shifts (rate multipliers), each > 1.
    """

    __slots__ = ("_log", "_starts", "_stats", "shifts")

    def __init__(self, shifts: Sequence[float]):
        if not shifts or any(not r > 1.0 for r in shifts):
            raise ValueError(f"shifts must be > 1, got {shifts!r}")
        self.shifts = tuple(float(r) for r in shifts)
        self._log = tuple(math.log(r) for r in self.shifts)
        self._stats = [0.0] * len(self.shifts)
        self._starts = [0] * len(self.shifts)

    @property
    def statistics(self) -> list[float]:
        """Current value of every arm (log-likelihood ratio in nats)."""
        return list(self._stats)

    def update(self, count: float, expected: float, window: int) -> None:
        """Add one window's ``count`` against its ``expected`` count."""
        for k, (r, log_r) in enumerate(zip(self.shifts, self._log, strict=True)):
            s = self._stats[k]
            step = count * log_r - expected * (r - 1.0)
            if s + step <= 0.0:
                self._stats[k] = 0.0
            else:
                if s == 0.0:
                    self._starts[k] = window
                self._stats[k] = s + step

    def alarm(self, thresholds: Sequence[float]) -> tuple[int, int] | None:
        """The arm most above its threshold (relative to it) and its excursion's first window."""
        best, best_margin = None, 1.0
        for k, (s, h) in enumerate(zip(self._stats, thresholds, strict=True)):
            if s >= h and s / h >= best_margin:
                best, best_margin = k, s / h
        return None if best is None else (best, self._starts[best])

    def peek(self, windows: Iterable[tuple[int, float, float]],
             thresholds: Sequence[float]) -> tuple[int, int] | None:  # fmt: skip
        """Like :meth:`alarm` after adding ``(window, count, expected)`` triples, without changing the bank.

        The triples are for the windows after the last one added, in order (the open windows).
        """
        pending = list(windows)
        best, best_margin = None, 1.0
        for k, (r, log_r) in enumerate(zip(self.shifts, self._log, strict=True)):
            s, start = self._stats[k], self._starts[k]
            for window, count, expected in pending:
                step = count * log_r - expected * (r - 1.0)
                if s + step <= 0.0:
                    s = 0.0
                else:
                    if s == 0.0:
                        start = window
                    s += step
            h = thresholds[k]
            if s >= h and s / h >= best_margin:
                best, best_margin = (k, start), s / h
        return best

    def peek_statistic(self, windows: Iterable[tuple[int, float, float]]) -> float:
        """The largest arm statistic after adding ``(window, count, expected)`` triples, without change."""
        pending = list(windows)
        best = 0.0
        for k, (r, log_r) in enumerate(zip(self.shifts, self._log, strict=True)):
            s = self._stats[k]
            for _window, count, expected in pending:
                s = max(0.0, s + count * log_r - expected * (r - 1.0))
            best = max(best, s)
        return best

    def reset(self) -> None:
        """Forget every excursion (after an incident)."""
        self._stats = [0.0] * len(self.shifts)
