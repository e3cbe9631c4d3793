"""The worker against a real broker: exact counts, exact dead letters, and exact counts after SIGKILL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

import pytest

from schemas.deadletter import DeadLetter
from stream.config import load_settings
from stream.producer import ensure_topic, produce_lines
from tests.stream.worker_support import (
    LabelledInput,
    WorkerProcess,
    commit_offsets,
    end_offsets,
    labelled_input,
    read_topic,
    worker_env,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240)]


#: Both ingest stages: the Faust agent per record (default) and the batches in Kafka transactions.
INGEST = ["faust", "batch"]

def _produce(env: dict[str, str], data: LabelledInput) -> str:
    settings = load_settings(environ=env)
    topic = settings.topics.input[0]

    async def send() -> None:
        await ensure_topic(settings.kafka, topic, settings.topics.partitions)
        await produce_lines(data.lines, kafka=settings.kafka, topic=topic)

    asyncio.run(send())
    return topic


def _expected_counts(data: LabelledInput) -> dict:
    return {
        "by_type": dict(data.by_type),
        "by_feature": dict(data.by_feature),
        "dead_letters": dict(Counter(data.rejected.values())),
    }


def _settled(worker: WorkerProcess, expected: dict) -> dict | None:
    """Counts once they equal ``expected`` (or the last seen when they never do)."""
    keys = ("by_type", "by_feature", "dead_letters")
    return worker.wait_for(lambda seen: {key: seen[key] for key in keys} == expected, timeout=400)


def _assert_dead_letters(
    bootstrap: str, topic: str, source_topic: str, data: LabelledInput, *, exactly_once: bool = True
) -> None:
    records = read_topic(bootstrap, topic, len(data.rejected))
    letters = [DeadLetter.from_json(record.value) for record in records]
    distinct = {(letter.partition, letter.offset) for letter in letters}
    assert len(distinct) == len(data.rejected)  # every bad record, and nothing else
    if exactly_once:
        assert len(letters) == len(data.rejected)
    originals = {letter.original: letter for letter in letters}
    for index, reason in data.rejected.items():
        letter = originals[data.lines[index]]  # the original bytes are kept exactly
        assert letter.reason == reason
        assert letter.source_topic == source_topic
    # Keyed by the original key: lines with an account_id keep it.
    keyed = [record for record in records if record.key is not None]
    assert all(
        json.loads(DeadLetter.from_json(r.value).original).get("account_id") == r.key.decode() for r in keyed
    )


@pytest.mark.parametrize("ingest", INGEST)
def test_worker_counts_valid_events_and_dead_letters_the_rest(kafka_bootstrap, tmp_path, ingest):
    name = f"ingest-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_bootstrap, name, tmp_path / "state") | {"SPIKEWATCH_WORKER__INGEST": ingest}
    data = labelled_input(20_000, malformed_share=0.02)
    topic = _produce(env, data)
    expected = _expected_counts(data)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        seen = _settled(worker, expected)
        assert seen is not None and {k: seen[k] for k in expected} == expected, worker.tail()
        assert seen["consuming"] is True
        status, health = worker.get("/healthz")
        assert (status, json.loads(health)["status"]) == (200, "ok")
        _, metrics = worker.get("/metrics")
        text = metrics.decode()
        for event_type, count in data.by_type.items():
            assert f'spikewatch_events_total{{type="{event_type}"}} {float(count)}' in text
        for reason, count in expected["dead_letters"].items():
            assert f'spikewatch_invalid_events_total{{reason="{reason}"}} {float(count)}' in text
        _assert_dead_letters(kafka_bootstrap, f"{name}.deadletter", topic, data)
    finally:
        assert worker.stop() == 0, worker.tail()


@pytest.mark.parametrize("ingest", INGEST)
@pytest.mark.parametrize("guarantee", ["at_least_once"])
def test_counts_stay_exact_when_the_worker_is_killed_and_restarted(
    kafka_bootstrap, tmp_path, guarantee, ingest
):
    name = f"restart-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_bootstrap, name, tmp_path / "state", guarantee=guarantee)
    env["SPIKEWATCH_WORKER__INGEST"] = ingest
    data = labelled_input(20_000, malformed_share=0.02, seed=11)
    topic = _produce(env, data)
    expected = _expected_counts(data)
    valid = sum(data.by_type.values())
    for kill in (1, 2):
        worker = WorkerProcess(env, tmp_path / "worker.log")
        partway = worker.wait_for(lambda seen, kill=kill: sum(seen["by_type"].values()) >= valid * kill / 3)
        assert partway is not None, worker.tail()
        worker.kill()  # SIGKILL mid-stream: no flush, no commit, no goodbye to the group
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        seen = _settled(worker, expected)
        assert seen is not None and {k: seen[k] for k in expected} == expected, worker.tail()
        # A kill between the broker's ack of a dead letter and the changelog write of "sent" can
        # publish that one letter twice; none may be missing.
        _assert_dead_letters(kafka_bootstrap, f"{name}.deadletter", topic, data, exactly_once=False)
    finally:
        worker.stop()


@pytest.mark.parametrize("ingest", INGEST)
def test_a_commit_past_the_counts_is_sought_back(kafka_bootstrap, tmp_path, ingest):
    """Offsets committed past what was counted (Faust's commit can run ahead of its changelog; or moved by
    hand): the counts kept decide where to resume."""
    name = f"ahead-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_bootstrap, name, tmp_path / "state") | {"SPIKEWATCH_WORKER__INGEST": ingest}
    if ingest == "batch":  # small transactions, so the kill lands mid-stream (6,000 records in ~0.2 s else)
        env["SPIKEWATCH_WORKER__INGEST_BATCH_RECORDS"] = "100"
    data = labelled_input(6_000, malformed_share=0.02, seed=5)
    topic = _produce(env, data)
    expected = _expected_counts(data)
    valid = sum(data.by_type.values())
    worker = WorkerProcess(env, tmp_path / "worker.log")
    partway = worker.wait_for(lambda seen: sum(seen["by_type"].values()) >= valid / 3)
    assert partway is not None, worker.tail()
    worker.kill()
    # The worst case: the group's committed offsets say everything was processed.
    group = f"{name}-app" if ingest == "faust" else f"{name}-app-ingest"
    commit_offsets(kafka_bootstrap, group, topic, end_offsets(kafka_bootstrap, topic, 4))
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        seen = _settled(worker, expected)
        assert seen is not None and {k: seen[k] for k in expected} == expected, worker.tail()
        assert "resuming at" in worker.tail(200)
    finally:
        worker.stop()
