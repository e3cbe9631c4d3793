"""Event-time clock: the watermark that closes windows, and the lateness rule.

The watermark trails the largest event time seen by ``allowed_lateness``. Windows that end at or before
the watermark are final. An event older than the watermark arrived too late to be counted in a closed
window: it is counted in ``late_dropped`` and not used. Nothing here reads the wall clock, so replaying
the same stream gives the same watermarks.
"""

from __future__ import annotations

import math

__all__ = ["EventClock"]


class EventClock:
    """Watermark = max event time seen − ``allowed_lateness``.

    Parameters
    ----------
    allowed_lateness
        Seconds an event may arrive after later events and still be used.

    Examples
    --------
    >>> clock = EventClock(allowed_lateness=600)
    >>> clock.watermark
    -inf
    >>> clock.observe(10_000.0)
    True
    >>> clock.watermark
    9400.0
    >>> clock.observe(9_500.0)  # late, but within the allowed lateness
    True
    >>> clock.observe(9_000.0)  # older than the watermark: dropped
    False
    >>> clock.late_dropped
    1
    """

    __slots__ = ("_max_time", "allowed_lateness", "late_dropped")

    def __init__(self, allowed_lateness: float = 600.0):
        if not allowed_lateness >= 0 or math.isinf(allowed_lateness):
            raise ValueError(f"allowed_lateness must be a finite number >= 0, got {allowed_lateness!r}")
        self.allowed_lateness = float(allowed_lateness)
        self._max_time = -math.inf
        self.late_dropped = 0

    @property
    def watermark(self) -> float:
        """Event time (epoch seconds) up to which every window is final."""
        return self._max_time - self.allowed_lateness

    @property
    def max_time(self) -> float:
        """Largest event time seen so far."""
        return self._max_time

    def is_late(self, ts: float) -> bool:
        """Whether an event at ``ts`` would be dropped, without recording anything."""
        return ts < self.watermark

    def observe(self, ts: float) -> bool:
        """Record an event time; return False (and count it) when the event is too late to use."""
        if ts < self._max_time - self.allowed_lateness:
            self.late_dropped += 1
            return False
        if ts > self._max_time:
            self._max_time = ts
        return True
