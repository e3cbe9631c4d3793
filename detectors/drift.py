"""Feature drift: one feature's share of the tickets climbing slowly over days or weeks.

Not an incident but roadmap input: which feature hurts more and more. Each closed UTC hour, a feature's
tickets are compared with what its usual *share* predicts given the tickets on every other feature in
that hour (``expected = base ratio x other features' tickets``). Measuring against the other features removes
everything they share — weekday and hour seasonality, a holiday, a usage data gap, a growing customer
base — without a model of any of it. The log-likelihood ratio of "the odds of a ticket being about this
feature are ``ratio`` times the usual" against "as usual" (binomial, given the hour's tickets) feeds a
one-sided CUSUM; each day's contribution is capped at ``z_cap``, which is what keeps the short sharp
spikes of regressions (another detector's job) from looking like a drift: a spike can add at most
``z_cap`` in one day, a drift adds a little every day. Hours in which the feature bursts far above its
share are left out, one account counts at most ``max_tickets_per_account`` tickets a day on a feature
(floods, an onboarding customer), and the baseline share is taken at its upper confidence bound, so a
feature with few tickets needs more evidence. The alert comes in the hour the CUSUM crosses.
"""

from __future__ import annotations

from typing import Any

from detectors.base import Detector
from detectors.daily import SECONDS_PER_HOUR, HourBuckets, day_label, day_start
from detectors.share import FeatureShare, anscombe
from schemas.alerts import Alert

__all__ = ["FeatureDriftDetector"]


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
    min_others
        Fewest tickets on the other features for a day to train or re-baseline the feature.
    spike_z
        An hour whose tickets on the feature stand this many Poisson deviations above its share is a
        burst (a regression, a flood) and is left out of the evidence.
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
    ...     for feature, n in (("search", search), ("login", 20), ("billing", 20), ("reports", 40)):
    ...         for k in range(n):  # spread over business hours
    ...             ts = t + 32_400 + (k % 9) * 3_600
    ...             det.learn_one(Ev(type="ticket", account_id=f"a{k % 40}", feature=feature, ts=ts))
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
        threshold: float = 5.0,
        min_days: int = 2,
        z_cap: float = 3.0,
        max_tickets_per_account: int = 2,
        confidence_z: float = 2.0,
        memory_days: float = 28.0,
        min_others: float = 20.0,
        spike_z: float = 3.0,
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
        if spike_z <= 0:
            raise ValueError("spike_z must be > 0")
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
        self.spike_z = spike_z
        self.cooldown_days = cooldown_days
        self.idle_days = idle_days
        self._tickets = HourBuckets()
        self._day: int | None = None
        self._filed_today: dict[str, dict[str, int]] = {}  # feature -> account -> tickets counted today
        self._day_used = False
        self._features: dict[str, FeatureShare] = {}
        self._last_ticket: dict[str, int] = {}
        self._stats = {"days_used": 0, "days_skipped": 0, "spike_hours": 0, "fired": 0}

    def learn_one(self, x: Any) -> None:
        if x.type == "ticket":
            self.learn_ticket(x, x.ts)

    def learn_ticket(self, ticket: Any, ts: float) -> None:
        """Learn a ticket at event time ``ts`` (the engine computed it once): one more in its hour."""
        self._tickets.add(ts, (ticket.feature, ticket.account_id), 1)

    def score_one(self, x: Any) -> float:
        """How far the feature of ``x`` is towards a drift alarm (0 = baseline, 1 = at the threshold)."""
        state = self._features.get(getattr(x, "feature", None))
        if state is None or state.fed == 0:
            return 0.0
        return min(1.0, state.cusum / self.threshold)

    def advance(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        for hour, tickets in self._tickets.close(watermark):
            day = hour // 24
            if self._day is not None and day != self._day:
                self._end_day(self._day)
                self._filed_today.clear()
            self._day = day
            alerts.extend(self._close_hour(hour, tickets))
        return alerts

    @property
    def is_warm(self) -> bool:
        return any(f.days >= self.warmup_days for f in self._features.values())

    @property
    def state_size(self) -> int:
        """Features tracked (open hours and today's per-account counts are bounded by a day)."""
        return len(self._features)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters, and the features being tested."""
        return {**self._stats, "features": sorted(self._features)}

    def _close_hour(self, hour: int, tickets: dict) -> list[Alert]:
        day = hour // 24
        counts: dict[str, int] = {}
        filed, cap = self._filed_today, self.max_tickets_per_account
        for (feature, account), n in tickets.items():
            per_account = filed.get(feature)
            before = per_account.get(account, 0) if per_account is not None else 0
            n = min(int(n), cap - before)  # one account counts at most `cap` a day: floods, onboarding
            if n > 0:
                filed.setdefault(feature, {})[account] = before + n
                counts[feature] = counts.get(feature, 0) + n
            self._last_ticket[feature] = day
        total = sum(counts.values())
        alerts = []
        for feature in counts.keys() - self._features.keys():
            self._features[feature] = FeatureShare()
        for feature, st in self._features.items():
            mine = counts.get(feature, 0)
            others = total - mine
            if st.days >= self.warmup_days and st.last_alert is None:
                expected = st.base() * others
                if anscombe(mine, expected) > self.spike_z:  # a burst within the hour: not a drift
                    self._stats["spike_hours"] += 1
                    continue
            st.day_mine += mine
            st.day_others += others
            if st.days < self.warmup_days or st.last_alert is not None:
                continue
            alert = self._judge(feature, st, mine, others, hour)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _end_day(self, day: int) -> None:
        used = False
        for feature in [f for f, last in self._last_ticket.items() if last < day - self.idle_days]:
            del self._last_ticket[feature]
            self._features.pop(feature, None)
        for st in self._features.values():
            mine, others = st.day_mine, st.day_others
            st.day_mine = st.day_others = st.day_gain = 0.0
            st.day_ceiling = None
            if others < self.min_others:  # too few other tickets to say what is usual that day
                continue
            used = True
            if st.last_alert is not None and day - st.last_alert >= self.cooldown_days:
                st.mine, st.others, st.days = st.recent * others, float(others), 1  # the new share
                st.last_alert, st.cusum, st.since, st.fed = None, 0.0, None, 0
                continue
            if st.days >= self.warmup_days:
                st.fed += 1
                st.recent += (mine / others - st.recent) * 0.25
            if st.days < self.warmup_days or (st.cusum == 0.0 and st.last_alert is None):
                st.learn(mine, others, self.memory_days)  # no evidence of a change: keep the baseline fresh
                if st.fed == 0:
                    st.recent = st.base()
        self._stats["days_used" if used else "days_skipped"] += 1

    def _judge(self, feature: str, st: FeatureShare, mine: int, others: int, hour: int) -> Alert | None:
        llr = st.log_likelihood_ratio(mine, others, self.ratio, self.confidence_z)
        llr = max(-self.z_cap - st.day_gain, min(self.z_cap - st.day_gain, llr))
        st.day_gain += llr
        if st.day_ceiling is None:
            st.day_ceiling = st.cusum + self.z_cap
        # The cap bounds the day's rise, not its net: a quiet morning must not make room for a spike.
        st.cusum = max(0.0, min(st.day_ceiling, st.cusum + llr))
        if st.cusum == 0.0:
            st.since = None
        elif st.since is None:
            st.since = hour // 24
        if st.cusum >= self.threshold and st.fed >= self.min_days:
            st.last_alert = hour // 24
            self._stats["fired"] += 1
            return self._alert(feature, st, hour)
        return None

    def _alert(self, feature: str, st: FeatureShare, hour: int) -> Alert:
        since = st.since if st.since is not None else hour // 24
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
            event_time=(hour + 1) * SECONDS_PER_HOUR,
        )
