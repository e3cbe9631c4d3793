"""Stage 1 to stage 2: valid events forwarded from the input partitions to the detection topic.

Ingest (stage 1) scales with the input partitions across workers; detection (stage 2) needs every
event in one place. Each valid input record is forwarded as it is (its original bytes) to the
detection topic, with headers naming its source partition and offset and whether the reader had
caught up with that partition. When a partition runs dry, a marker record without a value says so,
so the detection stage stops waiting for it. A record read twice is forwarded twice; the detection
stage keeps the last source offset it applied and skips the second copy.

A forward is acknowledged by the broker in the background. :class:`ForwardAcks` keeps the sends of
each source partition in order and tells, on the partition's next record, up to which offset every
forward is acknowledged; the worker notes that offset in its table, and a restart resumes the
partition no later than the first forward not known to be acknowledged, so none is lost.

With ``worker.ingest = "batch"`` (:mod:`stream.batch_ingest`) the valid records of one batch of one
source partition travel packed in one record instead (:func:`pack_batch`), with each event's offset,
in the batch's Kafka transaction; :func:`unpack_batch` reads either form.

Examples
--------
>>> headers = forward_headers("events", 3, 1207, caught_up=False)
>>> ForwardedRecord.from_headers(headers)
ForwardedRecord(topic='events', partition=3, offset=1207, caught_up=False, marker=False)
>>> ForwardedRecord.from_headers(marker_headers("events", 3, 1208)).marker
True
>>> ForwardedRecord.from_headers(marker_headers("events", 3, 1208, caught_up=False)).caught_up
False
"""

from __future__ import annotations

import asyncio
from array import array
from collections import deque
from collections.abc import Awaitable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from schemas.events import Event
from stream.ingest import EventSink

__all__ = [
    "ForwardAcks",
    "ForwardedRecord",
    "ForwardingSink",
    "forward_headers",
    "marker_headers",
    "pack_batch",
    "unpack_batch",
]

SOURCE_HEADER = "spikewatch_source"
CAUGHT_UP_HEADER = "spikewatch_caught_up"
MARKER_HEADER = "spikewatch_marker"
#: Header of a packed record: (offset, length) of each event in the value, as native int64 pairs.
BATCH_HEADER = "spikewatch_batch"


def forward_headers(topic: str, partition: int, offset: int, *, caught_up: bool) -> list[tuple[str, bytes]]:
    """Headers of a forwarded event read at ``offset`` of ``topic``/``partition``."""
    return [
        (SOURCE_HEADER, f"{topic}/{partition}/{offset}".encode()),
        (CAUGHT_UP_HEADER, b"1" if caught_up else b"0"),
    ]


def marker_headers(
    topic: str, partition: int, next_offset: int, *, caught_up: bool = True
) -> list[tuple[str, bytes]]:
    """Headers of a marker: ``topic``/``partition`` holds nothing from ``next_offset`` on, for now.

    With ``caught_up=False``, the opposite: the partition, marked caught up before, may hold more
    (the detection stage waits for it again).
    """
    kind = b"caught_up" if caught_up else b"behind"
    return [*forward_headers(topic, partition, next_offset, caught_up=caught_up), (MARKER_HEADER, kind)]


def pack_batch(
    topic: str, partition: int, events: Sequence[tuple[int, bytes]], *, caught_up: bool
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """One detection-topic record (value, headers) carrying the valid events of one source partition.

    ``events`` are (source offset, original bytes) in offset order; ``caught_up`` tells whether the
    reader had nothing more of that partition after the last of them. One record per batch keeps
    the per-record cost of Kafka and Faust off the per-event path.

    Examples
    --------
    >>> value, headers = pack_batch("events", 2, [(7, b'{"a":1}'), (9, b'{"b":2}')], caught_up=True)
    >>> record = ForwardedRecord.from_headers(headers)
    >>> record.offset, record.caught_up, list(unpack_batch(headers, value))
    (9, True, [(7, b'{"a":1}'), (9, b'{"b":2}')])
    """
    if not events:
        raise ValueError("a packed batch needs at least one event")
    positions = array("q")
    for offset, raw in events:
        positions.append(offset)
        positions.append(len(raw))
    headers = forward_headers(topic, partition, events[-1][0], caught_up=caught_up)
    headers.append((BATCH_HEADER, positions.tobytes()))
    return b"".join(raw for _offset, raw in events), headers


def unpack_batch(
    headers: Iterable[tuple[str, bytes]] | None, value: bytes | None
) -> Iterator[tuple[int, bytes]]:
    """The (source offset, original bytes) of each event of a packed record; one pair for a plain one."""
    found = dict(headers or ())
    packed = found.get(BATCH_HEADER)
    if packed is None:
        yield ForwardedRecord.from_headers(headers).offset, value or b""
        return
    positions = array("q")
    positions.frombytes(packed)
    data, start = memoryview(value or b""), 0
    for i in range(0, len(positions), 2):
        end = start + positions[i + 1]
        yield positions[i], bytes(data[start:end])
        start = end


@dataclass(frozen=True)
class ForwardedRecord:
    """Where a record on the detection topic came from."""

    topic: str
    partition: int
    offset: int
    caught_up: bool
    marker: bool

    @property
    def source(self) -> tuple[str, int]:
        return (self.topic, self.partition)

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]] | None) -> ForwardedRecord:
        """Read the headers of a detection-topic record; ValueError if they are not ours."""
        found = dict(headers or ())
        source = found.get(SOURCE_HEADER)
        if source is None:
            raise ValueError(f"record lacks the {SOURCE_HEADER} header")
        topic, partition, offset = source.decode().rsplit("/", 2)
        caught_up = found.get(CAUGHT_UP_HEADER) == b"1"
        return cls(topic, int(partition), int(offset), caught_up, MARKER_HEADER in found)


class ForwardingSink:
    """An :class:`~stream.ingest.EventSink` that counts with ``counters`` and notes what to forward.

    Every valid record is noted, also one the counters had already applied: its forward may be the
    one that never reached the broker before a crash.
    """

    def __init__(self, counters: EventSink) -> None:
        self.counters = counters
        self._valid: list[tuple[str, int, int]] = []
        self._last: Event | None = None

    def handle(self, event: Event, *, topic: str, partition: int, offset: int) -> bool:
        self._valid.append((topic, partition, offset))
        self._last = event
        return self.counters.handle(event, topic=topic, partition=partition, offset=offset)

    def take(self) -> list[tuple[str, int, int]]:
        """Coordinates of the valid records handled since the last call."""
        valid, self._valid = self._valid, []
        return valid

    def take_last(self) -> Event | None:
        """The last valid event handled since the last call (None if none)."""
        last, self._last = self._last, None
        return last


class ForwardAcks:
    """Forwards in flight per source partition, and the offset up to which all are acknowledged."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, deque[tuple[int, asyncio.Future]]] = {}

    def sent(self, source: Hashable, offset: int, delivery: Awaitable) -> None:
        """Note the forward of the record at ``offset`` of ``source`` (``delivery``: its broker ack)."""
        self._pending.setdefault(source, deque()).append((offset, asyncio.ensure_future(delivery)))

    def acknowledged(self, source: Hashable) -> int | None:
        """Highest offset of ``source`` whose forward, and every earlier one, is acknowledged.

        None if no forward was acknowledged since the last call. A failed send raises its error.
        """
        pending = self._pending.get(source)
        last = None
        while pending and pending[0][1].done():
            offset, delivery = pending.popleft()
            delivery.result()
            last = offset
        return last

    def forget(self, source: Hashable) -> None:
        """Drop the forwards of a revoked partition; whoever reads it next forwards them again."""
        self._pending.pop(source, None)

    def __len__(self) -> int:
        return sum(len(p) for p in self._pending.values())
