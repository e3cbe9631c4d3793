"""People's feedback, played by the simulator's truth: label alerts as on-call and success would.

:class:`TruthLabeller` wraps a :class:`~detectors.engine.DetectionEngine` built with a
:class:`~detectors.feedback.FeedbackPolicy`. Each firing alert of the first ``first_per_kind`` of its
kind is labelled ``delay`` seconds of event time after it fired (someone looked at it), from the labels
side file:

- an alert that matches what really happened (the rules of :mod:`sim.scoring`: a regression on the
  feature of a planted regression, from its start to an hour after its end, and so on) → ``confirmed``;
- a page on a feature touched by a benign release while it lasts → ``expected`` until the release's
  effect ends (the release was known to cause questions);
- any other alert → ``false-alarm`` (for regression alerts this raises the feature's threshold for a
  while and keeps the window out of its baseline; other kinds just keep the label).

The backtest's "with feedback" mode replays the same stream through it, so the effect of labels on the
alerts that follow can be read next to the run without them.

Examples
--------
>>> from detectors.engine import DetectionEngine
>>> from detectors.feedback import FeedbackPolicy
>>> from sim.config import SimConfig
>>> from sim.labels import Labels
>>> from sim.plan import Incident
>>> truth = Labels(SimConfig(days=7), [Incident("regression", 0.0, 600.0, feature="sso")], ["sso"], [])
>>> labeller = TruthLabeller(DetectionEngine(feedback=FeedbackPolicy()), truth)
>>> labeller.verdict("regression", "sso", 300.0, pages=True)
('confirmed', None)
>>> labeller.verdict("regression", "sso", 90_000.0, pages=True)
('false-alarm', None)
"""

from __future__ import annotations

import collections
import heapq
import itertools
from typing import Any

from schemas.alerts import Alert
from schemas.feedback import AlertLabel
from sim.labels import Labels

__all__ = ["TruthLabeller"]

_H = 3600.0
_DAY = 86_400.0


class TruthLabeller:
    """An engine whose alerts get labelled from the simulator's truth, ``delay`` seconds after firing.

    Parameters
    ----------
    engine
        A :class:`~detectors.engine.DetectionEngine` with a feedback policy.
    labels
        What really happened.
    delay
        Seconds of event time between an alert and its label.
    first_per_kind
        Firing alerts labelled per alert kind (``None``: all of them).
    """

    def __init__(self, engine: Any, labels: Labels, *, delay: float = 1800.0,
                 first_per_kind: int | None = None):  # fmt: skip
        if getattr(engine, "feedback", None) is None:
            raise ValueError("engine must be built with a FeedbackPolicy (feedback=...)")
        if not delay >= 0:
            raise ValueError(f"delay must be >= 0, got {delay!r}")
        if first_per_kind is not None and first_per_kind < 0:
            raise ValueError(f"first_per_kind must be >= 0 or None, got {first_per_kind!r}")
        self.engine = engine
        self.labels = labels
        self.delay = float(delay)
        self.first_per_kind = first_per_kind
        self._regressions = labels.of_kind("regression")
        self._benign = labels.of_kind("benign_release")
        self._pending: list[tuple[float, int, AlertLabel]] = []  # (due time, order, label)
        self._order = itertools.count()
        self._per_kind: collections.Counter[str] = collections.Counter()
        self._labelled: set[str] = set()
        self.given: collections.Counter[str] = collections.Counter()  # "kind label" -> labels given

    def verdict(self, kind: str, feature: str | None, at: float, *, pages: bool,
                account_id: str | None = None) -> tuple[str, float | None]:  # fmt: skip
        """The label (and ``until`` for ``expected``) truth gives an alert of ``kind`` at event time ``at``.

        Matching follows :mod:`sim.scoring`: a regression on the planted regression's feature, a flood
        on the flooding (or onboarding) account, churn risk and expansion on the accounts that churn
        or expand, drift on the drifting feature.
        """
        if self._true(kind, feature, account_id, at):
            return "confirmed", None
        if pages:
            for release in self._benign:
                if release.start <= at <= release.end and feature in release.details.get("features", []):
                    return "expected", release.end
        return "false-alarm", None

    def _true(self, kind: str, feature: str | None, account_id: str | None, at: float) -> bool:
        of = self.labels.of_kind
        if kind == "regression":
            return any(r.feature == feature and r.start <= at <= r.end + _H for r in of("regression"))
        if kind == "flood":
            return any(i.account_id == account_id and i.start - 600 <= at <= i.end + 2 * _H
                       for i in of("flood") + of("onboarding"))  # fmt: skip
        if kind in ("churn_risk", "expansion"):
            truth = "churn" if kind == "churn_risk" else "expansion"
            return any(i.account_id == account_id and at >= i.start - _DAY for i in of(truth))
        if kind == "drift":
            return any(i.feature == feature and i.start <= at for i in of("drift"))
        return False

    def _queue(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            if alert.status != "firing" or alert.dedup_key in self._labelled:
                continue
            if self.first_per_kind is not None and self._per_kind[alert.kind] >= self.first_per_kind:
                continue
            self._per_kind[alert.kind] += 1
            self._labelled.add(alert.dedup_key)
            at = alert.ts
            label, until = self.verdict(alert.kind, alert.feature, at, pages=alert.pages,
                                         account_id=alert.account_id)
            record = AlertLabel(dedup_key=alert.dedup_key, label=label, until=until, time=at + self.delay,
                                author="truth")  # fmt: skip
            heapq.heappush(self._pending, (at + self.delay, next(self._order), record))
            self.given[f"{alert.kind} {label}"] += 1

    def _apply_due(self, now: float) -> None:
        while self._pending and self._pending[0][0] <= now:
            _due, _order, record = heapq.heappop(self._pending)
            self.engine.apply_feedback(record)

    def process(self, event: Any) -> list[Alert]:
        """Apply the labels due by this event's time, then let the engine learn it."""
        self._apply_due(event.ts)
        alerts = self.engine.process(event)
        self._queue(alerts)
        return alerts

    def flush(self) -> list[Alert]:
        """End of stream (labels still pending are moot)."""
        alerts = self.engine.flush()
        self._queue(alerts)
        return alerts

    @property
    def stats(self) -> dict[str, Any]:
        """The engine's counters plus the labels given, by ``"kind label"``."""
        return {**self.engine.stats, "feedback_labels": dict(self.given)}
