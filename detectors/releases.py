"""Recent releases by feature, to name the release suspected of a regression.

A regression is attributed to the releases that touched the regressed feature within ``lookback``
before the rise (plus a little slack after its start, since a window's first tickets can precede a
release stamped a few minutes late). Recent releases weigh more: weight = 2^(−age / ``half_life``);
a release after the rise's estimated start weighs 2^(−lead / ``slack``), since a rise that began
before it points at an earlier release.
Confidence = weight of the best release / (sum of weights + ``unexplained_weight``); the extra term is
the chance that the rise has nothing to do with any release, so a lone release long before the rise
gets low confidence and several candidates share it. No candidate → no suspect.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

__all__ = ["ReleaseIndex", "Suspect"]


class Suspect(NamedTuple):
    """The release most likely behind a rise, with a confidence in [0, 1]."""

    version: str
    time: float
    confidence: float


class ReleaseIndex:
    """Releases per feature, kept for ``lookback`` seconds of event time.

    Parameters
    ----------
    lookback
        Seconds before a rise in which a release is a candidate; older releases are forgotten.
    half_life
        Seconds after which a release's weight halves.
    unexplained_weight
        Weight of "no release caused this", which keeps confidence below 1.
    slack
        Seconds after the rise's start in which a release still counts.

    Examples
    --------
    >>> index = ReleaseIndex()
    >>> index.add_release("v1.2", 1_000.0, ["billing"])
    >>> index.add_release("v1.3", 5_000.0, ["checkout", "search"])
    >>> s = index.suspect("checkout", 5_600.0)
    >>> s.version, round(s.confidence, 2)
    ('v1.3', 0.79)
    >>> index.suspect("reports", 5_600.0) is None
    True
    """

    def __init__(
        self,
        lookback: float = 6 * 3600.0,
        half_life: float = 2 * 3600.0,
        unexplained_weight: float = 0.25,
        slack: float = 600.0,
    ):
        if not lookback > 0:
            raise ValueError(f"lookback must be > 0, got {lookback!r}")
        if not half_life > 0:
            raise ValueError(f"half_life must be > 0, got {half_life!r}")
        if not unexplained_weight >= 0:
            raise ValueError(f"unexplained_weight must be >= 0, got {unexplained_weight!r}")
        if not slack >= 0:
            raise ValueError(f"slack must be >= 0, got {slack!r}")
        self.lookback = float(lookback)
        self.half_life = float(half_life)
        self.unexplained_weight = float(unexplained_weight)
        self.slack = float(slack)
        self._by_feature: dict[str, list[tuple[float, str]]] = {}
        self._latest = float("-inf")

    def add(self, release: Any) -> None:
        """Index a ``ReleaseEvent`` (anything with ``version``, ``features`` and ``ts``)."""
        self.add_release(release.version, release.ts, release.features)

    def add_release(self, version: str, ts: float, features: list[str]) -> None:
        """Index a release; adding the same version at the same time twice is a no-op."""
        for feature in features:
            entries = self._by_feature.setdefault(feature, [])
            if (ts, version) not in entries:
                entries.append((ts, version))
                entries.sort()
        if ts > self._latest:
            self._latest = ts
            self.evict(ts - self.lookback - self.slack)

    def evict(self, before: float) -> None:
        """Forget releases older than ``before``."""
        for feature in list(self._by_feature):
            kept = [e for e in self._by_feature[feature] if e[0] >= before]
            if kept:
                self._by_feature[feature] = kept
            else:
                del self._by_feature[feature]

    def candidates(self, feature: str, started_at: float,
                   until: float | None = None) -> list[tuple[float, str]]:  # fmt: skip
        """Releases ``(time, version)`` touching ``feature`` in the lookback before ``started_at``
        (or up to ``until``, when the rise was noticed, if later: a change point estimated from noisy
        counts may come a little before the release that caused it)."""
        low, high = started_at - self.lookback, max(started_at + self.slack, until or -math.inf)
        return [e for e in self._by_feature.get(feature, ()) if low <= e[0] <= high]

    def suspect(self, feature: str, started_at: float, until: float | None = None) -> Suspect | None:
        """The most likely release behind a rise of ``feature`` that began at ``started_at`` (and was
        noticed at ``until``)."""
        found = self.candidates(feature, started_at, until)
        if not found:
            return None
        weights = [(self._weight(ts, started_at), ts, v) for ts, v in found]
        best = max(weights)
        total = sum(w for w, _, _ in weights) + self.unexplained_weight
        return Suspect(version=best[2], time=best[1], confidence=best[0] / total)

    def _weight(self, ts: float, started_at: float) -> float:
        # Before the rise: halves every ``half_life``. After its estimated start a release is a suspect
        # only within that estimate's uncertainty (``slack``): a rise that began before a release
        # points at the one before it.
        if ts <= started_at:
            return 2.0 ** (-(started_at - ts) / self.half_life)
        return 2.0 ** (-(ts - started_at) / self.slack) if self.slack > 0 else 0.0

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_feature.values())
