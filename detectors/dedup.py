"""Bounded de-duplication of ticket ids.

Delivery is at-least-once, so the same ticket can arrive twice, usually close together. Ids are
remembered for ``horizon`` seconds of event time (and at most ``max_size`` of them), so memory follows
the ticket rate, not the length of the stream.
"""

from __future__ import annotations

from array import array
from collections import deque

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

    __slots__ = ("_head", "_holes", "_ids", "_order", "_times", "duplicates", "horizon", "max_size")

    def __init__(self, horizon: float = 86_400.0, max_size: int = 1_000_000):
        if not horizon > 0:
            raise ValueError(f"horizon must be > 0, got {horizon!r}")
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size!r}")
        self.horizon = float(horizon)
        self.max_size = int(max_size)
        # Insertion order is close to event-time order (events are at most ``allowed_lateness`` out of
        # order), so forgetting from the front is forgetting the oldest. The ids in a set, their order
        # in a deque and their times in an array (8 bytes each) rather than an ordered dict of floats.
        self._ids: set[str] = set()
        self._order: deque[str] = deque()  # ids remembered, oldest first
        self._times: array = array("d")  # their event times: ``_order[i]`` at ``_times[_head + i]``
        self._head = 0
        self._holes = 0  # ids removed from the set since it was last rebuilt
        self.duplicates = 0

    def __len__(self) -> int:
        return len(self._ids)

    def is_duplicate(self, ticket_id: str, ts: float) -> bool:
        """Return True if ``ticket_id`` was seen within the horizon; otherwise remember it."""
        self._forget_before(ts - self.horizon)
        if ticket_id in self._ids:
            self.duplicates += 1
            return True
        self._ids.add(ticket_id)
        self._order.append(ticket_id)
        self._times.append(ts)
        if len(self._ids) > self.max_size:
            self._forget_oldest()
        return False

    def _forget_before(self, cutoff: float) -> None:
        order, times = self._order, self._times
        while order and times[self._head] < cutoff:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        self._ids.discard(self._order.popleft())
        self._head += 1
        if self._head > 64 and 2 * self._head > len(self._times):  # drop the forgotten times
            del self._times[: self._head]
            self._head = 0
        self._holes += 1
        if self._holes > len(self._ids) // 2 + 8:  # a set grows to four times its ids as they churn
            self._ids = set(self._ids)
            self._holes = 0
