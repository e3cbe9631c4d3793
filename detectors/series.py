"""A generic seasonal anomaly detector for any numeric metric observed over time.

For users who want to watch another number (sign-ups, API errors, queue depth...): each observation
``(t, value)`` falls in one of ``bins`` slots of a ``period`` (hour of week by default), and each slot
keeps River's online mean and variance. The score is how far a value sits from its slot's mean, in
standard deviations beyond ``z_threshold``, squashed into [0, 1). A value far outside its slot is
clipped before it is learnt, so a few outliers do not inflate the baseline they are judged against.
"""

from __future__ import annotations

import math

from river import stats

from detectors.base import Detector

__all__ = ["SeriesAnomalyDetector"]


class SeriesAnomalyDetector(Detector):
    """Seasonal online z-score of a numeric series, scored in [0, 1).

    Parameters
    ----------
    period
        Length of the season in seconds (a week by default).
    bins
        Slots per period (168 = hour of week); each slot has its own mean and variance.
    min_count
        Observations a slot needs before it is used; until then the whole series' statistics are.
    z_threshold
        Deviations (in standard deviations) up to this score 0: ordinary noise is not an anomaly.
    clip_z
        Learnt values are clipped to the slot's mean ± ``clip_z`` standard deviations (robustness).
    min_std
        Floor of the standard deviation, so a perfectly flat slot does not turn any wiggle into 1.

    Examples
    --------
    Hourly values with a daily cycle; a spike scores near 1, an ordinary value near 0.

    >>> import math, random
    >>> rng = random.Random(1)
    >>> det = SeriesAnomalyDetector(period=86_400, bins=24)
    >>> t0 = 1_772_409_600.0
    >>> for h in range(24 * 21):
    ...     value = 100 + 40 * math.sin(2 * math.pi * h / 24) + rng.gauss(0, 5)
    ...     det.learn_one((t0 + h * 3600, value))
    >>> noon = t0 + 21 * 86_400 + 6 * 3600  # the daily peak, about 140
    >>> det.score_one((noon, 141.0)) < 0.05
    True
    >>> det.score_one((noon, 220.0)) > 0.99
    True
    >>> det.score_one((noon + 12 * 3600, 141.0)) > 0.99  # 141 at the daily trough is anomalous
    True
    """

    observation_kind = "series"

    def __init__(
        self,
        period: float = 7 * 86_400.0,
        bins: int = 168,
        min_count: int = 3,
        z_threshold: float = 2.0,
        clip_z: float = 4.0,
        min_std: float = 1e-6,
    ):
        if not period > 0:
            raise ValueError("period must be > 0")
        if bins < 1:
            raise ValueError("bins must be >= 1")
        if min_count < 2:
            raise ValueError("min_count must be >= 2")
        if z_threshold < 0:
            raise ValueError("z_threshold must be >= 0")
        if not clip_z > z_threshold:
            raise ValueError("clip_z must be > z_threshold")
        if not min_std > 0:
            raise ValueError("min_std must be > 0")
        self.period = period
        self.bins = bins
        self.min_count = min_count
        self.z_threshold = z_threshold
        self.clip_z = clip_z
        self.min_std = min_std
        self._slots: dict[int, stats.Var] = {}
        self._all = stats.Var()

    def _slot(self, t: float) -> int:
        return int((t % self.period) / self.period * self.bins) % self.bins

    def _reference(self, t: float) -> stats.Var | None:
        var = self._slots.get(self._slot(t))
        if var is not None and var.mean.n >= self.min_count:
            return var
        return self._all if self._all.mean.n >= self.min_count else None

    def _z(self, var: stats.Var, value: float) -> float:
        std = max(math.sqrt(max(var.get(), 0.0)), self.min_std)
        return (value - var.mean.get()) / std

    def learn_one(self, x: tuple[float, float]) -> None:
        t, value = x
        value = float(value)
        for var in (self._slots.setdefault(self._slot(t), stats.Var()), self._all):
            if var.mean.n >= self.min_count:
                std = max(math.sqrt(max(var.get(), 0.0)), self.min_std)
                mean = var.mean.get()
                var.update(min(max(value, mean - self.clip_z * std), mean + self.clip_z * std))
            else:
                var.update(value)

    def score_one(self, x: tuple[float, float]) -> float:
        t, value = x
        var = self._reference(t)
        if var is None:
            return 0.0
        excess = max(0.0, abs(self._z(var, float(value))) - self.z_threshold)
        return 1.0 - math.exp(-0.5 * excess * excess)

    @property
    def is_warm(self) -> bool:
        return self._all.mean.n >= self.min_count

    @property
    def state_size(self) -> int:
        return len(self._slots)
