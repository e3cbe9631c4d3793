"""`spikewatch worker`: run the ingest worker against the configured Kafka cluster."""

from __future__ import annotations

from typing import Annotated

import typer

from stream.commands._options import ConfigOption, settings_or_exit

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
    import faust

    from stream.app import create_app

    if loglevel.lower() not in LOG_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(LOG_LEVELS)}", param_hint="--loglevel")
    overrides = {"worker": {"web_port": web_port}} if web_port is not None else {}
    settings = settings_or_exit(config, **overrides)
    settings.worker.state_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    # mode's Worker installs SIGINT/SIGTERM handlers that stop the app (flushing and committing).
    faust.Worker(create_app(settings), loglevel=loglevel.lower()).execute_from_commandline()
