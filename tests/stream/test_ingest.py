"""Record handling without Kafka: bytes and coordinates in, counted or dead-lettered out."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CollectorRegistry

from schemas.deadletter import DeadLetter
from stream.counters import EventCounters
from stream.ingest import INTERNAL_ERROR, RecordHandler
from stream.metrics import WorkerMetrics

TICKET = {"type": "ticket", "ticket_id": "T-1", "account_id": "acme", "feature": "checkout",
          "time": "2026-03-02T14:05:00Z"}  # fmt: skip
EVENT_TIME = 1772460300.0


class Harness:
    def __init__(self, sink=None, max_event_bytes: int = 65536) -> None:
        self.registry = CollectorRegistry()
        self.counters = EventCounters({})
        self.handler = RecordHandler(
            sink or self.counters, WorkerMetrics(self.registry), max_event_bytes=max_event_bytes,
            clock=lambda: EVENT_TIME + 42.0,
        )  # fmt: skip

    def handle(self, raw: bytes | None, offset: int = 0) -> DeadLetter | None:
        letter = self.handler.handle(raw, topic="events", partition=2, offset=offset)
        if letter is not None:
            self.handler.published(letter)
            return DeadLetter.from_json(letter.to_json())
        return None

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


def test_valid_event_is_counted_and_measured():
    harness = Harness()
    assert harness.handle(json.dumps(TICKET).encode()) is None
    assert harness.counters.totals() == {"by_type": {"ticket": 1}, "by_feature": {"checkout": 1}}
    assert harness.sample("spikewatch_events_total", type="ticket") == 1
    assert harness.sample("spikewatch_tickets_total", feature="checkout") == 1
    assert harness.sample("spikewatch_processing_lag_seconds_sum") == pytest.approx(42.0)


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        (b'{"type": "ticket",', "not_json", None),
        (json.dumps({**TICKET, "type": "refund"}).encode(), "unknown_type", "type"),
        (
            json.dumps({k: v for k, v in TICKET.items() if k != "account_id"}).encode(),
            "missing_field",
            "account_id",
        ),
        (json.dumps({**TICKET, "severity": "meh"}).encode(), "invalid_field", "severity"),
        (json.dumps({**TICKET, "time": "2026-03-02T14:05:00"}).encode(), "naive_time", "time"),
        (b'{"type": "usage", "account_id": "a", "count": -1, "time": 1772460300}', "negative_count", "count"),
        (b'{"type": "ticket", "subject": "\xff"}', "invalid_utf8", None),
        (json.dumps({**TICKET, "subject": "x" * 200}).encode(), "too_large", None),
        (None, "not_json", None),
    ],
)
def test_invalid_record_becomes_a_dead_letter_with_its_reason_and_bytes(raw, reason, field):
    harness = Harness(max_event_bytes=200)
    letter = harness.handle(raw, offset=17)
    assert letter is not None
    assert (letter.reason, letter.field) == (reason, field)
    assert letter.original == (raw or b"")
    assert (letter.source_topic, letter.partition, letter.offset) == ("events", 2, 17)
    assert harness.sample("spikewatch_invalid_events_total", reason=reason) == 1
    assert harness.counters.totals() == {"by_type": {}, "by_feature": {}}


def test_redelivered_record_is_not_counted_twice():
    harness = Harness()
    raw = json.dumps(TICKET).encode()
    harness.handle(raw, offset=5)
    assert harness.handle(raw, offset=5) is None
    assert harness.counters.totals()["by_type"] == {"ticket": 1}
    assert harness.sample("spikewatch_events_total", type="ticket") == 1
    assert harness.sample("spikewatch_duplicate_records_skipped_total") == 1


def test_redelivered_bad_record_is_not_dead_lettered_twice():
    harness = Harness()
    assert harness.handle(b"not json", offset=3) is not None
    assert harness.handle(b"not json", offset=3) is None
    assert harness.handle(b"not json", offset=4) is not None
    assert harness.handler.dead_letters.totals() == {"not_json": 2}
    assert harness.sample("spikewatch_invalid_events_total", reason="not_json") == 2


def test_an_error_while_handling_is_dead_lettered_not_raised():
    class Broken:
        def handle(self, event, **coordinates):
            raise KeyError("engine state")

    harness = Harness(sink=Broken())
    raw = json.dumps(TICKET).encode()
    letter = harness.handle(raw, offset=9)
    assert letter is not None
    assert letter.reason == INTERNAL_ERROR
    assert "KeyError" in letter.detail
    assert letter.original == raw
    assert harness.sample("spikewatch_invalid_events_total", reason=INTERNAL_ERROR) == 1


def test_max_event_bytes_must_be_positive():
    with pytest.raises(ValueError, match="max_event_bytes"):
        RecordHandler(EventCounters({}), WorkerMetrics(CollectorRegistry()), max_event_bytes=0)
