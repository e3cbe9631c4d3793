"""Send newline-delimited records to an input topic as they are, keyed by account when they parse.

Lines go out byte for byte, malformed ones included, so a test or an operator can inject exactly what
a broken upstream would send. The key is the ``account_id`` of a line that is a JSON object with one
(so an account's events stay in order on one partition), otherwise no key.

Examples
--------
>>> record_key(b'{"type": "usage", "account_id": "acme", "time": 1772460300}')
b'acme'
>>> record_key(b'{"type": "release"') is None
True

"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream.config import KafkaSettings

__all__ = ["ensure_topic", "produce_lines", "record_key", "records"]

_IN_FLIGHT = 2000  # sends awaited in batches, so memory stays bounded on long files


def record_key(line: bytes) -> bytes | None:
    """``account_id`` of a JSON-object line as UTF-8 bytes, or None."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    account = document.get("account_id") if isinstance(document, dict) else None
    return account.encode() if isinstance(account, str) and account else None


def records(lines: Iterable[bytes]) -> Iterable[bytes]:
    """The records of newline-delimited input: each line without its line ending, blank lines skipped."""
    for line in lines:
        record = line.rstrip(b"\r\n")
        if record.strip():
            yield record


async def ensure_topic(
    kafka: KafkaSettings, topic: str, partitions: int, replication_factor: int = 1
) -> bool:
    """Create ``topic`` with ``partitions`` unless it exists; True if this call created it.

    Creating it here, rather than letting the broker auto-create it with its default partition count,
    keeps the input topic co-partitioned with the worker's table changelogs.
    """
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, replication_factor)])
    except TopicAlreadyExistsError:
        return False
    finally:
        await admin.close()
    return True


async def produce_lines(
    lines: Iterable[bytes],
    *,
    kafka: KafkaSettings,
    topic: str,
    rate: float | None = None,
    on_sent: Callable[[int], None] = lambda n: None,
) -> int:
    """Send every record of ``lines`` to ``topic``, at most ``rate`` per second; return how many.

    ``on_sent`` is called with the number of records just acknowledged by the broker. A record the
    broker refuses raises here (after the records before it were sent).
    """
    if rate is not None and rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", linger_ms=5)
    await producer.start()
    sent = 0
    pending: list[asyncio.Future] = []
    started = time.monotonic()
    try:
        for record in records(lines):
            if rate is not None:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            delivery = await producer.send(topic, record, key=record_key(record))
            delivery.add_done_callback(lambda future: future.exception() or on_sent(1))
            pending.append(delivery)
            sent += 1
            if len(pending) >= _IN_FLIGHT:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent
