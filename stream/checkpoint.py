"""Snapshots of the detection state in a changelog-backed table, so a restart restores, not relearns.

The detection stage's state (engine, reorder buffer, input positions) is plain picklable Python. A
snapshot is that state pickled, compressed and cut into base64 chunks of at most ``chunk_chars`` (a
Kafka record stays under the broker's 1 MB default), written to a mapping that the worker backs with a
Faust table, i.e. a compacted changelog topic. Two slots alternate: the chunks of a new snapshot go to
the slot not named by the head entry, and the head is written last, so a crash while writing leaves
the previous snapshot whole. The head carries the input offset the snapshot covers and a SHA-256 of
the pickle, checked on load. Snapshots are read back only from the worker's own topic: pickle is not a
format for data from elsewhere.

Examples
--------
>>> store = SnapshotStore({}, chunk_chars=64)
>>> store.load() is None
True
>>> store.save({"events": list(range(100))}, offset=42) > 0
True
>>> snapshot = store.load()
>>> snapshot.offset, snapshot.state["events"][-1], snapshot.generation
(42, 99, 1)
>>> _ = store.save({"events": []}, offset=50)
>>> store.load().offset, store.head_offset()
(50, 50)
"""

from __future__ import annotations

import base64
import hashlib
import pickle
import zlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Snapshot", "SnapshotError", "SnapshotStore", "snapshot_spacing"]


class SnapshotError(RuntimeError):
    """A snapshot's head names chunks that are missing or do not match its digest."""


@dataclass(frozen=True)
class Snapshot:
    """A restored state and the input offset it covers (the next record not yet in it)."""

    state: Any
    offset: int
    generation: int
    size: int


class SnapshotStore:
    """Pickled snapshots in a string-valued mapping, in chunks, in two alternating slots.

    Parameters
    ----------
    table
        Mapping from string keys to JSON-able values (a Faust table in the worker).
    name
        Prefix of every key, so one table can hold several stores.
    chunk_chars
        Largest chunk (base64 characters) written under one key.
    """

    def __init__(self, table: MutableMapping[str, Any], *, name: str = "detection",
                 chunk_chars: int = 512 * 1024) -> None:  # fmt: skip
        if chunk_chars < 4:
            raise ValueError(f"chunk_chars must be >= 4, got {chunk_chars}")
        self.table = table
        self.name = name
        self.chunk_chars = chunk_chars

    @property
    def _head_key(self) -> str:
        return f"{self.name}/head"

    def _chunk_key(self, slot: int, index: int) -> str:
        return f"{self.name}/{slot}/{index}"

    def head_offset(self) -> int | None:
        """Input offset covered by the latest snapshot, None if there is none."""
        head = self.table.get(self._head_key)
        return None if head is None else int(head["offset"])

    def save(self, state: Any, *, offset: int) -> int:
        """Write ``state`` as covering the input up to (not including) ``offset``; returns its bytes."""
        raw = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        text = base64.b64encode(zlib.compress(raw, 1)).decode("ascii")
        head = self.table.get(self._head_key)
        slot = 0 if head is None else 1 - int(head["slot"])
        generation = 1 if head is None else int(head["generation"]) + 1
        chunks = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)] or [""]
        for index, chunk in enumerate(chunks):
            self.table[self._chunk_key(slot, index)] = chunk
        self.table[self._head_key] = {
            "slot": slot, "chunks": len(chunks), "offset": offset, "generation": generation,
            "sha256": hashlib.sha256(raw).hexdigest(),
        }  # fmt: skip
        return len(text)

    def load(self) -> Snapshot | None:
        """The latest complete snapshot, None if none was ever written."""
        head = self.table.get(self._head_key)
        if head is None:
            return None
        parts = [self.table.get(self._chunk_key(head["slot"], i)) for i in range(head["chunks"])]
        if any(part is None for part in parts):
            raise SnapshotError(f"snapshot {self.name} generation {head['generation']} lacks chunks")
        text = "".join(parts)
        try:
            raw = zlib.decompress(base64.b64decode(text))
        except (ValueError, zlib.error) as error:
            raise SnapshotError(f"snapshot {self.name} generation {head['generation']}: {error}") from None
        if hashlib.sha256(raw).hexdigest() != head["sha256"]:
            raise SnapshotError(f"snapshot {self.name} generation {head['generation']} fails its digest")
        return Snapshot(pickle.loads(raw), int(head["offset"]), int(head["generation"]), len(text))


def snapshot_spacing(interval: float, took: float, max_share: float) -> float:
    """Seconds until the next snapshot: ``interval``, or longer when a snapshot is slow, so writing
    snapshots takes at most ``max_share`` of the detection stage's wall time.

    The state grows with the accounts held (about 1 KB each), and at 100k accounts a snapshot is tens of
    megabytes pickled, compressed and written to the changelog: every 5 s that would be most of the
    stage's time. A longer spacing only means more input replayed after a crash.

    >>> snapshot_spacing(5.0, took=0.02, max_share=0.1)
    5.0
    >>> snapshot_spacing(5.0, took=2.0, max_share=0.1)  # a 2 s snapshot: one every 20 s
    20.0
    """
    return max(interval, took / max_share)
