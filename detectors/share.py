"""One feature's baseline share of all tickets, and the evidence that its share has risen.

Used by :mod:`detectors.drift`: a few floats per feature, nothing per account.
"""

from __future__ import annotations

import math

__all__ = ["FeatureShare", "anscombe"]


def anscombe(count: float, expected: float) -> float:
    """Poisson deviation on the square-root scale: near N(0, 1) even for a few tickets.

    >>> round(anscombe(9, 4), 2)
    1.94
    """
    return 2.0 * (math.sqrt(count + 0.375) - math.sqrt(expected + 0.375))


class FeatureShare:
    """Baseline share and CUSUM state of one feature.

    Examples
    --------
    >>> st = FeatureShare()
    >>> for _ in range(7):
    ...     st.learn(50, 950, memory_days=28)
    >>> round(st.base(), 4)
    0.0526
    >>> st.log_likelihood_ratio(5, 95, ratio=1.25, confidence_z=2.0) < 0  # as usual: evidence against
    True
    >>> st.log_likelihood_ratio(9, 91, ratio=1.25, confidence_z=2.0) > 0  # nearly doubled: evidence for
    True
    """

    __slots__ = ("cusum", "day_ceiling", "day_gain", "day_mine", "day_others", "days", "fed", "last_alert",
                 "mine", "others", "recent", "since")  # fmt: skip

    def __init__(self) -> None:
        self.mine = 0.0  # exponentially weighted tickets on this feature ...
        self.others = 0.0  # ... and on all the others, over the same days: base ratio = mine / others
        self.days = 0  # days learnt
        self.fed = 0  # days tested
        self.cusum = 0.0
        self.since: int | None = None  # first day of the current positive CUSUM run
        self.recent = 0.0  # ratio over the last few days, for the alert
        self.last_alert: int | None = None
        self.day_mine = 0.0  # today's tickets, burst hours left out ...
        self.day_others = 0.0
        self.day_gain = 0.0  # ... and the evidence today has added so far
        self.day_ceiling: float | None = None  # highest the CUSUM may reach today

    def base(self) -> float:
        """Usual tickets on this feature per ticket on the others."""
        return self.mine / self.others if self.others > 0 else 0.0

    def learn(self, mine: float, others: float, memory_days: float) -> None:
        """Learn one day (an equal-weight mean until ``memory_days`` days, then exponential)."""
        keep = 1.0 - 1.0 / max(memory_days, self.days + 1.0)
        self.mine = self.mine * keep + mine
        self.others = self.others * keep + others
        self.days += 1

    def log_likelihood_ratio(self, mine: float, others: float, ratio: float, confidence_z: float) -> float:
        """Evidence (nats) that the odds of a ticket being about this feature are ``ratio`` times usual.

        A binomial test given the tickets observed, so the other features' own noise counts too; the
        usual share is taken ``confidence_z`` standard errors high, so a thin baseline needs more.
        """
        n = self.mine + self.others
        if n <= 0:
            return 0.0
        share = self.mine / n
        p0 = min(share + confidence_z * math.sqrt(max(share * (1.0 - share), 1.0 / n) / n), 0.99)
        odds = ratio * p0 / (1.0 - p0)
        p1 = odds / (1.0 + odds)
        return mine * math.log(p1 / p0) + others * math.log((1.0 - p1) / (1.0 - p0))
