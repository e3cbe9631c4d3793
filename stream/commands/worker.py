"""`spikewatch worker`: run the ingest worker against the configured Kafka cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stream.commands._options import ConfigOption, settings_or_exit

if TYPE_CHECKING:
    from stream.config import Settings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
WORKER_HELP = (
    "Consume events, count valid ones, dead-letter the rest, serve metrics.\n\n"
    "Reads the input topics as raw bytes; each record that is not a valid event goes to the dead-letter "
    "topic with its original bytes, its key and a reason. Counts by event type and ticket feature live in "
    "Faust tables (changelog topics) and stay exact across restarts. The web server (worker.web_host, "
    "--web-port) serves /metrics, /healthz and /counts.\n\n"
    "Settings come from --config, SPIKEWATCH_* environment variables (e.g. SPIKEWATCH_KAFKA__BOOTSTRAP) "
    "and defaults; `spikewatch config` prints them. Stops cleanly on Ctrl-C or SIGTERM."
)


#: Exit status when the state directory or the Kafka security settings fail the start-up checks
#: (2 is a bad setting, as for every command).
PREFLIGHT_FAILED = 3


def _preflight_or_exit(settings: Settings) -> None:
    from stream.preflight import PreflightError, check_kafka_security, check_state_dir

    try:
        # Also creates the state directory: Faust creates only its last level.
        check_state_dir(settings.worker.state_dir, min_free_bytes=settings.worker.state_min_free_bytes)
        note = check_kafka_security(settings.kafka)
    except PreflightError as error:
        typer.secho(f"spikewatch worker cannot start: {error}", fg="red", err=True)
        raise typer.Exit(PREFLIGHT_FAILED) from None
    if note is not None:
        typer.echo(f"spikewatch worker: {note}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command to ``app``."""
    app.command("worker", help=WORKER_HELP)(worker)


def worker(
    config: ConfigOption = None,
    web_port: Annotated[
        int | None,
        typer.Option(
            "--web-port", help="Port of /metrics, /healthz and /counts (overrides worker.web_port)."
        ),
    ] = None,
    loglevel: Annotated[
        str, typer.Option("--loglevel", "-l", help=f"One of {', '.join(LOG_LEVELS)}.", case_sensitive=False)
    ] = "info",
) -> None:
    """Run the ingest worker until SIGINT or SIGTERM."""
    if loglevel.lower() not in LOG_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(LOG_LEVELS)}", param_hint="--loglevel")
    overrides = {"worker": {"web_port": web_port}} if web_port is not None else {}
    settings = settings_or_exit(config, **overrides)
    _preflight_or_exit(settings)
    import faust  # after the checks: a bad setting is reported without loading Faust

    from stream.app import create_app

    # mode's Worker installs SIGINT/SIGTERM handlers that stop the app (flushing and committing).
    runner = faust.Worker(create_app(settings), loglevel=loglevel.lower())
    # Faust's start-up spinner lowers the root logger to DEBUG to animate itself, and every library
    # then formats debug records nobody sees (3-7% of the worker's samples in bench/e2e profiles).
    runner.spinner = None
    runner.execute_from_commandline()
