"""Backtest: simulate and replay several seeds, score engine and naive baseline, compare to the oracle.

``run_backtest`` is the Python API behind ``spikewatch backtest``; :mod:`sim.report` writes its
result as Markdown with plots. With ``with_feedback`` every seed is replayed a second time through an
engine whose alerts are labelled from the truth (:class:`~sim.labeller.TruthLabeller`), and scored as
``feedback`` next to ``engine``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sim.config import SimConfig
from sim.intensity import TrueIntensity
from sim.labels import Labels
from sim.naive import NaiveBaseline
from sim.oracle import OracleResult, minute_counts, run_oracle
from sim.replay import replay
from sim.scoring import AlertRecord, KindScore, SeedScore, score_alerts
from sim.simulator import simulate

__all__ = ["BacktestResult", "SeedRun", "meets_oracle_target", "parse_seeds", "run_backtest", "run_seed"]

#: A regression is detected fast enough when latency ≤ ORACLE_FACTOR × oracle + ORACLE_SLACK_S.
ORACLE_FACTOR = 1.5
ORACLE_SLACK_S = 300.0


def meets_oracle_target(latency_s: float | None, oracle_s: float | None) -> bool | None:
    """Whether a latency meets ≤ 1.5 × oracle + 5 min (``None`` when the oracle missed too).

    Examples
    --------
    >>> meets_oracle_target(900.0, 400.0), meets_oracle_target(None, 400.0), meets_oracle_target(60.0, None)
    (True, False, None)
    """
    if oracle_s is None:
        return None
    if latency_s is None:
        return False
    return latency_s <= ORACLE_FACTOR * oracle_s + ORACLE_SLACK_S


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"1-5"``, ``"1,3,9"`` or a mix.

    Examples
    --------
    >>> parse_seeds("1-3,7")
    [1, 2, 3, 7]
    """
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


@dataclasses.dataclass
class SeedRun:
    """Everything the report needs about one seed."""

    seed: int
    labels: Labels
    engine: SeedScore
    naive: SeedScore
    oracle: list[OracleResult]
    alerts: list[AlertRecord]
    windows: list[Any]
    stats: dict[str, Any]
    feedback: SeedScore | None = None
    feedback_labels: dict[str, int] = dataclasses.field(default_factory=dict)

    def regression_rows(self) -> list[dict[str, Any]]:
        """Per-regression detail with the oracle's latency next to the engine's."""
        rows = []
        for row, naive, oracle in zip(self.engine.regressions, self.naive.regressions, self.oracle,
                                      strict=True):  # fmt: skip
            ratio = None
            if row["latency_s"] is not None and oracle.latency_s:
                ratio = row["latency_s"] / oracle.latency_s
            rows.append(row | {"seed": self.seed, "oracle_s": oracle.latency_s, "ratio": ratio,
                               "meets": meets_oracle_target(row["latency_s"], oracle.latency_s),
                               "naive_s": naive["latency_s"], "shift": oracle.ratio})  # fmt: skip
        return rows


@dataclasses.dataclass
class BacktestResult:
    """All seeds of a backtest."""

    runs: list[SeedRun]

    @property
    def with_feedback(self) -> bool:
        """Whether every seed was also replayed with labels from the truth."""
        return bool(self.runs) and all(r.feedback is not None for r in self.runs)

    @property
    def days(self) -> float:
        """Total simulated days."""
        return sum(r.labels.config.days for r in self.runs)

    def totals(self, which: str = "engine") -> dict[str, KindScore]:
        """Scores per alert kind summed over seeds (``which``: ``"engine"``, ``"naive"``, ``"feedback"``)."""
        out: dict[str, KindScore] = {}
        for run in self.runs:
            for kind, score in getattr(run, which).kinds.items():
                out.setdefault(kind, KindScore()).add(score)
        return out

    def false_pages(self, which: str = "engine") -> list[dict[str, Any]]:
        """Every false page over all seeds."""
        return [p | {"seed": r.seed} for r in self.runs for p in getattr(r, which).false_pages]

    def false_pages_per_30_days(self, which: str = "engine") -> float:
        """False pages per 30 days of stream (all features and kinds together)."""
        return len(self.false_pages(which)) * 30.0 / max(self.days, 1e-9)

    def regression_rows(self) -> list[dict[str, Any]]:
        """Per-regression rows of every seed."""
        return [row for run in self.runs for row in run.regression_rows()]


def run_seed(config: SimConfig, *, keep_windows: bool = False, workdir: str | Path | None = None,
             advance: Callable[[int], Any] | None = None,
             with_feedback: bool = False,
             make_engine: Callable[[Any], Any] | None = None) -> SeedRun:  # fmt: skip
    """Simulate ``config``, replay it through the engine and the naive baseline, and score both.

    ``with_feedback`` replays it once more through an engine labelled from the truth (scored as
    ``feedback``). ``make_engine(policy)`` builds the engines (``policy`` is None for the plain run;
    default: :class:`~detectors.engine.DetectionEngine` with default parameters).
    """
    from detectors.engine import DetectionEngine

    sim = simulate(config)
    if workdir is not None:
        sim.write(Path(workdir) / f"stream-{config.seed}.jsonl", Path(workdir) / f"labels-{config.seed}.json")
    windows: list[Any] = []
    engine = DetectionEngine(on_window=windows.append if keep_windows else None) if make_engine is None \
        else make_engine(None)
    result = replay(sim.lines, engine, others=[NaiveBaseline()], advance=advance)
    alerts = [AlertRecord.from_alert(a) for a in result.alerts]
    naive = [AlertRecord.from_alert(a) for a in result.others[0]]
    intensity = TrueIntensity(sim.world, sim.plan)
    observed = minute_counts(sim.tickets["ts"], sim.tickets["feature"], len(sim.world.features),
                             config.start_ts, config.hours * 60)  # fmt: skip
    oracle = run_oracle(intensity, observed, seed=config.seed)
    run = SeedRun(config.seed, sim.labels, score_alerts(sim.labels, alerts), score_alerts(sim.labels, naive),
                  oracle, alerts, windows, result.stats)  # fmt: skip
    if with_feedback:
        from detectors.feedback import FeedbackPolicy
        from sim.labeller import TruthLabeller

        policy = FeedbackPolicy()
        fed_engine = DetectionEngine(feedback=policy) if make_engine is None else make_engine(policy)
        labeller = TruthLabeller(fed_engine, sim.labels)
        fed = replay(sim.lines, labeller)
        run.feedback = score_alerts(sim.labels, [AlertRecord.from_alert(a) for a in fed.alerts])
        run.feedback_labels = dict(labeller.given)
    return run


def run_backtest(seeds: Sequence[int], base: SimConfig | None = None, *, progress: bool = True,
                 workdir: str | Path | None = None,
                 with_feedback: bool = False) -> BacktestResult:  # fmt: skip
    """Run :func:`run_seed` for every seed (windows kept for the first one, for the plots)."""
    base = base or SimConfig()
    runs: list[SeedRun] = []
    if not progress:
        for k, seed in enumerate(seeds):
            runs.append(run_seed(base.replace(seed=seed), keep_windows=k == 0, workdir=workdir,
                                 with_feedback=with_feedback))  # fmt: skip
        return BacktestResult(runs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        overall = bar.add_task("seeds", total=len(seeds))
        for k, seed in enumerate(seeds):
            task = bar.add_task(f"seed {seed}: simulate", total=None)
            cfg = base.replace(seed=seed)

            def advance(n: int, task: Any = task, seed: int = seed) -> None:
                bar.update(task, advance=n, description=f"seed {seed}: replay")

            runs.append(run_seed(cfg, keep_windows=k == 0, workdir=workdir, advance=advance,
                                 with_feedback=with_feedback))  # fmt: skip
            bar.update(task, description=f"seed {seed}: done", total=runs[-1].labels.stream.get("lines"),
                       completed=runs[-1].labels.stream.get("lines"))  # fmt: skip
            bar.advance(overall)
    return BacktestResult(runs)
