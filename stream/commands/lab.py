"""`spikewatch simulate`, `replay` and `backtest`: the offline lab.

``simulate`` writes a labelled SaaS event stream, ``replay`` runs a JSONL file through the detection
engine in event time, ``backtest`` does both over several seeds and writes a scored report.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def simulate(
    out: Annotated[Path, typer.Option("--out", help="Event stream to write (JSONL, arrival order).")] = Path(
        "stream.jsonl"
    ),
    labels: Annotated[Path, typer.Option("--labels", help="Labels side file to write (JSON).")] = Path(
        "labels.json"
    ),
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same stream.")] = 0,
    days: Annotated[int, typer.Option(help="Days of stream.")] = 35,
    accounts: Annotated[int, typer.Option(help="Accounts at the start.")] = 400,
    features: Annotated[int, typer.Option(help="Product features (3-30).")] = 20,
    incidents: Annotated[bool, typer.Option(help="Inject the labelled incidents.")] = True,
) -> None:
    """Simulate a labelled SaaS event stream: tickets, usage, releases and account profiles."""
    from sim.config import SimConfig
    from sim.simulator import simulate as run

    try:
        cfg = SimConfig(seed=seed, days=days, accounts=accounts, features=features, incidents=incidents)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with console.status("simulating"):
        sim = run(cfg)
        sim.write(out, labels)
    kinds: dict[str, int] = {}
    for inc in sim.labels.incidents:
        kinds[inc.kind] = kinds.get(inc.kind, 0) + 1
    counts = ", ".join(f"{k} {v}" for k, v in sim.labels.stream.items())
    console.print(f"wrote {out} ({counts}) and {labels}")
    console.print("incidents: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def replay(
    file: Annotated[Path, typer.Argument(help="JSONL event file (one event per line).", exists=True)],
    out: Annotated[Path, typer.Option("--out", help="Alerts to write (JSONL, alert schema).")] = Path(
        "alerts.jsonl"
    ),
    reorder_horizon: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds of event time events are held and sorted before detection, as the worker does "
            "(worker.reorder_horizon); 0 keeps file order.",
        ),
    ] = 120.0,
) -> None:
    """Replay an event file through the detection engine, as the worker would, and write its alerts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.replay import read_lines, write_alerts
    from sim.replay import replay as run

    with open(file, "rb") as fh:
        total = sum(1 for line in fh if line.strip())
    columns = (TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("replay", total=total)
        horizon = reorder_horizon or None
        result = run(read_lines(file), advance=lambda n: bar.advance(task, n), reorder_horizon=horizon)
    n = write_alerts(result.alerts, out)
    console.print(result.summary())
    console.print(f"wrote {n} alert emissions to {out}")


def backtest(
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1-5 or 1,3,9.")] = "1-5",
    days: Annotated[int, typer.Option(help="Days per seed.")] = 35,
    accounts: Annotated[int, typer.Option(help="Accounts per seed.")] = 400,
    out: Annotated[Path, typer.Option("--out", help="Report directory.")] = Path("reports/backtest"),
    keep_streams: Annotated[bool, typer.Option(help="Also write each seed's stream and labels.")] = False,
    with_feedback: Annotated[
        bool, typer.Option(help="Also replay each seed with alerts labelled from the truth; compare.")
    ] = False,
) -> None:
    """Simulate and replay several seeds, score engine, naive baseline and oracle, write report.md."""
    from sim.backtest import parse_seeds, run_backtest
    from sim.config import SimConfig
    from sim.report import write_report

    try:
        seed_list = parse_seeds(seeds)
        base = SimConfig(days=days, accounts=accounts)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    result = run_backtest(seed_list, base, workdir=out if keep_streams else None, with_feedback=with_feedback)
    command = "spikewatch " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path = write_report(result, out, command=command)
    for line in path.read_text().splitlines()[:14]:
        console.print(line, markup=False, highlight=False)
    console.print(f"report: {path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("simulate")(simulate)
    app.command("replay")(replay)
    app.command("backtest")(backtest)
