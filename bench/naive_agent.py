"""The naive Faust agent of the end-to-end benchmark: what a team writes first.

One Faust agent reads the raw records, validates each one into a pydantic model (the project's own
event models, :data:`schemas.events.EVENT_ADAPTER`) and updates River models per event: a running mean
and an exponentially weighted mean of the usage count (or ticket count) per (account, feature). No
windows, no detection: the floor of what a per-event Faust + pydantic + River design costs.

Run as ``python -m bench.naive_agent --bootstrap HOST:PORT --topic T --partitions N --web-port P``;
``GET /count`` answers ``{"processed": n, "invalid": m, "keys": k}``.

Examples
--------
>>> baselines = NaiveBaselines()
>>> baselines.learn(b'{"type": "usage", "account_id": "a", "feature": "sso", "count": 4, "time": 1772460300}')
>>> baselines.learn(b'{"type": "usage", "account_id": "a", "feature": "sso", "count": 2, "time": 1772460360}')
>>> baselines.learn(b'{"type": "usage"}')
>>> baselines.processed, baselines.invalid, baselines.mean("a", "sso")
(3, 1, 3.0)

"""

from __future__ import annotations

import argparse
import tempfile
from typing import TYPE_CHECKING

import orjson
from pydantic import ValidationError
from river import stats

from schemas.events import EVENT_ADAPTER

if TYPE_CHECKING:
    import faust

__all__ = ["NaiveBaselines", "create_naive_app"]


class NaiveBaselines:
    """Per (account, feature) River ``Mean`` and ``EWMean`` of usage counts and tickets."""

    def __init__(self, fading_factor: float = 0.1) -> None:
        if not 0 < fading_factor <= 1:
            raise ValueError(f"fading_factor must be in (0, 1], got {fading_factor}")
        self.fading_factor = fading_factor
        self.processed = 0
        self.invalid = 0
        self._models: dict[tuple[str, str], tuple[stats.Mean, stats.EWMean]] = {}

    def learn(self, raw: bytes) -> None:
        """Validate one record and update the models of its (account, feature)."""
        self.processed += 1
        try:
            event = EVENT_ADAPTER.validate_json(raw)
        except ValidationError:
            self.invalid += 1
            return
        if event.type not in ("usage", "ticket"):
            return
        key = (event.account_id, event.feature or "")
        models = self._models.get(key)
        if models is None:
            models = self._models[key] = (stats.Mean(), stats.EWMean(self.fading_factor))
        value = event.count if event.type == "usage" else 1
        for model in models:
            model.update(value)

    def mean(self, account_id: str, feature: str) -> float:
        """Running mean of (account, feature); 0 if never seen."""
        models = self._models.get((account_id, feature))
        return models[0].get() if models else 0.0

    def __len__(self) -> int:
        return len(self._models)


class DecodeOnly:
    """Counts records and decodes each with ``orjson.loads``: the floor of any Faust agent.

    Examples
    --------
    >>> floor = DecodeOnly()
    >>> floor.learn(b'{"type": "usage"}')
    >>> floor.processed, floor.invalid, len(floor)
    (1, 0, 0)
    """

    def __init__(self) -> None:
        self.processed = 0
        self.invalid = 0

    def learn(self, raw: bytes) -> None:
        """Decode one record."""
        self.processed += 1
        orjson.loads(raw)

    def __len__(self) -> int:
        return 0


def create_naive_app(
    app_id: str, bootstrap: str, topic: str, partitions: int, web_port: int, *, decode_only: bool = False
) -> faust.App:
    """The Faust app: one agent feeding :class:`NaiveBaselines` (or :class:`DecodeOnly`), and ``/count``."""
    import faust

    app = faust.App(app_id, broker=f"kafka://{bootstrap}", store="memory://", autodiscover=False,
                    datadir=tempfile.mkdtemp(prefix=f"{app_id}-"), topic_partitions=partitions,
                    web_bind="127.0.0.1", web_host="127.0.0.1", web_port=web_port)  # fmt: skip
    events = app.topic(topic, key_serializer="raw", value_serializer="raw", partitions=partitions)
    baselines: NaiveBaselines | DecodeOnly = DecodeOnly() if decode_only else NaiveBaselines()

    @app.agent(events, name="naive")
    async def learn(stream: faust.StreamT) -> None:
        async for value in stream:
            baselines.learn(value)

    @app.page("/count", name="naive_count")
    async def count(self: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return self.json({"processed": baselines.processed, "invalid": baselines.invalid,
                          "keys": len(baselines)})  # fmt: skip

    return app


def main(argv: list[str] | None = None) -> None:
    import faust

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--app-id", default="bench-naive")
    parser.add_argument("--web-port", type=int, default=6067)
    parser.add_argument("--decode-only", action="store_true",
                        help="only orjson-decode each record: Faust's own per-record cost")  # fmt: skip
    args = parser.parse_args(argv)
    app = create_naive_app(args.app_id, args.bootstrap, args.topic, args.partitions, args.web_port,
                           decode_only=args.decode_only)  # fmt: skip
    faust.Worker(app, loglevel="warning").execute_from_commandline()


if __name__ == "__main__":
    main()
