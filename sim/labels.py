"""The labels side file: every injected incident plus the configuration that rebuilds the world.

Times are written both as RFC 3339 strings (for people) and epoch seconds (for code).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from sim.config import SimConfig
from sim.plan import Incident, Plan

__all__ = ["Labels", "iso", "load_labels"]

LABELS_FORMAT = "spikewatch-labels/1"


def iso(ts: float) -> str:
    """Epoch seconds as an RFC 3339 UTC string.

    Examples
    --------
    >>> iso(1772409600.0)
    '2026-03-02T00:00:00Z'
    """
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Labels:
    """What really happened in a simulated stream.

    Examples
    --------
    >>> lab = Labels(SimConfig(days=14, accounts=60), [Incident("flood", 0.0, 60.0, size=30.0)],
    ...              features=["checkout"], releases=[])
    >>> Labels.from_dict(lab.to_dict()).incidents[0].size
    30.0
    """

    config: SimConfig
    incidents: list[Incident]
    features: list[str]
    releases: list[dict[str, Any]]
    stream: dict[str, int] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_plan(cls, config: SimConfig, features: list[str], plan: Plan, stream: dict[str, int]
                  ) -> Labels:  # fmt: skip
        """Labels of a simulation."""
        releases = [{"version": r.version, "features": r.features, "time": iso(r.ts), "ts": r.ts}
                    for r in plan.releases]  # fmt: skip
        return cls(config, list(plan.incidents), list(features), releases, dict(stream))

    def of_kind(self, kind: str) -> list[Incident]:
        """Incidents of one kind, in start order."""
        return sorted((i for i in self.incidents if i.kind == kind), key=lambda i: i.start)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (the file format)."""
        incidents = []
        for inc in self.incidents:
            row = {"kind": inc.kind, "feature": inc.feature, "release": inc.release,
                   "account_id": inc.account_id, "start": iso(inc.start), "end": iso(inc.end),
                   "start_ts": inc.start, "end_ts": inc.end, "size": inc.size,
                   "details": inc.details}  # fmt: skip
            incidents.append(row)
        return {"format": LABELS_FORMAT, "config": self.config.to_dict(), "features": self.features,
                "start": iso(self.config.start_ts),
                "end": iso(self.config.start_ts + self.config.days * 86400.0),
                "stream": self.stream, "releases": self.releases, "incidents": incidents}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Labels:
        """Inverse of :meth:`to_dict`."""
        incidents = [
            Incident(kind=r["kind"], start=float(r["start_ts"]), end=float(r["end_ts"]),
                     feature=r.get("feature"), release=r.get("release"), account_id=r.get("account_id"),
                     size=r.get("size"), details=dict(r.get("details") or {}))
            for r in data["incidents"]
        ]  # fmt: skip
        return cls(SimConfig.from_dict(data["config"]), incidents, list(data.get("features", [])),
                   list(data.get("releases", [])), dict(data.get("stream", {})))  # fmt: skip

    def save(self, path: str | Path) -> None:
        """Write the labels as indented JSON."""
        Path(path).write_bytes(orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2))


def load_labels(path: str | Path) -> Labels:
    """Read a labels file written by :meth:`Labels.save`."""
    return Labels.from_dict(orjson.loads(Path(path).read_bytes()))
