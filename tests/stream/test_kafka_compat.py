"""The pinned Kafka broker works with the client stack spikewatch runs on: aiokafka and faust-streaming.

Kafka 4 dropped many old protocol versions (KIP-896), so these tests guard the versions pinned in
``stream/kafka_local.py`` and ``deploy/kafka/pom.xml`` against a client that still speaks an old one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

pytestmark = pytest.mark.kafka


def unique(name: str) -> str:
    return f"compat-{name}-{uuid.uuid4().hex[:8]}"


async def create_topics(bootstrap: str, *names: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    finally:
        await admin.close()


async def read_all(
    bootstrap: str, topic: str, expected: int, *, patience: float = 20.0, **consumer_args: object
) -> list[bytes]:
    """Values of ``topic`` from the start, once ``expected`` arrived or ``patience`` seconds passed."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", **consumer_args
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        for _ in range(int(patience * 2)):
            batches = await consumer.getmany(timeout_ms=500)
            values += [record.value for records in batches.values() for record in records]
            if len(values) >= expected:
                break
    finally:
        await consumer.stop()
    return values


async def test_admin_creates_topics_with_the_requested_partitions(kafka_bootstrap: str) -> None:
    topic = unique("admin")
    await create_topics(kafka_bootstrap, topic, partitions=3)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert topic in await admin.list_topics()
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(description["partitions"]) == 3


async def test_consumer_group_commits_and_resumes_after_its_offset(kafka_bootstrap: str) -> None:
    topic, group = unique("group"), unique("group")
    await create_topics(kafka_bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"m{i}".encode())
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        first = [await consumer.getone() for _ in range(3)]
        await consumer.commit()
        committed = await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()
    assert [m.value for m in first] == [b"m0", b"m1", b"m2"]
    assert committed == 3

    rest = await read_all(kafka_bootstrap, topic, 2, group_id=group, enable_auto_commit=False)
    assert rest == [b"m3", b"m4"]


async def test_transaction_commits_output_and_input_offsets_together(kafka_bootstrap: str) -> None:
    source, sink, group = unique("tx-in"), unique("tx-out"), unique("tx")
    await create_topics(kafka_bootstrap, source, sink)
    plain = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await plain.start()
    try:
        await plain.send_and_wait(source, b"ticket")
    finally:
        await plain.stop()

    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=unique("txid"))
    await consumer.start()
    await producer.start()
    try:
        record = await consumer.getone()
        async with producer.transaction():
            await producer.send(sink, record.value.upper())
            await producer.send_offsets_to_transaction(
                {TopicPartition(source, record.partition): record.offset + 1}, group
            )
        await producer.begin_transaction()
        await producer.send(sink, b"never visible")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(sink, b"after abort")
        committed = await consumer.committed(TopicPartition(source, 0))
    finally:
        await producer.stop()
        await consumer.stop()
    assert committed == 1
    visible = await read_all(kafka_bootstrap, sink, 2, isolation_level="read_committed")
    assert visible == [b"TICKET", b"after abort"]


FAUST_APP = textwrap.dedent(
    """
    import sys
    import faust

    bootstrap, guarantee, app_id, source_name, sink_name, datadir = sys.argv[1:7]
    app = faust.App(
        app_id, broker=f"kafka://{bootstrap}", processing_guarantee=guarantee, store="memory://",
        topic_partitions=1, topic_replication_factor=1, web_enabled=False, datadir=datadir,
        broker_commit_every=1,
    )
    source = app.topic(source_name, key_type=bytes, value_type=bytes, value_serializer="raw",
                       key_serializer="raw", partitions=1)
    sink = app.topic(sink_name, key_type=bytes, value_type=bytes, value_serializer="raw",
                     key_serializer="raw", partitions=1)
    counts = app.Table("counts", default=int, partitions=1)

    @app.agent(source)
    async def count(stream):
        async for key, value in stream.items():
            counts[value.decode()] += 1
            await sink.send(key=value, value=f"{value.decode()}={counts[value.decode()]}".encode())

    if __name__ == "__main__":
        sys.argv = [sys.argv[0], "worker", "--loglevel", "info", "--without-web"]
        app.main()
    """
)


@contextlib.contextmanager
def faust_worker(workdir: Path, *args: str) -> Iterator[None]:
    """Run the counting app as a Faust worker subprocess; SIGTERM (a clean shutdown) on exit."""
    script = workdir / "counting_app.py"
    script.write_text(FAUST_APP)
    with open(workdir / "worker.log", "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, str(script), *args, str(workdir / "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


async def send_values(bootstrap: str, topic: str, *values: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=value)
    finally:
        await producer.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
async def test_faust_table_counts_and_survives_a_worker_restart(
    kafka_bootstrap: str, tmp_path: Path, guarantee: str
) -> None:
    app_id, source, sink = unique("faust"), unique("faust-in"), unique("faust-out")
    await create_topics(kafka_bootstrap, source, sink)
    isolation = "read_committed" if guarantee == "exactly_once" else "read_uncommitted"
    args = (kafka_bootstrap, guarantee, app_id, source, sink)

    with faust_worker(tmp_path, *args):
        await send_values(kafka_bootstrap, source, b"checkout", b"login", b"checkout")
        first = await read_all(kafka_bootstrap, sink, 3, patience=90, isolation_level=isolation)
    # The second worker must rebuild the Table from its changelog topic and resume after the committed
    # source offset: no record counted twice, none lost.
    with faust_worker(tmp_path, *args):
        await send_values(kafka_bootstrap, source, b"checkout")
        # exactly_once recovery waits ~10 s when the changelog ends in a transaction marker (faust's
        # aborted-transaction detection), and a worker starts slowly on a busy machine
        outputs = await read_all(kafka_bootstrap, sink, 4, patience=90, isolation_level=isolation)
    changelog = await read_all(kafka_bootstrap, f"{app_id}-counts-changelog", 4, isolation_level=isolation)

    log = (tmp_path / "worker.log").read_text(errors="replace")[-4000:]
    assert first == [b"checkout=1", b"login=1", b"checkout=2"], log
    assert outputs == [*first, b"checkout=3"], log
    assert len(changelog) == 4, log
