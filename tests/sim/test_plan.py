from __future__ import annotations

import numpy as np

from sim.config import SimConfig
from sim.plan import REGRESSION_SIZES, plan_incidents
from sim.world import WARMUP_DAYS, build_world

CFG = SimConfig(seed=11, days=35, accounts=200)
H, DAY = 3600.0, 86400.0


def _plan(cfg: SimConfig = CFG):
    world = build_world(cfg)
    return world, plan_incidents(world)


def test_incidents_follow_the_shapes_of_the_brief():
    world, plan = _plan()
    t0 = CFG.start_ts
    releases = {r.version: r for r in plan.releases}
    assert all(i.start >= t0 + WARMUP_DAYS * DAY for i in plan.incidents if i.kind != "benign_release")
    regressions = plan.of_kind("regression")
    assert 5 <= len(regressions) <= 7
    assert {i.size for i in regressions} <= set(REGRESSION_SIZES)
    assert len({i.size for i in regressions}) >= 2
    for inc in regressions:
        release = releases[inc.release]
        assert 5 * 60 <= inc.start - release.ts <= 30 * 60
        assert 3 * H <= inc.end - inc.start <= 8 * H
        assert 0.5 <= inc.details["affected_share"] <= 0.9
        assert inc.feature in release.features
    benign = {i.release for i in plan.of_kind("benign_release")}
    assert benign == set(releases) - {i.release for i in regressions}
    (holiday,) = plan.of_kind("holiday")
    assert ((holiday.start - t0) // DAY) % 7 < 5 and 0.15 <= holiday.size <= 0.25
    (gap,) = plan.of_kind("ingestion_gap")
    assert gap.end - gap.start == 6 * H
    for churn in plan.of_kind("churn"):
        assert 0.1 <= churn.size <= 0.4 and 1 * DAY <= churn.end - churn.start <= 3 * DAY
    for flood in plan.of_kind("flood"):
        assert 24 <= flood.size <= 60 and H <= flood.end - flood.start <= 2 * H
    (drift,) = plan.of_kind("drift")
    assert drift.size == 2.0 and drift.end - drift.start == 14 * DAY
    (onboarding,) = plan.of_kind("onboarding")
    assert world.created_hour[-1] == (onboarding.start - t0) / H > 0


def test_accounts_play_one_role_each():
    _, plan = _plan()
    roles = {}
    for kind in ("churn", "expansion", "flood"):
        for inc in plan.of_kind(kind):
            roles.setdefault(inc.account_id, set()).add(kind)
    assert all(len(r) == 1 for r in roles.values())


def test_releases_ship_on_working_days_only():
    _, plan = _plan()
    days = np.array([(r.ts - CFG.start_ts) // DAY for r in plan.releases])
    assert len(plan.releases) >= 20
    assert (days % 7 < 5).all()
    assert all(1 <= len(r.features) <= 3 for r in plan.releases)


def test_noise_only_plan_keeps_the_releases_and_nothing_else():
    _, plan = _plan(CFG.replace(incidents=False))
    _, noisy = _plan()
    (holiday,) = noisy.of_kind("holiday")
    assert {i.kind for i in plan.incidents} == {"benign_release"}
    assert [r.version for r in plan.releases if not holiday.start <= r.ts < holiday.end] == [
        r.version for r in noisy.releases]
