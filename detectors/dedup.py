"""Bounded de-duplication of ticket ids.

Delivery is at-least-once, so the same ticket can arrive twice, usually close together. Ids are
remembered for ``horizon`` seconds of event time (and at most ``max_size`` of them), so memory follows
the ticket rate, not the length of the stream.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["TicketDeduplicator"]


class TicketDeduplicator:
    """Remember ticket ids seen in the last ``horizon`` seconds of event time.

    Parameters
    ----------
    horizon
        Seconds of event time an id is remembered after it was first seen.
    max_size
        Hard cap on remembered ids; the oldest are forgotten first.

    Examples
    --------
    >>> dedup = TicketDeduplicator(horizon=3600)
    >>> dedup.is_duplicate("T-1", 0.0)
    False
    >>> dedup.is_duplicate("T-1", 60.0)
    True
    >>> dedup.is_duplicate("T-1", 7200.0)  # forgotten after the horizon
    False
    >>> dedup.duplicates
    1
    """

    __slots__ = ("_seen", "duplicates", "horizon", "max_size")

    def __init__(self, horizon: float = 86_400.0, max_size: int = 1_000_000):
        if not horizon > 0:
            raise ValueError(f"horizon must be > 0, got {horizon!r}")
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size!r}")
        self.horizon = float(horizon)
        self.max_size = int(max_size)
        # Insertion order is close to event-time order (events are at most ``allowed_lateness`` out of
        # order), so forgetting from the front is forgetting the oldest.
        self._seen: OrderedDict[str, float] = OrderedDict()
        self.duplicates = 0

    def __len__(self) -> int:
        return len(self._seen)

    def is_duplicate(self, ticket_id: str, ts: float) -> bool:
        """Return True if ``ticket_id`` was seen within the horizon; otherwise remember it."""
        self._forget_before(ts - self.horizon)
        if ticket_id in self._seen:
            self.duplicates += 1
            return True
        self._seen[ticket_id] = ts
        if len(self._seen) > self.max_size:
            self._seen.popitem(last=False)
        return False

    def _forget_before(self, cutoff: float) -> None:
        seen = self._seen
        while seen:
            oldest_id, oldest_ts = next(iter(seen.items()))
            if oldest_ts >= cutoff:
                break
            del seen[oldest_id]
