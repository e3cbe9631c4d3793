"""Forwarding from ingest to detection: headers, and acknowledged offsets kept in order."""

from __future__ import annotations

import asyncio

import pytest

from stream.forward import (
    ForwardAcks,
    ForwardedRecord,
    ForwardingSink,
    forward_headers,
    marker_headers,
    pack_batch,
    unpack_batch,
)


def test_headers_round_trip():
    record = ForwardedRecord.from_headers(forward_headers("acme.events", 12, 9001, caught_up=True))
    assert (record.source, record.offset) == (("acme.events", 12), 9001)
    assert (record.caught_up, record.marker) == (True, False)
    assert ForwardedRecord.from_headers(marker_headers("acme.events", 1, 5)).marker


def test_a_record_without_our_headers_is_refused():
    with pytest.raises(ValueError, match="spikewatch_source"):
        ForwardedRecord.from_headers([("ce_id", b"x")])


def test_every_valid_record_is_noted_even_one_counted_before():
    class Counted:
        def handle(self, event, *, topic, partition, offset):
            return offset > 3

    sink = ForwardingSink(Counted())
    assert sink.handle(object(), topic="t", partition=0, offset=3) is False
    assert sink.handle(object(), topic="t", partition=0, offset=4) is True
    assert sink.take() == [("t", 0, 3), ("t", 0, 4)]
    assert sink.take() == []


async def test_acknowledged_offset_stops_at_the_first_forward_still_in_flight():
    loop = asyncio.get_running_loop()
    acks = ForwardAcks()
    deliveries = {offset: loop.create_future() for offset in (5, 6, 7)}
    for offset, delivery in deliveries.items():
        acks.sent("p0", offset, delivery)
    deliveries[5].set_result(None)
    deliveries[7].set_result(None)
    await asyncio.sleep(0)
    assert acks.acknowledged("p0") == 5  # 7 is acknowledged, but 6 is not yet
    assert acks.acknowledged("p0") is None
    deliveries[6].set_result(None)
    await asyncio.sleep(0)
    assert acks.acknowledged("p0") == 7
    assert len(acks) == 0


async def test_a_failed_forward_raises():
    loop = asyncio.get_running_loop()
    acks = ForwardAcks()
    delivery = loop.create_future()
    acks.sent("p0", 1, delivery)
    delivery.set_exception(ConnectionError("broker gone"))
    await asyncio.sleep(0)
    with pytest.raises(ConnectionError):
        acks.acknowledged("p0")


def test_a_packed_batch_gives_back_every_event_byte_for_byte():
    # Pretty-printed JSON holds newlines, and a record may be empty-ish: framing is by length, not lines.
    events = [(3, b'{\n  "type": "usage"\n}'), (4, b"{}"), (9, "{\"subject\": \"caf\u00e9\"}".encode())]
    value, headers = pack_batch("acme.events", 2, events, caught_up=False)
    assert list(unpack_batch(headers, value)) == events
    record = ForwardedRecord.from_headers(headers)
    assert (record.source, record.offset) == (("acme.events", 2), 9)
    assert (record.caught_up, record.marker) == (False, False)


def test_a_plain_forward_unpacks_to_its_one_event():
    headers = forward_headers("acme.events", 0, 41, caught_up=True)
    assert list(unpack_batch(headers, b'{"a": 1}')) == [(41, b'{"a": 1}')]


def test_an_empty_batch_is_refused():
    with pytest.raises(ValueError, match="at least one event"):
        pack_batch("acme.events", 0, [], caught_up=True)
