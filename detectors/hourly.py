"""What each account was expected to use in one closed hour, judged against its peers in that hour.

An account's expected usage in an hour is its own daily *level* (from :mod:`detectors.peers`) times the
hour's *peer factor*: the level-weighted median, over the warm accounts of its tier, of ``usage / level``
in that same hour. The factor carries everything the accounts share (time of day, weekday, a holiday,
a company-wide dip, an upstream gap), so none of it makes one account look low; an hour in which the
peers sent nothing at all (a gap, or an hour between pre-aggregated counts) has no factor and is not
evidence. A weighted median rather than a ratio of sums keeps one huge account's burst from making
everyone else look quiet.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.peers import PeerBaselines

__all__ = ["hour_expectations", "hour_factors", "weighted_median"]


def weighted_median(pairs: list[tuple[float, float]]) -> float:
    """Median of ``(value, weight)`` pairs: the smallest value holding half the total weight.

    >>> weighted_median([(1.0, 1.0), (2.0, 1.0), (10.0, 5.0)])
    10.0
    >>> weighted_median([(0.5, 2.0), (1.0, 1.0), (4.0, 1.0)])
    0.5
    >>> weighted_median([])
    0.0
    """
    total = sum(w for _, w in pairs)
    if total <= 0:
        return 0.0
    acc = 0.0
    for value, weight in sorted(pairs):
        acc += weight
        if acc >= 0.5 * total:
            return value
    return pairs[-1][0]  # pragma: no cover - rounding only


def hour_factors(rows: Iterable[tuple[str, float, float]], min_peers: int) -> dict[str, float]:
    """Peer factor of every tier (key ``""`` for the whole base) from ``(tier, level, usage)`` rows.

    Tiers with fewer than ``min_peers`` warm accounts get the whole base's factor.

    >>> rows = [("pro", 100.0, 10.0), ("pro", 50.0, 5.0), ("pro", 10.0, 0.0), ("free", 20.0, 4.0)]
    >>> hour_factors(rows, min_peers=3)
    {'pro': 0.1, '': 0.1, 'free': 0.1}
    """
    per_tier: dict[str, list[tuple[float, float]]] = {}
    everyone: list[tuple[float, float]] = []
    for tier, level, usage in rows:
        pair = (usage / level, level)
        per_tier.setdefault(tier, []).append(pair)
        everyone.append(pair)
    base = weighted_median(everyone)
    factors = {t: weighted_median(p) for t, p in per_tier.items() if len(p) >= min_peers}
    factors[""] = base
    for tier in per_tier:
        factors.setdefault(tier, base)
    return factors


def hour_expectations(peers: PeerBaselines, usage: dict, min_history_days: int, min_peers: int
                      ) -> list[tuple[str, float, float, float]] | None:  # fmt: skip
    """``(account, expected usage, expected tickets, log variance)`` of every warm account in one hour.

    ``None`` while fewer than ``min_peers`` accounts are warm; an empty list when the peers sent nothing
    in the hour (a gap, or an hour between pre-aggregated counts), so it cannot be judged.
    """
    warm = peers.warm_levels(min_history_days)
    if len(warm) < min_peers:
        return None
    factors = hour_factors(((tier, level, usage.get(acc, 0.0)) for acc, tier, level, _, _ in warm), min_peers)
    if factors[""] <= 0.0:
        return []
    return [(acc, level * factors[tier], ticket_level * factors[tier], logvar)
            for acc, tier, level, ticket_level, logvar in warm if factors[tier] > 0.0]  # fmt: skip
