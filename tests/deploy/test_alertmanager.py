"""deploy/alertmanager checked by amtool and by a real Alertmanager: routing, grouping, inhibition."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from stream.kafka_local import free_port
from tests.deploy.tools import DEPLOY, binary

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary("amtool"), *args], capture_output=True, text=True, timeout=60)


def route(*labels: str) -> str:
    run = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.strip()


def test_amtool_accepts_the_config():
    run = amtool("check-config", str(CONFIG))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=SpikewatchRegression", "page=true", "kind=regression", "feature=checkout",
          "severity=critical"], "oncall-pager"),
        (["alertname=SpikewatchChurnRisk", "kind=churn_risk", "severity=info", "tier=enterprise"],
         "customer-success"),
        (["alertname=SpikewatchExpansionCandidates", "kind=expansion", "severity=info"], "customer-success"),
        (["alertname=SpikewatchAccountFlood", "kind=flood", "severity=warning"], "product-chat"),
        (["alertname=SpikewatchFeatureDrift", "kind=drift", "feature=reports", "severity=info"],
         "product-chat"),
        (["alertname=SpikewatchWorkerDown", "kind=health", "severity=warning"], "ops-chat"),
        (["alertname=SpikewatchNoEvents", "kind=health", "severity=warning"], "ops-chat"),
        # A critical churn risk or flood still does not page: only the regression route reaches the pager.
        (["alertname=SpikewatchAccountFlood", "kind=flood", "severity=critical"], "product-chat"),
    ],
)  # fmt: skip
def test_routes(labels, receiver):
    assert route(*labels) == receiver


def test_regressions_are_grouped_by_feature():
    run = amtool("config", "routes", "show", f"--config.file={CONFIG}")
    assert run.returncode == 0, run.stderr
    import yaml

    config = yaml.safe_load(CONFIG.read_text())
    pager = next(r for r in config["route"]["routes"] if r["receiver"] == "oncall-pager")
    assert "feature" in pager["group_by"]


@pytest.fixture
def alertmanager(tmp_path):
    port = free_port()
    cluster_port = free_port()
    process = subprocess.Popen(
        [binary("prometheus-alertmanager", "alertmanager"), f"--config.file={CONFIG}",
         f"--storage.path={tmp_path}", f"--web.listen-address=127.0.0.1:{port}",
         f"--cluster.listen-address=127.0.0.1:{cluster_port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "alertmanager.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=2)
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
                assert time.monotonic() < deadline, "alertmanager did not become ready"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def test_no_events_inhibits_its_children_but_not_regressions(alertmanager):
    now = datetime.now(UTC)
    window = {"startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}
    alerts = [
        {"labels": {"alertname": "SpikewatchNoEvents", "kind": "health", "severity": "warning",
                    "job": "spikewatch"}},
        {"labels": {"alertname": "SpikewatchChurnRisk", "kind": "churn_risk", "severity": "info",
                    "tier": "enterprise", "depends_on": "events"}},
        {"labels": {"alertname": "SpikewatchWatermarkStuck", "kind": "health", "severity": "warning",
                    "instance": "w0:6066", "depends_on": "events"}},
        {"labels": {"alertname": "SpikewatchRegression", "kind": "regression", "page": "true",
                    "feature": "checkout", "release": "v1.4.0", "severity": "critical"}},
    ]  # fmt: skip
    body = json.dumps([{**alert, **window} for alert in alerts]).encode()
    request = urllib.request.Request(f"{alertmanager}/api/v2/alerts", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    urllib.request.urlopen(request, timeout=5)
    deadline = time.monotonic() + 20
    while True:
        with urllib.request.urlopen(f"{alertmanager}/api/v2/alerts", timeout=5) as response:
            state = {a["labels"]["alertname"]: a["status"] for a in json.load(response)}
        if len(state) == 4 and state["SpikewatchChurnRisk"]["inhibitedBy"]:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.3)
    assert state["SpikewatchWatermarkStuck"]["inhibitedBy"]
    assert state["SpikewatchRegression"]["state"] == "active"
    assert state["SpikewatchNoEvents"]["state"] == "active"
