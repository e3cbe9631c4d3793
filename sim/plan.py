"""The incident plan: releases and the labelled incidents injected into a simulated world.

Nothing happens in the first :data:`sim.world.WARMUP_DAYS` days (baselines need history). Incident
kinds:

``regression``
    a release breaks one of its features: 5–30 min later tickets on it rise ×2 to ×10 for 50–90 % of
    the accounts, for 3–8 h. A labelled regression is a bad release that customers notice, so every
    one is detectable in principle: the expected evidence of the oracle (a Poisson CUSUM that knows
    the baseline and the shift, :mod:`sim.oracle`) over the first 60 % of the incident must reach
    :data:`MIN_EVIDENCE_NATS`. When the drawn feature is too quiet for the drawn size, the release's
    busiest feature takes the regression, and failing that the next larger size; a release where even
    ×10 on its busiest feature stays below the bar ships benign (a small world where all do gets one
    ×10 regression on the first release that can carry it). ``size`` multiplies the affected accounts'
    tickets: the feature's rate rises by ``1 + (size − 1) × their share of its tickets`` (×2.6 to ×9
    on seeds 1–5). Small sizes on busy features take the oracle an hour or more, large ones minutes;
``benign_release``
    every other release (must not page);
``flood``
    one account files dozens of tickets on one feature within an hour or two;
``drift``
    one feature's ticket rate climbs linearly to ``size`` × over two weeks. Like a regression, a
    labelled drift must be detectable in principle within the 10 days the scorer allows: an oracle
    that knows the feature's baseline and the ramp expects ``Σ λ (r log r − r + 1)`` nats over those
    days, which must reach :data:`MIN_DRIFT_EVIDENCE_NATS`. A detector that must also learn the
    baseline share (about a week of it) and stay quiet through regressions, floods and holidays
    needs several times the oracle's alarm threshold; a feature with under ~35 tickets a weekday
    gets about 20 nats, reaches a ×1.5 share only after a week, and is found in 10–13 days. When
    the drawn feature is too quiet, the quietest feature loud enough takes the drift;
``churn``
    an account's usage falls to 10–40 % over 1–3 days and stays there; its tickets almost stop;
``expansion``
    an account's seats_used climbs towards its seat limit, usage with it;
``holiday``
    every account at 15–25 % of normal for a day;
``ingestion_gap``
    no usage events from anyone for ~6 h (tickets keep flowing);
``onboarding``
    a new account appears mid-stream and files many tickets for a few days.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from sim.world import WARMUP_DAYS, World, season

__all__ = ["MIN_EVIDENCE_NATS", "REGRESSION_SIZES", "Incident", "Plan", "Release", "plan_incidents"]

REGRESSION_SIZES = (2.0, 3.0, 5.0, 10.0)
#: Expected log-likelihood ratio (nats) a regression must give the oracle over its first 60 %.
MIN_EVIDENCE_NATS = 20.0
_H = 3600.0


@dataclasses.dataclass
class Release:
    """A deploy: version, features touched and event time (epoch seconds)."""

    version: str
    features: list[str]
    ts: float


@dataclasses.dataclass
class Incident:
    """One labelled incident; times are epoch seconds, ``details`` holds kind-specific truth."""

    kind: str
    start: float
    end: float
    feature: str | None = None
    release: str | None = None
    account_id: str | None = None
    size: float | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Plan:
    """Releases and incidents of one simulation."""

    releases: list[Release]
    incidents: list[Incident]

    def of_kind(self, kind: str) -> list[Incident]:
        """Incidents of one kind, in start order."""
        return sorted((i for i in self.incidents if i.kind == kind), key=lambda i: i.start)


def plan_incidents(world: World) -> Plan:
    """Draw releases and incidents for ``world`` (deterministic in the seed; sets the new account's
    creation hour in ``world``).

    Examples
    --------
    >>> from sim.config import SimConfig
    >>> from sim.world import build_world
    >>> w = build_world(SimConfig(seed=2, days=21, accounts=60))
    >>> plan = plan_incidents(w)
    >>> {"regression", "churn", "holiday", "ingestion_gap"} <= {i.kind for i in plan.incidents}
    True
    """
    cfg = world.config
    rng = np.random.default_rng([cfg.seed, 2])
    t0 = cfg.start_ts
    warmup = min(WARMUP_DAYS, cfg.days // 3)
    weekdays = [d for d in range(cfg.days) if d % 7 < 5]
    late_weekdays = [d for d in weekdays if d >= warmup]
    incidents: list[Incident] = []

    # Releases draw from their own stream, so a noise-only world ships the same releases.
    releases: list[Release] = []
    release_rng = np.random.default_rng([cfg.seed, 2, 0])
    minor = 0
    for day in weekdays:
        if release_rng.random() > 0.85:
            continue
        for _ in range(int(release_rng.integers(1, 3))):
            minor += 1
            k = int(release_rng.integers(1, 4))
            touched = release_rng.choice(len(world.features), size=k, replace=False, p=world.feature_weight)
            ts = t0 + day * 24 * _H + float(release_rng.uniform(9.0, 17.0)) * _H
            releases.append(Release(f"v1.{minor}.0", [world.features[i] for i in sorted(touched)], ts))
    releases.sort(key=lambda r: r.ts)

    holiday_day = gap_day = -1
    if cfg.incidents and len(late_weekdays) >= 4:
        middle = [d for d in late_weekdays if cfg.days * 0.4 <= d <= cfg.days * 0.7] or late_weekdays
        holiday_day = int(rng.choice(middle))
        others = [d for d in late_weekdays if abs(d - holiday_day) > 1]
        gap_day = int(rng.choice(others)) if others else -1
        level = float(rng.uniform(0.15, 0.25))
        incidents.append(Incident("holiday", t0 + holiday_day * 24 * _H, t0 + (holiday_day + 1) * 24 * _H,
                                  size=level))  # fmt: skip
        if gap_day >= 0:
            gap_start = t0 + gap_day * 24 * _H + float(rng.uniform(8.0, 13.0)) * _H
            incidents.append(Incident("ingestion_gap", gap_start, gap_start + 6 * _H, size=6.0))
        releases = [r for r in releases if (r.ts - t0) // (24 * _H) != holiday_day]  # nobody ships

    regression_releases: set[str] = set()
    if cfg.incidents:
        quiet = {holiday_day, gap_day}
        last = t0 + (cfg.days - 1) * 24 * _H
        candidates = [r for r in releases if warmup <= (r.ts - t0) // (24 * _H) and r.ts < last
                      and (r.ts - t0) // (24 * _H) not in quiet]  # fmt: skip
        n_regressions = min(len(candidates), max(1, round(cfg.days / 5)))
        chosen: list[Release] = []
        order = [candidates[int(r)] for r in rng.permutation(len(candidates))]
        for rel in order:
            if all(abs(rel.ts - c.ts) > 30 * _H for c in chosen):
                chosen.append(rel)
            if len(chosen) == n_regressions:
                break
        sizes = rng.permutation(np.resize(REGRESSION_SIZES, len(chosen)))
        chosen.sort(key=lambda r: r.ts)
        regressions = [_regression(world, rng, rel, float(s)) for rel, s in zip(chosen, sizes, strict=True)]
        if order and not any(regressions):
            # A small world where every drawn regression was too quiet: the first release that can
            # carry the largest size does.
            regressions = [next(filter(None, (_regression(world, rng, rel, max(REGRESSION_SIZES))
                                              for rel in order)), None)]  # fmt: skip
        for incident in filter(None, regressions):
            incidents.append(incident)
            regression_releases.add(incident.release)
    for rel in releases:
        if rel.version not in regression_releases:
            incidents.append(Incident("benign_release", rel.ts, rel.ts + 6 * _H, release=rel.version,
                                      details={"features": rel.features}))  # fmt: skip

    if cfg.incidents:
        _plan_accounts(world, rng, warmup, late_weekdays, incidents)
    incidents.sort(key=lambda i: (i.start, i.kind))
    return Plan(releases=releases, incidents=incidents)


def _regression(world: World, rng: np.random.Generator, rel: Release, size: float) -> Incident | None:
    """A regression of ``rel`` of about ``size``, on a feature loud enough for it (None if none is)."""
    start = rel.ts + float(rng.uniform(5.0, 30.0)) * 60
    end = start + float(rng.uniform(3.0, 8.0)) * _H
    share = float(rng.uniform(0.5, 0.9))
    affected = np.flatnonzero(rng.random(world.n_accounts - 1) < share)
    drawn = rel.features[int(rng.integers(len(rel.features)))]
    busiest = max(rel.features, key=lambda f: world.feature_weight[world.features.index(f)])
    volume = _ticket_volume(world)
    q = float(volume[affected].sum() / volume[:-1].sum())  # affected accounts' share of tickets
    options = [(drawn, size)] + [(busiest, float(s)) for s in REGRESSION_SIZES if s >= size]
    fair = [(f, s) for f, s in options if _evidence(world, f, q, s, start, end) >= MIN_EVIDENCE_NATS]
    if not fair:
        return None  # too quiet a feature for any size: the release ships benign
    feature, size = fair[0]
    return Incident("regression", start, end, feature=feature, release=rel.version, size=size,
                    details={"affected_share": share, "affected": affected.tolist()})  # fmt: skip


def _ticket_volume(world: World) -> np.ndarray:
    """Relative ticket rate of every account (all features, before season)."""
    return world.ticket_scale * world.seats_used * world.engagement * world.propensity


def _evidence(world: World, feature: str, affected_share: float, size: float, start: float,
              end: float) -> float:  # fmt: skip
    """Expected log-likelihood ratio (nats) of a ``size``× regression over its first 60 %.

    The affected accounts carry ``affected_share`` of the feature's tickets, so the feature's rate
    rises by ``r = 1 + (size − 1) × affected_share``; a Poisson CUSUM tuned to ``r`` gains
    ``λ0 (r log r − r + 1)`` per unit time on average.
    """
    cfg = world.config
    r = 1.0 + (size - 1.0) * affected_share
    per_hour = world.feature_weight[world.features.index(feature)] * _ticket_volume(world)[:-1].sum()
    t, stop, total = start, start + 0.6 * (end - start), 0.0
    while t < stop:
        hour = int((t - cfg.start_ts) // _H)
        step = min(stop, cfg.start_ts + (hour + 1) * _H) - t
        total += per_hour * float(season(np.array([hour]))[0]) * step / _H * (r * np.log(r) - r + 1.0)
        t += step
    return total


#: Expected log-likelihood ratio (nats) a drift must give an oracle over its first 10 days.
MIN_DRIFT_EVIDENCE_NATS = 30.0


def _plan_accounts(world: World, rng: np.random.Generator, warmup: int, late_weekdays: list[int],
                   incidents: list[Incident]) -> None:  # fmt: skip
    cfg = world.config
    t0, end = cfg.start_ts, cfg.start_ts + cfg.days * 24 * _H
    n_old = world.n_accounts - 1
    order = rng.permutation(n_old)
    n_churn = max(2, round(0.03 * n_old))
    n_expand = max(2, round(0.02 * n_old))
    churners = order[:n_churn]
    expanders = [int(a) for a in order[n_churn:] if world.seats[a] >= 5][:n_expand]
    last_start = max(warmup + 1, cfg.days - 4)
    for a in churners:
        start = t0 + float(rng.uniform(warmup + 1, last_start)) * 24 * _H
        decline = float(rng.uniform(1.0, 3.0)) * 24 * _H
        incidents.append(Incident("churn", start, start + decline, account_id=world.account_id[a],
                                  size=float(rng.uniform(0.1, 0.4)),
                                  details={"account": int(a)}))  # fmt: skip
    for a in expanders:
        start = t0 + float(rng.uniform(warmup, max(warmup + 1, cfg.days / 2))) * 24 * _H
        # Expanders start well below their limit and climb to ~95 % of their seats by the end.
        first = max(1, int(world.seats[a] * 0.45))
        world.seats_used[a] = first
        target = max(first + 1, round(int(world.seats[a]) * 0.95))
        incidents.append(Incident("expansion", start, end, account_id=world.account_id[a],
                                  size=target / first, details={"account": a, "target": target}))  # fmt: skip

    busy = [d for d in late_weekdays if d < cfg.days - 1]
    flooders = [int(a) for a in order[n_churn:] if int(a) not in set(expanders)]
    for k in range(max(1, cfg.days // 10)):
        day = int(rng.choice(busy))
        start = t0 + day * 24 * _H + float(rng.uniform(9.0, 16.0)) * _H
        a = int(flooders[k % len(flooders)])
        f = world.features[int(rng.integers(len(world.features)))]
        incidents.append(Incident("flood", start, start + float(rng.uniform(1.0, 2.0)) * _H, feature=f,
                                  account_id=world.account_id[a], size=float(rng.integers(24, 61)),
                                  details={"account": a}))  # fmt: skip

    drift_start = t0 + (warmup + 1) * 24 * _H + float(rng.uniform(0, 2)) * 24 * _H
    drift_end = min(end, drift_start + 14 * 24 * _H)
    f = int(rng.choice(len(world.features), p=world.feature_weight))
    loud = [g for g in np.argsort(world.feature_weight)
            if _drift_evidence(world, int(g), drift_start, 10.0) >= MIN_DRIFT_EVIDENCE_NATS]  # fmt: skip
    if loud and f not in loud:
        f = int(next((g for g in loud if world.feature_weight[g] >= world.feature_weight[f]), loud[-1]))
    incidents.append(Incident("drift", drift_start, drift_end, feature=world.features[f], size=2.0,
                              details={"feature_index": f}))  # fmt: skip

    new = world.n_accounts - 1
    day = int(rng.choice([d for d in late_weekdays if d <= max(warmup + 2, cfg.days - 5)] or [warmup]))
    hour = day * 24 + int(rng.integers(9, 12))
    world.created_hour[new] = hour
    setup = rng.choice(len(world.features), size=2, replace=False)
    incidents.append(Incident("onboarding", t0 + hour * _H, t0 + (hour + 96) * _H,
                              account_id=world.account_id[new], size=10.0,
                              details={"account": new, "features": [world.features[i] for i in setup],
                                       "feature_index": setup.tolist()}))  # fmt: skip


def _drift_evidence(world: World, feature: int, start: float, days: float, size: float = 2.0) -> float:
    """Expected log-likelihood ratio (nats) of the first ``days`` of a drift to ``size`` × in two weeks.

    Examples
    --------
    >>> from sim.config import SimConfig
    >>> from sim.world import build_world
    >>> w = build_world(SimConfig(seed=4, days=35))  # draws a feature too quiet for a drift
    >>> (drift,) = plan_incidents(w).of_kind("drift")
    >>> _drift_evidence(w, drift.details["feature_index"], drift.start, 10.0) >= MIN_DRIFT_EVIDENCE_NATS
    True
    """
    cfg = world.config
    per_hour = world.feature_weight[feature] * _ticket_volume(world)[:-1].sum()
    h0 = (start - cfg.start_ts) / _H
    hours = np.arange(int(h0), int(h0 + days * 24))
    r = 1.0 + np.clip((hours + 0.5 - h0) / (14 * 24), 0.0, 1.0) * (size - 1.0)
    return float((per_hour * season(hours) * (r * np.log(r) - r + 1.0)).sum())
