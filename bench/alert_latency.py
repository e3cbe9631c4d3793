"""Regression alert latency through the real worker: from a burst's first ticket to the page on Kafka.

``python -m bench.alert_latency --bursts 8 --load 300`` builds a noise-only simulated world
(:func:`sim.simulator.simulate` without incidents), plants ``bursts`` regression bursts in its last part
(a release touching one feature, then many accounts filing tickets about that feature; one feature per
burst, rotating) and runs it through a ``spikewatch worker`` subprocess:

1. the history (the first ``history_days``) goes to the input topic at full speed and the worker
   catches up with it (that warms the detectors up);
2. the rest is played *live*: each event is sent when the wall clock reaches its event time divided by
   ``speedup`` (240: one wall second is four minutes of event time), with ``load`` extra usage events
   per wall second (count 0, for the world's accounts, at the current event time) as background load;
3. a consumer reads the regression alert topic; each burst's first ``firing`` alert is matched to it.

Two latencies per burst, in wall seconds:

* ``from first ticket``: from sending the burst's first ticket to receiving the alert. It contains the
  event time the detector needs to be sure (windows, allowed lateness) divided by ``speedup``, so it is
  also shown in minutes of event time;
* ``after proof``: from sending the event whose event time is the alert's ``event_time`` (the moment the
  detector decided: the watermark crossed the window that proves the spike) to receiving the alert:
  the pipeline's own delay (consumer fetch, partition merge, engine, producer), which issue 6 targets
  at p99 ≤ 5 s under load.

``--offline`` runs the same stream through :class:`detectors.engine.DetectionEngine` only (no Kafka),
to check that every burst pages and to show the event-time delay alone.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from schemas.parse import parse_event

__all__ = ["Burst", "LiveStream", "build_stream", "match_alerts"]


@dataclass(frozen=True)
class Burst:
    """A planted regression: ``accounts`` accounts file ``tickets_each`` tickets about ``feature``."""

    feature: str
    release_at: float
    first_ticket: float
    accounts: int
    tickets_each: int


@dataclass
class LiveStream:
    """Event lines with their event times (sorted), where the live part starts, and the bursts."""

    lines: list[bytes]
    times: list[float]
    live_from: float
    bursts: list[Burst]
    accounts: list[str]


def build_stream(*, seed: int = 3, accounts: int = 200, history_days: int = 8, bursts: int = 6,
                 every_hours: float = 2.0, burst_accounts: int = 25, tickets_each: int = 2,
                 burst_minutes: float = 20.0) -> LiveStream:  # fmt: skip
    """A noise-only world of ``history_days`` + live days, with ``bursts`` planted after the history.

    The first burst starts two hours into the live part (a Tuesday, business hours when the history is
    a whole number of weeks plus one day), the next ones ``every_hours`` apart, each on the next feature.

    Examples
    --------
    >>> stream = build_stream(accounts=20, history_days=2, bursts=2, burst_accounts=5)
    >>> [b.feature != stream.bursts[0].feature for b in stream.bursts]
    [False, True]
    >>> stream.times == sorted(stream.times) and stream.times[0] < stream.live_from < stream.times[-1]
    True

    """
    from sim.config import SimConfig
    from sim.simulator import simulate

    live_days = max(1, int(np.ceil((2 + bursts * every_hours + 2) / 24)))
    sim = simulate(SimConfig(seed=seed, days=history_days + live_days, accounts=accounts, incidents=False,
                             duplicate_rate=0.0, late_rate=0.0))  # fmt: skip
    timed = []
    for line in sim.lines:
        event = parse_event(line)
        timed.append((event.ts, line))
    live_from = sim.config.start_ts + history_days * 86_400.0 + 9 * 3600.0  # 09:00 on the first live day
    features = list(sim.world.features)
    ids = sorted({orjson.loads(line)["account_id"] for _, line in timed if b'"account_id"' in line})
    rng = random.Random(seed)
    planted = []
    for k in range(bursts):
        feature = features[k % len(features)]
        release_at = live_from + 2 * 3600.0 + k * every_hours * 3600.0
        first = release_at + 600.0
        timed.append((release_at, orjson.dumps({"type": "release", "version": f"9.{k}.0",
                                                 "features": [feature], "time": release_at})))  # fmt: skip
        ticket_times = []
        for account in rng.sample(ids, min(burst_accounts, len(ids))):
            for j in range(tickets_each):
                ts = first if not ticket_times else first + rng.uniform(0, burst_minutes * 60.0)
                ticket_times.append(ts)
                timed.append((ts, orjson.dumps({"type": "ticket", "ticket_id": f"B{k}-{account}-{j}",
                                                 "account_id": account, "feature": feature,
                                                 "severity": "high", "time": ts})))  # fmt: skip
        planted.append(Burst(feature, release_at, first, burst_accounts, tickets_each))
    end = planted[-1].first_ticket + 3 * 3600.0 if planted else live_from + 3600.0
    timed = sorted((t for t in timed if t[0] <= end), key=lambda t: t[0])
    return LiveStream([line for _, line in timed], [t for t, _ in timed], live_from, planted, ids)


def match_alerts(bursts: list[Burst], alerts: list[dict]) -> list[dict | None]:
    """For each burst, the first ``firing`` regression alert on its feature started at or after it.

    Examples
    --------
    >>> b = [Burst("sso", 100.0, 700.0, 5, 2)]
    >>> match_alerts(b, [{"kind": "regression", "status": "firing", "feature": "sso", "started_at": 600.0,
    ...                  "event_time": 1500.0}])[0]["event_time"]
    1500.0
    >>> match_alerts(b, [{"kind": "regression", "status": "firing", "feature": "api", "started_at": 600.0,
    ...                  "event_time": 1500.0}])
    [None]

    """
    found: list[dict | None] = []
    for burst in bursts:
        candidates = [a for a in alerts if a.get("kind") == "regression" and a.get("status") == "firing"
                      and a.get("feature") == burst.feature
                      and _epoch(a["event_time"]) >= burst.release_at]  # fmt: skip
        found.append(min(candidates, key=lambda a: _epoch(a["event_time"])) if candidates else None)
    return found


def _epoch(value: float | str) -> float:
    if isinstance(value, int | float):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def offline(stream: LiveStream) -> list[dict | None]:
    """The stream through the detection engine only: each burst's alert, as a dict."""
    from detectors.engine import DetectionEngine

    engine = DetectionEngine()
    alerts = []
    for line in stream.lines:
        alerts += engine.process(parse_event(line))
    alerts += engine.flush()
    return match_alerts(stream.bursts, [orjson.loads(a.to_json()) for a in alerts])


async def play_live(bootstrap: str, topic: str, alert_topic: str, stream: LiveStream, *, speedup: float,
                    load: float, on_tick: Callable[[int, int], None] | None = None,
                    ) -> tuple[list[tuple[float, dict]], list[float], list[float]]:
    """Send the live part paced by ``speedup`` with ``load`` filler events/s; collect the alerts.

    Returns (received wall time, alert) pairs and the (event time, wall time) of every paced send.
    """
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    received: list[tuple[float, dict]] = []
    consumer = AIOKafkaConsumer(alert_topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, acks=1)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()

    async def collect() -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                received.extend((now, orjson.loads(r.value)) for r in records)

    collector = asyncio.create_task(collect())
    sent_times: list[float] = []
    sent_walls: list[float] = []
    rng = random.Random(0)
    start = bisect.bisect_left(stream.times, stream.live_from)
    t0, w0 = stream.times[start], time.perf_counter()
    i, filler_due = start, 0.0
    try:
        while i < len(stream.lines):
            now = time.perf_counter()
            event_now = t0 + (now - w0) * speedup
            while i < len(stream.lines) and stream.times[i] <= event_now:
                line = stream.lines[i]
                key = orjson.loads(line).get("account_id")
                await producer.send(topic, line, key=key.encode() if key else None)
                sent_times.append(stream.times[i])
                sent_walls.append(time.perf_counter())
                i += 1
            filler_due += load * 0.02
            while filler_due >= 1:
                account = rng.choice(stream.accounts)
                filler = {"type": "usage", "account_id": account, "count": 0, "time": event_now}
                await producer.send(topic, orjson.dumps(filler), key=account.encode())
                sent_times.append(event_now)  # filler moves the event clock too
                sent_walls.append(time.perf_counter())
                filler_due -= 1
            if on_tick is not None:
                on_tick(i - start, len(stream.lines) - start)
            await asyncio.sleep(0.02)
        await producer.flush()
        await asyncio.sleep(10)  # the last alerts on their way
    finally:
        stop.set()
        await collector
        await producer.stop()
        await consumer.stop()
    return received, sent_times, sent_walls


def main(argv: list[str] | None = None) -> None:
    import platform

    from rich.console import Console

    from bench.e2e import broker
    from bench.generate import produce_records
    from bench.processes import ServiceProcess, spikewatch_processed, worker_env

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=6)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--history-days", type=int, default=8)
    parser.add_argument("--burst-accounts", type=int, default=25, help="accounts filing tickets per burst")
    parser.add_argument("--speedup", type=float, default=240.0, help="event seconds per wall second")
    parser.add_argument("--load", type=float, default=300.0, help="extra usage events per wall second")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--bootstrap", help="use this broker (default: start a LocalKafka)")
    parser.add_argument("--worker-root", type=Path, help="run the worker from this checkout")
    parser.add_argument("--offline", action="store_true", help="detection engine only, no Kafka")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    stream = build_stream(accounts=args.accounts, history_days=args.history_days, bursts=args.bursts,
                          burst_accounts=args.burst_accounts)  # fmt: skip
    console.print(f"{len(stream.lines):,} events, {len(stream.bursts)} bursts")
    if args.offline:
        print("| burst | feature | first ticket → decided (event min) |\n|---|---|---|")
        for k, (burst, alert) in enumerate(zip(stream.bursts, offline(stream), strict=True)):
            delay = (_epoch(alert["event_time"]) - burst.first_ticket) / 60 if alert else float("nan")
            print(f"| {k} | {burst.feature} | {delay:.1f} |")
        return

    run_id = uuid.uuid4().hex[:8]
    app_id, topic = f"bench-lat-{run_id}", f"bench-lat-{run_id}.events"
    history = bisect.bisect_left(stream.times, stream.live_from)
    with broker(args.bootstrap) as bootstrap, tempfile.TemporaryDirectory(prefix="bench-lat-") as tmp:
        work = Path(tmp)
        asyncio.run(produce_records(bootstrap, topic, stream.lines[:history], args.partitions))
        env = worker_env(bootstrap, app_id, topic, args.partitions, work / "state")
        worker = ServiceProcess(["stream.cli", "worker", "--web-port", "{port}", "--loglevel", "warning"],
                                env=env, log_path=work / "worker.log", cwd=args.worker_root)  # fmt: skip
        try:
            with console.status("worker catching up with the history") as status:
                catch_up = worker.time_until(
                    "history", spikewatch_processed, history, timeout=1800,
                    on_progress=lambda n: status.update(f"history {n:,}/{history:,}"))  # fmt: skip
            console.print(f"history of {history:,} events read in {catch_up.end:.0f} s; playing live")
            with console.status("live") as status:
                def tick(n: int, total: int) -> None:
                    status.update(f"live {n:,}/{total:,}")

                received, sent_times, sent_walls = asyncio.run(play_live(
                    bootstrap, topic, f"{app_id}.alerts.regression", stream, speedup=args.speedup,
                    load=args.load, on_tick=tick))  # fmt: skip
        finally:
            worker.stop()

    first_sent = {}
    for burst in stream.bursts:
        j = bisect.bisect_left(sent_times, burst.first_ticket)
        first_sent[burst] = sent_walls[j] if j < len(sent_walls) else float("nan")
    alerts = [alert for _, alert in received]
    arrival = {id(alert): wall for wall, alert in received}
    rows, after_proof, from_first = [], [], []
    for k, (burst, alert) in enumerate(zip(stream.bursts, match_alerts(stream.bursts, alerts), strict=True)):
        if alert is None:
            rows.append(f"| {k} | {burst.feature} | no alert | | | |")
            continue
        decided = _epoch(alert["event_time"])
        j = bisect.bisect_left(sent_times, decided - 1e-3)  # event_time is rounded to the microsecond
        proof_wall = sent_walls[min(j, len(sent_walls) - 1)]
        wall = arrival[id(alert)]
        from_first.append(wall - first_sent[burst])
        after_proof.append(wall - proof_wall)
        rows.append(f"| {k} | {burst.feature} | {(decided - burst.first_ticket) / 60:.1f} | "
                    f"{from_first[-1]:.2f} | {after_proof[-1]:.2f} | {alert.get('severity')} |")  # fmt: skip
    print(f"World: simulate seed 3, {args.accounts} accounts, noise only, {args.history_days} days of "
          f"history "
          f"({history:,} events) then live at {args.speedup:g}× with {args.load:g} extra usage events/s; "
          f"{len(stream.bursts)} bursts of {args.burst_accounts} accounts × 2 tickets. "
          f"Python {platform.python_version()}.\n")
    print("| burst | feature | first ticket → decided (event min) | first ticket → alert (wall s) | "
          "after proof (wall s) | severity |\n|---|---|---|---|---|---|")
    print("\n".join(rows))
    if after_proof:
        q = np.percentile
        print(f"\nAfter proof: p50 {q(after_proof, 50):.2f} s, p99 {q(after_proof, 99):.2f} s; "
              f"from first ticket: p50 {q(from_first, 50):.2f} s, p99 {q(from_first, 99):.2f} s "
              f"({len(after_proof)} of {len(stream.bursts)} bursts alerted; {len(received)} regression "
              f"emissions received).")  # fmt: skip


if __name__ == "__main__":
    main()
