"""Exact counts of valid events by type and of tickets by feature, safe across worker restarts.

The counts live in two mappings that the worker backs with Faust tables (changelog topics). Two facts
shape the keys and values:

* Faust writes a table update to the changelog partition of the *source record's* partition, and
  restores a partition's entries to whichever worker is assigned it. So every key starts with the
  source topic and partition, and a worker reports the sum over the partitions it holds.
* Delivery is at least once: after a crash the consumer resumes at its last committed offset, which
  may be older than the table's restored state. Each entry therefore keeps, beside its count, the
  offset of the last source record it applied; a redelivered record at or below it is skipped. Table
  updates reach one changelog partition in order, so after a restore every entry reflects the same
  prefix of the source partition and the check is exact.

Examples
--------
>>> counters = EventCounters({}, {})
>>> counters.apply("ticket", "checkout", topic="events", partition=0, offset=7)
True
>>> counters.apply("ticket", "checkout", topic="events", partition=0, offset=7)  # redelivered
False
>>> counters.apply("usage", None, topic="events", partition=1, offset=3)
True
>>> counters.totals()
{'by_type': {'ticket': 1, 'usage': 1}, 'by_feature': {'checkout': 1}}

"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping

from schemas.events import Event, TicketEvent

__all__ = ["EventCounters", "Tally"]

#: A table value: ``[count, offset of the last source record applied]``, a list so it survives JSON.
Tally = list[int]
_SEPARATOR = "/"  # never in a Kafka topic name, so the first two split off topic and partition exactly


def _key(topic: str, partition: int, name: str) -> str:
    return f"{topic}{_SEPARATOR}{partition}{_SEPARATOR}{name}"


def _name(key: str) -> str:
    return key.split(_SEPARATOR, 2)[2]


class EventCounters:
    """Counts by event type and by ticket feature, applied at most once per source record.

    Parameters
    ----------
    by_type
        Mapping from (source topic, partition, event type) keys to :data:`Tally` values.
    by_feature
        Mapping from (source topic, partition, feature) keys to :data:`Tally` values.

    """

    def __init__(self, by_type: MutableMapping[str, Tally], by_feature: MutableMapping[str, Tally]) -> None:
        self.by_type = by_type
        self.by_feature = by_feature

    def handle(self, event: Event, *, topic: str, partition: int, offset: int) -> bool:
        """Count a valid event read at ``offset`` of ``topic``/``partition``; False if already counted."""
        feature = event.feature if isinstance(event, TicketEvent) else None
        return self.apply(event.type, feature, topic=topic, partition=partition, offset=offset)

    def apply(self, event_type: str, feature: str | None, *, topic: str, partition: int, offset: int) -> bool:
        """Count the event read at ``offset`` of ``topic``/``partition``; False if already counted.

        The type entry and the feature entry are checked separately: a crash can persist one update
        and not the other, and the redelivery must then complete the missing one only.
        """
        applied = self._increment(self.by_type, _key(topic, partition, event_type), offset)
        if feature is not None:
            applied = self._increment(self.by_feature, _key(topic, partition, feature), offset) or applied
        return applied

    @staticmethod
    def _increment(table: MutableMapping[str, Tally], key: str, offset: int) -> bool:
        count, last_offset = table.get(key) or (0, -1)
        if offset <= last_offset:
            return False
        # Assign a new value (never mutate in place): assignment is what writes the changelog.
        table[key] = [count + 1, offset]
        return True

    def totals(self) -> dict[str, dict[str, int]]:
        """Counts summed over every source topic and partition held here."""
        return {"by_type": _sum(self.by_type), "by_feature": _sum(self.by_feature)}


def _sum(table: MutableMapping[str, Tally]) -> dict[str, int]:
    sums: Counter[str] = Counter()
    for key, (count, _offset) in list(table.items()):
        sums[_name(key)] += count
    return dict(sorted(sums.items()))
