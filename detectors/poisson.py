"""Count-aware upper tails for sparse ticket counts.

Tickets per feature per few minutes are small integers, mostly zero, so a Gaussian z-score is wrong
exactly where it matters. These helpers give P(X ≥ k) for a Poisson or a negative-binomial (Poisson with
gamma-distributed rate, i.e. extra variance from an uncertain baseline) and the score −log10 of it,
computed with :mod:`scipy.special` and falling back on a log-space bound when the tail underflows.
"""

from __future__ import annotations

import math

from scipy import special

__all__ = ["negbin_sf", "poisson_sf", "tail_score"]

_MIN_MEAN = 1e-9


def poisson_sf(k: float, mean: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mean).

    Examples
    --------
    >>> poisson_sf(0, 2.0)
    1.0
    >>> round(poisson_sf(1, 2.0), 4)  # 1 - exp(-2)
    0.8647
    """
    if k <= 0:
        return 1.0
    return float(special.pdtrc(math.ceil(k) - 1, max(mean, _MIN_MEAN)))


def negbin_sf(k: float, mean: float, dispersion: float) -> float:
    """P(X ≥ k) for a negative binomial with this mean and variance ``mean + dispersion * mean**2``.

    ``dispersion=0`` is the Poisson.

    Examples
    --------
    >>> negbin_sf(3, 1.0, 0.0) == poisson_sf(3, 1.0)
    True
    >>> negbin_sf(10, 2.0, 0.2) > poisson_sf(10, 2.0)  # heavier tail
    True
    """
    if k <= 0:
        return 1.0
    mean = max(mean, _MIN_MEAN)
    if dispersion <= 0:
        return poisson_sf(k, mean)
    size = 1.0 / dispersion
    p = size / (size + mean)
    return float(special.nbdtrc(math.ceil(k) - 1, size, p))


def _log10_poisson_tail_bound(k: int, mean: float) -> float:
    # log10 P(X >= k) ~ log10 pmf(k) + log10(1 / (1 - mean / (k + 1))) for k > mean, accurate in the far tail.
    log_pmf = k * math.log(mean) - mean - special.gammaln(k + 1)
    ratio = mean / (k + 1)
    return (log_pmf - math.log1p(-ratio)) / math.log(10) if ratio < 1 else 0.0


def tail_score(k: float, mean: float, dispersion: float = 0.0) -> float:
    """−log10 P(X ≥ k): 0 when ``k`` is unremarkable, about 6 for a one-in-a-million count.

    Examples
    --------
    >>> tail_score(0, 3.0)
    0.0
    >>> tail_score(12, 1.0) > tail_score(6, 1.0) > 0
    True
    >>> math.isfinite(tail_score(500, 0.1))  # no underflow to infinity
    True
    """
    if k <= 0:
        return 0.0
    mean = max(mean, _MIN_MEAN)
    p = negbin_sf(k, mean, dispersion)
    if p > 1e-300:
        return max(0.0, -math.log10(p))
    # Underflow: the Poisson bound is the heavier-tail-free lower bound of the score; good enough to rank.
    return -_log10_poisson_tail_bound(math.ceil(k), mean)
