"""Snapshots in a table: chunked, two slots, a torn write leaves the previous snapshot whole."""

from __future__ import annotations

import pytest

from stream.checkpoint import SnapshotError, SnapshotStore


class _TornTable(dict):
    """A table whose writes stop (a crash) after ``allowed`` more assignments."""

    allowed = 10**9

    def __setitem__(self, key, value):
        if self.allowed == 0:
            raise RuntimeError("crash")
        self.allowed -= 1
        super().__setitem__(key, value)


def test_a_large_state_is_cut_into_chunks_and_read_back():
    table: dict = {}
    store = SnapshotStore(table, chunk_chars=1000)
    state = {"accounts": {f"acct-{i}": list(range(i % 50)) for i in range(2000)}}
    store.save(state, offset=77)
    assert sum(key.startswith("detection/0/") for key in table) > 1
    assert all(len(v) <= 1000 for k, v in table.items() if k != "detection/head")
    snapshot = store.load()
    assert (snapshot.state, snapshot.offset) == (state, 77)


def test_a_crash_while_writing_keeps_the_previous_snapshot():
    table = _TornTable()
    store = SnapshotStore(table, chunk_chars=100)
    store.save({"n": list(range(500))}, offset=10)
    table.allowed = 2  # the next snapshot gets two chunks out, not its head
    with pytest.raises(RuntimeError):
        store.save({"n": list(range(1000))}, offset=20)
    snapshot = store.load()
    assert (snapshot.offset, len(snapshot.state["n"])) == (10, 500)


def test_a_corrupted_chunk_is_an_error_not_a_silent_relearn():
    table: dict = {}
    store = SnapshotStore(table, chunk_chars=50)
    store.save(list(range(300)), offset=1)
    key = next(k for k in table if k.endswith("/1"))
    table[key] = table[key][::-1]
    with pytest.raises(SnapshotError):
        store.load()
    del table[key]
    with pytest.raises(SnapshotError, match="lacks chunks"):
        store.load()


def test_chunk_size_is_checked():
    with pytest.raises(ValueError, match="chunk_chars"):
        SnapshotStore({}, chunk_chars=1)


def test_snapshots_are_spaced_out_when_they_are_slow():
    from stream.checkpoint import snapshot_spacing

    assert snapshot_spacing(5.0, took=0.1, max_share=0.1) == 5.0
    assert snapshot_spacing(5.0, took=3.0, max_share=0.1) == pytest.approx(30.0)
    assert snapshot_spacing(5.0, took=3.0, max_share=0.5) == pytest.approx(6.0)


def test_the_snapshot_share_must_be_a_share():
    from pydantic import ValidationError

    from stream.config import WorkerSettings

    with pytest.raises(ValidationError, match="snapshot_max_share"):
        WorkerSettings(snapshot_max_share=0)
    with pytest.raises(ValidationError, match="snapshot_max_share"):
        WorkerSettings(snapshot_max_share=1.5)
