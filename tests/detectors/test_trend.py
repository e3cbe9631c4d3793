"""Robust trend and the per-account growth window."""

from __future__ import annotations

from detectors.trend import UsageGrowth, robust_trend


def test_window_keeps_the_newest_days_in_order():
    g = UsageGrowth(window=3)
    g.start(0)
    for v in (1.0, 2.0, 3.0, 4.0):
        g.push(0, v)
    assert g.ordered(0) == [2.0, 3.0, 4.0]


def test_a_restarted_row_is_empty_and_other_rows_are_untouched():
    g = UsageGrowth(window=3)
    g.start(1)
    g.start(0)
    for v in (1.0, 2.0):
        g.push(0, v)
        g.push(1, 10 * v)
    g.tickets[0], g.alerted[0] = 3.0, 1
    g.start(0)
    assert g.ordered(0) == [] and g.tickets[0] == 0.0 and not g.alerted[0]
    assert g.ordered(1) == [10.0, 20.0] and len(g.n) == 2


def test_steady_rise_has_a_high_trend_statistic_and_noise_does_not():
    _, rising = robust_trend([float(i) for i in range(14)])
    _, flat = robust_trend([1.0, 1.2, 0.9, 1.1, 1.0, 0.95, 1.05, 1.0])
    assert rising >= 3.0 and abs(flat) < 2.0
