"""Draw a labelled event stream from a simulated world.

Tickets are a Poisson process per (account, feature, hour) proportional to activity; usage arrives as
one pre-aggregated count per account per interval (stamped at the interval's end); account profiles
daily and on creation; releases as they ship. Delivery realism (arrival order, late events,
duplicates) is added by :mod:`sim.delivery`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from sim.activity import account_hours, feature_multiplier, onboarding_boost
from sim.config import SimConfig
from sim.delivery import Columns, deliver
from sim.labels import Labels
from sim.plan import Plan, plan_incidents
from sim.world import World, build_world

__all__ = ["Simulation", "simulate"]

_H = 3600.0
_CHUNK = 500
#: Ticket origins, kept for tests and plots (not written to the stream).
ORIGINS = ("base", "regression", "flood", "onboarding")
_SEVERITY_P = {0: (0.3, 0.5, 0.15, 0.05), 1: (0.1, 0.4, 0.35, 0.15), 2: (0.1, 0.4, 0.35, 0.15),
               3: (0.3, 0.5, 0.15, 0.05)}  # fmt: skip


@dataclasses.dataclass
class Simulation:
    """A simulated stream: its world, plan, encoded lines in arrival order, and labels."""

    config: SimConfig
    world: World
    plan: Plan
    lines: list[bytes]
    labels: Labels
    tickets: Columns

    def write(self, out: str | Path, labels: str | Path | None = None) -> None:
        """Write the stream as JSONL (arrival order) and, optionally, the labels file."""
        with open(out, "wb") as fh:
            fh.writelines(line + b"\n" for line in self.lines)
        if labels is not None:
            self.labels.save(labels)


def simulate(config: SimConfig) -> Simulation:
    """Simulate ``config``; deterministic in ``config.seed``.

    Examples
    --------
    >>> sim = simulate(SimConfig(seed=5, days=14, accounts=60))
    >>> sim.lines[0][:9]
    b'{"type":"'
    >>> sim.labels.stream["ticket"] > 100
    True
    """
    world = build_world(config)
    plan = plan_incidents(world)
    rng = np.random.default_rng([config.seed, 3])
    t0 = config.start_ts
    feature_mult = feature_multiplier(world, plan)
    feature_w = world.feature_weight[:, None] * feature_mult  # (features, hours)
    feature_cdf = np.cumsum(feature_w, axis=0) / feature_w.sum(axis=0)
    tickets: dict[str, list[np.ndarray]] = {k: [] for k in ("ts", "account", "feature", "origin")}
    usage: dict[str, list[np.ndarray]] = {k: [] for k in ("ts", "account", "count", "feature")}
    profiles: dict[str, list[np.ndarray]] = {k: [] for k in ("ts", "account", "seats_used")}
    gaps = [(i.start, i.end) for i in plan.of_kind("ingestion_gap")]
    regressions = plan.of_kind("regression")
    interval = config.usage_interval_hours
    profile_offset = rng.integers(0, 3600, size=world.n_accounts)

    def add_tickets(ts: np.ndarray, account: np.ndarray, feature: np.ndarray, origin: int) -> None:
        tickets["ts"].append(np.floor(ts))
        tickets["account"].append(np.asarray(account, dtype=np.int64))
        tickets["feature"].append(np.asarray(feature, dtype=np.int64))
        tickets["origin"].append(np.full(len(ts), origin, dtype=np.int64))

    for lo in range(0, world.n_accounts, _CHUNK):
        index = np.arange(lo, min(lo + _CHUNK, world.n_accounts))
        ah = account_hours(world, plan, index)
        counts = rng.poisson(ah.ticket_rate * feature_w.sum(axis=0)[None, :])
        a_k, h = np.nonzero(counts)
        n = counts[a_k, h]
        a_rep, h_rep = np.repeat(index[a_k], n), np.repeat(h, n)
        u = rng.random(len(h_rep))
        feature = (u[:, None] > feature_cdf[:, h_rep].T).sum(axis=1)
        add_tickets(t0 + h_rep * _H + rng.uniform(0, _H, len(h_rep)), a_rep, feature, 0)

        per_interval = ah.activity.reshape(len(index), -1, interval).sum(axis=2)
        used = rng.poisson(per_interval * config.usage_per_seat_hour)
        a_k, j = np.nonzero(used)
        ts = t0 + (j + 1) * interval * _H
        keep = np.ones(len(ts), dtype=bool)
        for g0, g1 in gaps:
            keep &= ~((ts >= g0) & (ts < g1))
        ts, account, count = ts[keep], index[a_k][keep], used[a_k, j][keep]
        feature = np.full(len(ts), -1)
        if config.usage_per_feature:
            split = rng.multinomial(count, world.feature_weight)
            row, feature = np.nonzero(split)
            ts, account, count = ts[row], account[row], split[row, feature]
        usage["ts"].append(ts)
        usage["account"].append(account)
        usage["count"].append(count)
        usage["feature"].append(feature)

        days = np.arange(0, config.days, config.profile_interval_days)
        a_k, d = np.nonzero(ah.seats_used[:, days * 24] > 0)
        profiles["ts"].append(t0 + days[d] * 86400.0 + profile_offset[index[a_k]])
        profiles["account"].append(index[a_k])
        profiles["seats_used"].append(ah.seats_used[a_k, days[d] * 24].astype(np.int64))

        for inc in regressions:
            f = world.features.index(inc.feature)
            affected = np.intersect1d(np.asarray(inc.details["affected"], dtype=np.int64), index)
            k = affected - lo
            h0, h1 = int((inc.start - t0) // _H), int(np.ceil((inc.end - t0) / _H))
            for hour in range(h0, min(h1, config.hours)):
                lo_t, hi_t = max(t0 + hour * _H, inc.start), min(t0 + (hour + 1) * _H, inc.end)
                lam = (inc.size - 1.0) * ah.ticket_rate[k, hour] * feature_w[f, hour] * (hi_t - lo_t) / _H
                m = rng.poisson(lam)
                acc = np.repeat(affected, m)
                add_tickets(rng.uniform(lo_t, hi_t, len(acc)), acc, np.full(len(acc), f), 1)

    for inc in plan.of_kind("flood"):
        n = int(inc.size)
        f = world.features.index(inc.feature)
        add_tickets(np.sort(rng.uniform(inc.start, inc.end, n)), np.full(n, inc.details["account"]),
                    np.full(n, f), 2)  # fmt: skip
    boost = onboarding_boost(world, plan)
    if boost is not None:
        extra, setup = boost
        m = rng.poisson(extra)
        h = np.repeat(np.arange(config.hours), m)
        new = world.n_accounts - 1
        add_tickets(t0 + h * _H + rng.uniform(0, _H, len(h)), np.full(len(h), new),
                    rng.choice(setup, size=len(h)), 3)  # fmt: skip
        created = t0 + world.created_hour[new] * _H
        profiles["ts"].append(np.array([created]))
        profiles["account"].append(np.array([new]))
        profiles["seats_used"].append(np.array([world.seats_used[new]]))

    ticket_cols = _columns(tickets)
    order = np.lexsort((ticket_cols["account"], ticket_cols["ts"]))
    ticket_cols = {k: v[order] for k, v in ticket_cols.items()}
    sev_u = rng.random(len(order))
    severity = np.zeros(len(order), dtype=np.int64)
    for origin, p in _SEVERITY_P.items():
        on = ticket_cols["origin"] == origin
        severity[on] = np.searchsorted(np.cumsum(p)[:-1], sev_u[on], side="right")
    ticket_cols["severity"] = severity
    channel = rng.integers(0, 3, size=len(order))
    ticket_cols["channel"] = channel

    lines, stream = deliver(world, plan, ticket_cols, _columns(usage), _columns(profiles),
                            np.random.default_rng([config.seed, 4]))  # fmt: skip
    labels = Labels.from_plan(config, world.features, plan, stream)
    return Simulation(config, world, plan, lines, labels, ticket_cols)


def _columns(parts: dict[str, list[np.ndarray]]) -> Columns:
    return {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()}
