"""Resident state per account of the detection engine, and whether it stays flat as the stream goes on.

``python -m bench.memory --accounts 100000 --features 30`` feeds a
:class:`detectors.engine.DetectionEngine` (no Kafka, no parsing) an hourly stream over the same keys:

* every account sends one usage aggregate per hour (Poisson around its own level, which spans two
  orders of magnitude across accounts, busier in the afternoon and on weekdays), its feature rotating,
  so after ``features`` hours every (account, feature) pair has been used: the *warm* point, where all
  keys are active;
* ``ticket_share`` of the accounts file a ticket per hour on a random feature (Zipf-like, so the busy
  features see most of them), and every account sends an account snapshot once a day;
* the stream then goes on to ``longer`` times that span on the same keys.

At the warm point and at regular checkpoints after it, the engine's memory is measured after a full
garbage collection, three ways, per account:

* ``graph``: :func:`deep_size` of the engine, the bytes of every object reachable from it (cheap
  enough for the full run; the default);
* ``traced``: Python allocations made since the engine was built (``tracemalloc``, with ``--trace``;
  about five times slower, so for a smaller cross-check run);
* ``RSS``: growth of the process's resident set size (``VmRSS``: what the operating system sees,
  coarser, since freed memory is not always returned; inflated by tracemalloc's own tables).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import math
import random
import sys
import time
import tracemalloc
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.generate import START, feature_names, zipf_weights
from detectors.engine import DetectionEngine
from schemas.events import AccountEvent, TicketEvent, UsageEvent

__all__ = ["Checkpoint", "deep_size", "hourly_stream", "resident_bytes"]

_SHARED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def deep_size(root: object, exclude: tuple = ()) -> int:
    """Bytes of ``root`` and every object reachable from it, each counted once.

    Classes, modules, functions and code are shared by every instance, so they are not followed; nor
    are the objects in ``exclude`` (a part that refers back to its owner: the budget's ``holds``).

    Examples
    --------
    >>> deep_size([]) == sys.getsizeof([])
    True
    >>> shared = "x" * 1000
    >>> deep_size([shared, shared]) == sys.getsizeof([shared, shared]) + sys.getsizeof(shared)
    True
    >>> deep_size([shared], exclude=(shared,)) == sys.getsizeof([shared])
    True

    """
    seen: set[int] = {id(obj) for obj in exclude}
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SHARED):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def resident_bytes() -> int:
    """Resident set size of this process in bytes (Linux ``/proc/self/status``).

    Free heap is handed back to the system first (glibc's ``malloc_trim``, where there is one), so the
    figure is what the process holds, not what the allocator kept after the last batch of events.
    """
    with contextlib.suppress(AttributeError, OSError):  # not glibc: the RSS includes its free lists
        ctypes.CDLL(None).malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def hourly_stream(accounts: int, features: int, hours: int, *, ticket_share: float = 0.02,
                  seed: int = 1) -> Iterator[list]:  # fmt: skip
    """One list of events per hour of event time over the same ``accounts`` × ``features`` keys.

    Events are built with ``model_construct`` (already valid): the benchmark measures the engine's
    state, not validation.

    Examples
    --------
    >>> hours = list(hourly_stream(accounts=4, features=3, hours=3, ticket_share=0.5))
    >>> [sum(e.type == "usage" for e in hour) for hour in hours]
    [4, 4, 4]
    >>> len({(e.account_id, e.feature) for hour in hours for e in hour if e.type == "usage"})  # 4 × 3
    12
    >>> all(a.ts <= b.ts for hour in hours for a, b in zip(hour, hour[1:]))
    True

    """
    rng = random.Random(seed)
    draws = np.random.default_rng(seed)
    ids = [f"acct-{i:06d}" for i in range(accounts)]
    levels = draws.lognormal(mean=3.0, sigma=1.0, size=accounts)  # accounts of very different sizes
    names = feature_names(features)
    weights = zipf_weights(features, 0.7).tolist()
    step = 3600.0 / accounts
    ticket_no = 0
    for hour in range(hours):
        start = START + hour * 3600.0
        hour_of_day, weekday = hour % 24, (hour // 24) % 7  # START is a Monday midnight
        season = (0.3 + math.exp(-(((hour_of_day - 14) / 4) ** 2))) * (0.4 if weekday >= 5 else 1.0)
        counts = draws.poisson(levels * season).tolist()
        events: list = []
        for i, account in enumerate(ids):
            ts = start + i * step
            when = datetime.fromtimestamp(ts, UTC)
            if hour % 24 == 0:
                events.append(AccountEvent.model_construct(account_id=account, mrr=100.0 + i % 900,
                                                           seats=20 + i % 300, tier=("enterprise", "business",
                                                           "self-serve")[i % 3], time=when))  # fmt: skip
            events.append(UsageEvent.model_construct(account_id=account, feature=names[(i + hour) % features],
                                                     count=counts[i], time=when))  # fmt: skip
            if rng.random() < ticket_share:
                ticket_no += 1
                feature = rng.choices(names, weights)[0]
                events.append(TicketEvent.model_construct(
                    ticket_id=f"T-{ticket_no}", account_id=account, feature=feature, severity="normal",
                    time=when))  # fmt: skip
        yield events


@dataclass(frozen=True)
class Checkpoint:
    """The engine's memory after ``hours`` of event time and ``events`` events."""

    hours: int
    events: int
    graph: int
    traced: int
    resident: int
    state_size: dict[str, int]
    seconds: float


def measure(accounts: int, features: int, longer: int, checkpoints: int, ticket_share: float,
            trace: bool = False) -> tuple[list[Checkpoint], int]:  # fmt: skip
    """Feed the engine; the checkpoints and the resident size before the engine was built."""
    # One hour of events is generated, held and dropped before the base is taken: the allocator keeps
    # that high-water mark (about 2 KB per account of transient events), and it is not the engine's.
    for batch in hourly_stream(accounts, features, 1, ticket_share=ticket_share):
        batch.clear()
    gc.collect()
    if trace:
        tracemalloc.start()
    base_resident = resident_bytes()
    base_traced = tracemalloc.get_traced_memory()[0] if trace else 0
    engine = DetectionEngine()
    warm = features
    total = warm * longer
    every = max(1, (total - warm) // checkpoints)
    marks = {warm, total, *range(warm + every, total, every)}
    found: list[Checkpoint] = []
    events = 0
    started = time.perf_counter()
    for hour, batch in enumerate(hourly_stream(accounts, features, total, ticket_share=ticket_share), 1):
        process = engine.process
        for event in batch:
            process(event)
        events += len(batch)
        batch.clear()  # the generator's frame holds the list too: empty it, or its events count as state
        if hour in marks:
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0] - base_traced if trace else 0
            sizes = engine.stats["state_size"]
            resident = resident_bytes() - base_resident
            found.append(Checkpoint(hour, events, deep_size(engine), traced, resident, sizes,
                                    time.perf_counter() - started))  # fmt: skip
            yield_progress(found[-1], accounts)
    if trace:
        tracemalloc.stop()
    parts = {**engine.detectors, "dedup": engine.dedup, "releases": engine.releases, "budget": engine.budget}
    owners = {name: deep_size(part, exclude=(engine,)) for name, part in parts.items()}
    found.append(Checkpoint(-1, events, 0, 0, 0, owners, 0.0))  # the last one: graph bytes by owner
    return found, base_resident


def yield_progress(point: Checkpoint, accounts: int) -> None:
    from rich.console import Console

    Console(stderr=True).print(
        f"  {point.hours} h, {point.events:,} events: {point.graph / accounts:,.0f} B/account graph, "
        f"{point.traced / accounts:,.0f} B/account traced, "
        f"{point.resident / accounts:,.0f} B/account RSS ({point.seconds:.0f} s)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    import platform

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=30, help="also the warm-up span in hours")
    parser.add_argument("--longer", type=int, default=10, help="run this many times the warm-up span")
    parser.add_argument("--checkpoints", type=int, default=6)
    parser.add_argument("--ticket-share", type=float, default=0.02, help="accounts filing a ticket per hour")
    parser.add_argument("--trace", action="store_true", help="also tracemalloc (about 5× slower)")
    args = parser.parse_args(argv)

    points, base = measure(args.accounts, args.features, args.longer, args.checkpoints, args.ticket_share,
                           trace=args.trace)  # fmt: skip
    print(f"{args.accounts:,} accounts × {args.features} features, one usage aggregate per account and hour "
          f"(feature rotating: all pairs used after {args.features} h), {args.ticket_share:.0%} of accounts "
          f"file a ticket per hour, a daily account snapshot. Python {platform.python_version()}; "
          f"process RSS before the engine (after one hour of events was generated and dropped): "
          f"{base / 2**20:,.0f} MiB.\n")
    *points, owners = points
    names = list(points[0].state_size)
    print("| hours | events | graph B/account | traced B/account | RSS B/account | "
          + " | ".join(names) + " |")
    print("|---|---|---|---|---|" + "---|" * len(names))
    for p in points:
        sizes = (p.graph, p.traced, p.resident)
        per_account = " | ".join(f"{b / args.accounts:,.0f}" if b else "–" for b in sizes)
        print(f"| {p.hours} | {p.events:,} | {per_account} | "
              + " | ".join(f"{p.state_size[n]:,}" for n in names) + " |")
    print("\n(state columns: each detector's own `state_size`, entries it keeps.)\n")
    print("At the end, graph bytes per account held by each part (objects shared by two parts count in "
          "both: the row numbers of the per-account tables, and the account ids, which the budget holds "
          "once each): " + ", ".join(f"{n} {b / args.accounts:,.0f}" for n, b in owners.state_size.items())
          + ".")  # fmt: skip


if __name__ == "__main__":
    main()
