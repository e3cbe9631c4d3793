"""Helpers for the worker's Kafka tests: a labelled mixed input file and a worker subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from stream.kafka_local import free_port

FEATURES = ("checkout", "sso", "billing", "search", "export", "api")
EVENT_TYPES = ("ticket", "usage", "release", "account")


@dataclass
class LabelledInput:
    """Input lines with what the worker must make of them."""

    lines: list[bytes] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)
    by_feature: Counter[str] = field(default_factory=Counter)
    #: Line index -> expected rejection reason.
    rejected: dict[int, str] = field(default_factory=dict)


def _valid(kind: str, i: int, rng: random.Random) -> dict:
    account = f"acct-{rng.randrange(300)}"
    time_ = 1_772_460_300 + i
    if kind == "ticket":
        return {"type": "ticket", "ticket_id": f"T-{i}", "account_id": account,
                "feature": rng.choice(FEATURES), "severity": rng.choice(["low", "normal", "high"]),
                "time": f"2026-03-02T14:{i % 60:02d}:00Z"}  # fmt: skip
    if kind == "usage":
        return {"type": "usage", "account_id": account, "feature": rng.choice(FEATURES),
                "count": rng.randrange(1, 50), "time": time_ * 1000}  # fmt: skip
    if kind == "release":
        return {"type": "release", "version": f"4.{i}.0", "features": rng.sample(FEATURES, 2), "time": time_}
    return {"type": "account", "account_id": account, "mrr": 99.0 * rng.randrange(1, 40),
            "seats": rng.randrange(1, 200), "tier": "business", "time": time_}  # fmt: skip


def _malformed(i: int) -> tuple[bytes, str]:
    ticket = _valid("ticket", i, random.Random(i))
    variants: list[tuple[bytes, str]] = [
        (b'{"type": "ticket", "ticket_id": ' + str(i).encode(), "not_json"),
        (json.dumps({**ticket, "type": "refund"}).encode(), "unknown_type"),
        (json.dumps({k: v for k, v in ticket.items() if k != "account_id"}).encode(), "missing_field"),
        (json.dumps({**ticket, "severity": "catastrophic"}).encode(), "invalid_field"),
        (json.dumps({**ticket, "time": "2026-03-02T14:05:00"}).encode(), "naive_time"),
        (
            json.dumps({"type": "usage", "account_id": "acct-1", "count": -3, "time": 1772460300}).encode(),
            "negative_count",
        ),
        (json.dumps({**ticket, "subject": "x" * 70_000}).encode(), "too_large"),
        (
            b'{"type": "ticket", "subject": "\xff\xfe", "ticket_id": "T-' + str(i).encode() + b'"}',
            "invalid_utf8",
        ),
        (b"[1, 2, 3]", "not_object"),
    ]
    return variants[i % len(variants)]


def labelled_input(n: int, *, malformed_share: float = 0.02, seed: int = 7) -> LabelledInput:
    """``n`` lines of all four event types, ``malformed_share`` of them malformed in assorted ways."""
    rng = random.Random(seed)
    data = LabelledInput()
    bad = set(rng.sample(range(n), round(n * malformed_share)))
    for i in range(n):
        if i in bad:
            line, reason = _malformed(len(data.rejected))
            data.rejected[i] = reason
        else:
            kind = rng.choices(EVENT_TYPES, weights=(30, 60, 2, 8))[0]
            event = _valid(kind, i, rng)
            line = json.dumps(event).encode()
            data.by_type[kind] += 1
            if kind == "ticket":
                data.by_feature[event["feature"]] += 1
        data.lines.append(line)
    return data


def worker_env(
    bootstrap: str, name: str, state_dir: Path, *, guarantee: str = "at_least_once"
) -> dict[str, str]:
    """Environment of a worker with its own app id and topics, so tests never share state."""
    return {
        **os.environ,
        "SPIKEWATCH_KAFKA__BOOTSTRAP": bootstrap,
        "SPIKEWATCH_WORKER__APP_ID": f"{name}-app",
        "SPIKEWATCH_WORKER__STATE_DIR": str(state_dir),
        "SPIKEWATCH_WORKER__PROCESSING_GUARANTEE": guarantee,
        "SPIKEWATCH_TOPICS__INPUT": f"{name}.events",
        "SPIKEWATCH_TOPICS__DEADLETTER": f"{name}.deadletter",
        "SPIKEWATCH_TOPICS__ALERT_PREFIX": f"{name}.alerts.",
        "SPIKEWATCH_TOPICS__FEEDBACK": f"{name}.feedback",
        "SPIKEWATCH_TOPICS__PARTITIONS": "4",
        "SPIKEWATCH_WORKER__SESSION_TIMEOUT": "8",  # a killed worker's partitions move on quickly
    }


class WorkerProcess:
    """A ``spikewatch worker`` subprocess and its HTTP endpoints.

    Every process started is listed in ``WorkerProcess.started`` until :func:`stop_leftover_workers`
    (an autouse fixture runs it after each test), so a test that fails between starting a worker
    and its ``finally`` does not leave it running against a broker that is gone.
    """

    started: ClassVar[list[WorkerProcess]] = []

    def __init__(self, env: dict[str, str], log_path: Path, loglevel: str = "warning") -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = log_path.open("ab")
        cli = [
            sys.executable,
            "-m",
            "stream.cli",
            "worker",
            "--web-port",
            str(self.port),
            "--loglevel",
            loglevel,
        ]
        self.process = subprocess.Popen(cli, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        WorkerProcess.started.append(self)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def counts(self) -> dict | None:
        """``/counts`` as JSON, or None while the web server is not up."""
        with contextlib.suppress(OSError):
            status, body = self.get("/counts")
            if status == 200:
                return json.loads(body)
        return None

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 90.0) -> dict | None:
        """Poll ``/counts`` until ``predicate`` holds; the last counts seen (None if never up)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"worker exited with {self.process.returncode}: {self.tail()}"
            last = self.counts() or last
            if last is not None and predicate(last):
                return last
            time.sleep(0.3)
        return last

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as {sample name with labels: value}; empty while the web server is not up."""
        with contextlib.suppress(OSError):
            status, body = self.get("/metrics")
            if status == 200:
                return parse_metrics(body.decode())
        return {}

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.process.returncode

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_leftover_workers() -> int:
    """Stop every worker process a test started and left running; how many there were."""
    left = [worker for worker in WorkerProcess.started if worker.process.poll() is None]
    for worker in left:
        worker.stop()
    WorkerProcess.started.clear()
    return len(left)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition as {name{labels}: value}."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list:
    """Every record of ``topic`` from the start, reading until ``expected`` arrived or ``timeout``."""

    async def consume() -> list:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                    enable_auto_commit=False, isolation_level="read_committed")  # fmt: skip
        await consumer.start()
        found: list = []
        try:
            deadline = time.monotonic() + timeout
            while len(found) < expected and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=1000)
                for batch in batches.values():
                    found.extend(batch)
            # One more quiet poll, so a surplus (duplicates) would show too.
            for batch in (await consumer.getmany(timeout_ms=2000)).values():
                found.extend(batch)
        finally:
            await consumer.stop()
        return found

    return asyncio.run(consume())


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def commit_offsets(
    bootstrap: str, group: str, topic: str, offsets: dict[int, int], timeout: float = 60.0
) -> None:
    """Commit ``offsets`` (partition -> offset) for ``group``, retrying until its members have left."""

    async def commit() -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.errors import KafkaError

        deadline = time.monotonic() + timeout
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
            await consumer.start()
            try:
                partitions = [TopicPartition(topic, partition) for partition in offsets]
                consumer.assign(partitions)
                await consumer.commit({TopicPartition(topic, p): offset for p, offset in offsets.items()})
                return
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)
            finally:
                await consumer.stop()

    asyncio.run(commit())


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """The next offset to be written in each partition of ``topic``."""

    async def ends() -> dict[int, int]:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await consumer.start()
        try:
            found = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
            return {tp.partition: offset for tp, offset in found.items()}
        finally:
            await consumer.stop()

    return asyncio.run(ends())


def data_end(bootstrap: str, topic: str, partition: int = 0, tail: int = 64) -> int:
    """The offset after the last committed *record* of one partition of ``topic``.

    Below the end offset when the topic is written in transactions: every commit appends a control
    marker, which takes an offset but is never delivered, so a consumer's last applied offset + 1
    stops one short of the end.
    """

    async def last() -> int:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        tp = TopicPartition(topic, partition)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                                    enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        try:
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            consumer.seek(tp, max(0, end - tail))
            found, deadline = 0, time.monotonic() + 30.0
            while await consumer.position(tp) < end and time.monotonic() < deadline:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                found = max([found, *(record.offset + 1 for record in batch.get(tp, []))])
            return found
        finally:
            await consumer.stop()

    return asyncio.run(last())


#: The comparison of alerts between runs: what a subscriber acts on (not evidence or wall time).
def alert_signature(alert) -> tuple:
    return (alert.kind, alert.dedup_key, alert.status, alert.feature, alert.release, alert.account_id)


def simulated_lines(
    *, seed: int = 2, days: int = 9, accounts: int = 120, max_lateness_s: float = 100.0
) -> list[bytes]:
    """A stream with a regression, a flood and churners, delivered at most ``max_lateness_s`` late."""
    from sim.config import SimConfig
    from sim.simulator import simulate

    return simulate(SimConfig(seed=seed, days=days, accounts=accounts, max_lateness_s=max_lateness_s)).lines


def read_alerts(bootstrap: str, prefix: str, partitions: int = 4) -> list:
    """Every alert on the alert topics under ``prefix`` (all kinds), in no particular order."""
    from schemas.alerts import Alert
    from stream.alerts import alert_topics

    async def consume() -> list:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        tps = [TopicPartition(topic, p) for topic in alert_topics(prefix) for p in range(partitions)]
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            ends = {}
            for tp in tps:  # a topic no alert was sent to may not exist
                with contextlib.suppress(Exception):
                    ends.update(await consumer.end_offsets([tp]))
            live = [tp for tp, end in ends.items() if end > 0]
            if not live:
                return []
            consumer.assign(live)
            for tp in live:
                consumer.seek(tp, 0)
            found: list = []
            remaining = set(live)
            while remaining:
                for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                    found.extend(Alert.from_json(record.value) for record in batch)
                    if batch and batch[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            return found
        finally:
            await consumer.stop()

    return asyncio.run(consume())


def detection_settled(
    workers: list, bootstrap: str, detection_topic: str, events: int, timeout: float = 300.0
) -> dict[str, float]:
    """Wait until the detection stage holds all ``events`` and has applied its whole topic.

    Returns the metrics of the worker running detection then (the last seen if it never settles).
    """
    deadline = time.monotonic() + timeout
    settled_at = None
    detecting: dict[str, float] = {}
    while time.monotonic() < deadline:
        for worker in workers:
            assert worker.process.poll() is None, f"worker exited: {worker.tail()}"
        detecting = max((w.metrics() for w in workers), key=lambda m: m.get("spikewatch_detection_offset", 0))
        applied = detecting.get("spikewatch_detection_offset", 0.0)
        held = detecting.get("spikewatch_detection_events", 0) + detecting.get(
            "spikewatch_detection_reorder_buffered", 0
        )
        if applied == 0 or held < events:  # (asking for the offsets of a missing topic creates it)
            time.sleep(1)
            continue
        end = data_end(bootstrap, detection_topic)
        if applied >= end:
            if settled_at is not None and settled_at == end:
                return detecting | {"settled": 1.0}
            settled_at = end
            time.sleep(3)  # a caught-up marker may still be on its way
        else:
            settled_at = None
            time.sleep(1)
    return detecting


def wait_metric(
    worker: WorkerProcess, name: str, at_least: float, timeout: float = 180.0, poll: float = 0.2
) -> dict:
    """Poll ``/metrics`` until ``name`` reaches ``at_least``; the metrics then (fails if the worker dies)."""
    deadline = time.monotonic() + timeout
    metrics: dict = {}
    while time.monotonic() < deadline:
        assert worker.process.poll() is None, worker.tail()
        metrics = worker.metrics() or metrics
        if metrics.get(name, 0) >= at_least:
            return metrics
        time.sleep(poll)
    raise AssertionError(f"{name} stayed below {at_least}: {metrics.get(name)}\n{worker.tail()}")
