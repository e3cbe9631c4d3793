"""Event-time clock: the watermark that closes windows, and the lateness rule.

The watermark trails the largest event time seen by ``allowed_lateness``. Windows that end at or before
the watermark are final. An event older than the watermark arrived too late to be counted in a closed
window: it is counted in ``late_dropped`` and not used. Nothing here reads the wall clock, so replaying
the same stream gives the same watermarks.

An event more than ``max_jump`` ahead of every event so far is held to be a broken clock (a timestamp in
2100 would otherwise make every detector close decades of windows, stalling the worker, and make every
later event late): it is counted in ``future_dropped`` and not used, unless ``jump_confirmations``
events in a row agree that time really moved on that far (a stream that resumes after a long silence),
in which case the clock follows them.
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
    max_jump
        Seconds an event may be ahead of the largest event time so far and still be believed at once.
    jump_confirmations
        Consecutive events that must lie beyond ``max_jump`` before the clock jumps with them.

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
    >>> clock.observe(4_102_444_799.0)  # 2099-12-31: a broken producer clock
    False
    >>> clock.future_dropped, clock.max_time
    (1, 10000.0)
    """

    __slots__ = (
        "_ahead", "_max_time", "allowed_lateness", "future_dropped", "jump_confirmations", "late_dropped",
        "max_jump",
    )  # fmt: skip

    def __init__(
        self, allowed_lateness: float = 600.0, max_jump: float = 7 * 86_400.0, jump_confirmations: int = 100
    ):
        if not allowed_lateness >= 0 or math.isinf(allowed_lateness):
            raise ValueError(f"allowed_lateness must be a finite number >= 0, got {allowed_lateness!r}")
        if not max_jump > 0:
            raise ValueError(f"max_jump must be > 0, got {max_jump!r}")
        if jump_confirmations < 1:
            raise ValueError(f"jump_confirmations must be at least 1, got {jump_confirmations!r}")
        self.allowed_lateness = float(allowed_lateness)
        self.max_jump = float(max_jump)
        self.jump_confirmations = jump_confirmations
        self._max_time = -math.inf
        self._ahead = 0
        self.late_dropped = 0
        self.future_dropped = 0

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
        """Record an event time; return False (and count it) when the event is too late or too far ahead."""
        if ts < self._max_time - self.allowed_lateness:
            self.late_dropped += 1
            return False
        if ts > self._max_time + self.max_jump and self._max_time > -math.inf:
            self._ahead += 1
            if self._ahead < self.jump_confirmations:
                self.future_dropped += 1
                return False
        self._ahead = 0
        if ts > self._max_time:
            self._max_time = ts
        return True
