import math

import pytest
from scipy import stats

from detectors.poisson import negbin_sf, poisson_sf, tail_score


@pytest.mark.parametrize(("k", "mean"), [(1, 0.1), (3, 1.0), (10, 2.5), (40, 20.0)])
def test_poisson_tail_matches_scipy_stats(k, mean):
    assert poisson_sf(k, mean) == pytest.approx(stats.poisson.sf(k - 1, mean), rel=1e-9)


@pytest.mark.parametrize(("k", "mean", "dispersion"), [(3, 1.0, 0.1), (12, 4.0, 0.5)])
def test_negative_binomial_tail_matches_scipy_stats(k, mean, dispersion):
    size = 1 / dispersion
    expected = stats.nbinom.sf(k - 1, size, size / (size + mean))
    assert negbin_sf(k, mean, dispersion) == pytest.approx(expected, rel=1e-9)


def test_score_grows_with_the_count_and_falls_with_the_mean():
    assert tail_score(8, 1.0) > tail_score(5, 1.0) > tail_score(2, 1.0)
    assert tail_score(8, 1.0) > tail_score(8, 3.0)
    assert tail_score(8, 1.0, dispersion=0.5) < tail_score(8, 1.0)


def test_score_of_one_in_a_million_is_about_six():
    mean = 1.0
    k = next(k for k in range(1, 100) if poisson_sf(k, mean) < 1e-6)
    assert 6 <= tail_score(k, mean) < 7


def test_far_tail_does_not_overflow_and_keeps_ranking():
    small, large = tail_score(400, 0.5), tail_score(800, 0.5)
    assert math.isfinite(small) and math.isfinite(large)
    assert large > small > 300


def test_zero_count_or_zero_mean_is_handled():
    assert tail_score(0, 0.0) == 0.0
    assert tail_score(1, 0.0) > 5
