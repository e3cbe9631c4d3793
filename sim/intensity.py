"""The true ticket intensity of a simulated world, rebuilt from its configuration.

The oracle needs what no real detector has: the exact expected ticket rate per feature at every
minute, with and without the regressions. :class:`TrueIntensity` computes it from the same code the
simulator samples from (:mod:`sim.activity`).
"""

from __future__ import annotations

import numpy as np

from sim.activity import account_hours, feature_multiplier, onboarding_boost
from sim.config import SimConfig
from sim.plan import Plan, plan_incidents
from sim.world import World, build_world

__all__ = ["TrueIntensity"]

_H = 3600.0
_ALL_KINDS = frozenset({"regression", "flood", "drift", "churn", "expansion", "holiday", "onboarding"})
_CHUNK = 2000


class TrueIntensity:
    """Expected tickets per feature over time.

    Parameters
    ----------
    world, plan
        The world and incident plan (as built by :func:`sim.world.build_world` and
        :func:`sim.plan.plan_incidents`).

    Examples
    --------
    >>> ti = TrueIntensity.from_config(SimConfig(seed=4, days=14, accounts=60))
    >>> reg = ti.plan.of_kind("regression")[0]
    >>> t = reg.start + 60
    >>> ti.true_ticket_rate(reg.feature, t) > ti.true_ticket_rate(reg.feature, t, incidents=False)
    True
    >>> ti.minute_counts(reg.feature).shape
    (20160,)
    """

    def __init__(self, world: World, plan: Plan):
        self.world = world
        self.plan = plan
        cfg = world.config
        self._t0 = cfg.start_ts
        self._feature = {f: i for i, f in enumerate(world.features)}
        self._hourly = self._feature_hours(frozenset())
        self._hourly_quiet = self._feature_hours(_ALL_KINDS)
        # Regression extras: tickets per hour from the affected accounts, over the whole stream.
        self._regressions = []
        drift = feature_multiplier(world, plan)
        for inc in plan.of_kind("regression"):
            f = self._feature[inc.feature]
            affected = np.asarray(inc.details["affected"], dtype=np.int64)
            base = np.zeros(cfg.hours)
            for lo in range(0, len(affected), _CHUNK):
                base += account_hours(world, plan, affected[lo : lo + _CHUNK]).ticket_rate.sum(axis=0)
            extra = (inc.size - 1.0) * base * world.feature_weight[f] * drift[f]
            self._regressions.append((inc, f, extra))

    @classmethod
    def from_config(cls, config: SimConfig) -> TrueIntensity:
        """Rebuild the world and plan of ``config`` (deterministic in its seed)."""
        world = build_world(config)
        return cls(world, plan_incidents(world))

    def _feature_hours(self, exclude: frozenset[str]) -> np.ndarray:
        world, cfg = self.world, self.world.config
        total = np.zeros(cfg.hours)
        for lo in range(0, world.n_accounts, _CHUNK):
            index = np.arange(lo, min(lo + _CHUNK, world.n_accounts))
            total += account_hours(world, self.plan, index, exclude).ticket_rate.sum(axis=0)
        rates = world.feature_weight[:, None] * feature_multiplier(world, self.plan, exclude) * total
        boost = None if "onboarding" in exclude else onboarding_boost(world, self.plan)
        if boost is not None:
            extra, setup = boost
            for f in setup:
                rates[f] += extra / len(setup)
        return rates

    def _extras(self, f: int, minutes: np.ndarray, kinds: frozenset[str]) -> np.ndarray:
        """Expected tickets per minute from regressions and floods at minute indices ``minutes``."""
        out = np.zeros(len(minutes), dtype=float)
        t = self._t0 + (minutes + 0.5) * 60.0
        if "regression" in kinds:
            for inc, g, extra in self._regressions:
                if g == f:
                    on = (t >= inc.start) & (t < inc.end)
                    out[on] += extra[(minutes[on] // 60)] / 60.0
        if "flood" in kinds:
            for inc in self.plan.of_kind("flood"):
                if self._feature[inc.feature] == f:
                    on = (t >= inc.start) & (t < inc.end)
                    out[on] += inc.size / ((inc.end - inc.start) / 60.0)
        return out

    def true_ticket_rate(self, feature: str, t: float, incidents: bool = True) -> float:
        """Expected tickets per hour on ``feature`` at epoch second ``t`` (0 outside the stream)."""
        minute = int((t - self._t0) // 60)
        if not 0 <= minute < self.world.config.hours * 60:
            return 0.0
        f = self._feature[feature]
        if not incidents:
            return float(self._hourly_quiet[f, minute // 60])
        extra = self._extras(f, np.array([minute]), frozenset({"regression", "flood"}))[0]
        return float(self._hourly[f, minute // 60] + extra * 60.0)

    def minute_counts(self, feature: str, exclude: tuple[str, ...] = ()) -> np.ndarray:
        """Expected tickets in every minute of the stream on ``feature``.

        ``exclude`` leaves out short incidents (``"regression"``, ``"flood"``); ``"all"`` gives the
        world without any incident.
        """
        f = self._feature[feature]
        minutes = np.arange(self.world.config.hours * 60)
        if "all" in exclude:
            return np.repeat(self._hourly_quiet[f] / 60.0, 60)
        base = np.repeat(self._hourly[f] / 60.0, 60)
        return base + self._extras(f, minutes, frozenset({"regression", "flood"}) - set(exclude))

    def regression_minute_counts(self, incident_index: int) -> np.ndarray:
        """Expected extra tickets in every minute of the stream from regression ``incident_index`` alone."""
        inc, _f, extra = self._regressions[incident_index]
        minutes = np.arange(self.world.config.hours * 60)
        t = self._t0 + (minutes + 0.5) * 60.0
        on = (t >= inc.start) & (t < inc.end)
        out = np.zeros(len(minutes), dtype=float)
        out[on] = extra[minutes[on] // 60] / 60.0
        return out

    def incident_ratio(self, incident_index: int) -> float:
        """Mean ratio of the true rate with to without regression ``incident_index`` over its span."""
        inc, f, extra = self._regressions[incident_index]
        lo = int((inc.start - self._t0) // 60)
        hi = max(lo + 1, int((inc.end - self._t0) // 60))
        base = np.repeat(self._hourly[f] / 60.0, 60)[lo:hi]
        return float(1.0 + (np.repeat(extra / 60.0, 60)[lo:hi]).sum() / max(base.sum(), 1e-12))
