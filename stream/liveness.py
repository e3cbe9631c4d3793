"""Whether the worker can reach its Kafka cluster, for ``/healthz`` and a gauge.

Faust and aiokafka keep a worker's partition assignment while the brokers are gone and retry
quietly, so "has partitions" stays true while nothing is consumed. :class:`KafkaLiveness` probes the
bootstrap servers with a TCP connection every few seconds: reachable if any of them accepts one. A
broker that accepts connections but does not serve is not caught here (the consumer lag is).

Examples
--------
>>> import asyncio
>>> from stream.kafka_local import free_port
>>> asyncio.run(brokers_reachable(f"127.0.0.1:{free_port()}", timeout=1.0))
False
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import CollectorRegistry, Gauge

__all__ = ["KafkaLiveness", "brokers_reachable"]
logger = logging.getLogger(__name__)


async def brokers_reachable(bootstrap: str, *, timeout: float = 3.0) -> bool:
    """Whether any ``host:port`` of ``bootstrap`` accepts a TCP connection within ``timeout``."""
    for server in (s.strip() for s in bootstrap.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
        except (OSError, TimeoutError, ValueError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


class KafkaLiveness:
    """The outcome of the last probe, in ``reachable`` and the ``spikewatch_kafka_reachable`` gauge."""

    def __init__(self, bootstrap: str, registry: CollectorRegistry, *, timeout: float = 3.0) -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        self.reachable = True
        self._gauge = Gauge(
            "spikewatch_kafka_reachable", "1 if a bootstrap server accepted a connection at the last probe.",
            registry=registry,
        )  # fmt: skip
        self._gauge.set(1)

    async def probe(self) -> bool:
        """Probe once; logs when reachability changes."""
        reachable = await brokers_reachable(self.bootstrap, timeout=self.timeout)
        if reachable != self.reachable:
            level = logging.INFO if reachable else logging.WARNING
            state = "reachable again" if reachable else "unreachable"
            logger.log(level, "Kafka at %s is %s", self.bootstrap, state)
        self.reachable = reachable
        self._gauge.set(1 if reachable else 0)
        return reachable
