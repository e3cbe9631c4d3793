"""Small simulations shared by the sim tests (60 accounts, 14 days: a few seconds each)."""

from __future__ import annotations

import pytest

from sim.config import SimConfig
from sim.simulator import Simulation, simulate

SMALL = SimConfig(seed=1, days=14, accounts=60)


@pytest.fixture(scope="session")
def small_sim() -> Simulation:
    """One small labelled simulation."""
    return simulate(SMALL)
