"""The oracle: a Poisson CUSUM that knows the true baseline and the true shift of each regression.

No real detector can beat it at the same false-alarm rate (CUSUM is optimal for a known change), so a
detector's latency is reported as a ratio to the oracle's. The statistic on per-minute counts ``x`` is
``S = max(0, S + x·log r − λ0·(r − 1))``; it alarms when ``S ≥ h`` and re-arms once ``S`` returns to 0
(one alarm per excursion, like one page per incident). ``h`` is set on noise-only replicas so that
alarms over all features stay within the false-page budget. Each regression's baseline is the true
rate without that regression alone: an earlier regression of the same feature is known to the oracle,
not an excursion that keeps it from alarming again.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.intensity import TrueIntensity

__all__ = [
    "OracleResult", "calibrate_threshold", "cusum", "cusum_alarms", "excursion_maxima", "minute_counts",
    "run_oracle",
]  # fmt: skip


def cusum(counts: np.ndarray, baseline: np.ndarray, ratio: float) -> np.ndarray:
    """Poisson CUSUM path (no reset) of ``counts`` against ``baseline`` for a ``ratio``× shift.

    Examples
    --------
    >>> s = cusum(np.array([0, 5, 5, 0]), np.full(4, 1.0), 3.0)
    >>> [round(float(v), 2) for v in s]
    [0.0, 3.49, 6.99, 4.99]
    """
    if ratio <= 1.0:
        raise ValueError(f"ratio must be > 1, got {ratio!r}")
    z = np.asarray(counts, dtype=float) * np.log(ratio) - np.asarray(baseline, dtype=float) * (ratio - 1.0)
    walk = np.cumsum(z)
    return walk - np.minimum(np.minimum.accumulate(walk), 0.0)


def cusum_alarms(path: np.ndarray, threshold: float) -> np.ndarray:
    """Indices where ``path`` first reaches ``threshold`` in each excursion above 0.

    Examples
    --------
    >>> cusum_alarms(np.array([0.0, 2.0, 5.0, 6.0, 0.0, 5.0]), 4.0).tolist()
    [2, 5]
    """
    above = np.flatnonzero(path >= threshold)
    if len(above) == 0:
        return above
    excursion = np.cumsum(path <= 0.0)[above]
    _, first = np.unique(excursion, return_index=True)
    return above[first]


def excursion_maxima(path: np.ndarray) -> np.ndarray:
    """Maximum of every excursion of a CUSUM path above 0.

    Examples
    --------
    >>> excursion_maxima(np.array([0.0, 2.0, 5.0, 0.0, 1.0])).tolist()
    [5.0, 1.0]
    """
    starts = np.flatnonzero((path > 0) & (np.concatenate(([0.0], path[:-1])) <= 0))
    if len(starts) == 0:
        return np.zeros(0)
    return np.maximum.reduceat(path, starts)


def calibrate_threshold(noise: np.ndarray, baseline: np.ndarray, ratio: float, days: float,
                        budget_per_30_days: float = 1.0) -> float:  # fmt: skip
    """Smallest threshold with at most ``budget_per_30_days`` alarms per 30 days on noise.

    ``noise`` and ``baseline`` are (series, minutes) arrays: noise-only counts of every feature over
    several replicas, and their true expected counts; ``days`` is the total length covered by one
    row of every feature, i.e. (number of replicas × days per replica).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lam = np.full((20, 30 * 1440), 0.02)  # one feature, 20 replicas of 30 days
    >>> h = calibrate_threshold(rng.poisson(lam), lam, 3.0, days=20 * 30.0)
    >>> fresh = rng.poisson(lam)
    >>> 5 <= sum(len(cusum_alarms(cusum(x, l, 3.0), h)) for x, l in zip(fresh, lam)) <= 40
    True
    """
    maxima = np.sort(np.concatenate([excursion_maxima(cusum(x, lam, ratio))
                                     for x, lam in zip(noise, baseline, strict=True)]))[::-1]  # fmt: skip
    allowed = int(np.floor(budget_per_30_days * days / 30.0))
    if allowed >= len(maxima):
        return float(np.log(ratio))  # fewer excursions than the budget: any excursion may alarm
    return float(np.nextafter(maxima[allowed], np.inf))


@dataclasses.dataclass
class OracleResult:
    """The oracle's verdict on one regression."""

    feature: str
    release: str | None
    size: float
    ratio: float
    threshold: float
    latency_s: float | None

    @property
    def detected(self) -> bool:
        """True when the oracle alarmed during the incident."""
        return self.latency_s is not None


def minute_counts(ticket_ts: np.ndarray, ticket_feature: np.ndarray, n_features: int, start: float,
                  minutes: int) -> np.ndarray:  # fmt: skip
    """Observed (de-duplicated) tickets per feature and minute, shape (features, minutes)."""
    minute = ((np.asarray(ticket_ts) - start) // 60).astype(np.int64)
    keep = (minute >= 0) & (minute < minutes)
    flat = np.asarray(ticket_feature, dtype=np.int64)[keep] * minutes + minute[keep]
    return np.bincount(flat, minlength=n_features * minutes).reshape(n_features, minutes)


def run_oracle(intensity: TrueIntensity, observed: np.ndarray, replicas: int = 8, seed: int = 0,
               budget_per_30_days: float = 1.0) -> list[OracleResult]:  # fmt: skip
    """The oracle's latency for every regression of ``intensity``'s plan.

    ``observed`` holds the stream's tickets per feature and minute (see :func:`minute_counts`). Noise
    replicas are drawn from the world without incidents.
    """
    world = intensity.world
    rng = np.random.default_rng([seed, 7])
    quiet = np.stack([intensity.minute_counts(f, exclude=("all",)) for f in world.features])
    baseline = np.tile(quiet, (replicas, 1))
    noise = rng.poisson(baseline)
    days = replicas * world.config.days
    results = []
    for k, inc in enumerate(intensity.plan.of_kind("regression")):
        ratio = intensity.incident_ratio(k)
        h = calibrate_threshold(noise, baseline, ratio, days, budget_per_30_days)
        f = world.features.index(inc.feature)
        # The baseline is everything but this regression: another regression of the same feature
        # days earlier is part of what the oracle knows, or its excess would hold one long excursion
        # open until this one and the oracle (one alarm per excursion) could not alarm again.
        lam0 = intensity.minute_counts(inc.feature) - intensity.regression_minute_counts(k)
        alarms = cusum_alarms(cusum(observed[f], lam0, ratio), h)
        # An alarm at minute m is raised when minute m closes.
        alarm_ts = world.config.start_ts + (alarms + 1) * 60.0
        during = alarm_ts[(alarm_ts > inc.start) & (alarm_ts <= inc.end)]
        latency = float(during[0] - inc.start) if len(during) else None
        results.append(OracleResult(inc.feature, inc.release, float(inc.size), ratio, h, latency))
    return results
