"""Replay throughput against plain JSON parsing of the same file, measured side by side.

Run ``python -m bench.replay_speed`` (``--help`` for options). Three passes over the same lines, each
repeated and the best run kept (the machines are shared, so the minimum is the least disturbed):

1. ``json``: ``orjson.loads`` of every line: the floor of any Python consumer of this stream;
2. ``parse``: :func:`schemas.parse.parse_event` (validation into event models);
3. ``replay``: :func:`sim.replay.replay` (parse + the whole detection engine, alerts collected).

The figures are reported as events per second and as ratios to the ``json`` pass of the same run.
Nothing here is asserted in tests: it is a measurement, written to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import orjson

from schemas.parse import parse_event
from sim.config import SimConfig
from sim.replay import replay
from sim.simulator import simulate


def _best_of(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def measure(lines: list[bytes], repeat: int = 3) -> dict[str, float]:
    """Seconds of the best run of each pass over ``lines``."""
    return {
        "json": _best_of(repeat, lambda: [orjson.loads(line) for line in lines]),
        "parse": _best_of(repeat, lambda: [parse_event(line) for line in lines]),
        "replay": _best_of(repeat, lambda: replay(lines)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="runs per pass; the best is kept")
    parser.add_argument("--usage-per-feature", action="store_true",
                        help="one usage event per account and feature per hour (a denser stream)")
    args = parser.parse_args(argv)

    config = SimConfig(seed=args.seed, days=args.days, accounts=args.accounts,
                       usage_per_feature=args.usage_per_feature)
    sim = simulate(config)
    lines = [bytes(memoryview(line)) for line in sim.lines]  # plain copies: orjson buffers are 4 KiB each
    seconds = measure(lines, repeat=args.repeat)
    n = len(lines)
    density = n / (args.days * 86400)
    print(f"Stream: simulate seed {args.seed}, {args.days} days, {args.accounts} accounts"
          f"{', usage per feature' if args.usage_per_feature else ''}: {n:,} events, {density:.2f} per "
          f"second of event time "
          f"({sum(map(len, lines)) / n:.0f} bytes each on average). Python {platform.python_version()}, "
          f"best of {args.repeat}.\n")
    print("| pass | seconds | events/s | speed vs plain JSON parsing |")
    print("|---|---|---|---|")
    for name, label in (("json", "orjson.loads"), ("parse", "parse_event (validation)"),
                        ("replay", "replay (parse + detection engine)")):
        print(f"| {label} | {seconds[name]:.2f} | {n / seconds[name]:,.0f} | "
              f"{seconds['json'] / seconds[name]:.2f} |")
    engine_us = (seconds["replay"] - seconds["parse"]) / n * 1e6
    parse_us = (seconds["parse"] - seconds["json"]) / n * 1e6
    print(f"\nPer event: JSON {seconds['json'] / n * 1e6:.1f} µs, validation +{parse_us:.1f} µs, "
          f"detection engine +{engine_us:.1f} µs.")


if __name__ == "__main__":
    main()
