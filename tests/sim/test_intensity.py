from __future__ import annotations

import numpy as np

from sim.intensity import TrueIntensity


def test_intensity_integrates_to_the_simulated_tickets(small_sim):
    intensity = TrueIntensity(small_sim.world, small_sim.plan)
    counts = np.bincount(small_sim.tickets["feature"], minlength=len(small_sim.world.features))
    expected = np.array([intensity.minute_counts(f).sum() for f in small_sim.world.features])
    assert (np.abs(counts - expected) < 4 * np.sqrt(expected) + 2).all()


def test_holiday_drift_and_regressions_move_the_true_rate(small_sim):
    intensity = TrueIntensity(small_sim.world, small_sim.plan)
    (holiday,) = small_sim.labels.of_kind("holiday")
    feature = small_sim.world.features[0]
    noon = holiday.start + 13 * 3600
    week = 7 * 86400
    assert intensity.true_ticket_rate(feature, noon) < 0.3 * intensity.true_ticket_rate(feature, noon - week)
    (drift,) = small_sim.labels.of_kind("drift")
    end = drift.end - 3600
    assert intensity.true_ticket_rate(drift.feature, end) > 1.5 * intensity.true_ticket_rate(
        drift.feature, end, incidents=False)
    for k, reg in enumerate(small_sim.labels.of_kind("regression")):
        assert 1.0 < intensity.incident_ratio(k) <= reg.size
        mid = (reg.start + reg.end) / 2
        without = intensity.minute_counts(reg.feature, exclude=("regression",))
        assert intensity.minute_counts(reg.feature)[int((mid - small_sim.config.start_ts) // 60)] > without[
            int((mid - small_sim.config.start_ts) // 60)]
    assert intensity.true_ticket_rate(feature, small_sim.config.start_ts - 1) == 0.0
