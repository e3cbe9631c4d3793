"""``spikewatch feedback`` and ``spikewatch silence``: tell the detectors what an alert was, or will be."""

from __future__ import annotations

import asyncio
import getpass
import time
from typing import Annotated

import typer
from pydantic import ValidationError

from schemas.feedback import ACTION_STATES, FEEDBACK_LABELS, AlertLabel, CustomerAction, Silence
from stream.commands._options import ConfigOption, settings_or_exit

__all__ = ["register"]

FEEDBACK_HELP = (
    "Label an alert (by its dedup key, as `spikewatch alerts open` shows it) or record where customer "
    "success is with a churn-risk account.\n\n"
    "Labels: false-alarm (the window does not teach the baseline and the feature's sensitivity is "
    "lowered for a while), expected (no page for that feature until --until/--for; alerts are still "
    "recorded), new-normal (the baseline jumps to the new level), confirmed (kept in the release's "
    "quality history). Actions: open, contacted, saved, lost. A later record for the same key replaces "
    "the earlier one."
)
SILENCE_HELP = (
    "Declare a maintenance window ahead of time: alerts for the feature, the account or everything "
    "between --start and --end are recorded but do not page. Times are RFC 3339 with an offset "
    "(2026-03-05T22:00:00Z) or durations from now (--for 2h)."
)


CHURN_OUTCOMES_HELP = (
    "What became of the accounts flagged at churn risk, rebuilt from the churn-risk alert topic and "
    "the feedback topic: per customer-success state (open, contacted, saved, lost), the accounts "
    "flagged, how many recovered (their episode resolved) and how many recovered after the action."
)


def register(app: typer.Typer) -> None:
    """Add the ``feedback``, ``silence`` and ``churn-outcomes`` commands to ``app``."""
    app.command("feedback", help=FEEDBACK_HELP)(feedback)
    app.command("silence", help=SILENCE_HELP)(silence)
    app.command("churn-outcomes", help=CHURN_OUTCOMES_HELP)(churn_outcomes)


def _window_end(until: str | None, duration: str | None, *, start: float, name: str) -> str | float | None:
    from stream.feedback import parse_duration

    if until is not None and duration is not None:
        raise typer.BadParameter(f"give --{name} or --for, not both", param_hint=f"--{name}")
    if duration is None:
        return until
    try:
        return start + parse_duration(duration)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--for") from None


def _publish(record_factory, config) -> None:
    from stream.feedback import ensure_feedback_topic, send_feedback

    settings = settings_or_exit(config)
    try:
        record = record_factory()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:] or e['loc']) or 'input'}: {e['msg']}"
            for e in error.errors()
        )
        typer.echo(f"invalid feedback: {problems}", err=True)
        raise typer.Exit(2) from None
    topic = settings.topics.feedback

    async def run() -> tuple[int, int]:
        await ensure_feedback_topic(settings.kafka, topic, settings.topics.replication_factor)
        return await send_feedback(settings.kafka, topic, record)

    partition, offset = asyncio.run(run())
    typer.echo(
        f"{record.type} sent to {topic} (partition {partition}, offset {offset}): {record.to_json().decode()}"
    )


def feedback(
    alert_key: Annotated[
        str, typer.Argument(help="The alert's dedup key, e.g. regression:login:2026-03-04T09:10Z.")
    ],
    label: Annotated[
        str | None, typer.Option("--label", "-l", help=f"What the alert was: {', '.join(FEEDBACK_LABELS)}.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", "-a", help=f"Churn-risk follow-up: {', '.join(ACTION_STATES)}.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="For --label expected: no page until this time.")] = None,
    for_: Annotated[
        str | None, typer.Option("--for", help="For --label expected: no page for this long.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text kept with the label.")] = None,
    author: Annotated[str | None, typer.Option(help="Who says so (default: your user name).")] = None,
    config: ConfigOption = None,
) -> None:
    """Label an alert or record a customer-success action."""
    if (label is None) == (action is None):
        raise typer.BadParameter("give exactly one of --label or --action", param_hint="--label/--action")
    who = author or getpass.getuser()
    if action is not None:
        _publish(lambda: CustomerAction(dedup_key=alert_key, action=action, note=note, author=who), config)
        return
    end = _window_end(until, for_, start=time.time(), name="until")
    _publish(lambda: AlertLabel(dedup_key=alert_key, label=label, until=end, note=note, author=who), config)


def silence(
    feature: Annotated[str | None, typer.Option(help="Silence this feature.")] = None,
    account: Annotated[str | None, typer.Option(help="Silence this account.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Silence every alert.")] = False,
    start: Annotated[str | None, typer.Option(help="Start (RFC 3339); default now.")] = None,
    end: Annotated[str | None, typer.Option(help="End (RFC 3339).")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="Length instead of --end, e.g. 4h.")] = None,
    reason: Annotated[str, typer.Option(help="Why (shown with the alerts it silences).")] = "",
    author: Annotated[str | None, typer.Option(help="Who declares it (default: your user name).")] = None,
    config: ConfigOption = None,
) -> None:
    """Declare a silence (maintenance window)."""
    from schemas._time import parse_event_time

    scopes = [
        name for name, given in (("feature", feature), ("account", account), ("all", everything)) if given
    ]
    if len(scopes) != 1:
        raise typer.BadParameter("give exactly one of --feature, --account or --all", param_hint="--feature")
    if not reason.strip():
        raise typer.BadParameter("say why, it is shown with every alert it silences", param_hint="--reason")
    try:
        begin = parse_event_time(start).timestamp() if start is not None else time.time()
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--start") from None
    finish = _window_end(end, for_, start=begin, name="end")
    if finish is None:
        raise typer.BadParameter("give --end or --for", param_hint="--end")
    _publish(
        lambda: Silence(scope=scopes[0], feature=feature, account_id=account, start=begin, end=finish,
                        reason=reason, author=author or getpass.getuser()),
        config,
    )  # fmt: skip


def churn_outcomes(config: ConfigOption = None) -> None:
    """Print flagged accounts by action state and how many recovered."""
    from rich.console import Console
    from rich.table import Table

    from detectors.churn_outcomes import ChurnOutcomes
    from stream.commands.alerts import consume_alerts
    from stream.feedback import read_feedback

    settings = settings_or_exit(config)
    outcomes = ChurnOutcomes()

    async def rebuild() -> None:
        await consume_alerts(
            settings, kinds=["churn_risk"], from_beginning=True, follow=False,
            on_alert=lambda alert, _problem: alert is not None and outcomes.observe(alert),
        )  # fmt: skip
        for record in await read_feedback(settings.kafka, settings.topics.feedback):
            if isinstance(record, CustomerAction):
                outcomes.apply(record)

    asyncio.run(rebuild())
    table = Table("state", "flagged", "recovered", "recovered after the action", title="Churn outcomes")
    for row in outcomes.rows():
        table.add_row(row.state, str(row.flagged), str(row.recovered), str(row.recovered_after_action))
    Console(highlight=False, width=120).print(table)
