"""Naive baseline detectors, scored by the same backtest so the engine's gain is visible.

``NaiveBaseline`` does what a first dashboard alert would: page when a feature's tickets in an hour
exceed the mean + ``k``·sd of its past hourly counts, and flag churn when an account's daily usage
falls under ``churn_fraction`` of its mean. It knows nothing of seasonality, breadth across accounts,
holidays or gaps.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from schemas.alerts import Alert

__all__ = ["NaiveBaseline"]

_H = 3600.0
_DAY = 86400.0


class NaiveBaseline:
    """Hourly per-feature threshold for regressions and a daily usage floor for churn.

    Parameters
    ----------
    k
        Page when an hour's count exceeds mean + ``k``·sd of the feature's past hourly counts.
    history_hours
        Hours of history per feature.
    min_count
        Never page on fewer tickets than this in an hour.
    churn_fraction
        Flag an account whose daily usage falls under this share of its mean daily usage.
    history_days
        Days of usage history per account (at least 7 are needed before flagging).
    lateness
        Seconds of event time to wait before closing an hour or a day.

    Examples
    --------
    >>> from schemas.parse import parse_event
    >>> naive = NaiveBaseline(k=3.0)
    >>> alerts = []
    >>> def ticket(i, ts):
    ...     raw = f'{{"type":"ticket","ticket_id":"t{i}","account_id":"a","feature":"sso","time":{ts}}}'
    ...     return parse_event(raw.encode())
    >>> t0 = 1772409600
    >>> for h in range(200):
    ...     alerts += naive.process(ticket(h, t0 + h * 3600))
    >>> for i in range(30):
    ...     alerts += naive.process(ticket(1000 + i, t0 + 200 * 3600 + i))
    >>> alerts += naive.flush()
    >>> [(a.kind, a.feature, a.pages) for a in alerts]
    [('regression', 'sso', True)]
    """

    def __init__(self, k: float = 3.0, history_hours: int = 168, min_count: int = 3,
                 churn_fraction: float = 0.25, history_days: int = 28, lateness: float = 600.0):  # fmt: skip
        if not k > 0:
            raise ValueError(f"k must be > 0, got {k!r}")
        if history_hours < 2:
            raise ValueError(f"history_hours must be >= 2, got {history_hours!r}")
        if not 0 < churn_fraction < 1:
            raise ValueError(f"churn_fraction must be in (0, 1), got {churn_fraction!r}")
        if history_days < 7:
            raise ValueError(f"history_days must be >= 7, got {history_days!r}")
        self.k = k
        self.history_hours = history_hours
        self.min_count = min_count
        self.churn_fraction = churn_fraction
        self.history_days = history_days
        self.lateness = lateness
        self._seen: set[str] = set()
        self._hour_counts: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self._history: dict[str, collections.deque[int]] = {}
        self._in_episode: set[str] = set()
        self._releases: list[tuple[float, str, list[str]]] = []
        self._day_usage: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self._usage_history: dict[str, collections.deque[int]] = {}
        self._flagged: set[str] = set()
        self._next_hour: int | None = None
        self._next_day: int | None = None
        self._max_ts = float("-inf")

    def process(self, event: Any) -> list[Alert]:
        """Learn one parsed event and return the alerts of any hour or day it closed."""
        kind = getattr(event, "type", None)
        ts = event.ts
        if kind == "ticket":
            if event.ticket_id in self._seen:
                return []
            self._seen.add(event.ticket_id)
            self._hour_counts[int(ts // _H)][event.feature] += 1
        elif kind == "usage":
            self._day_usage[int(ts // _DAY)][event.account_id] += event.count
        elif kind == "release":
            self._releases.append((ts, event.version, list(event.features)))
        else:
            return []
        if self._next_hour is None:
            self._next_hour, self._next_day = int(ts // _H), int(ts // _DAY)
        self._max_ts = max(self._max_ts, ts)
        return self._advance(self._max_ts - self.lateness)

    def flush(self) -> list[Alert]:
        """Close every open hour and day."""
        return self._advance(self._max_ts + _DAY)

    def _advance(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        while self._next_hour is not None and (self._next_hour + 1) * _H <= watermark:
            alerts += self._close_hour(self._next_hour)
            self._next_hour += 1
        while self._next_day is not None and (self._next_day + 1) * _DAY <= watermark:
            alerts += self._close_day(self._next_day)
            self._next_day += 1
        return alerts

    def _close_hour(self, hour: int) -> list[Alert]:
        counts = self._hour_counts.pop(hour, collections.Counter())
        alerts = []
        for feature in sorted(set(counts) | set(self._history)):
            history = self._history.setdefault(feature, collections.deque(maxlen=self.history_hours))
            n = counts.get(feature, 0)
            if len(history) >= 24:
                mean, sd = float(np.mean(history)), float(np.std(history))
                if n >= self.min_count and n > mean + self.k * max(sd, 0.5):
                    if feature not in self._in_episode:
                        self._in_episode.add(feature)
                        alerts.append(self._regression(feature, hour, n, mean))
                else:
                    self._in_episode.discard(feature)
            history.append(n)
        return alerts

    def _regression(self, feature: str, hour: int, n: int, mean: float) -> Alert:
        end = (hour + 1) * _H
        suspects = [v for ts, v, fs in self._releases if feature in fs and end - 6 * _H <= ts <= end]
        return Alert(kind="regression", dedup_key=f"naive:regression:{feature}:{hour}", severity="critical",
                     pages=True, summary=f"{feature}: {n} tickets in an hour (mean {mean:.1f})",
                     feature=feature, release=suspects[-1] if suspects else None, observed=float(n),
                     expected=mean, started_at=hour * _H, event_time=end, wall_time=end)  # fmt: skip

    def _close_day(self, day: int) -> list[Alert]:
        usage = self._day_usage.pop(day, collections.Counter())
        alerts = []
        for account in sorted(set(usage) | set(self._usage_history)):
            history = self._usage_history.setdefault(account, collections.deque(maxlen=self.history_days))
            n = usage.get(account, 0)
            if len(history) >= 7:
                mean = float(np.mean(history))
                if n < self.churn_fraction * mean and account not in self._flagged:
                    self._flagged.add(account)
                    end = (day + 1) * _DAY
                    alerts.append(Alert(
                        kind="churn_risk", dedup_key=f"naive:churn:{account}", severity="warning",
                        summary=f"{account}: usage {n} under {self.churn_fraction:.0%} of mean {mean:.0f}",
                        account_id=account, observed=float(n), expected=mean, started_at=day * _DAY,
                        event_time=end, wall_time=end))  # fmt: skip
                elif n >= self.churn_fraction * mean:
                    self._flagged.discard(account)
            history.append(n)
        return alerts
