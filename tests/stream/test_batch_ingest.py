"""The ingest stage's batch handling without Kafka: what one transaction carries, and what is due."""

from __future__ import annotations

from collections import namedtuple

import orjson
import pytest
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from schemas.deadletter import DeadLetter
from stream.batch_ingest import BatchIngest, state_topic_name
from stream.config import load_settings
from stream.counters import DeadLetterLog, EventCounters
from stream.forward import ForwardedRecord, ForwardingSink, unpack_batch
from stream.ingest import RecordHandler
from stream.metrics import WorkerMetrics

Record = namedtuple("Record", "offset key value")
USAGE = b'{"type": "usage", "account_id": "a%d", "count": 2, "time": 1772460300}'
TICKET = b'{"type": "ticket", "ticket_id": "T-%d", "account_id": "a1", "feature": "sso", "time": 1772460300}'


def _ingest(*, detect: bool = True) -> BatchIngest:
    settings = load_settings(environ={"SPIKEWATCH_WORKER__APP_ID": "unit", "SPIKEWATCH_TOPICS__INPUT": "ev"})
    table: dict = {}
    metrics = WorkerMetrics(CollectorRegistry())
    forwarding = ForwardingSink(EventCounters(table)) if detect else None
    handler = RecordHandler(forwarding or EventCounters(table), metrics, dead_letters=DeadLetterLog(table))
    return BatchIngest(settings, handler, table, forwarding=forwarding, metrics=metrics,
                       detect_topic="unit.detection" if detect else None)  # fmt: skip


def test_one_batch_carries_its_dead_letters_one_packed_forward_per_partition_and_the_counts():
    ingest = _ingest()
    p0, p1 = TopicPartition("ev", 0), TopicPartition("ev", 1)
    batch = {
        p0: [Record(10, b"a1", USAGE % 1), Record(11, b"a1", b"{not json"), Record(12, b"a1", TICKET % 1)],
        p1: [Record(5, b"a2", USAGE % 2)],
    }
    sends = ingest._handle(batch)
    by_topic: dict = {}
    for topic, key, value, headers in sends:
        by_topic.setdefault(topic, []).append((key, value, headers))
    [(key, letter, _)] = by_topic[ingest.settings.topics.deadletter]
    assert key == b"a1" and DeadLetter.from_json(letter).offset == 11
    forwards = by_topic["unit.detection"]
    assert len(forwards) == 2  # one record per source partition
    key, value, headers = forwards[0]
    assert ForwardedRecord.from_headers(headers).source == ("ev", 0)
    assert [offset for offset, _raw in unpack_batch(headers, value)] == [10, 12]  # the valid ones
    states = {key: orjson.loads(value) for key, value, _ in by_topic[state_topic_name(ingest.settings)]}
    assert states[b"ev/0"]["next"] == 13 and states[b"ev/1"]["next"] == 6
    assert states[b"ev/0"]["entries"] == {
        "type:usage": [1, 10], "type:ticket": [1, 12], "feature:sso": [1, 12], "dead:not_json": [1, 11]
    }
    assert ingest.counters.totals() == {"by_type": {"ticket": 1, "usage": 2}, "by_feature": {"sso": 1}}


def test_without_detection_nothing_is_forwarded():
    ingest = _ingest(detect=False)
    sends = ingest._handle({TopicPartition("ev", 0): [Record(0, None, USAGE % 1)]})
    assert [topic for topic, *_ in sends] == [state_topic_name(ingest.settings)]


def test_only_partitions_ready_and_records_not_yet_applied_are_due():
    ingest = _ingest()
    p0, p1 = TopicPartition("ev", 0), TopicPartition("ev", 1)
    ingest._next = {p0: 11}  # p1's assignment is not complete yet
    batch = {p0: [Record(o, None, USAGE % o) for o in (9, 10, 11, 12)], p1: [Record(0, None, USAGE % 0)]}
    due = ingest._due(batch)
    assert list(due) == [p0] and [r.offset for r in due[p0]] == [11, 12]


def test_a_bad_batch_size_is_refused():
    with pytest.raises(ValueError, match="max_records"):
        BatchIngest(load_settings(environ={}), None, {}, forwarding=None, detect_topic=None,
                    metrics=None, max_records=0)  # fmt: skip
