"""End-to-end worker throughput on a real Kafka, against a raw consumer and a naive Faust agent.

``python -m bench.e2e --events 2000000 --accounts 100000 --features 30`` loads a generated stream
(:mod:`bench.generate`) onto a fresh topic once, then times, one after the other in the same run:

a. ``raw``: an aiokafka consumer in this process that only reads every record and ``orjson.loads`` it
   (the floor of any Python consumer);
b. ``naive``: :mod:`bench.naive_agent` as a subprocess (Faust agent, pydantic per event, River models
   per (account, feature));
c. ``spikewatch``: ``spikewatch worker`` as a subprocess with a fresh app id, read to the end (its
   ``/counts`` reaching the total and its detection stage having learnt every event, but for the last
   ``worker.reorder_horizon`` of event time its reorder buffer holds once it waits for no partition:
   :func:`bench.processes.spikewatch_processed`);
d. ``batch``, ``ingest-only``, ``batch-ingest-only`` (when listed in ``--passes``): the same worker with
   ``worker.ingest = "batch"`` (the whole worker, ingest and detection, done as in c), with
   ``worker.detect = false`` (read to ``/counts`` alone), or both;
e. ``faust-floor`` (when listed): a Faust agent that only decodes each record, Faust's own per-record
   cost.

Each pass is reported as events/s from its launch (start-up and group join included) and from the first
record processed (steady state), with CPU seconds, and as ratios to ``raw`` and ``naive``; below the
table, each subprocess's peak RSS and, for passes with detection, the most events its reorder buffer
was seen holding. With
``--profile``, the spikewatch worker is also recorded by py-spy (a separate, perturbed pass).
Nothing here is asserted in tests: it is a measurement, printed as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from bench.generate import add_stream_arguments, preload, progress_columns
from bench.processes import PassTiming, ServiceProcess, spikewatch_counted, spikewatch_processed, worker_env

__all__ = ["INGEST_PASSES", "raw_pass", "report"]

#: Passes of the same checkout with other settings: ingest in batches, and either stage alone.
INGEST_PASSES: dict[str, dict[str, str]] = {
    "batch": {"SPIKEWATCH_WORKER__INGEST": "batch"},
    "ingest-only": {"SPIKEWATCH_WORKER__DETECT": "false"},
    "batch-ingest-only": {"SPIKEWATCH_WORKER__INGEST": "batch", "SPIKEWATCH_WORKER__DETECT": "false"},
}


async def raw_pass(bootstrap: str, topic: str, partitions: int, total: int,
                   on_progress: Callable[[int], None] = lambda n: None) -> PassTiming:  # fmt: skip
    """Read ``total`` records of ``topic`` from the start and decode each with ``orjson.loads``."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    launched, cpu0 = time.perf_counter(), time.process_time()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        done, first, loads = 0, None, orjson.loads
        while done < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batches.values():
                for record in records:
                    loads(record.value)
                done += len(records)
            if done and first is None:
                first = time.perf_counter() - launched
            on_progress(done)
    finally:
        await consumer.stop()
    end = time.perf_counter() - launched
    return PassTiming("raw", total, first or end, end, time.process_time() - cpu0)


@contextlib.contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """``bootstrap`` as is, or a :class:`stream.kafka_local.LocalKafka` started for this run."""
    if bootstrap:
        yield bootstrap
        return
    from stream.kafka_local import LocalKafka

    with LocalKafka() as kafka:
        yield kafka.bootstrap


def naive_processed(agent: ServiceProcess) -> int | None:
    count = agent.get_json("/count")
    return None if count is None else count["processed"]


def profile_worker(worker: ServiceProcess, output: Path, rate: int = 50) -> subprocess.Popen:
    """Start py-spy recording ``worker`` (raw collapsed stacks, all threads, not pausing it)."""
    import shutil

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [py_spy, "record", "--pid", str(worker.pid), "--format", "raw", "--rate", str(rate),
               "--nonblocking", "--threads", "--output", str(output)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def report(timings: dict[str, PassTiming]) -> str:
    """The passes as a Markdown table, with ratios of steady rates and of CPU per event to raw and naive.

    Examples
    --------
    >>> print(report({"raw": PassTiming("raw", 100, 0.0, 1.0, 0.5),
    ...               "naive": PassTiming("naive", 100, 1.0, 11.0, 5.0)}).splitlines()[-3])
    | naive | 100 | 1.0 | 11.0 | 5.0 | 9 | 10 | 0.100 | 1.000 | 0.100 | 1.000 |

    """

    def ratio(t: PassTiming, base: str, cpu: bool) -> str:
        if base not in timings:
            return "–"
        b = timings[base]
        value = (b.cpu / b.events) / (t.cpu / t.events) if cpu else t.steady_rate / b.steady_rate
        return f"{value:.3f}"

    lines = ["| pass | events | s to first | s to end | CPU s | events/s (from launch) | events/s (steady) "
             "| steady vs raw | steady vs naive | CPU/event vs raw | CPU/event vs naive |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for t in timings.values():
        lines.append(f"| {t.name} | {t.events:,} | {t.first:.1f} | {t.end:.1f} | {t.cpu:.1f} | "
                     f"{t.overall_rate:,.0f} | {t.steady_rate:,.0f} | "
                     + " | ".join(ratio(t, base, cpu) for cpu in (False, True) for base in ("raw", "naive"))
                     + " |")  # fmt: skip
    per_event = ", ".join(f"{t.name} {t.cpu / t.events * 1e6:.1f}" for t in timings.values())
    lines.append(f"\nCPU µs per event: {per_event}. A partial pass stopped at --timeout; its rates are "
                 "over the events it processed.")
    rss = ", ".join(f"{t.name} {t.peak_rss / 2**20:,.0f}" for t in timings.values() if t.peak_rss)
    if rss:
        lines.append(f"Peak RSS (MiB, VmHWM of the subprocess): {rss}.")
    held = ", ".join(f"{t.name} {t.peak_buffered:,}" for t in timings.values() if t.peak_buffered is not None)
    if held:
        lines.append(f"Most events held in the detection reorder buffer (sampled every 0.5 s): {held}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from rich.console import Console
    from rich.progress import Progress

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stream_arguments(parser, events=200_000, accounts=10_000)
    parser.add_argument("--passes", default="raw,naive,spikewatch", help="comma-separated, in order")
    parser.add_argument("--profile", type=Path, help="also record the worker with py-spy into this file")
    parser.add_argument("--worker-root", type=Path,
                        help="run the spikewatch worker from this checkout (default: this one)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                        help="an extra spikewatch pass named NAME, run from checkout DIR (repeatable)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per pass")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    columns = progress_columns()
    run_id = uuid.uuid4().hex[:8]
    topic = f"bench-e2e-{run_id}"

    with broker(args.bootstrap) as bootstrap, tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        work = Path(tmp)
        total, size = preload(args, bootstrap, topic, console)
        gc.collect()

        timings: dict[str, PassTiming] = {}
        roots = {"spikewatch": args.worker_root} | {
            name: Path(root) for name, _, root in (v.partition("=") for v in args.variant)}
        for name in [*args.passes.split(","), *(v.partition("=")[0] for v in args.variant)]:
            with Progress(*columns, console=console) as progress:
                task = progress.add_task(name, total=total)
                advance: Callable[[int], None] = lambda n, task=task: progress.update(task, completed=n)  # noqa: E731
                if name == "raw":
                    timings[name] = asyncio.run(raw_pass(bootstrap, topic, args.partitions, total, advance))
                    continue
                if name in ("naive", "faust-floor"):
                    service = ServiceProcess(
                        ["bench.naive_agent", "--bootstrap", bootstrap, "--topic", topic, "--partitions",
                         str(args.partitions), "--app-id", f"bench-{name}-{run_id}", "--web-port", "{port}",
                         *(["--decode-only"] if name == "faust-floor" else [])],
                        log_path=work / f"{name}.log")  # fmt: skip
                    read = naive_processed
                elif name in roots or name in INGEST_PASSES:
                    env = worker_env(bootstrap, f"bench-{name}-{run_id}", topic, args.partitions, work / name)
                    env.update(INGEST_PASSES.get(name, {}))
                    service = ServiceProcess(["stream.cli", "worker", "--web-port", "{port}", "--loglevel",
                                              "warning"], env=env, log_path=work / f"{name}.log",
                                             cwd=roots.get(name, args.worker_root))  # fmt: skip
                    detects = INGEST_PASSES.get(name, {}).get("SPIKEWATCH_WORKER__DETECT") != "false"
                    read = spikewatch_processed if detects else spikewatch_counted
                else:
                    raise SystemExit(f"unknown pass {name!r}")
                try:
                    timings[name] = service.time_until(name, read, total, on_progress=advance,
                                                       timeout=args.timeout)  # fmt: skip
                finally:
                    service.stop()

        if args.profile:
            env = worker_env(bootstrap, f"bench-sw-prof-{run_id}", topic, args.partitions, work / "state")
            command = ["stream.cli", "worker", "--web-port", "{port}", "--loglevel", "warning"]
            service = ServiceProcess(command, env=env, log_path=work / "worker-profiled.log",
                                     cwd=args.worker_root)
            recorder = profile_worker(service, args.profile)
            try:
                with Progress(*columns, console=console) as progress:
                    task = progress.add_task("spikewatch under py-spy", total=total)
                    timings["profiled"] = service.time_until(
                        "profiled", spikewatch_processed, total, timeout=args.timeout,
                        on_progress=lambda n: progress.update(task, completed=n))  # fmt: skip
            finally:
                recorder.send_signal(2)  # SIGINT: py-spy writes what it has and exits
                recorder.wait(60)
                service.stop()
            console.print(f"py-spy profile in {args.profile}")

    print("    python -m bench.e2e " + " ".join(sys.argv[1:] if argv is None else argv) + "\n")
    print(f"Stream: {total:,} events ({size:.0f} bytes each), {args.accounts:,} accounts, "
          f"{args.features} features, {args.hours:g} h of event time, {args.partitions} partitions. "
          f"Python {platform.python_version()}.\n")
    print(report(timings))

if __name__ == "__main__":
    main()
