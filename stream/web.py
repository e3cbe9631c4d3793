"""HTTP endpoints of the worker, served by Faust's own web server.

* ``/metrics``: Prometheus text exposition of the worker's own registry.
* ``/healthz``: 200 while the worker consumes, 503 otherwise; a JSON body says why.
* ``/counts``: counts by type, feature and dead-letter reason held by this worker (summed over its
  partitions), as JSON.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from stream.counters import DeadLetterLog, EventCounters

__all__ = ["consumer_health", "register_endpoints"]


def consumer_health(app: faust.App) -> tuple[bool, str]:
    """Whether ``app`` is consuming now, and a short reason a person can act on."""
    if not app.started or app.should_stop:
        return False, "worker is not running"
    liveness = getattr(app, "kafka_liveness", None)
    if liveness is not None and not liveness.reachable:
        return False, "cut off from the Kafka brokers"
    if app.rebalancing:
        return False, "consumer group is rebalancing"
    if not app.tables.recovery.completed.is_set():
        return False, "restoring tables from their changelog topics"
    ingester = getattr(app, "ingester", None)
    if not app.consumer.assignment() and not (ingester is not None and ingester.assignment()):
        return False, "no partitions assigned to this worker"
    return True, "consuming"


def register_endpoints(
    app: faust.App, registry: CollectorRegistry, counters: EventCounters, dead_letters: DeadLetterLog
) -> None:
    """Add ``/metrics``, ``/healthz`` and ``/counts`` to ``app``'s web server."""

    @app.page("/metrics", name="spikewatch_metrics")
    async def metrics(self: View, request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        # aiohttp wants the charset apart from the media type; the exposition is UTF-8 either way.
        media_type = content_type.split("; charset=")[0]
        return self.bytes(encoder(registry), content_type=media_type)

    @app.page("/healthz", name="spikewatch_healthz")
    async def healthz(self: View, request: Request) -> Response:
        healthy, reason = consumer_health(app)
        body: dict[str, Any] = {"status": "ok" if healthy else "unavailable", "reason": reason}
        return self.json(body, status=200 if healthy else 503)

    @app.page("/counts", name="spikewatch_counts")
    async def counts(self: View, request: Request) -> Response:
        healthy, reason = consumer_health(app)
        totals = {**counters.totals(), "dead_letters": dead_letters.totals()}
        return self.json({**totals, "consuming": healthy, "reason": reason})
