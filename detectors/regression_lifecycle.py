"""The regression incident lifecycle: firing, updated, resolved.

**Lifecycle.** One incident = one alert key ``regression:{feature}:{start}``
(:mod:`detectors.incident`): ``firing`` once, ``updated`` when accounts affected or tickets grow by
half since the last emission, then ``resolved``. While it is open the bank restarts after every new
alarm (the shift goes on) and the incident stays open through lulls (hysteresis): it resolves only
after ``quiet_windows`` closed windows in a row (two hours) without an alarm and with the trailing
``resolve_windows`` windows unremarkable (p > 0.05). Windows are learnt 72 windows (6 h) after they
close, so the start of an incident detected late is not learnt as baseline either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from detectors.breadth import broad_alarm
from detectors.feature_rate import FeatureState
from detectors.incident import RegressionIncident, regression_alert
from detectors.poisson import tail_score
from detectors.window_report import WindowReport

__all__ = ["IncidentLifecycle"]

_RESOLVE_SCORE = 1.3  # −log10(0.05)


class IncidentLifecycle:
    """Mixin of :class:`~detectors.regression.BreadthSpikeDetector`: open, update and resolve incidents.

    Uses the detector's ``_features``, ``_releases``, ``_span``, ``_now`` and parameters.
    """

    def _close(self, w: int) -> list:
        start, end = w * self.window, (w + 1) * self.window
        active, correction, gap = self._exposure.close(start, end)
        # A window whose rhythm correction was a guess (the first Saturday looks like a weekday) teaches
        # the rhythm, not the rates: learning "a quarter of the tickets expected" as the rate would
        # leave every feature underestimated for days after the first weekend.
        rhythm = self._exposure.rhythm
        guessed = rhythm.windows > 0 and not rhythm.knows((w + 0.5) * self.window)
        self._windows_meta[w] = (active, correction, gap, guessed)
        self._note_totals(w, active, correction, known=not guessed)

        alerts = []
        # The same for every feature, unless feedback scales some features' thresholds.
        thresholds = self._thresholds() if self._feedback is None else None
        for feature in sorted(self._features):
            alert = self._close_feature(feature, self._features[feature], w, active, correction, gap,
                                        thresholds)
            if alert is not None:
                alerts.append(alert)
        self._learn_window(w - self._span)
        return alerts

    def _close_feature(
        self, feature: str, state: FeatureState, w: int, active: int, correction: float, gap: bool,
        thresholds: tuple[float, ...] | None = None,
    ) -> Any:
        """Close window ``w`` of ``feature``; ``thresholds`` are the arms' (``None``: the feature's own)."""
        warm = self._is_feature_warm(state)
        expected = max(self._upper_rate(state) * active * correction, self.min_expected)
        if len(state.expected) == self._span:
            del state.expected[0]
        state.expected.append(expected)
        state.expected_end = w
        counted = 0  # a window without tickets has nothing to cap or record
        if w in state.windows:
            (counted,) = state.capped_counts([w], self.max_per_account, self._cap_windows, commit=True)
        state.bank.update(counted, expected, w)
        state.last_score = max(state.bank.statistics)
        this_window = state.windows.get(w, {})
        if self.on_window is not None:
            self.on_window(
                WindowReport(feature, w * self.window, (w + 1) * self.window, counted,
                             sum(this_window.values()), expected, active, state.last_score, warm, gap)
            )
        if warm:
            if thresholds is None:
                thresholds = self._thresholds(feature)
            alarm = self._alarm(state, state.bank.alarm(thresholds), w)
        else:
            alarm = None
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
        if alarm is None:
            return None
        if w - alarm[1] + 1 > self._max_excursion():
            return None  # a slow rise while the baseline settles: not to be told from its error
        return broad_alarm(state, alarm, w, span=self._span, max_per_account=self.max_per_account,
                           min_accounts=self.min_accounts, shifts=self.shifts, threshold=self.threshold,
                           fallback=fallback)  # fmt: skip

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
