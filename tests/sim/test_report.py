from __future__ import annotations

import pytest

from sim.backtest import meets_oracle_target, parse_seeds, run_backtest
from sim.report import write_report
from tests.sim.conftest import SMALL


@pytest.fixture(scope="module")
def small_backtest():
    return run_backtest([1, 2], SMALL, progress=False)


def test_backtest_scores_every_seed_against_engine_naive_and_oracle(small_backtest):
    assert [r.seed for r in small_backtest.runs] == [1, 2]
    rows = small_backtest.regression_rows()
    assert len(rows) == sum(len(r.labels.of_kind("regression")) for r in small_backtest.runs)
    assert all({"oracle_s", "ratio", "meets", "naive_s", "shift"} <= set(row) for row in rows)
    totals = small_backtest.totals()
    assert totals["regression"].incidents == len(rows)
    assert totals["churn_risk"].incidents == sum(len(r.labels.of_kind("churn")) for r in small_backtest.runs)
    assert small_backtest.runs[0].windows, "the first seed keeps the engine's windows for the plots"
    assert small_backtest.totals("naive")["regression"].alerts > 0


def test_report_is_written_with_its_plots(small_backtest, tmp_path):
    path = write_report(small_backtest, tmp_path, command="spikewatch backtest --seeds 1-2")
    text = path.read_text()
    for needle in ("## Engine", "## Naive baseline", "precision", "oracle", "False pages", "Churn",
                   "observed_vs_expected.png", "spikewatch backtest --seeds 1-2"):
        assert needle in text
    for png in ("observed_vs_expected.png", "churn_lead_time.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_oracle_target_and_seed_ranges():
    assert meets_oracle_target(1000.0, 500.0) is True
    assert meets_oracle_target(1100.0, 500.0) is False
    assert meets_oracle_target(None, None) is None
    assert parse_seeds("1-5") == [1, 2, 3, 4, 5]
    assert parse_seeds("3") == [3]
