"""Exposure: how many accounts could write in right now, and when the usage data cannot be trusted.

Expected tickets in a window = feature rate × active accounts × ticket rhythm correction. This module
keeps the two shared factors:

* active accounts are those with usage within the last ``active_horizon``
  (:class:`~detectors.activity.ActivityTracker`), so nights, weekends and holidays expect fewer
  tickets. During a data gap (usage events over the last ``active_horizon`` below ``gap_fraction`` of
  their seasonal level, and for one more ``active_horizon`` after it) the count falls back on its
  seasonal level (hour of the week, hour of the day until the week is known): a gap is missing data,
  not zero usage. Usage that stalls takes an hour to be told from a gap, so outside gaps the count
  never falls below ``floor`` × its seasonal level either;
* the ticket rhythm (:class:`~detectors.rhythm.TicketRhythm`).

A lull across all features (a holiday: accounts still log in, few write in) is flagged by
:meth:`Exposure.lull` so that it is not learnt as any feature's baseline.

Examples
--------
>>> exposure = Exposure(window=300.0)
>>> t0 = 1_772_409_600.0
>>> for a in range(10):
...     exposure.observe_usage(f"a{a}", t0 + 60, 3)
>>> exposure.close(t0, t0 + 300)
(10, 1.0, False)
"""

from __future__ import annotations

from detectors.activity import ActivityTracker, HourlyProfile
from detectors.rhythm import TicketRhythm

__all__ = ["Exposure", "is_lull"]

_LULL_KEEP = 0.95  # decay per window of the all-feature observed/expected sums (~1.5 h memory)
_LULL_RATIO = 0.4  # below this share of the expected tickets, all features together are in a lull
_LULL_MIN_EXPECTED = 40.0  # expected tickets in those sums before a lull can be told from noise


def is_lull(observed: float, expected: float) -> bool:
    """Whether all features' ``observed`` tickets are far below the ``expected`` (enough of them to tell).

    >>> is_lull(10.0, 100.0), is_lull(10.0, 20.0), is_lull(60.0, 100.0)
    (True, False, False)
    """
    return expected >= _LULL_MIN_EXPECTED and observed < _LULL_RATIO * expected


class Exposure:
    """Active accounts, data gaps, all-feature lulls and the ticket rhythm.

    Parameters
    ----------
    window
        Seconds per window.
    active_horizon
        An account is active while it had usage this recently.
    gap_fraction
        Usage events below this fraction of their seasonal level mean a data gap.
    idle_horizon
        Accounts idle this long are forgotten.
    floor
        Share of the seasonal active accounts the count never falls below outside gaps.
    """

    def __init__(self, window: float, active_horizon: float = 3600.0, gap_fraction: float = 0.05,
                 idle_horizon: float = 14 * 86_400.0, floor: float = 0.8):  # fmt: skip
        self.window = window
        self.active_horizon = active_horizon
        self.gap_fraction = gap_fraction
        self.idle_horizon = idle_horizon
        self.floor = floor
        self.rhythm = TicketRhythm()
        self._activity = ActivityTracker(window, active_horizon, idle_horizon)
        # Seasonal levels of active accounts and usage events, by hour of the week once that hour has
        # been seen a few times, by hour of the day until then.
        self._active_profiles = (HourlyProfile(168), HourlyProfile(24))
        self._usage_profiles = (HourlyProfile(168), HourlyProfile(24))
        self._gap_until = float("-inf")
        self._lull = [0.0, 0.0]  # decayed all-feature observed and expected tickets

    def observe_usage(self, account_id: str, ts: float, count: int) -> None:
        """Learn one usage event."""
        self._activity.observe(account_id, ts, count)

    @staticmethod
    def _seasonal(profiles: tuple[HourlyProfile, ...], ts: float) -> float | None:
        for profile in profiles:
            level = profile.get(ts)
            if level is not None:
                return level
        return None

    def close(self, start: float, end: float) -> tuple[int, float, bool]:
        """Active accounts, rhythm correction and gap flag of the window ``[start, end)``, closed now."""
        live = self._activity.active_at(end)
        # Usage over the trailing active horizon, not the window alone: producers that send hourly
        # aggregates leave most windows empty without any gap.
        usage_events = self._activity.usage_events_between(end - self.active_horizon, end)
        seasonal_usage = self._seasonal(self._usage_profiles, start)
        if seasonal_usage is not None and usage_events < self.gap_fraction * seasonal_usage:
            self._gap_until = end + self.active_horizon
        gap = end <= self._gap_until
        seasonal_active = self._seasonal(self._active_profiles, start)
        active = live
        if seasonal_active is not None:
            active = max(live, round(seasonal_active if gap else self.floor * seasonal_active))
        if not gap:
            for profile in self._active_profiles:
                profile.update(start, live)
            for profile in self._usage_profiles:
                profile.update(start, usage_events)
        return active, self.rhythm.correction((start + end) / 2.0), gap

    def is_new_account(self, account_id: str, ts: float, horizon: float) -> bool:
        """Whether the account first used the product less than ``horizon`` seconds before ``ts``."""
        first = self._activity.first_seen(account_id)
        return first is not None and ts - first < horizon

    def active_now(self, ts: float) -> int:
        """Active accounts for windows still open at ``ts``: the larger of the live and the seasonal
        count, so a usage gap that has not closed a window yet cannot page."""
        live = self._activity.active_at(ts)
        seasonal = self._seasonal(self._active_profiles, ts)
        return max(live, round(seasonal)) if seasonal is not None else live

    def lull(self, observed: float, expected: float) -> bool:
        """Fold one window's all-feature tickets in; True while they are far below expectation."""
        sums = self._lull
        sums[0] = sums[0] * _LULL_KEEP + observed
        sums[1] = sums[1] * _LULL_KEEP + expected
        return is_lull(sums[0], sums[1])

    def forget(self, account_id: str) -> None:
        """Forget one account."""
        self._activity.forget(account_id)

    def evict(self, now: float) -> None:
        """Forget idle accounts."""
        self._activity.evict(now)

    @property
    def state_size(self) -> int:
        """Accounts tracked."""
        return self._activity.state_size
