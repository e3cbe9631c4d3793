"""Robust trend and the per-account growth window."""

from __future__ import annotations

from detectors.trend import UsageGrowth, robust_trend


def test_window_keeps_the_newest_days_in_order():
    g = UsageGrowth(window=3)
    for v in (1.0, 2.0, 3.0, 4.0):
        g.push(v)
    assert g.ordered() == [2.0, 3.0, 4.0]


def test_steady_rise_has_a_high_trend_statistic_and_noise_does_not():
    _, rising = robust_trend([float(i) for i in range(14)])
    _, flat = robust_trend([1.0, 1.2, 0.9, 1.1, 1.0, 0.95, 1.05, 1.0])
    assert rising >= 3.0 and abs(flat) < 2.0
