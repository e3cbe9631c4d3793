"""The broker goes away mid-stream and comes back: the worker waits, recovers, loses nothing."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from stream.kafka_local import LocalKafka, free_port
from tests.stream.test_scaleout_kafka import produce
from tests.stream.worker_support import WorkerProcess, detection_settled, labelled_input, worker_env

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]


def _reachable(worker: WorkerProcess) -> float | None:
    return worker.metrics().get("spikewatch_kafka_reachable")


@pytest.mark.parametrize("ingest", ["faust", "batch"])
def test_worker_rides_out_a_broker_restart_without_losing_events(tmp_path, ingest):
    data = labelled_input(30_000, malformed_share=0.0, seed=3)
    with LocalKafka(free_port(), data_dir=tmp_path / "kafka", heap="384m") as kafka:
        name = f"outage-{uuid.uuid4().hex[:8]}"
        env = worker_env(kafka.bootstrap, name, tmp_path / "state") | {"SPIKEWATCH_WORKER__INGEST": ingest}
        if ingest == "batch":  # small transactions, so the outage falls mid-stream
            env["SPIKEWATCH_WORKER__INGEST_BATCH_RECORDS"] = "500"
        produce(env, data.lines)
        worker = WorkerProcess(env, tmp_path / "worker.log")
        try:
            partway = worker.wait_for(lambda seen: sum(seen["by_type"].values()) >= len(data.lines) / 4)
            assert partway is not None and sum(partway["by_type"].values()) < len(data.lines), worker.tail()
            kafka.stop()
            deadline, seen_reachable = time.monotonic() + 60, []
            while time.monotonic() < deadline and 0.0 not in seen_reachable:
                seen_reachable.append(_reachable(worker))
                time.sleep(1)
            assert 0.0 in seen_reachable, (seen_reachable, worker.tail())  # it knows it is cut off
            status, body = worker.get("/healthz")
            assert status == 503 and b"cut off from the Kafka brokers" in body, (status, body)
            time.sleep(60)  # a real outage (a minute), not a blip
            assert worker.process.poll() is None  # but still there, waiting
            kafka.start()  # same port, same data directory
            seen = worker.wait_for(lambda c: c["by_type"] == dict(data.by_type), timeout=240)
            assert seen is not None and seen["by_type"] == dict(data.by_type), worker.tail()
            settled = detection_settled([worker], kafka.bootstrap, f"{name}-app.detection",
                                        events=len(data.lines))  # fmt: skip
            assert settled.get("settled"), (settled, worker.tail())
            assert _reachable(worker) == 1.0
            status, body = worker.get("/healthz")
            assert (status, json.loads(body)["status"]) == (200, "ok")
        finally:
            worker.stop()
