"""At-least-once delivery: arrival order with small shuffles, late events and duplicate tickets.

Events are encoded here, with the field names of the event contract in ARCHITECTURE.md, directly with
orjson (the simulator does not go through pydantic, which would dominate its run time).
"""

from __future__ import annotations

import numpy as np
import orjson

from sim.plan import Plan
from sim.world import World

__all__ = ["Columns", "deliver", "iso_seconds"]

Columns = dict[str, np.ndarray]
SEVERITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("email", "chat", "web")
_SUBJECTS = ("{f} is not working", "Error in {f}", "Question about {f}", "{f} is slow", "Cannot use {f}")


def iso_seconds(ts: np.ndarray) -> np.ndarray:
    """Whole epoch seconds as RFC 3339 UTC strings.

    Examples
    --------
    >>> str(iso_seconds(np.array([1772409600.0]))[0])
    '2026-03-02T00:00:00Z'
    """
    text = np.datetime_as_string(np.asarray(ts).astype("int64").astype("datetime64[s]"), unit="s")
    return np.char.add(text, "Z")


def deliver(world: World, plan: Plan, tickets: Columns, usage: Columns, profiles: Columns,
            rng: np.random.Generator) -> tuple[list[bytes], dict[str, int]]:  # fmt: skip
    """Encode every event and return the lines in arrival order, with counts of what was done.

    Arrival is event time plus a few seconds of jitter (so neighbours swap), plus up to
    ``max_lateness_s`` for a ``late_rate`` share of events; a ``duplicate_rate`` share of tickets is
    delivered a second time, later.
    """
    cfg = world.config
    n_t = len(tickets["ts"])
    ticket_ids = np.array([f"T{cfg.seed}-{i:07d}" for i in range(n_t)], dtype=object)
    dup = np.flatnonzero(rng.random(n_t) < cfg.duplicate_rate)

    kinds = [("ticket", np.arange(n_t)), ("ticket", dup), ("usage", np.arange(len(usage["ts"]))),
             ("account", np.arange(len(profiles["ts"]))),
             ("release", np.arange(len(plan.releases)))]  # fmt: skip
    event_ts = [tickets["ts"], tickets["ts"][dup], usage["ts"], profiles["ts"],
                np.array([np.floor(r.ts) for r in plan.releases])]  # fmt: skip
    sizes = [len(t) for t in event_ts]
    ts = np.concatenate(event_ts).astype(float)
    delay = rng.exponential(5.0, size=len(ts))
    late = rng.random(len(ts)) < cfg.late_rate
    delay[late] += rng.uniform(60.0, cfg.max_lateness_s, size=int(late.sum()))
    start_dup = sizes[0]
    delay[start_dup : start_dup + sizes[1]] += rng.uniform(1.0, cfg.max_lateness_s, size=sizes[1])
    order = np.argsort(ts + delay, kind="stable")
    times = iso_seconds(ts)

    encoded: list[bytes] = []
    offsets = np.cumsum([0, *sizes])
    for (kind, rows), base in zip(kinds, offsets[:-1], strict=True):
        for k, row in enumerate(rows):
            encoded.append(_encode(kind, int(row), str(times[base + k]), world, plan, tickets, usage,
                                   profiles, ticket_ids))  # fmt: skip
    lines = [encoded[i] for i in order]
    stream = {"ticket": n_t, "duplicate_ticket": int(sizes[1]), "usage": sizes[2], "account": sizes[3],
              "release": sizes[4], "late": int(late.sum()), "lines": len(lines)}  # fmt: skip
    return lines, stream


def _encode(kind: str, row: int, time: str, world: World, plan: Plan, tickets: Columns, usage: Columns,
            profiles: Columns, ticket_ids: np.ndarray) -> bytes:  # fmt: skip
    if kind == "ticket":
        feature = world.features[int(tickets["feature"][row])]
        event = {"type": "ticket", "schema_version": 1, "ticket_id": ticket_ids[row],
                 "account_id": world.account_id[int(tickets["account"][row])], "feature": feature,
                 "severity": SEVERITIES[int(tickets["severity"][row])], "time": time,
                 "subject": _SUBJECTS[row % len(_SUBJECTS)].format(f=feature),
                 "channel": CHANNELS[int(tickets["channel"][row])]}  # fmt: skip
    elif kind == "usage":
        event = {"type": "usage", "schema_version": 1,
                 "account_id": world.account_id[int(usage["account"][row])],
                 "count": int(usage["count"][row]), "time": time}  # fmt: skip
        if usage["feature"][row] >= 0:
            event["feature"] = world.features[int(usage["feature"][row])]
    elif kind == "account":
        a = int(profiles["account"][row])
        event = {"type": "account", "schema_version": 1, "account_id": world.account_id[a],
                 "mrr": float(world.mrr[a]), "seats": int(world.seats[a]),
                 "seats_used": int(profiles["seats_used"][row]), "tier": world.tier_name(a),
                 "renewal_date": world.renewal_date[a], "owner": world.owner[a], "time": time}  # fmt: skip
    else:
        rel = plan.releases[row]
        event = {"type": "release", "schema_version": 1, "version": rel.version, "features": rel.features,
                 "time": time, "description": f"Release {rel.version}"}  # fmt: skip
    # orjson's bytes keep a ~4 KiB buffer each; a compact copy keeps a million lines in memory cheaply.
    return bytes(memoryview(orjson.dumps(event)))
