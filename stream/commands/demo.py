"""``spikewatch demo``: a real local Kafka, one worker and a simulated stream with a bad release.

Everything runs on this machine: the broker from :mod:`stream.kafka_local`, the worker as a
``spikewatch worker`` subprocess, the stream from :func:`sim.simulator.simulate` sent at full speed. The
alerts are read back from the alert topics, the way a subscriber would, and printed as they fire.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

DEMO_HELP = (
    "Run the whole pipeline on this machine: start a local Kafka (KRaft), one worker and a simulated "
    "stream (seasonality, releases, a bad release, a flood, churners) played at full speed; print the "
    "alerts as they arrive on the alert topics and the /metrics address. Ctrl-C stops everything."
)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""
    app.command("demo", help=DEMO_HELP)(demo)


def demo(
    seed: Annotated[int, typer.Option(help="Simulation seed: the same seed plays the same story.")] = 2,
    days: Annotated[int, typer.Option(min=8, help="Days of simulated history (a week is warm-up).")] = 14,
    accounts: Annotated[int, typer.Option(min=10, help="Simulated accounts.")] = 300,
    web_port: Annotated[int, typer.Option(help="Port of the worker's /metrics and /healthz.")] = 6066,
    until_regression: Annotated[
        bool,
        typer.Option("--until-regression", help="Stop by itself once a planted bad release has paged."),
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Stop by itself after this many seconds (for scripts).")
    ] = None,
) -> None:
    """Start Kafka, a worker and a simulated stream; print alerts as they fire."""
    from rich.console import Console

    from stream.kafka_local import LocalKafka, free_port, port_is_free

    console = Console(highlight=False)
    if not port_is_free(web_port):
        web_port = free_port()
    with tempfile.TemporaryDirectory(prefix="spikewatch-demo-") as tmp:
        work = Path(tmp)
        console.print("[bold]1.[/] starting a local Kafka broker (KRaft, 127.0.0.1)…")
        with LocalKafka() as kafka:
            console.print(f"   Kafka at [cyan]{kafka.bootstrap}[/]")
            env = {
                **os.environ,
                "SPIKEWATCH_KAFKA__BOOTSTRAP": kafka.bootstrap,
                "SPIKEWATCH_WORKER__APP_ID": "spikewatch-demo",
                "SPIKEWATCH_WORKER__STATE_DIR": str(work / "state"),
                "SPIKEWATCH_WORKER__WEB_PORT": str(web_port),
                "SPIKEWATCH_WORKER__SESSION_TIMEOUT": "8",
            }
            worker_log = work / "worker.log"
            with worker_log.open("wb") as log:
                console.print("[bold]2.[/] starting the worker (`spikewatch worker`)…")
                worker = subprocess.Popen(
                    [sys.executable, "-m", "stream.cli", "worker", "--loglevel", "warning"],
                    env=env, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
                try:
                    console.print(f"   metrics at [cyan]http://127.0.0.1:{web_port}/metrics[/], "
                                  f"health at /healthz, counts at /counts")  # fmt: skip
                    outcome = asyncio.run(
                        _play(console, env, seed=seed, days=days, accounts=accounts,
                              until_regression=until_regression, timeout=timeout, worker=worker)
                    )  # fmt: skip
                except KeyboardInterrupt:
                    outcome = "interrupted"
                finally:
                    console.print("[bold]stopping[/] the worker and Kafka…")
                    _stop(worker)
        if outcome == "worker-died":
            console.print(f"[red]the worker exited early; its log:[/]\n{worker_log.read_text()[-4000:]}")
            raise typer.Exit(1)
        console.print(f"done ({outcome}).")
        if until_regression and outcome != "regression":
            raise typer.Exit(1)


async def _play(console, env: dict[str, str], *, seed: int, days: int, accounts: int,
                until_regression: bool, timeout: float | None, worker: subprocess.Popen) -> str:  # fmt: skip
    from schemas.alerts import ALERT_KINDS
    from sim.config import SimConfig
    from sim.simulator import simulate
    from stream.commands.alerts import consume_alerts, format_alert
    from stream.config import load_settings
    from stream.producer import ensure_topic, produce_lines

    settings = load_settings(environ=env)
    console.print(f"[bold]3.[/] simulating {days} days of {accounts} accounts (seed {seed})…")
    sim = simulate(SimConfig(seed=seed, days=days, accounts=accounts))
    planted = {(i.feature, i.release) for i in sim.labels.of_kind("regression")}
    for incident in sim.labels.of_kind("regression"):
        when = time.strftime("%a %d %b %H:%M", time.gmtime(incident.start))
        console.print(f"   planted: release [bold]{incident.release}[/] breaks [bold]{incident.feature}[/] "
                      f"(×{incident.size:g}) on {when} UTC")  # fmt: skip
    regression_paged = asyncio.Event()

    def show(alert, problem) -> None:
        if alert is None:
            console.print(f"[dim]{problem}[/]")
            return
        console.print(format_alert(alert))
        is_page = alert.kind == "regression" and alert.status == "firing"
        if is_page and (alert.feature, alert.release) in planted:
            regression_paged.set()

    topic = settings.topics.input[0]
    await ensure_topic(settings.kafka, topic, settings.topics.partitions)
    tail = asyncio.create_task(
        consume_alerts(settings, kinds=list(ALERT_KINDS), from_beginning=True, follow=True, on_alert=show)
    )
    console.print(f"[bold]4.[/] sending {len(sim.lines):,} events to {topic}; alerts follow as they fire:")
    started = time.monotonic()
    await produce_lines(sim.lines, kafka=settings.kafka, topic=topic)
    console.print(f"   [dim]all events sent in {time.monotonic() - started:.0f} s; the worker catches up…[/]")
    try:
        while True:
            if worker.poll() is not None:
                return "worker-died"
            if until_regression and regression_paged.is_set():
                await asyncio.sleep(2)  # let the alerts right behind it print too
                return "regression"
            if timeout is not None and time.monotonic() - started > timeout:
                return "timeout"
            if tail.done():
                tail.result()  # raises what stopped the tail
                return "tail-ended"
            await asyncio.sleep(0.5)
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
