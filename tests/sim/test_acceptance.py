"""Acceptance run of the whole detection engine against the issue's targets, over many seeds.

Slow (about half a minute per seed): run with ``make acceptance``. Issue 4 is resolved only when all
of this passes; until then ``make test`` leaves it out (marker ``acceptance``) and the README says
where it stands.
Seeds 1–10 are the ones detectors may be tuned on. Seeds 101–103 and 201–205 were each held out until
a tuning round had read their failures, so they are kept as a second, no longer blind, check; seeds
301–310 are the fresh held-out set, first run once to accept the round that separated the rhythm's
prior, weighted rate fading by exposure and made releases after a rise's start less suspect.
"""

from __future__ import annotations

import pytest

from sim.backtest import BacktestResult, run_backtest
from sim.config import SimConfig
from sim.scoring import CHURN_LEAD_TARGET

pytestmark = [pytest.mark.acceptance, pytest.mark.slow, pytest.mark.timeout(3600)]

SEED_SETS = {
    "tuning": list(range(1, 11)),
    "seen_held_out": [101, 102, 103, 201, 202, 203, 204, 205],
    "held_out": list(range(301, 311)),
}
QUIET_TRAPS = {"flood", "benign_release", "holiday", "weekend", "gap"}


@pytest.fixture(scope="module", params=list(SEED_SETS))
def backtest(request) -> BacktestResult:
    return run_backtest(SEED_SETS[request.param], SimConfig(days=35), progress=False)


def test_the_oracle_and_the_engine_find_every_regression(backtest):
    rows = backtest.regression_rows()
    assert rows
    assert [(r["seed"], r["feature"], r["size"]) for r in rows if r["oracle_s"] is None] == []
    assert backtest.totals()["regression"].recall == 1.0


def test_regressions_page_about_as_fast_as_the_oracle(backtest):
    rows = [r for r in backtest.regression_rows() if r["meets"] is not None]
    assert rows, "the oracle detects some regressions"
    slow = [(r["seed"], r["feature"], r["size"], r["latency_s"], r["oracle_s"])
            for r in rows if not r["meets"]]
    assert slow == []


def test_one_page_per_regression_naming_feature_and_release(backtest):
    detected = [r for r in backtest.regression_rows() if r["detected"]]
    assert [(r["seed"], r["feature"], r["pages"]) for r in detected if r["pages"] != 1] == []
    assert [(r["seed"], r["feature"], r["release"]) for r in detected if not r["release_right"]] == []


def test_false_pages_within_budget_and_never_from_the_traps(backtest):
    assert backtest.false_pages_per_30_days() <= 1.0
    trapped = [p for p in backtest.false_pages() if QUIET_TRAPS & set(p["context"])]
    assert trapped == []


def test_silent_churn_found_within_three_days(backtest):
    churn = backtest.totals()["churn_risk"]
    assert churn.recall >= 0.9
    assert churn.precision >= 0.8
    late = sorted(round(lead / 86400, 1) for lead in churn.latencies if lead > CHURN_LEAD_TARGET)
    assert late == [], f"{len(late)} of {len(churn.latencies)} churners flagged after 3 days (days shown)"


def test_drift_found_within_ten_days_on_the_right_feature_only(backtest):
    drift = backtest.totals()["drift"]
    assert drift.recall == 1.0
    assert drift.precision == 1.0


def test_at_least_half_of_the_expanders_found(backtest):
    assert backtest.totals()["expansion"].recall >= 0.5


def test_floods_found_and_routed_not_paged(backtest):
    flood = backtest.totals()["flood"]
    assert flood.recall >= 0.9
    assert flood.pages == 0


def test_a_short_world_pages_its_planted_regressions_and_nothing_else():
    # The demo's world (`spikewatch demo`): two weeks, so most of it is cold start.
    result = run_backtest([2], SimConfig(seed=2, days=14, accounts=300), progress=False)
    assert result.false_pages() == []
    assert result.totals()["regression"].recall == 1.0
