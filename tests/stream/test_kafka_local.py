"""The project's own Kafka broker: fetch and start errors, loopback binding, stop and restart."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stream.kafka_local import KafkaError, LocalKafka, broker_answers, free_port, new_cluster_id, port_is_free


def listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Addresses with a socket in LISTEN state on ``port``, read from /proc/net/tcp and tcp6."""
    addresses: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            hex_address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A is TCP_LISTEN
                continue
            # the kernel prints each 32-bit word of the address in host (little-endian) byte order
            raw = b"".join(bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8))
            address = ipaddress.ip_address(raw)
            mapped = getattr(address, "ipv4_mapped", None)  # Java listens on ::ffff:127.0.0.1
            addresses.add(mapped or address)
    return addresses


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)


def test_cluster_ids_are_fresh_and_never_look_like_a_flag() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_port_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="port"):
        LocalKafka(70000)


def test_missing_java_is_a_clear_error(tmp_path: Path) -> None:
    kafka = LocalKafka(data_dir=tmp_path, java=str(tmp_path / "no-such-java"))
    with pytest.raises(KafkaError, match="Java not found"):
        kafka.start()
    assert not kafka.is_running()


def test_missing_maven_is_a_clear_error(tmp_path: Path) -> None:
    kafka = LocalKafka(version="0.0.0-not-fetched", mvn=str(tmp_path / "no-such-mvn"))
    with pytest.raises(KafkaError, match="Maven not found"):
        kafka.fetch()


def test_nothing_answers_on_a_closed_port() -> None:
    assert not broker_answers(f"127.0.0.1:{free_port()}", timeout=1.0)


@pytest.mark.kafka
def test_session_broker_listens_on_loopback_only(local_kafka: LocalKafka) -> None:
    assert broker_answers(local_kafka.bootstrap)
    assert local_kafka.bootstrap.startswith("127.0.0.1:")
    assert listening_addresses(local_kafka.port) == {ipaddress.ip_address("127.0.0.1")}


@pytest.mark.kafka
async def test_restart_keeps_port_topics_and_offsets(local_kafka: LocalKafka) -> None:
    topic, group = f"restart-{uuid.uuid4().hex[:8]}", f"restart-{uuid.uuid4().hex[:8]}"
    bootstrap, pid = local_kafka.bootstrap, local_kafka.pid
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before", partition=0)
        await producer.send_and_wait(topic, b"after", partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        assert (await consumer.getone()).value == b"before"
        await consumer.commit()
    finally:
        await consumer.stop()

    local_kafka.restart()

    assert local_kafka.bootstrap == bootstrap
    assert local_kafka.pid != pid
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        assert (await consumer.getone()).value == b"after"
    finally:
        await consumer.stop()


@pytest.mark.kafka
@pytest.mark.slow
def test_context_manager_starts_once_and_stops_and_cleans_up() -> None:
    with LocalKafka(heap="256m") as kafka:
        pid = kafka.pid
        assert broker_answers(kafka.bootstrap)
        assert kafka.start().pid == pid  # starting a running broker is a no-op
        data_dir = kafka.log_file.parent
        assert data_dir.is_dir()
    assert not kafka.is_running()
    assert kafka.pid is None
    assert not broker_answers(kafka.bootstrap, timeout=1.0)
    assert not data_dir.exists()


def test_busy_port_is_refused_before_touching_its_run_folder() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        kafka = LocalKafka(squatter.getsockname()[1])
        with pytest.raises(KafkaError, match="already in use"):
            kafka.start()
        assert not kafka.is_running()


@pytest.mark.kafka
@pytest.mark.slow
def test_broker_that_cannot_bind_its_port_fails_with_its_log(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        kafka = LocalKafka(squatter.getsockname()[1], data_dir=tmp_path, heap="256m")
        with pytest.raises(KafkaError, match="exited with code") as error:
            kafka.start()
    assert "Address already in use" in str(error.value)
    assert not kafka.is_running()


def test_secure_broker_config_adds_tls_and_scram_listeners(tmp_path):
    from stream.kafka_secure import SecureLocalKafka

    kafka = SecureLocalKafka(free_port(), data_dir=tmp_path, password="pw-123")
    kafka._controller_port = free_port()
    text = kafka._config_text(tmp_path)
    listeners = [line for line in text.splitlines() if line.startswith("listeners=")][-1]  # the last one wins
    assert f"SSL://{kafka.ssl_bootstrap}" in listeners
    assert f"SASL_SSL://{kafka.sasl_ssl_bootstrap}" in listeners
    assert "ssl.keystore.type=PEM" in text and kafka.ca_file.is_file()
    assert kafka._format_options() == ["--add-scram", "SCRAM-SHA-512=[name=spikewatch,password=pw-123]"]


@pytest.mark.parametrize(("username", "password"), [("", None), ("a=b", None), ("ok", "x,y"), ("ok", "[x]")])
def test_secure_broker_rejects_credentials_the_format_tool_cannot_read(username, password):
    from stream.kafka_secure import SecureLocalKafka

    with pytest.raises(ValueError, match=r"username|password"):
        SecureLocalKafka(username=username, password=password)
