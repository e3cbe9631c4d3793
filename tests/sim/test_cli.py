"""The lab commands of ``stream/commands/lab.py`` (kept here beside the code they drive)."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from stream.cli import app

runner = CliRunner()


def test_simulate_replay_backtest_from_the_command_line(tmp_path):
    stream, labels, alerts = tmp_path / "s.jsonl", tmp_path / "l.json", tmp_path / "a.jsonl"
    result = runner.invoke(app, ["simulate", "--seed", "3", "--days", "14", "--accounts", "60",
                                 "--out", str(stream), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert orjson.loads(labels.read_bytes())["config"]["seed"] == 3
    result = runner.invoke(app, ["replay", str(stream), "--out", str(alerts)])
    assert result.exit_code == 0, result.output
    assert all(orjson.loads(line)["kind"] for line in alerts.read_bytes().splitlines())
    result = runner.invoke(app, ["backtest", "--seeds", "3", "--days", "14", "--accounts", "60",
                                 "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "report.md").exists()


def test_simulate_rejects_bad_sizes(tmp_path):
    result = runner.invoke(app, ["simulate", "--accounts", "3", "--out", str(tmp_path / "s.jsonl")])
    assert result.exit_code != 0
    assert "accounts" in result.output
