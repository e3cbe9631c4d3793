"""What the flood detector keeps per account (a small ticket ring) and per open flood episode.

Per-account state is one row of a column-wise table (:class:`~detectors.rows.Rows`): a ring of
``RING`` one-byte ticket counts, five floats and two shared strings, about a hundred bytes, so a large
customer base stays cheap. A count that would pass 255 widens the whole ring column to 8 bytes a
cell, so no count is ever clipped. A row converts to and from a plain dict, which is what a table
partitioned by account would store.

Examples
--------
>>> accounts = FloodAccounts()
>>> r = accounts.open("acme", 600.0, 2)
>>> for _ in range(300):
...     accounts.add_ticket(r, 2)
>>> accounts.ring.typecode, accounts.count(r, 2, width=12)
('Q', 300)
>>> data = accounts.to_dict(r)
>>> sorted(data)
['first_seen', 'last_seen', 'newest', 'owner', 'profile_ts', 'ring', 'ticket_sum', 'tier']
>>> other = FloodAccounts()
>>> other.to_dict(other.restore("acme", data)) == data
True
"""

from __future__ import annotations

from array import array
from typing import Any, ClassVar

from detectors.rows import Rows

__all__ = ["RING", "FloodAccounts", "FloodEpisode"]

RING = 24  # buckets per account: the trailing hour plus room for events ahead of the watermark
_FIELDS = ("first_seen", "last_seen", "newest", "owner", "profile_ts", "ring", "ticket_sum", "tier")


class FloodAccounts(Rows):
    """Per account: ticket ring, decayed baseline, owner and tier from its latest account event."""

    __slots__ = ("first_seen", "last_seen", "newest", "owner", "profile_ts", "ring", "ticket_sum", "tier")
    COLUMNS: ClassVar[dict[str, tuple]] = {
        "ring": ("B", 0, RING),  # tickets per bucket; bucket b of row r is cell r * RING + b % RING
        "newest": ("q", 0),  # absolute index of the newest bucket in the ring
        "ticket_sum": ("d", 0.0),  # decayed count of learnt tickets, as of last_seen
        "first_seen": ("d", 0.0),
        "last_seen": ("d", 0.0),
        "profile_ts": ("d", float("-inf")),
        "owner": (None, None),
        "tier": (None, None),
    }

    def open(self, account_id: str, ts: float, newest: int) -> int:
        """The row of a new account first seen at ``ts``, its newest bucket ``newest``."""
        r = self.add(account_id)
        self.newest[r] = newest
        self.first_seen[r] = ts
        self.last_seen[r] = ts
        return r

    def add_ticket(self, r: int, b: int) -> None:
        """Count one ticket in bucket ``b`` (within the ring) of row ``r``."""
        i = r * RING + b % RING
        if self.ring[i] == 255 and self.ring.typecode == "B":
            self.ring = array("Q", self.ring)
        self.ring[i] += 1

    def count(self, r: int, last: int, width: int) -> int:
        """Tickets of row ``r`` in the ``width`` buckets that end with bucket ``last`` (inclusive)."""
        newest, ring, base = self.newest[r], self.ring, r * RING
        first = max(last - width + 1, newest - RING + 1)
        return sum(ring[base + b % RING] for b in range(first, min(last, newest) + 1))

    def to_dict(self, r: int) -> dict[str, Any]:
        """Row ``r`` as a plain dict (the ring as a list of its ``RING`` cells)."""
        data = {name: getattr(self, name)[r] for name in _FIELDS if name != "ring"}
        data["ring"] = self.ring[r * RING : r * RING + RING].tolist()
        return dict(sorted(data.items()))

    def restore(self, account_id: str, data: dict[str, Any]) -> int:
        """Put back a row saved with :meth:`to_dict`; returns it."""
        r = self.index.get(account_id)
        if r is None:
            r = self.add(account_id)
        for name in _FIELDS:
            if name != "ring":
                getattr(self, name)[r] = data[name]
        if max(data["ring"], default=0) > 255 and self.ring.typecode == "B":
            self.ring = array("Q", self.ring)
        self.ring[r * RING : r * RING + RING] = array(self.ring.typecode, data["ring"])
        return r


class FloodEpisode:
    """One open flood: its key, start, tickets so far and the evidence for the alert."""

    __slots__ = ("emitted", "expected", "features", "key", "samples", "score", "start", "tickets")

    def __init__(self, key: str, start: float) -> None:
        self.key, self.start = key, start
        self.tickets, self.emitted = 0, 0
        self.expected, self.score = 0.0, 0.0
        self.features: dict[str, int] = {}
        self.samples: list[str] = []
