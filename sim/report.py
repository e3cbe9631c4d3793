"""Write a backtest as ``report.md`` with PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sim.backtest import ORACLE_FACTOR, ORACLE_SLACK_S, BacktestResult
from sim.scoring import CHURN_LEAD_TARGET, KindScore

__all__ = ["fmt_duration", "write_report"]

_KINDS = ("regression", "flood", "churn_risk", "drift", "expansion", "anomaly")
_YES_NO = {True: "yes", False: "no", None: "–"}
_SPAN_COLOURS = {"regression": "tab:red", "drift": "tab:orange", "flood": "tab:purple",
                 "holiday": "0.5", "ingestion_gap": "tab:cyan"}  # fmt: skip


def fmt_duration(seconds: float | None) -> str:
    """Seconds as a short duration.

    Examples
    --------
    >>> fmt_duration(90), fmt_duration(5400), fmt_duration(200000), fmt_duration(None)
    ('1.5 min', '1.5 h', '2.3 d', '–')
    """
    if seconds is None:
        return "–"
    if abs(seconds) < 3600:
        return f"{seconds / 60:.1f} min"
    if abs(seconds) < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _kind_rows(totals: dict[str, KindScore]) -> list[list[Any]]:
    rows = []
    for kind in _KINDS:
        s = totals.get(kind)
        if s is None or (s.alerts == 0 and s.incidents == 0):
            continue
        lat = s.latencies
        ppi = "–" if s.pages_per_incident is None else f"{s.pages_per_incident:.2f}"
        rows.append([kind, s.incidents, s.alerts, _pct(s.precision), _pct(s.recall),
                     fmt_duration(statistics.median(lat)) if lat else "–",
                     fmt_duration(max(lat)) if lat else "–", ppi, s.pages])  # fmt: skip
    return rows


def write_report(result: BacktestResult, out_dir: str | Path, command: str = "") -> Path:
    """Write ``report.md`` and its PNGs into ``out_dir``; returns the report's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = result.runs[0].labels.config
    seeds = ", ".join(str(r.seed) for r in result.runs)
    lines = [
        "# spikewatch backtest", "",
        f"Seeds {seeds}; {cfg.days} days × {len(result.runs)} seeds = {result.days:.0f} days; "
        f"{cfg.accounts} accounts, {cfg.features} features.", "",
    ]  # fmt: skip
    if command:
        lines += ["Reproduce with:", "", f"    {command}", ""]

    header = ["kind", "incidents", "alerts", "precision", "recall", "latency median", "latency max",
              "pages/incident", "pages"]  # fmt: skip
    for which, title in (("engine", "Engine"), ("naive", "Naive baseline (sim/naive.py)")):
        lines += [f"## {title}", ""]
        lines += _table(header, _kind_rows(result.totals(which)))
        fp = result.false_pages(which)
        context = Counter(tag for p in fp for tag in p["context"])
        per_month = result.false_pages_per_30_days(which)
        tags = ", ".join(f"{k} {v}" for k, v in context.most_common()) or "none"
        lines += [f"False pages: {len(fp)} ({per_month:.1f} per 30 days; target ≤ 1). By context: {tags}.",
                  ""]

    if result.with_feedback:
        lines += _feedback_section(result)

    traps = ("flood", "benign_release", "holiday", "weekend", "gap", "onboarding", "drift", "other")
    counts = {w: Counter(tag for p in result.false_pages(w) for tag in p["context"])
              for w in ("engine", "naive")}
    lines += ["## Traps: pages that should not have happened", "",
              "Each false page tagged with what was going on when it fired (target: none at all).", ""]
    lines += _table(["context", "engine pages", "naive pages"],
                    [[t, counts["engine"][t], counts["naive"][t]] for t in traps])  # fmt: skip

    rows = result.regression_rows()
    comparable = [r for r in rows if r["meets"] is not None]
    meets = sum(bool(r["meets"]) for r in comparable)
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    detected = [r for r in rows if r["detected"]]
    lines += ["## Regressions against the oracle", "",
              f"Oracle: Poisson CUSUM knowing the true baseline and shift, threshold set on noise-only "
              f"replicas to ≤ 1 false alarm per 30 days over all features. Target: latency ≤ "
              f"{ORACLE_FACTOR} × oracle + {ORACLE_SLACK_S / 60:.0f} min.", "",
              f"Met on {meets} of {len(comparable)} regressions the oracle detects "
              f"(the oracle misses {len(rows) - len(comparable)} of {len(rows)}); median latency ratio "
              f"{statistics.median(ratios):.2f}." if ratios else
              f"Met on {meets} of {len(comparable)} regressions the oracle detects.",
              f"Release named right on {sum(r['release_right'] for r in detected)} of {len(detected)} "
              "detected regressions.", ""]  # fmt: skip
    lines += _table(
        ["seed", "feature", "size", "shift", "release", "engine", "oracle", "ratio", "meets", "release ok",
         "naive"],
        [[r["seed"], r["feature"], f"×{r['size']:g}", f"×{r['shift']:.2f}", r["release"],
          fmt_duration(r["latency_s"]), fmt_duration(r["oracle_s"]),
          "–" if r["ratio"] is None else f"{r['ratio']:.2f}",
          _YES_NO[r["meets"]], _YES_NO[r["release_right"] if r["detected"] else None],
          fmt_duration(r["naive_s"])] for r in rows],
    )  # fmt: skip

    totals = result.totals()
    churn, drift, expansion = totals["churn_risk"], totals["drift"], totals["expansion"]
    leads = churn.latencies
    on_time = sum(x <= CHURN_LEAD_TARGET for x in leads)
    lines += ["## Churn, drift, expansion", "",
              f"Churn: recall {_pct(churn.recall)}, precision {_pct(churn.precision)} (accounts); lead time "
              f"(alert − decline start) median {fmt_duration(statistics.median(leads)) if leads else '–'}, "
              f"≤ 3 days for {on_time} of {len(leads)} found.",
              f"Drift: found within 10 days on the right feature in {drift.detected} of {drift.incidents}; "
              f"drift precision {_pct(drift.precision)}.",
              f"Expansion: found {expansion.detected} of {expansion.incidents} (target ≥ half); precision "
              f"{_pct(expansion.precision)}.", ""]  # fmt: skip

    _plot_features(result, out / "observed_vs_expected.png")
    _plot_churn(result, out / "churn_lead_time.png")
    lines += ["## Plots", "", "![observed vs expected](observed_vs_expected.png)", "",
              "![churn lead time](churn_lead_time.png)", ""]  # fmt: skip
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def _feedback_section(result: BacktestResult) -> list[str]:
    """Without vs with labels from the truth (``--with-feedback``), side by side."""
    given: Counter[str] = Counter()
    for run in result.runs:
        given.update(run.feedback_labels)
    labels = ", ".join(f"{k} {v}" for k, v in sorted(given.items())) or "none"
    plain, fed = result.totals("engine"), result.totals("feedback")
    rows: list[list[Any]] = [
        ["false pages per 30 days", f"{result.false_pages_per_30_days('engine'):.2f}",
         f"{result.false_pages_per_30_days('feedback'):.2f}"],
        ["false pages", len(result.false_pages("engine")), len(result.false_pages("feedback"))],
    ]  # fmt: skip
    for kind in _KINDS:
        a, b = plain.get(kind, KindScore()), fed.get(kind, KindScore())
        if a.alerts or b.alerts:
            rows.append([f"{kind}: false alerts", a.alerts - a.matched_alerts, b.alerts - b.matched_alerts])
    reg_a, reg_b = plain.get("regression", KindScore()), fed.get("regression", KindScore())
    rows.append(["regression recall", _pct(reg_a.recall), _pct(reg_b.recall)])
    rows.append(["regression latency median",
                 fmt_duration(statistics.median(reg_a.latencies)) if reg_a.latencies else "–",
                 fmt_duration(statistics.median(reg_b.latencies)) if reg_b.latencies else "–"])  # fmt: skip
    out = ["## With feedback", "",
           "The same streams replayed with every firing alert labelled from the truth 30 min after it "
           "fired (sim/labeller.py): planted regressions → confirmed, pages during a benign release of "
           "their feature → expected (until its end), everything else → false-alarm. "
           f"Labels given: {labels}.", ""]  # fmt: skip
    return out + _table(["", "without feedback", "with feedback"], rows)


def _plot_features(result: BacktestResult, path: Path) -> None:
    run = result.runs[0]
    labels, t0 = run.labels, run.labels.config.start_ts
    features = list(dict.fromkeys([i.feature for i in labels.of_kind("regression")]
                                  + [i.feature for i in labels.of_kind("drift")]))[:6]  # fmt: skip
    fig, axes = plt.subplots(len(features), 1, figsize=(14, 2.6 * len(features)), sharex=True, squeeze=False)
    for ax, feature in zip(axes[:, 0], features, strict=True):
        observed, expected = _hourly(run.windows, feature, t0, labels.config.hours)
        x = (np.arange(labels.config.hours) + 1) / 24
        ax.step(x, observed, lw=0.6, color="tab:blue", label="observed / h", where="pre")
        ax.plot(x, expected, lw=0.9, color="black", label="expected / h")
        if np.isfinite(observed).any():
            top = max(1.0, float(np.nanmax(observed)), float(np.nanpercentile(expected, 99.5)))
            ax.set_ylim(0, top * 1.1)
        for inc in labels.incidents:
            colour = _SPAN_COLOURS.get(inc.kind)
            if colour and (inc.feature in (None, feature)):
                ax.axvspan((inc.start - t0) / 86400, (inc.end - t0) / 86400, color=colour, alpha=0.25, lw=0)
        for a in run.alerts:
            if a.status == "firing" and a.feature == feature and a.kind in ("regression", "drift"):
                ax.axvline((a.ts - t0) / 86400, color="tab:red" if a.pages else "tab:orange", lw=0.8, ls="--")
        ax.set_ylabel(feature)
        ax.legend(loc="upper left", fontsize=7)
    axes[-1, 0].set_xlabel("days since start (shaded: true incidents; dashed: alerts)")
    fig.suptitle(f"Seed {run.seed}: tickets per hour, observed vs expected")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _hourly(windows: list[Any], feature: str, t0: float, hours: int) -> tuple[np.ndarray, np.ndarray]:
    """Observed and expected tickets per hour from the engine's closed windows (expected only once warm)."""
    observed, expected = np.zeros(hours), np.zeros(hours)
    cold = np.zeros(hours, dtype=bool)
    for w in windows:
        if w.feature != feature:
            continue
        h = int((w.end - 1 - t0) // 3600)
        if 0 <= h < hours:
            observed[h] += w.tickets
            expected[h] += w.expected
            cold[h] |= not w.warm
    expected[cold] = np.nan
    return observed, expected


def _plot_churn(result: BacktestResult, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.arange(-1, 15, 0.5)
    for which, colour in (("engine", "tab:blue"), ("naive", "tab:gray")):
        leads = [x / 86400 for run in result.runs for x in getattr(run, which).churn_lead_times]
        ax.hist(np.clip(leads, bins[0], bins[-1]), bins=bins, alpha=0.6, color=colour,
                label=f"{which} ({len(leads)} found)")  # fmt: skip
    ax.axvline(CHURN_LEAD_TARGET / 86400, color="tab:red", ls="--", label="target ≤ 3 days")
    ax.set_xlabel("churn alert − decline start (days)")
    ax.set_ylabel("accounts")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
