"""deploy/grafana checked offline: ids, datasources, variables, every PromQL expression parsed."""

from __future__ import annotations

import subprocess

import yaml

from tests.deploy import dashboard
from tests.deploy.tools import DEPLOY, binary


def test_panel_ids_are_unique_and_every_panel_and_target_has_the_datasource():
    board = dashboard.load()
    ids = [panel["id"] for panel in dashboard.panels(board)]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in board["templating"]["list"]}
    for panel in dashboard.panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert target["expr"].strip(), panel["title"]
    assert {"datasource", "feature"} <= variables
    assert board["uid"] and board["title"]


def test_the_dashboard_covers_the_panels_support_ops_need():
    titles = " | ".join(panel["title"].lower() for panel in dashboard.panels(dashboard.load()))
    for needed in ("tickets per active account", "by feature", "by tier", "observed vs expected",
                   "open alerts by kind", "top accounts by mrr at churn risk", "events per second",
                   "consumer lag", "watermark delay", "invalid events", "state entries"):  # fmt: skip
        assert needed in titles, needed


def test_every_query_parses(tmp_path):
    rules = [{"record": f"spikewatch:dashboard_check_{i}", "expr": expr}
             for i, (_, expr) in enumerate(dashboard.queries(dashboard.load()))]  # fmt: skip
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run = subprocess.run([binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(rules)} rules found" in run.stdout


def test_a_bad_query_would_be_caught(tmp_path):
    path = tmp_path / "bad.yml"
    bad = {"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum by (feature (up)"}]}]}
    path.write_text(yaml.safe_dump(bad))
    run = subprocess.run([binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert run.returncode != 0


def test_provisioning_points_at_the_dashboard_and_a_prometheus_datasource():
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "spikewatch.yaml").read_text())
    assert [d["type"] for d in datasources["datasources"]] == ["prometheus"]
    providers = yaml.safe_load((provisioning / "dashboards" / "spikewatch.yaml").read_text())["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"]
