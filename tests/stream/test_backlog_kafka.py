"""A worker far behind: lag shows on /metrics, alerts come out in event-time order, nothing skipped."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict

import pytest

from schemas.alerts import Alert
from stream.alerts import alert_topics
from tests.stream.test_scaleout_kafka import produce, replayed
from tests.stream.worker_support import (
    WorkerProcess,
    alert_signature,
    detection_settled,
    simulated_lines,
    worker_env,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]


def _lag(metrics: dict[str, float]) -> float:
    return sum(v for k, v in metrics.items() if k.startswith("spikewatch_consumer_lag_records{"))


@pytest.mark.parametrize("ingest", ["faust", "batch"])
def test_backlog_raises_lag_then_drains_with_ordered_alerts_and_no_event_skipped(
    kafka_bootstrap, tmp_path, ingest
):
    name = f"backlog-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_bootstrap, name, tmp_path / "state") | {"SPIKEWATCH_WORKER__INGEST": ingest}
    if ingest == "batch":  # small transactions, so the lag is seen before the backlog is read
        env["SPIKEWATCH_WORKER__INGEST_BATCH_RECORDS"] = "500"
    lines = simulated_lines()
    produce(env, lines)  # the whole stream waits before the worker starts: a consumer days behind
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        lags: list[float] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(lag > 1_000 for lag in lags):
            lags.append(_lag(worker.metrics()))
            time.sleep(0.5)
        assert any(lag > 1_000 for lag in lags), (lags[-5:], worker.tail())
        settled = detection_settled([worker], kafka_bootstrap, f"{name}-app.detection", events=len(lines))
        assert settled.get("settled"), (settled, worker.tail())
        assert settled["spikewatch_detection_events"] + settled.get(
            "spikewatch_detection_reorder_buffered", 0
        ) == len(lines)  # every event reached detection
        time.sleep(2)  # the lag gauge is read at scrape time
        assert _lag(worker.metrics()) == 0
        by_partition = asyncio.run(_alerts_in_publish_order(kafka_bootstrap, f"{name}.alerts."))
        for where, alerts in by_partition.items():
            times = [alert.event_time for alert in alerts]
            assert times == sorted(times), where  # published in event-time order despite the backlog
        published = Counter(alert_signature(a) for alerts in by_partition.values() for a in alerts)
        assert published == replayed(lines)
    finally:
        worker.stop()


async def _alerts_in_publish_order(bootstrap: str, prefix: str, partitions: int = 4) -> dict:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: dict[tuple[str, int], list[Alert]] = defaultdict(list)
    try:
        tps = [TopicPartition(topic, p) for topic in alert_topics(prefix) for p in range(partitions)]
        ends = {}
        for tp in tps:
            try:
                ends.update(await consumer.end_offsets([tp]))
            except Exception:  # a kind with no alert has no topic
                continue
        live = {tp: end for tp, end in ends.items() if end > 0}
        if not live:
            return {}
        consumer.assign(list(live))
        for tp in live:
            consumer.seek(tp, 0)
        remaining = dict(live)
        while remaining:
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                found[(tp.topic, tp.partition)].extend(Alert.from_json(r.value) for r in batch)
                if batch and batch[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
    finally:
        await consumer.stop()
    return dict(found)
