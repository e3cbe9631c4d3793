"""Scale-out: one spikewatch worker against two workers of one app id, on the same preloaded topic.

``python -m bench.scaleout --events 100000 --accounts 10000 --partitions 12`` loads a generated stream
(:mod:`bench.generate`) onto a fresh topic once, then times, one after the other in the same run:

* ``1 worker``: ``spikewatch worker`` alone, holding every input partition;
* ``2 workers``: two of them with one app id, launched together, so the consumer group splits the input
  partitions between them (the group's first rebalance is part of the pass).

Each pass counts from the first launch until the detection stage (which runs on one of the workers: its
input is a one-partition topic, :mod:`stream.detection_agent`) has learnt every event, as
:func:`bench.processes.spikewatch_processed` does for one worker; ``--ingest-only`` runs the workers
with ``worker.detect = false`` and counts until the ingest stage has applied every record, summed over
the workers. ``--ingest batch`` runs both passes with ``worker.ingest = "batch"``.

Reported as events/s (from the first launch, and steady from the first progress), CPU seconds summed
over the workers, and the speed-up of two workers over one. Nothing is asserted in tests: it is a
measurement, printed as Markdown.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from bench.e2e import broker
from bench.generate import add_stream_arguments, preload, progress_columns
from bench.processes import PassTiming, ServiceProcess, cpu_seconds, peak_rss, worker_env

__all__ = ["group_counted", "group_processed", "report", "time_group"]


class _Worker(Protocol):
    def get_json(self, path: str) -> dict | None: ...
    def get_text(self, path: str) -> str | None: ...


def _samples(worker: _Worker) -> dict[str, float] | None:
    text = worker.get_text("/metrics")
    if text is None:
        return None
    pairs = (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in pairs}


def group_counted(workers: Sequence[_Worker]) -> int | None:
    """Records the ingest stages of ``workers`` have applied (valid events and dead letters, summed over
    their ``/counts``), or None while one of them does not answer.

    Examples
    --------
    >>> class W:
    ...     def __init__(self, counts): self.counts = counts
    ...     def get_json(self, path): return self.counts
    ...     def get_text(self, path): return None
    >>> group_counted([W({"by_type": {"usage": 5}, "dead_letters": {"not_json": 1}}),
    ...                W({"by_type": {"usage": 3, "ticket": 1}, "dead_letters": {}})])
    10
    >>> group_counted([W({"by_type": {"usage": 5}}), W(None)]) is None
    True
    """
    every = _counts(workers)
    if every is None:
        return None
    return sum(sum(c.get("by_type", {}).values()) + sum(c.get("dead_letters", {}).values()) for c in every)


def _counts(workers: Sequence[_Worker]) -> list[dict] | None:
    """Each worker's ``/counts``, read once; None while one of them does not answer."""
    every = [worker.get_json("/counts") for worker in workers]
    return None if any(c is None for c in every) else every  # type: ignore[return-value]


def group_processed(workers: Sequence[_Worker]) -> int | None:
    """Records through the whole pipeline of ``workers``: what the detection stage (on whichever worker
    holds it: the one that has learnt most) has learnt, plus what its reorder buffer holds once it waits
    for no input partition, plus the dead letters of every worker; capped by what the ingest stages
    counted. None while a worker does not answer.

    Examples
    --------
    >>> class W:
    ...     def __init__(self, counts, metrics): self.counts, self.metrics = counts, metrics
    ...     def get_json(self, path): return self.counts
    ...     def get_text(self, path): return self.metrics
    >>> detecting = W({"by_type": {"usage": 60}}, "spikewatch_detection_events 90.0\\n"
    ...               "spikewatch_detection_reorder_buffered 8.0\\n"
    ...               "spikewatch_detection_reorder_waiting 0.0\\n")
    >>> ingesting = W({"by_type": {"usage": 40}, "dead_letters": {"not_json": 2}}, "# nothing\\n")
    >>> group_processed([detecting, ingesting])  # 90 learnt + 8 held at the horizon + 2 dead letters
    100
    >>> waiting = W({"by_type": {"usage": 100}}, "spikewatch_detection_events 50.0\\n"
    ...             "spikewatch_detection_reorder_buffered 50.0\\n"
    ...             "spikewatch_detection_reorder_waiting 1.0\\n")
    >>> group_processed([waiting])  # held while waiting for a partition: not done yet
    50
    """
    every = _counts(workers)  # one reading serves both sums, so they agree with each other
    if every is None:
        return None
    dead = sum(sum(c.get("dead_letters", {}).values()) for c in every)
    counted = sum(sum(c.get("by_type", {}).values()) for c in every) + dead
    done = 0
    for worker in workers:
        samples = _samples(worker)
        if samples is None:
            return None
        learnt = samples.get("spikewatch_detection_events", 0.0)
        waiting = samples.get("spikewatch_detection_reorder_waiting", 0.0)
        held = samples.get("spikewatch_detection_reorder_buffered", 0.0) if waiting == 0 else 0.0
        done = max(done, int(learnt + held))
    return min(counted, done + dead)


ProcessedReader = Callable[[Sequence[ServiceProcess]], int | None]


def time_group(name: str, workers: Sequence[ServiceProcess], processed: ProcessedReader, total: int, *,
               on_progress: Callable[[int], None] = lambda n: None, timeout: float = 3600.0,
               poll: float = 0.5) -> PassTiming:  # fmt: skip
    """Poll ``processed(workers)`` until it reaches ``total``: the pass from the first launch, with CPU
    seconds summed over the workers and the largest peak RSS. After ``timeout`` s it ends, named partial."""
    launched = min(w.launched for w in workers)
    first = None
    while True:
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(
                    f"{name}: a worker exited with {worker.process.returncode}:\n{worker.tail()}"
                )
        done = processed(workers) or 0
        now = time.perf_counter() - launched
        if done and first is None:
            first = now
        on_progress(done)
        if done >= total or now > timeout:
            label = name if done >= total else f"{name} (partial: {done:,} of {total:,})"
            cpu = sum(cpu_seconds(w.pid) for w in workers)
            rss = max((peak_rss(w.pid) or 0 for w in workers), default=0) or None
            return PassTiming(label, min(done, total), first or now, now, cpu, rss)
        time.sleep(poll)


def report(timings: dict[int, PassTiming]) -> str:
    """The passes by number of workers as a Markdown table, with the speed-up over one worker.

    Examples
    --------
    >>> print(report({1: PassTiming("1 worker", 100, 1.0, 11.0, 9.0),
    ...               2: PassTiming("2 workers", 100, 1.0, 6.0, 10.0)}).splitlines()[-1])
    | 2 workers | 2 | 100 | 6.0 | 17 | 20 | 10.0 | 100,000 | 2.00 | 1.83 |
    """
    lines = ["| pass | workers | events | s to end | events/s (from launch) | events/s (steady) | CPU s "
             "| CPU µs/event | steady speed-up | speed-up from launch |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    one = timings.get(1)
    for n, t in sorted(timings.items()):
        steady = f"{t.steady_rate / one.steady_rate:.2f}" if one else "–"
        overall = f"{t.overall_rate / one.overall_rate:.2f}" if one else "–"
        lines.append(
            f"| {t.name} | {n} | {t.events:,} | {t.end:.1f} | {t.overall_rate:,.0f} | "
            f"{t.steady_rate:,.0f} | {t.cpu:.1f} | {t.cpu / t.events * 1e6:,.0f} | {steady} | {overall} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from rich.console import Console
    from rich.progress import Progress

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stream_arguments(parser, events=100_000, accounts=10_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts, one pass each")
    parser.add_argument("--ingest", choices=("faust", "batch"), default="faust", help="worker.ingest")
    parser.add_argument(
        "--ingest-only", action="store_true", help="worker.detect = false; time the ingest stage"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per pass")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    columns = progress_columns()
    run_id = uuid.uuid4().hex[:8]
    topic = f"bench-scale-{run_id}"
    settings = {"SPIKEWATCH_WORKER__INGEST": args.ingest}
    if args.ingest_only:
        settings["SPIKEWATCH_WORKER__DETECT"] = "false"
    processed = group_counted if args.ingest_only else group_processed

    with broker(args.bootstrap) as bootstrap, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        total, _ = preload(args, bootstrap, topic, console)
        gc.collect()
        timings: dict[int, PassTiming] = {}
        for count in (int(n) for n in args.workers.split(",")):
            name = f"{count} worker" + ("s" if count > 1 else "")
            app_id = f"bench-scale{count}-{run_id}"
            env = {**worker_env(bootstrap, app_id, topic, args.partitions, work / app_id), **settings}
            workers = [
                ServiceProcess(
                    ["stream.cli", "worker", "--web-port", "{port}", "--loglevel", "warning"],
                    env=env,
                    log_path=work / f"{app_id}-{i}.log",
                )
                for i in range(count)
            ]
            try:
                with Progress(*columns, console=console) as progress:
                    task = progress.add_task(name, total=total)
                    timings[count] = time_group(
                        name,
                        workers,
                        processed,
                        total,
                        timeout=args.timeout,
                        on_progress=lambda n, task=task: progress.update(task, completed=n),
                    )
            finally:
                for worker in workers:
                    worker.stop()

    print("    python -m bench.scaleout " + " ".join(sys.argv[1:] if argv is None else argv) + "\n")
    print(
        f"Stream: {total:,} events, {args.accounts:,} accounts, {args.features} features, {args.partitions} "
        f"partitions; worker.ingest = {args.ingest}, "
        f"{'ingest stage only' if args.ingest_only else 'ingest and detection'}; {os.cpu_count()} CPUs "
        f"(shared with the broker); Python {platform.python_version()}.\n"
    )
    print(report(timings))


if __name__ == "__main__":
    main()
