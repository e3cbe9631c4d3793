"""The backtest's "with feedback" mode: alerts labelled from the truth, scored next to the plain run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from detectors.engine import DetectionEngine
from detectors.feedback import FeedbackPolicy
from detectors.regression import BreadthSpikeDetector
from sim.backtest import BacktestResult, run_seed
from sim.labeller import TruthLabeller
from sim.report import write_report
from tests.sim.conftest import SMALL


def jumpy(policy: FeedbackPolicy | None) -> DetectionEngine:
    """An engine with a low threshold, so the small world has false pages for the labels to act on."""
    return DetectionEngine(regression=BreadthSpikeDetector(threshold=4.0), feedback=policy)


@pytest.fixture(scope="module")
def fed_backtest() -> BacktestResult:
    return BacktestResult([run_seed(SMALL, with_feedback=True, make_engine=jumpy)])


def test_every_firing_alert_gets_the_label_the_truth_gives(fed_backtest):
    run = fed_backtest.runs[0]
    assert run.feedback is not None
    fed = fed_backtest.totals("feedback")
    given = run.feedback_labels
    for kind, score in fed.items():
        labelled = sum(n for key, n in given.items() if key.split()[0] == kind)
        assert labelled == score.alerts
    assert given.get("regression confirmed", 0) == fed["regression"].matched_alerts
    assert given.get("regression false-alarm", 0) > 0


def test_false_alarm_labels_lower_later_false_pages(fed_backtest):
    without = fed_backtest.false_pages_per_30_days("engine")
    with_labels = fed_backtest.false_pages_per_30_days("feedback")
    assert without > 0
    assert with_labels < without
    assert fed_backtest.totals("feedback")["regression"].recall >= fed_backtest.totals()["regression"].recall


def test_the_report_shows_both_side_by_side(fed_backtest, tmp_path):
    text = write_report(fed_backtest, tmp_path).read_text()
    section = text.split("## With feedback", 1)[1].split("\n## ", 1)[0]
    assert "| false pages per 30 days | " in section
    row = next(line for line in section.splitlines() if line.startswith("| false pages per 30 days"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[1]) == pytest.approx(fed_backtest.false_pages_per_30_days("engine"), abs=0.01)
    assert float(cells[2]) == pytest.approx(fed_backtest.false_pages_per_30_days("feedback"), abs=0.01)


def test_a_plain_backtest_has_no_feedback_section(small_sim, tmp_path):
    run = run_seed(SMALL.replace(days=7))
    result = BacktestResult([run])
    assert not result.with_feedback
    assert "## With feedback" not in write_report(result, tmp_path).read_text()


def test_the_labeller_needs_a_policy(small_sim):
    with pytest.raises(ValueError, match="engine"):
        TruthLabeller(DetectionEngine(), small_sim.labels)
    with pytest.raises(ValueError, match="delay"):
        TruthLabeller(DetectionEngine(feedback=FeedbackPolicy()), small_sim.labels, delay=-1)


def test_cli_flag_is_wired(monkeypatch, tmp_path):
    from stream.cli import app

    seen = {}

    def fake(seeds, base, *, workdir=None, with_feedback=False, **_):
        seen["with_feedback"] = with_feedback
        raise SystemExit(0)

    monkeypatch.setattr("sim.backtest.run_backtest", fake)
    CliRunner().invoke(app, ["backtest", "--seeds", "1", "--with-feedback", "--out", str(tmp_path)])
    assert seen == {"with_feedback": True}


def test_only_the_first_alerts_of_each_kind_are_labelled_when_asked(small_sim):
    from sim.replay import replay

    labeller = TruthLabeller(jumpy(FeedbackPolicy()), small_sim.labels, first_per_kind=1)
    result = replay(small_sim.lines, labeller)
    kinds = {a.kind for a in result.alerts if a.status == "firing"}
    per_kind = {kind: sum(n for key, n in labeller.given.items() if key.split()[0] == kind) for kind in kinds}
    assert per_kind == dict.fromkeys(kinds, 1)
    assert result.stats["feedback_labels"] == dict(labeller.given)
