"""`spikewatch kafka`: fetch, start, stop and inspect the local single-node Kafka broker.

The broker is the same :class:`stream.kafka_local.LocalKafka` the test fixtures use. ``up`` leaves it
running in the background and records its pid and port in ``.cache/kafka-run/current.json`` so that
``status`` and ``down`` find it from any later shell.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from stream.kafka_local import KAFKA_VERSION, RUN_DIR, KafkaError, LocalKafka, broker_answers, port_is_free

STATE_FILE = RUN_DIR / "current.json"
DEFAULT_PORT = 9092  # what SPIKEWATCH_KAFKA__BOOTSTRAP defaults to, so `up` alone suits the worker

kafka_app = typer.Typer(
    name="kafka",
    help=(
        "Run a real single-node Kafka broker (KRaft, no ZooKeeper, no Docker) on 127.0.0.1 for the demo "
        "and local development. Jars come from Maven Central into .cache/kafka/; needs Java 17+ and Maven."
    ),
    no_args_is_help=True,
)

VersionOption = Annotated[str, typer.Option("--kafka-version", help="Kafka version to fetch and run.")]


def _read_state() -> dict[str, Any] | None:
    try:
        return orjson.loads(STATE_FILE.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def _attached(state: dict[str, Any]) -> LocalKafka:
    return LocalKafka.attach(state["pid"], state["port"], state["data_dir"], version=state["version"])


@kafka_app.command()
def fetch(version: VersionOption = KAFKA_VERSION) -> None:
    """Download the Kafka broker jars with Maven into .cache/kafka/<version>/libs (once, then cached)."""
    try:
        libs = LocalKafka(version=version).fetch()
    except KafkaError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"Kafka {version}: {len(list(libs.glob('*.jar')))} jars in {libs}")


@kafka_app.command()
def up(
    port: Annotated[
        int | None,
        typer.Option(help=f"Client port on 127.0.0.1; {DEFAULT_PORT} when free, else any free port."),
    ] = None,
    heap: Annotated[str, typer.Option(help="Maximum JVM heap of the broker.")] = "512m",
    version: VersionOption = KAFKA_VERSION,
) -> None:
    """Start the broker in the background (it keeps running after this command) and print its address."""
    state = _read_state()
    if state is not None and _attached(state).is_running():
        typer.echo(f"Kafka already runs at {state['bootstrap']} (pid {state['pid']}).")
        typer.echo(f"export SPIKEWATCH_KAFKA__BOOTSTRAP={state['bootstrap']}")
        return
    if port is None and port_is_free(DEFAULT_PORT):
        port = DEFAULT_PORT
    kafka = LocalKafka(port, heap=heap, version=version, detached=True)
    typer.echo("Starting Kafka (the first run downloads the jars with Maven)...", err=True)
    try:
        kafka.start()
    except KafkaError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(1) from error
    state = {
        "pid": kafka.pid,
        "port": kafka.port,
        "bootstrap": kafka.bootstrap,
        "version": version,
        "data_dir": str(kafka.log_file.parent),
        "log": str(kafka.log_file),
    }
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))
    typer.echo(f"Kafka {version} runs at {kafka.bootstrap} (pid {kafka.pid}, log {kafka.log_file}).")
    typer.echo(f"export SPIKEWATCH_KAFKA__BOOTSTRAP={kafka.bootstrap}")


@kafka_app.command()
def down() -> None:
    """Stop the broker of `spikewatch kafka up` (SIGTERM, then SIGKILL after 30 s) and drop its data."""
    state = _read_state()
    if state is None:
        typer.echo("No Kafka started by `spikewatch kafka up` is recorded; nothing to stop.")
        return
    kafka = _attached(state)
    was_running = kafka.is_running()
    kafka.stop()
    data_dir = Path(state["data_dir"])
    with contextlib.suppress(OSError):
        shutil.copyfile(data_dir / "broker.log", RUN_DIR / "last-broker.log")
    shutil.rmtree(data_dir, ignore_errors=True)
    STATE_FILE.unlink(missing_ok=True)
    typer.echo(f"Stopped Kafka at {state['bootstrap']}." if was_running else "Kafka was no longer running.")


@kafka_app.command()
def status() -> None:
    """Tell whether the broker of `spikewatch kafka up` runs and where; exit code 1 when it does not."""
    state = _read_state()
    if state is None or not _attached(state).is_running():
        typer.echo("Kafka is not running (start it with `spikewatch kafka up`).")
        raise typer.Exit(1)
    answers = "answers" if broker_answers(state["bootstrap"]) else "does NOT answer metadata requests"
    typer.echo(f"Kafka {state['version']} runs at {state['bootstrap']} (pid {state['pid']}) and {answers}.")
    typer.echo(f"log: {state['log']}")
    typer.echo(f"export SPIKEWATCH_KAFKA__BOOTSTRAP={state['bootstrap']}")


def register(app: typer.Typer) -> None:
    """Add the ``kafka`` command group to ``app``."""
    app.add_typer(kafka_app)
