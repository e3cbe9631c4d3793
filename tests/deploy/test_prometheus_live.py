"""The operations package against the real thing: local Kafka, a worker, and a real Prometheus that
scrapes it with deploy/prometheus's config and rules. A simulated stream with a bad release is played;
SpikewatchRegression must fire for the planted feature and release, and every dashboard query must
return data."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from detectors.engine import DetectionEngine
from schemas.parse import Rejection, parse_event
from sim.config import SimConfig
from sim.simulator import simulate
from stream.config import load_settings
from stream.detection_agent import detection_topic_name
from stream.kafka_local import free_port
from stream.producer import ensure_topic, produce_lines
from tests.deploy import dashboard
from tests.deploy.tools import DEPLOY, binary
from tests.stream.worker_support import WorkerProcess, worker_env

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(400)]

#: A 9-day world of 120 accounts (seed 2) whose planted regression (imports, v1.5.0) pages on day 8
#: while three churn-risk episodes are open, so every panel has something to show.
WORLD = SimConfig(seed=2, days=9, accounts=120)


def stream_until_paged(config: SimConfig, after: float = 3600.0) -> tuple[list[bytes], tuple[str, str]]:
    """The stream's lines up to ``after`` seconds of event time past the planted regression's page
    (found by the offline engine), so that the incident is still open when the stream ends."""
    sim = simulate(config)
    planted = {(i.feature, i.release) for i in sim.labels.of_kind("regression")}
    engine, paged, paged_at = DetectionEngine(), None, 0.0
    for i, line in enumerate(sim.lines):
        event = parse_event(line)
        if isinstance(event, Rejection):
            continue
        for alert in engine.process(event):
            if paged is None and alert.kind == "regression" and (alert.feature, alert.release) in planted:
                paged, paged_at = (alert.feature, alert.release), event.ts
        if paged is not None and event.ts > paged_at + after:
            return sim.lines[:i], paged
    raise AssertionError(f"no planted regression paged offline in {config}")


class Prometheus:
    """A real Prometheus scraping one worker with the shipped config, rules and 1 s intervals."""

    def __init__(self, tmp: Path, target: str) -> None:
        config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        config["rule_files"] = [str(DEPLOY / "prometheus" / rule) for rule in config["rule_files"]]
        config.pop("alerting")
        (job,) = config["scrape_configs"]
        job["static_configs"] = [{"targets": [target]}]
        path = tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = tmp / "prometheus.log"
        self.process = subprocess.Popen(
            [binary("prometheus"), f"--config.file={path}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
        )  # fmt: skip

    def query(self, expr: str) -> list[dict]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait_for(self, expr: str, timeout: float, what: str) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                result = self.query(expr)
                if result:
                    return result
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, f"{what}: {expr} stayed empty for {timeout} s"
            time.sleep(1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def test_regression_fires_in_prometheus_and_every_dashboard_query_has_data(kafka_bootstrap, tmp_path):
    lines, (feature, release) = stream_until_paged(WORLD)
    lines += [b'{"type": "ticket", "ticket_id": ' + str(i).encode() for i in range(20)]  # dead letters
    name = f"deploy-{int(time.time() * 1000)}"
    env = worker_env(kafka_bootstrap, name, tmp_path / "state")
    settings = load_settings(environ=env)
    topic = settings.topics.input[0]

    async def create_topics() -> None:  # as an operator would on an existing cluster
        await ensure_topic(settings.kafka, topic, settings.topics.partitions)
        await ensure_topic(settings.kafka, detection_topic_name(settings), 1)

    asyncio.run(create_topics())
    worker = WorkerProcess(env, tmp_path / "worker.log")
    prometheus = Prometheus(tmp_path, f"127.0.0.1:{worker.port}")
    try:
        prometheus.wait_for('up{job="spikewatch"} == 1', 90, "the worker is scraped")
        asyncio.run(produce_lines(lines, kafka=settings.kafka, topic=topic))
        firing = f'ALERTS{{alertname="SpikewatchRegression", alertstate="firing", feature="{feature}"}}'
        try:
            (alert,) = prometheus.wait_for(firing, 240, "SpikewatchRegression fires")
        except AssertionError as error:
            open_now = prometheus.query("spikewatch_open_alerts > 0")
            raise AssertionError(f"{error}\nopen: {open_now}\nworker log:\n{worker.tail()}") from None
        assert alert["metric"]["release"] == release
        assert alert["metric"]["severity"] == "critical"
        assert alert["metric"]["page"] == "true"
        with urllib.request.urlopen(f"{prometheus.url}/api/v1/alerts", timeout=10) as response:
            alerts = json.load(response)["data"]["alerts"]
        (page,) = [a for a in alerts if a["labels"]["alertname"] == "SpikewatchRegression"]
        # The page carries the figures on-call needs, read back from the worker's metrics.
        assert float(page["annotations"]["observed"]) > float(page["annotations"]["expected"]) > 0
        assert int(page["annotations"]["accounts"]) >= 2
        assert feature in page["annotations"]["summary"] and release in page["annotations"]["summary"]
        rules = prometheus.query('ALERTS{alertstate="firing", page="true"}')
        assert {r["metric"]["feature"] for r in rules} == {feature}  # nothing else pages
        time.sleep(3)  # a few more scrapes, so the rates over the last minutes have two samples
        empty = [(title, expr) for title, expr in dashboard.queries(dashboard.load())
                 if not prometheus.query(expr)]  # fmt: skip
        assert not empty, f"dashboard queries without data: {empty}"
    finally:
        prometheus.stop()
        worker.stop()
