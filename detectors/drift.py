"""Feature drift: tickets per active account on one feature climbing slowly over days or weeks.

Not an incident but roadmap input: which feature hurts more and more. Each closed UTC day, a feature's
tickets are compared with what its baseline rate predicts for the day's active accounts and weekday
(``expected = base rate x active accounts x weekday factor``); the Poisson deviation of the day, capped
at ``z_cap``, feeds a River :class:`~river.drift.PageHinkley` test for an upward change. The cap is
what keeps the short sharp spikes of regressions (another detector's job) from looking like a drift: a
spike can add at most ``z_cap`` in one day, a drift adds a little every day. Floods are capped per
account (``max_tickets_per_account`` a day), and days whose usage is abnormal for their weekday
(holidays, data gaps) are skipped, so neither feeds the test.
"""

from __future__ import annotations

import math
from typing import Any

from river import drift

from detectors.base import Detector
from detectors.daily import SECONDS_PER_DAY, DayBuckets, day_label, day_of_week, day_start
from detectors.seasonal import WeeklyProfile
from schemas.alerts import Alert

__all__ = ["FeatureDriftDetector"]


def _anscombe(count: float, expected: float) -> float:
    """Poisson deviation on the square-root scale: near N(0, 1) even for a few tickets a day."""
    return 2.0 * (math.sqrt(count + 0.375) - math.sqrt(expected + 0.375))


class _Feature:
    """Baseline and change test of one feature (one River detector per feature, not per account)."""

    __slots__ = ("base", "cusum", "dispersion", "fed", "last_alert", "recent", "since", "test", "warmup")

    def __init__(self, test: drift.PageHinkley) -> None:
        self.base = 0.0  # tickets per active account per day, weekday-adjusted
        self.warmup: list[tuple[int, int, int]] | None = []  # (tickets, active, weekday) until learnt
        self.dispersion = 1.0  # variance of the deviations relative to a Poisson's
        self.test = test
        self.fed = 0
        self.cusum = 0.0  # mirrors the test to date the change: the last day this was zero
        self.since: int | None = None
        self.recent = 0.0
        self.last_alert: int | None = None


class FeatureDriftDetector(Detector):
    """Detect features whose tickets per active account drift upward over days.

    Parameters
    ----------
    warmup_days
        Normal days used to learn a feature's baseline rate before it is tested.
    delta, threshold, min_days
        Page-Hinkley allowance per day, alarm threshold (both in capped Poisson deviations) and days
        fed before it may alarm.
    z_cap
        Largest deviation one day can contribute: a regression spike counts as at most this.
    max_tickets_per_account
        Tickets one account can add to a feature's daily count (a flood is one account).
    normal_usage
        Range of the day's total usage relative to its weekday's usual total for the day to be used.
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
    ...     for i in range(40):
    ...         det.learn_one(Ev(type="usage", account_id=f"a{i}", count=10, ts=t + 40_000))
    ...     search = 20 + (2 * (day - 10) if day > 10 else 0)  # +10 % of the baseline a day
    ...     for k in range(search):
    ...         det.learn_one(Ev(type="ticket", account_id=f"a{k % 40}", feature="search", ts=t + 50_000))
    ...     for k in range(20):
    ...         det.learn_one(Ev(type="ticket", account_id=f"a{k % 40}", feature="login", ts=t + 50_000))
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
        delta: float = 0.5,
        threshold: float = 6.0,
        min_days: int = 3,
        z_cap: float = 3.0,
        max_tickets_per_account: int = 3,
        normal_usage: tuple[float, float] = (0.6, 1.6),
        cooldown_days: int = 14,
        idle_days: int = 60,
    ):
        if warmup_days < 1:
            raise ValueError("warmup_days must be >= 1")
        if delta < 0:
            raise ValueError("delta must be >= 0")
        if threshold <= 0:
            raise ValueError("threshold must be > 0")
        if min_days < 1:
            raise ValueError("min_days must be >= 1")
        if z_cap <= 0:
            raise ValueError("z_cap must be > 0")
        if max_tickets_per_account < 1:
            raise ValueError("max_tickets_per_account must be >= 1")
        if not 0 < normal_usage[0] < 1 < normal_usage[1]:
            raise ValueError("normal_usage must be (low < 1, high > 1)")
        if cooldown_days < 1:
            raise ValueError("cooldown_days must be >= 1")
        if idle_days < 1:
            raise ValueError("idle_days must be >= 1")
        self.warmup_days = warmup_days
        self.delta = delta
        self.threshold = threshold
        self.min_days = min_days
        self.z_cap = z_cap
        self.max_tickets_per_account = max_tickets_per_account
        self.normal_usage = normal_usage
        self.cooldown_days = cooldown_days
        self.idle_days = idle_days
        self._usage = DayBuckets()
        self._tickets = DayBuckets()
        self._weekly = WeeklyProfile()
        self._features: dict[str, _Feature] = {}
        self._last_ticket: dict[str, int] = {}
        self._stats = {"days_used": 0, "days_skipped": 0, "fired": 0}

    def learn_one(self, x: Any) -> None:
        kind = x.type
        if kind == "usage":
            if x.count:
                self._usage.add(x.ts, x.account_id, x.count)
        elif kind == "ticket":
            self._tickets.add(x.ts, (x.feature, x.account_id), 1)

    def score_one(self, x: Any) -> float:
        """How far the feature of ``x`` is towards a drift alarm (0 = baseline, 1 = at the threshold)."""
        state = self._features.get(getattr(x, "feature", None))
        if state is None or state.fed == 0:
            return 0.0
        return min(1.0, state.cusum / self.threshold)

    def advance(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        for day, usage in self._usage.close(watermark):
            tickets = dict(self._tickets.close(day_start(day + 1))).get(day, {})
            alerts.extend(self._close_day(day, usage, tickets))
        return alerts

    @property
    def is_warm(self) -> bool:
        return any(f.warmup is None for f in self._features.values())

    @property
    def state_size(self) -> int:
        return len(self._features) + self._usage.open_days + self._tickets.open_days

    @property
    def stats(self) -> dict[str, Any]:
        """Counters, and the features being tested."""
        return {**self._stats, "features": sorted(self._features)}

    def _close_day(self, day: int, usage: dict, tickets: dict) -> list[Alert]:
        dow = day_of_week(day)
        active, total = len(usage), sum(usage.values())
        usual = self._weekly.mean("usage", dow)
        coverage = total / usual if usual else 1.0
        low, high = self.normal_usage
        if active == 0 or not low <= coverage <= high:  # holiday, gap or outage: not evidence
            self._stats["days_skipped"] += 1
            return []
        self._stats["days_used"] += 1
        counts: dict[str, int] = {}
        for (feature, _account), n in tickets.items():
            counts[feature] = counts.get(feature, 0) + min(int(n), self.max_tickets_per_account)
            self._last_ticket[feature] = day
        self._weekly.update("usage", dow, total)
        self._weekly.update("tickets", dow, sum(counts.values()) / active)
        alerts = []
        for feature in set(counts) | set(self._features):
            state = self._features.get(feature)
            if state is None:
                state = self._features[feature] = _Feature(
                    drift.PageHinkley(
                        min_instances=self.min_days, delta=self.delta, threshold=self.threshold, mode="up"
                    )
                )
            alert = self._judge(feature, state, counts.get(feature, 0), active, day)
            if alert is not None:
                alerts.append(alert)
        for feature in [f for f, last in self._last_ticket.items() if last < day - self.idle_days]:
            del self._last_ticket[feature]
            self._features.pop(feature, None)
        return alerts

    def _judge(self, feature: str, st: _Feature, count: int, active: int, day: int):
        dow = day_of_week(day)
        if st.warmup is not None:
            st.warmup.append((count, active, dow))
            if len(st.warmup) < self.warmup_days or not self._weekly.is_complete("tickets"):
                return None
            # Learnt in one go once the weekday factors are known, so a warm-up weekend is no bias.
            exposure = sum(a * self._weekly.factor("tickets", d) for _, a, d in st.warmup)
            st.base = st.recent = sum(c for c, _, _ in st.warmup) / exposure
            # The test's running mean starts from the warm-up days, so a slow ramp right after the
            # warm-up is measured against a settled baseline rather than against itself.
            for c, a, d in st.warmup:
                st.test.update(self._deviation(st, c, st.base * a * self._weekly.factor("tickets", d)))
            st.warmup = None
            return None
        factor = self._weekly.factor("tickets", dow)
        rate = count / active / factor
        if st.last_alert is not None and day - st.last_alert >= self.cooldown_days:
            st.base, st.last_alert, st.cusum, st.since = st.recent, None, 0.0, None
            st.test = st.test.clone()
        expected = st.base * active * factor
        raw = _anscombe(count, expected)
        if abs(raw) < 2.0 and st.last_alert is None:  # learn over-dispersion from ordinary days only
            st.dispersion += (raw * raw - st.dispersion) / 28.0
        z = self._deviation(st, count, expected)
        st.test.update(z)
        st.fed += 1
        st.cusum = max(0.0, st.cusum + z - self.delta)
        if st.cusum == 0.0:
            st.since = None
        elif st.since is None:
            st.since = day
        st.recent += (rate - st.recent) * 0.25
        if z < 2.0 and st.last_alert is None:  # a day in line with the baseline keeps it fresh
            st.base += (rate - st.base) / 28.0
        if st.test.drift_detected and st.last_alert is None:
            st.last_alert = day
            self._stats["fired"] += 1
            return self._alert(feature, st, day)
        return None

    def _deviation(self, st: _Feature, count: int, expected: float) -> float:
        """Poisson deviation of a day's count, scaled by the feature's over-dispersion and capped."""
        z = _anscombe(count, expected) / math.sqrt(max(st.dispersion, 1.0))
        return max(-self.z_cap, min(self.z_cap, z))

    def _alert(self, feature: str, st: _Feature, day: int) -> Alert:
        since = st.since if st.since is not None else day
        ratio = st.recent / st.base if st.base > 0 else float("inf")
        return Alert(
            kind="drift",
            status="firing",
            dedup_key=f"drift:{feature}:{day_label(since)}",
            severity="warning" if ratio >= 1.5 else "info",
            pages=False,
            summary=(
                f"{feature} tickets per active account drifting up since {day_label(since)}: "
                f"{st.recent:.4f} vs {st.base:.4f} per day (x{ratio:.2f})"
            ),
            feature=feature,
            observed=round(st.recent, 6),
            expected=round(st.base, 6),
            score=round(ratio, 3),
            evidence={
                "since": day_label(since),
                "before_rate": round(st.base, 6),
                "after_rate": round(st.recent, 6),
                "ratio": round(ratio, 3),
                "days_tested": st.fed,
                "test": "PageHinkley",
            },
            started_at=day_start(since),
            event_time=day_start(day) + SECONDS_PER_DAY,
        )
