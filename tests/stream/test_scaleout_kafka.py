"""Several workers give the same alerts as one, and as an offline replay of the same file."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from sim.replay import replay
from stream.config import load_settings
from stream.producer import ensure_topic, produce_lines
from tests.stream.worker_support import (
    WorkerProcess,
    alert_signature,
    detection_settled,
    read_alerts,
    simulated_lines,
    worker_env,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(400)]

HORIZON = 120.0  # worker.reorder_horizon by default; the stream is delivered at most 100 s late


def produce(env: dict[str, str], lines: list[bytes]) -> None:
    """Send ``lines`` to the worker's input topic, created with the configured partitions."""
    settings = load_settings(environ=env)

    async def send() -> None:
        await ensure_topic(settings.kafka, settings.topics.input[0], settings.topics.partitions)
        await produce_lines(lines, kafka=settings.kafka, topic=settings.topics.input[0])

    asyncio.run(send())


def replayed(lines: list[bytes]) -> Counter:
    """Alert signatures of an offline replay of ``lines`` with the worker's reorder horizon."""
    # finish=False: a live worker never reaches the end of its stream, so it neither drains the
    # reorder buffer nor flushes the engine.
    result = replay(lines, reorder_horizon=HORIZON, finish=False)
    return Counter(alert_signature(alert) for alert in result.alerts)


@pytest.mark.parametrize("ingest", ["faust", "batch"])
@pytest.mark.parametrize("workers", [1, 2])
def test_workers_publish_the_alerts_of_an_offline_replay(kafka_bootstrap, tmp_path, workers, ingest):
    name = f"scale{workers}-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_bootstrap, name, tmp_path / "state") | {"SPIKEWATCH_WORKER__INGEST": ingest}
    if ingest == "batch" and workers > 1:
        # Small transactions: the batch stage would otherwise read the whole backlog in a few
        # seconds, before the second worker's join has rebalanced the group.
        env["SPIKEWATCH_WORKER__INGEST_BATCH_RECORDS"] = "100"
    lines = simulated_lines()
    produce(env, lines)
    expected = replayed(lines)
    assert {kind for kind, *_ in expected} >= {"regression", "flood", "churn_risk"}
    running = [WorkerProcess(env, tmp_path / f"worker{i}.log") for i in range(workers)]
    try:
        seen = detection_settled(running, kafka_bootstrap, f"{name}-app.detection", events=len(lines))
        assert seen.get("settled"), (seen, running[0].tail())
        alerts = read_alerts(kafka_bootstrap, f"{name}.alerts.")
        assert Counter(alert_signature(alert) for alert in alerts) == expected
        if workers > 1:  # both took part in the ingest stage
            assert all(w.metrics().get('spikewatch_events_total{type="usage"}', 0) > 0 for w in running)
    finally:
        for worker in running:
            worker.stop()
