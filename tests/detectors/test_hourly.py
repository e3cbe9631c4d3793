"""Hourly peer factors and expected usage per account."""

from __future__ import annotations

from detectors.hourly import hour_expectations, hour_factors, weighted_median
from detectors.peers import PeerBaselines


def test_weighted_median_ignores_one_huge_outlier():
    pairs = [(1.0, 10.0)] * 9 + [(50.0, 10.0)]
    assert weighted_median(pairs) == 1.0


def test_a_holiday_lowers_every_tier_factor_together():
    rows = [("pro", 100.0, 20.0), ("pro", 50.0, 10.0), ("free", 10.0, 2.0), ("free", 20.0, 4.0)]
    normal = hour_factors(rows, min_peers=2)
    holiday = hour_factors([(t, lv, u * 0.2) for t, lv, u in rows], min_peers=2)
    for tier in ("pro", "free", ""):
        assert abs(holiday[tier] - 0.2 * normal[tier]) < 1e-9


def test_small_tier_falls_back_to_the_whole_base():
    rows = [("pro", 100.0, 20.0), ("pro", 50.0, 10.0), ("pro", 80.0, 16.0), ("tiny", 10.0, 9.0)]
    factors = hour_factors(rows, min_peers=3)
    assert factors["tiny"] == factors[""]


def _warm_peers(n_accounts=6, days=9):
    pb = PeerBaselines(min_history_days=3, min_peers=2)
    for day in range(days):
        for i in range(n_accounts):
            pb.add_usage(f"a{i}", day * 86_400.0 + 3_600.0, 100.0)
    pb.close(days * 86_400.0)
    return pb


def test_expected_usage_follows_the_peers_in_the_hour():
    pb = _warm_peers()
    rows = hour_expectations(pb, {f"a{i}": 10.0 for i in range(5)}, min_history_days=3, min_peers=2)
    expected = {acc: e for acc, e, _, _ in rows}
    assert set(expected) == {f"a{i}" for i in range(6)}
    assert abs(expected["a5"] - 10.0) < 1e-6  # a5 sent nothing: it is expected to have sent 10


def test_hour_without_peer_data_cannot_be_judged_and_cold_start_is_none():
    pb = _warm_peers()
    assert hour_expectations(pb, {}, min_history_days=3, min_peers=2) == []
    assert hour_expectations(PeerBaselines(), {"a": 1.0}, min_history_days=3, min_peers=2) is None
