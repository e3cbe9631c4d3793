"""Keep each input partition in offset order, whatever the consumer delivers around a rebalance.

The counts skip a record at or below the last offset an entry applied (:mod:`stream.counters`), which
is exact only if a partition's records are applied in order. Faust can break that order: records
prefetched before a rebalance move its read position forward, so after the seek to the committed
offset the records in between are dropped and later ones arrive first (seen as a run of 10 to 40
missing records per partition after a SIGKILL and restart). :class:`PartitionOrder` notices a record
past the next offset due and asks for a seek back to it; the record comes again in its turn.

Offsets that hold no record (transaction markers, compacted topics) would make that loop forever, so
after one seek back a record at or before the one that triggered it is taken as the next one due.

Examples
--------
>>> order = PartitionOrder({})
>>> order.check("p0", 10), order.check("p0", 11)  # in order: handle now
(None, None)
>>> order.check("p0", 15)  # 12..14 were skipped: seek back to 12, do not handle 15
12
>>> order.check("p0", 16)  # still before the seek took effect
12
>>> order.check("p0", 12), order.check("p0", 13)
(None, None)
>>> order.check("p0", 20), order.check("p0", 15)  # 14..19 asked for, 15 arrives first: 14 is a gap
(14, None)

"""

from __future__ import annotations

from collections.abc import Callable, Hashable

__all__ = ["PartitionOrder"]


class PartitionOrder:
    """The next offset due per partition, and where to seek when a record comes too early.

    Parameters
    ----------
    last_applied
        Mapping of partitions to the last offset already applied (from the restored table), used
        the first time a partition is seen; a callable is called then.

    """

    def __init__(self, last_applied: dict[Hashable, int] | Callable[[], dict[Hashable, int]]) -> None:
        self.last_applied = last_applied
        self._due: dict[Hashable, int | None] = {}
        self._trigger: dict[Hashable, int] = {}

    def check(self, partition: Hashable, offset: int) -> int | None:
        """None to handle the record at ``offset`` now, else the offset to seek back to (skip it)."""
        if partition not in self._due:
            known = self.last_applied() if callable(self.last_applied) else self.last_applied
            last = known.get(partition)
            self._due[partition] = None if last is None else last + 1
        due = self._due[partition]
        if due is None or offset <= due:  # the next one, or a redelivery the counts skip
            self._advance(partition, offset)
            return None
        trigger = self._trigger.get(partition)
        if trigger is None:
            self._trigger[partition] = offset
            return due
        if offset > trigger:  # still records fetched before the seek took effect
            return due
        # Read again from ``due`` and nothing came before ``offset``: those offsets hold no record.
        self._advance(partition, offset)
        return None

    def forget(self) -> None:
        """Drop what is known, e.g. after a rebalance, when other workers may have moved partitions on."""
        self._due.clear()
        self._trigger.clear()

    def _advance(self, partition: Hashable, offset: int) -> None:
        due = self._due[partition]
        if due is None or offset >= due:
            self._due[partition] = offset + 1
            self._trigger.pop(partition, None)
