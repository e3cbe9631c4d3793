"""`spikewatch produce`: send a JSONL file (or stdin) to the input topic, line by line, as is."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from stream.commands._options import ConfigOption, settings_or_exit

PRODUCE_HELP = (
    "Send each line of FILE (`-` for stdin) to the input topic, byte for byte.\n\n"
    "Invalid lines are sent too, so you can watch the worker dead-letter them. A line that is a JSON "
    "object with an account_id is keyed by it (an account's events stay in order on one partition); "
    "other lines have no key. The topic is created with topics.partitions partitions if it does not "
    "exist. Settings (bootstrap, security, topic names) as for `spikewatch worker`."
)


def register(app: typer.Typer) -> None:
    """Add the ``produce`` command to ``app``."""
    app.command("produce", help=PRODUCE_HELP)(produce)


def produce(
    file: Annotated[str, typer.Argument(help="JSON Lines file to send, or - for standard input.")],
    topic: Annotated[
        str | None, typer.Option("--topic", "-t", help="Topic to send to (default: the first input topic).")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option("--rate", "-r", min=0.001, help="Send at most this many events per second."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Send a JSONL file to Kafka."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from stream.producer import ensure_topic, produce_lines, records

    settings = settings_or_exit(config)
    if file == "-":
        lines, total = sys.stdin.buffer, None
    else:
        path = Path(file)
        if not path.is_file():
            raise typer.BadParameter(f"{file} is not a file", param_hint="FILE")
        lines = path.read_bytes().splitlines()
        total = sum(1 for _ in records(lines))
    target = topic or settings.topics.input[0]
    console = Console(stderr=True)

    async def run() -> int:
        await ensure_topic(
            settings.kafka, target, settings.topics.partitions, settings.topics.replication_factor
        )
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"→ {target}", total=total)
            return await produce_lines(
                lines, kafka=settings.kafka, topic=target, rate=rate,
                on_sent=lambda n: progress.advance(task, n),
            )  # fmt: skip

    sent = asyncio.run(run())
    console.print(f"sent {sent} records to {target}")
