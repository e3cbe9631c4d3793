"""What the regression detector learns as a feature's baseline, and when it trusts it.

**Expectation.** Expected tickets in a window = the feature's learnt rate
(:class:`~detectors.feature_rate.FeatureState`) × active accounts × the ticket rhythm, both shared by
all features (:class:`~detectors.exposure.Exposure`: nights, weekends and holidays expect fewer
tickets; data gaps fall back on the seasonal level; an all-feature lull is not learnt). A window whose
rhythm correction is still a guess (an hour of a weekend day never learnt: the first Saturday) teaches
the rhythm only, so the first weekend does not drag every rate down for the week after.

Closed windows are learnt ``LEARN_DELAY`` windows after they close, so the start of an incident
detected late is not learnt as baseline; windows inside an incident, a data gap or an all-feature lull
are not learnt at all.

**Cold start.** A feature may alert once ``warmup_windows`` windows and ``warmup_tickets`` tickets
of it were learnt and the rhythm correction has learnt as many windows (``cold_features`` lists the
others). The threshold starts 1.5 × higher and comes down linearly over the first 8 days of rhythm
learning: hours of the week not met yet are guessed from the others. Meanwhile only a sudden rise
may page: an alarm's excursion may span an hour when rhythm learning starts, longer as it goes on
(an hour / the share of those days still to go), since in the first days the expectation can be off
by half for hours on end and a slow rise cannot be told from that. ``settling_days`` says how long
this lasts still (the engine reports it).

Windows learnt are those of ordinary days: a lull across all features is recognised with the hours
after the window too (they are closed by the time it is learnt), so a holiday's first hours, quiet
and with little expected, are not learnt as that hour of the week's rhythm either.
"""

from __future__ import annotations

import math

from detectors.exposure import is_lull
from detectors.feature_rate import FeatureState

__all__ = ["DAY_WINDOWS_MIN", "LEARN_DELAY", "BaselineLearning"]

_COLD_RHYTHM_MARGIN = 1.5  # threshold factor when rhythm learning starts, falling linearly to 1 ...
_COLD_RHYTHM_DAYS = 8.0  # ... over this many days of it (every hour of the week seen once, and more)
_COLD_EXCURSION = 3600.0  # seconds of excursion that may page when rhythm learning starts
DAY_WINDOWS_MIN = 288  # windows of history a feature needs before it teaches the rhythm
LEARN_DELAY = 72  # closed windows kept before learning (6 h of 5-min windows)
_MEAN_EXPOSURE_KEEP = 0.999  # decay per window of the mean window exposure (about 3.5 days of 5-min windows)


class BaselineLearning:
    """Mixin of :class:`~detectors.regression.BreadthSpikeDetector`: learning closed windows, cold start.

    Uses the detector's ``_features``, ``_exposure``, ``_windows_meta``, ``_window_totals`` and
    parameters.
    """

    def _upper_rate(self, state: FeatureState) -> float:
        # The rate is learnt from a finite number of tickets (about ``ticket_sum``): a quiet feature's
        # estimate is uncertain by ~1/sqrt(n), and a CUSUM run on an underestimate drifts upwards.
        return state.rate() * (1.0 + self.rate_doubt / math.sqrt(max(state.ticket_sum, 1.0)))

    def _settling(self) -> float:
        """Share of the cold-start period (``_COLD_RHYTHM_DAYS`` of rhythm learning) still to go, 0..1."""
        learnt = self._exposure.rhythm.windows * self.window / (_COLD_RHYTHM_DAYS * 86_400.0)
        return max(0.0, 1.0 - learnt)

    @property
    def settling_days(self) -> float:
        """Days of rhythm learning still to go before slow rises may page and the threshold settles."""
        return round(self._settling() * _COLD_RHYTHM_DAYS, 2)

    def _max_excursion(self) -> float:
        """Windows an alarm's excursion may span while the baseline settles (``inf`` once settled).

        In the first days the expectation can be off by half for hours on end (an hour of the week
        met once, a rate learnt from a few tickets): a slow rise then cannot be told from a baseline
        still settling, while a sudden one can. An hour's excursion may page at first, longer ones
        as the rhythm learns, any once it has learnt ``_COLD_RHYTHM_DAYS`` days.
        """
        settling = self._settling()
        return math.inf if settling <= 0.0 else _COLD_EXCURSION / self.window / settling

    def _thresholds(self, feature: str | None = None) -> tuple[float, ...]:
        # Until the rhythm correction has seen every hour of the week, some are guessed from the others:
        # only a spike clear of that doubt may page. False alarms labelled on ``feature`` raise its
        # threshold for a while (bounded and decaying, :class:`~detectors.feedback.FeedbackPolicy`).
        margin = 1.0 + (_COLD_RHYTHM_MARGIN - 1.0) * self._settling()
        if feature is not None and self._feedback is not None:
            margin *= self._feedback.threshold_factor(feature, at=self._now)
        return tuple(self.threshold * margin for _ in self.shifts)

    def reset_baseline(self, feature: str) -> bool:
        """Make ``feature``'s rate jump to its recent level (a ``new-normal`` label).

        The recent level is that of the closed windows not learnt yet (the last ``LEARN_DELAY``
        windows or more, incident windows included): the baseline restarts from them instead of
        learning the new level slowly. Returns False when there is nothing recent to restart from.
        """
        state = self._features.get(feature)
        if state is None or self._next_window is None:
            return False
        observed, exposure = 0.0, 0.0
        for w, (active, correction, gap, _guessed) in self._windows_meta.items():
            if gap or w >= self._next_window:
                continue
            observed += state.capped(w, self.max_per_account)
            exposure += active * correction
        if exposure <= 0:
            return False
        state.ticket_sum, state.exposure_sum = observed, exposure
        state.learn_after = self._next_window - 1  # those windows are the new baseline already
        state.bank.reset()
        return True

    def _note_totals(self, w: int, active: int, correction: float, known: bool) -> None:
        """Record closed window ``w``'s all-feature tickets and expectation, for the lull look-ahead
        (not when its rhythm correction is a guess: the first Saturday is no lull)."""
        if not known:
            return
        observed, expected = 0.0, 0.0
        established = min(self.warmup_windows, DAY_WINDOWS_MIN)
        for state in self._features.values():
            if state.windows_learnt >= established:
                observed += state.capped(w, self.max_per_account)
                expected += state.rate() * active * correction
        self._window_totals[w] = (observed, expected)

    def _lull_ahead(self, w: int) -> bool:
        """Whether window ``w`` and the closed windows after it are an all-feature lull.

        Windows are learnt ``LEARN_DELAY`` windows late, so the hours after one are known when it is
        learnt: a holiday's first hours (a quiet night, little expected) are recognised by the morning
        that follows, instead of being learnt as that hour of the week's rhythm.
        """
        observed, expected = 0.0, 0.0
        for v in range(w, w + self._span + 1):
            totals = self._window_totals.get(v)
            if totals is not None:
                observed += totals[0]
                expected += totals[1]
        return is_lull(observed, expected)

    def _learn_window(self, w: int) -> None:
        meta = self._windows_meta.pop(w, None)
        lull_ahead = self._lull_ahead(w)
        self._window_totals.pop(w, None)
        if meta is None:
            return
        active, correction, gap, guessed = meta
        observed_total, predicted_total, corrected_total = 0.0, 0.0, 0.0
        learnt: list[tuple[FeatureState, int]] = []
        middle = (w + 0.5) * self.window
        established = min(self.warmup_windows, DAY_WINDOWS_MIN)
        for feature, state in self._features.items():
            accounts = state.windows.pop(w, {})
            state.samples.pop(w, None)
            in_incident = state.incident is not None and w >= state.incident.start_window
            if gap or in_incident or w <= state.learn_after:
                continue
            if self._feedback is not None and self._feedback.excluded(feature, middle):
                continue  # labelled a false alarm: not what the feature's baseline looks like
            observed = sum(min(n, self.max_per_account) for n in accounts.values()) if accounts else 0
            learnt.append((state, observed))
            # A day of history is needed for a rate worth comparing with (a feature is born on a ticket,
            # so its first windows overstate it); cold features count, so the rhythm is ready first.
            if state.windows_learnt >= established:
                rate = state.rate()
                observed_total += observed
                predicted_total += rate * active
                corrected_total += rate * active * correction
        # A lull across all features (a holiday: accounts still log in, few write in) is not any
        # feature's baseline: learning it would make the next ordinary day look like a spike. Against a
        # guessed correction nothing can be told: the rhythm learns, the rates do not.
        if guessed:
            learnt = []
        elif self._exposure.lull(observed_total, corrected_total) or lull_ahead:
            return
        # Rates forget by exposure, not by the clock: a quiet weekend or night holds few tickets and
        # should not outweigh the weekdays before it (a quiet feature's rate, learnt from a weekend's
        # dozen tickets, was a third too low on the Monday after).
        exposure = active * correction
        mean = self._mean_exposure
        mean[0] = mean[0] * _MEAN_EXPOSURE_KEEP + exposure
        mean[1] = mean[1] * _MEAN_EXPOSURE_KEEP + 1.0
        share = exposure * mean[1] / mean[0] if mean[0] > 0 else 1.0
        for state, observed in learnt:
            state.learn(observed, exposure, math.exp(-self.fading_factor * share))
        if predicted_total > 0:
            self._exposure.rhythm.learn(w * self.window, observed_total, predicted_total)

    def _is_feature_warm(self, state: FeatureState) -> bool:
        return (
            state.windows_learnt >= self.warmup_windows
            and state.tickets_learnt >= self.warmup_tickets
            and self._exposure.rhythm.windows >= min(self.warmup_windows, DAY_WINDOWS_MIN)
        )
