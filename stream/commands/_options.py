"""What several commands share: the ``--config`` option and loading the settings it names."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from stream.config import Settings

__all__ = ["ConfigOption", "settings_or_exit"]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="TOML settings file (default: $SPIKEWATCH_CONFIG_FILE).", dir_okay=False
    ),
]


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    """The effective settings; on a bad value, print which setting is wrong and exit with status 2."""
    from stream.config import ConfigError, load_settings

    try:
        return load_settings(config, **overrides)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
