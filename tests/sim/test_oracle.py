from __future__ import annotations

import numpy as np
import pytest

from sim.intensity import TrueIntensity
from sim.oracle import calibrate_threshold, cusum, cusum_alarms, excursion_maxima, minute_counts, run_oracle

MONTH = 30 * 1440


def _seasonal_baseline(minutes: int) -> np.ndarray:
    hour = (np.arange(minutes) // 60) % 24
    return 0.01 + 0.05 * np.exp(-(((hour - 14) / 4.0) ** 2))


def test_calibrated_threshold_keeps_noise_within_the_budget():
    rng = np.random.default_rng(1)
    lam = np.tile(_seasonal_baseline(MONTH), (10, 1))  # 10 features for 30 days
    noise = rng.poisson(lam)
    h = calibrate_threshold(noise, lam, 3.0, days=30.0, budget_per_30_days=1.0)
    alarms = sum(len(cusum_alarms(cusum(x, b, 3.0), h)) for x, b in zip(noise, lam, strict=True))
    assert alarms <= 1
    lower = sum(len(cusum_alarms(cusum(x, b, 3.0), 0.5 * h)) for x, b in zip(noise, lam, strict=True))
    assert lower > alarms  # the threshold is the smallest that meets the budget, not an arbitrary one


def test_cusum_detects_a_synthetic_shift_soon_after_it_starts():
    rng = np.random.default_rng(2)
    lam = _seasonal_baseline(MONTH)
    h = calibrate_threshold(rng.poisson(np.tile(lam, (20, 1))), np.tile(lam, (20, 1)), 4.0, days=600.0)
    start = 20 * 1440 + 13 * 60  # a weekday-like afternoon
    shifted = lam.copy()
    shifted[start : start + 240] *= 4.0
    alarms = cusum_alarms(cusum(rng.poisson(shifted), lam, 4.0), h)
    during = alarms[(alarms >= start) & (alarms < start + 240)]
    assert len(during) == 1
    assert during[0] - start < 120


def test_alarms_rearm_only_after_the_statistic_returns_to_zero():
    path = np.array([0.0, 3.0, 6.0, 2.0, 7.0, 0.0, 8.0])
    assert cusum_alarms(path, 5.0).tolist() == [2, 6]
    assert excursion_maxima(path).tolist() == [7.0, 8.0]


def test_cusum_rejects_a_ratio_that_is_no_shift():
    with pytest.raises(ValueError, match="ratio"):
        cusum(np.zeros(3), np.ones(3), 1.0)


def test_oracle_on_a_simulation_reports_every_regression(small_sim):
    intensity = TrueIntensity(small_sim.world, small_sim.plan)
    t = small_sim.tickets
    observed = minute_counts(t["ts"], t["feature"], len(small_sim.world.features),
                             small_sim.config.start_ts, small_sim.config.hours * 60)
    assert observed.sum() == len(t["ts"])
    results = run_oracle(intensity, observed, replicas=2, seed=1)
    regressions = small_sim.labels.of_kind("regression")
    assert [r.feature for r in results] == [i.feature for i in regressions]
    assert all(r.ratio > 1.0 and r.threshold > 0 for r in results)
    assert all(r.latency_s is None or 0 < r.latency_s <= i.end - i.start
               for r, i in zip(results, regressions, strict=True))
