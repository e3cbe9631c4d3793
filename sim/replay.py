"""Offline replay: feed a JSONL event file through the detection engine, in file order.

Lines are read as bytes and parsed with :func:`schemas.parse.parse_event`, exactly as the worker does
with Kafka messages; rejections are counted by reason, never raised. Since the engine runs in event
time, the same file always gives the same alerts (apart from ``wall_time``). With ``reorder_horizon``
the events pass through the worker's :class:`~sim.reorder.EventTimeMerge` first, so replay and the live
worker (with the same ``worker.reorder_horizon``) feed the engine the same sequence.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from schemas.alerts import Alert
from schemas.parse import Rejection, parse_event
from sim.reorder import EventTimeMerge

__all__ = ["AlertSource", "ReplayResult", "read_lines", "replay", "write_alerts"]


class AlertSource(Protocol):
    """Anything that turns events into alerts like :class:`detectors.engine.DetectionEngine`."""

    def process(self, event: Any) -> list[Alert]: ...  # pragma: no cover

    def flush(self) -> list[Alert]: ...  # pragma: no cover


@dataclasses.dataclass
class ReplayResult:
    """Alerts of the engine (and of any other detector fed alongside), with input counts."""

    alerts: list[Alert]
    lines: int
    events: collections.Counter[str]
    rejections: collections.Counter[str]
    others: list[list[Alert]]
    stats: dict[str, Any]

    def summary(self) -> str:
        """One paragraph for a person."""
        kinds = collections.Counter(a.kind for a in self.alerts if a.status == "firing")
        pages = sum(a.pages for a in self.alerts if a.status == "firing")
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.events.items()))
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(self.rejections.items())) or "none"
        found = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
        return (f"{self.lines} lines: {events}; rejected: {rejected}. "
                f"Alerts (firing): {found}; pages: {pages}.")  # fmt: skip


def read_lines(path: str | Path) -> Iterator[bytes]:
    """Lines of a JSONL file as bytes, without their line ends; blank lines skipped."""
    with open(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def replay(lines: Iterable[bytes], engine: AlertSource | None = None, *,
           others: Sequence[AlertSource] = (), advance: Callable[[int], Any] | None = None,
           every: int = 10_000, reorder_horizon: float | None = None,
           finish: bool = True) -> ReplayResult:  # fmt: skip
    """Parse every line, feed the events to ``engine`` (and ``others``) in order, then flush.

    ``engine`` defaults to a :class:`~detectors.engine.DetectionEngine` with default parameters;
    ``advance(n)`` is called every ``every`` lines (for a progress bar). ``reorder_horizon`` (seconds)
    sorts events in event time within that horizon first, as the worker does; None keeps file order.
    ``finish=False`` leaves the last events in the reorder buffer and the engine unflushed at the end,
    as a live worker that has read everything is: its alerts are then exactly the worker's.

    Examples
    --------
    >>> lines = [b'{"type":"ticket","ticket_id":"T1","account_id":"a","feature":"sso","time":1772460000}',
    ...          b'{"type":"ticket","ticket_id":"T1","account_id":"a","feature":"sso","time":1772460000}',
    ...          b'{"type":"refund"}']
    >>> result = replay(lines)
    >>> result.lines, dict(result.events), dict(result.rejections)
    (3, {'ticket': 2}, {'unknown_type': 1})
    >>> result.stats["duplicates"]
    1
    """
    if engine is None:
        from detectors.engine import DetectionEngine

        engine = DetectionEngine()
    alerts: list[Alert] = []
    other_alerts: list[list[Alert]] = [[] for _ in others]
    events: collections.Counter[str] = collections.Counter()
    rejections: collections.Counter[str] = collections.Counter()
    merge = None if reorder_horizon is None else EventTimeMerge(reorder_horizon, sources=["file"])

    def learn(ready: Iterable[Any]) -> None:
        for event in ready:
            alerts.extend(engine.process(event))
            for sink, source in zip(other_alerts, others, strict=True):
                sink.extend(source.process(event))

    n = 0
    for n, line in enumerate(lines, start=1):
        parsed = parse_event(line)
        if isinstance(parsed, Rejection):
            rejections[parsed.reason] += 1
        else:
            events[parsed.type] += 1
            if merge is None:
                learn([parsed])
            else:
                merge.push("file", parsed.ts, line, parsed)
                learn(merge.pop_ready())
        if advance is not None and n % every == 0:
            advance(every)
    if advance is not None:
        advance(n % every)
    if finish and merge is not None:
        learn(merge.drain())
    if finish:
        alerts.extend(engine.flush())
        for sink, source in zip(other_alerts, others, strict=True):
            sink.extend(source.flush())
    stats = dict(getattr(engine, "stats", {}))
    return ReplayResult(alerts, n, events, rejections, other_alerts, stats)


def write_alerts(alerts: Iterable[Alert], path: str | Path) -> int:
    """Write alerts as JSONL in the alert schema; returns how many were written."""
    n = 0
    with open(path, "wb") as fh:
        for alert in alerts:
            fh.write(alert.to_json() + b"\n")
            n += 1
    return n
