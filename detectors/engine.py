"""The detection engine: one event in, the alerts it caused out, in event time.

The engine owns what every detector shares: the event-time clock (watermark = max event time −
``allowed_lateness``; events older than the watermark are counted and dropped), ticket de-duplication
(at-least-once delivery), and the :class:`~detectors.releases.ReleaseIndex`. It computes each accepted
event's time once and routes the event to the detectors that learn its kind (with a
``learn_<kind>(event, ts)`` method; the others ignore that kind and are not called), and moves them
forward in event time whenever the watermark crosses a ``tick`` boundary, so the alerts are a function
of the events alone: replaying the same stream gives the same alerts (apart from ``wall_time``),
sorted by event time.

Each call returns its alerts sorted by (event time, kind, dedup key, status). The regression and
flood detectors stamp an alert with the event time at which it was decided (the latest event time
learnt), so their alerts are in event-time order across calls too; detectors that stamp the end of a
closed day may precede them by up to the allowed lateness.

**Bounded state.** Per-account state is capped at ``max_accounts`` (:class:`~detectors.budget.AccountBudget`):
beyond it the engine sheds accounts seen once before those that return, and the least recently seen
before those with an open episode, counts them in ``stats["accounts_shed"]`` and logs a WARNING when
it starts shedding (then at most once an hour of event time, with the count since the last line).

**Skewed clocks.** Event time is the only clock, and the watermark follows the largest event time
seen. A producer whose clock runs behind by more than ``allowed_lateness`` has its events dropped and
counted (``stats["late_dropped"]``); one that runs ahead moves the watermark ahead, so everybody
else's events arrive late, are dropped and counted, for as long as it stays ahead. Neither raises
alerts of its own: dropped usage reads as a data gap (no churn judged, expectation from the seasonal
level) and dropped tickets can only lower counts, so a rising ``late_dropped`` is the symptom to alert
on (``tests/detectors/test_adversarial.py``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from detectors.base import Detector
from detectors.budget import AccountBudget
from detectors.churn import SilentChurnDetector
from detectors.clock import EventClock
from detectors.dedup import TicketDeduplicator
from detectors.drift import FeatureDriftDetector
from detectors.expansion import ExpansionDetector
from detectors.feedback import FeedbackPolicy
from detectors.flood import AccountFloodDetector
from detectors.regression import BreadthSpikeDetector, WindowReport
from detectors.releases import ReleaseIndex
from schemas.alerts import Alert
from schemas.events import EVENT_TYPES
from schemas.feedback import AlertLabel, CustomerAction, Silence

__all__ = ["DetectionEngine"]

_STATUS_ORDER = {"firing": 0, "updated": 1, "resolved": 2}
_SHED_LOG_INTERVAL = 3600.0  # event-time seconds between two shedding warnings

logger = logging.getLogger(__name__)


class DetectionEngine:
    """Route events to the detectors and collect their alerts.

    Parameters
    ----------
    allowed_lateness
        Seconds an event may lag the latest event time seen and still be used.
    regression, flood, churn, expansion, drift
        Detector instances; ``None`` builds one with default parameters.
    on_window
        Called with a :class:`~detectors.regression.WindowReport` for every closed (feature, window).
    dedup_horizon
        Seconds of event time a ticket id is remembered for de-duplication.
    tick
        The detectors are advanced when the watermark crosses a multiple of this many seconds.
    max_accounts
        Accounts whose state the detectors keep at most; beyond it some are shed (forgotten).
    feedback
        People's labels, silences and actions (:class:`~detectors.feedback.FeedbackPolicy`, fed by
        :meth:`apply_feedback`): every alert returned goes through its ``gate`` (silenced or
        ``expected`` pages go out with ``pages`` false and the reason), the regression detector
        scales each feature's threshold by its ``threshold_factor`` (shown in the alert's evidence
        as ``threshold_factor`` when above 1), does not learn ``excluded`` windows, and restarts a
        ``new-normal`` feature's baseline from its recent level. ``None``: alerts as they are.

    Examples
    --------
    >>> from schemas.events import TicketEvent, UsageEvent
    >>> engine = DetectionEngine(allowed_lateness=600)
    >>> t0 = 1_772_460_000.0
    >>> alerts = []
    >>> for i in range(12):  # one account writes in every two minutes
    ...     alerts += engine.process(UsageEvent(account_id="acme", time=t0 + 120 * i))
    ...     alerts += engine.process(TicketEvent(ticket_id=f"T-{i}", account_id="acme",
    ...                                          feature="sso", time=t0 + 120 * i))
    >>> engine.process(TicketEvent(ticket_id="T-3", account_id="acme", feature="sso", time=t0 + 1500))
    []
    >>> alerts += engine.flush()
    >>> [(a.kind, a.status, a.pages) for a in alerts]
    [('flood', 'firing', False), ('flood', 'resolved', False)]
    >>> engine.stats["duplicates"], engine.stats["events"]["ticket"]
    (1, 13)
    """

    def __init__(
        self,
        allowed_lateness: float = 600.0,
        regression: BreadthSpikeDetector | None = None,
        flood: AccountFloodDetector | None = None,
        churn: SilentChurnDetector | None = None,
        expansion: ExpansionDetector | None = None,
        drift: FeatureDriftDetector | None = None,
        on_window: Callable[[WindowReport], Any] | None = None,
        dedup_horizon: float = 86_400.0,
        tick: float = 60.0,
        max_accounts: int = 250_000,
        feedback: FeedbackPolicy | None = None,
    ):
        if not tick > 0:
            raise ValueError(f"tick must be > 0, got {tick!r}")
        self.allowed_lateness = allowed_lateness
        self.dedup_horizon = dedup_horizon
        self.tick = float(tick)
        self.on_window = on_window
        self.clock = EventClock(allowed_lateness)
        self.dedup = TicketDeduplicator(horizon=dedup_horizon)
        self.regression = regression if regression is not None else BreadthSpikeDetector()
        self.flood = flood if flood is not None else AccountFloodDetector()
        self.churn = churn if churn is not None else SilentChurnDetector()
        self.expansion = expansion if expansion is not None else ExpansionDetector()
        self.drift = drift if drift is not None else FeatureDriftDetector()
        self.releases = ReleaseIndex(lookback=self.regression.release_lookback)
        self.regression.use_releases(self.releases)
        if on_window is not None:
            self.regression.on_window = on_window
        self.feedback = feedback
        self.regression.use_feedback(feedback)
        self.detectors: dict[str, Detector] = {
            "regression": self.regression,
            "flood": self.flood,
            "churn": self.churn,
            "expansion": self.expansion,
            "drift": self.drift,
        }
        self._learners = tuple(self.detectors.values())
        self._routes = self._route()
        self._events: dict[str, int] = {"ticket": 0, "usage": 0, "release": 0, "account": 0}
        self._alerts: dict[str, int] = {}
        self._next_tick = -math.inf
        self.max_accounts = max_accounts
        self.budget = AccountBudget(max_accounts, holds=self._holds)
        self._shed_logged = (-math.inf, 0)  # event time of the last shedding warning, shed count then

    def _route(self) -> dict[str, tuple[Callable[[Any, float], None], ...]]:
        # Per event kind, the detectors' methods that learn it, given the event time computed once:
        # a detector without a ``learn_<kind>`` method ignores that kind and is not called for it.
        return {
            kind: tuple(getattr(d, f"learn_{kind}") for d in self._learners if hasattr(d, f"learn_{kind}"))
            for kind in EVENT_TYPES
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A worker's snapshot pickled by a version without the routes (or with other detectors'
        # methods): routes are derived, so they are rebuilt rather than trusted.
        self.__dict__.update(state)
        self._routes = self._route()

    @property
    def watermark(self) -> float:
        """Event time (epoch seconds) up to which windows are final; ``-inf`` before any event."""
        return self.clock.watermark

    def process(self, event: Any) -> list[Alert]:
        """Learn one event and return the alerts that the watermark's progress produced."""
        kind = event.type
        self._events[kind] = self._events.get(kind, 0) + 1
        ts = event.ts
        if not self.clock.observe(ts):
            return []
        if kind == "ticket":
            if self.dedup.is_duplicate(event.ticket_id, ts):
                return []
        elif kind == "release":
            self.releases.add(event)
        account_id = getattr(event, "account_id", None)
        if account_id is not None:
            shed = self.budget.admit(account_id, ts)
            if shed is not None:
                self._shed(shed, ts)
        learners = self._routes.get(kind)
        if learners is None:  # not a kind of the contract: every detector's learn_one decides
            for detector in self._learners:
                detector.learn_one(event)
        else:
            for learn in learners:
                learn(event, ts)
        watermark = self.clock.watermark
        if watermark < self._next_tick:
            return []
        return self._advance(watermark)

    def _holds(self, account_id: str) -> bool:
        return any(detector.holds_account(account_id) for detector in self._learners)

    def _shed(self, account_id: str, ts: float) -> None:
        for detector in self._learners:
            detector.forget_account(account_id)
        last_time, last_count = self._shed_logged
        if ts - last_time >= _SHED_LOG_INTERVAL:
            logger.warning(
                "tracking the cap of %d accounts: shed %d accounts since the last warning (%d in all); "
                "their baselines are forgotten. Raise max_accounts if they are real customers.",
                self.max_accounts, self.budget.shed - last_count, self.budget.shed,
            )
            self._shed_logged = (ts, self.budget.shed)

    def _advance(self, watermark: float) -> list[Alert]:
        self._next_tick = (math.floor(watermark / self.tick) + 1) * self.tick
        alerts: list[Alert] = []
        for detector in self._learners:
            alerts.extend(detector.advance(watermark))
        return self._sorted(alerts)

    def flush(self) -> list[Alert]:
        """End of stream: every event is in, so close all windows and resolve open incidents."""
        if math.isinf(self.clock.max_time):
            return []
        end = self.clock.max_time
        alerts: list[Alert] = []
        for detector in self._learners:
            alerts.extend(detector.advance(end))
            finish = getattr(detector, "flush", None)
            if finish is not None:
                alerts.extend(finish())
        return self._sorted(alerts)

    def _sorted(self, alerts: list[Alert]) -> list[Alert]:
        alerts.sort(key=lambda a: (a.event_time, a.kind, a.dedup_key, _STATUS_ORDER[a.status]))
        if self.feedback is not None:
            alerts = [self._gate(alert) for alert in alerts]
            self._renew_baselines()
        for alert in alerts:
            self._alerts[alert.kind] = self._alerts.get(alert.kind, 0) + 1
        return alerts

    def apply_feedback(self, record: AlertLabel | Silence | CustomerAction) -> None:
        """Take a label, silence or customer action into account from now on (needs ``feedback``)."""
        if self.feedback is None:
            raise ValueError("feedback: this engine was built without a FeedbackPolicy")
        self.feedback.apply(record)
        self._renew_baselines()

    def _gate(self, alert: Alert) -> Alert:
        assert self.feedback is not None
        if alert.kind == "regression" and alert.feature is not None:
            factor = self.feedback.threshold_factor(alert.feature, at=alert.event_time.timestamp())
            if factor > 1.0:
                alert = alert.model_copy(
                    update={"evidence": {**alert.evidence, "threshold_factor": round(factor, 3)}}
                )
        return self.feedback.gate(alert)

    def _renew_baselines(self) -> None:
        assert self.feedback is not None
        for feature in self.feedback.take_new_normal():
            self.regression.reset_baseline(feature)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters for dashboards: events by type, duplicates, late drops, cold features, state sizes."""
        return {
            "events": dict(self._events),
            "duplicates": self.dedup.duplicates,
            "late_dropped": self.clock.late_dropped,
            "future_dropped": self.clock.future_dropped,
            "watermark": self.clock.watermark,
            "alerts": dict(self._alerts),
            "cold_features": self.regression.cold_features,
            "settling_days": self.regression.settling_days,
            "open_incidents": self.regression.open_incidents,
            "accounts_tracked": len(self.budget),
            "accounts_shed": self.budget.shed,
            "state_size": {name: d.state_size for name, d in self.detectors.items()}
            | {"dedup": len(self.dedup), "releases": len(self.releases)},
        }
