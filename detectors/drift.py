"""Feature drift: one feature's share of the tickets climbing slowly over days or weeks.

Not an incident but roadmap input: which feature hurts more and more. Each closed UTC day, a feature's
tickets are compared with what its usual *share* predicts given the tickets on every other feature that
day (``expected = base ratio x other features' tickets``). Measuring against the other features removes
everything they share — weekday and hour seasonality, a holiday, a usage data gap, a growing customer
base — without a model of any of it. The Poisson log-likelihood ratio of "the feature runs ``ratio``
times its usual share" against "as usual" feeds a one-sided CUSUM; each day's contribution is capped at
``z_cap``, which is what keeps the short sharp spikes of regressions (another detector's job) from
looking like a drift: a spike can add at most ``z_cap`` in one day, a drift adds a little every day.
Floods are capped per account (``max_tickets_per_account`` a day on one feature), and the baseline is
taken at its upper confidence bound, so a feature with few tickets needs more evidence.
"""

from __future__ import annotations

import math
from typing import Any

from detectors.base import Detector
from detectors.daily import SECONDS_PER_DAY, DayBuckets, day_label, day_start
from schemas.alerts import Alert

__all__ = ["FeatureDriftDetector"]


class _Feature:
    """Baseline share and CUSUM of one feature (a few floats per feature, nothing per account)."""

    __slots__ = ("cusum", "days", "fed", "last_alert", "mine", "others", "recent", "since")

    def __init__(self) -> None:
        self.mine = 0.0  # exponentially weighted tickets on this feature ...
        self.others = 0.0  # ... and on all the others, over the same days: base ratio = mine / others
        self.days = 0  # days learnt
        self.fed = 0  # days tested
        self.cusum = 0.0
        self.since: int | None = None  # first day of the current positive CUSUM run
        self.recent = 0.0  # ratio over the last few days, for the alert
        self.last_alert: int | None = None

    def base(self) -> float:
        return self.mine / self.others if self.others > 0 else 0.0


class FeatureDriftDetector(Detector):
    """Detect features whose share of tickets drifts upward over days.

    Parameters
    ----------
    warmup_days
        Days used to learn a feature's baseline share before it is tested.
    ratio
        Rise of the share the test is tuned for: days above about ``(ratio - 1) / ln(ratio)`` of the
        baseline add evidence, days below take it away.
    threshold, min_days
        CUSUM alarm threshold (nats) and days tested before it may alarm.
    z_cap
        Largest evidence (nats) one day can add or remove: a regression spike counts as at most this.
    max_tickets_per_account
        Tickets one account can add to a feature's daily count (a flood is one account).
    confidence_z
        The baseline share is raised by this many of its Poisson standard errors.
    memory_days
        Memory of the baseline, learnt on days without evidence of a change.
    cooldown_days
        After an alert the feature is re-baselined once this many days have passed.
    idle_days
        Features without a ticket for this long are forgotten.

    Examples
    --------
    >>> from types import SimpleNamespace as Ev
    >>> det = FeatureDriftDetector()
    >>> alerts, monday = [], 1_772_409_600.0
    >>> for day in range(28):
    ...     t = monday + day * 86_400
    ...     search = 20 + (2 * (day - 10) if day > 10 else 0)  # +10 % of the baseline a day
    ...     for k in range(search):
    ...         det.learn_one(Ev(type="ticket", account_id=f"a{k % 40}", feature="search", ts=t + 50_000))
    ...     for feature in ("login", "billing"):
    ...         for k in range(20):
    ...             det.learn_one(Ev(type="ticket", account_id=f"a{k % 40}", feature=feature, ts=t + 50_000))
    ...     alerts += det.advance(t + 86_400)
    >>> [(a.feature, a.kind, a.pages) for a in alerts]
    [('search', 'drift', False)]
    >>> 10 < (alerts[0].ts - monday) / 86_400 <= 20
    True
    """

    observation_kind = "event"

    def __init__(
        self,
        warmup_days: int = 7,
        ratio: float = 1.25,
        threshold: float = 6.0,
        min_days: int = 2,
        z_cap: float = 3.0,
        max_tickets_per_account: int = 2,
        confidence_z: float = 1.0,
        memory_days: float = 28.0,
        min_others: float = 20.0,
        cooldown_days: int = 14,
        idle_days: int = 60,
    ):
        if warmup_days < 1:
            raise ValueError("warmup_days must be >= 1")
        if not ratio > 1.0:
            raise ValueError("ratio must be > 1")
        if threshold <= 0:
            raise ValueError("threshold must be > 0")
        if min_days < 1:
            raise ValueError("min_days must be >= 1")
        if z_cap <= 0:
            raise ValueError("z_cap must be > 0")
        if max_tickets_per_account < 1:
            raise ValueError("max_tickets_per_account must be >= 1")
        if confidence_z < 0:
            raise ValueError("confidence_z must be >= 0")
        if memory_days < 1:
            raise ValueError("memory_days must be >= 1")
        if min_others < 0:
            raise ValueError("min_others must be >= 0")
        if cooldown_days < 1:
            raise ValueError("cooldown_days must be >= 1")
        if idle_days < 1:
            raise ValueError("idle_days must be >= 1")
        self.warmup_days = warmup_days
        self.ratio = ratio
        self.threshold = threshold
        self.min_days = min_days
        self.z_cap = z_cap
        self.max_tickets_per_account = max_tickets_per_account
        self.confidence_z = confidence_z
        self.memory_days = memory_days
        self.min_others = min_others
        self.cooldown_days = cooldown_days
        self.idle_days = idle_days
        self._tickets = DayBuckets()
        self._log_ratio = math.log(ratio)
        self._features: dict[str, _Feature] = {}
        self._last_ticket: dict[str, int] = {}
        self._stats = {"days_used": 0, "days_skipped": 0, "fired": 0}

    def learn_one(self, x: Any) -> None:
        if x.type == "ticket":
            self._tickets.add(x.ts, (x.feature, x.account_id), 1)

    def score_one(self, x: Any) -> float:
        """How far the feature of ``x`` is towards a drift alarm (0 = baseline, 1 = at the threshold)."""
        state = self._features.get(getattr(x, "feature", None))
        if state is None or state.fed == 0:
            return 0.0
        return min(1.0, state.cusum / self.threshold)

    def advance(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        for day, tickets in self._tickets.close(watermark):
            alerts.extend(self._close_day(day, tickets))
        return alerts

    @property
    def is_warm(self) -> bool:
        return any(f.days >= self.warmup_days for f in self._features.values())

    @property
    def state_size(self) -> int:
        return len(self._features) + self._tickets.open_days

    @property
    def stats(self) -> dict[str, Any]:
        """Counters, and the features being tested."""
        return {**self._stats, "features": sorted(self._features)}

    def _close_day(self, day: int, tickets: dict) -> list[Alert]:
        counts: dict[str, int] = {}
        for (feature, _account), n in tickets.items():
            counts[feature] = counts.get(feature, 0) + min(int(n), self.max_tickets_per_account)
            self._last_ticket[feature] = day
        total = sum(counts.values())
        alerts = []
        used = False
        for feature in set(counts) | set(self._features):
            state = self._features.get(feature)
            if state is None:
                state = self._features[feature] = _Feature()
            mine = counts.get(feature, 0)
            if total - mine < self.min_others:  # too few other tickets to say what is usual today
                continue
            used = True
            alert = self._judge(feature, state, mine, total - mine, day)
            if alert is not None:
                alerts.append(alert)
        self._stats["days_used" if used else "days_skipped"] += 1
        for feature in [f for f, last in self._last_ticket.items() if last < day - self.idle_days]:
            del self._last_ticket[feature]
            self._features.pop(feature, None)
        return alerts

    def _learn(self, st: _Feature, mine: int, others: int) -> None:
        keep = 1.0 - 1.0 / max(self.memory_days, st.days + 1.0)
        st.mine = st.mine * keep + mine
        st.others = st.others * keep + others
        st.days += 1

    def _judge(self, feature: str, st: _Feature, mine: int, others: int, day: int) -> Alert | None:
        if st.last_alert is not None and day - st.last_alert >= self.cooldown_days:
            st.mine, st.others, st.days = st.recent * others, float(others), 1  # re-baseline on the new share
            st.last_alert, st.cusum, st.since, st.fed = None, 0.0, None, 0
        if st.days < self.warmup_days:
            self._learn(st, mine, others)
            st.recent = st.base()
            return None
        base = st.base() * (1.0 + self.confidence_z / math.sqrt(max(st.mine, 1.0)))
        expected = base * others
        llr = mine * self._log_ratio - expected * (self.ratio - 1.0)
        st.cusum = max(0.0, st.cusum + max(-self.z_cap, min(self.z_cap, llr)))
        st.fed += 1
        st.recent += (mine / others - st.recent) * 0.25
        if st.cusum == 0.0:
            st.since = None
            if st.last_alert is None:  # no evidence of a change: keep the baseline fresh
                self._learn(st, mine, others)
        elif st.since is None:
            st.since = day
        if st.cusum >= self.threshold and st.fed >= self.min_days and st.last_alert is None:
            st.last_alert = day
            self._stats["fired"] += 1
            return self._alert(feature, st, day)
        return None

    def _alert(self, feature: str, st: _Feature, day: int) -> Alert:
        since = st.since if st.since is not None else day
        base = st.base()
        ratio = st.recent / base if base > 0 else float("inf")
        return Alert(
            kind="drift",
            status="firing",
            dedup_key=f"drift:{feature}:{day_label(since)}",
            severity="warning" if ratio >= 1.5 else "info",
            pages=False,
            summary=(
                f"{feature} share of tickets drifting up since {day_label(since)}: "
                f"{st.recent:.4f} vs {base:.4f} tickets per other ticket (x{ratio:.2f})"
            ),
            feature=feature,
            observed=round(st.recent, 6),
            expected=round(base, 6),
            score=round(ratio, 3),
            evidence={
                "since": day_label(since),
                "before_rate": round(base, 6),
                "after_rate": round(st.recent, 6),
                "ratio": round(ratio, 3),
                "days_tested": st.fed,
                "log_likelihood_ratio": round(st.cusum, 2),
                "test": "CUSUM",
            },
            started_at=day_start(since),
            event_time=day_start(day) + SECONDS_PER_DAY,
        )
