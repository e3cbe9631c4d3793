"""`spikewatch produce`: lines go out byte for byte, keyed by account when they parse."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from stream.cli import app
from stream.producer import record_key, records
from tests.stream.worker_support import read_topic

LINES = [
    b'{"type": "usage", "account_id": "acme", "time": 1772460300}',
    b'{"type": "ticket", "account_id": "globex", "feature": "sso", "ticket_id": "T-1", "time": 1}',
    b"not json at all",
    b'{"type": "ticket", "subject": "\xff\xfe"}',
    b'["account_id", "acme"]',
    b'{"type": "account", "account_id": 42}',
]


@pytest.mark.parametrize(
    ("line", "key"),
    [(LINES[0], b"acme"), (LINES[1], b"globex"), (LINES[2], None), (LINES[3], None), (LINES[4], None),
     (LINES[5], None), (b'{"account_id": ""}', None)],
)  # fmt: skip
def test_record_key_is_the_account_id_of_a_json_object(line, key):
    assert record_key(line) == key


def test_records_strip_line_endings_and_skip_blank_lines():
    assert list(records([b"a\n", b"\n", b"b\r\n", b"   \n", b" c "])) == [b"a", b"b", b" c "]


def test_produce_rejects_a_missing_file(tmp_path):
    result = CliRunner().invoke(app, ["produce", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0
    assert "is not a file" in result.output


@pytest.mark.kafka
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_produce_sends_every_line_as_is(kafka_bootstrap, tmp_path, monkeypatch, source):
    topic = f"produce-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SPIKEWATCH_KAFKA__BOOTSTRAP", kafka_bootstrap)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(LINES) + b"\n\n")
    if source == "file":
        result = CliRunner().invoke(app, ["produce", str(path), "--topic", topic, "--rate", "500"])
    else:
        result = CliRunner().invoke(app, ["produce", "-", "--topic", topic], input=path.read_bytes())
    assert result.exit_code == 0, result.output
    assert f"sent {len(LINES)} records to {topic}" in result.output
    received = read_topic(kafka_bootstrap, topic, len(LINES), timeout=30)
    assert sorted(record.value for record in received) == sorted(LINES)
    keys = {record.value: record.key for record in received}
    assert keys[LINES[0]] == b"acme"
    assert keys[LINES[2]] is None
