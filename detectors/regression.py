"""Release regressions: a ticket spike on one feature across many accounts (pages on-call).

Per feature, tickets fall into tumbling windows of ``window`` seconds, closed by the watermark.

**Expectation.** Expected tickets in a window = the feature's learnt rate
(:class:`~detectors.feature_rate.FeatureState`) × active accounts × the ticket rhythm, both shared by
all features (:class:`~detectors.exposure.Exposure`: nights, weekends and holidays expect fewer
tickets; data gaps fall back on the seasonal level; an all-feature lull is not learnt). A window whose
rhythm correction is still a guess (an hour of a weekend day never learnt: the first Saturday) teaches
the rhythm only, so the first weekend does not drag every rate down for the week after.

**Significance.** A bank of Poisson CUSUMs (:class:`~detectors.cusum.CusumBank`) on the capped counts
against the expected counts, one arm per design shift (``shifts``: ×3, ×5, ×10), so that whatever the
true shift one arm is close to the optimal known-shift CUSUM (the oracle of ``sim.oracle``). No ×1.5
or ×2 arm: they drift upwards on a baseline underestimated by a quarter, which an estimated baseline
often is, while a ×3 arm needs an 80 % underestimate. An arm alarms at ``threshold`` nats; like the
oracle's, it was set on noise-only replicas (simulated worlds without incidents, seeds 1001–1004,
20 features, 140 days) to the false-page budget, with a margin for a misfit baseline (12 nats), then
lowered to 11 on tuning seeds 1–5 once the rhythm was interpolated within the hour and the first
weekend no longer dragged the rates down (10.5 doubles the false pages there). The incident's
start is the alarming arm's excursion start, the CUSUM change-point estimate.

**Breadth.** Each account counts at most ``max_per_account`` tickets per ``cap_horizon``, an alarm
needs ``min_accounts`` distinct accounts since its excursion began, and no single account may carry
it (without its tickets the evidence must still reach half the threshold): one account's flood
cannot page, it is :class:`~detectors.flood.AccountFloodDetector`'s job. Accounts in their first
``new_account_horizon`` (onboarding: many tickets on the setup features for days) are not counted.

**Cold start.** A feature may alert once ``warmup_windows`` windows and ``warmup_tickets`` tickets
of it were learnt and the rhythm correction has learnt as many windows (``cold_features`` lists the
others). The threshold starts 1.5 × higher and comes down linearly over the first 8 days of rhythm
learning: hours of the week not met yet are guessed from the others.

**Early pages.** The open windows (not yet closed by the watermark) are tested on every advance: the
bank is run on, without being changed, over their counts against the expectation for the share of
each window that event time has covered, so a large regression pages within minutes instead of after
the allowed lateness. An alert's ``event_time`` is when, in event time, the decision was made.

**Lifecycle.** One incident = one alert key ``regression:{feature}:{start}``
(:mod:`detectors.incident`): ``firing`` once, ``updated`` when accounts affected or tickets grow by
half since the last emission, then ``resolved``. While it is open the bank restarts after every new
alarm (the shift goes on) and the incident stays open through lulls (hysteresis): it resolves only
after ``quiet_windows`` closed windows in a row (two hours) without an alarm and with the trailing
``resolve_windows`` windows unremarkable (p > 0.05). Windows are learnt 72 windows (6 h) after they
close, so the start of an incident detected late is not learnt as baseline either.

Examples
--------
>>> detector = BreadthSpikeDetector()
>>> detector.shifts, detector.threshold, detector.max_per_account
((3.0, 5.0, 10.0), 11.0, 5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple

from detectors.base import Detector
from detectors.exposure import Exposure
from detectors.feature_rate import FeatureState
from detectors.incident import RegressionIncident, regression_alert
from detectors.poisson import tail_score
from detectors.releases import ReleaseIndex

__all__ = ["BreadthSpikeDetector", "WindowReport"]

_RESOLVE_SCORE = 1.3  # −log10(0.05)
_COLD_RHYTHM_MARGIN = 1.5  # threshold factor when rhythm learning starts, falling linearly to 1 ...
_COLD_RHYTHM_DAYS = 8.0  # ... over this many days of it (every hour of the week seen once, and more)
_WITHOUT_TOP = 0.5  # share of the threshold the evidence keeps without its busiest account
_ACTIVE_FLOOR = 0.8  # share of the seasonal active accounts the expectation never falls below
_DAY_WINDOWS_MIN = 288  # windows of history a feature needs before it teaches the rhythm
_LEARN_DELAY = 72  # closed windows kept before learning (6 h of 5-min windows)


class WindowReport(NamedTuple):
    """What one closed (feature, window) looked like; passed to the ``on_window`` callback."""

    feature: str
    start: float
    end: float
    observed: int  # tickets, each account capped at max_per_account
    tickets: int  # tickets before the cap
    expected: float
    active_accounts: int
    score: float  # largest CUSUM statistic (nats) after this window
    warm: bool
    gap: bool


class BreadthSpikeDetector(Detector):
    """Page when one feature's tickets rise across many accounts.

    Parameters
    ----------
    window
        Seconds per tumbling window.
    shifts
        Design shifts (rate multipliers) of the CUSUM arms.
    max_per_account, cap_horizon
        Tickets one account may contribute per ``cap_horizon`` seconds.
    min_accounts
        Distinct accounts an alarm needs.
    threshold
        CUSUM statistic (log-likelihood ratio, nats) that raises an alarm.
    dispersion
        Extra variance of the count (``mean + dispersion * mean**2``) in the resolution test.
    min_expected
        Floor of the expected capped tickets per window, for features that are almost never mentioned.
    fading_factor
        Weight of each learnt window in the rate sums (0.002 ≈ memory of 500 windows, ~2 days).
    rate_doubt
        Standard errors added to the learnt rate (relative error ``1/sqrt(tickets learnt)``): the
        expectation is an upper bound, so a quiet feature's noisy estimate does not page.
    warmup_windows, warmup_tickets
        History a feature needs before it may alert.
    resolve_windows
        Trailing windows that must be unremarkable together for a window to count as quiet.
    quiet_windows
        Quiet closed windows in a row (without a new alarm) that resolve an incident.
    active_horizon
        An account is active while it had usage this recently.
    gap_fraction
        Usage events over the trailing ``active_horizon`` below this fraction of their seasonal level
        mean a data gap (a holiday lowers usage, a stalled pipeline stops it).
    idle_horizon
        Features (and accounts in the activity tracker) idle this long are forgotten.
    release_lookback
        Seconds before an incident in which a release touching the feature is a suspect.
    new_account_horizon
        Tickets of an account created less than this long ago (first usage after the stream's first
        day) are left out: a new customer files many tickets while setting up, on a few features.
    early
        Also test the windows not yet closed by the watermark, to page without waiting for the
        allowed lateness.
    on_window
        Called with a :class:`WindowReport` for every closed (feature, window).

    Examples
    --------
    >>> from schemas.events import TicketEvent, UsageEvent
    >>> t0 = 1_772_409_600.0  # Monday 2026-03-02 00:00 UTC
    >>> detector = BreadthSpikeDetector(warmup_windows=12, warmup_tickets=1)
    >>> alerts = []
    >>> for minute in range(0, 8 * 60, 5):  # eight quiet hours: 20 accounts, one ticket an hour
    ...     now = t0 + minute * 60
    ...     for a in range(20):
    ...         detector.learn_one(UsageEvent(account_id=f"a{a}", time=now))
    ...     if minute % 60 == 0:
    ...         detector.learn_one(TicketEvent(ticket_id=f"q{minute}", account_id="a0",
    ...                                        feature="export", time=now))
    ...     alerts += detector.advance(now)
    >>> alerts
    []
    >>> now = t0 + 8 * 3600
    >>> for a in range(20):  # then 20 accounts write in about export within five minutes
    ...     detector.learn_one(UsageEvent(account_id=f"a{a}", time=now))
    ...     detector.learn_one(TicketEvent(ticket_id=f"t{a}", account_id=f"a{a}", feature="export",
    ...                                    time=now + a))
    >>> [(a.kind, a.status, a.feature, a.accounts_affected, a.pages) for a in detector.advance(now + 300)]
    [('regression', 'firing', 'export', 20, True)]
    """

    observation_kind: ClassVar[str] = "event"

    def __init__(
        self,
        window: float = 300.0,
        shifts: tuple[float, ...] = (3.0, 5.0, 10.0),
        max_per_account: int = 5,
        cap_horizon: float = 3600.0,
        min_accounts: int = 3,
        threshold: float = 11.0,
        dispersion: float = 0.02,
        min_expected: float = 0.02,
        fading_factor: float = 0.002,
        rate_doubt: float = 0.0,
        warmup_windows: int = 288,
        warmup_tickets: int = 5,
        resolve_windows: int = 12,
        quiet_windows: int = 24,
        active_horizon: float = 3600.0,
        gap_fraction: float = 0.05,
        idle_horizon: float = 14 * 86_400.0,
        release_lookback: float = 6 * 3600.0,
        new_account_horizon: float = 7 * 86_400.0,
        early: bool = True,
        on_window: Callable[[WindowReport], Any] | None = None,
    ):
        if not window > 0:
            raise ValueError(f"window must be > 0, got {window!r}")
        if not shifts or any(not r > 1.0 for r in shifts):
            raise ValueError(f"shifts must be rate multipliers > 1, got {shifts!r}")
        if not cap_horizon >= window:
            raise ValueError(f"cap_horizon must be >= window, got {cap_horizon!r}")
        for name, value, low in (
            ("max_per_account", max_per_account, 1),
            ("min_accounts", min_accounts, 1),
            ("warmup_windows", warmup_windows, 0),
            ("warmup_tickets", warmup_tickets, 0),
            ("resolve_windows", resolve_windows, 1),
            ("quiet_windows", quiet_windows, 1),
        ):
            if int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold!r}")
        if not dispersion >= 0:
            raise ValueError(f"dispersion must be >= 0, got {dispersion!r}")
        if not min_expected > 0:
            raise ValueError(f"min_expected must be > 0, got {min_expected!r}")
        if not rate_doubt >= 0:
            raise ValueError(f"rate_doubt must be >= 0, got {rate_doubt!r}")
        if not 0 < fading_factor < 1:
            raise ValueError(f"fading_factor must be in (0, 1), got {fading_factor!r}")
        if not active_horizon >= window:
            raise ValueError(f"active_horizon must be >= window, got {active_horizon!r}")
        if not 0 <= gap_fraction < 1:
            raise ValueError(f"gap_fraction must be in [0, 1), got {gap_fraction!r}")
        if not idle_horizon >= active_horizon:
            raise ValueError(f"idle_horizon must be >= active_horizon, got {idle_horizon!r}")
        if not new_account_horizon >= 0:
            raise ValueError(f"new_account_horizon must be >= 0, got {new_account_horizon!r}")
        if not release_lookback > 0:
            raise ValueError(f"release_lookback must be > 0, got {release_lookback!r}")
        self.window = float(window)
        self.shifts = tuple(sorted(float(r) for r in shifts))
        self.max_per_account = int(max_per_account)
        self.cap_horizon = float(cap_horizon)
        self.min_accounts = int(min_accounts)
        self.threshold = float(threshold)
        self.dispersion = float(dispersion)
        self.min_expected = float(min_expected)
        self.fading_factor = float(fading_factor)
        self.rate_doubt = float(rate_doubt)
        self.warmup_windows = int(warmup_windows)
        self.warmup_tickets = int(warmup_tickets)
        self.resolve_windows = int(resolve_windows)
        self.quiet_windows = int(quiet_windows)
        self.active_horizon = float(active_horizon)
        self.gap_fraction = float(gap_fraction)
        self.idle_horizon = float(idle_horizon)
        self.release_lookback = float(release_lookback)
        self.new_account_horizon = float(new_account_horizon)
        self.early = bool(early)
        self.on_window = on_window

        # Closed windows kept per feature before they are learnt: long enough that the start of an
        # incident found late is not learnt as baseline.
        self._cap_windows = math.ceil(self.cap_horizon / self.window)
        self._span = max(_LEARN_DELAY, self.resolve_windows, self._cap_windows)
        self._features: dict[str, FeatureState] = {}
        self._exposure = Exposure(self.window, self.active_horizon, self.gap_fraction, self.idle_horizon,
                                  _ACTIVE_FLOOR)  # fmt: skip
        self._dirty: set[str] = set()  # features with tickets since the last early look
        self._releases = ReleaseIndex(lookback=self.release_lookback)
        # window -> (active accounts, rhythm correction, gap, correction guessed)
        self._windows_meta: dict[int, tuple[int, float, bool, bool]] = {}
        self._next_window: int | None = None  # the oldest window not closed yet
        self._first_window: int | None = None  # oldest window seen before the clock started
        self._last_evict = float("-inf")
        self._now = float("-inf")  # latest event time learnt: when, in event time, a decision is made

    # -- learning ---------------------------------------------------------------------------------
    def use_releases(self, index: ReleaseIndex) -> None:
        """Share a release index (the engine's) instead of this detector's own."""
        self._releases = index

    def learn_one(self, x: Any) -> None:
        kind = getattr(x, "type", None)
        ts = x.ts
        if ts > self._now:
            self._now = ts
        if self._next_window is None:
            first = int(ts // self.window)
            self._first_window = first if self._first_window is None else min(first, self._first_window)
        if kind == "usage":
            self._exposure.observe_usage(x.account_id, ts, x.count)
        elif kind == "ticket":
            self._learn_ticket(x)
        elif kind == "release":
            self._releases.add(x)

    def _learn_ticket(self, ticket: Any) -> None:
        ts = ticket.ts
        w = int(ts // self.window)
        if self._next_window is not None and w < self._next_window:
            return  # its window is closed already: too late to count
        if self._exposure.is_new_account(ticket.account_id, ts, self.new_account_horizon):
            return  # setting up: an onboarding customer's questions say nothing about a release
        state = self._features.get(ticket.feature)
        if state is None:
            state = self._features[ticket.feature] = FeatureState(self.shifts)
        accounts = state.windows.setdefault(w, {})
        accounts[ticket.account_id] = accounts.get(ticket.account_id, 0) + 1
        samples = state.samples.setdefault(w, [])
        if len(samples) < 3:
            samples.append(ticket.ticket_id)
        if ts > state.last_ticket:
            state.last_ticket = ts
        self._dirty.add(ticket.feature)

    def score_one(self, x: Any) -> float:
        """The largest CUSUM statistic (nats) of the ticket's feature (0 for other events)."""
        if getattr(x, "type", None) != "ticket":
            return 0.0
        state = self._features.get(x.feature)
        return state.last_score if state is not None else 0.0

    # -- time -------------------------------------------------------------------------------------
    def advance(self, watermark: float) -> list:
        alerts: list = []
        if self._next_window is None:
            if self._first_window is None:
                return alerts
            self._next_window = self._first_window
        while (self._next_window + 1) * self.window <= watermark:
            alerts.extend(self._close(self._next_window))
            self._next_window += 1
        if self.early:
            alerts.extend(self._early(watermark))
        if watermark - self._last_evict >= 3600.0:
            self._evict(watermark)
            self._last_evict = watermark
        return alerts

    def flush(self) -> list:
        """End of stream: close every open window and resolve open incidents."""
        if self._next_window is None:
            if self._first_window is None:
                return []
            self._next_window = self._first_window
        last = max((max(s.windows, default=-1) for s in self._features.values()), default=-1)
        alerts = self.advance((max(last, self._next_window) + 1) * self.window)
        end = self._next_window * self.window
        for feature in sorted(self._features):
            state = self._features[feature]
            if state.incident is not None:
                alerts.append(self._emit(feature, state.incident, "resolved", end))
                state.incident = None
        return alerts

    def _close(self, w: int) -> list:
        start, end = w * self.window, (w + 1) * self.window
        active, correction, gap = self._exposure.close(start, end)
        # A window whose rhythm correction was a guess (the first Saturday looks like a weekday) teaches
        # the rhythm, not the rates: learning "a quarter of the tickets expected" as the rate would
        # leave every feature underestimated for days after the first weekend.
        rhythm = self._exposure.rhythm
        guessed = rhythm.windows > 0 and not rhythm.knows((w + 0.5) * self.window)
        self._windows_meta[w] = (active, correction, gap, guessed)

        alerts = []
        for feature in sorted(self._features):
            alert = self._close_feature(feature, self._features[feature], w, active, correction, gap)
            if alert is not None:
                alerts.append(alert)
        self._learn_window(w - self._span)
        return alerts

    def _close_feature(
        self, feature: str, state: FeatureState, w: int, active: int, correction: float, gap: bool
    ) -> Any:
        warm = self._is_feature_warm(state)
        expected = max(self._upper_rate(state) * active * correction, self.min_expected)
        if len(state.expected) == self._span:
            state.expected.popleft()
        state.expected.append(expected)
        state.expected_end = w
        (counted,) = state.capped_counts([w], self.max_per_account, self._cap_windows, commit=True)
        state.bank.update(counted, expected, w)
        state.last_score = max(state.bank.statistics)
        this_window = state.windows.get(w, {})
        if self.on_window is not None:
            self.on_window(
                WindowReport(feature, w * self.window, (w + 1) * self.window, counted,
                             sum(this_window.values()), expected, active, state.last_score, warm, gap)
            )
        alarm = self._alarm(state, state.bank.alarm(self._thresholds()), w) if warm else None
        incident = state.incident
        if incident is None:
            if alarm is not None:
                return self._open(feature, state, w, alarm, expected)
            return None
        if w > incident.counted_through:  # else counted when the incident paged early
            incident.observed += counted
            incident.expected += expected
            incident.accounts.update(this_window)
            self._add_samples(incident, state, [w])
        incident.score = max(incident.score, state.last_score)
        if alarm is not None:  # the shift goes on: evidence starts afresh, the incident stays open
            state.bank.reset()
            state.last_alarm = w
        quiet = alarm is None and self._resolve_score(state, w) < _RESOLVE_SCORE
        state.quiet = state.quiet + 1 if quiet else 0
        if state.quiet >= self.quiet_windows:
            state.incident = None
            state.learn_after = w
            state.quiet = 0
            state.bank.reset()
            return self._emit(feature, incident, "resolved", (w + 1) * self.window)
        if incident.grew:
            return self._emit(feature, incident, "updated", (w + 1) * self.window)
        return None

    def _alarm(self, state: FeatureState, alarm: tuple[int, int] | None, w: int,
               fallback: float | None = None) -> tuple[int, int, set] | None:  # fmt: skip
        """``alarm`` (arm, first window) with the accounts behind it, if it is broad enough.

        Breadth: at least ``min_accounts`` accounts wrote in since the excursion began, and without
        the busiest account's tickets the evidence still reaches half the threshold (one account's
        flood is not a regression, even under the cap).
        """
        if alarm is None:
            return None
        first = max(alarm[1], w - self._span + 1)
        per_account: dict[str, int] = {}
        expected = 0.0
        for v in range(first, w + 1):
            for account, n in state.windows.get(v, {}).items():
                per_account[account] = per_account.get(account, 0) + min(n, self.max_per_account)
            expected += state.expected_of(v, state.expected[-1] if fallback is None else fallback)
        if len(per_account) < self.min_accounts:
            return None
        r = self.shifts[alarm[0]]
        without_top = sum(per_account.values()) - max(per_account.values())
        if without_top * math.log(r) - expected * (r - 1.0) < _WITHOUT_TOP * self.threshold:
            return None
        return alarm[0], alarm[1], set(per_account)

    def _early(self, watermark: float) -> list:
        """Page before the windows close when the tickets already in are enough.

        The open windows' counts are tested against the expectation for the share of each window that
        event time has covered; late tickets can only add to them.
        """
        assert self._next_window is not None
        alerts = []
        # Take the larger of the live and the seasonal count of active accounts, so a usage gap that
        # has not closed a window yet cannot page.
        live = self._exposure.active_now(watermark)
        # Only features with new tickets since the last look: the others' counts have not moved.
        dirty, self._dirty = self._dirty, set()
        thresholds = self._thresholds()
        for feature in sorted(dirty):
            state = self._features.get(feature)
            if state is None or state.incident is not None or not self._is_feature_warm(state):
                continue
            head = max(state.windows, default=-1)
            if head < self._next_window:
                continue
            correction = self._exposure.rhythm.correction((head + 0.5) * self.window)
            estimate = max(self._upper_rate(state) * live * correction, self.min_expected)
            opened = list(range(self._next_window, head + 1))
            counts = state.capped_counts(opened, self.max_per_account, self._cap_windows, commit=False)
            covered = [min(1.0, max(0.0, (self._now - v * self.window) / self.window)) for v in opened]
            pending = list(zip(opened, counts, (estimate * c for c in covered), strict=True))
            alarm = self._alarm(state, state.bank.peek(pending, thresholds), head, estimate)
            if alarm is not None:
                score = state.bank.peek_statistic(pending)  # what paged, not the closed windows' score
                alerts.append(self._open(feature, state, head, alarm, estimate, at=watermark, score=score))
        return alerts

    def _upper_rate(self, state: FeatureState) -> float:
        # The rate is learnt from a finite number of tickets (about ``ticket_sum``): a quiet feature's
        # estimate is uncertain by ~1/sqrt(n), and a CUSUM run on an underestimate drifts upwards.
        return state.rate() * (1.0 + self.rate_doubt / math.sqrt(max(state.ticket_sum, 1.0)))

    def _thresholds(self) -> tuple[float, ...]:
        # Until the rhythm correction has seen every hour of the week, some are guessed from the others:
        # only a spike clear of that doubt may page.
        learnt = self._exposure.rhythm.windows * self.window / (_COLD_RHYTHM_DAYS * 86_400.0)
        margin = 1.0 + (_COLD_RHYTHM_MARGIN - 1.0) * max(0.0, 1.0 - learnt)
        return tuple(self.threshold * margin for _ in self.shifts)

    def _resolve_score(self, state: FeatureState, w: int) -> float:
        merged: dict[str, int] = {}
        mean = 0.0
        for age in range(self.resolve_windows):
            for account, n in state.windows.get(w - age, {}).items():
                merged[account] = merged.get(account, 0) + n
            mean += state.expected_of(w - age, state.expected[-1])
        observed = sum(min(n, self.max_per_account) for n in merged.values())
        return tail_score(observed, mean, self.dispersion) if observed > mean else 0.0

    def _open(
        self, feature: str, state: FeatureState, w: int, alarm: tuple[int, int, set], fallback: float,
        at: float | None = None, score: float | None = None,
    ) -> Any:
        _arm, first, accounts = alarm
        first = max(first, w - self._span + 1)
        windows = list(range(first, w + 1))
        start = first * self.window
        stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%MZ")
        incident = state.incident = RegressionIncident(f"regression:{feature}:{stamp}", first, start)
        incident.observed = sum(state.capped(v, self.max_per_account) for v in windows)
        incident.expected = sum(state.expected_of(v, fallback) for v in windows)
        incident.score = max(state.bank.statistics) if score is None else score
        incident.counted_through = w
        incident.accounts = accounts
        state.bank.reset()
        state.last_alarm, state.quiet = w, 0
        self._add_samples(incident, state, windows)
        noticed = (w + 1) * self.window if at is None else at
        suspect = self._releases.suspect(feature, start, until=noticed)
        if suspect is not None:
            incident.release, incident.release_confidence = suspect.version, suspect.confidence
        return self._emit(feature, incident, "firing", noticed)

    @staticmethod
    def _add_samples(incident: RegressionIncident, state: FeatureState, windows: list[int]) -> None:
        incident.add_samples(t for v in windows for t in state.samples.get(v, ()))

    def _emit(self, feature: str, incident: RegressionIncident, status: str, at: float) -> Any:
        # The emission's event time is when the decision was made: the latest event time seen (at
        # least the window end), so early pages never predate the tickets that caused them.
        return regression_alert(feature, incident, status, max(at, self._now), self.window)

    def _learn_window(self, w: int) -> None:
        meta = self._windows_meta.pop(w, None)
        if meta is None:
            return
        active, correction, gap, guessed = meta
        observed_total, predicted_total, corrected_total = 0.0, 0.0, 0.0
        learnt: list[tuple[FeatureState, int]] = []
        for state in self._features.values():
            accounts = state.windows.pop(w, {})
            state.samples.pop(w, None)
            in_incident = state.incident is not None and w >= state.incident.start_window
            if gap or in_incident or w <= state.learn_after:
                continue
            observed = sum(min(n, self.max_per_account) for n in accounts.values())
            learnt.append((state, observed))
            # A day of history is needed for a rate worth comparing with (a feature is born on a ticket,
            # so its first windows overstate it); cold features count, so the rhythm is ready first.
            if state.windows_learnt >= min(self.warmup_windows, _DAY_WINDOWS_MIN):
                observed_total += observed
                predicted_total += state.rate() * active
                corrected_total += state.rate() * active * correction
        # A lull across all features (a holiday: accounts still log in, few write in) is not any
        # feature's baseline: learning it would make the next ordinary day look like a spike. Against a
        # guessed correction nothing can be told: the rhythm learns, the rates do not.
        if guessed:
            learnt = []
        elif self._exposure.lull(observed_total, corrected_total):
            return
        for state, observed in learnt:
            state.learn(observed, active * correction, 1.0 - self.fading_factor)
        if predicted_total > 0:
            self._exposure.rhythm.learn(w * self.window, observed_total, predicted_total)

    def _evict(self, now: float) -> None:
        self._exposure.evict(now)
        if self._next_window is not None:
            for state in self._features.values():
                state.forget_counted(self._next_window - self._cap_windows)
        for feature in [
            f for f, s in self._features.items()
            if s.incident is None and not s.windows and s.last_ticket < now - self.idle_horizon
        ]:
            del self._features[feature]

    # -- introspection ----------------------------------------------------------------------------
    def _is_feature_warm(self, state: FeatureState) -> bool:
        return (
            state.windows_learnt >= self.warmup_windows
            and state.tickets_learnt >= self.warmup_tickets
            and self._exposure.rhythm.windows >= min(self.warmup_windows, _DAY_WINDOWS_MIN)
        )

    @property
    def is_warm(self) -> bool:
        """True once every feature seen so far has enough history to alert."""
        return bool(self._features) and not self.cold_features

    @property
    def cold_features(self) -> list[str]:
        """Features that may not alert yet, for lack of history."""
        return sorted(f for f, s in self._features.items() if not self._is_feature_warm(s))

    @property
    def open_incidents(self) -> list[str]:
        """Dedup keys of the incidents currently firing."""
        return sorted(s.incident.key for s in self._features.values() if s.incident is not None)

    @property
    def state_size(self) -> int:
        """Features plus accounts tracked for activity."""
        return len(self._features) + self._exposure.state_size
