"""`spikewatch config`: print the effective settings, secrets masked."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import orjson
import typer

from stream.commands._options import ConfigOption, settings_or_exit

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
    config: ConfigOption = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Print as JSON or as a TOML file to start from.")
    ] = OutputFormat.json,
) -> None:
    """Print the effective settings, secrets masked."""
    import tomli_w

    from stream.config import masked_settings

    effective = masked_settings(settings_or_exit(config))
    if output_format is OutputFormat.toml:
        typer.echo(tomli_w.dumps(effective), nl=False)
    else:
        typer.echo(orjson.dumps(effective, option=orjson.OPT_INDENT_2).decode())
