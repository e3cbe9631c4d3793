"""Generic seasonal series detector."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from detectors.series import SeriesAnomalyDetector

T0 = 1_772_409_600.0  # a Monday 00:00 UTC


def weekly_series(weeks=3, seed=3):
    """Hourly business-hours metric with quiet weekends and Gaussian noise."""
    rng = random.Random(seed)
    for h in range(24 * 7 * weeks):
        busy = 9 <= h % 24 < 18 and (h // 24) % 7 < 5
        yield T0 + h * 3600, (200.0 if busy else 20.0) + rng.gauss(0, 4)


def trained(**kwargs):
    det = SeriesAnomalyDetector(**kwargs)
    for point in weekly_series():
        det.learn_one(point)
    return det


def test_spike_scores_high_and_normal_points_low():
    det = trained()
    next_monday_10h = T0 + 3 * 7 * 86_400 + 10 * 3600
    assert det.score_one((next_monday_10h, 203.0)) < 0.1
    assert det.score_one((next_monday_10h, 400.0)) > 0.99
    assert det.score_one((next_monday_10h, 0.0)) > 0.99  # a drop is an anomaly too


def test_seasonality_is_respected():
    det = trained()
    saturday_10h = T0 + 3 * 7 * 86_400 + 5 * 86_400 + 10 * 3600
    assert det.score_one((saturday_10h, 200.0)) > 0.99  # a weekday level on a Saturday
    assert det.score_one((saturday_10h, 21.0)) < 0.1


def test_scores_are_in_unit_interval_and_pure():
    det = trained()
    before = pickle.dumps(det)
    scores = [det.score_one((t, v * 1.5)) for t, v in weekly_series(weeks=1, seed=9)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert pickle.dumps(det) == before


def test_works_before_learning_and_warms_up():
    det = SeriesAnomalyDetector()
    assert det.score_one((T0, 1e9)) == 0.0
    assert not det.is_warm
    for k in range(3):
        det.learn_one((T0 + k, 10.0 + k))
    assert det.is_warm
    assert det.score_one((T0, 1e6)) > 0.99  # falls back on the whole series' statistics


def test_a_few_outliers_do_not_inflate_the_baseline():
    clean, dirty = (
        SeriesAnomalyDetector(period=86_400, bins=24),
        SeriesAnomalyDetector(period=86_400, bins=24),
    )
    rng = random.Random(5)
    for h in range(24 * 30):
        value = 50 + 10 * math.sin(h / 24 * 2 * math.pi) + rng.gauss(0, 2)
        clean.learn_one((T0 + h * 3600, value))
        dirty.learn_one((T0 + h * 3600, value * (50 if h % 97 == 50 else 1)))
    probe = (T0 + 24 * 30 * 3600 + 3600, 62.0)
    assert dirty.score_one(probe) == pytest.approx(clean.score_one(probe), abs=0.2)


def test_state_is_bounded_by_bins():
    det = SeriesAnomalyDetector(period=86_400, bins=24)
    for point in weekly_series(weeks=4):
        det.learn_one(point)
    assert det.state_size == 24


@pytest.mark.parametrize("kwargs, name", [
    ({"period": 0}, "period"), ({"bins": 0}, "bins"), ({"min_count": 1}, "min_count"),
    ({"z_threshold": 5, "clip_z": 4}, "clip_z"), ({"min_std": 0}, "min_std"),
])  # fmt: skip
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SeriesAnomalyDetector(**kwargs)
