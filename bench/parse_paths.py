"""The fast validation path of ``parse_event`` against the pydantic path it falls back to, same process.

Run ``python -m bench.parse_paths`` (``--help`` for options). Over the lines of a simulated stream, in
rounds that alternate the passes (the best of each is kept, the machines being shared):

1. ``json``: ``orjson.loads`` of every line;
2. ``pydantic``: :func:`schemas.parse._parse_event_slow`, the reference path (``validate_json``);
3. ``parse_event``: the fast path (:mod:`schemas.fastparse`), pydantic only for what it declines.

Each pass runs twice: keeping every result in a list (as ``bench.replay_speed`` does, so the models
pile up and the cyclic garbage collector walks them again and again) and dropping each result, as
``replay`` and the worker do, which is the cost of the validation itself. With ``--replay``, the whole
:func:`sim.replay.replay` runs too, once with ``parse_event`` and once with the pydantic path in its
place.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import orjson

import sim.replay
from schemas.parse import _parse_event_slow, parse_event
from sim.config import SimConfig
from sim.simulator import simulate

PASSES: dict[str, Callable[[bytes], object]] = {
    "json": orjson.loads,
    "pydantic": _parse_event_slow,
    "parse_event": parse_event,
}


def measure(lines: list[bytes], rounds: int = 5) -> dict[tuple[str, str], float]:
    """Best seconds of each (pass, ``keep`` or ``drop``) over ``lines``, the passes interleaved."""
    best: dict[tuple[str, str], float] = {}
    for _ in range(rounds):
        for name, parse in PASSES.items():
            for mode in ("keep", "drop"):
                started = time.perf_counter()
                if mode == "keep":
                    kept = [parse(line) for line in lines]
                    elapsed = time.perf_counter() - started
                    del kept  # freed outside the timing
                else:
                    for line in lines:
                        parse(line)
                    elapsed = time.perf_counter() - started
                best[name, mode] = min(best.get((name, mode), float("inf")), elapsed)
    return best


def measure_replay(lines: list[bytes], rounds: int = 3) -> dict[str, float]:
    """Best seconds of ``replay(lines)`` with each parser, interleaved."""
    best: dict[str, float] = {}
    sim.replay.replay(lines[:1000])  # imports the engine's modules outside the timing
    try:
        for _ in range(rounds):
            for name in ("pydantic", "parse_event"):
                sim.replay.parse_event = PASSES[name]  # type: ignore[assignment]
                started = time.perf_counter()
                sim.replay.replay(lines)
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
    finally:
        sim.replay.parse_event = parse_event
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; the best is kept")
    parser.add_argument("--usage-per-feature", action="store_true")
    parser.add_argument("--replay", action="store_true", help="also time the whole replay with each parser")
    args = parser.parse_args(argv)
    config = SimConfig(seed=args.seed, days=args.days, accounts=args.accounts,
                       usage_per_feature=args.usage_per_feature)  # fmt: skip
    lines = [bytes(memoryview(line)) for line in simulate(config).lines]
    n = len(lines)
    best = measure(lines, args.rounds)
    print(f"{n:,} events, best of {args.rounds} interleaved rounds.\n")
    print("| pass | µs/event, results kept | vs json | µs/event, results dropped | vs json |")
    print("|---|---|---|---|---|")
    for name in PASSES:
        keep, drop = best[name, "keep"], best[name, "drop"]
        print(f"| {name} | {keep / n * 1e6:.2f} | {best['json', 'keep'] / keep:.3f} | "
              f"{drop / n * 1e6:.2f} | {best['json', 'drop'] / drop:.3f} |")  # fmt: skip
    for mode, label in (("keep", "kept"), ("drop", "dropped")):
        slow, fast = (best[name, mode] - best["json", mode] for name in ("pydantic", "parse_event"))
        print(f"\nValidation beyond JSON, results {label}: pydantic {slow / n * 1e6:.2f} µs, "
              f"parse_event {fast / n * 1e6:.2f} µs ({slow / fast:.1f}x less).")  # fmt: skip

    if args.replay:
        replayed = measure_replay(lines, args.rounds)
        slow, fast = (replayed[name] / n * 1e6 for name in ("pydantic", "parse_event"))
        print(f"\nreplay: {slow:.2f} µs/event with the pydantic path, {fast:.2f} with parse_event "
              f"(vs json {best['json', 'drop'] / replayed['pydantic']:.3f} and "
              f"{best['json', 'drop'] / replayed['parse_event']:.3f}).")  # fmt: skip


if __name__ == "__main__":
    main()
