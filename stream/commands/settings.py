"""`spikewatch config`: print the effective settings, secrets masked."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

CONFIG_HELP = (
    "Print the settings the worker would use: defaults, then the --config file, then SPIKEWATCH_* "
    "environment variables.\n\n"
    "Passwords print as ********** so the output can be pasted into an issue; the TOML output is a "
    "settings file to start from (put the password back in, or set SPIKEWATCH_KAFKA__SASL_PASSWORD)."
)


class OutputFormat(StrEnum):
    json = "json"
    toml = "toml"


def register(app: typer.Typer) -> None:
    """Add the ``config`` command to ``app``."""
    app.command("config", help=CONFIG_HELP)(show_config)


def show_config(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML settings file (default: $SPIKEWATCH_CONFIG_FILE).", dir_okay=False
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Print as JSON or as a TOML file to start from.")
    ] = OutputFormat.json,
) -> None:
    """Print the effective settings, secrets masked."""
    import tomli_w

    from stream.config import ConfigError, load_settings, masked_settings

    try:
        effective = masked_settings(load_settings(config))
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if output_format is OutputFormat.toml:
        typer.echo(tomli_w.dumps(effective), nl=False)
    else:
        typer.echo(orjson.dumps(effective, option=orjson.OPT_INDENT_2).decode())
