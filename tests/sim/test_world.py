from __future__ import annotations

import numpy as np
import pytest

from sim.config import SimConfig
from sim.world import TIERS, build_world, season


def test_accounts_are_heavy_tailed_and_tiered():
    world = build_world(SimConfig(seed=5, accounts=400))
    assert set(TIERS) == {world.tier_name(i) for i in range(world.n_accounts)}
    assert world.seats.max() > 50 * np.median(world.seats)
    enterprise = world.tier == TIERS.index("enterprise")
    assert world.mrr[enterprise].sum() > world.mrr[~enterprise].sum() * 0.5
    assert (world.seats_used <= world.seats).all() and (world.seats_used >= 1).all()


def test_business_hours_and_quiet_weekends():
    week = season(np.arange(7 * 24))
    days = week.reshape(7, 24).sum(axis=1)
    assert days[5:].max() < 0.3 * days[:5].min()
    assert week[:24].argmax() in range(12, 17)


@pytest.mark.parametrize("bad", [{"days": 1}, {"accounts": 5}, {"features": 40}, {"usage_interval_hours": 5},
                                 {"duplicate_rate": 1.0}])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SimConfig(**bad)
