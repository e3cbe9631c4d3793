"""``spikewatch releases``: which releases were blamed for regressions, and what people said about them."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from stream.commands._options import ConfigOption, settings_or_exit

__all__ = ["register"]

RELEASES_HELP = (
    "Release-quality history, rebuilt from the alert topics and the feedback topic: for each release "
    "that an alert named as the suspect, the incidents (feature, confidence, paged or not) and their "
    "labels (confirmed, false-alarm, expected, new-normal), most recent release last."
)


def register(app: typer.Typer) -> None:
    """Add the ``releases`` command to ``app``."""
    app.command("releases", help=RELEASES_HELP)(releases)


def releases(
    last: Annotated[int, typer.Option(min=1, help="Show at most this many releases.")] = 20,
    config: ConfigOption = None,
) -> None:
    """Print the release-quality history."""
    from rich.console import Console
    from rich.table import Table

    from detectors.release_quality import ReleaseQuality
    from schemas.alerts import ALERT_KINDS
    from schemas.feedback import AlertLabel
    from stream.commands.alerts import consume_alerts
    from stream.feedback import read_feedback

    settings = settings_or_exit(config)
    quality = ReleaseQuality(maxlen=last)

    async def rebuild() -> None:
        await consume_alerts(
            settings, kinds=list(ALERT_KINDS), from_beginning=True, follow=False,
            on_alert=lambda alert, _problem: alert is not None and quality.observe(alert),
        )  # fmt: skip
        for record in await read_feedback(settings.kafka, settings.topics.feedback):
            if isinstance(record, AlertLabel):
                quality.apply(record)

    asyncio.run(rebuild())
    table = Table("release", "incident", "feature", "confidence", "paged", "label", title="Release quality")
    for release in quality.releases():
        for incident in quality.incidents(release):
            confidence = f"{incident.confidence:.0%}" if incident.confidence is not None else "-"
            table.add_row(release, incident.dedup_key, incident.feature or "-", confidence,
                          "yes" if incident.paged else "no", incident.label or "unlabelled")  # fmt: skip
    console = Console(highlight=False, width=200)
    console.print(table)
    console.print(f"[dim]{len(quality.releases())} releases named by alerts[/]")
