"""``spikewatch alerts``: follow the alert topics in a terminal, or list the open alerts."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Annotated

import typer

from schemas.alerts import ALERT_KINDS, Alert
from stream.commands._options import ConfigOption, settings_or_exit

__all__ = ["consume_alerts", "format_alert", "register"]

_STYLE = {"firing": "bold red", "updated": "yellow", "resolved": "green"}


def register(app: typer.Typer) -> None:
    """Add the ``alerts`` command group to ``app``."""
    group = typer.Typer(
        help="Read the alert topics: follow them live (`tail`) or rebuild the open alerts (`open`).",
        no_args_is_help=True,
    )
    group.command("tail")(tail)
    group.command("open")(list_open)
    app.add_typer(group, name="alerts")


def format_alert(alert: Alert) -> str:
    """One line for a person, with rich markup: when, status, kind, what and how sure.

    Examples
    --------
    >>> a = Alert(kind="regression", status="firing", severity="critical", pages=True,
    ...           dedup_key="regression:checkout:1", summary="checkout tickets 30 vs 4 expected",
    ...           feature="checkout", release="4.2.0", release_confidence=0.8, accounts_affected=12,
    ...           observed=30, expected=4.0, score=9.5, started_at="2026-03-02T14:05:00Z",
    ...           event_time="2026-03-02T14:20:00Z", wall_time="2026-03-02T14:20:01Z")
    >>> line = format_alert(a)
    >>> line.startswith("2026-03-02 14:20Z [bold red]FIRING  [/] regression [PAGE] checkout tickets")
    True
    >>> line.endswith("(release 4.2.0 80%, 12 accounts, score 9.5)")
    True
    """
    when = alert.event_time.strftime("%Y-%m-%d %H:%MZ")
    style = _STYLE.get(alert.status, "")
    facts = []
    if alert.release:
        confidence = f" {alert.release_confidence:.0%}" if alert.release_confidence is not None else ""
        facts.append(f"release {alert.release}{confidence}")
    if alert.accounts_affected:
        facts.append(f"{alert.accounts_affected} accounts")
    if alert.account_id and alert.kind != "regression":
        facts.append(f"account {alert.account_id}")
    if alert.score is not None:
        facts.append(f"score {alert.score:.1f}")
    page = " [PAGE]" if alert.pages and alert.status == "firing" else ""
    tail = f" ({', '.join(facts)})" if facts else ""
    return f"{when} [{style}]{alert.status.upper():8}[/] {alert.kind}{page} {alert.summary}{tail}"


async def consume_alerts(settings, *, kinds: list[str], from_beginning: bool, follow: bool, on_alert) -> int:
    from aiokafka import AIOKafkaConsumer

    prefix = re.escape(settings.topics.alert_prefix)
    suffixes = "|".join(re.escape(k.replace("_", "-")) for k in kinds)
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        metadata_max_age_ms=5000,  # notice alert topics created after we started
    )
    await consumer.start()
    consumer.subscribe(pattern=f"^{prefix}({suffixes})$")
    seen = 0
    try:
        idle_polls = 0
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            records = [r for batch in batches.values() for r in batch]
            idle_polls = 0 if records else idle_polls + 1
            for record in sorted(records, key=lambda r: r.timestamp):
                try:
                    alert = Alert.from_json(record.value)
                except ValueError as error:
                    where = f"{record.topic}/{record.partition}@{record.offset}"
                    on_alert(None, f"unreadable alert at {where}: {error}")
                    continue
                seen += 1
                on_alert(alert, None)
            if not follow and idle_polls >= 3:
                return seen
    finally:
        await consumer.stop()


def tail(
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help=f"Only these kinds ({', '.join(ALERT_KINDS)}).")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", "-b", help="Start at the oldest alert kept, not at new ones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print each alert as its JSON line.")] = False,
    config: ConfigOption = None,
) -> None:
    """Follow the alert topics and print every firing, update and resolution as it arrives (Ctrl-C stops)."""
    from rich.console import Console


    settings = settings_or_exit(config)
    kinds = _check_kinds(kind)
    console = Console(highlight=False)

    def show(alert: Alert | None, problem: str | None) -> None:
        if alert is None:
            console.print(f"[dim]{problem}[/]")
        elif as_json:
            console.out(alert.to_json().decode())
        else:
            console.print(format_alert(alert))

    prefix, bootstrap = settings.topics.alert_prefix, settings.kafka.bootstrap
    console.print(f"[dim]following {prefix}* on {bootstrap} (Ctrl-C stops)[/]")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            consume_alerts(settings, kinds=kinds, from_beginning=from_beginning, follow=True, on_alert=show)
        )


def list_open(
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help=f"Only these kinds ({', '.join(ALERT_KINDS)}).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Rebuild the open alerts from the alert topics alone (firing or updated, not yet resolved)."""
    from rich.console import Console

    from stream.alerts import OpenAlerts

    settings = settings_or_exit(config)
    book = OpenAlerts()
    console = Console(highlight=False)
    asyncio.run(
        consume_alerts(settings, kinds=_check_kinds(kind), from_beginning=True, follow=False,
                 on_alert=lambda alert, _problem: alert is not None and book.apply(alert))
    )  # fmt: skip
    for alert in book.open():
        console.print(format_alert(alert))
    console.print(f"[dim]{len(book)} open alerts[/]")


def _check_kinds(kinds: list[str] | None) -> list[str]:
    chosen = list(kinds or ALERT_KINDS)
    unknown = sorted(set(chosen) - set(ALERT_KINDS))
    if unknown:
        raise typer.BadParameter(f"unknown kind {', '.join(unknown)}; choose from {', '.join(ALERT_KINDS)}",
                                 param_hint="--kind")  # fmt: skip
    return chosen
