"""What people said about alerts, turned into what the detectors do next.

:class:`FeedbackPolicy` is fed the alerts the detectors emit (:meth:`~FeedbackPolicy.observe`) and the
feedback records people send (:meth:`~FeedbackPolicy.apply`: labels, silences, customer-success
actions from :mod:`schemas.feedback`). It answers three questions, all in event time so that replays
of the same alerts and feedback give the same answers:

- may this alert page? (:meth:`~FeedbackPolicy.gate`): not inside a silence that covers its feature or
  account, and not for a feature labelled ``expected`` until the label's ``until``. A gated alert is
  still emitted, with ``pages`` false and the reason in its evidence;
- how much less sensitive should a feature be? (:meth:`~FeedbackPolicy.threshold_factor`): each
  ``false-alarm`` on a regression alert (:data:`TUNED_KINDS`) adds ``false_alarm_step`` to a
  multiplier of the detector's threshold that halves every ``half_life`` seconds and never exceeds
  ``max_factor``, so one bad label cannot mute a feature for good;
- which windows should not teach the baseline, and which features start from a new level?
  (:meth:`~FeedbackPolicy.excluded` for ``false-alarm`` incident windows,
  :meth:`~FeedbackPolicy.take_new_normal` for ``new-normal``).

Alerts are remembered by dedup key for ``memory`` seconds (bounded state); a label that arrives before
its alert is kept until the alert shows up or ``memory`` runs out.

Examples
--------
>>> from schemas.alerts import Alert
>>> from schemas.feedback import AlertLabel, Silence
>>> t0 = 1_772_668_800.0
>>> page = Alert(kind="regression", severity="critical", pages=True, dedup_key="regression:login:a",
...              summary="login tickets up", feature="login", started_at=t0, event_time=t0 + 600)
>>> policy = FeedbackPolicy()
>>> policy.observe(page)
>>> policy.apply(AlertLabel(dedup_key="regression:login:a", label="false-alarm", time=t0 + 900))
>>> round(policy.threshold_factor("login", at=t0 + 900), 2), policy.threshold_factor("sso", at=t0)
(1.5, 1.0)
>>> policy.excluded("login", t0 + 300), policy.excluded("login", t0 + 9_000)
(True, False)
>>> policy.apply(Silence(scope="feature", feature="login", start=t0 + 3600, end=t0 + 7200,
...                      reason="migration", time=t0))
>>> later = Alert(**{**page.model_dump(), "alert_id": None, "dedup_key": "regression:login:b",
...                  "event_time": t0 + 4000})
>>> gated = policy.gate(later)
>>> gated.pages, gated.evidence["paging_suppressed"]
(False, 'silence: migration')
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import NamedTuple

from schemas.alerts import Alert
from schemas.feedback import AlertLabel, CustomerAction, Silence

__all__ = ["TUNED_KINDS", "AlertRecord", "FeedbackPolicy"]

#: Alert kinds whose ``false-alarm`` labels tune the feature's threshold and baseline: a false drift or
#: flood alert says nothing about the regression detector's sensitivity to that feature.
TUNED_KINDS = frozenset({"regression"})


class AlertRecord(NamedTuple):
    """What the policy remembers of an alert: enough to act on a label that names its dedup key."""

    kind: str
    feature: str | None
    account_id: str | None
    release: str | None
    started_at: float
    last_time: float


class FeedbackPolicy:
    """Labels, silences and actions, applied to later detection.

    Parameters
    ----------
    false_alarm_step
        Added to a feature's threshold multiplier per ``false-alarm`` label.
    max_factor
        Ceiling of the threshold multiplier.
    half_life
        Seconds of event time after which a false alarm's effect halves.
    memory
        Seconds of event time alerts and unmatched labels are remembered.
    """

    def __init__(
        self,
        false_alarm_step: float = 0.5,
        max_factor: float = 2.0,
        half_life: float = 7 * 86_400.0,
        memory: float = 30 * 86_400.0,
    ):
        if not false_alarm_step > 0:
            raise ValueError(f"false_alarm_step must be > 0, got {false_alarm_step!r}")
        if not max_factor >= 1:
            raise ValueError(f"max_factor must be >= 1, got {max_factor!r}")
        if not half_life > 0:
            raise ValueError(f"half_life must be > 0, got {half_life!r}")
        if not memory > 0:
            raise ValueError(f"memory must be > 0, got {memory!r}")
        self.false_alarm_step = false_alarm_step
        self.max_factor = max_factor
        self.half_life = half_life
        self.memory = memory
        self._alerts: OrderedDict[str, AlertRecord] = OrderedDict()
        self._labels: dict[str, AlertLabel] = {}
        self._actions: dict[str, CustomerAction] = {}
        self._silences: dict[str, Silence] = {}
        self._penalty: dict[str, tuple[float, float]] = {}  # feature -> (extra factor, as of time)
        self._excluded: dict[str, list[tuple[float, float]]] = {}
        self._expected_until: dict[str, float] = {}
        self._new_normal: list[str] = []
        self._now = -math.inf

    def observe(self, alert: Alert) -> None:
        """Remember ``alert`` so that a label on its dedup key can be applied; apply a waiting label."""
        at = alert.event_time.timestamp()
        self._tick(at)
        known = self._alerts.pop(alert.dedup_key, None)
        started = known.started_at if known else alert.started_at.timestamp()
        self._alerts[alert.dedup_key] = AlertRecord(
            alert.kind, alert.feature, alert.account_id, alert.release, started, at
        )
        waiting = self._labels.get(alert.dedup_key)
        if waiting is not None and known is None:
            self._act_on_label(waiting)

    def apply(self, feedback: AlertLabel | Silence | CustomerAction) -> None:
        """Take one feedback record into account (the latest record per key wins).

        Applying a record again changes nothing (a worker re-reads the whole feedback topic after a
        restart, onto a policy restored from a snapshot that may hold it already).
        """
        if isinstance(feedback, AlertLabel) and self._labels.get(feedback.dedup_key) == feedback:
            return
        self._tick(feedback.time.timestamp())
        if isinstance(feedback, Silence):
            self._silences[feedback.silence_id] = feedback
        elif isinstance(feedback, CustomerAction):
            self._actions[feedback.dedup_key] = feedback
        else:
            self._labels[feedback.dedup_key] = feedback
            if feedback.dedup_key in self._alerts:
                self._act_on_label(feedback)

    def _act_on_label(self, label: AlertLabel) -> None:
        record = self._alerts[label.dedup_key]
        feature = record.feature
        if feature is None:
            return
        at = label.time.timestamp()
        if label.label == "false-alarm":
            if record.kind not in TUNED_KINDS:
                return  # kept as a label; no other detector's sensitivity is tuned (yet)
            factor = self.threshold_factor(feature, at=at) - 1 + self.false_alarm_step
            self._penalty[feature] = (min(factor, self.max_factor - 1), at)
            self._excluded.setdefault(feature, []).append((record.started_at, record.last_time))
        elif label.label == "expected" and label.until is not None:
            until = label.until.timestamp()
            self._expected_until[feature] = max(until, self._expected_until.get(feature, -math.inf))
        elif label.label == "new-normal":
            self._new_normal.append(feature)

    def threshold_factor(self, feature: str, *, at: float) -> float:
        """Multiplier (≥ 1, ≤ ``max_factor``) of ``feature``'s alert threshold at event time ``at``."""
        extra, since = self._penalty.get(feature, (0.0, at))
        return 1.0 + extra * 0.5 ** (max(at - since, 0.0) / self.half_life)

    def excluded(self, feature: str, at: float) -> bool:
        """Whether event time ``at`` lies in a window of ``feature`` labelled as a false alarm."""
        return any(start <= at <= end for start, end in self._excluded.get(feature, ()))

    def take_new_normal(self) -> list[str]:
        """Features labelled ``new-normal`` since the last call (their baselines should jump)."""
        features, self._new_normal = self._new_normal, []
        return features

    def action(self, dedup_key: str) -> str:
        """Customer success's state for a churn-risk alert (``open`` until told otherwise)."""
        record = self._actions.get(dedup_key)
        return record.action if record is not None else "open"

    def label(self, dedup_key: str) -> str | None:
        """The label people gave the alert with ``dedup_key``, if any."""
        record = self._labels.get(dedup_key)
        return record.label if record is not None else None

    def suppression(self, alert: Alert) -> str | None:
        """Why ``alert`` must not page (a silence or an ``expected`` label), or None."""
        at = alert.event_time.timestamp()
        for silence in self._silences.values():
            if silence.covers(feature=alert.feature, account_id=alert.account_id, at=at):
                return f"silence: {silence.reason}"
        if alert.feature is not None and at < self._expected_until.get(alert.feature, -math.inf):
            return "expected"
        return None

    def gate(self, alert: Alert) -> Alert:
        """``alert`` as it should go out: not paging inside a silence or an ``expected`` window (the
        reason in ``evidence["paging_suppressed"]``); a churn-risk alert carries customer success's
        state for it in ``evidence["action"]`` (``open`` until someone records another)."""
        self.observe(alert)
        update: dict = {}
        if alert.kind == "churn_risk":
            update["evidence"] = {**alert.evidence, "action": self.action(alert.dedup_key)}
        reason = self.suppression(alert) if alert.pages else None
        if reason is not None:
            update["evidence"] = {**update.get("evidence", alert.evidence), "paging_suppressed": reason}
            update["pages"] = False
        return alert.model_copy(update=update) if update else alert

    def _tick(self, at: float) -> None:
        if at <= self._now:
            return
        self._now = at
        horizon = at - self.memory
        while self._alerts:
            key, oldest = next(iter(self._alerts.items()))
            if oldest.last_time >= horizon:
                break
            del self._alerts[key]
        for key in [k for k, label in self._labels.items() if label.time.timestamp() < horizon]:
            del self._labels[key]
        for key in [k for k, s in self._silences.items() if s.end.timestamp() < horizon]:
            del self._silences[key]
        for feature, windows in list(self._excluded.items()):
            kept = [w for w in windows if w[1] >= horizon]
            if kept:
                self._excluded[feature] = kept
            else:
                del self._excluded[feature]

    @property
    def state_size(self) -> int:
        """Alerts, labels, silences and actions held; bounded by ``memory``."""
        return len(self._alerts) + len(self._labels) + len(self._silences) + len(self._actions)
