"""A fast generator of a realistic event stream for the benchmarks, to a JSONL file and/or a topic.

``python -m bench.generate --events 2000000 --accounts 100000 --features 30 --output events.jsonl``
writes the stream; ``--bootstrap 127.0.0.1:9092 --topic bench.events`` loads it onto a topic (created
with ``--partitions`` partitions) in per-partition batches, keyed by account like ``spikewatch produce``.

The stream (:func:`generate`) is drawn with numpy, so two million events take seconds:

* 90% usage (pre-aggregated counts), the rest tickets and account snapshots, plus one release every
  ``release_every`` seconds of event time touching two features;
* accounts drawn from a Zipf-like law over ``accounts`` ids (rank ``k`` has weight ``1 / k**skew``: a
  few huge customers, a long tail), features from a milder one;
* event time advancing through ``hours`` of a working week with a daily cycle (busy afternoons, quiet
  nights), a share of events late by up to two minutes (out of order, within the allowed lateness).

Examples
--------
>>> lines = generate(GeneratorConfig(events=1000, accounts=50, features=5, seed=3))
>>> len(lines), lines == generate(GeneratorConfig(events=1000, accounts=50, features=5, seed=3))
(1000, True)
>>> from schemas.parse import parse_event
>>> sorted({parse_event(line).type for line in lines})
['account', 'release', 'ticket', 'usage']

"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

__all__ = ["GeneratorConfig", "generate", "partition_records", "produce_records"]

#: Monday 2026-03-02 00:00 UTC: the stream starts at the beginning of a working week.
START = 1_772_409_600
FEATURE_NAMES = (
    "checkout", "sso", "billing", "search", "export", "api", "dashboards", "alerts", "reports", "imports",
    "webhooks", "mobile", "permissions", "audit", "notifications", "integrations", "comments", "files",
    "calendar", "chat", "invoices", "analytics", "onboarding", "settings", "sharing", "templates",
    "workflows", "tasks", "forms", "automation",
)  # fmt: skip
TIERS = ("enterprise", "business", "self-serve")
SEVERITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class GeneratorConfig:
    """Sizes and shape of the stream; see the module docstring."""

    events: int = 200_000
    accounts: int = 10_000
    features: int = 30
    seed: int = 1
    usage_share: float = 0.90
    ticket_share: float = 0.06
    skew: float = 1.0
    feature_skew: float = 0.7
    hours: float = 48.0
    late_share: float = 0.01
    release_every: float = 6 * 3600.0

    def __post_init__(self) -> None:
        for name in ("events", "accounts", "features"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.usage_share + self.ticket_share <= 1 or min(self.usage_share, self.ticket_share) < 0:
            raise ValueError("usage_share and ticket_share must be >= 0 and sum to at most 1")
        if self.hours <= 0:
            raise ValueError(f"hours must be > 0, got {self.hours}")


def feature_names(n: int) -> list[str]:
    """``n`` feature names: real-sounding ones first, numbered ones beyond them."""
    return [FEATURE_NAMES[i] if i < len(FEATURE_NAMES) else f"feature-{i}" for i in range(n)]


def zipf_weights(n: int, skew: float) -> np.ndarray:
    """Probabilities of ranks 1..n proportional to ``1 / rank**skew`` (0 gives a uniform law)."""
    weights = 1.0 / np.arange(1, n + 1, dtype=float) ** skew
    return weights / weights.sum()


def event_times(n: int, hours: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` sorted epoch seconds over ``hours`` from :data:`START`, denser in the working day."""
    grid = np.linspace(0.0, hours * 3600.0, max(2, int(hours * 12) + 1))  # 5-minute steps
    hour_of_day = (grid / 3600.0) % 24
    intensity = 0.25 + np.exp(-(((hour_of_day - 14.0) / 4.0) ** 2))  # busy afternoons, quiet nights
    cumulative = np.concatenate([[0.0], np.cumsum((intensity[1:] + intensity[:-1]) / 2)])
    cumulative /= cumulative[-1]
    return START + np.interp(np.sort(rng.random(n)), cumulative, grid)


def generate(config: GeneratorConfig) -> list[bytes]:
    """The events of ``config`` as JSON lines (no line endings), in arrival order."""
    rng = np.random.default_rng(config.seed)
    n = config.events
    times = event_times(n, config.hours, rng)
    late = rng.random(n) < config.late_share
    times[late] -= rng.uniform(1.0, 120.0, late.sum())  # arrives up to two minutes after its time
    kinds = rng.choice(3, size=n, p=[config.usage_share, config.ticket_share,
                                     1 - config.usage_share - config.ticket_share])  # fmt: skip
    # Rank -> id is shuffled, so the biggest accounts are not acct-0, acct-1, ...
    account_ids = [f"acct-{i:06d}" for i in rng.permutation(config.accounts)]
    accounts = rng.choice(config.accounts, size=n, p=zipf_weights(config.accounts, config.skew))
    features = feature_names(config.features)
    feature_of = rng.choice(config.features, size=n, p=zipf_weights(config.features, config.feature_skew))
    counts = rng.geometric(0.15, size=n)
    severity = rng.choice(len(SEVERITIES), size=n, p=[0.3, 0.5, 0.15, 0.05])
    seats = rng.integers(5, 500, size=config.accounts)

    lines: list[bytes] = []
    append = lines.append

    def dumps(document: dict) -> bytes:
        return bytes(memoryview(orjson.dumps(document)))  # a tight copy: orjson's own buffer is ~4 KiB
    next_release, release_no = START + config.release_every / 2, 0
    for i, (ts, kind, a, f) in enumerate(zip(times.tolist(), kinds.tolist(), accounts.tolist(),
                                             feature_of.tolist(), strict=True)):  # fmt: skip
        if ts >= next_release:
            release_no += 1
            touched = rng.choice(config.features, size=min(2, config.features), replace=False)
            append(dumps({"type": "release", "version": f"5.{release_no}.0", "time": int(next_release),
                          "features": [features[j] for j in touched]}))  # fmt: skip
            next_release += config.release_every
        if kind == 0:
            append(dumps({"type": "usage", "account_id": account_ids[a], "feature": features[f],
                          "count": counts[i].item(), "time": int(ts * 1000)}))  # fmt: skip
        elif kind == 1:
            created = datetime.fromtimestamp(int(ts), UTC).isoformat().replace("+00:00", "Z")
            append(dumps({"type": "ticket", "ticket_id": f"T-{i}", "account_id": account_ids[a],
                          "feature": features[f], "severity": SEVERITIES[severity[i]],
                          "time": created}))  # fmt: skip
        else:
            append(dumps({"type": "account", "account_id": account_ids[a], "mrr": float(seats[a] * 12),
                          "seats": seats[a].item(), "seats_used": int(seats[a] * 0.7),
                          "tier": TIERS[a % 3], "time": int(ts)}))  # fmt: skip
    return lines[:n]


def account_key(line: bytes) -> bytes | None:
    """The record key of a generated line: its ``account_id`` (releases have none)."""
    start = line.find(b'"account_id":"')
    if start < 0:
        return None
    start += len(b'"account_id":"')
    return line[start : line.index(b'"', start)]


def partition_records(lines: Sequence[bytes], partitions: int) -> list[list[tuple[bytes | None, bytes]]]:
    """``(key, value)`` records per partition, as Kafka's default partitioner (murmur2) places them.

    Keyless records (releases) go round-robin.
    """
    from aiokafka.partitioner import murmur2

    placed: list[list[tuple[bytes | None, bytes]]] = [[] for _ in range(partitions)]
    for i, line in enumerate(lines):
        key = account_key(line)
        p = (murmur2(key) & 0x7FFFFFFF) % partitions if key is not None else i % partitions
        placed[p].append((key, line))
    return placed


async def produce_records(
    bootstrap: str,
    topic: str,
    lines: Sequence[bytes],
    partitions: int,
    *,
    on_sent: Callable[[int], None] = lambda n: None,
    batch_bytes: int = 1 << 20,
) -> int:
    """Create ``topic`` (if needed) and send ``lines`` to it in per-partition batches; return how many."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, max_batch_size=batch_bytes,
                                max_request_size=4 * batch_bytes, compression_type=None)  # fmt: skip
    await producer.start()
    sent = 0
    try:
        await producer.partitions_for(topic)
        for partition, records in enumerate(partition_records(lines, partitions)):
            pending = []
            batch, in_batch = producer.create_batch(), 0
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    pending.append(_sent(await producer.send_batch(batch, topic, partition=partition),
                                         in_batch, on_sent))  # fmt: skip
                    batch, in_batch = producer.create_batch(), 0
                    batch.append(key=key, value=value, timestamp=None)
                in_batch += 1
                if len(pending) >= 16:
                    sent += sum(await asyncio.gather(*pending))
                    pending.clear()
            if in_batch:
                pending.append(_sent(await producer.send_batch(batch, topic, partition=partition),
                                     in_batch, on_sent))  # fmt: skip
            sent += sum(await asyncio.gather(*pending))
    finally:
        await producer.stop()
    return sent


async def _sent(delivery: asyncio.Future, n: int, on_sent: Callable[[int], None]) -> int:
    await delivery
    on_sent(n)
    return n


def add_stream_arguments(parser: argparse.ArgumentParser, *, events: int, accounts: int) -> None:
    """The options of a preloaded stream, shared by the benchmarks on Kafka (see :func:`preload`)."""
    parser.add_argument("--events", type=int, default=events)
    parser.add_argument("--accounts", type=int, default=accounts)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--hours", type=float, default=48.0, help="event-time span of the stream")
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--bootstrap", help="use this broker (default: start a LocalKafka)")


def progress_columns() -> tuple:
    """The columns of the benchmarks' progress bars: what, bar, done of total, time."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    return TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()


def preload(args: argparse.Namespace, bootstrap: str, topic: str, console: Any) -> tuple[int, float]:
    """Generate the stream ``args`` describe (:func:`add_stream_arguments`) and send it to ``topic``
    with a progress bar on ``console``; the records sent and their mean size in bytes."""
    from rich.progress import Progress

    config = GeneratorConfig(events=args.events, accounts=args.accounts, features=args.features,
                             hours=args.hours)  # fmt: skip
    with console.status("generating"):
        lines = generate(config)
    size = sum(map(len, lines)) / len(lines)
    with Progress(*progress_columns(), console=console) as progress:
        task = progress.add_task(f"preload {topic}", total=len(lines))
        sent = asyncio.run(produce_records(bootstrap, topic, lines, args.partitions,
                                           on_sent=lambda n: progress.advance(task, n)))  # fmt: skip
    return sent, size


def main(argv: list[str] | None = None) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=GeneratorConfig.events)
    parser.add_argument("--accounts", type=int, default=GeneratorConfig.accounts)
    parser.add_argument("--features", type=int, default=GeneratorConfig.features)
    parser.add_argument("--seed", type=int, default=GeneratorConfig.seed)
    parser.add_argument("--hours", type=float, default=GeneratorConfig.hours, help="event-time span")
    parser.add_argument("--skew", type=float, default=GeneratorConfig.skew, help="Zipf exponent of accounts")
    parser.add_argument("--output", type=Path, help="write the stream here as JSON Lines")
    parser.add_argument("--bootstrap", help="Kafka host:port to load the stream onto")
    parser.add_argument("--topic", default="bench.events")
    parser.add_argument("--partitions", type=int, default=12)
    args = parser.parse_args(argv)
    console = Console(stderr=True)

    config = GeneratorConfig(events=args.events, accounts=args.accounts, features=args.features,
                             seed=args.seed, hours=args.hours, skew=args.skew)  # fmt: skip
    started = time.perf_counter()
    with console.status(f"generating {config.events:,} events"):
        lines = generate(config)
    console.print(f"generated {len(lines):,} events in {time.perf_counter() - started:.1f} s "
                  f"({sum(map(len, lines)) / len(lines):.0f} bytes each)")  # fmt: skip
    if args.output:
        args.output.write_bytes(b"\n".join(lines) + b"\n")
        console.print(f"wrote {args.output}")
    if args.bootstrap:
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())  # fmt: skip
        started = time.perf_counter()
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"→ {args.topic}", total=len(lines))
            sent = asyncio.run(produce_records(args.bootstrap, args.topic, lines, args.partitions,
                                               on_sent=lambda n: progress.advance(task, n)))  # fmt: skip
        elapsed = time.perf_counter() - started
        console.print(f"sent {sent:,} records to {args.topic} ({args.partitions} partitions) in "
                      f"{elapsed:.1f} s, {sent / elapsed:,.0f}/s")  # fmt: skip


if __name__ == "__main__":
    main()
