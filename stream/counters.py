"""Exact counts of valid events, tickets by feature and dead letters, safe across worker crashes.

All of it lives in one mapping that the worker backs with a Faust table (one changelog topic). Three
facts shape the keys and values:

* Faust writes a table update to the changelog partition of the *source record's* partition, and
  restores a partition's entries to whichever worker is assigned it. So every key starts with the
  source topic and partition, and a worker reports the sum over the partitions it holds.
* Each entry keeps, beside its count, the offset of the last source record it applied; a record
  delivered again at or below it is skipped. Updates reach one changelog partition in order, so after
  a restore all entries of a source partition reflect the same prefix of it, and the check is exact.
* For the same reason the largest offset among a source partition's entries tells where to resume:
  every record before it is fully applied, and that record itself maybe in part (a ticket updates
  two entries), which its second delivery completes (:func:`resume_offsets`). The worker seeks there
  when the consumer's committed offset ran ahead of the table, so no record is lost either.
* The batch ingest stage (:mod:`stream.batch_ingest`) keeps the mapping in memory instead and saves
  one partition's entries (:func:`partition_entries`) with each Kafka transaction, putting them back
  (:func:`replace_partition`) when it is assigned the partition again.
* When valid events are forwarded to the detection stage (:mod:`stream.forward`), an entry per source
  partition keeps the last offset whose forward, and all before, the broker acknowledged; resuming
  no later than the record after it means no forward is lost (``resume_offsets(..., forwarded=True)``).

Examples
--------
>>> counters = EventCounters({})
>>> counters.apply("ticket", "checkout", topic="events", partition=0, offset=7)
True
>>> counters.apply("ticket", "checkout", topic="events", partition=0, offset=7)  # delivered again
False
>>> counters.apply("usage", None, topic="events", partition=1, offset=3)
True
>>> counters.totals()
{'by_type': {'ticket': 1, 'usage': 1}, 'by_feature': {'checkout': 1}}
>>> resume_offsets(counters.table)
{('events', 0): 7, ('events', 1): 3}

"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, MutableMapping

from schemas.events import Event, TicketEvent

__all__ = [
    "DeadLetterLog",
    "EventCounters",
    "Tally",
    "partition_entries",
    "record_forwarded",
    "replace_partition",
    "resume_offsets",
]

#: A table value: ``[count, offset of the last source record applied]``, a list so it survives JSON.
Tally = list[int]
_SEPARATOR = "/"  # never in a Kafka topic name, so the first two split off topic and partition exactly
_TYPE, _FEATURE, _DEAD, _FORWARDED = "type:", "feature:", "dead:", "forwarded:"


def _key(topic: str, partition: int, name: str) -> str:
    return f"{topic}{_SEPARATOR}{partition}{_SEPARATOR}{name}"


def _increment(table: MutableMapping[str, Tally], key: str, offset: int) -> bool:
    count, last_offset = table.get(key) or (0, -1)
    if offset <= last_offset:
        return False
    # Assign a new value (never mutate in place): assignment is what writes the changelog.
    table[key] = [count + 1, offset]
    return True


def _sum(table: Mapping[str, Tally], kind: str) -> dict[str, int]:
    sums: Counter[str] = Counter()
    for key, (count, _offset) in list(table.items()):
        name = key.split(_SEPARATOR, 2)[2]
        if name.startswith(kind):
            sums[name[len(kind) :]] += count
    return dict(sorted(sums.items()))


def partition_entries(table: Mapping[str, Tally], topic: str, partition: int) -> dict[str, Tally]:
    """The entries of one source partition, keyed by name (``type:usage``...), copied.

    Examples
    --------
    >>> table = {"events/0/type:usage": [9, 40], "events/1/type:usage": [2, 7]}
    >>> partition_entries(table, "events", 0)
    {'type:usage': [9, 40]}
    """
    prefix = _key(topic, partition, "")
    return {key[len(prefix) :]: list(value) for key, value in table.items() if key.startswith(prefix)}


def replace_partition(
    table: MutableMapping[str, Tally], topic: str, partition: int, entries: Mapping[str, Tally]
) -> None:
    """Make ``entries`` (as :func:`partition_entries` gives them) all ``table`` holds of one partition.

    Examples
    --------
    >>> table = {"events/0/type:usage": [9, 40], "events/1/type:usage": [2, 7]}
    >>> replace_partition(table, "events", 0, {"type:ticket": [1, 3]})
    >>> sorted(table)
    ['events/0/type:ticket', 'events/1/type:usage']
    """
    prefix = _key(topic, partition, "")
    for key in [key for key in table if key.startswith(prefix)]:
        del table[key]
    for name, value in entries.items():
        table[prefix + name] = list(value)


def record_forwarded(table: MutableMapping[str, Tally], *, topic: str, partition: int, offset: int) -> None:
    """Note that every valid record of ``topic``/``partition`` up to ``offset`` is on the detection topic."""
    _increment(table, _key(topic, partition, _FORWARDED), offset)


def resume_offsets(table: Mapping[str, Tally], *, forwarded: bool = False) -> dict[tuple[str, int], int]:
    """Per source (topic, partition), the offset to resume at: the last one applied, maybe in part.

    With ``forwarded``, no later than the first record whose forward is not known to be acknowledged
    (offset 0 for a partition with none): those records are read again, counted once, forwarded again.

    Examples
    --------
    >>> table = {"events/0/type:usage": [9, 40], "events/0/forwarded:": [3, 31]}
    >>> resume_offsets(table), resume_offsets(table, forwarded=True)
    ({('events', 0): 40}, {('events', 0): 32})
    """
    resume: dict[tuple[str, int], int] = {}
    acked: dict[tuple[str, int], int] = {}
    for key, (_count, offset) in list(table.items()):
        topic, partition, name = key.split(_SEPARATOR, 2)
        source = (topic, int(partition))
        if name == _FORWARDED:
            acked[source] = offset
        else:
            resume[source] = max(resume.get(source, 0), offset)
    if forwarded:
        return {source: min(offset, acked.get(source, -1) + 1) for source, offset in resume.items()}
    return resume


class EventCounters:
    """Counts by event type and by ticket feature, applied at most once per source record.

    Parameters
    ----------
    table
        Mapping from ``topic/partition/kind:name`` keys to :data:`Tally` values; may be shared with a
        :class:`DeadLetterLog`, and must be for :func:`resume_offsets` to cover dead letters.

    """

    def __init__(self, table: MutableMapping[str, Tally]) -> None:
        self.table = table

    def handle(self, event: Event, *, topic: str, partition: int, offset: int) -> bool:
        """Count a valid event read at ``offset`` of ``topic``/``partition``; False if already counted."""
        feature = event.feature if isinstance(event, TicketEvent) else None
        return self.apply(event.type, feature, topic=topic, partition=partition, offset=offset)

    def apply(self, event_type: str, feature: str | None, *, topic: str, partition: int, offset: int) -> bool:
        """Count the event read at ``offset`` of ``topic``/``partition``; False if already counted.

        The type entry and the feature entry are checked separately: a crash can persist one update
        and not the other, and the second delivery must then complete the missing one only.
        """
        applied = _increment(self.table, _key(topic, partition, _TYPE + event_type), offset)
        if feature is not None:
            applied = _increment(self.table, _key(topic, partition, _FEATURE + feature), offset) or applied
        return applied

    def totals(self) -> dict[str, dict[str, int]]:
        """Counts summed over every source topic and partition held here."""
        return {"by_type": _sum(self.table, _TYPE), "by_feature": _sum(self.table, _FEATURE)}


class DeadLetterLog:
    """Dead letters published, by source partition and reason, so a redelivered record is sent once.

    The worker checks :meth:`is_sent` before publishing and calls :meth:`record` once the broker has
    acknowledged the dead letter; a crash between the two sends that one letter again, never loses it.

    Examples
    --------
    >>> log = DeadLetterLog({})
    >>> log.is_sent("not_json", topic="events", partition=0, offset=4)
    False
    >>> log.record("not_json", topic="events", partition=0, offset=4)
    >>> log.is_sent("not_json", topic="events", partition=0, offset=4), log.totals()
    (True, {'not_json': 1})

    """

    def __init__(self, table: MutableMapping[str, Tally]) -> None:
        self.table = table

    def is_sent(self, reason: str, *, topic: str, partition: int, offset: int) -> bool:
        """Whether the dead letter of the record at ``offset`` was already published."""
        _count, last_offset = self.table.get(_key(topic, partition, _DEAD + reason)) or (0, -1)
        return offset <= last_offset

    def record(self, reason: str, *, topic: str, partition: int, offset: int) -> None:
        """Note that the dead letter of the record at ``offset`` is published."""
        _increment(self.table, _key(topic, partition, _DEAD + reason), offset)

    def totals(self) -> dict[str, int]:
        """Dead letters published, by reason, over every source partition held here."""
        return _sum(self.table, _DEAD)
