"""Per-account baselines compared with peers on the same day."""

from __future__ import annotations

import pytest

from detectors.peers import PeerBaselines

MONDAY = 1_772_409_600.0
DAY = 86_400.0


def feed(pb, days, level=lambda acc, day: 100, accounts=8):
    out = []
    for day in days:
        for i in range(accounts):
            pb.add_usage(f"a{i}", MONDAY + day * DAY + 3600, level(f"a{i}", day))
        out += pb.close(MONDAY + (day + 1) * DAY)
    return out


def test_a_dip_shared_by_everyone_leaves_peer_ratios_near_one_and_trains_nothing():
    pb = PeerBaselines(min_history_days=7, min_coverage=0.1)
    feed(pb, range(14))
    level_before = pb.levels["a1"].level
    (holiday,) = feed(pb, [14], level=lambda acc, day: 20)
    assert holiday.coverage == pytest.approx(0.2, abs=0.05)
    assert not holiday.normal and holiday.usable
    assert all(row.peer_ratio == pytest.approx(1.0, abs=0.05) for row in holiday.accounts)
    assert pb.levels["a1"].level == level_before


def test_a_total_gap_is_not_usable():
    pb = PeerBaselines(min_history_days=7)
    feed(pb, range(14))
    (gap,) = feed(pb, [14], level=lambda acc, day: 0)
    assert not gap.usable


def test_one_account_falling_stands_out():
    pb = PeerBaselines(min_history_days=7)
    feed(pb, range(14))
    (day,) = feed(pb, [14], level=lambda acc, day: 30 if acc == "a3" else 100)
    ratios = {row.account_id: row.peer_ratio for row in day.accounts}
    assert ratios["a3"] == pytest.approx(0.3, abs=0.05)
    assert ratios["a0"] == pytest.approx(1.0, abs=0.05)
    assert next(r for r in day.accounts if r.account_id == "a3").count_z < -5


def test_idle_accounts_are_forgotten():
    pb = PeerBaselines(min_history_days=3, idle_days=3)
    feed(pb, range(5))
    feed(pb, range(5, 12), level=lambda acc, day: 0 if acc == "a0" else 100)
    assert "a0" not in pb.levels and "a1" in pb.levels


@pytest.mark.parametrize(
    "kwargs, name",
    [({"alpha": 0}, "alpha"), ({"min_history_days": 0}, "min_history_days"), ({"idle_days": 0}, "idle_days")],
)
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PeerBaselines(**kwargs)


def test_accounts_are_judged_in_the_order_their_baselines_started_not_their_facts():
    from types import SimpleNamespace as E

    pb = PeerBaselines(min_history_days=3, min_peers=2)
    for acc in ("c", "b", "a"):  # facts first, in another order
        pb.add_facts(E(account_id=acc, mrr=10.0, seats=5, tier="business", ts=MONDAY))
    for acc in ("a", "b", "c", "d"):
        pb.add_usage(acc, MONDAY + 3600, 100)
    (day,) = pb.close(MONDAY + DAY)
    assert [row.account_id for row in day.accounts] == ["a", "b", "c", "d"] == list(pb.levels)
    assert pb.tier("a") == "business" and pb.tier("d") == "unknown" and len(pb.facts) == 3


def test_an_attached_row_outlives_its_baseline_until_detached():
    pb = PeerBaselines(min_history_days=3, idle_days=3)
    feed(pb, range(5), accounts=2)
    row = pb.attach("a0")
    assert pb.attached("a0") == row and pb.attached("a1") is None and pb.n_attached == 1
    feed(pb, range(5, 12), level=lambda acc, day: 0 if acc == "a0" else 100, accounts=2)
    assert "a0" not in pb.levels and pb.attached("a0") == row  # idle: baseline gone, row kept
    pb.detach_idle()
    assert pb.attached("a0") is None and pb.n_attached == 0 and pb.state_size == 1
