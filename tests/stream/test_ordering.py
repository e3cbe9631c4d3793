"""Records of a partition are handled in offset order even when the consumer jumps ahead."""

from __future__ import annotations

import pytest

from stream.ordering import PartitionOrder


def consume(order: PartitionOrder, log: list[int], jump_at: int, jump_to: int, stale: int) -> list[int]:
    """A consumer over ``log`` (the offsets that hold records) that, once at ``jump_at``, skips to
    ``jump_to``; a seek takes effect only after ``stale`` more records already fetched."""
    handled: list[int] = []
    position, pending_seek, fetched_after_seek, jumped = 0, None, 0, False
    while position < len(log):
        offset = log[position]
        if not jumped and offset == jump_at:
            jumped = True
            position = next(i for i, o in enumerate(log) if o >= jump_to)
            continue
        seek_to = order.check("p", offset)
        position += 1
        if seek_to is not None:
            if pending_seek is None:  # asking again does not delay the first seek
                pending_seek, fetched_after_seek = seek_to, 0
        elif pending_seek is None:
            handled.append(offset)
        if pending_seek is not None:
            fetched_after_seek += 1
            if fetched_after_seek > stale or position >= len(log):
                position = next(i for i, o in enumerate(log) if o >= pending_seek)
                pending_seek = None
    return handled


@pytest.mark.parametrize("stale", [0, 1, 5])
def test_a_jump_ahead_is_read_again_in_order(stale):
    log = list(range(100))
    handled = consume(PartitionOrder({}), log, jump_at=30, jump_to=45, stale=stale)
    assert handled == log


def test_offsets_without_records_do_not_loop():
    log = [o for o in range(100) if o % 10 != 9]  # every tenth offset is a transaction marker
    handled = consume(PartitionOrder({}), log, jump_at=200, jump_to=200, stale=0)
    assert handled == log


def test_first_record_after_restore_is_due_after_the_table():
    order = PartitionOrder(lambda: {"p": 41})
    assert order.check("p", 40) is None  # already applied: the counts skip it
    assert order.check("p", 43) == 42
    assert order.check("p", 42) is None


def test_unknown_partition_takes_its_first_record_as_due():
    order = PartitionOrder({})
    assert order.check("q", 1000) is None
    assert order.check("q", 1002) == 1001


def test_forget_rereads_the_table():
    applied = {"p": 5}
    order = PartitionOrder(lambda: dict(applied))
    assert order.check("p", 6) is None
    applied["p"] = 50  # another worker moved the partition on meanwhile
    order.forget()
    assert order.check("p", 51) is None
