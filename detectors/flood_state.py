"""What the flood detector keeps per account (a small ticket ring) and per open flood episode.

Per-account state is a ``__slots__`` object of a few floats and one short list of ints (a few hundred
bytes), so a large customer base stays cheap; it converts to and from a plain dict, which is what a
table partitioned by account would store.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RING", "FloodAccount", "FloodEpisode"]

RING = 24  # buckets per account: the trailing hour plus room for events ahead of the watermark


class FloodAccount:
    """One account: ticket ring, decayed baseline, owner and tier from its latest account event."""

    __slots__ = ("first_seen", "last_seen", "newest", "owner", "profile_ts", "ring", "ticket_sum", "tier")

    def __init__(self, ts: float, newest: int) -> None:
        self.ring = [0] * RING
        self.newest = newest  # absolute index of the newest bucket in the ring
        self.ticket_sum = 0.0  # decayed count of learnt tickets, as of last_seen
        self.first_seen = ts
        self.last_seen = ts
        self.owner: str | None = None
        self.tier: str | None = None
        self.profile_ts = float("-inf")

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FloodAccount:
        state = cls.__new__(cls)
        for name in cls.__slots__:
            setattr(state, name, data[name])
        return state


class FloodEpisode:
    """One open flood: its key, start, tickets so far and the evidence for the alert."""

    __slots__ = ("emitted", "expected", "features", "key", "samples", "score", "start", "tickets")

    def __init__(self, key: str, start: float) -> None:
        self.key, self.start = key, start
        self.tickets, self.emitted = 0, 0
        self.expected, self.score = 0.0, 0.0
        self.features: dict[str, int] = {}
        self.samples: list[str] = []

