"""Day-of-week profiles shared by a whole group of accounts (a tier, or everyone).

An account's expected usage on a day is its own *level* times the weekly *profile* of its peer group
(``level x profile[weekday]``): one float per account instead of seven, and the weekend shape is learnt
from the many accounts of the group rather than from one account's noisy history. The profile is kept
with River's exponentially weighted means, one per weekday and group.
"""

from __future__ import annotations

from river import stats

__all__ = ["WeeklyProfile"]


class WeeklyProfile:
    """Relative weight of each weekday (mean 1 over the week) per group, learnt from daily totals.

    Parameters
    ----------
    fading_factor
        Weight of the newest day in each weekday's exponentially weighted mean; ``0.25`` forgets a
        weekday's history over about a month of weeks.

    Examples
    --------
    >>> p = WeeklyProfile()
    >>> p.factor("business", 5)  # nothing learnt yet: flat
    1.0
    >>> for week in range(3):
    ...     for dow in range(7):
    ...         p.update("business", dow, 20.0 if dow >= 5 else 100.0)
    >>> round(p.factor("business", 0), 3), round(p.factor("business", 6), 3)
    (1.296, 0.259)
    >>> p.is_complete("business"), p.is_complete("self-serve")
    (True, False)
    """

    def __init__(self, fading_factor: float = 0.25):
        if not 0.0 < fading_factor <= 1.0:
            raise ValueError("fading_factor must be in (0, 1]")
        self.fading_factor = fading_factor
        self._means: dict[str, list[stats.EWMean | None]] = {}

    def update(self, group: str, dow: int, total: float) -> None:
        """Learn the group's total on a weekday ``dow`` (0 = Monday)."""
        means = self._means.get(group)
        if means is None:
            means = self._means[group] = [None] * 7
        if means[dow] is None:
            means[dow] = stats.EWMean(fading_factor=self.fading_factor)
        means[dow].update(total)

    def is_complete(self, group: str) -> bool:
        """True once every weekday of ``group`` has been seen."""
        means = self._means.get(group)
        return means is not None and all(m is not None for m in means)

    def factor(self, group: str, dow: int) -> float:
        """Weekday ``dow``'s share of the group's week, times 7 (1.0 until every weekday was seen)."""
        means = self._means.get(group)
        if means is None or any(m is None for m in means):
            return 1.0
        week = sum(m.get() for m in means)
        if week <= 0.0:
            return 1.0
        # A floor keeps a weekday that is nearly always empty from dividing usage by ~0.
        return max(7.0 * means[dow].get() / week, 0.05)

    def mean(self, group: str, dow: int) -> float | None:
        """The group's learnt total on weekday ``dow``, or ``None`` if that weekday was never seen."""
        means = self._means.get(group)
        if means is None or means[dow] is None:
            return None
        return means[dow].get()

    @property
    def groups(self) -> list[str]:
        """Groups with at least one weekday learnt."""
        return list(self._means)
