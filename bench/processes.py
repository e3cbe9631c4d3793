"""Subprocesses of the benchmarks (the spikewatch worker, the naive agent) and how to watch them.

A benchmark starts a worker as a real process, polls a JSON endpoint for how many records it has
processed, and notes three wall times from the launch: first progress seen, all records processed, and
the process's CPU seconds (user + system, from ``/proc``) at that moment. CPU seconds are the less noisy
figure on a shared machine; wall time is what a user waits for.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stream.kafka_local import free_port

__all__ = ["PassTiming", "ServiceProcess", "cpu_seconds", "worker_env"]

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class PassTiming:
    """One timed pass over the topic: seconds from launch to first progress and to the end."""

    name: str
    events: int
    first: float
    end: float
    cpu: float
    #: Peak resident set of the process in bytes (``VmHWM``), None when not measured (in process).
    peak_rss: int | None = None
    #: Most events seen held in the detection stage's reorder buffer, None when not watched.
    peak_buffered: int | None = None

    @property
    def steady_rate(self) -> float:
        """Events per second from the first progress seen to the end (start-up excluded)."""
        return self.events / max(self.end - self.first, 1e-9)

    @property
    def overall_rate(self) -> float:
        """Events per second from the launch to the end (start-up, group join and all)."""
        return self.events / max(self.end, 1e-9)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its threads so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: fields 14 and 15 of stat


def peak_rss(pid: int) -> int | None:
    """Peak resident set size of process ``pid`` in bytes (``VmHWM`` of Linux ``/proc``), None if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def worker_env(bootstrap: str, app_id: str, topic: str, partitions: int, state_dir: Path) -> dict[str, str]:
    """Environment of a ``spikewatch worker`` reading ``topic`` with its own app id and output topics."""
    return {
        **os.environ,
        "SPIKEWATCH_KAFKA__BOOTSTRAP": bootstrap,
        "SPIKEWATCH_WORKER__APP_ID": app_id,
        "SPIKEWATCH_WORKER__STATE_DIR": str(state_dir),
        "SPIKEWATCH_TOPICS__INPUT": topic,
        "SPIKEWATCH_TOPICS__DEADLETTER": f"{app_id}.deadletter",
        "SPIKEWATCH_TOPICS__ALERT_PREFIX": f"{app_id}.alerts.",
        "SPIKEWATCH_TOPICS__PARTITIONS": str(partitions),
    }


class ServiceProcess:
    """A Python module run as a subprocess with a web port, its log in ``log_path``.

    ``{port}`` in ``args`` is replaced by the port; ``cwd`` (first on ``sys.path`` with ``-m``) lets a
    benchmark run another checkout of the code, e.g. ``git archive HEAD`` unpacked elsewhere.
    """

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None, log_path: Path,
                 port: int | None = None, cwd: Path | None = None) -> None:  # fmt: skip
        self.port = free_port() if port is None else port
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.launched = time.perf_counter()
        command = [sys.executable, "-m", *[a.replace("{port}", str(self.port)) for a in args]]
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        cwd=cwd)  # fmt: skip
        #: Most events seen in the detection stage's reorder buffer (set by :func:`spikewatch_processed`).
        self.peak_buffered: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def get_json(self, path: str) -> dict | None:
        """GET ``path`` as JSON, or None while the server is not up (or answers an error)."""
        with contextlib.suppress(OSError, ValueError):
            url = f"http://127.0.0.1:{self.port}{path}"
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        return None

    def get_text(self, path: str) -> str | None:
        """GET ``path`` as text, or None while the server is not up (or answers an error)."""
        with contextlib.suppress(OSError, ValueError):
            url = f"http://127.0.0.1:{self.port}{path}"
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        return None

    def time_until(self, name: str, processed: Callable[[ServiceProcess], int | None], total: int, *,
                   on_progress: Callable[[int], None] = lambda n: None, timeout: float = 3600.0,
                   poll: float = 0.5) -> PassTiming:  # fmt: skip
        """Poll ``processed`` until it reaches ``total``; the timing of this pass from the launch.

        After ``timeout`` seconds the pass ends early, named partial, with the events done so far.
        """
        first = None
        deadline = self.launched + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.process.returncode}:\n{self.tail()}")
            done = processed(self) or 0
            now = time.perf_counter() - self.launched
            if done and first is None:
                first = now
            on_progress(done)
            if done >= total:
                return PassTiming(name, total, first or now, now, cpu_seconds(self.pid),
                                  peak_rss(self.pid), self.peak_buffered)  # fmt: skip
            if time.perf_counter() > deadline:  # report what was done: a partial pass is still a rate
                return PassTiming(f"{name} (partial: {done:,} of {total:,})", done, first or now, now,
                                  cpu_seconds(self.pid), peak_rss(self.pid), self.peak_buffered)  # fmt: skip
            time.sleep(poll)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self._log.close()
        return self.process.returncode

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def spikewatch_counted(worker: ServiceProcess) -> int | None:
    """Records the ingest stage has applied: valid events counted plus dead letters, from ``/counts``."""
    counts = worker.get_json("/counts")
    if counts is None:
        return None
    return sum(counts.get("by_type", {}).values()) + sum(counts.get("dead_letters", {}).values())


def spikewatch_processed(worker: ServiceProcess) -> int | None:
    """Records through the whole worker: the fewer of those counted by ingest (valid events plus dead
    letters, ``/counts``) and of those done by detection (``/metrics``: events learnt, plus dead letters,
    plus the events in the reorder buffer once it waits for no input partition, which are then only the
    last ``worker.reorder_horizon`` of event time), so a pass ends only when detection has learnt every
    event it can. Events merely held while the buffer waits for a partition are not done: a buffer that
    held the whole backlog would otherwise end the pass before anything was learnt. Also notes the
    largest reorder buffer seen in ``worker.peak_buffered``."""
    counts = worker.get_json("/counts")
    if counts is None:
        return None
    dead = sum(counts.get("dead_letters", {}).values())
    counted = sum(counts.get("by_type", {}).values()) + dead
    metrics = worker.get_text("/metrics")
    if metrics is None:
        return None
    samples = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#"))
    learnt = int(float(samples.get("spikewatch_detection_events", 0)))
    buffered = int(float(samples.get("spikewatch_detection_reorder_buffered", 0)))
    worker.peak_buffered = max(worker.peak_buffered or 0, buffered)
    # A worker from before the gauge existed (``--worker-root``) counts what it holds, as it always did.
    waiting = float(samples.get("spikewatch_detection_reorder_waiting", 0))
    return min(counted, learnt + dead + (buffered if waiting == 0 else 0))
