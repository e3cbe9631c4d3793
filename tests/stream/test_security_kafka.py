"""The worker against hostile input, over TLS and SASL/SCRAM, and what it exposes over HTTP.

* The nasty-record corpus goes through a real worker on the shared broker: every record is counted
  or dead-lettered with the reason the parser gives, the worker never exits, /metrics names no account.
* A broker of our own (:class:`stream.kafka_secure.SecureLocalKafka`) serves SSL and SASL_SSL: the
  worker connects with a CA file, a user and a password from the environment or a file; it refuses a
  plain-text port, a wrong password and an untrusted certificate with exit status 3; the password
  appears in no log, no ``spikewatch config`` output and no metric.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.deadletter import DeadLetter
from schemas.parse import Rejection, parse_event
from stream.commands.worker import PREFLIGHT_FAILED
from stream.kafka_secure import SecureLocalKafka
from tests.schemas.corpus import build_corpus, format_table, tally
from tests.stream.test_kafka_local import listening_addresses
from tests.stream.worker_support import WorkerProcess, read_topic, worker_env

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]

ACCOUNTS = ("acct-nasty", "acct-secure-7f3a")
VALID_EVENTS = [
    {
        "type": "ticket",
        "ticket_id": f"T-{i}",
        "account_id": ACCOUNTS[1],
        "feature": "sso",
        "time": 1772460300 + i,
    }
    for i in range(5)
] + [{"type": "usage", "account_id": ACCOUNTS[1], "count": 3, "time": 1772460400}]


def _produce(bootstrap: str, topic: str, values: list[bytes | None], **options: object) -> None:
    """Send ``values`` in order to partition 0, so offset ``i`` holds ``values[i]``."""

    async def send() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=4 * 2**20, **options)
        await producer.start()
        try:
            for value in values:
                key = b"tombstone" if value is None else None  # a tombstone needs a key
                await producer.send_and_wait(topic, value, key=key, partition=0)
        finally:
            await producer.stop()

    asyncio.run(send())


def _create_topics(bootstrap: str, *topics: str) -> None:
    async def create() -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 4, 1) for topic in topics])
        finally:
            await admin.close()

    asyncio.run(create())


def _expected_counts(values: list[bytes | None]) -> dict:
    by_type: Counter[str] = Counter()
    by_feature: Counter[str] = Counter()
    dead: Counter[str] = Counter()
    for value in values:
        result = parse_event(b"" if value is None else value)
        if isinstance(result, Rejection):
            dead[result.reason] += 1
        else:
            by_type[result.type] += 1
            if result.type == "ticket":
                by_feature[result.feature] += 1
    return {"by_type": dict(by_type), "by_feature": dict(by_feature), "dead_letters": dict(dead)}


def _settled(worker: WorkerProcess, expected: dict, timeout: float = 150) -> dict | None:
    keys = ("by_type", "by_feature", "dead_letters")
    seen = worker.wait_for(lambda counts: {key: counts[key] for key in keys} == expected, timeout=timeout)
    return None if seen is None else {key: seen[key] for key in keys}


def test_nasty_corpus_through_a_worker(kafka_bootstrap, tmp_path, capsys):
    name = f"nasty-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_bootstrap, name, tmp_path / "state")
    corpus = build_corpus()
    values: list[bytes | None] = [item.raw for item in corpus] + [None]  # and a tombstone
    _create_topics(kafka_bootstrap, f"{name}.events")
    _produce(kafka_bootstrap, f"{name}.events", values)
    expected = _expected_counts(values)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        assert _settled(worker, expected) == expected, worker.tail()
        letters = [
            DeadLetter.from_json(r.value) for r in read_topic(kafka_bootstrap, f"{name}.deadletter", 1)
        ]
        by_offset = {letter.offset: letter for letter in letters if letter.partition == 0}
        for offset, item in enumerate(corpus):
            if item.accepted_as is None:
                letter = by_offset.pop(offset)
                assert (letter.reason, letter.field) == (item.reason, item.field), item.raw[:100]
                assert letter.original_size == len(item.raw)
        assert by_offset.pop(len(corpus)).reason == "not_json"  # the tombstone
        assert by_offset == {}  # nothing accepted was dead-lettered
        status, metrics = worker.get("/metrics")
        assert status == 200
        assert not [account for account in ACCOUNTS if account.encode() in metrics]
        # Only metrics, health and counts: Faust's table and router pages would serve state by key.
        exposed = {path: worker.get(path)[0] for path in ("/table/", "/table/ingest_state/", "/router/")}
        assert exposed == dict.fromkeys(exposed, 404)
        assert worker.process.poll() is None
    finally:
        assert worker.stop() == 0, worker.tail()
    with capsys.disabled():
        print(f"\nnasty records through a worker (+1 tombstone):\n{format_table(tally(corpus))}")


# TLS and SASL/SCRAM


@pytest.fixture(scope="module")
def secure_kafka() -> Iterator[SecureLocalKafka]:
    with SecureLocalKafka(heap="384m") as kafka:
        yield kafka


def _secure_env(
    kafka: SecureLocalKafka, name: str, state: Path, *, password_file: Path | None
) -> dict[str, str]:
    env = worker_env(kafka.sasl_ssl_bootstrap, name, state)
    env.update(
        {
            "SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "SPIKEWATCH_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
            "SPIKEWATCH_KAFKA__SASL_USERNAME": kafka.username,
            "SPIKEWATCH_KAFKA__SSL_CAFILE": str(kafka.ca_file),
            "SPIKEWATCH_KAFKA__REQUIRE_TLS": "true",
        }
    )
    if password_file is None:
        env["SPIKEWATCH_KAFKA__SASL_PASSWORD"] = kafka.password
    else:
        password_file.write_text(kafka.password + "\n")
        env["SPIKEWATCH_KAFKA__SASL_PASSWORD_FILE"] = str(password_file)
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("source", ["environment", "file"])
def test_worker_over_sasl_ssl_keeps_the_password_secret(secure_kafka, tmp_path, source):
    name = f"secure-{source}-{uuid.uuid4().hex[:6]}"
    password_file = tmp_path / "kafka-password" if source == "file" else None
    env = _secure_env(secure_kafka, name, tmp_path / "state", password_file=password_file)
    values = [json.dumps(event).encode() for event in VALID_EVENTS] + [b"not json"]
    _create_topics(secure_kafka.bootstrap, f"{name}.events")  # set-up over the PLAINTEXT port
    _produce(secure_kafka.bootstrap, f"{name}.events", values)
    expected = _expected_counts(values)
    worker = WorkerProcess(env, tmp_path / "worker.log", loglevel="info")
    try:
        assert _settled(worker, expected) == expected, worker.tail()
        _, metrics = worker.get("/metrics")
        _, counts = worker.get("/counts")
    finally:
        assert worker.stop() == 0, worker.tail()
    shown = _cli("config", env=env)
    assert shown.returncode == 0, shown.stderr
    toml = _cli("config", "--format", "toml", env=env)
    secret = secure_kafka.password.encode()
    exposed = {
        "worker log": worker.log_path.read_bytes(),
        "config json": shown.stdout.encode(),
        "config toml": toml.stdout.encode(),
        "/metrics": metrics,
        "/counts": counts,
    }
    assert [where for where, text in exposed.items() if secret in text] == []
    assert b"SASL_SSL" in exposed["config json"]  # the output is the real settings, only masked
    assert [where for where, text in exposed.items() if ACCOUNTS[1].encode() in text] == []


def test_worker_over_ssl_with_a_ca_file(secure_kafka, tmp_path):
    name = f"ssl-{uuid.uuid4().hex[:6]}"
    env = worker_env(secure_kafka.ssl_bootstrap, name, tmp_path / "state")
    env.update(
        {
            "SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": "SSL",
            "SPIKEWATCH_KAFKA__SSL_CAFILE": str(secure_kafka.ca_file),
        }
    )
    values = [json.dumps(event).encode() for event in VALID_EVENTS]
    _create_topics(secure_kafka.bootstrap, f"{name}.events")
    _produce(secure_kafka.bootstrap, f"{name}.events", values)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        assert _settled(worker, _expected_counts(values)) == _expected_counts(values), worker.tail()
    finally:
        assert worker.stop() == 0, worker.tail()


def _refused(env: dict[str, str], status: int, *fragments: str, secret: str) -> None:
    result = _cli("worker", env=env)
    assert result.returncode == status, (result.stdout, result.stderr)
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stdout + result.stderr


def test_require_tls_refuses_a_plaintext_protocol(secure_kafka, tmp_path):
    env = _secure_env(secure_kafka, "refuse-plain", tmp_path / "state", password_file=None)
    env.update(
        {
            "SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "SPIKEWATCH_KAFKA__BOOTSTRAP": secure_kafka.bootstrap,
        }
    )
    _refused(env, 2, "require_tls is set but security_protocol=SASL_PLAINTEXT", secret=secure_kafka.password)


def test_tls_settings_refuse_a_plaintext_listener(secure_kafka, tmp_path):
    env = _secure_env(secure_kafka, "refuse-port", tmp_path / "state", password_file=None)
    env["SPIKEWATCH_KAFKA__BOOTSTRAP"] = secure_kafka.bootstrap  # the PLAINTEXT port
    _refused(
        env,
        PREFLIGHT_FAILED,
        "did not complete a TLS handshake",
        "PLAINTEXT listener",
        secret=secure_kafka.password,
    )


def test_wrong_password_is_refused(secure_kafka, tmp_path):
    env = _secure_env(secure_kafka, "refuse-login", tmp_path / "state", password_file=None)
    env["SPIKEWATCH_KAFKA__SASL_PASSWORD"] = "not-the-password-0000"
    _refused(env, PREFLIGHT_FAILED, "refused the SASL login of user", secret="not-the-password-0000")


def test_untrusted_certificate_is_refused(secure_kafka, tmp_path):
    env = _secure_env(secure_kafka, "refuse-ca", tmp_path / "state", password_file=None)
    del env["SPIKEWATCH_KAFKA__SSL_CAFILE"]  # system CAs do not know the test CA
    _refused(env, PREFLIGHT_FAILED, "is not trusted", "kafka.ssl_cafile", secret=secure_kafka.password)


def test_password_file_problems_are_config_errors(secure_kafka, tmp_path):
    env = _secure_env(secure_kafka, "refuse-file", tmp_path / "state", password_file=tmp_path / "pw")
    env["SPIKEWATCH_KAFKA__SASL_PASSWORD_FILE"] = str(tmp_path / "missing")
    _refused(env, 2, "sasl_password_file", "cannot be read", secret=secure_kafka.password)
    env["SPIKEWATCH_KAFKA__SASL_PASSWORD"] = secure_kafka.password
    env["SPIKEWATCH_KAFKA__SASL_PASSWORD_FILE"] = str(tmp_path / "pw")
    _refused(env, 2, "not both", secret=secure_kafka.password)


def test_endpoints_listen_on_the_configured_address_only(kafka_bootstrap, tmp_path):
    name = f"web-{uuid.uuid4().hex[:6]}"
    env = {
        **worker_env(kafka_bootstrap, name, tmp_path / "state"),
        "SPIKEWATCH_WORKER__WEB_HOST": "127.0.0.2",
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        assert worker.wait_for(lambda counts: True, timeout=1) is None  # nothing on 127.0.0.1
        deadline = time.monotonic() + 60
        while not listening_addresses(worker.port) and time.monotonic() < deadline:
            assert worker.process.poll() is None, worker.tail()
            time.sleep(0.3)
        assert listening_addresses(worker.port) == {ipaddress.ip_address("127.0.0.2")}
    finally:
        assert worker.stop() == 0, worker.tail()
