"""Hour-by-hour activity, seats used and ticket rate of accounts, with the plan's incidents applied.

This is the single place where incidents change the world's intensity, so the simulator (which draws
events from it) and the true intensity used by the oracle (which integrates it) cannot disagree.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.plan import Plan
from sim.world import World, season

__all__ = ["AccountHours", "account_hours", "feature_multiplier", "onboarding_boost"]

_H = 3600.0


@dataclasses.dataclass
class AccountHours:
    """Arrays of shape (accounts, hours) for a set of accounts."""

    index: np.ndarray
    activity: np.ndarray
    seats_used: np.ndarray
    ticket_rate: np.ndarray


def _ramp(hours_mid: np.ndarray, start_h: float, end_h: float) -> np.ndarray:
    """0 before ``start_h``, 1 after ``end_h``, linear in between."""
    span = max(end_h - start_h, 1e-9)
    return np.clip((hours_mid - start_h) / span, 0.0, 1.0)


def account_hours(world: World, plan: Plan, index: np.ndarray, exclude: frozenset[str] = frozenset()
                  ) -> AccountHours:  # fmt: skip
    """Activity, seats used and (all-feature, pre-regression) ticket rate per hour of accounts ``index``.

    ``exclude`` names incident kinds to leave out (e.g. everything, for the noise-only intensity).

    Examples
    --------
    >>> from sim.config import SimConfig
    >>> from sim.plan import plan_incidents
    >>> from sim.world import build_world
    >>> w = build_world(SimConfig(seed=1, days=14, accounts=60))
    >>> p = plan_incidents(w)
    >>> ah = account_hours(w, p, np.arange(5))
    >>> ah.activity.shape
    (5, 336)
    """
    cfg = world.config
    t0 = cfg.start_ts
    hours = np.arange(cfg.hours)
    mid = hours + 0.5
    index = np.asarray(index, dtype=np.int64)
    used = np.repeat(world.seats_used[index].astype(float)[:, None], cfg.hours, axis=1)
    level = np.ones((len(index), cfg.hours))
    tickets = np.ones((len(index), cfg.hours))
    position = {int(a): k for k, a in enumerate(index)}

    for inc in plan.incidents:
        if inc.kind in exclude:
            continue
        a = inc.details.get("account")
        k = position.get(int(a)) if a is not None else None
        start_h, end_h = (inc.start - t0) / _H, (inc.end - t0) / _H
        if inc.kind == "churn" and k is not None:
            ramp = _ramp(mid, start_h, end_h)
            level[k] *= 1.0 - ramp * (1.0 - inc.size)
            tickets[k] *= 1.0 - ramp * 0.95  # silent churners stop writing in
        elif inc.kind == "expansion" and k is not None:
            first = float(world.seats_used[a])
            used[k] = np.round(first + _ramp(mid, start_h, end_h) * (inc.details["target"] - first))
        elif inc.kind == "holiday":
            level[:, (mid > start_h) & (mid < end_h)] *= inc.size

    created = world.created_hour[index]
    if "onboarding" in exclude:
        created = np.zeros_like(created)
    alive = hours[None, :] >= created[:, None]
    activity = used * world.engagement[index][:, None] * season(hours)[None, :] * level * alive
    rate = world.ticket_scale * activity * world.propensity[index][:, None] * tickets
    return AccountHours(index=index, activity=activity, seats_used=used * alive, ticket_rate=rate)


def feature_multiplier(world: World, plan: Plan, exclude: frozenset[str] = frozenset()) -> np.ndarray:
    """Per-feature, per-hour multiplier of ticket rates (the drift), shape (features, hours)."""
    cfg = world.config
    mult = np.ones((len(world.features), cfg.hours))
    mid = np.arange(cfg.hours) + 0.5
    for inc in plan.of_kind("drift"):
        if "drift" in exclude:
            continue
        start_h, end_h = (inc.start - cfg.start_ts) / _H, (inc.end - cfg.start_ts) / _H
        mult[inc.details["feature_index"]] *= 1.0 + _ramp(mid, start_h, end_h) * (inc.size - 1.0)
    return mult


def onboarding_boost(world: World, plan: Plan) -> tuple[np.ndarray, list[int]] | None:
    """Extra ticket rate per hour of the onboarding account and its two setup features, if any.

    The account files ``size`` × its normal rate for two days, fading to normal over the next two.
    """
    for inc in plan.of_kind("onboarding"):
        a = inc.details["account"]
        ah = account_hours(world, plan, np.array([a]))
        mid = np.arange(world.config.hours) + 0.5
        start_h = (inc.start - world.config.start_ts) / _H
        fade = 1.0 - _ramp(mid, start_h + 48, start_h + 96)
        return ah.ticket_rate[0] * (inc.size - 1.0) * fade, list(inc.details["feature_index"])
    return None
