"""Early pages: test the windows the watermark has not closed yet, to page within minutes.

**Early pages.** The open windows (not yet closed by the watermark) are tested on every advance: the
bank is run on, without being changed, over their counts against the expectation for the share of
each window that event time has covered, so a large regression pages within minutes instead of after
the allowed lateness. An alert's ``event_time`` is when, in event time, the decision was made.
"""

from __future__ import annotations

__all__ = ["EarlyPages"]


class EarlyPages:
    """Mixin of :class:`~detectors.regression.BreadthSpikeDetector`: the look at the open windows.

    Uses the detector's ``_features``, ``_dirty``, ``_exposure``, ``_next_window`` and its lifecycle.
    """

    def _early(self, watermark: float) -> list:
        """Page before the windows close when the tickets already in are enough.

        The open windows' counts are tested against the expectation for the share of each window that
        event time has covered; late tickets can only add to them.
        """
        assert self._next_window is not None
        alerts = []
        # Only features with new tickets since the last look: the others' counts have not moved.
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return alerts
        # Take the larger of the live and the seasonal count of active accounts, so a usage gap that
        # has not closed a window yet cannot page.
        live = self._exposure.active_now(watermark)
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
            alarm = self._alarm(state, state.bank.peek(pending, self._thresholds(feature)), head,
                                estimate)
            if alarm is not None:
                score = state.bank.peek_statistic(pending)  # what paged, not the closed windows' score
                alerts.append(self._open(feature, state, head, alarm, estimate, at=watermark, score=score))
        return alerts
